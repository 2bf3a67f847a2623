// The grid of the model's GROUP BY keys (region × segment in the seed model): metric switch, filter, sorting, totals,
// heat shading; a cell opens its customers. Arrow keys move between cells, Enter opens one; the filter keeps the rows
// that match and totals those. With more than two keys, a picker chooses the rows and columns and filters the rest.
import {
  DEFAULT_GRID_VIEW,
  dimensionValues,
  keyLabel,
  pivotGrid,
  shownGrid,
  shownGridTable,
  shownMetric,
  valueKey,
  type Grid,
  type GridPick,
  type GridView,
} from '../src/shared/grid';
import { formatMetric, isPlaceholder, metricLabel } from '../src/shared/labels';
import { choices, element, textField } from './components';
import { post, savedState, saveState } from './host';

/** What the grid needs from the panel around it. */
export interface GridContext {
  locale: string;
  /** Draws the whole panel again (the metric or the sort changed). */
  rerender(): void;
  /** Draws what the row filter changes (the table, the chart), leaving the filter's field as it is. */
  refilter(): void;
  /** Lights up the lineage of these output columns (none: clears it). */
  highlight(columns: string[]): void;
  /** The grid of the file's thresholds while a what-if grid is shown: each cell shows its change against it. */
  baseline?: Grid;
  /** Opens a cell's customers (default: the drill-down). */
  openCell?(region: string | null, segment: string | null): void;
}

/** A value, or while a what-if is shown and it changed, `92 → 131 (+39)`. */
function withChange(
  value: number | null,
  before: number | null | undefined,
  metric: string,
  locale: string,
  baseline: boolean,
): { text: string; changed: boolean } {
  const text = formatMetric(value, metric, locale);
  if (!baseline || before === value) return { text, changed: false };
  const delta =
    value !== null && typeof before === 'number'
      ? ` (${value - before >= 0 ? '+' : '−'}${formatMetric(Math.abs(value - before), metric, locale)})`
      : '';
  return { text: `${formatMetric(before ?? null, metric, locale)} → ${text}${delta}`, changed: true };
}

function restoredView(): GridView {
  const saved = savedState();
  return {
    ...DEFAULT_GRID_VIEW,
    ...(typeof saved.metric === 'string' ? { metric: saved.metric } : {}),
    ...(typeof saved.filter === 'string' ? { filter: saved.filter } : {}),
    ...(typeof saved.sortBy === 'string' ? { sortBy: saved.sortBy } : {}),
    ...(typeof saved.descending === 'boolean' ? { descending: saved.descending } : {}),
  };
}

const view: GridView = restoredView();

/** Keeps the view across reloads and tells the host, whose Export CSV writes the grid as shown. */
export function publishView(): void {
  saveState({ ...view });
  post({ type: 'gridView', view: { ...view } });
}

export function metricOf(grid: Grid): string {
  return shownMetric(grid, view);
}

/** The user's choice of rows, columns and filters when the model has more than two keys (kept across reloads). */
let pick: GridPick | undefined = restoredPick();

function restoredPick(): GridPick | undefined {
  const saved = savedState().pick;
  if (typeof saved !== 'object' || saved === null) return undefined;
  const { rows, columns, filters } = saved as Record<string, unknown>;
  if (typeof rows !== 'string' || (columns !== undefined && typeof columns !== 'string')) return undefined;
  if (typeof filters !== 'object' || filters === null) return undefined;
  const kept = Object.entries(filters).filter(
    (entry): entry is [string, string | null] => entry[1] === null || typeof entry[1] === 'string',
  );
  return { rows, ...(columns === undefined ? {} : { columns }), filters: Object.fromEntries(kept) };
}

/** The grid as the user picked its dimensions (the run's grid as it came when it has two keys or fewer). */
export function pickedGrid(grid: Grid): Grid {
  return pick ? pivotGrid(grid, pick) : grid;
}

/**
 * Whether a cell of `shown` can be drilled into: the host traces the run's own rows and columns to one CTE, so a
 * pick of other rows or columns, or one filtered on another key, lists nobody rather than the wrong customers.
 */
export function drillable(run: Grid, shown: Grid): boolean {
  return (
    shown.segmentColumn !== undefined &&
    shown.regionColumn === run.regionColumn &&
    shown.segmentColumn === run.segmentColumn &&
    Object.keys(shown.filters).length === 0
  );
}

