// Draws the lineage as columns of nodes, left to right: source tables, each CTE in order, then the output columns.
// Value edges are lines labelled by their kind (a CASE by its thresholds); row-shaping roles are badges on nodes.
import { LineageGraph, upstream } from '../src/shared/lineageGraph';
import { FINAL_SELECT, VALUE_KINDS, type Lineage, type LineageEdge } from '../src/shared/lineageModel';
import { element } from './components';

const SVG = 'http://www.w3.org/2000/svg';
const NODE_WIDTH = 196;
const NODE_HEIGHT = 24;
const ROW_GAP = 6;
const COLUMN_GAP = 120;
const GROUP_GAP = 18;
const HEADER = 20;

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
export function caseLabel(edge: LineageEdge): string {
  if (!edge.case) return 'case';
  const unquote = (text: string) => text.replace(/^'(.*)'$/s, '$1');
  const parts = edge.case.whens.map((when) => {
    const threshold = /(>=|>|<=|<|=)\s*(-?[\d.]+)\s*$/.exec(when.when);
    return threshold
      ? `${unquote(when.then)} ${threshold[1].replace('>=', '≥').replace('<=', '≤')} ${threshold[2]}`
      : `${unquote(when.then)} if ${when.when}`;
  });
  if (edge.case.else) parts.push(`else ${unquote(edge.case.else)}`);
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
  if (edge.kind === 'case') return caseLabel(edge);
  return edge.detail ? `${edge.kind}: ${edge.detail}` : edge.kind;
}

/** Short text drawn on the edge; the CASE's thresholds are spelled out under the drawing. */
function shortLabel(edge: LineageEdge): string {
  if (edge.kind === 'aggregate' || edge.kind === 'expression') return functionChain(edge.detail) ?? edge.kind;
  return edge.kind;
}

export class LineageView {
  private nodes = new Map<string, SVGElement>();
  private edges: { edge: LineageEdge; path: SVGElement; label?: SVGElement }[] = [];
  private lineage: Lineage | undefined;
  private graph: LineageGraph | undefined;

  constructor(private readonly onReveal: (id: string) => void) {}

