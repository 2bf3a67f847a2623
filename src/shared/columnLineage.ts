// What the editor says about a column of the model: which lineage node a place in a file is (the last run's spans,
// indexed once per run), and that column's lineage for people — its paths across models, the kinds of their steps,
// the CASE it comes out of, what it feeds and the rows it shapes. No vscode: the host renders it, unit tests read it.
import { nodePaths, pathKinds, pathText, upstreamModelOf } from './dagLineage';
import { LineageGraph, upstream } from './lineageGraph';
import {
  FINAL_SELECT,
  VALUE_KINDS,
  type CaseDetail,
  type EdgeKind,
  type Lineage,
  type LineageNode,
  type ValueKind,
} from './lineageModel';
import type { FileLocation } from './problem';

/** A lineage node: of the explored model (`model` undefined), or of the upstream model named `model`. */
export interface ColumnTarget {
  model?: string;
  id: string;
}

interface Entry extends ColumnTarget {
  column: string;
  span: FileLocation;
  /** Among spans of one extent, the column defined there wins over the ones it reads. */
  rank: number;
}

const RANK: Record<LineageNode['kind'], number> = { output: 0, cte: 1, subquery: 2, source: 3 };

/** An identifier as SQL writes it, unquoted and lower-cased: `"Total_Spent"`, `[total_spent]` → `total_spent`. */
export function identifierKey(word: string): string {
  const quoted = /^(?:"(.*)"|`(.*)`|\[(.*)\])$/s.exec(word);
  return (quoted ? (quoted[1] ?? quoted[2] ?? quoted[3]) : word).toLowerCase();
}

/** Line and column (1-based) as one comparable number (columns stay below a million). */
const at = (line: number, column: number) => line * 1_000_000 + column;

/** Every place the last run's lineage names a column (nodes, references, steps), by file: built once per run. */
export class ColumnSpanIndex {
  private readonly byFile = new Map<string, Entry[]>();

  constructor(root: Lineage) {
    this.add(undefined, root);
    for (const model of root.upstreamModels ?? []) if (model.lineage) this.add(model.model, model.lineage);
  }

  private add(model: string | undefined, lineage: Pick<Lineage, 'nodes' | 'edges'>): void {
    const graph = new LineageGraph(lineage);
    const entry = (id: string, span: FileLocation | undefined) => {
      const node = graph.node(id);
      if (!node || !span) return;
      const list = this.byFile.get(span.file) ?? this.byFile.set(span.file, []).get(span.file)!;
      list.push({ model, id, column: identifierKey(node.column), span, rank: RANK[node.kind] });
    };
    for (const node of lineage.nodes) entry(node.id, node.span);
    // A step's span is its whole expression (a CASE reads its column on each WHEN): the name picks the column.
    for (const edge of lineage.edges) {
      entry(edge.from, edge.refSpan);
      entry(edge.from, edge.span);
    }
  }

  /** Whether the run's lineage names anything in `file`. */
  covers(file: string): boolean {
    return this.byFile.has(file);
  }

  /**
   * The column `word` names where it starts, at `line`/`column` (1-based) of `file`: the narrowest span there that
   * names a column of that name, the defined column before the ones read when spans tie.
   */
  columnAt(file: string, line: number, column: number, word: string): ColumnTarget | undefined {
    const key = identifierKey(word);
    const here = at(line, column);
    let best: { entry: Entry; extent: number } | undefined;
    for (const entry of this.byFile.get(file) ?? []) {
      const { span } = entry;
      const start = at(span.line, span.column);
      const end = at(span.endLine ?? span.line, span.endColumn ?? span.column);
      if (entry.column !== key || here < start || here >= end) continue;
      const extent = end - start;
      if (!best || extent < best.extent || (extent === best.extent && entry.rank < best.entry.rank))
        best = { entry, extent };
    }
    if (!best) return undefined;
    const { model, id } = best.entry;
    return model === undefined ? { id } : { model, id };
  }
}

/** A column's lineage, for people. */
export interface ColumnDescription {
  /** The column's name. */
  column: string;
  /** What it is: "output column of customer_segments", "column of CTE base", "column of staging.stg_customers". */
  role: string;
  /** Its paths up through the models it stands on (`a ← b ← c`), each with its steps' kinds, upstream first. */
  paths: { text: string; kinds: ValueKind[] }[];
  /** Paths not listed (more than MAX_PATHS). */
  morePaths: number;
  /** The CASEs on the way to it in its model (the segment thresholds), by the column each makes. */
  cases: { column: string; detail: CaseDetail }[];
  /** The output columns of its model it reaches. */
  feeds: string[];
  /** The rows it shapes: "join key in base", "group key in the final select". */
  shapes: string[];
}