function sortHeader(
  context: GridContext,
  label: string,
  sortKey: string,
  attributes: Record<string, string> = {},
): HTMLElement {
  const header = element('th', { scope: 'col', ...attributes });
  const active = view.sortBy === sortKey;
  header.setAttribute('aria-sort', active ? (view.descending ? 'descending' : 'ascending') : 'none');
  const control = element(
    'button',
    { class: 'sort', type: 'button', title: `Sort by ${label}`, 'data-sort': sortKey },
    `${label}${active ? (view.descending ? ' ▼' : ' ▲') : ''}`,
  );
  control.addEventListener('click', () => {
    view.descending = view.sortBy === sortKey ? !view.descending : sortKey !== 'region';
    view.sortBy = sortKey;
    publishView();
    context.rerender();
  });
  header.append(control);
  return header;
}

export function gridTable(context: GridContext, grid: Grid, metric: string, canDrill = true): HTMLElement {
  const { locale } = context;
  const shown = shownGrid(grid, view, locale);
  const oneDimension = grid.segmentColumn === undefined;
  const table = element('table', {
    id: 'grid',
    class: 'grid',
    'data-rows': grid.regionColumn,
    ...(oneDimension ? {} : { 'data-columns': grid.segmentColumn! }),
    'aria-label': `${metricLabel(metric)} by ${grid.regionColumn}${oneDimension ? '' : ` and ${grid.segmentColumn}`}`,
  });
  const values = grid.cells.map((cell) => cell.values[metric]).filter((value): value is number => value !== null);
  const baseline = context.baseline;
  const before = baseline && shownGrid(baseline, view, locale);
  const beforeRow = (region: string | null) => before?.rows.find((row) => row.region === region);
  const beforeCell = (region: string | null, segment: string | null) =>
    baseline?.cells.find((cell) => cell.region === region && cell.segment === segment)?.values[metric] ?? null;
  const max = Math.max(0, ...values);
  const head = element('thead');
  const headRow = element('tr');
  headRow.append(
    // Headed by the row dimension's name as the model writes it.
    sortHeader(context, grid.regionColumn, 'region', {
      class: 'dimension',
      'data-column': grid.regionColumn,
    }),
  );
  // One dimension: a single column of the metric, which is also each row's total.
  if (oneDimension)
    headRow.append(sortHeader(context, metricLabel(metric), 'total', { class: 'total', 'data-column': metric }));
  else
    grid.segments.forEach((segment) =>
      headRow.append(
        sortHeader(context, keyLabel(segment, grid.segmentColumn), valueKey(segment), {
          'data-segment': valueKey(segment),
          'data-column': grid.segmentColumn!,
          ...(isPlaceholder(segment) ? { class: 'placeholder' } : {}),
        }),
      ),
    );
  if (!oneDimension) headRow.append(sortHeader(context, 'Total', 'total', { class: 'total' }));
  head.append(headRow);
  table.append(head);

  const body = element('tbody');
  for (const row of shown.rows) {
    const tr = element('tr', { 'data-region': valueKey(row.region) });
    // Long names are cut short on screen; the whole name is in the tooltip (an attribute holds it as text).
    tr.append(
      element(
        'th',
        {
          scope: 'row',
          class: isPlaceholder(row.region) ? 'dimension placeholder' : 'dimension',
          'data-column': grid.regionColumn,
          title: keyLabel(row.region, grid.regionColumn),
        },
        keyLabel(row.region, grid.regionColumn),
      ),
    );
    grid.segments.forEach((segment, index) =>
      tr.append(
        dataCell(
          context,
          grid,
          row.values[index],
          row.region,
          segment,
          metric,
          max,
          canDrill,
          beforeCell(row.region, segment),
        ),
      ),
    );
    if (!oneDimension) {
      const total = withChange(row.total, beforeRow(row.region)?.total ?? null, metric, locale, !!baseline);
      tr.append(element('td', { class: total.changed ? 'total number changed' : 'total number' }, total.text));
    }
    body.append(tr);
  }
  table.append(body);

  const foot = element('tfoot');
  const footRow = element('tr');
  footRow.append(
    element(
      'th',
      { scope: 'row', ...(shown.filtered ? { title: 'The total of the rows the filter shows' } : {}) },
      shown.filtered ? 'Total shown' : 'Total',
    ),
  );
  if (!oneDimension)
    shown.segmentTotals.forEach((total, index) => {
      const segment = grid.segments[index];
      const was = before?.segmentTotals[baseline!.segments.indexOf(segment)] ?? null;
      const shownTotal = withChange(total, was, metric, locale, !!baseline);
      footRow.append(element('td', { class: shownTotal.changed ? 'number changed' : 'number' }, shownTotal.text));
    });
  const grand = withChange(shown.total, before?.total, metric, locale, !!baseline);
  footRow.append(
    element('td', { class: grand.changed ? 'total number changed' : 'total number', id: 'grand-total' }, grand.text),
  );
  foot.append(footRow);
  table.append(foot);

  // Hovering a column or a cell lights up where its values come from.
  table.addEventListener('mouseover', (event) => {
    const target = (event.target as HTMLElement).closest('[data-column], td.cell') as HTMLElement | null;
    if (!target) return;
    const columns = target.classList.contains('cell')
      ? [grid.regionColumn, ...(grid.segmentColumn === undefined ? [] : [grid.segmentColumn]), metric]
      : [target.dataset.column ?? ''];
    context.highlight(columns);
  });
  table.addEventListener('mouseleave', () => context.highlight([]));
  table.addEventListener('keydown', moveBetweenCells);
  return table;
}

