// The part of the dbt project's graph a model stands on: every model it ref()s, directly or through others, in the
// order dbt would build them. Each model's edges are the refs its template calls when rendered as dbt's parse phase
// does (execute false, lenient: run_query answers nothing, a missing var renders empty); its materialization is its
// own config() over properties files over dbt_project.yml (view by default). Seeds are leaves: the data holds them.
import { LensError } from '../errors';
import type { ProjectModel } from './dbtProject';
import { renderModel, type RenderContext } from './jinja';

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
  const rendered = renderModel(model.text, model.file, {
    ...context,
    execute: false,
    lenient: true,
    runQuery: undefined,
    columnsOf: undefined,
    log: undefined,
  });
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
        message: `The models ${[...new Set(cycle)].join(' and ')} ref() each other in a cycle (${cycle.join(' → ')}); dbt cannot build them.`,
        hint: 'Remove one of the ref() calls of the cycle.',
        location: { file: project.models.get(name)?.file ?? name, line: 1, column: 1 },
      });
    }
    const model = project.models.get(name);
    // Seeds, and names the project does not have (ref() itself reports those while running), are not built here.
    if (!model) return;
    if (!isEnabled(model)) {
      throw new LensError({
        code: 'jinja',
        message: `${from ?? 'The model'} ref()s ${name}, which is disabled (enabled: false).`,
        hint: `Enable ${name}, or remove the ref().`,
        location: { file: model.file, line: 1, column: 1 },
      });
    }
    path.push(name);
    const parsed = parseModel(model, context);
    for (const ref of parsed.refs) visit(ref, name);
    path.pop();
    done.add(name);
    order.push(parsed);
  };
  for (const ref of refs) if (ref !== self) visit(ref, self);
  return order;
}
