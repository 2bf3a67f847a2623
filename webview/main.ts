// The Segment Lens panel: the region × segment grid beside the model's column lineage (from 900 px of panel; below,
// the grid, then the lineage), the drill-down or preview under the grid. After a failed run the last good run stays,
// dimmed, under the error. Everything from the host arrives as data and is shown as text; nothing is parsed as HTML.
import { SAMPLE_LABEL, clockTime, relationLabel } from '../src/shared/labels';
import { keyLabel, type Grid } from '../src/shared/grid';
import type { Lineage } from '../src/shared/lineageModel';
import type { LensWarning } from '../src/shared/problem';
import type { DonePanelState, HostMessage, PanelState } from '../src/shared/protocol';
import { button, divider, element, progress, tag } from './components';
import { detailSection, type Detail } from './detail';
import { gridChart } from './chart';
import {
  cellSelector,
  drillable,
  gridAsText,
  gridControls,
  gridTable,
  metricOf,
  pickedGrid,
  publishView,
  revealCell,
  shownAs,
} from './grid';
import type { GridContext } from './grid';
import { post, saveState } from './host';
import { LineageView } from './lineage';
import { acceptAnswer, isShownWhatIf, openMoved, whatIfGrids, whatIfSection } from './whatIf';

let state: PanelState = { status: 'empty' };
let locale = navigator.language;
let detail: Detail | undefined;
let notice = '';
/** Where the run in flight is, while it runs. */
let progressLine = '';
/** Where the host asked the panel to scroll, done as soon as it is drawn. */
let pendingScroll: 'lineage' | undefined;
const lineageView = new LineageView((id, model) => post({ type: 'revealNode', id, model }));
/** The lineage last drawn: kept while the lineage is the same one (its zoom, pan and highlight with it). */
let drawnLineage: { lineage: Lineage; element: HTMLElement } | undefined;
const app = document.getElementById('app')!;

function gridContext(): GridContext {
  return { locale, rerender: render, refilter, highlight: (columns) => lineageView.highlight(columns) };
}

/** The grid's table and chart for the grid as picked: what the row filter and the metric change. */
function gridViews(context: GridContext, run: Grid): HTMLElement[] {
  const grid = pickedGrid(run);
  const metric = metricOf(grid);
  const canDrill = drillable(run, grid);
  const picked = context.baseline ? { ...context, baseline: pickedGrid(context.baseline) } : context;
  return [gridTable(picked, grid, metric, canDrill), gridChart(grid, shownAs(grid, locale), canDrill, locale)];
}

/** The grid to show and its context: with thresholds changed in the panel, the what-if's, against the file's. */
function gridSetup(run: DonePanelState, current = true): { context: GridContext; grid: Grid } {
  const whatIf = current ? whatIfGrids(run) : undefined;
  if (!whatIf) return { context: gridContext(), grid: (run.grid as Extract<typeof run.grid, { ok: true }>).grid };
  return {
    context: {
      ...gridContext(),
      baseline: whatIf.baseline,
      openCell: (region, segment) => openMoved(run, region, segment),
    },
    grid: whatIf.grid,
  };
}

/** A drill-down's title: the cell's row and column keys, placeholders named after the run grid's dimensions. */
function drillDownTitle(region: string | null, segment: string | null): string | undefined {
  const run = shownRun(settled(state));
  if (!run?.grid.ok) return undefined;
  const grid = run.grid.grid;
  return `${keyLabel(region, grid.regionColumn)} · ${keyLabel(segment, grid.segmentColumn)}`;
}

/** The row filter changed: the table and the chart follow; the field keeps its focus. */
function refilter(): void {
  const run = shownRun(settled(state));
  if (!run?.grid.ok) return;
  const { context, grid } = gridSetup(run);
  const [table, chart] = gridViews(context, grid);
  document.getElementById('grid')?.replaceWith(table);
  document.getElementById('chart')?.replaceWith(chart);
}

