// Where the lineage drawing puts things, as plain numbers: no DOM, so the unit tests run it in Node. A model's lineage
// reads left to right — the upstream models its sources are (a collapsed box each, or expanded into their own
// stages), its source tables, its CTEs in layers (a CTE one column right of those it reads), its output columns —
// and the whole compacts (narrower stages, smaller gaps), then scales, to fit the width it is given.
import { upstreamModelOf } from '../src/shared/dagLineage';
import { FINAL_SELECT, type Lineage, type LineageNode } from '../src/shared/lineageModel';

type ModelLineage = Omit<Lineage, 'upstreamModels'>;

/** One group of a stage: a relation's columns. */
export interface StageGroup {
  relation: string;
  /** Whether the group has its own header (a stage of one CTE is titled by it instead). */
  titled: boolean;
  nodes: LineageNode[];
}

/** One column of the drawing. */
export interface Stage {
  title: string;
  /** The relation the title names, when the stage is one CTE: the title then opens it. */
  relation?: string;
  groups: StageGroup[];
}

/** A model in the drawing: its own stages, and the upstream models its sources are. */
export interface ModelTree {
  /** Undefined for the explored model. */
  model?: string;
  lineage: ModelLineage;
  stages: Stage[];
  upstream: UpstreamTree[];
}

/** An upstream model read by a source relation of the model to its right. */
export type UpstreamTree =
  | {
      kind: 'box';
      model: string;
      /** The relation the model to the right reads it as. */
      relation: string;
      /** The columns the model to the right uses, as it names them. */
      columns: string[];
      /** Why its lineage is missing: it cannot be expanded. */
      error?: string;
    }
  | { kind: 'expanded'; model: string; relation: string; columns: string[]; tree: ModelTree };

/** Upstream models nested deeper than this stay collapsed (a DAG is never this deep; the bound is for bad input). */
const MAX_DEPTH = 32;

const lower = (text: string) => text.toLowerCase();

/**
 * The stages of one model: its sources, its CTEs and subqueries in layers, its outputs. A CTE's layer is one more
 * than the deepest of the CTEs it reads, so CTEs that read only sources share the first column.
 */
