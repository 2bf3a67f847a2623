// The Segment Lens panel: the region × segment grid, the drill-down below it, and the lineage beside it.
// Everything from the host arrives as data and is shown as text; nothing is ever parsed as HTML.
import type { SqlValue } from 'sql.js';
import type { Grid, GridCell } from '../src/shared/grid';
import { formatMetric, guardFormula, metricLabel, regionLabel, segmentLabel } from '../src/shared/labels';
import type { HostMessage, PanelState, RowPageMessage, WebviewMessage } from '../src/shared/protocol';
import { PAGE_SIZE } from '../src/shared/protocol';
import { button, choices, dataTable, divider, element, progress, tag, textField } from './components';
import { LineageView } from './lineage';

declare function acquireVsCodeApi(): { postMessage(message: WebviewMessage): void; getState(): unknown; setState(state: unknown): void };

const vscode = acquireVsCodeApi();
const post = (message: WebviewMessage) => vscode.postMessage(message);

interface ViewState {
  metric?: string;
  filter: string;
  /** `region`, `total`, or a segment's key. */
  sortBy: string;
  descending: boolean;
}

type Detail =
  | { kind: 'drillDown'; region: string | null; segment: string | null; page: RowPageMessage }
  | { kind: 'cteRows'; cte: string; page: RowPageMessage };

const saved = vscode.getState() as Partial<ViewState> | undefined;
const view: ViewState = { filter: '', sortBy: 'region', descending: false, ...saved };
let state: PanelState = { status: 'empty' };
let locale = navigator.language;
let detail: Detail | undefined;
let notice = '';
const lineageView = new LineageView((id) => post({ type: 'revealNode', id }));

const key = (value: string | null) => JSON.stringify(value);
const app = document.getElementById('app')!;

function saveView(): void {
  vscode.setState(view);
}

function cellText(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (value instanceof Uint8Array) return `(${value.length} bytes)`;
  return typeof value === 'number' ? value.toLocaleString(locale, { maximumFractionDigits: 6 }) : value;
}

// ---- the grid

function metricOf(grid: Grid): string {
  const metric = view.metric && grid.metrics.some((item) => item.column === view.metric) ? view.metric : grid.countColumn ?? grid.metrics[0]?.column;
  return metric ?? '';
}

function sortedRegions(grid: Grid, metric: string): { region: string | null; index: number }[] {
  const filter = view.filter.trim().toLowerCase();
  const rows = grid.regions.map((region, index) => ({ region, index })).filter(({ region }) => !filter || regionLabel(region).toLowerCase().includes(filter));
  const valueOf = (row: { region: string | null; index: number }): number | null => {
    if (view.sortBy === 'total') return grid.regionTotals[row.index][metric] ?? null;
    const cell = grid.cells.find((candidate) => candidate.region === row.region && key(candidate.segment) === view.sortBy);
    return cell?.values[metric] ?? null;
  };
  rows.sort((a, b) => {
    if (view.sortBy === 'region') return regionLabel(a.region).localeCompare(regionLabel(b.region), locale);
    return (valueOf(a) ?? -Infinity) - (valueOf(b) ?? -Infinity);
  });
  if (view.descending) rows.reverse();
  // Customers without a region stay last whichever way the grid is sorted.
  return [...rows.filter((row) => row.region !== null), ...rows.filter((row) => row.region === null)];
}

function sortHeader(label: string, sortKey: string, attributes: Record<string, string> = {}): HTMLElement {
  const header = element('th', { scope: 'col', ...attributes });
  const active = view.sortBy === sortKey;
  header.setAttribute('aria-sort', active ? (view.descending ? 'descending' : 'ascending') : 'none');
  const control = element('button', { class: 'sort', type: 'button', title: `Sort by ${label}` }, `${label}${active ? (view.descending ? ' ▼' : ' ▲') : ''}`);
  control.addEventListener('click', () => {
    view.descending = view.sortBy === sortKey ? !view.descending : sortKey !== 'region';
    view.sortBy = sortKey;
    saveView();
    render();
  });
  header.append(control);
  return header;
}