  render(lineage: Lineage): HTMLElement {
    this.lineage = lineage;
    this.graph = new LineageGraph(lineage);
    this.nodes = new Map();
    this.edges = [];
    // Columns: every source table, each CTE or subquery in the order the model defines them, then the outputs.
    const relations = lineage.relations.filter((relation) => relation.kind !== 'final');
    const sources = relations.filter((relation) => relation.kind === 'source');
    const middle = [
      ...new Set(
        lineage.nodes.filter((node) => node.kind === 'cte' || node.kind === 'subquery').map((node) => node.relation),
      ),
    ];
    const stages: { title: string; relations: string[] }[] = [
      { title: 'Sources', relations: sources.map((relation) => relation.name) },
      ...middle.map((relation) => ({ title: relation, relations: [relation] })),
      { title: 'Output', relations: [FINAL_SELECT] },
    ];
    const unused = new Set(lineage.unused.map((column) => column.column));
    const roles = new Map<string, Set<string>>();
    for (const edge of lineage.edges) {
      const role = ROW_ROLES[edge.kind];
      if (role) (roles.get(edge.from) ?? roles.set(edge.from, new Set()).get(edge.from)!).add(role);
    }
    const positions = new Map<string, { x: number; y: number }>();
    const container = svg('g');
    let height = 0;
    stages.forEach((stage, column) => {
      const x = column * (NODE_WIDTH + COLUMN_GAP) + 8;
      let y = 8;
      container.append(
        svg('text', { x, y: y + 12, class: 'stage' }, stage.title === FINAL_SELECT ? 'Output' : stage.title),
      );
      y += HEADER;
      for (const relationName of stage.relations) {
        const members = lineage.nodes.filter((node) =>
          relationName === FINAL_SELECT
            ? node.kind === 'output'
            : node.relation === relationName && node.kind !== 'output',
        );
        if (stage.relations.length > 1 || stage.title === 'Sources') {
          const header = svg(
            'text',
            { x, y: y + 12, class: 'relation', 'data-id': relationName, tabindex: 0, role: 'button' },
            relationName,
          );
          header.addEventListener('click', () => this.onReveal(relationName));
          container.append(header);
          y += HEADER;
        }
        for (const node of members) {
          const group = svg('g', {
            class: `node ${node.kind}${unused.has(node.id) ? ' unused' : ''}`,
            'data-id': node.id,
            tabindex: 0,
            role: 'button',
            transform: `translate(${x},${y})`,
          });
          group.append(
            svg(
              'title',
              {},
              `${node.id}${unused.has(node.id) ? ' (unused: never reaches the output)' : ''}${node.span ? ` — line ${node.span.line}` : ''}`,
            ),
          );
          group.append(svg('rect', { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 4 }));
          const badges = [...(roles.get(node.id) ?? [])];
          group.append(
            svg('text', { x: 8, y: 16, class: 'label' }, `${node.column}${unused.has(node.id) ? ' (unused)' : ''}`),
          );
          if (badges.length)
            group.append(
              svg('text', { x: NODE_WIDTH - 6, y: 16, class: 'badge', 'text-anchor': 'end' }, badges.join(' · ')),
            );
          const reveal = () => this.onReveal(node.id);
          group.addEventListener('click', reveal);
          group.addEventListener('keydown', (event) => {
            if ((event as KeyboardEvent).key === 'Enter') reveal();
          });
          group.addEventListener('mouseenter', () => this.highlightIds(this.pathOf([node.id])));
          group.addEventListener('mouseleave', () => this.highlightIds(new Set()));
          container.append(group);
          this.nodes.set(node.id, group);
          positions.set(node.id, { x, y });
          y += NODE_HEIGHT + ROW_GAP;
        }
        y += GROUP_GAP;
      }
      height = Math.max(height, y);
    });
    const edgeLayer = svg('g', { class: 'edges' });
    for (const edge of lineage.edges) {
      if (!VALUE_KINDS.has(edge.kind)) continue;
      const from = positions.get(edge.from);
      const to = positions.get(edge.to);
      if (!from || !to) continue;
      const x1 = from.x + NODE_WIDTH;
      const y1 = from.y + NODE_HEIGHT / 2;
      const x2 = to.x;
      const y2 = to.y + NODE_HEIGHT / 2;
      const bend = Math.max(40, (x2 - x1) / 2);
      const path = svg('path', {
        d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
        class: `edge ${edge.kind}`,
        'data-from': edge.from,
        'data-to': edge.to,
      });
      path.append(svg('title', {}, `${edge.from} → ${edge.to}: ${edgeLabel(edge)}`));
      edgeLayer.append(path);
      let label: SVGElement | undefined;
      if (edge.kind !== 'passthrough') {
        label = svg(
          'text',
          { x: x2 - 6, y: y2 - 4, class: `edge-label ${edge.kind}`, 'text-anchor': 'end' },
          shortLabel(edge),
        );
        label.append(svg('title', {}, edgeLabel(edge)));
        edgeLayer.append(label);
      }
      this.edges.push({ edge, path, label });
    }
    const width = stages.length * (NODE_WIDTH + COLUMN_GAP);
    const root = svg('svg', {
      id: 'lineage',
      width,
      height: height + 8,
      viewBox: `0 0 ${width} ${height + 8}`,
      role: 'img',
      'aria-label': 'Column lineage of the model',
    });
    root.append(edgeLayer, container);
    const wrapper = element('div', { class: 'lineage' });
    wrapper.append(root);
    const caseEdge = lineage.edges.find((edge) => edge.kind === 'case');
    if (caseEdge) wrapper.append(element('p', { class: 'case-summary', id: 'case-summary' }, caseLabel(caseEdge)));
    return wrapper;
  }

  /** Every node upstream of the given nodes, through value edges. */
  private pathOf(ids: string[]): Set<string> {
    return this.graph ? upstream(this.graph, ids).reached : new Set();
  }

  /** Lights up the paths of output columns (by name); an empty list clears the highlight. */
  highlight(columns: string[]): void {
    const outputs = (this.lineage?.nodes ?? [])
      .filter((node) => node.kind === 'output' && columns.includes(node.column))
      .map((node) => node.id);
    this.highlightIds(outputs.length ? this.pathOf(outputs) : new Set());
  }

  private highlightIds(ids: Set<string>): void {
    const any = ids.size > 0;
    for (const [id, node] of this.nodes) {
      node.classList.toggle('highlighted', ids.has(id));
      node.classList.toggle('dimmed', any && !ids.has(id));
    }
    for (const { edge, path, label } of this.edges) {
      const on = ids.has(edge.from) && ids.has(edge.to);
      path.classList.toggle('highlighted', on);
      path.classList.toggle('dimmed', any && !on);
      label?.classList.toggle('dimmed', any && !on);
    }
  }
}