function statusLine(run: DonePanelState['run']): HTMLElement {
  const line = element('p', { id: 'status', class: 'status' });
  const counts = Object.entries(run.cteRowCounts).map(
    ([name, rows]) => `${relationLabel(name)} ${rows.toLocaleString(locale)} rows`,
  );
  line.textContent = [
    run.source,
    ...counts,
    `load ${Math.round(run.timings.loadMs).toLocaleString(locale)} ms`,
    `query ${Math.round(run.timings.queryMs).toLocaleString(locale)} ms`,
  ].join(' · ');
  // The models it stands on: each one's origin in its tooltip, a count of each kind in the line.
  if (run.upstream.length) {
    const built = run.upstream.filter((relation) => relation.from === 'built').length;
    const kept = run.upstream.filter((relation) => relation.from === 'kept').length;
    const read = run.upstream.length - built - kept;
    const parts = [
      built && `${built} built from SQL`,
      kept && `${kept} unchanged`,
      read && `${read} read from the data`,
    ].filter(Boolean);
    const upstream = element('span', {
      id: 'upstream',
      title: run.upstream
        .map(
          (relation) =>
            `${relation.name}: ${relation.from}, ${relation.rows.toLocaleString(locale)} rows${relation.from === 'built' ? `, ${Math.round(relation.ms)} ms` : ''}`,
        )
        .join('\n'),
    });
    upstream.textContent = ` · upstream: ${parts.join(', ')}`;
    line.append(upstream);
  }
  return line;
}

type SettledState = Exclude<PanelState, { status: 'running' }>;

/** While a run is in flight the panel keeps showing what it showed before. */
function settled(current: PanelState): SettledState {
  return current.status === 'running' ? settled(current.previous ?? { status: 'empty' }) : current;
}

/** The run whose grid and lineage are on screen: the last one, or after a failure the last good one. */
function shownRun(shown: SettledState): DonePanelState | undefined {
  return shown.status === 'done' ? shown : shown.status === 'error' ? shown.lastGood : undefined;
}

/** "models/marts/customer_segments.sql", or the bundled sample said plainly. */
function titleText(label: string): string {
  return label === SAMPLE_LABEL ? 'Bundled sample model' : label;
}

function header(shown: SettledState): HTMLElement {
  const bar = element('header', { class: 'header' });
  const toolbar = element('div', { class: 'toolbar' });
  toolbar.append(button(state.status === 'running' ? 'Running…' : 'Run', () => post({ type: 'run' }), { id: 'run' }));
  const run = shownRun(shown);
  if (run) {
    toolbar.append(
      button('Export CSV', () => post({ type: 'exportCsv' }), {
        secondary: true,
        id: 'export',
        title: 'Export the grid as shown, or the result rows, as CSV',
      }),
    );
    if (run.grid.ok) {
      const grid = pickedGrid(run.grid.grid);
      toolbar.append(
        button('Copy', () => post({ type: 'copy', text: gridAsText(grid, locale) }), {
          secondary: true,
          id: 'copy',
          title: 'Copy the grid as shown, with its totals, as tab-separated text',
        }),
      );
    }
  }
  if (state.status === 'running') toolbar.append(progress());
  const label = state.status === 'empty' ? undefined : state.status === 'done' ? state.run.modelLabel : state.modelName;
  const title = element('h2', { id: 'title', ...(state.status === 'done' ? { title: state.run.modelFile } : {}) });
  // A long path wraps after its slashes, never inside a name.
  const parts = (label === undefined ? 'Segment Lens' : titleText(label)).split(/(?<=\/)/);
  parts.forEach((part, index) => title.append(...(index > 0 ? [document.createElement('wbr')] : []), part));
  bar.append(title, toolbar);
  return bar;
}

/** The error, its place (the file named once: a message that names it gets only the line), and a way there. */
function errorBox(error: Extract<PanelState, { status: 'error' }>['error']): HTMLElement {
  const box = element('div', { class: 'error', id: 'error', role: 'alert' });
  const location = error.location;
  let where = '';
  if (location) {
    const name = location.file.split(/[\\/]/).pop() ?? location.file;
    where = error.message.includes(name)
      ? ` (line ${location.line}, column ${location.column})`
      : ` (${name}:${location.line}:${location.column})`;
  }
  box.append(element('strong', {}, `${error.message}${where}`));
  if (error.hint) box.append(element('p', {}, error.hint));
  if (location)
    box.append(
      button('Go to the problem', () => post({ type: 'revealError' }), { secondary: true, id: 'go-to-error' }),
    );
  return box;
}