function gridTable(grid: Grid, metric: string): HTMLElement {
  const table = element('table', { id: 'grid', class: 'grid', 'aria-label': `${metricLabel(metric)} by region and segment` });
  const values = grid.cells.map((cell) => cell.values[metric]).filter((value): value is number => value !== null);
  const max = Math.max(0, ...values);
  const head = element('thead');
  const headRow = element('tr');
  headRow.append(sortHeader(grid.regionColumn === 'region' ? 'Region' : grid.regionColumn, 'region', { class: 'dimension', 'data-column': grid.regionColumn }));
  grid.segments.forEach((segment) => headRow.append(sortHeader(segmentLabel(segment), key(segment), { 'data-segment': key(segment), 'data-column': grid.segmentColumn })));
  headRow.append(sortHeader('Total', 'total', { class: 'total' }));
  head.append(headRow);
  table.append(head);

  const body = element('tbody');
  for (const { region, index } of sortedRegions(grid, metric)) {
    const row = element('tr', { 'data-region': key(region) });
    // Long names are cut short on screen; the whole name is in the tooltip (an attribute holds it as text).
    row.append(element('th', { scope: 'row', class: region === null ? 'dimension null' : 'dimension', 'data-column': grid.regionColumn, title: regionLabel(region) }, regionLabel(region)));
    for (const segment of grid.segments) {
      const cell = grid.cells.find((candidate) => candidate.region === region && candidate.segment === segment);
      row.append(dataCell(cell, region, segment, metric, max));
    }
    row.append(element('td', { class: 'total number' }, formatMetric(grid.regionTotals[index][metric], metric, locale)));
    body.append(row);
  }
  table.append(body);

  const foot = element('tfoot');
  const footRow = element('tr');
  footRow.append(element('th', { scope: 'row' }, 'Total'));
  grid.segments.forEach((_, index) => footRow.append(element('td', { class: 'number' }, formatMetric(grid.segmentTotals[index][metric], metric, locale))));
  footRow.append(element('td', { class: 'total number' }, formatMetric(grid.total[metric], metric, locale)));
  foot.append(footRow);
  table.append(foot);

  // Hovering a column or a cell lights up where its values come from.
  table.addEventListener('mouseover', (event) => {
    const target = (event.target as HTMLElement).closest('[data-column], td.cell') as HTMLElement | null;
    if (!target) return;
    const columns = target.classList.contains('cell') ? [grid.regionColumn, grid.segmentColumn, metric] : [target.dataset.column ?? ''];
    lineageView.highlight(columns);
  });
  table.addEventListener('mouseleave', () => lineageView.highlight([]));
  return table;
}

function dataCell(cell: GridCell | undefined, region: string | null, segment: string | null, metric: string, max: number): HTMLElement {
  const value = cell?.values[metric] ?? null;
  const td = element('td', { class: 'cell number', tabindex: '0', 'data-region': key(region), 'data-segment': key(segment), 'data-value': value === null ? '' : String(value), role: 'button' }, formatMetric(value, metric, locale));
  td.setAttribute('aria-label', `${regionLabel(region)}, ${segmentLabel(segment)}: ${formatMetric(value, metric, locale)}. Show customers.`);
  if (value !== null && max > 0) td.style.setProperty('--heat', `${Math.round((value / max) * 55)}%`);
  const open = () => post({ type: 'drillDown', region, segment, offset: 0 });
  td.addEventListener('click', open);
  td.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      open();
    }
  });
  return td;
}

