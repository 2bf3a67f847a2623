// The region × segment grid: metric switch, filter, sorting, totals, heat shading; a cell opens its customers.
// Arrow keys move between cells, Enter opens one; the filter keeps the regions that match and totals those.
import {
  DEFAULT_GRID_VIEW,
  shownGrid,
  shownGridTable,
  shownMetric,
  valueKey,
  type Grid,
  type GridView,
} from '../src/shared/grid';
import { formatMetric, isPlaceholder, metricLabel, regionLabel, segmentLabel } from '../src/shared/labels';
import { choices, element, textField } from './components';
import { post, savedState, saveState } from './host';

/** What the grid needs from the panel around it. */
export interface GridContext {
  locale: string;
  /** Draws the whole panel again (the metric or the sort changed). */
  rerender(): void;
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

export function gridTable(context: GridContext, grid: Grid, metric: string): HTMLElement {
  const { locale } = context;
  const shown = shownGrid(grid, view, locale);
  const table = element('table', {
    id: 'grid',
    class: 'grid',
    'aria-label': `${metricLabel(metric)} by region and segment`,
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
    sortHeader(context, grid.regionColumn === 'region' ? 'Region' : grid.regionColumn, 'region', {
      class: 'dimension',
      'data-column': grid.regionColumn,
    }),
  );
  grid.segments.forEach((segment) =>
    headRow.append(
      sortHeader(context, segmentLabel(segment), valueKey(segment), {
        'data-segment': valueKey(segment),
        'data-column': grid.segmentColumn,
        ...(isPlaceholder(segment) ? { class: 'placeholder' } : {}),
      }),
    ),
  );
  headRow.append(sortHeader(context, 'Total', 'total', { class: 'total' }));
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
          title: regionLabel(row.region),
        },
        regionLabel(row.region),
      ),
    );
    grid.segments.forEach((segment, index) =>
      tr.append(
        dataCell(context, row.values[index], row.region, segment, metric, max, beforeCell(row.region, segment)),
      ),
    );
    const total = withChange(row.total, beforeRow(row.region)?.total ?? null, metric, locale, !!baseline);
    tr.append(element('td', { class: total.changed ? 'total number changed' : 'total number' }, total.text));
    body.append(tr);
  }
  table.append(body);

  const foot = element('tfoot');
  const footRow = element('tr');
  footRow.append(
    element(
      'th',
      { scope: 'row', ...(shown.filtered ? { title: 'The total of the regions the filter shows' } : {}) },
      shown.filtered ? 'Total shown' : 'Total',
    ),
  );
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
      ? [grid.regionColumn, grid.segmentColumn, metric]
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
  value: number | null,
  region: string | null,
  segment: string | null,
  metric: string,
  max: number,
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
      role: 'button',
      ...(shown.changed ? { 'data-before': before === null ? '' : String(before) } : {}),
    },
    shown.text,
  );
  td.setAttribute(
    'aria-label',
    `${regionLabel(region)}, ${segmentLabel(segment)}: ${shown.text}. ${context.baseline ? 'Show the customers that moved.' : 'Show customers.'}`,
  );
  if (value !== null && max > 0) td.style.setProperty('--heat', `${Math.round((value / max) * 55)}%`);
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

/** The grid as shown (metric, filter, sort, and the totals of what is shown), as tab-separated text. */
export function gridAsText(grid: Grid, locale: string): string {
  const shown = shownGrid(grid, view, locale);
  return shownGridTable(grid, shown, (value) => formatMetric(value, shown.metric, locale))
    .map((line) => line.join('\t'))
    .join('\n');
}

/** The metric switch and the region filter. */
export function gridControls(context: GridContext, grid: Grid, metric: string): HTMLElement {
  const controls = element('div', { class: 'controls' });
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
      'Filter regions',
      view.filter,
      (value) => {
        view.filter = value;
        publishView();
        document.getElementById('grid')?.replaceWith(gridTable(context, grid, metricOf(grid)));
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
