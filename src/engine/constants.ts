/** The final select's name where CTEs are named: its row count in `cteRowCounts`, its relation in the lineage. */
export const FINAL_SELECT = '(final select)';
