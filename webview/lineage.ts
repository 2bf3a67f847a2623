// Draws the lineage as columns of nodes, left to right: the upstream models the sources are (collapsed boxes that
// expand into their own stages), the source tables, the CTEs in layers, then the output columns. Value edges are
// lines labelled by their kind (a CASE by its thresholds); row-shaping roles are badges on nodes. The drawing fits
// its container's width (lineageLayout.ts compacts and scales it), re-fits when the container resizes, and zooms
// (buttons, ctrl+wheel) and pans (drag) for a closer look.
import { LineageGraph, segmentation } from '../src/shared/lineageGraph';
import {
  VALUE_KINDS,
  type CaseDetail,
  type Lineage,
  type LineageEdge,
  type LineageNode,
} from '../src/shared/lineageModel';
import { element } from './components';
import {
  BOX_HEADER,
  BOX_ROW,
  clampZoom,
  fitText,
  layout,
  MAX_ZOOM,
  MIN_ZOOM,
  modelTree,
  NODE_HEIGHT,
  zoomedMetrics,
  type Layout,
  type ModelTree,
  type PlacedBox,
  type PlacedLink,
} from './lineageLayout';
import { DagReach, EXPLORED, type Lit } from './lineagePaths';

const SVG = 'http://www.w3.org/2000/svg';
const ZOOM_STEP = 1.25;
/** The least height of the box while zoomed in, so there is room to look around. */
const ZOOMED_MIN_HEIGHT = 360;
/** A width change this small that flips back and forth is a page scrollbar coming and going: it is not followed. */
const SCROLLBAR_FLIP = 24;

const ROW_ROLES: Record<string, string> = {
  join_key: 'join',
  group_key: 'group',
  filter: 'filter',
  order_key: 'order',
};

function svg(tag: string, attributes: Record<string, string | number> = {}, text?: string): SVGElement {
  const created = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) created.setAttribute(name, String(value));
  if (text !== undefined) created.textContent = text;
  return created;
}

/** "CASE: Platinum ≥ 10000 · Gold ≥ 5000 · … · else Bronze" from the CASE's conditions. */
export function caseLabel(detail: CaseDetail | undefined): string {
  if (!detail) return 'case';
  const unquote = (text: string) => text.replace(/^'(.*)'$/s, '$1');
  const parts = detail.whens.map((when) => {
    const threshold = /(>=|>|<=|<|=)\s*(-?[\d.]+)\s*$/.exec(when.when);
    return threshold
      ? `${unquote(when.then)} ${threshold[1].replace('>=', '≥').replace('<=', '≤')} ${threshold[2]}`
      : `${unquote(when.then)} if ${when.when}`;
  });
  if (detail.else) parts.push(`else ${unquote(detail.else)}`);
  return `CASE: ${parts.join(' · ')}`;
}

