// Rows as the engine returns them and the panel shows them.

/** A value of a result cell, as SQLite (and sql.js) give it: numbers as numbers, NULL as null, BLOBs as bytes. */
export type SqlValue = number | string | Uint8Array | null;

export interface RowPage {
  columns: string[];
  rows: SqlValue[][];
  /** Rows in all, past this page. */
  total: number;
}

export function rowObjects(columns: readonly string[], rows: readonly SqlValue[][]): Record<string, SqlValue>[] {
  return rows.map((row) => Object.fromEntries(columns.map((column, index) => [column, row[index]])));
}