/** The lineage, drawn anew only when it changed. */
function lineageElement(lineage: Lineage, segmentColumn: string | undefined): HTMLElement {
  if (drawnLineage?.lineage !== lineage)
    drawnLineage = { lineage, element: lineageView.render(lineage, segmentColumn) };
  return drawnLineage.element;
}

/** A warning as the panel lists it: where it is (the line, as Problems shows it too), then what it says. */
function warningText(warning: LensWarning, modelFile: string): string {
  const where = warning.location;
  if (!where) return warning.message;
  const file = where.file === modelFile ? 'Line ' : `${where.file.split(/[\\/]/).pop()}:`;
  return `${file}${where.line}: ${warning.message}`;
}

/** A run's status line, warnings, grid, drill-down and lineage. */
function runView(run: DonePanelState, current: boolean): HTMLElement[] {
  const parts: HTMLElement[] = [statusLine(run.run)];
  for (const warning of run.warnings)
    parts.push(element('p', { class: 'warning', role: 'status' }, warningText(warning, run.run.modelFile)));
  const split = element('main', { class: 'split' });
  const gridSection = element('section', { class: 'grid-section', id: 'grid-section', 'aria-label': 'Grid' });
  if (!run.grid.ok) {
    gridSection.append(element('p', { class: 'warning', id: 'grid-problem' }, run.grid.reason));
  } else if (run.grid.grid.cells.length === 0) {
    gridSection.append(
      element('p', { class: 'empty', id: 'grid-empty' }, 'The model returned no rows: there is no data to show.'),
    );
  } else {
    // With thresholds changed in the panel: the what-if's grid, each cell against the file's.
    const { context, grid: shownRunGrid } = gridSetup(run, current);
    const grid = pickedGrid(shownRunGrid);
    const thresholds = current ? whatIfSection(run, render) : undefined;
    if (thresholds) gridSection.append(thresholds);
    const views = element('div', { class: 'grid-views' });
    views.append(...gridViews(context, shownRunGrid));
    gridSection.append(gridControls(context, grid, metricOf(grid), shownRunGrid), views);
  }
  split.append(gridSection);
  // The customers that moved under other thresholds than those shown now are out of date.
  if (detail?.kind === 'drillDown' && detail.moved && !isShownWhatIf(run, detail.moved)) detail = undefined;
  if (detail && current) {
    const detailArea = element('div', { class: 'detail-area' });
    detailArea.append(divider(), detailSection(detail, locale, closeDetail));
    split.append(detailArea);
  }
  // The lineage's container: #lineage-fit has a definite width (its grid track), which the graph fits.
  const lineageSection = element('section', {
    class: 'lineage-section',
    id: 'lineage-section',
    'aria-label': 'Lineage',
  });
  lineageSection.append(element('h3', {}, 'Column lineage'));
  const fit = element('div', { class: 'lineage-fit', id: 'lineage-fit' });
  if (run.lineage) fit.append(lineageElement(run.lineage, run.grid.ok ? run.grid.grid.segmentColumn : undefined));
  else fit.append(element('p', { class: 'muted' }, run.lineageError ?? 'No lineage.'));
  lineageSection.append(fit);
  if (run.lineage?.unresolved.length) lineageSection.append(tag(`${run.lineage.unresolved.length} unresolved`));
  split.append(lineageSection);
  parts.push(split);
  return parts;
}

/** Closes the drill-down or preview; a drill-down gives the focus back to its cell. */
function closeDetail(): void {
  const closed = detail;
  detail = undefined;
  render();
  if (closed?.kind === 'drillDown')
    (document.querySelector(cellSelector(closed.region, closed.segment)) as HTMLElement | null)?.focus();
}