/** The functions an expression applies, outermost first: `ROUND(AVG(x), 2)` → "ROUND ∘ AVG". */
function functionChain(detail: string | undefined): string | undefined {
  const names = [...(detail ?? '').matchAll(/([A-Za-z_]\w*)\s*\(\s*(DISTINCT\b)?/gi)].map(
    (match) => `${match[1].toUpperCase()}${match[2] ? ' DISTINCT' : ''}`,
  );
  return names.length ? names.join(' ∘ ') : undefined;
}

/** Full text, for tooltips. */
function edgeLabel(edge: LineageEdge): string {
  if (edge.kind === 'case') return caseLabel(edge.case);
  return edge.detail ? `${edge.kind}: ${edge.detail}` : edge.kind;
}

/** Short text drawn on the edge; the CASE's thresholds are spelled out under the drawing. */
function shortLabel(edge: LineageEdge): string {
  if (edge.kind === 'aggregate' || edge.kind === 'expression') return functionChain(edge.detail) ?? edge.kind;
  return edge.kind;
}

const keyOf = (model: string | undefined, id: string) => `${model ?? EXPLORED}\u0000${id}`;
const lower = (text: string) => text.toLowerCase();

/** Enter and Space act on an SVG element with the button role, as they would on a button. */
function actLikeButton(target: Element, act: () => void): void {
  target.addEventListener('click', act);
  target.addEventListener('keydown', (event) => {
    const key = (event as KeyboardEvent).key;
    if (key !== 'Enter' && key !== ' ') return;
    event.preventDefault();
    act();
  });
}

/** A small HTML button with the theme's button colours. */
function toolButton(label: string, name: string, onClick: () => void, className = 'lineage-button'): HTMLButtonElement {
  const created = document.createElement('button');
  created.type = 'button';
  created.className = className;
  created.textContent = label;
  created.title = name;
  created.setAttribute('aria-label', name);
  created.addEventListener('click', (event) => {
    event.stopPropagation();
    onClick();
  });
  return created;
}

interface DrawnNode {
  model: string;
  id: string;
  element: SVGElement;
}

interface DrawnEdge {
  model: string;
  edge: LineageEdge;
  path: SVGElement;
  label?: SVGElement;
}

interface DrawnBox {
  box: PlacedBox;
  element: SVGElement;
  lines: { column: string; element: SVGElement }[];
}

export class LineageView {
  private lineage: Lineage | undefined;
  private reach: DagReach | undefined;
  /** Upstream models shown with their own stages, by name; kept across runs. */
  private readonly expanded = new Set<string>();
  /** 1 fits the width; more is zoomed in. */
  private zoom = 1;
  private viewport: HTMLElement | undefined;
  private tools:
    { zoomOut: HTMLButtonElement; zoomIn: HTMLButtonElement; fit: HTMLButtonElement; level: HTMLElement } | undefined;
  private observer: ResizeObserver | undefined;
  /** The viewport width the drawing was made for (0: not drawn yet), and the widths before it. */
  private width = 0;
  private recentWidths: number[] = [];
  private drawing: { layout: Layout; scale: number; svg: SVGElement } | undefined;
  private lit: Lit = new Map();
  /** The column the host asked to show (focusColumn): lit until the next hover or click, scrolled to once drawn. */
  private pinned: { model: string; id: string; scroll: boolean } | undefined;
  private nodes: DrawnNode[] = [];
  private edges: DrawnEdge[] = [];
  private boxes: DrawnBox[] = [];
  private links: { link: PlacedLink; path: SVGElement }[] = [];
  private canvas: HTMLCanvasElement | undefined;

  constructor(private readonly onReveal: (id: string, model?: string) => void) {}

  /** The lineage's box: drawn once it is in the page and has a width, and again whenever that width changes. */
  render(lineage: Lineage, segmentColumn?: string): HTMLElement {
    if (lineage !== this.lineage) {
      this.reach = new DagReach(lineage);
      // A path lit in the last run's drawing (under the pointer, or focused) is not one of this run's; a column asked
      // for before this run's lineage came is.
      this.lit = new Map();
      if (!this.pinned?.scroll) this.pinned = undefined;
    }
    this.lineage = lineage;
    this.observer?.disconnect();
    this.width = 0;
    this.recentWidths = [];
    this.drawing = undefined;
    const wrapper = element('div', { class: 'lineage' });
    const toolbar = element('div', { class: 'lineage-tools', role: 'toolbar', 'aria-label': 'Lineage zoom' });
    const level = element('span', { class: 'lineage-zoom', id: 'lineage-zoom' });
    this.tools = {
      zoomOut: toolButton('−', 'Zoom out', () => this.zoomTo(this.zoom / ZOOM_STEP)),
      zoomIn: toolButton('+', 'Zoom in', () => this.zoomTo(this.zoom * ZOOM_STEP)),
      fit: toolButton('Fit', 'Fit to width', () => this.zoomTo(1)),
      level,
    };
    this.tools.zoomOut.id = 'lineage-zoom-out';
    this.tools.zoomIn.id = 'lineage-zoom-in';
    this.tools.fit.id = 'lineage-zoom-fit';
    toolbar.append(level, this.tools.zoomOut, this.tools.zoomIn, this.tools.fit);
    const viewport = element('div', { class: 'lineage-viewport', id: 'lineage-viewport' });
    this.viewport = viewport;
    this.panAndWheel(viewport);
    // A click in the drawing lets go of a column the host asked to show.
    viewport.addEventListener('click', () => {
      if (this.pinned && !this.pinned.scroll) this.hovered(new Map());
    });
    wrapper.append(toolbar, viewport);
    // The segmentation's CASE: the one on the way to the grid's segment column (a region may come from a CASE too).
    const thresholds = segmentation(new LineageGraph(lineage), segmentColumn);
    if (thresholds) wrapper.append(element('p', { class: 'case-summary', id: 'case-summary' }, caseLabel(thresholds)));
    this.observer = new ResizeObserver(() => this.resized(viewport));
    this.observer.observe(viewport);
    return wrapper;
  }

  private resized(viewport: HTMLElement): void {
    if (viewport !== this.viewport) return;
    const width = Math.floor(viewport.clientWidth);
    if (width <= 0 || width === this.width) return;
    const recent = this.recentWidths;
    // Back to the width before last, by a scrollbar's breadth, and wider: a page scrollbar flipping; keep the narrower.
    if (
      recent.length >= 2 &&
      width === recent[recent.length - 2] &&
      width > this.width &&
      width - this.width <= SCROLLBAR_FLIP
    )
      return;
    // The first drawing keeps the zoom (the panel re-renders on every change); a resize fits the width again.
    if (this.width > 0) this.zoom = 1;
    this.width = width;
    this.recentWidths = [...recent.slice(-2), width];
    this.draw();
  }

  /** Draws the lineage anew for the current width, zoom and expanded models, keeping focus and highlight. */
  private draw(): void {
    const viewport = this.viewport;
    if (!this.lineage || !viewport || this.width <= 0) return;
    const focused = viewport.contains(document.activeElement)
      ? document.activeElement?.getAttribute('data-focus')
      : null;
    const pinned = this.pinned?.scroll ? this.pinned : undefined;
    if (pinned) {
      if (pinned.model !== EXPLORED) this.expandTo(pinned.model);
      this.lit = this.reach?.from(pinned.model, [pinned.id]) ?? new Map();
    }
    const tree = modelTree(this.lineage, this.expanded);
    const { metrics, scale } = zoomedMetrics(tree, this.width, this.zoom);
    const placed = layout(tree, metrics);
    const root = svg('svg', {
      id: 'lineage',
      width: placed.width * scale,
      height: placed.height * scale,
      viewBox: `0 0 ${placed.width} ${placed.height}`,
      role: 'group',
      'aria-label': 'Column lineage of the model',
      // What it was drawn for, so that a test can wait for a re-fit or a zoom rather than sleep.
      'data-scale': scale.toFixed(4),
      'data-fitted-width': this.width,
      'data-zoom': this.zoom.toFixed(3),
    });
    this.nodes = [];
    this.edges = [];
    this.boxes = [];
    this.links = [];
    const frames = svg('g', { class: 'frames' });
    const edgeLayer = svg('g', { class: 'edges' });
    const content = svg('g');
    this.drawFrames(placed, frames);
    this.drawTitles(placed, content);
    const positions = this.drawNodes(placed, tree, content);
    this.drawEdges(tree, positions, placed, edgeLayer);
    this.drawBoxes(placed, content);
    this.drawLinks(placed, edgeLayer);
    root.append(frames, edgeLayer, content);
    viewport.replaceChildren(root);
    this.drawing = { layout: placed, scale, svg: root };
    const zoomed = this.zoom > MIN_ZOOM;
    viewport.classList.toggle('zoomed', zoomed);
    if (zoomed) {
      const fit = zoomedMetrics(tree, this.width, 1);
      const fitHeight = layout(tree, fit.metrics).height * fit.scale;
      viewport.style.height = `${Math.ceil(Math.min(placed.height * scale, Math.max(fitHeight, ZOOMED_MIN_HEIGHT)))}px`;
    } else viewport.style.removeProperty('height');
    if (this.tools) {
      this.tools.level.textContent = `${Math.round(scale * 100)}%`;
      this.tools.zoomOut.disabled = this.zoom <= MIN_ZOOM;
      this.tools.zoomIn.disabled = this.zoom >= MAX_ZOOM;
      this.tools.fit.disabled = !zoomed;
    }
    this.applyLit();
    if (pinned) {
      pinned.scroll = false;
      this.drawnColumn(pinned.model, pinned.id)?.scrollIntoView({ block: 'center', inline: 'center' });
    }
    if (focused)
      [...root.querySelectorAll('[data-focus]')]
        .find((candidate) => candidate.getAttribute('data-focus') === focused)
        ?.dispatchEvent(new Event('lineage-focus'));
  }

  /** A width measure for SVG text of this size and weight, in the panel's font. */
  private measure(size: number, weight = 'normal'): (text: string) => number {
    const context = (this.canvas ??= document.createElement('canvas')).getContext('2d');
    const family = this.viewport ? getComputedStyle(this.viewport).fontFamily : 'sans-serif';
    const font = `${weight} ${size}px ${family || 'sans-serif'}`;
    // Without a canvas (never in a browser), a generous guess per character.
    if (!context) return (text) => text.length * size * 0.62;
    return (text) => {
      context.font = font;
      return context.measureText(text).width;
    };
  }

  private focusable(target: Element, key: string): void {
    target.setAttribute('data-focus', key);
    target.addEventListener('lineage-focus', () => (target as HTMLElement | SVGElement).focus());
  }

  private drawFrames(placed: Layout, layer: SVGElement): void {
    const title = this.measure(12, '600');
    for (const frame of placed.frames) {
      const group = svg('g', { class: 'model-frame', 'data-model': frame.model });
      const file = this.upstreamModel(frame.model)?.file;
      group.append(svg('title', {}, `${frame.model}${file ? ` — ${file}` : ''}`));
      group.append(svg('rect', { x: frame.x, y: frame.y, width: frame.width, height: frame.height, rx: 6 }));
      group.append(
        svg(
          'text',
          { x: frame.x + 8, y: frame.y + 18, class: 'model-name' },
          fitText(frame.model, frame.width - 44, title),
        ),
      );
      group.append(this.expandControl(frame.model, true, frame.x + frame.width - 24, frame.y + 5));
      layer.append(group);
    }
  }

  private drawTitles(placed: Layout, layer: SVGElement): void {
    const stage = this.measure(11, '600');
    const relation = this.measure(12);
    const width = placed.metrics.nodeWidth;
    for (const title of placed.stageTitles) {
      const text = title.text === '(final select)' ? 'Output' : title.text;
      const shown = fitText(text.toUpperCase(), width, stage);
      const drawn = svg('text', { x: title.x, y: title.y + 12, class: 'stage' }, shown);
      if (shown !== text.toUpperCase() || title.relation) drawn.append(svg('title', {}, text));
      if (title.relation) this.revealing(drawn, title.relation, title.model, `stage:${title.model ?? ''}:${text}`);
      layer.append(drawn);
    }
    for (const title of placed.groupTitles) {
      const drawn = svg(
        'text',
        {
          x: title.x,
          y: title.y + 13,
          class: 'relation',
          'data-id': title.text,
          ...(title.model ? { 'data-model': title.model } : {}),
        },
        fitText(title.text, width, relation),
      );
      drawn.append(svg('title', {}, title.text));
      this.revealing(drawn, title.text, title.model, `relation:${title.model ?? ''}:${title.text}`);
      layer.append(drawn);
    }
  }

  /** Makes an SVG element a keyboard-reachable button that opens `id` of `model` in the editor. */
  private revealing(target: SVGElement, id: string, model: string | undefined, focusKey: string): void {
    target.setAttribute('tabindex', '0');
    target.setAttribute('role', 'button');
    this.focusable(target, focusKey);
    actLikeButton(target, () => this.onReveal(id, model));
  }

  private drawNodes(placed: Layout, tree: ModelTree, layer: SVGElement): Map<string, { x: number; y: number }> {
    const label = this.measure(12);
    const badge = this.measure(10);
    const width = placed.metrics.nodeWidth;
    const positions = new Map<string, { x: number; y: number }>();
    const facts = new Map<string, { unused: Set<string>; roles: Map<string, Set<string>> }>();
    const walk = (item: ModelTree) => {
      const roles = new Map<string, Set<string>>();
      for (const edge of item.lineage.edges) {
        const role = ROW_ROLES[edge.kind];
        if (role) (roles.get(edge.from) ?? roles.set(edge.from, new Set()).get(edge.from)!).add(role);
      }
      facts.set(item.model ?? EXPLORED, { unused: new Set(item.lineage.unused.map((column) => column.column)), roles });
      for (const upstream of item.upstream) if (upstream.kind === 'expanded') walk(upstream.tree);
    };
    walk(tree);
    for (const { model, node, x, y } of placed.nodes) {
      const { unused, roles } = facts.get(model ?? EXPLORED)!;
      const isUnused = unused.has(node.id);
      const nodeRoles = [...(roles.get(node.id) ?? [])];
      const group = svg('g', {
        class: `node ${node.kind}${isUnused ? ' unused' : ''}`,
        'data-id': node.id,
        ...(model ? { 'data-model': model } : {}),
        transform: `translate(${x},${y})`,
      });
      group.append(svg('title', {}, this.nodeTitle(node, model, isUnused, nodeRoles)));
      group.append(svg('rect', { width, height: NODE_HEIGHT, rx: 4 }));
      // Badges take their room first; when they would leave the name too little, they shrink to initials.
      let badges = nodeRoles.join(' · ');
      if (badges && width - 16 - badge(badges) - 6 < 48) badges = nodeRoles.map((role) => role[0]).join('·');
      const badgeWidth = badges ? badge(badges) + 6 : 0;
      const room = width - 14 - badgeWidth;
      const full = `${node.column}${isUnused ? ' (unused)' : ''}`;
      group.append(
        svg('text', { x: 8, y: 16, class: 'label' }, label(full) <= room ? full : fitText(node.column, room, label)),
      );
      if (badges) group.append(svg('text', { x: width - 6, y: 16, class: 'badge', 'text-anchor': 'end' }, badges));
      this.revealing(group, node.id, model, `node:${model ?? ''}:${node.id}`);
      const light = () => this.hovered(this.reach?.from(model ?? EXPLORED, [node.id]) ?? new Map());
      group.addEventListener('mouseenter', light);
      group.addEventListener('focus', light);
      group.addEventListener('mouseleave', () => this.hovered(new Map()));
      group.addEventListener('blur', () => this.hovered(new Map()));
      layer.append(group);
      this.nodes.push({ model: model ?? EXPLORED, id: node.id, element: group });
      positions.set(keyOf(model, node.id), { x, y });
    }
    return positions;
  }

  private nodeTitle(node: LineageNode, model: string | undefined, unused: boolean, roles: string[]): string {
    return [
      `${model ? `${model}: ` : ''}${node.id}`,
      unused ? ' (unused: never reaches the output)' : '',
      roles.length ? ` — ${roles.join(', ')} key` : '',
      node.span ? ` — line ${node.span.line}` : '',
    ].join('');
  }

  private drawEdges(
    tree: ModelTree,
    positions: Map<string, { x: number; y: number }>,
    placed: Layout,
    layer: SVGElement,
  ): void {
    const { nodeWidth, columnGap } = placed.metrics;
    const labelMeasure = this.measure(10);
    const walk = (item: ModelTree) => {
      for (const edge of item.lineage.edges) {
        if (!VALUE_KINDS.has(edge.kind)) continue;
        const from = positions.get(keyOf(item.model, edge.from));
        const to = positions.get(keyOf(item.model, edge.to));
        if (!from || !to) continue;
        const [x1, y1, x2, y2] = [from.x + nodeWidth, from.y + NODE_HEIGHT / 2, to.x, to.y + NODE_HEIGHT / 2];
        const path = this.curve(x1, y1, x2, y2, `edge ${edge.kind}`);
        path.setAttribute('data-from', edge.from);
        path.setAttribute('data-to', edge.to);
        if (item.model) path.setAttribute('data-model', item.model);
        path.append(
          svg('title', {}, `${item.model ? `${item.model}: ` : ''}${edge.from} → ${edge.to}: ${edgeLabel(edge)}`),
        );
        layer.append(path);
        let label: SVGElement | undefined;
        // A label cut to a stub says nothing the edge's colour does not: only labels that keep three letters show.
        const cut = edge.kind === 'passthrough' ? '' : fitText(shortLabel(edge), columnGap - 10, labelMeasure);
        const text = [...cut].length >= 4 || cut === shortLabel(edge) ? cut : '';
        if (text) {
          label = svg('text', { x: x2 - 5, y: y2 - 4, class: `edge-label ${edge.kind}`, 'text-anchor': 'end' }, text);
          label.append(svg('title', {}, edgeLabel(edge)));
          layer.append(label);
        }
        this.edges.push({ model: item.model ?? EXPLORED, edge, path, label });
      }
      for (const upstream of item.upstream) if (upstream.kind === 'expanded') walk(upstream.tree);
    };
    walk(tree);
  }

  private curve(x1: number, y1: number, x2: number, y2: number, className: string): SVGElement {
    const bend = Math.max(16, (x2 - x1) / 2);
    return svg('path', { d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`, class: className });
  }

  private upstreamModel(model: string) {
    return this.lineage?.upstreamModels?.find((candidate) => candidate.model === model);
  }

  /**
   * The output of an upstream model that a downstream source column named `column` is: by id, as dagLineage finds it
   * (a name selected twice is `name:1` the second time, in SQLite's table and in the id alike).
   */
  private outputOf(model: string, column: string): LineageNode | undefined {
    return this.upstreamModel(model)?.lineage?.nodes.find(
      (node) => node.kind === 'output' && lower(node.id) === lower(column),
    );
  }

  /** A collapsed upstream model: its name, the columns used, an expand button; a warning mark when it has no lineage. */
  private drawBoxes(placed: Layout, layer: SVGElement): void {
    const width = placed.metrics.nodeWidth;
    const name = this.measure(11, '600');
    const line = this.measure(11);
    for (const box of placed.boxes) {
      const group = svg('g', {
        class: `model-box${box.error ? ' broken' : ''}`,
        'data-model': box.model,
        transform: `translate(${box.x},${box.y})`,
      });
      const file = this.upstreamModel(box.model)?.file;
      group.append(
        svg(
          'title',
          {},
          box.error
            ? `${box.model}: ${box.error}`
            : `${box.model} (${box.relation})${file ? ` — ${file}` : ''}\ncolumns used: ${box.columns.join(', ')}`,
        ),
      );
      group.append(svg('rect', { width, height: box.height, rx: 6 }));
      // The name takes all the header but the expand button's (or the warning mark's) corner.
      group.append(svg('text', { x: 7, y: 16, class: 'model-name' }, fitText(box.model, width - 30, name)));
      if (box.error) {
        const warning = svg('text', { x: width - 6, y: 17, class: 'warning-mark', 'text-anchor': 'end' }, '⚠');
        warning.append(svg('title', {}, `${box.model}: ${box.error}`));
        group.append(warning);
      } else group.append(this.expandControl(box.model, false, width - 21, 3));
      const lines: DrawnBox['lines'] = [];
      box.columns.forEach((column, index) => {
        const row = svg('g', { class: 'box-line', 'data-column': column });
        row.append(svg('text', { x: 8, y: BOX_HEADER + index * BOX_ROW + 16 }, fitText(column, width - 16, line)));
        const output = box.error ? undefined : this.outputOf(box.model, column);
        row.append(svg('title', {}, `${box.model}.${column}${output?.span ? ` — line ${output.span.line}` : ''}`));
        if (output) {
          this.revealing(row, output.id, box.model, `box-line:${box.model}:${column}`);
          const light = () => this.hovered(this.reach?.from(box.model, [output.id]) ?? new Map());
          row.addEventListener('mouseenter', light);
          row.addEventListener('focus', light);
          row.addEventListener('mouseleave', () => this.hovered(new Map()));
          row.addEventListener('blur', () => this.hovered(new Map()));
        }
        lines.push({ column, element: row });
        group.append(row);
      });
      layer.append(group);
      this.boxes.push({ box, element: group, lines });
    }
  }

  /** The expand (or collapse) control of an upstream model: an HTML button, so it is a real one for keyboards. */
  private expandControl(model: string, expanded: boolean, x: number, y: number): SVGElement {
    const holder = svg('foreignObject', { x, y, width: 18, height: 18, class: 'expand-holder' });
    const control = toolButton(
      expanded ? '−' : '+',
      `${expanded ? 'Collapse' : 'Expand'} ${model}`,
      () => {
        if (expanded) this.expanded.delete(model);
        else this.expanded.add(model);
        // The control is drawn anew: focus moves to its counterpart (the box's expand, the frame's collapse).
        this.draw();
      },
      'lineage-button expand',
    );
    control.setAttribute('aria-expanded', String(expanded));
    control.setAttribute('data-model', model);
    this.focusable(control, `expand:${model}`);
    holder.append(control);
    return holder;
  }

  private drawLinks(placed: Layout, layer: SVGElement): void {
    for (const link of placed.links) {
      const path = this.curve(link.from.x, link.from.y, link.to.x, link.to.y, 'edge link');
      path.setAttribute('data-from-model', link.from.model ?? EXPLORED);
      path.setAttribute('data-to', link.to.id);
      path.append(svg('title', {}, `${link.from.model}.${link.from.id} is ${link.to.id}`));
      layer.append(path);
      this.links.push({ link, path });
    }
  }

  /** Lights up the paths of output columns (by name) across models; an empty list clears the highlight. */
  highlight(columns: string[]): void {
    this.hovered(columns.length && this.reach ? this.reach.fromOutputs(columns) : new Map());
  }

  /** A hover (or focus) lights its own path: the column the host asked to show is no longer held. */
  private hovered(lit: Lit): void {
    this.pinned = undefined;
    this.light(lit);
  }

  /**
   * Lights a column's path (of the explored model, or of the upstream `model`) until the next hover or click, and
   * scrolls it into view once drawn; the models on the way to an upstream model's column are expanded to show it.
   */
  focusColumn(id: string, model?: string): void {
    this.pinned = { model: model ?? EXPLORED, id, scroll: true };
    this.draw();
  }

  /** Expands the upstream models on the way from the explored model to `model`, and `model` itself. */
  private expandTo(model: string): void {
    if (!this.lineage) return;
    const every = new Set((this.lineage.upstreamModels ?? []).map((candidate) => candidate.model));
    const trail = (tree: ModelTree, before: string[]): string[] | undefined => {
      for (const item of tree.upstream) {
        if (item.model === model) return [...before, model];
        const found = item.kind === 'expanded' ? trail(item.tree, [...before, item.model]) : undefined;
        if (found) return found;
      }
      return undefined;
    };
    for (const name of trail(modelTree(this.lineage, every), []) ?? []) this.expanded.add(name);
  }

  /** The drawn element of a column: its node, else its line in its model's box, else that box. */
  private drawnColumn(model: string, id: string): Element | undefined {
    const node = this.nodes.find((drawn) => drawn.model === model && drawn.id === id);
    if (node) return node.element;
    const box = this.boxes.find((drawn) => drawn.box.model === model);
    const line = box?.lines.find((candidate) => this.outputOf(model, candidate.column)?.id === id);
    return line?.element ?? box?.element;
  }

  private light(lit: Lit): void {
    this.lit = lit;
    this.applyLit();
  }

  private applyLit(): void {
    const lit = this.lit;
    const any = lit.size > 0;
    const has = (model: string | undefined, id: string) => lit.get(model ?? EXPLORED)?.has(id) ?? false;
    const toggle = (target: Element, on: boolean) => {
      target.classList.toggle('highlighted', on);
      target.classList.toggle('dimmed', any && !on);
    };
    for (const { model, id, element: drawn } of this.nodes) toggle(drawn, has(model, id));
    for (const { model, edge, path, label } of this.edges) {
      const on = has(model, edge.from) && has(model, edge.to);
      toggle(path, on);
      label?.classList.toggle('dimmed', any && !on);
    }
    const lineLit = (model: string, column: string) => {
      const output = this.outputOf(model, column);
      return output ? has(model, output.id) : lit.has(model);
    };
    for (const { box, element: drawn, lines } of this.boxes) {
      toggle(drawn, lit.has(box.model));
      for (const line of lines) line.element.classList.toggle('highlighted', lineLit(box.model, line.column));
    }
    const boxModels = new Set(this.boxes.map(({ box }) => box.model));
    for (const { link, path } of this.links) {
      const model = link.from.model!;
      const from =
        boxModels.has(model) && !has(model, link.from.id) ? lineLit(model, link.from.id) : has(model, link.from.id);
      toggle(path, from && has(link.to.model, link.to.id));
    }
  }

  /** Zooms to `zoom` (1 fits the width), keeping the point at `anchor` (in the viewport) where it is. */
  private zoomTo(zoom: number, anchor?: { x: number; y: number }): void {
    const viewport = this.viewport;
    const before = this.drawing?.svg.getBoundingClientRect();
    const next = clampZoom(zoom);
    if (!viewport || !before || next === this.zoom) return;
    const at = anchor ?? { x: viewport.clientWidth / 2, y: Math.min(viewport.clientHeight, before.height) / 2 };
    const fx = (viewport.scrollLeft + at.x) / Math.max(1, before.width);
    const fy = (viewport.scrollTop + at.y) / Math.max(1, before.height);
    this.zoom = next;
    this.draw();
    const after = this.drawing!.svg.getBoundingClientRect();
    if (next === MIN_ZOOM) {
      viewport.scrollLeft = 0;
      viewport.scrollTop = 0;
      return;
    }
    viewport.scrollLeft = fx * after.width - at.x;
    viewport.scrollTop = fy * after.height - at.y;
  }

  /** Ctrl (or ⌘) + wheel zooms about the pointer; dragging pans while zoomed in. */
  private panAndWheel(viewport: HTMLElement): void {
    viewport.addEventListener(
      'wheel',
      (event) => {
        if (!event.ctrlKey && !event.metaKey) return;
        event.preventDefault();
        const box = viewport.getBoundingClientRect();
        this.zoomTo(this.zoom * Math.exp(-event.deltaY * 0.002), {
          x: event.clientX - box.left,
          y: event.clientY - box.top,
        });
      },
      { passive: false },
    );
    let drag: { x: number; y: number; left: number; top: number; pointer: number; moved: boolean } | undefined;
    let swallowClick = false;
    viewport.addEventListener('pointerdown', (event) => {
      if (this.zoom <= MIN_ZOOM || event.button !== 0 || (event.target as Element).closest('button')) return;
      drag = {
        x: event.clientX,
        y: event.clientY,
        left: viewport.scrollLeft,
        top: viewport.scrollTop,
        pointer: event.pointerId,
        moved: false,
      };
    });
    viewport.addEventListener('pointermove', (event) => {
      if (!drag || event.pointerId !== drag.pointer) return;
      const [dx, dy] = [event.clientX - drag.x, event.clientY - drag.y];
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!drag.moved) {
        drag.moved = true;
        // Captured only once it is a drag, so a plain click still reaches the node under it.
        viewport.setPointerCapture(event.pointerId);
        viewport.classList.add('panning');
      }
      viewport.scrollLeft = drag.left - dx;
      viewport.scrollTop = drag.top - dy;
    });
    const end = (event: PointerEvent) => {
      if (!drag || event.pointerId !== drag.pointer) return;
      swallowClick = drag.moved;
      drag = undefined;
      viewport.classList.remove('panning');
    };
    viewport.addEventListener('pointerup', end);
    viewport.addEventListener('pointercancel', end);
    // The click that ends a drag is not a click on the node it ends over.
    viewport.addEventListener(
      'click',
      (event) => {
        if (!swallowClick) return;
        swallowClick = false;
        event.stopPropagation();
        event.preventDefault();
      },
      true,
    );
  }
}
