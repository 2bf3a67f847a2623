// The one way to walk a model's lineage: nodes by id, edges in and out, what lies upstream of a column. The engine
// (layout, data checks, the lineage's summary, the drill-down source), the host (reveal) and the webview
// (highlighting) all ask it rather than walking the edges themselves. The walks are functions over the graph, so
// each bundle carries only those it uses (the extension host's stays light).
import type { FileLocation } from './problem';
import { FINAL_SELECT, VALUE_KINDS } from './lineageModel';
import type { CaseDetail, Lineage, LineageEdge, LineageNode, ValueKind } from './lineageModel';

/** A source column, with its table as the model writes it. */
export interface SourceColumn {
  table: string;
  column: string;
}

/** What lies upstream of some columns through value edges. */
export interface Upstream {
  /** Source columns reached, nearest first. */
  sources: string[];
  /** Kinds of the steps on the way, upstream first; the same kind twice in a row reads as one step. */
  kinds: ValueKind[];
  /** Every node reached, the starting ones included. */
  reached: Set<string>;
}

/** The CTE the grid's region and segment come from, and their columns there: what a cell's drill-down lists. */
export interface DrillDownSource {
  cte: string;
  regionColumn: string;
  segmentColumn: string;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class LineageGraph {
  private readonly nodes = new Map<string, LineageNode>();
  private readonly into = new Map<string, LineageEdge[]>();
  private readonly from = new Map<string, LineageEdge[]>();

  constructor(readonly lineage: Pick<Lineage, 'nodes' | 'edges'> & Partial<Pick<Lineage, 'relations'>>) {
    for (const node of lineage.nodes) this.nodes.set(node.id, node);
    for (const edge of lineage.edges) {
      push(this.into, edge.to, edge);
      push(this.from, edge.from, edge);
    }
  }

  node(id: string): LineageNode | undefined {
    return this.nodes.get(id);
  }

  edgesInto(id: string): readonly LineageEdge[] {
    return this.into.get(id) ?? [];
  }

  edgesFrom(id: string): readonly LineageEdge[] {
    return this.from.get(id) ?? [];
  }
}

/** Walks value edges upstream from `ids`, breadth first. */
export function upstream(graph: LineageGraph, ids: string | readonly string[]): Upstream {
  const start = typeof ids === 'string' ? [ids] : [...ids];
  const sources: string[] = [];
  const kindsByDistance: ValueKind[][] = [];
  const reached = new Set(start);
  let frontier = start;
  for (let distance = 0; frontier.length > 0; distance++) {
    const next: string[] = [];
    for (const current of frontier) {
      for (const edge of graph.edgesInto(current)) {
        if (!VALUE_KINDS.has(edge.kind)) continue;
        (kindsByDistance[distance] ??= []).push(edge.kind as ValueKind);
        if (reached.has(edge.from)) continue;
        reached.add(edge.from);
        if (graph.node(edge.from)?.kind === 'source') sources.push(edge.from);
        next.push(edge.from);
      }
    }
    frontier = next;
  }
  const kinds = kindsByDistance
    .reverse()
    .flatMap((atDistance) => [...new Set(atDistance)])
    .filter((kind, index, all) => kind !== all[index - 1]);
  return { sources, kinds, reached };
}

/** Source columns reached from `ids` (themselves included) through value edges. */
function sourceColumns(graph: LineageGraph, ids: readonly string[]): Map<string, SourceColumn> {
  const found = new Map<string, SourceColumn>();
  for (const id of upstream(graph, ids).reached) {
    const node = graph.node(id);
    if (node?.kind === 'source') found.set(id, { table: node.relation, column: node.column });
  }
  return found;
}

/** Source columns the model joins on, once each. */
export function joinKeys(graph: LineageGraph): SourceColumn[] {
  const keys = new Map<string, SourceColumn>();
  for (const edge of graph.lineage.edges) {
    const node = graph.node(edge.from);
    if (edge.kind !== 'join_key' || node?.kind !== 'source') continue;
    keys.set(`${node.relation}\u0000${node.column}`.toLowerCase(), { table: node.relation, column: node.column });
  }
  return [...keys.values()];
}

/** Source columns whose values the model compares (CASE) or computes with (aggregates but COUNT). */
export function numericSources(graph: LineageGraph): SourceColumn[] {
  const uses = graph.lineage.edges.filter(
    // COUNT(x) and COUNT(DISTINCT x) do not care whether x is a number.
    (edge) => edge.kind === 'case' || (edge.kind === 'aggregate' && !/^\s*count\s*\(/i.test(edge.detail ?? '')),
  );
  return [
    ...sourceColumns(
      graph,
      uses.map((edge) => edge.from),
    ).values(),
  ];
}

/**
 * The CASE whose thresholds are the segmentation: the first on the way to `segmentColumn` (a model may cut its
 * regions with a CASE too), else the model's first CASE.
 */
export function segmentation(graph: LineageGraph, segmentColumn?: string): CaseDetail | undefined {
  const cases = graph.lineage.edges.filter((edge) => edge.kind === 'case');
  if (segmentColumn !== undefined) {
    const reached = upstream(graph, segmentColumn).reached;
    const feeding = cases.find((edge) => reached.has(edge.to));
    if (feeding) return feeding.case;
  }
  return cases[0]?.case;
}

/** Where a cell's rows come from: the CTE both the region and the segment output columns pass straight through. */
export function drillDownSource(
  graph: LineageGraph,
  regionColumn: string,
  segmentColumn: string,
): DrillDownSource | undefined {
  const origin = (output: string) =>
    graph
      .edgesInto(output)
      .filter((edge) => edge.kind === 'passthrough')
      .map((edge) => graph.node(edge.from))
      .find((node) => node?.kind === 'cte');
  const region = origin(regionColumn);
  const segment = origin(segmentColumn);
  if (!region || !segment || region.relation !== segment.relation) return undefined;
  return { cte: region.relation, regionColumn: region.column, segmentColumn: segment.column };
}

/** Where a node (a column) or a relation is written in the model file. */
export function spanOf(graph: LineageGraph, id: string): FileLocation | undefined {
  if (id === FINAL_SELECT) return undefined;
  return graph.node(id)?.span ?? graph.lineage.relations?.find((relation) => relation.name === id)?.span;
}