/** What has the keyboard focus, as a selector to find it again once the panel is drawn anew. */
function focusedSelector(): string | undefined {
  const active = document.activeElement as HTMLElement | null;
  if (!active || active === document.body || !app.contains(active)) return undefined;
  if (active.matches('td.cell'))
    return `td.cell[data-region="${CSS.escape(active.dataset.region ?? '')}"][data-segment="${CSS.escape(active.dataset.segment ?? '')}"]`;
  if (active.id) return `#${CSS.escape(active.id)}`;
  const sort = active.closest('button.sort') as HTMLElement | null;
  if (sort?.dataset.sort !== undefined) return `button.sort[data-sort="${CSS.escape(sort.dataset.sort)}"]`;
  return undefined;
}

function render(): void {
  const shown = settled(state);
  const focused = focusedSelector();
  app.replaceChildren();
  app.append(header(shown));
  if (notice) app.append(element('p', { class: 'notice', id: 'notice', role: 'status' }, notice));
  if (state.status === 'running' && progressLine)
    app.append(element('p', { class: 'status', id: 'progress', role: 'status' }, progressLine));

  if (shown.status === 'empty') {
    app.append(
      element(
        'p',
        { class: 'empty' },
        "Run the segment model to see customers by region and segment, beside the model's column lineage.",
      ),
    );
  } else if (shown.status === 'error') {
    app.append(errorBox(shown.error));
    if (shown.lastGood) {
      const { run } = shown.lastGood;
      const other = run.modelLabel === shown.modelName ? '' : ` of ${titleText(run.modelLabel)}`;
      app.append(
        element(
          'p',
          { class: 'stale-note', id: 'stale-note' },
          `Showing the run of ${clockTime(run.finishedAt, locale)}${other}, the last that worked.`,
        ),
      );
      // The last good run, dimmed and out of reach until a run works again.
      const stale = element('div', { class: 'stale', id: 'stale', inert: '' });
      stale.append(...runView(shown.lastGood, false));
      app.append(stale);
    }
  } else {
    app.append(...runView(shown, true));
  }
  if (focused) (document.querySelector(focused) as HTMLElement | null)?.focus({ preventScroll: true });
  scrollIfAsked();
}

function scrollIfAsked(): void {
  if (pendingScroll !== 'lineage') return;
  const section = document.getElementById('lineage-section');
  if (!section) return;
  pendingScroll = undefined;
  section.scrollIntoView({ block: 'start' });
}

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'state': {
      const next = message.state;
      if (next.status !== 'running' && next.status !== state.status) detail = undefined;
      state = next;
      locale = message.locale || locale;
      notice = '';
      progressLine = '';
      // Kept for a reload: the panel VS Code restores runs this model again.
      const run = shownRun(settled(next));
      if (run) saveState({ modelFile: run.run.modelFile });
      render();
      break;
    }
    case 'whatIf':
      if (acceptAnswer(message)) render();
      break;
    case 'drillDown':
      detail = {
        kind: 'drillDown',
        region: message.region,
        segment: message.segment,
        page: message.page,
        title: drillDownTitle(message.region, message.segment),
        ...(message.moved ? { moved: message.moved } : {}),
      };
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
    case 'focusColumn':
      lineageView.focusColumn(message.id, message.model);
      break;
    case 'scrollTo':
      pendingScroll = message.target;
      scrollIfAsked();
      break;
    case 'notice':
      notice = message.text;
      render();
      break;
    case 'progress': {
      if (state.status !== 'running') break;
      progressLine = message.text;
      // Only the line changes: the grid and the lineage beside it stay as they are.
      const line = document.getElementById('progress');
      if (line) line.textContent = progressLine;
      else render();
      break;
    }
  }
});

// Escape closes the drill-down or preview, from anywhere in the panel.
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && detail) {
    event.preventDefault();
    closeDetail();
  }
});

// The panel's width after the user resized it (not its first size): the host may remember its share of the editor.
let lastWidth = 0;
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
new ResizeObserver(() => {
  const width = window.innerWidth;
  if (width === 0 || width === lastWidth) return;
  const first = lastWidth === 0;
  lastWidth = width;
  if (first) return;
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    post({ type: 'resized' });
    // What the panel last reported, for the browser tests to wait on.
    document.body.dataset.reportedWidth = String(width);
  }, 500);
}).observe(document.documentElement);

render();
post({ type: 'ready' });
publishView();