export function stagesOf(lineage: ModelLineage): Stage[] {
  const sources = lineage.relations.filter((relation) => relation.kind === 'source').map((relation) => relation.name);
  const middle = [
    ...new Set(
      lineage.nodes.filter((node) => node.kind === 'cte' || node.kind === 'subquery').map((node) => node.relation),
    ),
  ];
  const relationOf = new Map(lineage.nodes.map((node) => [node.id, node.relation]));
  const inMiddle = new Set(middle);
  const reads = new Map<string, Set<string>>(middle.map((relation) => [relation, new Set()]));
  for (const edge of lineage.edges) {
    const from = relationOf.get(edge.from);
    // A value edge goes to a column (its relation is the node's); a row-shaping one names the relation itself.
    const to = relationOf.get(edge.to) ?? edge.to;
    if (from && from !== to && inMiddle.has(from) && inMiddle.has(to)) reads.get(to)!.add(from);
  }
  const layer = new Map<string, number>(middle.map((relation) => [relation, 1]));
  // Longest path by relaxation, at most one pass per relation: a cycle (bad input) cannot loop.
  for (let pass = 0; pass < middle.length; pass++) {
    let changed = false;
    for (const relation of middle) {
      const deepest = Math.max(0, ...[...reads.get(relation)!].map((read) => layer.get(read)!));
      if (deepest + 1 > layer.get(relation)! && deepest + 1 <= middle.length) {
        layer.set(relation, deepest + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const nodesOf = (relation: string) =>
    lineage.nodes.filter((node) => node.relation === relation && node.kind !== 'output');
  const stages: Stage[] = [
    {
      title: 'Sources',
      groups: sources.map((relation) => ({ relation, titled: true, nodes: nodesOf(relation) })),
    },
  ];
  const layers = Math.max(0, ...layer.values());
  for (let depth = 1; depth <= layers; depth++) {
    const relations = middle.filter((relation) => layer.get(relation) === depth);
    if (relations.length === 0) continue;
    const single = relations.length === 1;
    stages.push({
      title: single ? relations[0] : 'CTEs',
      relation: single ? relations[0] : undefined,
      groups: relations.map((relation) => ({ relation, titled: !single, nodes: nodesOf(relation) })),
    });
  }
  stages.push({
    title: 'Output',
    groups: [{ relation: FINAL_SELECT, titled: false, nodes: lineage.nodes.filter((node) => node.kind === 'output') }],
  });
  return stages;
}

/**
 * What to draw for the explored model: its stages and, to the left of its sources, each upstream model one of its
 * sources is — collapsed, or (named in `expanded`, with a lineage) with its own stages and upstream models likewise.
 */
export function modelTree(root: Lineage, expanded: ReadonlySet<string>): ModelTree {
  const build = (lineage: ModelLineage, model: string | undefined, path: string[]): ModelTree => {
    const upstream: UpstreamTree[] = [];
    for (const relation of lineage.relations.filter((candidate) => candidate.kind === 'source')) {
      const found = upstreamModelOf(root, relation.name);
      // A model on the path already would be a cycle; one listed already is read twice (under two names).
      if (!found || path.includes(found.model) || upstream.some((item) => item.model === found.model)) continue;
      const columns = lineage.nodes
        .filter((node) => node.kind === 'source' && node.relation === relation.name)
        .map((node) => node.column);
      const entry = { model: found.model, relation: relation.name, columns };
      if (found.lineage && expanded.has(found.model) && path.length < MAX_DEPTH)
        upstream.push({ kind: 'expanded', ...entry, tree: build(found.lineage, found.model, [...path, found.model]) });
      else
        upstream.push({
          kind: 'box',
          ...entry,
          error: found.lineage ? undefined : (found.error ?? 'Its lineage could not be read.'),
        });
    }
    return { model, lineage, stages: stagesOf(lineage), upstream };
  };
  return build(root, undefined, []);
}

/**
 * How the drawing compacts, in layout units: from roomy stages and gaps, the gaps narrow first (the names matter more
 * than the room between columns), then both, down to compact.
 */
export const ROOMY = { nodeWidth: 196, columnGap: 110 };
const NARROW_GAPS = { nodeWidth: 156, columnGap: 44 };
export const COMPACT = { nodeWidth: 96, columnGap: 32 };

export interface Metrics {
  nodeWidth: number;
  columnGap: number;
}

export const NODE_HEIGHT = 24;
const ROW_GAP = 6;
const GROUP_GAP = 14;
export const HEADER = 20;
export const MARGIN = 8;
/** Space inside an expanded model's frame, and its header (the model's name and the collapse button). */
export const FRAME_PAD = 8;
export const FRAME_HEADER = 28;
/**
 * A collapsed box: its header (name and expand button), then one line per column used at the pitch of the nodes,
 * so that each line faces the source column it is when the box stands level with that source's group.
 */
export const BOX_HEADER = HEADER + 6;
export const BOX_ROW = NODE_HEIGHT + ROW_GAP;
const BOX_PAD = 2;
/** Between upstream models stacked in one column. */
const UPSTREAM_GAP = 12;

/** A node placed, in layout units. */
export interface PlacedNode {
  model?: string;
  node: LineageNode;
  x: number;
  y: number;
}

export interface PlacedText {
  model?: string;
  text: string;
  /** The relation a click on the text opens. */
  relation?: string;
  x: number;
  y: number;
}

export interface PlacedBox {
  model: string;
  /** The model whose source it is (undefined: the explored model). */
  parent?: string;
  relation: string;
  columns: string[];
  error?: string;
  x: number;
  y: number;
  height: number;
}

export interface PlacedFrame {
  model: string;
  parent?: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** An end of a link between models: a node, or a column line of a collapsed box. */
export interface LinkEnd {
  model?: string;
  id: string;
  x: number;
  y: number;
}

/** Where an upstream model's column (an output, or a box's line) becomes a source column of the model reading it. */
export interface PlacedLink {
  from: LinkEnd;
  to: LinkEnd;
}

export interface Layout {
  metrics: Metrics;
  width: number;
  height: number;
  stageTitles: PlacedText[];
  groupTitles: PlacedText[];
  nodes: PlacedNode[];
  boxes: PlacedBox[];
  frames: PlacedFrame[];
  links: PlacedLink[];
}

const boxHeight = (columns: number) => BOX_HEADER + columns * BOX_ROW + BOX_PAD;

/** The width a model takes: its upstream models' column, then its stages. Expanded models add their frame. */
function treeWidth(tree: ModelTree, metrics: Metrics): number {
  const upstream = Math.max(
    0,
    ...tree.upstream.map((item) =>
      item.kind === 'box' ? metrics.nodeWidth : treeWidth(item.tree, metrics) + 2 * FRAME_PAD,
    ),
  );
  const stages = tree.stages.length * metrics.nodeWidth + (tree.stages.length - 1) * metrics.columnGap;
  return (upstream ? upstream + metrics.columnGap : 0) + stages;
}

/** The drawing's full width with these metrics, margins included. */
export function layoutWidth(tree: ModelTree, metrics: Metrics): number {
  return treeWidth(tree, metrics) + 2 * MARGIN;
}

/** The metrics `t` of the way from compact (0) to roomy (1), through narrow gaps (½). */
function mix(t: number): Metrics {
  const [from, to, share] = t < 0.5 ? [COMPACT, NARROW_GAPS, t * 2] : [NARROW_GAPS, ROOMY, t * 2 - 1];
  return {
    nodeWidth: from.nodeWidth + share * (to.nodeWidth - from.nodeWidth),
    columnGap: from.columnGap + share * (to.columnGap - from.columnGap),
  };
}

/**
 * The roomiest metrics whose drawing is at most `width` wide (the compact ones if none is), and the scale that
 * then fits it: 1 when it fits as it is, less when even the compact drawing is wider.
 */
export function fitMetrics(tree: ModelTree, width: number): { metrics: Metrics; scale: number } {
  const available = Math.max(1, width);
  if (layoutWidth(tree, ROOMY) <= available) return { metrics: { ...ROOMY }, scale: 1 };
  const compact = layoutWidth(tree, COMPACT);
  if (compact >= available) return { metrics: { ...COMPACT }, scale: available / compact };
  // The width grows with t: bisect for the roomiest that fits (40 steps is far below a pixel).
  let low = 0;
  let high = 1;
  for (let step = 0; step < 40; step++) {
    const middle = (low + high) / 2;
    if (layoutWidth(tree, mix(middle)) <= available) low = middle;
    else high = middle;
  }
  return { metrics: mix(low), scale: 1 };
}

/** Zoom is kept between these (1 is fit to width). */
export const MIN_ZOOM = 1;
export const MAX_ZOOM = 8;

export function clampZoom(zoom: number): number {
  return Number.isFinite(zoom) ? Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom)) : MIN_ZOOM;
}

/**
 * The metrics and the scale for a zoom level, in a box `width` wide. Zoom 1 fits the width; zooming in first gives
 * the stages back their room (as if the box were `zoom` times wider), then magnifies. The scale never exceeds the
 * zoom, so zoom 1 is never magnified.
 */
export function zoomedMetrics(tree: ModelTree, width: number, zoom: number): { metrics: Metrics; scale: number } {
  const { metrics, scale } = fitMetrics(tree, width * clampZoom(zoom));
  const wide = layoutWidth(tree, metrics);
  return { metrics, scale: Math.min(clampZoom(zoom), Math.max(scale, (width * clampZoom(zoom)) / wide)) };
}

/** Places a model's upstream models, its stages, and the links between them, from (x, y); returns its height. */
function place(tree: ModelTree, metrics: Metrics, x: number, y: number, out: Layout): number {
  const upstreamWidth = Math.max(
    0,
    ...tree.upstream.map((item) =>
      item.kind === 'box' ? metrics.nodeWidth : treeWidth(item.tree, metrics) + 2 * FRAME_PAD,
    ),
  );
  const stagesX = x + (upstreamWidth ? upstreamWidth + metrics.columnGap : 0);
  const sourceNodes = new Map<string, PlacedNode>();
  let height = 0;
  const groupTops = new Map<string, number>();
  tree.stages.forEach((stage, index) => {
    const stageX = stagesX + index * (metrics.nodeWidth + metrics.columnGap);
    let top = y;
    out.stageTitles.push({ model: tree.model, text: stage.title, relation: stage.relation, x: stageX, y: top });
    top += HEADER;
    for (const group of stage.groups) {
      groupTops.set(group.relation, top);
      if (group.titled) {
        out.groupTitles.push({ model: tree.model, text: group.relation, relation: group.relation, x: stageX, y: top });
        top += HEADER;
      }
      for (const node of group.nodes) {
        const placed = { model: tree.model, node, x: stageX, y: top };
        out.nodes.push(placed);
        if (node.kind === 'source') sourceNodes.set(`${node.relation}\u0000${lower(node.column)}`, placed);
        top += NODE_HEIGHT + ROW_GAP;
      }
      top += GROUP_GAP;
    }
    height = Math.max(height, top - y);
  });
  // Upstream models, right-aligned against the sources, each level with the source relation it is (if there is room).
  let cursor = y;
  for (const item of tree.upstream) {
    // A box's lines face the nodes of the source group it is: it starts above the group's title by its header's
    // extra height.
    // An expanded model's first output faces them too (below its frame's header and its stage's title).
    const groupTop = groupTops.get(item.relation) ?? y;
    const level = item.kind === 'box' ? groupTop + HEADER - BOX_HEADER : groupTop - FRAME_HEADER;
    const top = Math.max(cursor, level);
    const sourceOf = (column: string) => sourceNodes.get(`${item.relation}\u0000${lower(column)}`);
    let itemHeight: number;
    if (item.kind === 'box') {
      const boxX = x + upstreamWidth - metrics.nodeWidth;
      itemHeight = boxHeight(item.columns.length);
      out.boxes.push({
        model: item.model,
        parent: tree.model,
        relation: item.relation,
        columns: item.columns,
        error: item.error,
        x: boxX,
        y: top,
        height: itemHeight,
      });
      item.columns.forEach((column, line) => {
        const target = sourceOf(column);
        if (!target) return;
        out.links.push({
          from: {
            model: item.model,
            // A box's line is named by the column; the view finds the upstream model's output of that name.
            id: column,
            x: boxX + metrics.nodeWidth,
            y: top + BOX_HEADER + line * BOX_ROW + NODE_HEIGHT / 2,
          },
          to: { model: tree.model, id: target.node.id, x: target.x, y: target.y + NODE_HEIGHT / 2 },
        });
      });
    } else {
      const innerWidth = treeWidth(item.tree, metrics);
      const frameX = x + upstreamWidth - innerWidth - 2 * FRAME_PAD;
      const first = out.nodes.length;
      const inner = place(item.tree, metrics, frameX + FRAME_PAD, top + FRAME_HEADER, out);
      itemHeight = FRAME_HEADER + inner + FRAME_PAD;
      out.frames.push({
        model: item.model,
        parent: tree.model,
        x: frameX,
        y: top,
        width: innerWidth + 2 * FRAME_PAD,
        height: itemHeight,
      });
      const outputs = out.nodes
        .slice(first)
        .filter((placed) => placed.model === item.model && placed.node.kind === 'output');
      for (const column of item.columns) {
        // The output a source column is, by id as dagLineage finds it (`name:1` for a name selected twice).
        const output = outputs.find((placed) => lower(placed.node.id) === lower(column));
        const target = sourceOf(column);
        if (!output || !target) continue;
        out.links.push({
          from: {
            model: item.model,
            id: output.node.id,
            x: output.x + metrics.nodeWidth,
            y: output.y + NODE_HEIGHT / 2,
          },
          to: { model: tree.model, id: target.node.id, x: target.x, y: target.y + NODE_HEIGHT / 2 },
        });
      }
    }
    cursor = top + itemHeight + UPSTREAM_GAP;
  }
  return Math.max(height, cursor - UPSTREAM_GAP - y);
}

/** The whole drawing with these metrics, in layout units (the view scales it). */
export function layout(tree: ModelTree, metrics: Metrics): Layout {
  const out: Layout = {
    metrics,
    width: layoutWidth(tree, metrics),
    height: 0,
    stageTitles: [],
    groupTitles: [],
    nodes: [],
    boxes: [],
    frames: [],
    links: [],
  };
  out.height = place(tree, metrics, MARGIN, MARGIN, out) + 2 * MARGIN;
  return out;
}

/**
 * `text` cut to fit `width` as `measure` measures it, ending in an ellipsis when cut; empty when not even the first
 * character and the ellipsis fit.
 */
export function fitText(text: string, width: number, measure: (text: string) => number): string {
  if (measure(text) <= width) return text;
  const characters = [...text];
  let low = 0;
  let high = characters.length - 1;
  // The longest prefix whose text and ellipsis fit.
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (measure(characters.slice(0, middle).join('') + '…') <= width) low = middle;
    else high = middle - 1;
  }
  return low === 0 ? '' : characters.slice(0, low).join('') + '…';
}