function gridAsText(grid: Grid, metric: string): string {
  const lines = [[grid.regionColumn, ...grid.segments.map(segmentLabel), 'Total']];
  for (const { region, index } of sortedRegions(grid, metric)) {
    lines.push([regionLabel(region), ...grid.segments.map((segment) => formatMetric(grid.cells.find((cell) => cell.region === region && cell.segment === segment)?.values[metric], metric, locale)), formatMetric(grid.regionTotals[index][metric], metric, locale)]);
  }
  // Pasted into a spreadsheet, a label starting with = + - @ would run as a formula; the numbers stay numbers.
  const label = (text: string) => guardFormula(text.replace(/[\t\r\n]+/g, ' '));
  return lines.map((line, index) => (index === 0 ? line.map(label) : [label(line[0]), ...line.slice(1)]).join('\t')).join('\n');
}

// ---- drill-down and CTE previews

function detailSection(): HTMLElement | undefined {
  if (!detail) return undefined;
  const { page } = detail;
  const section = element('section', { id: 'detail', class: 'detail', 'aria-live': 'polite' });
  const title = detail.kind === 'drillDown' ? `${regionLabel(detail.region)} · ${segmentLabel(detail.segment)}` : `Preview of ${detail.cte}`;
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.rows.length;
  const heading = element('h3', {}, title);
  section.append(heading, element('p', { class: 'muted', id: 'detail-range' }, `${first}–${last} of ${page.total.toLocaleString(locale)} ${detail.kind === 'drillDown' ? 'customers' : 'rows'}`));
  section.append(dataTable(page.columns, page.rows.map((row) => row.map(cellText)), 'detail-table'));
  const current = detail;
  const goTo = (offset: number) => post(current.kind === 'drillDown' ? { type: 'drillDown', region: current.region, segment: current.segment, offset } : { type: 'cteRows', cte: current.cte, offset });
  const pager = element('div', { class: 'toolbar' });
  const previous = button('Previous', () => goTo(Math.max(0, page.offset - PAGE_SIZE)), { secondary: true, id: 'detail-previous' });
  const next = button('Next', () => goTo(page.offset + PAGE_SIZE), { secondary: true, id: 'detail-next' });
  if (page.offset === 0) previous.setAttribute('disabled', '');
  if (last >= page.total) next.setAttribute('disabled', '');
  pager.append(previous, next, button('Close', () => {
    detail = undefined;
    render();
  }, { secondary: true }));
  section.append(pager);
  return section;
}

// ---- the whole panel

function statusLine(run: Extract<PanelState, { status: 'done' }>['run']): HTMLElement {
  const line = element('p', { id: 'status', class: 'status' });
  const counts = Object.entries(run.cteRowCounts).map(([name, rows]) => `${name} ${rows.toLocaleString(locale)} rows`);
  line.textContent = [run.source, ...counts, `load ${Math.round(run.timings.loadMs).toLocaleString(locale)} ms`, `query ${Math.round(run.timings.queryMs).toLocaleString(locale)} ms`].join(' · ');
  return line;
}

type SettledState = Exclude<PanelState, { status: 'running' }>;

/** While a run is in flight the panel keeps showing what it showed before. */
function settled(current: PanelState): SettledState {
  return current.status === 'running' ? settled(current.previous ?? { status: 'empty' }) : current;
}

