// Pivots the model's result into the region × segment grid the UI shows. Pure: the tree, the webview and the
// tests share it.
import type { CaseDetail } from './lineageModel';
import { guardFormula, metricDigits, metricLabel, regionLabel, segmentLabel } from './labels';
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

/** The result's columns the grid's rows and columns come from, by name. */
export function gridColumns(columns: string[]): { regionColumn?: string; segmentColumn?: string } {
  const regionColumn = findColumn(columns, /^region$/i) ?? findColumn(columns, /region/i);
  const segmentColumn =
    findColumn(columns, /^customer_segment$/i) ?? findColumn(columns, /segment/i, regionColumn ? [regionColumn] : []);
  return { regionColumn, segmentColumn };
}

export function buildGrid(columns: string[], rows: SqlValue[][], order: string[] = []): GridOutcome {
  const { regionColumn, segmentColumn } = gridColumns(columns);
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

  const totalOf = (group: GridCell[]) => totalsOf({ metrics, countColumn }, group);
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

/** Totals of a group of cells, metric column → value: counts add up, averages weigh each cell by its customers. */
export function totalsOf(
  grid: Pick<Grid, 'metrics' | 'countColumn'>,
  group: readonly GridCell[],
): Record<string, number | null> {
  const weightOf = (cell: GridCell) => (grid.countColumn ? (cell.values[grid.countColumn] ?? 0) : 1);
  return Object.fromEntries(
    grid.metrics.map((metric) => {
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
}

/** How the user has the grid: which metric, which regions (a filter on their labels), sorted by what. */
export interface GridView {
  metric?: string;
  filter: string;
  /** `region`, `total`, or a segment's key (`JSON.stringify` of the segment). */
  sortBy: string;
  descending: boolean;
}

export const DEFAULT_GRID_VIEW: GridView = { filter: '', sortBy: 'region', descending: false };

/** A segment or region as a key that tells NULL from text (`null` vs `"null"`). */
export const valueKey = (value: string | null): string => JSON.stringify(value);

/** The metric shown: the view's when the grid has it, else the customer count, else the first metric. */
export function shownMetric(grid: Grid, view: GridView): string {
  if (view.metric && grid.metrics.some((item) => item.column === view.metric)) return view.metric;
  return grid.countColumn ?? grid.metrics[0]?.column ?? '';
}

/** The grid as the user sees it: the regions the filter keeps, sorted, and the totals of those regions. */
export interface ShownGrid {
  metric: string;
  rows: { region: string | null; index: number; values: (number | null)[]; total: number | null }[];
  /** Per segment and overall, over the rows shown. */
  segmentTotals: (number | null)[];
  total: number | null;
  /** Whether the filter hides some regions. */
  filtered: boolean;
}

export function shownGrid(grid: Grid, view: GridView, locale: string): ShownGrid {
  const metric = shownMetric(grid, view);
  const filter = view.filter.trim().toLowerCase();
  const valueOf = (region: string | null, segment: string | null) =>
    grid.cells.find((cell) => cell.region === region && cell.segment === segment)?.values[metric] ?? null;
  const rows = grid.regions
    .map((region, index) => ({
      region,
      index,
      values: grid.segments.map((segment) => valueOf(region, segment)),
      total: grid.regionTotals[index][metric] ?? null,
    }))
    .filter(({ region }) => !filter || regionLabel(region).toLowerCase().includes(filter));
  const sortValue = (row: ShownGrid['rows'][number]): number | null =>
    view.sortBy === 'total'
      ? row.total
      : (row.values[grid.segments.findIndex((s) => valueKey(s) === view.sortBy)] ?? null);
  rows.sort((a, b) => {
    if (view.sortBy === 'region') return regionLabel(a.region).localeCompare(regionLabel(b.region), locale);
    return (sortValue(a) ?? -Infinity) - (sortValue(b) ?? -Infinity);
  });
  if (view.descending) rows.reverse();
  // Customers without a region stay last whichever way the grid is sorted.
  const ordered = [...rows.filter((row) => row.region !== null), ...rows.filter((row) => row.region === null)];
  const shown = new Set(ordered.map((row) => row.region));
  const cellsShown = grid.cells.filter((cell) => shown.has(cell.region));
  return {
    metric,
    rows: ordered,
    segmentTotals: grid.segments.map(
      (segment) =>
        totalsOf(
          grid,
          cellsShown.filter((cell) => cell.segment === segment),
        )[metric] ?? null,
    ),
    total: totalsOf(grid, cellsShown)[metric] ?? null,
    filtered: ordered.length < grid.regions.length,
  };
}

/**
 * The grid as shown, as a table of text for the clipboard and CSV: the metric named in the corner
 * ("Customers by region"), a row per region shown, then the totals of those rows. `format` writes each number.
 */
export function shownGridTable(grid: Grid, shown: ShownGrid, format: (value: number | null) => string): string[][] {
  const corner = `${metricLabel(shown.metric)} by ${grid.regionColumn === 'region' ? 'region' : grid.regionColumn}`;
  // Pasted into a spreadsheet, a label starting with = + - @ would run as a formula; the numbers stay numbers.
  const label = (text: string) => guardFormula(text.replace(/[\t\r\n]+/g, ' '));
  return [
    [corner, ...grid.segments.map(segmentLabel), 'Total'].map(label),
    ...shown.rows.map((row) => [label(regionLabel(row.region)), ...row.values.map(format), format(row.total)]),
    [shown.filtered ? 'Total (regions shown)' : 'Total', ...shown.segmentTotals.map(format), format(shown.total)],
  ];
}

/** A number of the grid for a spreadsheet: as many decimals as the grid shows, no grouping; NULL empty. */
export function plainMetric(value: number | null, column: string): string {
  return value === null ? '' : value.toFixed(metricDigits(value, column));
}
