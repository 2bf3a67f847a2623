// Beside the grid: per row key (region), a stacked bar of its column keys (segments), in the segments' theme colours.
// Drawn as SVG here, no library and no network; every label and tooltip is text (textContent), never markup. A bar
// segment is a button: a click, Enter or Space drills down as the grid's cell does; Tab reaches each one.
import { SEGMENT_COLOURS, keyLabel, valueKey, type Grid, type ShownGrid } from '../src/shared/grid';
import { formatMetric, metricLabel } from '../src/shared/labels';
import { element } from './components';
import { post } from './host';

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> = {},
  text?: string,
): SVGElementTagNameMap[K] {
  const created = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) created.setAttribute(name, String(value));
  if (text !== undefined) created.textContent = text;
  return created;
}

/** `charts.purple` → the theme's colour as a CSS variable; a theme without it (high contrast) gets its text colour. */
export const themeColour = (id: string): string => `var(--vscode-${id.replace('.', '-')}, var(--vscode-foreground))`;

/** The colour of the column key at `index` in the grid's order (threshold order: Platinum first). */
export const colourOf = (index: number): string => themeColour(SEGMENT_COLOURS[index % SEGMENT_COLOURS.length]);

const WIDTH = 440;
const LABEL_WIDTH = 120;
const VALUE_WIDTH = 64;
const BAR_HEIGHT = 18;
const ROW_GAP = 8;
const TOP = 4;

/** The text cut to about `max` characters with an ellipsis; the whole text is in the tooltip. */
function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The chart of the grid as shown (its rows in the grid's order, the filter applied). Stacks add up only for a metric
 * that sums (customers); for an average the chart shows the customer count instead, and says so.
 */
export function gridChart(grid: Grid, shown: ShownGrid, canDrill: boolean, locale: string): HTMLElement {
  const metric = grid.metrics.find((item) => item.column === shown.metric);
  const column = metric?.total === 'sum' ? shown.metric : (grid.countColumn ?? shown.metric);
  const byRow = new Map(
    grid.cells.map((cell) => [JSON.stringify([cell.region, cell.segment]), cell.values[column] ?? null]),
  );
  const rows = shown.rows.map((row) => {
    const parts = grid.segments.map((segment, index) => ({
      segment,
      index,
      value: byRow.get(JSON.stringify([row.region, segment])) ?? null,
    }));
    const total = parts.reduce((sum, part) => sum + Math.max(0, part.value ?? 0), 0);
    return { region: row.region, parts, total };
  });
  const max = Math.max(0, ...rows.map((row) => row.total));
  const barSpace = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const height = TOP + rows.length * (BAR_HEIGHT + ROW_GAP);
  const title = `${metricLabel(column)} by ${grid.regionColumn}${grid.segmentColumn === undefined ? '' : ` and ${grid.segmentColumn}`}`;

  const figure = element('figure', { class: 'chart', id: 'chart' });
  figure.append(element('figcaption', {}, title));
  const drawing = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${height}`,
    width: WIDTH,
    height,
    role: 'group',
    'aria-label': title,
    'data-metric': column,
  });
  rows.forEach((row, rowIndex) => {
    const y = TOP + rowIndex * (BAR_HEIGHT + ROW_GAP);
    const rowName = keyLabel(row.region, grid.regionColumn);
    const group = svg('g', { class: 'chart-row', 'data-region': valueKey(row.region) });
    const label = svg('text', { class: 'chart-label', x: LABEL_WIDTH - 6, y: y + BAR_HEIGHT / 2 }, cut(rowName, 16));
    label.append(svg('title', {}, rowName));
    group.append(label);
    let x = LABEL_WIDTH;
    for (const part of row.parts) {
      if (part.value === null || part.value <= 0 || max === 0) continue;
      const width = (part.value / max) * barSpace;
      const partName = keyLabel(part.segment, grid.segmentColumn);
      const text = `${rowName} · ${partName}: ${formatMetric(part.value, column, locale)}`;
      const bar = svg('rect', {
        class: `bar segment-${part.index % SEGMENT_COLOURS.length}`,
        x,
        y,
        width: Math.max(width, 0.5),
        height: BAR_HEIGHT,
        'data-region': valueKey(row.region),
        'data-segment': valueKey(part.segment),
        'data-value': part.value,
        'aria-label': `${text}.${canDrill ? ' Show customers.' : ''}`,
      });
      bar.style.fill = colourOf(part.index);
      bar.append(svg('title', {}, text));
      if (canDrill) {
        bar.setAttribute('role', 'button');
        bar.setAttribute('tabindex', '0');
        const open = () => post({ type: 'drillDown', region: row.region, segment: part.segment, offset: 0 });
        bar.addEventListener('click', open);
        bar.addEventListener('keydown', (event) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            open();
          }
        });
      }
      group.append(bar);
      x += width;
    }
    group.append(
      svg(
        'text',
        { class: 'chart-value', x: x + 4, y: y + BAR_HEIGHT / 2, 'data-total': row.total },
        formatMetric(row.total, column, locale),
      ),
    );
    drawing.append(group);
  });
  figure.append(drawing);
  if (grid.segmentColumn !== undefined) figure.append(legend(grid));
  return figure;
}

/** The column keys with their colours, as text. */
function legend(grid: Grid): HTMLElement {
  const list = element('ul', { class: 'chart-legend', 'aria-label': grid.segmentColumn ?? '' });
  grid.segments.forEach((segment, index) => {
    const item = element('li');
    const swatch = element('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.background = colourOf(index);
    item.append(swatch, document.createTextNode(keyLabel(segment, grid.segmentColumn)));
    list.append(item);
  });
  return list;
}