/** Arrow keys (and Home/End) move the focus from cell to cell, as in a spreadsheet. */
function moveBetweenCells(event: KeyboardEvent): void {
  const cell = (event.target as HTMLElement).closest('td.cell') as HTMLTableCellElement | null;
  if (!cell) return;
  const row = cell.parentElement as HTMLTableRowElement;
  const rows = [...(row.parentElement?.querySelectorAll<HTMLTableRowElement>('tr') ?? [])];
  const cellsOf = (tr: HTMLTableRowElement | undefined) => [...(tr?.querySelectorAll<HTMLElement>('td.cell') ?? [])];
  const column = cellsOf(row).indexOf(cell);
  const rowIndex = rows.indexOf(row);
  let target: HTMLElement | undefined;
  switch (event.key) {
    case 'ArrowLeft':
      target = cellsOf(row)[column - 1];
      break;
    case 'ArrowRight':
      target = cellsOf(row)[column + 1];
      break;
    case 'ArrowUp':
      target = cellsOf(rows[rowIndex - 1])[column];
      break;
    case 'ArrowDown':
      target = cellsOf(rows[rowIndex + 1])[column];
      break;
    case 'Home':
      target = cellsOf(row)[0];
      break;
    case 'End':
      target = cellsOf(row).at(-1);
      break;
    default:
      return;
  }
  event.preventDefault();
  target?.focus();
}

function dataCell(
  context: GridContext,
  grid: Grid,
  value: number | null,
  region: string | null,
  segment: string | null,
  metric: string,
  max: number,
  canDrill: boolean,
  before: number | null,
): HTMLElement {
  const { locale } = context;
  const shown = withChange(value, before, metric, locale, !!context.baseline);
  const td = element(
    'td',
    {
      class: shown.changed ? 'cell number changed' : 'cell number',
      tabindex: '0',
      'data-region': valueKey(region),
      'data-segment': valueKey(segment),
      'data-value': value === null ? '' : String(value),
      ...(canDrill ? { role: 'button' } : {}),
      ...(shown.changed ? { 'data-before': before === null ? '' : String(before) } : {}),
    },
    shown.text,
  );
  const where = [
    keyLabel(region, grid.regionColumn),
    ...(grid.segmentColumn === undefined ? [] : [keyLabel(segment, grid.segmentColumn)]),
  ].join(', ');
  td.setAttribute(
    'aria-label',
    `${where}: ${shown.text}.${canDrill ? (context.baseline ? ' Show the customers that moved.' : ' Show customers.') : ''}`,
  );
  if (value !== null && max > 0) td.style.setProperty('--heat', `${Math.round((value / max) * 55)}%`);
  if (!canDrill) {
    td.classList.add('no-drill');
    return td;
  }
  const open = () =>
    context.openCell ? context.openCell(region, segment) : post({ type: 'drillDown', region, segment, offset: 0 });
  td.addEventListener('click', open);
  td.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      open();
    }
  });
  return td;
}

/** The grid as the user has it: metric, row filter, sort. */
export function shownAs(grid: Grid, locale: string): ReturnType<typeof shownGrid> {
  return shownGrid(grid, view, locale);
}

