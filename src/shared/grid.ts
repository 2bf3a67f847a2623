// Pivots the model's result into the grid the UI shows: its dimensions are the final select's GROUP BY keys (the
// lineage's `group_key` edges), named as the model names them — rows × columns for two, a picker and filters for
// more, a one-dimensional table for one. Pure: the tree, the webview, the worker and the tests share it.
import type { CaseDetail } from './lineageModel';
import { FINAL_SELECT, VALUE_KINDS } from './lineageModel';
import { segmentation, upstream, type LineageGraph } from './lineageGraph';
import { guardFormula, metricDigits, metricLabel, segmentLabel } from './labels';
import type { SqlValue } from './rows';

export interface GridMetric {
  /** The result column, e.g. `customer_count`. */
  column: string;
  /** `sum` for counts (totals add up); `weighted` for averages (totals weight each cell by its customer count). */
  total: 'sum' | 'weighted';
}

/**
 * One cell of the grid. `region` is the cell's row key (its value of the row dimension, `Grid.regionColumn`) and
 * `segment` its column key (of `Grid.segmentColumn`; null in a one-dimensional grid): the names come from the seed
 * model, whose rows are regions and columns segments, but any GROUP BY key can be either.
 */
export interface GridCell {
  region: string | null;
  segment: string | null;
  /** Metric column → value. */
  values: Record<string, number | null>;
}

/** One row of the result by all its dimensions (keys in `Grid.dimensions` order): what another pick pivots. */
export interface GridRecord {
  keys: (string | null)[];
  values: Record<string, number | null>;
}

/** Which dimensions the grid shows: `rows` down, `columns` across (none: one dimension), the rest filtered. */
export interface GridPick {
  rows: string;
  columns?: string;
  /** Dimension → the value it is kept at; a dimension not named here is aggregated ("all"), as the totals are. */
  filters: Record<string, string | null>;
}

export interface Grid {
  /** The row dimension, as the model names it (`region` in the seed model). */
  regionColumn: string;
  /** The column dimension (`customer_segment`); absent when the model groups by one key: a one-dimensional grid. */
  segmentColumn?: string;
  /** Every dimension of the result (the final select's GROUP BY keys), in GROUP BY order. */
  dimensions: string[];
  /** A dimension a CASE feeds → its values in the CASE's order (Platinum first). */
  orders: Record<string, string[]>;
  /** The dimensions beyond the two shown, each kept at one value (absent: all of them, aggregated). */
  filters: Record<string, string | null>;
  /** With more than two dimensions: the result's rows by every dimension, for another pick (`pivotGrid`). */
  records?: GridRecord[];
  /** The column that counts customers (weights the averages' totals), if there is one. */
  countColumn?: string;
  metrics: GridMetric[];
  /** The row keys: in CASE order when a CASE feeds the row dimension, else sorted, NULL last. */
  regions: (string | null)[];
  /** The column keys: in threshold order (Platinum first) when the model's CASE says it, else as the result gives. */
  segments: (string | null)[];
  cells: GridCell[];
  /** Totals per region, per segment and overall, metric column → value. */
  regionTotals: Record<string, number | null>[];
  segmentTotals: Record<string, number | null>[];
  total: Record<string, number | null>;
}

export type GridOutcome = { ok: true; grid: Grid } | { ok: false; reason: string };

/** The grid's dimensions: the result columns that are GROUP BY keys, and the order a CASE gives each one's values. */
export interface GridDimensions {
  keys: string[];
  orders: Record<string, string[]>;
}

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

/** The result's columns the grid's rows and columns come from by name: the rule when the lineage has no GROUP BY. */
export function gridColumns(columns: string[]): { regionColumn?: string; segmentColumn?: string } {
  const regionColumn = findColumn(columns, /^region$/i) ?? findColumn(columns, /region/i);
  const segmentColumn =
    findColumn(columns, /^customer_segment$/i) ?? findColumn(columns, /segment/i, regionColumn ? [regionColumn] : []);
  return { regionColumn, segmentColumn };
}

