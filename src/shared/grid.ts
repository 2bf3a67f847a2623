// Pivots the model's result into the region × segment grid the UI shows. Pure: the tree, the webview and the
// tests share it.
import type { CaseDetail } from './lineageModel';
import type { SqlValue } from './rows';

export interface GridMetric {
  /** The result column, e.g. `customer_count`. */
  column: string;
  /** `sum` for counts (totals add up); `weighted` for averages (totals weight each cell by its customer count). */
  total: 'sum' | 'weighted';
}

export interface GridCell {
  region: string | null;
  segment: string | null;
  /** Metric column → value. */
  values: Record<string, number | null>;
}

export interface Grid {
  regionColumn: string;
  segmentColumn: string;
  /** The column that counts customers (weights the averages' totals), if there is one. */
  countColumn?: string;
  metrics: GridMetric[];
  regions: (string | null)[];
  /** In threshold order (Platinum first) when the model's CASE says it, else by the order the result gives. */
  segments: (string | null)[];
  cells: GridCell[];
  /** Totals per region, per segment and overall, metric column → value. */
  regionTotals: Record<string, number | null>[];
  segmentTotals: Record<string, number | null>[];
  total: Record<string, number | null>;
}

export type GridOutcome = { ok: true; grid: Grid } | { ok: false; reason: string };

const isNumber = (value: SqlValue): value is number => typeof value === 'number';

function findColumn(columns: string[], pattern: RegExp, exclude: string[] = []): string | undefined {
  return columns.find((column) => pattern.test(column) && !exclude.includes(column));
}

/** The segment labels in the order the CASE lists them (`'Platinum'` → `Platinum`), then ELSE. */
export function segmentOrder(caseDetail: CaseDetail | undefined): string[] {
  if (!caseDetail) return [];
  const label = (text: string) => (/^'.*'$/s.test(text) ? text.slice(1, -1).replaceAll("''", "'") : text);
  return [...caseDetail.whens.map((when) => label(when.then)), ...(caseDetail.else ? [label(caseDetail.else)] : [])];
}

export function buildGrid(columns: string[], rows: SqlValue[][], order: string[] = []): GridOutcome {
  const regionColumn = findColumn(columns, /^region$/i) ?? findColumn(columns, /region/i);
  const segmentColumn =
    findColumn(columns, /^customer_segment$/i) ?? findColumn(columns, /segment/i, regionColumn ? [regionColumn] : []);
  if (!regionColumn || !segmentColumn) {
    return {
      ok: false,
      reason: `The grid needs a region column and a segment column (the seed model returns region and customer_segment); this model returns ${columns.join(', ') || 'no columns'}.`,
    };
  }
  const regionIndex = columns.indexOf(regionColumn);
  const segmentIndex = columns.indexOf(segmentColumn);
  const metricColumns = columns.filter(
    (_, index) => index !== regionIndex && index !== segmentIndex && rows.some((row) => isNumber(row[index])),
  );
  const countColumn = findColumn(metricColumns, /count/i);
  const metrics: GridMetric[] = metricColumns.map((column) => ({
    column,
    total: column === countColumn || /^(n|total|sum)_|_(sum|total)$/i.test(column) ? 'sum' : 'weighted',
  }));

  const cells: GridCell[] = rows.map((row) => ({
    region: row[regionIndex] === null ? null : String(row[regionIndex]),
    segment: row[segmentIndex] === null ? null : String(row[segmentIndex]),
    values: Object.fromEntries(
      metricColumns.map((column) => {
        const value = row[columns.indexOf(column)];
        return [column, isNumber(value) ? value : null];
      }),
    ),
  }));
  const distinct = <T>(values: T[]) => [...new Set(values)];
  const regions = distinct(cells.map((cell) => cell.region)).sort((a, b) =>
    a === null ? 1 : b === null ? -1 : a.localeCompare(b),
  );
  const seen = distinct(cells.map((cell) => cell.segment));
  const rank = (segment: string | null) => {
    const index = segment === null ? -1 : order.indexOf(segment);
    return index === -1 ? order.length + seen.indexOf(segment) : index;
  };
  const segments = [...seen].sort((a, b) => rank(a) - rank(b));

  const totalOf = (group: GridCell[]): Record<string, number | null> => {
    const weightOf = (cell: GridCell) => (countColumn ? (cell.values[countColumn] ?? 0) : 1);
    return Object.fromEntries(
      metrics.map((metric) => {
        const present = group.filter((cell) => cell.values[metric.column] !== null);
        if (present.length === 0) return [metric.column, null];
        if (metric.total === 'sum')
          return [metric.column, present.reduce((sum, cell) => sum + (cell.values[metric.column] ?? 0), 0)];
        const weight = present.reduce((sum, cell) => sum + weightOf(cell), 0);
        return [
          metric.column,
          weight === 0
            ? null
            : present.reduce((sum, cell) => sum + (cell.values[metric.column] ?? 0) * weightOf(cell), 0) / weight,
        ];
      }),
    );
  };
  return {
    ok: true,
    grid: {
      regionColumn,
      segmentColumn,
      countColumn,
      metrics,
      regions,
      segments,
      cells,
      regionTotals: regions.map((region) => totalOf(cells.filter((cell) => cell.region === region))),
      segmentTotals: segments.map((segment) => totalOf(cells.filter((cell) => cell.segment === segment))),
      total: totalOf(cells),
    },
  };
}