/** Paths a description lists at most (a wide model's column can have hundreds). */
export const MAX_PATHS = 8;

const ROW_ROLES: Partial<Record<EdgeKind, string>> = {
  join_key: 'join key',
  group_key: 'group key',
  filter: 'filter',
  order_key: 'order key',
};

const identifierOf = (relation: string) => relation.slice(relation.lastIndexOf('.') + 1);

/** The lineage of `target` in the last run's lineage `root`, whose explored model is named `modelName`. */
export function describeColumn(root: Lineage, modelName: string, target: ColumnTarget): ColumnDescription | undefined {
  const upstreamModel =
    target.model === undefined ? undefined : root.upstreamModels?.find((model) => model.model === target.model);
  if (target.model !== undefined && !upstreamModel?.lineage) return undefined;
  // An upstream model's lineage continues through the models above it as the explored model's does.
  const lineage: Lineage = upstreamModel?.lineage
    ? { ...upstreamModel.lineage, upstreamModels: root.upstreamModels }
    : root;
  const owner = target.model ?? modelName;
  const graph = new LineageGraph(lineage);
  const node = graph.node(target.id);
  if (!node) return undefined;

  const into = node.kind === 'source' ? upstreamModelOf(lineage, node.relation) : undefined;
  const role = {
    output: `output column of ${owner}`,
    cte: `column of CTE ${node.relation}${target.model ? ` in ${target.model}` : ''}`,
    subquery: `column of a subquery${target.model ? ` in ${target.model}` : ''}`,
    source: into ? `column of model ${into.model} (${node.relation})` : `column of ${node.relation}`,
  }[node.kind];
  const label = {
    output: `${owner}.${node.column}`,
    cte: node.id,
    subquery: node.id,
    source: `${identifierOf(node.relation)}.${node.column}`,
  }[node.kind];
  const found = nodePaths(lineage, node.id, label);
  // A column with nothing upstream (a source no model builds) has only itself for a path: nothing to say.
  const paths = found.filter((path) => path.steps.length > 1);

  const reached = upstream(graph, node.id).reached;
  const cases: ColumnDescription['cases'] = [];
  for (const edge of lineage.edges)
    if (edge.kind === 'case' && edge.case && reached.has(edge.to) && !cases.some((item) => item.column === edge.to))
      cases.push({ column: edge.to, detail: edge.case });

  // Downstream, through value steps, to the model's outputs (each node once: bounded by the graph).
  const feeds: string[] = [];
  const seen = new Set([node.id]);
  for (let frontier = [node.id]; frontier.length > 0;) {
    const next: string[] = [];
    for (const id of frontier)
      for (const edge of graph.edgesFrom(id)) {
        if (!VALUE_KINDS.has(edge.kind) || seen.has(edge.to)) continue;
        seen.add(edge.to);
        const reachedNode = graph.node(edge.to);
        if (reachedNode?.kind === 'output') feeds.push(reachedNode.column);
        next.push(edge.to);
      }
    frontier = next;
  }

  // In the order the model selects them.
  const outputOrder = lineage.nodes.filter((candidate) => candidate.kind === 'output').map((output) => output.column);
  feeds.sort((a, b) => outputOrder.indexOf(a) - outputOrder.indexOf(b));

  const shapes = [
    ...new Set(
      graph.edgesFrom(node.id).flatMap((edge) => {
        const role = ROW_ROLES[edge.kind];
        return role ? [`${role} in ${edge.to === FINAL_SELECT ? 'the final select' : edge.to}`] : [];
      }),
    ),
  ];

  return {
    column: node.column,
    role,
    paths: paths.slice(0, MAX_PATHS).map((path) => ({ text: pathText(path), kinds: pathKinds(path) })),
    morePaths: Math.max(0, paths.length - MAX_PATHS),
    cases,
    feeds,
    shapes,
  };
}

/** A CASE as SQL, one WHEN a line: what its thresholds are. */
export function caseText(detail: CaseDetail): string {
  return [
    `CASE${detail.operand ? ` ${detail.operand}` : ''}`,
    ...detail.whens.map((when) => `  WHEN ${when.when} THEN ${when.then}`),
    ...(detail.else ? [`  ELSE ${detail.else}`] : []),
    'END',
  ].join('\n');
}
