// The Segment Lens panel: the region × segment grid, the drill-down below it, and the lineage beside it.
// Everything from the host arrives as data and is shown as text; nothing is ever parsed as HTML.
import type { HostMessage, PanelState } from '../src/shared/protocol';
import { button, divider, element, progress, tag } from './components';
import { detailSection, type Detail } from './detail';
import { gridAsText, gridControls, gridTable, metricOf, revealCell, type GridContext } from './grid';
import { post } from './host';
import { LineageView } from './lineage';

let state: PanelState = { status: 'empty' };
let locale = navigator.language;
let detail: Detail | undefined;
let notice = '';
const lineageView = new LineageView((id, model) => post({ type: 'revealNode', id, model }));
const app = document.getElementById('app')!;

function gridContext(): GridContext {
  return { locale, rerender: render, highlight: (columns) => lineageView.highlight(columns) };
}

function statusLine(run: Extract<PanelState, { status: 'done' }>['run']): HTMLElement {
  const line = element('p', { id: 'status', class: 'status' });
  const counts = Object.entries(run.cteRowCounts).map(([name, rows]) => `${name} ${rows.toLocaleString(locale)} rows`);
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
      toolbar.append(
        button('Copy', () => post({ type: 'copy', text: gridAsText(grid, metricOf(grid), locale) }), {
          secondary: true,
          id: 'copy',
          title: 'Copy the grid as tab-separated text',
        }),
      );
    }
  }
  if (state.status === 'running') toolbar.append(progress());
  const title = element(
    'h2',
    { id: 'title' },
    state.status === 'empty' ? 'Segment Lens' : state.status === 'done' ? state.run.modelName : state.modelName,
  );
  header.append(title, toolbar);
  app.append(header);
  if (notice) app.append(element('p', { class: 'notice', id: 'notice', role: 'status' }, notice));

  if (shown.status === 'empty') {
    app.append(
      element(
        'p',
        { class: 'empty' },
        "Run the segment model to see customers by region and segment, beside the model's column lineage.",
      ),
    );
    return;
  }
  if (shown.status === 'error') {
    const box = element('div', { class: 'error', id: 'error', role: 'alert' });
    const where = shown.error.location
      ? ` (${shown.error.location.file.split(/[\\/]/).pop()}:${shown.error.location.line}:${shown.error.location.column})`
      : '';
    box.append(element('strong', {}, `${shown.error.message}${where}`));
    if (shown.error.hint) box.append(element('p', {}, shown.error.hint));
    if (shown.error.location)
      box.append(
        button('Go to the problem', () => post({ type: 'revealError' }), { secondary: true, id: 'go-to-error' }),
      );
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
    gridSection.append(
      element('p', { class: 'empty', id: 'grid-empty' }, 'The model returned no rows: there is no data to show.'),
    );
  } else {
    const grid = shown.grid.grid;
    const metric = metricOf(grid);
    const context = gridContext();
    gridSection.append(gridControls(context, grid, metric), gridTable(context, grid, metric));
  }
  if (detail) {
    gridSection.append(
      divider(),
      detailSection(detail, locale, () => {
        detail = undefined;
        render();
      }),
    );
  }
  const lineageSection = element('section', { class: 'lineage-section', 'aria-label': 'Lineage' });
  lineageSection.append(element('h3', {}, 'Column lineage'));
  if (shown.lineage) lineageSection.append(lineageView.render(shown.lineage));
  else lineageSection.append(element('p', { class: 'muted' }, shown.lineageError ?? 'No lineage.'));
  if (shown.lineage?.unresolved.length) lineageSection.append(tag(`${shown.lineage.unresolved.length} unresolved`));
  main.append(gridSection, lineageSection);
  app.append(main);
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