/**
 * The output columns the final select groups by, in GROUP BY order: each `group_key` edge into the final select
 * mapped to the output column it is — itself (`GROUP BY alias`), the one that passes it through or renames it, else
 * the one computed from it alone (`GROUP BY UPPER(x)` for `UPPER(x) AS y`). A key the select does not return is no
 * dimension.
 */
export function groupByColumns(graph: LineageGraph, columns: readonly string[]): string[] {
  const outputs = new Set(columns);
  const keys: string[] = [];
  for (const edge of graph.edgesInto(FINAL_SELECT)) {
    if (edge.kind !== 'group_key') continue;
    const valueEdges = graph.edgesFrom(edge.from).filter((out) => VALUE_KINDS.has(out.kind) && outputs.has(out.to));
    const output = outputs.has(edge.from)
      ? edge.from
      : (
          valueEdges.find((out) => out.kind === 'passthrough' || out.kind === 'rename') ??
          valueEdges.find(
            (out) =>
              out.kind !== 'aggregate' &&
              graph.edgesInto(out.to).filter((into) => VALUE_KINDS.has(into.kind)).length === 1,
          )
        )?.to;
    if (output !== undefined && !keys.includes(output)) keys.push(output);
  }
  return keys;
}

/**
 * The grid's dimensions from the lineage: the GROUP BY keys, each a CASE feeds with the CASE's order. Without a
 * GROUP BY (or a lineage), the columns named like `region` and `segment`, the segments in the model's CASE order.
 */
export function gridDimensions(graph: LineageGraph | undefined, columns: string[]): GridDimensions {
  const keys = graph ? groupByColumns(graph, columns) : [];
  if (keys.length > 0) {
    const cases = graph!.lineage.edges.filter((edge) => edge.kind === 'case');
    const orders: Record<string, string[]> = {};
    for (const key of keys) {
      const reached = upstream(graph!, key).reached;
      if (cases.some((edge) => reached.has(edge.to))) orders[key] = segmentOrder(segmentation(graph!, key));
    }
    return { keys, orders };
  }
  const { regionColumn, segmentColumn } = gridColumns(columns);
  if (!regionColumn || !segmentColumn) return { keys: [], orders: {} };
  return {
    keys: [regionColumn, segmentColumn],
    orders: { [segmentColumn]: segmentOrder(graph && segmentation(graph, segmentColumn)) },
  };
}

/** The pick a grid opens with: a CASE-fed key across (the segments), the first other key down, the rest all. */
export function defaultPick(dimensions: GridDimensions): GridPick | undefined {
  const { keys, orders } = dimensions;
  if (keys.length === 0) return undefined;
  if (keys.length === 1) return { rows: keys[0], filters: {} };
  const columns = keys.find((key) => orders[key]?.length) ?? keys[1];
  return { rows: keys.find((key) => key !== columns)!, columns, filters: {} };
}

/**
 * The grid of a result. `dimensions`: the GROUP BY keys (`gridDimensions`); or, as before there were any, the
 * segment order alone, the dimensions then found by name (`region`, `segment`).
 */
export function buildGrid(
  columns: string[],
  rows: SqlValue[][],
  dimensions: GridDimensions | string[] = [],
): GridOutcome {
  if (Array.isArray(dimensions)) {
    const { regionColumn, segmentColumn } = gridColumns(columns);
    dimensions =
      regionColumn && segmentColumn
        ? { keys: [regionColumn, segmentColumn], orders: { [segmentColumn]: dimensions } }
        : { keys: [], orders: {} };
  }
  const keys = dimensions.keys.filter((key) => columns.includes(key));
  const pick = defaultPick({ keys, orders: dimensions.orders });
  if (!pick) {
    return {
      ok: false,
      reason: `The grid needs the model's GROUP BY keys, or a region column and a segment column (the seed model returns region and customer_segment); this model returns ${columns.join(', ') || 'no columns'}.`,
    };
  }
  const keyIndexes = keys.map((key) => columns.indexOf(key));
  const metricColumns = columns.filter(
    (column, index) => !keys.includes(column) && rows.some((row) => isNumber(row[index])),
  );
  const countColumn = findColumn(metricColumns, /count/i);
  const metrics: GridMetric[] = metricColumns.map((column) => ({
    column,
    total: column === countColumn || /^(n|total|sum)_|_(sum|total)$/i.test(column) ? 'sum' : 'weighted',
  }));
  const metricIndexes = metricColumns.map((column) => columns.indexOf(column));
  const records: GridRecord[] = rows.map((row) => ({
    keys: keyIndexes.map((index) => (row[index] === null ? null : String(row[index]))),
    values: Object.fromEntries(
      metricColumns.map((column, at) => {
        const value = row[metricIndexes[at]];
        return [column, isNumber(value) ? value : null];
      }),
    ),
  }));
  const orders = Object.fromEntries(Object.entries(dimensions.orders).filter(([key]) => keys.includes(key)));
  const base = { dimensions: keys, orders, countColumn, metrics };
  return { ok: true, grid: pivot(base, records, pick, keys.length > 2) };
}

