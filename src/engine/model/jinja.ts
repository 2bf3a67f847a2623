// Renders a dbt model's Jinja with nunjucks (a Jinja-compatible engine) and keeps a map from every offset of the
// rendered SQL back to the file the user sees. The map comes from markers: the template is re-written so that each
// run of literal text starts with a data marker and each `{{ … }}` output is wrapped in expression markers; after
// rendering, the markers say where each piece of output came from and are removed.
import nunjucks from 'nunjucks';
import { LensError } from '../errors';
import type { DbtProject } from './dbtProject';
import { lineStarts, locationAt } from '../textPosition';
import { SourceMap, type Segment } from './sourceMap';

const DATA_MARK = '\uE000';
const EXPR_OPEN = '\uE001';
const EXPR_CLOSE = '\uE002';
const ID_END = '\uE003';
const MARKERS = /[\uE000-\uE003]/;

export interface RenderContext {
  project?: DbtProject;
  /** dbt's `target`: name and schema of the profile target in use. */
  target: { name: string; schema: string; type: string };
  env: Record<string, string | undefined>;
  /** For outlining a model being edited: missing vars and env vars render as nothing instead of failing. */
  lenient?: boolean;
}

export interface RenderedModel {
  sql: string;
  sourceMap: SourceMap;
}

interface Instrumented {
  text: string;
  /** Pieces of the instrumented text and where they start in the original; inserted text maps to its tag. */
  pieces: { instrumentedStart: number; originalStart: number; verbatim: boolean }[];
  dataStarts: number[];
  expressions: { start: number; end: number; text: string }[];
}

const isSpace = (char: string) => char === ' ' || char === '\t' || char === '\n' || char === '\r';

function instrument(source: string): Instrumented {
  const starts = lineStarts(source);
  const lexer = nunjucks.lexer.lex(source, {});
  const tokens: { type: string; value: string; start: number }[] = [];
  for (let token = lexer.nextToken(); token; token = lexer.nextToken()) {
    tokens.push({ type: token.type, value: token.value, start: starts[token.lineno] + token.colno });
  }
  const result: Instrumented = { text: '', pieces: [], dataStarts: [], expressions: [] };
  const out: string[] = [];
  let length = 0;
  const emit = (text: string, originalStart: number, verbatim: boolean) => {
    result.pieces.push({ instrumentedStart: length, originalStart, verbatim });
    out.push(text);
    length += text.length;
  };
  // Whitespace control (`{%-`, `-%}`, …) is applied here, on the original text, so that the markers never stop
  // nunjucks from trimming and the map stays exact.
  const trimsAfter = (token: { type: string; value: string } | undefined) =>
    !!token &&
    (((token.type === 'block-end' || token.type === 'variable-end') && token.value.startsWith('-')) ||
      (token.type === 'comment' && token.value.endsWith('-#}')));
  const trimsBefore = (token: { type: string; value: string } | undefined) =>
    !!token &&
    (token.type === 'block-start' || token.type === 'variable-start' || token.type === 'comment') &&
    token.value[2] === '-';
  let openExpression = -1;
  tokens.forEach((token, index) => {
    const start = token.start;
    const end = index + 1 < tokens.length ? tokens[index + 1].start : source.length;
    switch (token.type) {
      case 'data': {
        let from = start;
        let to = end;
        if (trimsAfter(tokens[index - 1])) while (from < to && isSpace(source[from])) from++;
        if (trimsBefore(tokens[index + 1])) while (to > from && isSpace(source[to - 1])) to--;
        if (from < to) {
          const id = result.dataStarts.push(from) - 1;
          emit(`${DATA_MARK}${id}${ID_END}`, from, false);
          emit(source.slice(from, to), from, true);
        }
        break;
      }
      case 'variable-start':
        openExpression = result.expressions.push({ start, end: start, text: '' }) - 1;
        emit(`{{ __lensMark(${openExpression}, `, start, false);
        break;
      case 'variable-end': {
        const expression = result.expressions[openExpression];
        expression.end = end;
        expression.text = source.slice(expression.start, end);
        emit(') }}', start, false);
        break;
      }
      case 'block-start':
        emit('{%', start, false);
        break;
      case 'block-end':
        emit('%}', start, false);
        break;
      case 'comment':
        break;
      default:
        emit(source.slice(start, end), start, true);
    }
  });
  result.text = out.join('');
  return result;
}

/** Parses nunjucks' "[Line L, Column C]" (1-based from the parser, 0-based at render time) into an original offset. */
function errorOffset(message: string, instrumented: Instrumented, zeroBased: boolean): number | undefined {
  const match = /\[Line (\d+), Column (\d+)\]/.exec(message);
  if (!match) return undefined;
  const line = Number(match[1]) - (zeroBased ? 0 : 1);
  const column = Number(match[2]) - (zeroBased ? 0 : 1);
  const starts = lineStarts(instrumented.text);
  const offset = (starts[Math.min(line, starts.length - 1)] ?? 0) + column;
  let piece = instrumented.pieces[0];
  for (const candidate of instrumented.pieces) {
    if (candidate.instrumentedStart > offset) break;
    piece = candidate;
  }
  if (!piece) return undefined;
  return piece.verbatim ? piece.originalStart + (offset - piece.instrumentedStart) : piece.originalStart;
}

function cleanMessage(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^\(.*\) \[Line \d+, Column \d+\]$/.test(line));
  return (lines.join(' ') || message).replace(/^Error: /, '').replace(/__lensMark\(\d+, /g, '');
}

