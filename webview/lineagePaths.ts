// What a hovered column lights across models: the nodes upstream of it in its own model, then, where a source it
// reaches is an upstream model's output, that column's paths through the models above (dagLineage's columnPaths),
// each model's own nodes on the way included. No DOM: the unit tests run it on real lineages.
import { columnPaths, upstreamModelOf, type DagPath } from '../src/shared/dagLineage';
import { LineageGraph, upstream } from '../src/shared/lineageGraph';
import type { Lineage, UpstreamModelLineage } from '../src/shared/lineageModel';

/** The explored model's key in a `Lit` (upstream models are keyed by their name). */
export const EXPLORED = '';

/** Node ids lit, per model. */
export type Lit = Map<string, Set<string>>;

export class DagReach {
  private readonly graphs = new Map<string, LineageGraph | undefined>();
  /** columnPaths per upstream model and column: a hover asks for the same ones again and again. */
  private readonly paths = new Map<string, DagPath[]>();

  constructor(private readonly root: Lineage) {}

  private graphOf(model: string): LineageGraph | undefined {
    if (!this.graphs.has(model)) {
      const lineage =
        model === EXPLORED
          ? this.root
          : this.root.upstreamModels?.find((candidate) => candidate.model === model)?.lineage;
      this.graphs.set(model, lineage && new LineageGraph(lineage));
    }
    return this.graphs.get(model);
  }

  /** Lights the nodes of `model` upstream of `ids` (those it has), and returns them. */
  private within(lit: Lit, model: string, ids: string[]): string[] {
    const graph = this.graphOf(model);
    if (!graph) return [];
    const reached = [...upstream(graph, ids).reached].filter((id) => graph.node(id));
    const set = lit.get(model) ?? lit.set(model, new Set()).get(model)!;
    for (const id of reached) set.add(id);
    return reached;
  }

  /** Everything `ids` of `model` come from, in that model and in every model above it. */
  from(model: string, ids: string[]): Lit {
    const lit: Lit = new Map();
    const graph = this.graphOf(model);
    if (!graph) return lit;
    for (const id of this.within(lit, model, ids)) {
      const node = graph.node(id);
      if (node?.kind !== 'source') continue;
      const into = upstreamModelOf(this.root, node.relation);
      if (!into?.lineage) continue;
      const paths = this.pathsOf(into, node.column);
      if (paths.length === 0) lit.set(into.model, lit.get(into.model) ?? new Set());
      for (const path of paths)
        path.steps.forEach((step, index) => {
          // The first step is `into` itself; a later one without a model is a seed column of the step before.
          const stepModel = index === 0 ? into.model : step.model;
          if (stepModel === undefined) return;
          if (this.within(lit, stepModel, [step.id]).length === 0) lit.set(stepModel, lit.get(stepModel) ?? new Set());
        });
    }
    return lit;
  }

  /** The walk from an upstream model's output column, resolving the models above it as the explored model does. */
  private pathsOf(model: UpstreamModelLineage, column: string): DagPath[] {
    const key = `${model.model}\u0000${column}`;
    let found = this.paths.get(key);
    if (!found) {
      found = columnPaths({ ...model.lineage!, upstreamModels: this.root.upstreamModels }, model.model, column);
      this.paths.set(key, found);
    }
    return found;
  }

  /** The paths of the explored model's output columns named `columns`. */
  fromOutputs(columns: string[]): Lit {
    const wanted = new Set(columns);
    const outputs = this.root.nodes.filter((node) => node.kind === 'output' && wanted.has(node.column));
    return outputs.length
      ? this.from(
          EXPLORED,
          outputs.map((node) => node.id),
        )
      : new Map();
  }
}