/** The grid of another pick: rows, columns and filters among the dimensions of a grid that has its records. */
export function pivotGrid(grid: Grid, pick: GridPick): Grid {
  if (!grid.records) return grid;
  const known = (key: string | undefined) => key === undefined || grid.dimensions.includes(key);
  if (!known(pick.rows) || !known(pick.columns) || pick.rows === pick.columns) return grid;
  return pivot(grid, grid.records, pick, true);
}

/** The pick a grid shows. */
export function pickOf(grid: Grid): GridPick {
  return { rows: grid.regionColumn, columns: grid.segmentColumn, filters: grid.filters };
}

/** The values of a dimension, in its CASE order when it has one, else sorted, NULL last. */
export function dimensionValues(grid: Pick<Grid, 'dimensions' | 'orders' | 'records'>, key: string): (string | null)[] {
  const at = grid.dimensions.indexOf(key);
  if (!grid.records || at < 0) return [];
  return sortKeys([...new Set(grid.records.map((record) => record.keys[at]))], grid.orders[key], 'sorted');
}

/** Keys in the CASE's order when there is one; else sorted (rows) or as first seen (columns); NULL last. */
function sortKeys(
  keys: (string | null)[],
  order: string[] | undefined,
  otherwise: 'sorted' | 'seen',
): (string | null)[] {
  if (order?.length) {
    const rank = (key: string | null) => {
      const index = key === null ? -1 : order.indexOf(key);
      return index === -1 ? order.length + keys.indexOf(key) : index;
    };
    return [...keys].sort((a, b) => rank(a) - rank(b));
  }
  if (otherwise === 'seen') return keys;
  return [...keys].sort((a, b) =>
    a === null ? 1 : b === null ? -1 : a.localeCompare(b, undefined, { numeric: true }),
  );
}

type GridBase = Pick<Grid, 'dimensions' | 'orders' | 'countColumn' | 'metrics'>;

/** Cells of the pick from the records: one record a cell as the result gives it, several aggregated as totals are. */
function pivot(base: GridBase, records: GridRecord[], pick: GridPick, keepRecords: boolean): Grid {
  const at = (key: string | undefined) => (key === undefined ? -1 : base.dimensions.indexOf(key));
  const rowAt = at(pick.rows);
  const columnAt = at(pick.columns);
  const filters = Object.fromEntries(
    Object.entries(pick.filters).filter(([key]) => key !== pick.rows && key !== pick.columns && at(key) >= 0),
  );
  const kept = records.filter((record) =>
    Object.entries(filters).every(([key, value]) => record.keys[at(key)] === value),
  );
  const groups = new Map<string, { region: string | null; segment: string | null; records: GridRecord[] }>();
  for (const record of kept) {
    const region = record.keys[rowAt];
    const segment = columnAt < 0 ? null : record.keys[columnAt];
    const id = JSON.stringify([region, segment]);
    const group = groups.get(id);
    if (group) group.records.push(record);
    else groups.set(id, { region, segment, records: [record] });
  }
  const cells: GridCell[] = [...groups.values()].map(({ region, segment, records: group }) => ({
    region,
    segment,
    values: group.length === 1 ? { ...group[0].values } : totalsOf(base, group),
  }));
  const distinct = <T>(values: T[]) => [...new Set(values)];
  const regions = sortKeys(distinct(cells.map((cell) => cell.region)), base.orders[pick.rows], 'sorted');
  const segments = sortKeys(
    distinct(cells.map((cell) => cell.segment)),
    pick.columns === undefined ? undefined : base.orders[pick.columns],
    'seen',
  );
  const totalOf = (group: GridCell[]) => totalsOf(base, group);
  return {
    regionColumn: pick.rows,
    ...(pick.columns === undefined ? {} : { segmentColumn: pick.columns }),
    dimensions: base.dimensions,
    orders: base.orders,
    filters,
    ...(keepRecords ? { records } : {}),
    countColumn: base.countColumn,
    metrics: base.metrics,
    regions,
    segments,
    cells,
    regionTotals: regions.map((region) => totalOf(cells.filter((cell) => cell.region === region))),
    segmentTotals: segments.map((segment) => totalOf(cells.filter((cell) => cell.segment === segment))),
    total: totalOf(cells),
  };
}

