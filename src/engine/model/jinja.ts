// Renders a dbt model's Jinja with MiniJinja (sandboxed, bounded: see jinjaRuntime.ts) in dbt's context
// (dbtContext.ts), with the project's and its packages' macros (macroLibrary.ts), and keeps a map from every offset of
// the rendered SQL back to the file the user sees. The map comes from markers: the template is re-written so that
// each run of literal text starts with a data marker and each `{{ … }}` output is wrapped in expression markers;
// after rendering, the markers say where each piece of output came from and are removed. Whitespace control is
// applied on the original text, so the markers never stop it and the map stays exact.
import { hashOf } from '../hash';
import type { Environment } from 'minijinja-js';
import { LensError, type FileLocation } from '../errors';
import { lineStarts, locationAt } from '../textPosition';
import {
  contextGlobals,
  neverThrows,
  outputText,
  relation,
  restoreRelations,
  RenderState,
  type CapturedConfig,
  type RenderEnvironment,
  UNDEFINED_MARK,
} from './dbtContext';
import { lexTemplate, portableStrings, TemplateSyntaxError, type TemplateToken } from './jinjaLexer';
import {
  blockKeyword,
  callsReturn,
  macroEpilogue,
  macroPrologue,
  MutationRewrite,
  RESULT,
  returnStatement,
  rewriteBlock,
  rewriteCallTag,
  rewriteOutput,
  type RewriteScope,
} from './jinjaRewrite';
import { isTrap, RENDER_FUEL, type JinjaRuntime } from './jinjaRuntime';
import { LIBRARY_TEMPLATE, literalText, MacroLibrary, SiteTable } from './macroLibrary';
import { relationSchemaOf, type DbtProject } from './dbtProject';
import { SourceMap, type Segment } from './sourceMap';
import type { RenderMemo } from './renderMemo';

const DATA_MARK = '\uE000';
const EXPR_OPEN = '\uE001';
const EXPR_CLOSE = '\uE002';
const ID_END = '\uE003';
const MARKERS = /[\uE000-\uE003]/;
const RESERVED = /[\uE000-\uE005\uE020\uE021]/;

/** Sites of the model's own calls are numbered after the library's. */
const MODEL_SITES = 1_000_000;

export interface RenderContext extends RenderEnvironment {
  /** MiniJinja. */
  jinja: JinjaRuntime;
  /** The macros of the project and its packages (dbt's own when there is no project). */
  library?: MacroLibrary;
  /** For an error inside a macro: the text of a macro file (the library keeps only what it made of it). */
  macroText?: (file: string) => string | undefined;
  /** Where the project's upstream renders are kept (renderMemo.ts): the graph's and the build's renders use it. */
  renders?: RenderMemo;
}

export interface RenderedModel {
  sql: string;
  sourceMap: SourceMap;
  /** What the model's `config()` said. */
  config: CapturedConfig;
  /** The models and seeds the model `ref()`s, in call order. */
  refs: string[];
  /** The template asked for data (run_query, columns of a relation) that was not given: render again with it. */
  neededData: boolean;
  /** What the render read beyond its inputs (RenderState.readOutside): such a render is never memoised. */
  readOutside?: 'data' | 'environment' | 'clock';
}

interface Instrumented {
  text: string;
  /** Pieces of the instrumented text and where they start in the original; inserted text maps to its tag. */
  pieces: { instrumentedStart: number; originalStart: number; verbatim: boolean }[];
  dataStarts: number[];
  expressions: { start: number; end: number; text: string }[];
}

const isSpace = (char: string) => char === ' ' || char === '\t' || char === '\n' || char === '\r';

