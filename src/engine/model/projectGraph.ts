// The part of the dbt project's graph a model stands on: every model it ref()s, directly or through others, in the
// order dbt would build them. Each model's edges are the refs its template calls when rendered as dbt's parse phase
// does (execute false, lenient: run_query answers nothing, a missing var renders empty); its materialization is its
// own config() over properties files over dbt_project.yml (view by default). Seeds are leaves: the data holds them.
import { LensError } from '../errors';
import type { ProjectModel } from './dbtProject';
import type { RenderContext } from './jinja';
import { renderKept } from './renderMemo';

export interface UpstreamModel {
  name: string;
  file: string;
  text: string;
  /** view, table, incremental, ephemeral, … as configured (view by default). */
  materialized: string;
  /** The project's models this one ref()s (seeds and unknown names left out), in call order. */
  refs: string[];
}

/** A model's edges and config, as the parse phase renders them. */
function parseModel(model: ProjectModel, context: RenderContext): UpstreamModel {
  const parsing: RenderContext = {
    ...context,
    execute: false,
    lenient: true,
    runQuery: undefined,
    columnsOf: undefined,
    log: undefined,
  };
  // An unchanged model is not rendered again (renderMemo.ts): a threshold edit re-reads the whole graph.
  const rendered = renderKept(model.text, model.file, parsing);
  const configured = rendered.config.materialized;
  return {
    name: model.name,
    file: model.file,
    text: model.text,
    materialized: typeof configured === 'string' ? configured : (model.materialized ?? 'view'),
    // A model that refs its own name reads the seed of that name (the data has it), not itself.
    refs: rendered.refs.filter((name) => name !== model.name && context.project?.models.has(name)),
  };
}

/**
 * A failure of an upstream model, as the explored model's run reports it: which model failed and why, at the
 * failing model's own file (its line when the failure has one).
 */
export function upstreamFailure(error: LensError, model: { name: string; file: string }, explored: string): LensError {
  const value = error.value;
  return new LensError({
    ...value,
    message: `${model.name} (upstream of ${explored}) failed: ${value.message}`,
    location: value.location ?? { file: model.file, line: 1, column: 1 },
  });
}

/** "a", "a and b", "a, b and c". */
function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function isEnabled(model: ProjectModel): boolean {
  if (model.enabled === false) return /\benabled\s*=\s*true\b/i.test(model.text);
  return !/\{\{-?\s*config\s*\([^)]*\benabled\s*=\s*false\b/i.test(model.text);
}

/**
 * The project models `refs` stand on, each after every model it refs (dependency order); the model being explored
 * (`self`) is not among them. A cycle is an error naming its members; so is a ref to a disabled model.
 */
export function upstreamModels(refs: readonly string[], context: RenderContext, self?: string): UpstreamModel[] {
  const project = context.project;
  if (!project) return [];
  const order: UpstreamModel[] = [];
  const done = new Set<string>();
  const path: string[] = self ? [self] : [];
  const visit = (name: string, from: string | undefined) => {
    if (done.has(name)) return;
    const inPath = path.indexOf(name);
    if (inPath !== -1) {
      const cycle = [...path.slice(inPath), name];
      throw new LensError({
        code: 'jinja',
        message: `The models ${listed([...new Set(cycle)])} ref() each other in a cycle (${cycle.join(' → ')}); dbt cannot build them.`,
        hint: 'Remove one of the ref() calls of the cycle.',
        location: { file: project.models.get(name)?.file ?? name, line: 1, column: 1 },
      });
    }
    const named = project.models.get(name);
    // Seeds, and names the project does not have (ref() itself reports those while running), are not built here.
    if (!named) return;
    // Two files of one name: dbt refuses them, unless all but one are disabled.
    const twins = project.sameNamedModels.get(name) ?? [named];
    const enabled = twins.filter(isEnabled);
    if (enabled.length > 1) {
      throw new LensError({
        code: 'jinja',
        message: `The dbt project has ${enabled.length} models named ${name}: ${listed(enabled.map((twin) => twin.file))}; ref('${name}') cannot tell which one is meant.`,
        hint: "A model's name is its file's name: rename all but one of them, or disable the others (enabled: false), as dbt requires.",
        location: { file: enabled[1].file, line: 1, column: 1 },
      });
    }
    const model = enabled[0] ?? named;
    if (!isEnabled(model)) {
      throw new LensError({
        code: 'jinja',
        message: `${from ?? 'The model'} ref()s ${name}, which is disabled (enabled: false).`,
        hint: `Enable ${name}, or remove the ref().`,
        location: { file: model.file, line: 1, column: 1 },
      });
    }
    path.push(name);
    let parsed: UpstreamModel;
    try {
      parsed = parseModel(model, context);
    } catch (error) {
      if (error instanceof LensError && self !== undefined) throw upstreamFailure(error, model, self);
      throw error;
    }
    for (const ref of parsed.refs) visit(ref, name);
    path.pop();
    done.add(name);
    order.push(parsed);
  };
  for (const ref of refs) if (ref !== self) visit(ref, self);
  return order;
}