/**
 * The theme's colours for the column keys (segments), in their order (threshold order: Platinum first), repeating
 * past the last: the tree's icons and the chart's bars (as `--vscode-charts-purple` …) share them.
 */
export const SEGMENT_COLOURS = [
  'charts.purple',
  'charts.yellow',
  'charts.blue',
  'charts.orange',
  'charts.green',
  'charts.red',
] as const;

/** A row or column key as shown, the model's name for its dimension in the placeholder: `(no region)`. */
export function keyLabel(value: string | null, column: string | undefined): string {
  if (column === undefined) return segmentLabel(value);
  return value === null ? `(no ${column})` : value === '' ? `(empty ${column})` : value;
}

/** Totals of a group of cells, metric column → value: counts add up, averages weigh each cell by its customers. */
export function totalsOf(
  grid: Pick<Grid, 'metrics' | 'countColumn'>,
  group: readonly Pick<GridCell, 'values'>[],
): Record<string, number | null> {
  const weightOf = (cell: Pick<GridCell, 'values'>) => (grid.countColumn ? (cell.values[grid.countColumn] ?? 0) : 1);
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
  const rowLabel = (region: string | null) => keyLabel(region, grid.regionColumn);
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
    .filter(({ region }) => !filter || rowLabel(region).toLowerCase().includes(filter));
  const sortValue = (row: ShownGrid['rows'][number]): number | null =>
    view.sortBy === 'total'
      ? row.total
      : (row.values[grid.segments.findIndex((s) => valueKey(s) === view.sortBy)] ?? null);
  rows.sort((a, b) => {
    if (view.sortBy === 'region') return rowLabel(a.region).localeCompare(rowLabel(b.region), locale);
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
  const corner = `${metricLabel(shown.metric)} by ${grid.regionColumn}`;
  // Pasted into a spreadsheet, a label starting with = + - @ would run as a formula; the numbers stay numbers.
  const label = (text: string) => guardFormula(text.replace(/[\t\r\n]+/g, ' '));
  const totalLabel = shown.filtered ? 'Total (regions shown)' : 'Total';
  if (grid.segmentColumn === undefined) {
    // One dimension: a value per row, its total once.
    return [
      [corner, metricLabel(shown.metric)].map(label),
      ...shown.rows.map((row) => [label(keyLabel(row.region, grid.regionColumn)), format(row.total)]),
      [totalLabel, format(shown.total)],
    ];
  }
  return [
    [corner, ...grid.segments.map((segment) => keyLabel(segment, grid.segmentColumn)), 'Total'].map(label),
    ...shown.rows.map((row) => [
      label(keyLabel(row.region, grid.regionColumn)),
      ...row.values.map(format),
      format(row.total),
    ]),
    [totalLabel, ...shown.segmentTotals.map(format), format(shown.total)],
  ];
}

/** A number of the grid for a spreadsheet: as many decimals as the grid shows, no grouping; NULL empty. */
export function plainMetric(value: number | null, column: string): string {
  return value === null ? '' : value.toFixed(metricDigits(value, column));
}