/** The grid as shown (metric, filter, sort, and the totals of what is shown), as tab-separated text. */
export function gridAsText(grid: Grid, locale: string): string {
  const shown = shownGrid(grid, view, locale);
  return shownGridTable(grid, shown, (value) => formatMetric(value, shown.metric, locale))
    .map((line) => line.join('\t'))
    .join('\n');
}

/** A labelled native select (the toolkit's dropdown is not registered; this one follows the theme by CSS). */
function select(
  label: string,
  options: { value: string; label: string }[],
  selected: string,
  onChange: (value: string) => void,
  id: string,
): HTMLElement {
  const wrapper = element('label', { class: 'picker' });
  wrapper.append(element('span', {}, label));
  const control = element('select', { id, 'data-dimension': label }) as HTMLSelectElement;
  for (const option of options) {
    const item = element('option', { value: option.value }, option.label) as HTMLOptionElement;
    item.selected = option.value === selected;
    control.append(item);
  }
  control.addEventListener('change', () => onChange(control.value));
  wrapper.append(control);
  return wrapper;
}

const ALL = 'all';

/**
 * With more than two keys: which key makes the rows, which the columns, and a select per other key (all of its
 * values aggregated as the totals are, or one of them).
 */
function dimensionPicker(context: GridContext, run: Grid, shown: Grid): HTMLElement {
  const picker = element('div', { class: 'dimension-picker', id: 'dimension-picker', role: 'group' });
  picker.setAttribute('aria-label', 'Dimensions');
  const keys = run.dimensions.map((key) => ({ value: key, label: key }));
  const repick = (next: GridPick) => {
    pick = next;
    saveState({ pick });
    context.rerender();
  };
  const current: GridPick = { rows: shown.regionColumn, columns: shown.segmentColumn, filters: shown.filters };
  picker.append(
    select(
      'Rows',
      keys,
      current.rows,
      (rows) => repick({ ...current, rows, columns: rows === current.columns ? current.rows : current.columns }),
      'pick-rows',
    ),
    select(
      'Columns',
      keys,
      current.columns ?? '',
      (columns) => repick({ ...current, columns, rows: columns === current.rows ? current.columns! : current.rows }),
      'pick-columns',
    ),
  );
  for (const key of run.dimensions.filter((dimension) => dimension !== current.rows && dimension !== current.columns)) {
    // Option values are JSON keys, so NULL and the text "null" stay apart; "all" cannot be one (JSON is quoted).
    const values = dimensionValues(run, key).map((value) => ({ value: valueKey(value), label: keyLabel(value, key) }));
    const chosen = key in current.filters ? valueKey(current.filters[key]) : ALL;
    const control = select(
      key,
      [{ value: ALL, label: 'all' }, ...values],
      chosen,
      (value) => {
        const filters = { ...current.filters };
        if (value === ALL) delete filters[key];
        else filters[key] = JSON.parse(value) as string | null;
        repick({ ...current, filters });
      },
      `filter-${run.dimensions.indexOf(key)}`,
    );
    control.classList.add('filter');
    picker.append(control);
  }
  return picker;
}

/** The metric switch, the row filter and, with more than two keys, the dimension picker. */
export function gridControls(context: GridContext, grid: Grid, metric: string, run: Grid = grid): HTMLElement {
  const controls = element('div', { class: 'controls' });
  if (run.dimensions.length > 2) controls.append(dimensionPicker(context, run, grid));
  controls.append(
    choices(
      'Metric',
      grid.metrics.map((item) => ({ value: item.column, label: metricLabel(item.column) })),
      metric,
      (value) => {
        view.metric = value;
        publishView();
        context.rerender();
      },
      'metric',
    ),
    textField(
      `Filter ${grid.regionColumn}`,
      view.filter,
      (value) => {
        view.filter = value;
        publishView();
        context.refilter();
      },
      'filter',
    ),
  );
  return controls;
}

/** The selector of a grid cell, for finding it again after the panel is drawn anew. */
export function cellSelector(region: string | null, segment: string | null): string {
  return `td.cell[data-region="${CSS.escape(valueKey(region))}"][data-segment="${CSS.escape(valueKey(segment))}"]`;
}

/** Outlines a cell, scrolls it into view and focuses it. */
export function revealCell(region: string | null, segment: string | null): void {
  const cell = document.querySelector(cellSelector(region, segment)) as HTMLElement | null;
  if (!cell) return;
  document.querySelectorAll('td.revealed').forEach((other) => other.classList.remove('revealed'));
  cell.classList.add('revealed');
  cell.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  cell.focus();
}