function render(): void {
  const shown = settled(state);
  app.replaceChildren();
  const header = element('header', { class: 'header' });
  const toolbar = element('div', { class: 'toolbar' });
  toolbar.append(button(state.status === 'running' ? 'Running…' : 'Run', () => post({ type: 'run' }), { id: 'run' }));
  if (shown.status === 'done') {
    toolbar.append(button('Export CSV', () => post({ type: 'exportCsv' }), { secondary: true, id: 'export' }));
    if (shown.grid.ok) {
      const grid = shown.grid.grid;
      toolbar.append(button('Copy', () => post({ type: 'copy', text: gridAsText(grid, metricOf(grid)) }), { secondary: true, id: 'copy', title: 'Copy the grid as tab-separated text' }));
    }
  }
  if (state.status === 'running') toolbar.append(progress());
  const title = element('h2', { id: 'title' }, state.status === 'empty' ? 'Segment Lens' : state.status === 'done' ? state.run.modelName : state.modelName);
  header.append(title, toolbar);
  app.append(header);
  if (notice) app.append(element('p', { class: 'notice', id: 'notice', role: 'status' }, notice));

  if (shown.status === 'empty') {
    app.append(element('p', { class: 'empty' }, 'Run the segment model to see customers by region and segment, beside the model\'s column lineage.'));
    return;
  }
  if (shown.status === 'error') {
    const box = element('div', { class: 'error', id: 'error', role: 'alert' });
    const where = shown.error.location ? ` (${shown.error.location.file.split(/[\\/]/).pop()}:${shown.error.location.line}:${shown.error.location.column})` : '';
    box.append(element('strong', {}, `${shown.error.message}${where}`));
    if (shown.error.hint) box.append(element('p', {}, shown.error.hint));
    if (shown.error.location) box.append(button('Go to the problem', () => post({ type: 'revealError' }), { secondary: true, id: 'go-to-error' }));
    app.append(box);
    return;
  }
  app.append(statusLine(shown.run));
  for (const warning of shown.warnings) app.append(element('p', { class: 'warning', role: 'status' }, warning));
  const main = element('main', { class: 'split' });
  const gridSection = element('section', { class: 'grid-section', 'aria-label': 'Grid' });
  if (!shown.grid.ok) {
    gridSection.append(element('p', { class: 'warning', id: 'grid-problem' }, shown.grid.reason));
  } else if (shown.grid.grid.cells.length === 0) {
    gridSection.append(element('p', { class: 'empty', id: 'grid-empty' }, 'The model returned no rows: there is no data to show.'));
  } else {
    const grid = shown.grid.grid;
    const metric = metricOf(grid);
    const controls = element('div', { class: 'controls' });
    controls.append(
      choices('Metric', grid.metrics.map((item) => ({ value: item.column, label: metricLabel(item.column) })), metric, (value) => {
        view.metric = value;
        saveView();
        render();
      }, 'metric'),
      textField('Filter regions', view.filter, (value) => {
        view.filter = value;
        saveView();
        const table = document.getElementById('grid');
        table?.replaceWith(gridTable(grid, metricOf(grid)));
      }, 'filter'),
    );
    gridSection.append(controls, gridTable(grid, metric));
  }
  const detailElement = detailSection();
  if (detailElement) gridSection.append(divider(), detailElement);
  const lineageSection = element('section', { class: 'lineage-section', 'aria-label': 'Lineage' });
  lineageSection.append(element('h3', {}, 'Column lineage'));
  if (shown.lineage) lineageSection.append(lineageView.render(shown.lineage));
  else lineageSection.append(element('p', { class: 'muted' }, shown.lineageError ?? 'No lineage.'));
  if (shown.lineage?.unresolved.length) lineageSection.append(tag(`${shown.lineage.unresolved.length} unresolved`));
  main.append(gridSection, lineageSection);
  app.append(main);
}

function revealCell(region: string | null, segment: string | null): void {
  const cell = document.querySelector(`td.cell[data-region="${CSS.escape(key(region))}"][data-segment="${CSS.escape(key(segment))}"]`) as HTMLElement | null;
  if (!cell) return;
  document.querySelectorAll('td.revealed').forEach((other) => other.classList.remove('revealed'));
  cell.classList.add('revealed');
  cell.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  cell.focus();
}

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'state':
      if (message.state.status === 'done' && state.status !== 'done') detail = undefined;
      state = message.state;
      locale = message.locale || locale;
      notice = '';
      render();
      break;
    case 'drillDown':
      detail = { kind: 'drillDown', region: message.region, segment: message.segment, page: message.page };
      render();
      document.getElementById('detail')?.scrollIntoView({ block: 'nearest' });
      break;
    case 'cteRows':
      detail = { kind: 'cteRows', cte: message.cte, page: message.page };
      render();
      document.getElementById('detail')?.scrollIntoView({ block: 'nearest' });
      break;
    case 'revealCell':
      revealCell(message.region, message.segment);
      break;
    case 'notice':
      notice = message.text;
      render();
      break;
  }
});

render();
post({ type: 'ready' });