/** The model's template, instrumented with markers and rewritten for dbt's semantics (jinjaRewrite.ts). */
function instrument(
  source: string,
  tokens: TemplateToken[],
  scope: RewriteScope,
  localMacros: Set<string>,
): Instrumented {
  const result: Instrumented = { text: '', pieces: [], dataStarts: [], expressions: [] };
  const out: string[] = [];
  let length = 0;
  const emit = (text: string, originalStart: number, verbatim: boolean) => {
    result.pieces.push({ instrumentedStart: length, originalStart, verbatim });
    out.push(text);
    length += text.length;
  };
  // Each `{% macro %}` the model defines is a body of its own for the mutation rewrite (its variables are its own).
  const bodyOf: number[] = [];
  let macros = 0;
  let depth = 0;
  for (const token of tokens) {
    const keyword = token.kind === 'block' ? blockKeyword(source.slice(token.codeStart, token.codeEnd)) : '';
    if (keyword === 'macro' && depth++ === 0) macros++;
    bodyOf.push(depth > 0 ? macros : 0);
    if (keyword === 'endmacro' && depth > 0) depth--;
  }
  const mutations = Array.from(
    { length: macros + 1 },
    (_, body) =>
      new MutationRewrite(
        tokens
          .filter((token, index) => token.kind === 'block' && bodyOf[index] === body)
          .map((token) => source.slice(token.codeStart, token.codeEnd)),
      ),
  );
  if (mutations[0].opening) emit(mutations[0].opening, 0, false);
  const modelScope: RewriteScope = {
    ...scope,
    macro: (path) => (path.length === 1 && localMacros.has(path[0]) ? path[0] : scope.macro(path)),
  };
  const scopes = mutations.map((mutation) => ({ ...modelScope, mutable: mutation.variables }));
  const returning = mutations.map((_, body) =>
    callsReturn(
      tokens
        .filter((token, index) => token.kind !== 'data' && bodyOf[index] === body)
        .map((token) => source.slice(token.codeStart, token.codeEnd)),
    ),
  );
  // Macro depth of each token: a `return()` statement in a macro's own body (depth 1) keeps its value there.
  const depthOf: number[] = [];
  let level = 0;
  for (const token of tokens) {
    const keyword = token.kind === 'block' ? blockKeyword(source.slice(token.codeStart, token.codeEnd)) : '';
    if (keyword === 'macro') level++;
    depthOf.push(level);
    if (keyword === 'endmacro' && level > 0) level--;
  }
  const returnAt = (index: number, code: string) =>
    depthOf[index] === 1 ? returnStatement(code, tokens[index].codeStart, scopes[bodyOf[index]]) : undefined;
  tokens.forEach((token, index) => {
    const code = source.slice(token.codeStart, token.codeEnd);
    const mutation = mutations[bodyOf[index]];
    const bodyScope = scopes[bodyOf[index]];
    switch (token.kind) {
      case 'data': {
        let from = token.start;
        let to = token.end;
        if (tokens[index - 1]?.trimAfter) while (from < to && isSpace(source[from])) from++;
        if (tokens[index + 1]?.trimBefore) while (to > from && isSpace(source[to - 1])) to--;
        if (from < to) {
          const id = result.dataStarts.push(from) - 1;
          emit(`${DATA_MARK}${id}${ID_END}`, from, false);
          const text = source.slice(from, to);
          const literal = literalText(text);
          if (literal === text) emit(text, from, true);
          else emit(literal, from, false);
        }
        return;
      }
      case 'variable': {
        const returned = returnAt(index, code);
        if (returned) {
          emit(returned, token.start, false);
          return;
        }
        const id =
          result.expressions.push({ start: token.start, end: token.end, text: source.slice(token.start, token.end) }) -
          1;
        emit(`{{ __lensMark(${id}, (${rewriteOutput(code, token.codeStart, bodyScope)})) }}`, token.start, false);
        return;
      }
      case 'block': {
        const keyword = blockKeyword(code);
        let rewritten = code;
        if (keyword === 'call') {
          rewritten = rewriteCallTag(code, bodyScope);
        } else if (keyword === 'macro') {
          rewritten = portableStrings(code);
        } else if (!['endmacro', 'endcall', 'import', 'from'].includes(keyword)) {
          rewritten = rewriteBlock(code, token.codeStart, bodyScope, mutation);
        }
        // A macro's own namespace opens at its start (the macro's first tag is its `{% macro %}`).
        const returned = keyword === 'do' ? returnAt(index, code) : undefined;
        if (returned) rewritten = returned.slice(2, -2);
        // A macro's own frame and namespace open at its start (the macro's first tag is its `{% macro %}`), and
        // its result is left for its caller at its end.
        const starts = keyword === 'macro' && bodyOf[index] !== bodyOf[index - 1];
        const ends = keyword === 'endmacro' && bodyOf[index] !== bodyOf[index + 1];
        const prologue = starts ? macroPrologue(mutation.opening, returning[bodyOf[index]]) : '';
        const epilogue = ends ? macroEpilogue(returning[bodyOf[index]]) : '';
        emit(`${epilogue}{%${rewritten}%}${prologue}`, token.start, false);
        return;
      }
      case 'comment':
        return;
    }
  });
  result.text = out.join('');
  return result;
}

