// The region × segment grid: metric switch, filter, sorting, totals, heat shading; a cell opens its customers.
import type { Grid, GridCell } from '../src/shared/grid';
import { formatMetric, guardFormula, metricLabel, regionLabel, segmentLabel } from '../src/shared/labels';
import { choices, element, textField } from './components';
import { post, savedState, saveState } from './host';

interface ViewState {
  metric?: string;
  filter: string;
  /** `region`, `total`, or a segment's key. */
  sortBy: string;
  descending: boolean;
}

/** What the grid needs from the panel around it. */
export interface GridContext {
  locale: string;
  /** Draws the whole panel again (the metric or the sort changed). */
  rerender(): void;
  /** Lights up the lineage of these output columns (none: clears it). */
  highlight(columns: string[]): void;
}

const view: ViewState = { filter: '', sortBy: 'region', descending: false, ...(savedState() as Partial<ViewState>) };

const key = (value: string | null) => JSON.stringify(value);

export function metricOf(grid: Grid): string {
  const metric =
    view.metric && grid.metrics.some((item) => item.column === view.metric)
      ? view.metric
      : (grid.countColumn ?? grid.metrics[0]?.column);
  return metric ?? '';
}

function sortedRegions(grid: Grid, metric: string, locale: string): { region: string | null; index: number }[] {
  const filter = view.filter.trim().toLowerCase();
  const rows = grid.regions
    .map((region, index) => ({ region, index }))
    .filter(({ region }) => !filter || regionLabel(region).toLowerCase().includes(filter));
  const valueOf = (row: { region: string | null; index: number }): number | null => {
    if (view.sortBy === 'total') return grid.regionTotals[row.index][metric] ?? null;
    const cell = grid.cells.find(
      (candidate) => candidate.region === row.region && key(candidate.segment) === view.sortBy,
    );
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
    { class: 'sort', type: 'button', title: `Sort by ${label}` },
    `${label}${active ? (view.descending ? ' ▼' : ' ▲') : ''}`,
  );
  control.addEventListener('click', () => {
    view.descending = view.sortBy === sortKey ? !view.descending : sortKey !== 'region';
    view.sortBy = sortKey;
    saveState(view);
    context.rerender();
  });
  header.append(control);
  return header;
}

export function gridTable(context: GridContext, grid: Grid, metric: string): HTMLElement {
  const { locale } = context;
  const table = element('table', {
    id: 'grid',
    class: 'grid',
    'aria-label': `${metricLabel(metric)} by region and segment`,
  });
  const values = grid.cells.map((cell) => cell.values[metric]).filter((value): value is number => value !== null);
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
      sortHeader(context, segmentLabel(segment), key(segment), {
        'data-segment': key(segment),
        'data-column': grid.segmentColumn,
      }),
    ),
  );
  headRow.append(sortHeader(context, 'Total', 'total', { class: 'total' }));
  head.append(headRow);
  table.append(head);

  const body = element('tbody');
  for (const { region, index } of sortedRegions(grid, metric, locale)) {
    const row = element('tr', { 'data-region': key(region) });
    // Long names are cut short on screen; the whole name is in the tooltip (an attribute holds it as text).
    row.append(
      element(
        'th',
        {
          scope: 'row',
          class: region === null ? 'dimension null' : 'dimension',
          'data-column': grid.regionColumn,
          title: regionLabel(region),
        },
        regionLabel(region),
      ),
    );
    for (const segment of grid.segments) {
      const cell = grid.cells.find((candidate) => candidate.region === region && candidate.segment === segment);
      row.append(dataCell(locale, cell, region, segment, metric, max));
    }
    row.append(
      element('td', { class: 'total number' }, formatMetric(grid.regionTotals[index][metric], metric, locale)),
    );
    body.append(row);
  }
  table.append(body);

  const foot = element('tfoot');
  const footRow = element('tr');
  footRow.append(element('th', { scope: 'row' }, 'Total'));
  grid.segments.forEach((_, index) =>
    footRow.append(element('td', { class: 'number' }, formatMetric(grid.segmentTotals[index][metric], metric, locale))),
  );
  footRow.append(element('td', { class: 'total number' }, formatMetric(grid.total[metric], metric, locale)));
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
  return table;
}

function dataCell(
  locale: string,
  cell: GridCell | undefined,
  region: string | null,
  segment: string | null,
  metric: string,
  max: number,
): HTMLElement {
  const value = cell?.values[metric] ?? null;
  const td = element(
    'td',
    {
      class: 'cell number',
      tabindex: '0',
      'data-region': key(region),
      'data-segment': key(segment),
      'data-value': value === null ? '' : String(value),
      role: 'button',
    },
    formatMetric(value, metric, locale),
  );
  td.setAttribute(
    'aria-label',
    `${regionLabel(region)}, ${segmentLabel(segment)}: ${formatMetric(value, metric, locale)}. Show customers.`,
  );
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

/** The grid as shown (sorted and filtered), as tab-separated text for the clipboard. */
export function gridAsText(grid: Grid, metric: string, locale: string): string {
  const lines = [[grid.regionColumn, ...grid.segments.map(segmentLabel), 'Total']];
  for (const { region, index } of sortedRegions(grid, metric, locale)) {
    lines.push([
      regionLabel(region),
      ...grid.segments.map((segment) =>
        formatMetric(
          grid.cells.find((cell) => cell.region === region && cell.segment === segment)?.values[metric],
          metric,
          locale,
        ),
      ),
      formatMetric(grid.regionTotals[index][metric], metric, locale),
    ]);
  }
  // Pasted into a spreadsheet, a label starting with = + - @ would run as a formula; the numbers stay numbers.
  const label = (text: string) => guardFormula(text.replace(/[\t\r\n]+/g, ' '));
  return lines
    .map((line, index) => (index === 0 ? line.map(label) : [label(line[0]), ...line.slice(1)]).join('\t'))
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
        saveState(view);
        context.rerender();
      },
      'metric',
    ),
    textField(
      'Filter regions',
      view.filter,
      (value) => {
        view.filter = value;
        saveState(view);
        document.getElementById('grid')?.replaceWith(gridTable(context, grid, metricOf(grid)));
      },
      'filter',
    ),
  );
  return controls;
}

/** Outlines a cell, scrolls it into view and focuses it. */
export function revealCell(region: string | null, segment: string | null): void {
  const cell = document.querySelector(
    `td.cell[data-region="${CSS.escape(key(region))}"][data-segment="${CSS.escape(key(segment))}"]`,
  ) as HTMLElement | null;
  if (!cell) return;
  document.querySelectorAll('td.revealed').forEach((other) => other.classList.remove('revealed'));
  cell.classList.add('revealed');
  cell.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  cell.focus();
}
