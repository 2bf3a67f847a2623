// Renders that repeat are free: a threshold edit of the explored model renders each model upstream again (to find
// the graph's refs in dbt's parse phase, and on the data to see whether its SQL changed), and those did not change.
// A render is kept only when it read nothing but its inputs (RenderState.readOutside: no run_query, statement or
// adapter call that read the data, no env_var(), no clock) and logged nowhere; it is keyed by every input it can
// depend on: the model's file and text, the macro library (built once per content of every macro and package file,
// macroLibrary.ts), the project as loaded (everything but the models' texts: vars, schemas, aliases, sources, nodes,
// dispatch, packages), the target, the vars given, trust, the phase (execute, lenient), the ephemeral models known
// and whether data functions were given. A stale entry would show a wrong grid: when in doubt, nothing is kept.
import { hashOf, identityOf } from '../hash';
import type { DbtProject, ProjectModel } from './dbtProject';
import { renderModel, type RenderContext, type RenderedModel } from './jinja';

/** Renders kept per project, their characters (template and SQL) at most, and projects kept (one or two in use). */
export const MAX_KEPT_RENDERS = 256;
const MAX_KEPT_CHARS = 16 * 1024 ** 2;
const MAX_KEPT_PROJECTS = 4;

/** The renders of one project (as loaded); counts what it answered and what it rendered, for the run's timings. */
export class RenderMemo {
  private readonly entries = new Map<string, { rendered: RenderedModel; chars: number }>();
  private chars = 0;
  /** Renders answered from memory, and renders run, since the memo was made. */
  reused = 0;
  rendered = 0;

  get size(): number {
    return this.entries.size;
  }

  /** The model rendered in `context`, from memory when the same inputs rendered it before. */
  render(source: string, file: string, context: RenderContext): RenderedModel {
    // Logs are the render's output too: a render whose log() someone hears is never answered from memory.
    if (context.log) return renderModel(source, file, context);
    const key = hashOf([
      file,
      source,
      identityOf(context.jinja),
      context.library ? identityOf(context.library) : null,
      context.target,
      context.vars ?? null,
      context.untrusted ?? false,
      context.execute ?? false,
      context.lenient ?? false,
      [...(context.ephemeral ?? [])].sort(),
      context.runQuery !== undefined,
      context.columnsOf !== undefined,
    ]);
    const kept = this.entries.get(key);
    if (kept) {
      // Least recently used first out.
      this.entries.delete(key);
      this.entries.set(key, kept);
      this.reused++;
      return kept.rendered;
    }
    const rendered = renderModel(source, file, context);
    this.rendered++;
    const chars = source.length + rendered.sql.length;
    if (rendered.readOutside === undefined && !rendered.neededData && chars <= MAX_KEPT_CHARS) {
      // Shared by every run that asks again: frozen, so no caller can change what the next one gets.
      Object.freeze(rendered.refs);
      Object.freeze(rendered.config);
      this.entries.set(key, { rendered: Object.freeze(rendered), chars });
      this.chars += chars;
      for (const [oldest, entry] of this.entries) {
        if (this.entries.size <= MAX_KEPT_RENDERS && this.chars <= MAX_KEPT_CHARS) break;
        this.entries.delete(oldest);
        this.chars -= entry.chars;
      }
    }
    return rendered;
  }
}

/** The model rendered in `context`: through the context's render memo when it has one. */
export function renderKept(source: string, file: string, context: RenderContext): RenderedModel {
  return context.renders ? context.renders.render(source, file, context) : renderModel(source, file, context);
}

const memos = new Map<string, RenderMemo>();

/**
 * The render memo of a project as loaded: the same for the same project files (the models' texts aside: each render
 * keys its own), another for another project, folder or config. A few projects' memos are kept.
 */
export function renderMemoOf(project: DbtProject): RenderMemo {
  const key = projectIdentity(project);
  let memo = memos.get(key);
  if (memo) {
    memos.delete(key);
  } else {
    memo = new RenderMemo();
    if (memos.size >= MAX_KEPT_PROJECTS) memos.delete(memos.keys().next().value!);
  }
  memos.set(key, memo);
  return memo;
}

/** Everything of a loaded project a render can read, but the models' texts, as one key. */
function projectIdentity(project: DbtProject): string {
  const models = (list: Iterable<ProjectModel>) => [...list].map(({ text: _text, ...model }) => model);
  const loaded = {
    ...project,
    models: models(project.models.values()),
    sameNamedModels: [...project.sameNamedModels].map(([name, twins]) => [name, models(twins)]),
  };
  return hashOf(
    JSON.stringify(loaded, (_key, value: unknown) =>
      value instanceof Map ? [...value] : value instanceof Set ? [...value] : value,
    ),
  );
}