/** What the functions handed to MiniJinja read: the render in progress. */
let current: { state: RenderState; file: string; instrumented: Instrumented } | undefined;

const environments = new WeakMap<JinjaRuntime, { generation: number; byLibrary: Map<MacroLibrary, Environment> }>();

/** One environment per runtime instance and library: the library's template is parsed once. */
function environmentFor(runtime: JinjaRuntime, library: MacroLibrary): Environment {
  let cached = environments.get(runtime);
  // Environments of a discarded instance are never used again.
  if (cached?.generation !== runtime.generation)
    environments.set(runtime, (cached = { generation: runtime.generation, byLibrary: new Map() }));
  const byLibrary = cached.byLibrary;
  let environment = byLibrary.get(library);
  if (environment) return environment;
  environment = runtime.environment();
  const state = () => current!.state;
  for (const [name, value] of Object.entries(
    contextGlobals(state, (name, namespace) => library.dispatch(name, namespace)),
  )) {
    environment.addGlobal(name, value);
  }
  environment.addGlobal(
    '__lensMark',
    neverThrows(state, (id: unknown, value: unknown) => {
      const render = current!;
      if (render.state.failed || typeof id !== 'number') return '';
      if (value === UNDEFINED_MARK) {
        if (render.state.environment.lenient) return '';
        const expression = render.instrumented.expressions[id].text.replace(/^\{\{[-+]?\s*|\s*[-+]?\}\}$/g, '');
        return render.state.fail(
          `${expression} is undefined in ${render.file}.`,
          'Define it, or check its spelling (dbt would print nothing here, which is rarely what was meant).',
          undefined,
          render.instrumented.expressions[id].start,
        );
      }
      return `${EXPR_OPEN}${id}${ID_END}${outputText(value)}${EXPR_CLOSE}`;
    }),
  );
  environment.addGlobal(
    '__lens_out',
    neverThrows(state, (site: unknown, value: unknown) => {
      const render = current!;
      if (render.state.failed) return '';
      if (value !== UNDEFINED_MARK) return outputText(value);
      if (render.state.environment.lenient || typeof site !== 'number') return '';
      const file = library.sites.file(site);
      return render.state.fail(
        `${library.outputs.get(site)} is undefined in ${file}.`,
        'Define it, or check its spelling: this can happen when a macro calls a macro that does not exist (dbt would print nothing here).',
        site,
      );
    }),
  );
  try {
    environment.addTemplate(LIBRARY_TEMPLATE, library.template);
  } catch (error) {
    if (isTrap(error)) throw error;
    // A macro MiniJinja cannot read (a package's macro for another adapter, say) must not stop every model: the
    // library leaves it out, and calling it says where it is and why.
    library.isolateUnreadable((text) => {
      try {
        environment!.addTemplate('__lens_check', text);
        return undefined;
      } catch (problem) {
        const message = problem instanceof Error ? problem.message : String(problem);
        const position = errorPosition(message);
        return { message: cleanMessage(message), line: position?.line ?? 1, column: position?.column ?? 1 };
      }
    });
    environment.addTemplate(LIBRARY_TEMPLATE, library.template);
  }
  for (const [unique, macro] of library.unreadable) {
    environment.addGlobal(
      unique,
      neverThrows(state, () =>
        current!.state.fail(
          `Segment Lens cannot read the macro ${macro.name}${macro.location ? ` (${macro.location.file}:${macro.location.line})` : ''}, which this model calls: ${macro.detail}.`,
          `If dbt reads this macro, MiniJinja (which Segment Lens renders with) lacks the construct: write a version without it in your project (a dispatched macro is found in your macro-paths first, as ${library.adapter}__<name>); if dbt cannot read it either, fix it there.`,
          undefined,
          undefined,
          macro.location,
        ),
      ),
    );
  }
  byLibrary.set(library, environment);
  return environment;
}

let builtinLibrary: MacroLibrary | undefined;

/** dbt's own macros, for a model outside any dbt project. */
function defaultLibrary(): MacroLibrary {
  builtinLibrary ??= new MacroLibrary([], 'project', new Map());
  return builtinLibrary;
}