function positional(args: unknown[]): unknown[] {
  const last = args[args.length - 1] as { __keywords?: boolean } | undefined;
  return last && typeof last === 'object' && last.__keywords ? args.slice(0, -1) : args;
}

export function renderModel(source: string, file: string, context: RenderContext): RenderedModel {
  if (MARKERS.test(source)) {
    const offset = source.search(MARKERS);
    throw new LensError({
      code: 'jinja',
      message: `${file} contains a private-use character (U+${source.charCodeAt(offset).toString(16).toUpperCase()}) that Segment Lens reserves.`,
      hint: 'Remove the character from the model.',
      location: locationAt(file, source, offset),
    });
  }
  const instrumented = instrument(source);
  const project = context.project;
  // Errors raised by our dbt functions carry their own message; nunjucks only adds where it happened.
  let raised: LensError | undefined;
  const fail = (message: string, hint: string): never => {
    raised = new LensError({ code: 'jinja', message, hint });
    throw raised;
  };
  const missing = (message: string, hint: string): string => (context.lenient ? '' : fail(message, hint));
  const relation = (schema: string | undefined, name: string) => (schema ? `${schema}.${name}` : name);
  const globals: Record<string, unknown> = {
    __lensMark(id: number, value: unknown) {
      if (value === undefined || value === null) {
        return missing(
          `${instrumented.expressions[id].text.replace(/^\{\{-?\s*|\s*-?\}\}$/g, '')} is undefined in ${file}.`,
          'Define it, or use a dbt function Segment Lens knows: ref, source, var, config, env_var, is_incremental.',
        );
      }
      return `${EXPR_OPEN}${id}${ID_END}${String(value)}${EXPR_CLOSE}`;
    },
    ref(...args: unknown[]) {
      const names = positional(args);
      const name = names[names.length - 1];
      if (typeof name !== 'string' || names.length < 1 || names.length > 2) {
        return fail(
          `ref() takes a model name, or a package and a model name; got ${JSON.stringify(names)}.`,
          "Write {{ ref('model_name') }}.",
        );
      }
      if (project && !project.nodes.has(name)) {
        return fail(
          `ref('${name}'): the dbt project has no model or seed named ${name}.`,
          `Check the name against the .sql files under ${project.dir}'s model paths and the seeds, or use source() for a table dbt does not build.`,
        );
      }
      return relation(project?.modelSchemas.get(name), name);
    },
    source(...args: unknown[]) {
      const [sourceName, table] = positional(args);
      if (typeof sourceName !== 'string' || typeof table !== 'string') {
        return fail(
          `source() takes a source name and a table name; got ${JSON.stringify(positional(args))}.`,
          "Write {{ source('source_name', 'table_name') }}.",
        );
      }
      const known = project?.sources.get(sourceName);
      return relation(known?.schema ?? sourceName, known?.identifiers.get(table) ?? table);
    },
    config: () => '',
    var(...args: unknown[]) {
      const [name, ...fallback] = positional(args);
      if (typeof name !== 'string')
        return fail('var() takes the name of a variable.', "Write {{ var('name') }} or {{ var('name', default) }}.");
      if (project && Object.hasOwn(project.vars, name)) return project.vars[name];
      if (fallback.length > 0) return fallback[0];
      return missing(
        `Required var '${name}' is not set.`,
        project
          ? `Add it under vars: in ${project.dir}/dbt_project.yml, or give var() a default.`
          : 'Give var() a default, or add a dbt_project.yml with vars:.',
      );
    },
    env_var(...args: unknown[]) {
      const [name, ...fallback] = positional(args);
      if (typeof name !== 'string')
        return fail('env_var() takes the name of an environment variable.', "Write {{ env_var('NAME') }}.");
      const value = context.env[name];
      if (value !== undefined) return value;
      if (fallback.length > 0) return fallback[0];
      return missing(`Environment variable ${name} is not set.`, 'Set it, or give env_var() a default.');
    },
    is_incremental: () => false,
    target: context.target,
  };
  const env = new nunjucks.Environment(null, { autoescape: false });
  for (const [name, value] of Object.entries(globals)) env.addGlobal(name, value);

  const jinjaError = (error: unknown, zeroBased: boolean): LensError => {
    const message = error instanceof Error ? error.message : String(error);
    const offset = errorOffset(message, instrumented, zeroBased);
    const value = raised?.value ?? {
      code: 'jinja' as const,
      message: `Jinja error in ${file}: ${cleanMessage(message)}`,
      hint: 'Fix the template so dbt can compile it.',
    };
    return new LensError({ ...value, location: offset === undefined ? undefined : locationAt(file, source, offset) });
  };
  let template: nunjucks.Template;
  try {
    template = new nunjucks.Template(instrumented.text, env, file, true);
  } catch (error) {
    throw jinjaError(error, false);
  }
  let rendered: string;
  try {
    rendered = template.render({});
  } catch (error) {
    throw jinjaError(error, true);
  }
  return unmark(rendered, instrumented, file, source);
}

/** Removes the markers from rendered output, recording where each piece of output came from. */
function unmark(rendered: string, instrumented: Instrumented, file: string, source: string): RenderedModel {
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
    const text = rendered.slice(index, next);
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
    index = next;
  }
  return { sql: out.join(''), sourceMap: new SourceMap(file, source, segments) };
}
