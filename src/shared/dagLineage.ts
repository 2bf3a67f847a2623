// Lineage across the dbt project's DAG: a source column of one model that is another model's output continues into
// that model's lineage, down to seeds and sources. The one walk the CLI's paths, the panel's highlighting and the
// editor's hover share.
import { LineageGraph } from './lineageGraph';
import { VALUE_KINDS } from './lineageModel';
import type { Lineage, LineageNode, UpstreamModelLineage, ValueKind } from './lineageModel';
import type { FileLocation } from './problem';

/** One column on a path across models. */
export interface DagStep {
  /** The model the column belongs to: undefined for the explored model, else an upstream model's name. */
  model?: string;
  /** The node's id in that model's lineage (an output column's name, or `schema.table.column` for a source). */
  id: string;
  /** For people: `model.column`, or `table.column` for a seed or source no model builds. */
  label: string;
  /** Kinds of the steps from the next (upstream) column on the path to this one, upstream first. */
  kinds: ValueKind[];
  span?: FileLocation;
}

export interface DagPath {
  /** From the explored model's output column up to a seed, a source, or the depth limit. */
  steps: DagStep[];
  /** The depth limit stopped the path before its end. */
  truncated: boolean;
}

/** Paths per output column at most: a wide model must not make the walk explode. */
const MAX_PATHS = 500;

const lower = (name: string) => name.toLowerCase();

/** The last part of a dotted relation name (`main.stg_orders` → `stg_orders`). */
function identifierOf(relation: string): string {
  return relation.slice(relation.lastIndexOf('.') + 1);
}

/** The upstream model that a relation (as a source column's node names it) is, if any. */
export function upstreamModelOf(lineage: Lineage, relation: string): UpstreamModelLineage | undefined {
  const models = lineage.upstreamModels ?? [];
  const exact = models.find((model) => lower(model.relation) === lower(relation));
  if (exact) return exact;
  // A relation written without its schema: the model of that identifier, when only one has it.
  if (relation.includes('.')) return undefined;
  const byIdentifier = models.filter((model) => lower(identifierOf(model.relation)) === lower(relation));
  return byIdentifier.length === 1 ? byIdentifier[0] : undefined;
}

/** The output column node of a model's lineage named `column`. */
function outputNode(lineage: Pick<Lineage, 'nodes'>, column: string): LineageNode | undefined {
  // By id: a model selecting one name twice builds a table whose second column SQLite names `id:1`, as the id is.
  return lineage.nodes.find((node) => node.kind === 'output' && lower(node.id) === lower(column));
}

/** Each source column reached from `id` through value edges, with the kinds of the shortest way there. */
function sourcesWithin(graph: LineageGraph, id: string): { node: LineageNode; kinds: ValueKind[] }[] {
  const found = new Map<string, { node: LineageNode; kinds: ValueKind[] }>();
  // Breadth first: the first way found to a source is a shortest one.
  let frontier: { id: string; kinds: ValueKind[] }[] = [{ id, kinds: [] }];
  const seen = new Set([id]);
  while (frontier.length > 0) {
    const next: typeof frontier = [];
    for (const current of frontier) {
      for (const edge of graph.edgesInto(current.id)) {
        if (!VALUE_KINDS.has(edge.kind) || seen.has(edge.from)) continue;
        seen.add(edge.from);
        const kinds = [edge.kind as ValueKind, ...current.kinds];
        const node = graph.node(edge.from);
        if (node?.kind === 'source') found.set(edge.from, { node, kinds });
        else next.push({ id: edge.from, kinds });
      }
    }
    frontier = next;
  }
  return [...found.values()].map(({ node, kinds }) => ({
    node,
    kinds: kinds.filter((kind, index) => kind !== kinds[index - 1]),
  }));
}

/**
 * The paths from the explored model's output column `output` up through the models it stands on; `depth` counts
 * models (1: the explored model's own sources only). `modelName` labels the first step.
 */
export function columnPaths(lineage: Lineage, modelName: string, output: string, depth = Infinity): DagPath[] {
  const start = outputNode(lineage, output);
  return start ? nodePaths(lineage, start.id, `${modelName}.${start.column}`, depth) : [];
}

/**
 * The paths from any column of the explored model (`id`: a CTE's, a source's, an output's), labelled `label`, up
 * through the models it stands on. A source column that is an upstream model's output continues into that model.
 */
export function nodePaths(lineage: Lineage, id: string, label: string, depth = Infinity): DagPath[] {
  const graph = new LineageGraph(lineage);
  const start = graph.node(id);
  if (!start) return [];
  const graphs = new Map<string, LineageGraph>();
  const graphOf = (model: UpstreamModelLineage) => {
    let graph = graphs.get(model.model);
    if (!graph && model.lineage) graphs.set(model.model, (graph = new LineageGraph(model.lineage)));
    return graph;
  };
  const paths: DagPath[] = [];
  const walk = (graph: LineageGraph, id: string, steps: DagStep[], models: number) => {
    if (paths.length >= MAX_PATHS) return;
    const self = graph.node(id);
    // A source column is its own source: where it leads is the model it is the output of, if any.
    const sources = self?.kind === 'source' ? [{ node: self, kinds: [] }] : sourcesWithin(graph, id);
    if (sources.length === 0) {
      paths.push({ steps, truncated: false });
      return;
    }
    for (const { node, kinds } of sources) {
      const into = upstreamModelOf(lineage, node.relation);
      const intoGraph = into && graphOf(into);
      const intoNode = intoGraph && outputNode(into.lineage!, node.column);
      // The step's kinds are the ones on the way to the column of the model before it. A source column walked from
      // is the upstream model's column it reads (its step stands for it), or the end of its only path.
      const fromSource = node === self;
      if (fromSource && !(into && intoNode)) {
        paths.push({ steps, truncated: false });
        continue;
      }
      const last = { ...steps[steps.length - 1], kinds };
      const before = fromSource ? steps.slice(0, -1) : [...steps.slice(0, -1), last];
      // Models already on the path cannot repeat in a DAG; the check bounds a malformed one.
      if (into && intoNode && !steps.some((step) => step.model === into.model)) {
        const step: DagStep = {
          model: into.model,
          id: intoNode.id,
          label: `${into.model}.${intoNode.column}`,
          kinds: [],
          span: intoNode.span,
        };
        if (models >= depth) paths.push({ steps: [...before, step], truncated: true });
        else walk(intoGraph, intoNode.id, [...before, step], models + 1);
      } else {
        const label = `${into ? into.model : identifierOf(node.relation)}.${node.column}`;
        paths.push({ steps: [...before, { model: into?.model, id: node.id, label, kinds: [] }], truncated: false });
      }
      if (paths.length >= MAX_PATHS) return;
    }
  };
  walk(graph, start.id, [{ id: start.id, label, kinds: [], span: start.span }], 1);
  return paths;
}

/** The kinds of a path's steps, upstream first, the same kind twice in a row once: `expression → aggregate`. */
export function pathKinds(path: DagPath): ValueKind[] {
  return [...path.steps]
    .reverse()
    .flatMap((step) => step.kinds)
    .filter((kind, index, all) => kind !== all[index - 1]);
}

/** A path for people: `customers.customer_lifetime_value ← stg_payments.amount ← raw_payments.amount`. */
export function pathText(path: DagPath): string {
  return path.steps.map((step) => step.label).join(' ← ') + (path.truncated ? ' ← …' : '');
}