/** Line and column (1-based) MiniJinja gives for an error in `template`, from its message and its debug view. */
function errorPosition(message: string): { template: string; line: number; column: number } | undefined {
  const where = /\(in (.+):(\d+)\)/.exec(message);
  if (!where) return undefined;
  const line = Number(where[2]);
  let column = 1;
  const lines = message.split('\n');
  const shown = lines.findIndex((text) => new RegExp(`^\\s*${line} > `).test(text));
  const caret = shown === -1 ? undefined : /^(\s*i\s*?)(\s*)\^/.exec(lines[shown + 1] ?? '');
  if (shown !== -1 && caret) column = lines[shown + 1].indexOf('^') - (lines[shown].indexOf('> ') + 2) + 1;
  return { template: where[1], line, column: Math.max(1, column) };
}

function offsetIn(text: string, line: number, column: number): number {
  const starts = lineStarts(text);
  return (starts[Math.min(line - 1, starts.length - 1)] ?? 0) + column - 1;
}

/** The original offset behind an offset of the instrumented text. */
function originalOffset(instrumented: Instrumented, offset: number): number {
  let piece = instrumented.pieces[0];
  for (const candidate of instrumented.pieces) {
    if (candidate.instrumentedStart > offset) break;
    piece = candidate;
  }
  if (!piece) return 0;
  return piece.verbatim ? piece.originalStart + (offset - piece.instrumentedStart) : piece.originalStart;
}

/** MiniJinja's message, without its debug view and its "(in …)". */
function cleanMessage(message: string): string {
  const first = message.split('\n')[0].replace(/\s*\(in .+:\d+\)\s*$/, '');
  return first.replace(
    /__lensMark\(\d+, \(|__lens_rv\[\(|, 'slot'\)\[1\]\]|\) \| default\(__lens_undefined\)|__m_\w+?__/g,
    '',
  );
}

/** dbt's `model` (the node being rendered), as far as templates read it. */
function modelNode(name: string, file: string, context: RenderContext): Record<string, unknown> {
  const project = context.project?.name ?? 'project';
  const dir = context.project?.dir;
  const originalPath = dir && file.startsWith(dir) ? file.slice(dir.length + 1) : file;
  const custom = context.project?.modelSchemas.get(name);
  const alias = context.project?.modelAliases.get(name);
  const materialized = context.project?.models.get(name)?.materialized;
  return {
    name,
    alias: alias ?? name,
    schema: relationSchemaOf(context.project, name, context.target.schema),
    database: context.target.database ?? 'main',
    package_name: project,
    unique_id: `model.${project}.${name}`,
    resource_type: 'model',
    original_file_path: originalPath,
    // The project, the folders under the model path, the model: as dbt's fqn.
    fqn: [project, ...originalPath.split(/[\\/]/).slice(1, -1), name],
    // What generate_schema_name and its kin read: the configs as written (none when not set).
    config: { schema: custom ?? null, alias: alias ?? null, ...(materialized ? { materialized } : {}) },
    tags: [],
    meta: {},
  };
}

/** Schemas the project's generate_schema_name gave, by library (a changed macro file is a new library). */
const generatedBefore = new WeakMap<MacroLibrary, Map<string, string>>();
/** The most kept for one library: a project's models, several targets over. */
const MAX_GENERATED = 20_000;

/** Calls the project's generate_schema_name as a one-line template of the model, so the model's globals apply. */
const GENERATE_SCHEMA_CALL = '{{ generate_schema_name(model.config.schema, model) }}';

/**
 * The project with the schema dbt-postgres builds each model and seed in (`generatedSchemas`): the project's own
 * generate_schema_name(custom_schema_name, node) when it defines one, rendered in the sandbox at parse time
 * (execute false, the same fuel as any template), else dbt's default: `<target schema>_<custom>` for a custom
 * schema, the target's schema otherwise.
 */
export function withGeneratedSchemas(project: DbtProject, context: RenderContext): DbtProject {
  const library = context.library ?? defaultLibrary();
  const own = library.macros.has(`${library.rootNamespace}.generate_schema_name`);
  const schemas = new Map<string, string>();
  const parseContext: RenderContext = { ...context, project, execute: false, log: undefined };
  let memo = generatedBefore.get(library);
  if (!memo || memo.size > MAX_GENERATED) generatedBefore.set(library, (memo = new Map()));
  // What the macro may read besides the node: the same inputs, the same schema.
  const inputs = hashOf([context.target, context.vars, context.env, context.untrusted, project.dir, project.vars]);
  for (const name of project.nodes) {
    const custom = project.modelSchemas.get(name);
    if (!own) {
      schemas.set(name, custom ? `${context.target.schema}_${custom.trim()}` : context.target.schema);
      continue;
    }
    const file =
      project.models.get(name)?.file ??
      project.seedFiles.get(name)?.replace(/\.csv$/i, '.sql') ??
      `${project.dir}/${name}.sql`;
    const key = JSON.stringify([
      inputs,
      name,
      file,
      custom,
      project.modelAliases.get(name),
      project.models.get(name)?.materialized,
    ]);
    const before = memo.get(key);
    if (before !== undefined) {
      schemas.set(name, before);
      continue;
    }
    let schema: string;
    try {
      schema = renderModel(GENERATE_SCHEMA_CALL, file, parseContext).sql.trim();
    } catch (error) {
      if (!(error instanceof LensError)) throw error;
      throw new LensError({
        code: 'jinja',
        message: `The project's generate_schema_name failed for ${name} (dbt calls it to name the schema each model is built in): ${error.message}`,
        hint: error.value.hint,
        // A place in a macro file stands; one in the model file is the one-line call, not the user's text.
        ...(error.value.location && error.value.location.file !== file ? { location: error.value.location } : {}),
      });
    }
    if (!schema) {
      throw new LensError({
        code: 'jinja',
        message: `The project's generate_schema_name gives an empty schema for ${name}${custom ? ` (custom schema ${custom})` : ''}.`,
        hint: 'Make it output a schema name for every model, as dbt needs one to build it.',
      });
    }
    schemas.set(name, schema);
    memo.set(key, schema);
  }
  return { ...project, generatedSchemas: schemas };
}

export function renderModel(source: string, file: string, context: RenderContext): RenderedModel {
  if (RESERVED.test(source)) {
    const offset = source.search(RESERVED);
    throw new LensError({
      code: 'jinja',
      message: `${file} contains a private-use character (U+${source.charCodeAt(offset).toString(16).toUpperCase()}) that Segment Lens reserves.`,
      hint: 'Remove the character from the model.',
      location: locationAt(file, source, offset),
    });
  }
  const library = context.library ?? defaultLibrary();
  let tokens: TemplateToken[];
  try {
    tokens = lexTemplate(source);
  } catch (error) {
    if (!(error instanceof TemplateSyntaxError)) throw error;
    throw new LensError({
      code: 'jinja',
      message: `Jinja syntax error in ${file}: ${error.message}.`,
      hint: 'Close the tag.',
      location: locationAt(file, source, error.offset),
    });
  }
  const localMacros = new Set<string>();
  for (const token of tokens) {
    const name =
      token.kind === 'block'
        ? /^\s*macro\s+([A-Za-z_]\w*)/.exec(source.slice(token.codeStart, token.codeEnd))?.[1]
        : undefined;
    if (name) localMacros.add(name);
  }
  const sites = new SiteTable(MODEL_SITES);
  const referenced = new Set<string>();
  const unresolved: { path: readonly string[]; offset: number }[] = [];
  const scope = {
    ...library.scope(library.rootNamespace, file, source, sites, referenced),
    unresolved: (path: readonly string[], offset: number) => unresolved.push({ path, offset }),
  };
  let instrumented: Instrumented;
  try {
    instrumented = instrument(source, tokens, scope, localMacros);
  } catch (error) {
    if (!(error instanceof TemplateSyntaxError)) throw error;
    throw new LensError({
      code: 'jinja',
      message: `Rendering ${file} stopped: ${error.message}.`,
      hint: 'A template nests brackets deeper than Segment Lens reads.',
      location: locationAt(file, source, error.offset),
    });
  }
  // The library's names the model uses, imported on its first line (no line added: positions stay as written).
  const imports = [
    ...[...referenced].filter((name) => !library.unreadable.has(name)),
    ...[...library.namespaces].filter((name) => /^[A-Za-z_]\w*$/.test(name) && !localMacros.has(name)),
    '__lens_macros',
    RESULT,
  ];
  const prefix = `{% from '${LIBRARY_TEMPLATE}' import ${imports.join(', ')} %}`;
  const text = prefix + instrumented.text;

  const runtime = context.jinja;
  const state = new RenderState(context, undefined);
  let rendered: string;
  try {
    const environment = environmentFor(runtime, library);
    environment.addGlobal('target', { database: 'main', threads: 1, ...context.target });
    environment.addGlobal('execute', context.execute ?? false);
    const name = file
      .split(/[\\/]/)
      .pop()!
      .replace(/\.sql$/i, '');
    // On PostgreSQL (generated schemas known), `this` is where dbt-postgres builds the model.
    const generated = context.project?.generatedSchemas?.get(name);
    environment.addGlobal(
      'this',
      generated === undefined
        ? relation(context.target.schema, name, context.target.database)
        : relation(generated, context.project?.modelAliases.get(name) ?? name, context.target.database),
    );
    environment.addGlobal('project_name', context.project?.name ?? 'project');
    environment.addGlobal('model', modelNode(name, file, context));
    current = { state, file, instrumented };
    // Named without an extension: MiniJinja would escape the output of a name ending in .yml or .json.
    rendered = environment.renderNamedStr('__lens_model', text, {});
  } catch (error) {
    throw renderError(error, { state, file, source, instrumented, prefix, library, sites, context, unresolved });
  } finally {
    current = undefined;
  }
  if (state.neededData)
    return {
      sql: '',
      sourceMap: new SourceMap(file, source, []),
      config: state.config,
      refs: state.refs,
      neededData: true,
      readOutside: state.readOutside,
    };
  if (state.problem) throw problemError(state, { file, source, library, sites, context });
  return {
    ...unmark(rendered, instrumented, file, source),
    config: state.config,
    refs: state.refs,
    neededData: false,
    readOutside: state.readOutside,
  };
}

/**
 * A short template outside any model (a value of profiles.yml): dbt's context without macros; the problem it
 * reports (an env_var not set) or a Jinja error comes back as a LensError naming `file`.
 */
export function renderText(
  text: string,
  file: string,
  context: Pick<RenderContext, 'jinja' | 'env' | 'untrusted' | 'target'>,
): string {
  const state = new RenderState({ ...context, execute: false }, undefined);
  const instrumented: Instrumented = { text, pieces: [], dataStarts: [], expressions: [] };
  try {
    const environment = environmentFor(context.jinja, defaultLibrary());
    current = { state, file, instrumented };
    const rendered = restoreRelations(environment.renderNamedStr('__lens_value', text, {}));
    if (state.problem)
      throw new LensError({ code: 'jinja', message: `${file}: ${state.problem.message}`, hint: state.problem.hint });
    return rendered;
  } catch (error) {
    if (error instanceof LensError) throw error;
    if (isTrap(error)) context.jinja.discardInstance();
    const message = state.problem?.message ?? cleanMessage(error instanceof Error ? error.message : String(error));
    throw new LensError({
      code: 'jinja',
      message: `${file}: cannot render ${JSON.stringify(text.slice(0, 200))}: ${message}`,
      hint: state.problem?.hint ?? 'dbt reads this value the same way: fix its Jinja.',
    });
  } finally {
    current = undefined;
  }
}

interface ErrorContext {
  /** Dotted calls that named no macro: the likely cause of an error on their line. */
  unresolved: { path: readonly string[]; offset: number }[];
  state: RenderState;
  file: string;
  source: string;
  instrumented: Instrumented;
  prefix: string;
  library: MacroLibrary;
  sites: SiteTable;
  context: RenderContext;
}

/** The first problem a dbt function recorded, at the call that recorded it. */
function problemError(
  state: RenderState,
  where: Pick<ErrorContext, 'file' | 'source' | 'library' | 'sites' | 'context'>,
): LensError {
  const problem = state.problem!;
  const site = problem.site;
  const location =
    problem.location ??
    (problem.offset !== undefined
      ? locationAt(where.file, where.source, problem.offset)
      : site === undefined
        ? undefined
        : site >= MODEL_SITES
          ? where.sites.location(site)
          : where.library.sites.location(site));
  return new LensError({ code: 'jinja', message: problem.message, hint: problem.hint, location });
}

function renderError(error: unknown, where: ErrorContext): LensError {
  const { state, file, source, instrumented, prefix, library, context } = where;
  if (isTrap(error)) {
    context.jinja.discardInstance();
    return new LensError({
      code: 'jinja',
      message: `Rendering ${file} used more memory than Segment Lens allows a template (256 MiB), and was stopped.`,
      hint: 'A template (or a macro it calls) builds a very large value, e.g. a string multiplied by a large number.',
      location: locationAt(file, source, 0),
    });
  }
  // A problem our functions recorded explains the failure better than what MiniJinja saw next.
  if (state.problem && !state.neededData) return problemError(state, where);
  const message = error instanceof Error ? error.message : String(error);
  const position = errorPosition(message);
  let location: FileLocation | undefined;
  let inMacro = false;
  if (position?.template === LIBRARY_TEMPLATE) {
    const offset = offsetIn(library.template, position.line, position.column);
    location = library.origin(offset, (macroFile) => context.macroText?.(macroFile));
    inMacro = true;
  } else if (position) {
    const offset = offsetIn(prefix + instrumented.text, position.line, position.column) - prefix.length;
    location = locationAt(file, source, originalOffset(instrumented, Math.max(0, offset)));
  }
  const detail = cleanMessage(message);
  if (/out of fuel/.test(message)) {
    return new LensError({
      code: 'jinja',
      message: `Rendering ${file} took more than the ${RENDER_FUEL.toLocaleString('en')} steps Segment Lens allows a template, and was stopped.`,
      hint: 'A loop or a recursion in the template (or a macro it calls) runs too long.',
      location,
    });
  }
  if (/recursion limit/.test(message)) {
    return new LensError({
      code: 'jinja',
      message: `Rendering ${file} nests too deeply (macros calling macros), and was stopped.`,
      hint: 'A macro calls itself without end.',
      location,
    });
  }
  const unknown =
    !inMacro && location
      ? where.unresolved.find((call) => locationAt(file, source, call.offset).line === location!.line)
      : undefined;
  if (unknown && /undefined|unknown method|unknown function/.test(detail)) {
    const name = unknown.path.join('.');
    return new LensError({
      code: 'jinja',
      message: `${name} is not a macro Segment Lens found for ${file}: there is no package ${unknown.path[0]} with a macro ${unknown.path[1]}.`,
      hint: `Looked in ${[...library.searched].join(', ')} (the project's macro-paths, the packages under dbt_packages/, dbt's own). Run dbt deps if ${unknown.path[0]} is a package.`,
      location,
    });
  }
  const where_ = inMacro && location ? ` (in a macro of ${location.file})` : '';
  return new LensError({
    code: 'jinja',
    message: `Jinja error in ${file}${where_}: ${detail}.`,
    hint: /undefined|unknown function/.test(detail)
      ? `Macros are looked up in ${[...library.searched].join(', ')} (the project's macro-paths, installed packages, dbt's own).`
      : 'dbt reads templates the same way: check the tag at this position.',
    location,
  });
}

/** Removes the markers from rendered output, recording where each piece of output came from. */
function unmark(
  rendered: string,
  instrumented: Instrumented,
  file: string,
  source: string,
): Pick<RenderedModel, 'sql' | 'sourceMap'> {
  const segments: Segment[] = [];
  const out: string[] = [];
  let length = 0;
  let dataOrigin = 0;
  let expressionDepth = 0;
  let expressionId = -1;
  let index = 0;
  const readId = () => {
    const end = rendered.indexOf(ID_END, index);
    const id = Number(rendered.slice(index + 1, end));
    index = end + 1;
    return id;
  };
  while (index < rendered.length) {
    const char = rendered[index];
    if (char === DATA_MARK) {
      const id = readId();
      if (expressionDepth === 0) dataOrigin = instrumented.dataStarts[id];
      continue;
    }
    if (char === EXPR_OPEN) {
      const id = readId();
      if (expressionDepth++ === 0) expressionId = id;
      continue;
    }
    if (char === EXPR_CLOSE) {
      index++;
      expressionDepth--;
      continue;
    }
    let next = index;
    while (next < rendered.length && !MARKERS.test(rendered[next])) next++;
    // An expression's output maps to its whole tag: relations stringified inside it can take their SQL text back.
    const text = expressionDepth > 0 ? restoreRelations(rendered.slice(index, next)) : rendered.slice(index, next);
    index = next;
    if (expressionDepth > 0) {
      const expression = instrumented.expressions[expressionId];
      segments.push({
        renderedStart: length,
        renderedEnd: length + text.length,
        originalStart: expression.start,
        originalEnd: expression.end,
        literal: false,
      });
    } else {
      segments.push({
        renderedStart: length,
        renderedEnd: length + text.length,
        originalStart: dataOrigin,
        originalEnd: dataOrigin + text.length,
        literal: true,
      });
      dataOrigin += text.length;
    }
    out.push(text);
    length += text.length;
  }
  return { sql: out.join(''), sourceMap: new SourceMap(file, source, segments) };
}
