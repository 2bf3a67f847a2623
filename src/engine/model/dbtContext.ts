// dbt's Jinja context as JavaScript functions handed to MiniJinja: ref, source, var, config, env_var, target, this,
// execute, run_query, log, return, exceptions, adapter, api, modules. None of them may throw (a JavaScript
// exception inside MiniJinja's WebAssembly is a panic that breaks the instance): a problem is recorded with the
// place it was called from, the render winds down (every function answers nothing once one failed), and the
// renderer reports the first problem recorded.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { FileLocation } from '../errors';
import { quoteIdentifierIfNeeded } from '../sql/names';
import { dbtModules } from './dbtModules';
import { ephemeralCteName } from './ephemeral';
import { relationSchemaOf, type DbtProject } from './dbtProject';

/** A problem a dbt function reports: what to tell the user, and where the call is written. */
export interface ContextProblem {
  message: string;
  hint: string;
  site?: number;
  /** For a problem with one of the model's own `{{ }}` tags: the tag's offset in the model file. */
  offset?: number;
  /** For a problem elsewhere (a macro file): where. */
  location?: FileLocation;
}

/** What `config()` captured (for the DAG builder), with the values as written. */
export type CapturedConfig = Record<string, unknown>;

export interface QueryTable {
  columns: string[];
  rows: unknown[][];
}

/**
 * dbt's `target`: the profile target's fields as the adapter gives them to templates. `type` is the adapter
 * (`sqlite`, `postgres`); a dbt-postgres target also has its server's `host`, `port`, `user` and `database`. Never
 * a password (dbt leaves it out too).
 */
export interface DbtTarget {
  name: string;
  schema: string;
  type: string;
  database?: string;
  threads?: number;
  host?: string;
  port?: number;
  user?: string;
}

/** The target of a render with no dbt profile behind it: the CodeLens outline, a profile's own values, the warm-up. */
export const DEFAULT_TARGET: Readonly<DbtTarget> = Object.freeze({ name: 'dev', schema: 'main', type: 'sqlite' });

export interface RenderEnvironment {
  project?: DbtProject;
  /** dbt's `target`. */
  target: DbtTarget;
  env: Record<string, string | undefined>;
  /** The workspace is not trusted: `env` is empty, and env_var() without a default says why. */
  untrusted?: boolean;
  /** `--vars` / segmentLens.vars: above the project's own vars, as `dbt run --vars`. */
  vars?: Record<string, unknown>;
  /** True while running (run_query answers); false when only parsing (the CodeLens), as dbt's parse phase. */
  execute?: boolean;
  /** Runs a read-only SELECT on the loaded data; undefined when no data is loaded (yet). */
  runQuery?: (sql: string) => QueryTable;
  /** Column names and types of a relation in the loaded data; undefined when unknown. */
  columnsOf?: (schema: string, identifier: string) => { name: string; type: string }[] | undefined;
  /** Where `log()` and `print()` go. */
  log?: (message: string) => void;
  /** For outlining a model being edited: missing vars and env vars render as nothing instead of failing. */
  lenient?: boolean;
  /** The project's ephemeral models: ref() gives the CTE dbt injects for each (ephemeral.ts), not a relation. */
  ephemeral?: ReadonlySet<string>;
}

/** The dbt version whose semantics the context follows (`dbt_version`). */
const DBT_VERSION = '1.9.0';
/** One invocation for every render: a model's SQL must not change between runs because of it (builds are cached). */
const INVOCATION_ID = '00000000-0000-4000-8000-000000000000';

/**
 * What a printed value that is undefined reaches our output functions as (`(x) | default(__lens_undefined)`):
 * MiniJinja hands both None and an undefined value to JavaScript as `undefined`, but only None prints ("None").
 */
export const UNDEFINED_MARK = '\uE005';

/** Marks a relation's SQL text inside values MiniJinja stringifies, so the renderer can put the text back. */
export const RELATION_OPEN = '\uE020';
export const RELATION_CLOSE = '\uE021';
const RELATION_KEY = '__lens_relation';

type Args = { positional: unknown[]; keywords: Record<string, unknown> };

/**
 * MiniJinja hands keyword arguments to a JavaScript function as a trailing Map — as it hands a dict. Every call to
 * one of our functions the template writes carries `__lens_site` (jinjaRewrite.ts), so a trailing Map with it holds
 * keyword arguments, and any other is a dict passed positionally.
 */
function splitArgs(args: unknown[]): Args {
  const last = args[args.length - 1];
  const positional = args.slice(0, last instanceof Map && last.has('__lens_site') ? -1 : args.length).map(plain);
  return {
    positional,
    keywords: last instanceof Map && last.has('__lens_site') ? (plain(last) as Record<string, unknown>) : {},
  };
}

/** Maps (MiniJinja's dicts) as plain objects, recursively: a Map cannot go back into a template. */
export function plain(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([key, item]) => [String(key), plain(item)]));
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

/** A dict whose `get(key, default)` works (MiniJinja's `get` takes no default). */
function withGet<T extends object>(value: T): T & { get: (key: string, fallback?: unknown) => unknown } {
  const record = value as Record<string, unknown>;
  return Object.assign(value, {
    get: (key: string, fallback: unknown = null) => (Object.hasOwn(record, key) ? record[key] : fallback),
  });
}

export interface Relation {
  [RELATION_KEY]: string;
  database: string;
  schema: string;
  identifier: string;
  name: string;
  table: string;
}

/**
 * A relation as dbt's Relation: renders as `schema.identifier` (a CTE as its name alone), has dbt's attributes, and
 * is a mapping.
 */
export function relation(schema: string, identifier: string, database = 'main', isCte = false): Relation {
  const text = isCte ? identifier : `${quoteIdentifierIfNeeded(schema)}.${quoteIdentifierIfNeeded(identifier)}`;
  const self: Relation = withGet({
    [RELATION_KEY]: `${RELATION_OPEN}${text}${RELATION_CLOSE}`,
    database,
    schema,
    identifier,
    name: identifier,
    table: identifier,
    is_table: true,
    is_view: false,
    is_cte: isCte,
    metadata: withGet({ type: 'BaseRelation' }),
    render: () => text,
    include: () => self,
    quote: () => self,
    incorporate: () => self,
  });
  return self;
}

/** The SQL text of a relation, if the value is one. */
export function relationText(value: unknown): string | undefined {
  const marked =
    value instanceof Map
      ? value.get(RELATION_KEY)
      : typeof value === 'object' && value !== null
        ? (value as Record<string, unknown>)[RELATION_KEY]
        : undefined;
  return typeof marked === 'string' ? marked.slice(1, -1) : undefined;
}

/** JSON as Python's json.dumps writes it (dbt's tojson): a space after each comma and colon. */
function pythonJson(value: unknown): string {
  if (value === undefined || value === null || typeof value === 'function') return 'null';
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => typeof item !== 'function');
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}: ${pythonJson(item)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** A value as Python prints it inside a list or dict (dbt's Jinja is Python's): strings quoted, None, True. */
function pythonRepr(value: unknown): string {
  if (typeof value === 'string') return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (value instanceof Map)
    return `{${[...value].map(([key, item]) => `${pythonRepr(key)}: ${pythonRepr(item)}`).join(', ')}}`;
  if (typeof value === 'object' && value !== null && relationText(value) === undefined) {
    const entries = Object.entries(value).filter(([, item]) => typeof item !== 'function');
    return `{${entries.map(([key, item]) => `${pythonRepr(key)}: ${pythonRepr(item)}`).join(', ')}}`;
  }
  return outputText(value);
}

/** Text for output: a relation as its SQL, None, True and lists as dbt (Python) prints them. */
export function outputText(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  const text = relationText(value);
  if (text !== undefined) return text;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'object') return restoreRelations(pythonRepr(value));
  return restoreRelations(String(value));
}

/**
 * Puts back the SQL text of relations MiniJinja stringified inside other values (`'from ' ~ ref('x')` prints the
 * relation's whole dict, `{"__lens_relation": "\u{e020}text\u{e021}", …}`): each such dict becomes its text.
 */
export function restoreRelations(text: string): string {
  const start = `{"${RELATION_KEY}": "`;
  for (let at = text.indexOf(start); at !== -1; at = text.indexOf(start, at)) {
    // The string value, escapes undone.
    let index = at + start.length;
    let value = '';
    while (index < text.length && text[index] !== '"') {
      if (text[index] === '\\') {
        const unicode = /^\\u\{([0-9a-fA-F]+)\}/.exec(text.slice(index, index + 12));
        if (unicode) {
          value += String.fromCodePoint(parseInt(unicode[1], 16));
          index += unicode[0].length;
          continue;
        }
        value += text[index + 1] ?? '';
        index += 2;
        continue;
      }
      value += text[index++];
    }
    // The dict ends at the brace that balances its first one (strings skipped).
    let depth = 1;
    let inString = false;
    for (index++; index < text.length && depth > 0; index++) {
      const char = text[index];
      if (inString) {
        if (char === '\\') index++;
        else if (char === '"') inString = false;
      } else if (char === '"') inString = true;
      else if (char === '{') depth++;
      else if (char === '}') depth--;
    }
    const sql = value.replace(RELATION_OPEN, '').replace(RELATION_CLOSE, '');
    text = text.slice(0, at) + sql + text.slice(index);
    at += sql.length;
  }
  return text;
}

const STRING_TYPES = ['text', 'character varying', 'character', 'varchar'];
const INTEGER_TYPES = ['smallint', 'integer', 'bigint', 'smallserial', 'serial', 'bigserial', 'int2', 'int4', 'int8'];
const FLOAT_TYPES = ['real', 'float4', 'float', 'double precision', 'float8', 'double'];
const NUMERIC_TYPES = ['numeric', 'decimal'];

/** dbt's Column.translate_type: its portable labels (`string`, `integer`, …) as the type they stand for. */
function translateType(dtype: string): string {
  const labels: Record<string, string> = {
    STRING: 'TEXT',
    TIMESTAMP: 'TIMESTAMP',
    FLOAT: 'FLOAT',
    INTEGER: 'INT',
    BOOLEAN: 'BOOLEAN',
  };
  return labels[dtype.toUpperCase()] ?? dtype;
}

/**
 * A column as dbt's Column gives it to templates: `name`/`column`, `dtype`/`data_type` (the type SQLite declares),
 * `quoted`, and the methods packages call (`is_string()`, `string_size()`, `is_number()`, …). The type's size in
 * parentheses (`varchar(20)`) is its char_size, or its precision and scale.
 */
export function columnValue(name: string, dtype: string): Record<string, unknown> {
  const base = dtype.toLowerCase().split('(')[0].trim();
  const size = /\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)/.exec(dtype);
  const isString = () => STRING_TYPES.includes(base);
  const isInteger = () => INTEGER_TYPES.includes(base);
  const isFloat = () => FLOAT_TYPES.includes(base);
  const isNumeric = () => NUMERIC_TYPES.includes(base);
  const stringSize = () => (isString() && size ? Number(size[1]) : 256);
  const numericType = () =>
    size?.[2] !== undefined ? `${dtype.split('(')[0].trim()}(${size[1]},${size[2]})` : dtype.split('(')[0].trim();
  return withGet({
    name,
    column: name,
    dtype,
    // As dbt's Column.data_type: a string type with its size, a numeric one with its precision and scale.
    data_type: isString() ? `character varying(${stringSize()})` : isNumeric() ? numericType() : dtype,
    quoted: `"${name.replaceAll('"', '""')}"`,
    char_size: isString() && size ? Number(size[1]) : null,
    numeric_precision: isNumeric() && size ? Number(size[1]) : null,
    numeric_scale: isNumeric() && size?.[2] !== undefined ? Number(size[2]) : null,
    is_string: isString,
    is_integer: isInteger,
    is_float: isFloat,
    is_numeric: isNumeric,
    is_number: () => isInteger() || isFloat() || isNumeric(),
    // dbt's size for a string column declared without one.
    string_size: stringSize,
    string_type: (length: unknown) => `character varying(${Number(length)})`,
    literal: (value: unknown) => `${outputText(value)}::${dtype}`,
  });
}

/** One render's JavaScript side: the functions, the `return()` frames, the first problem, what config() said. */
export class RenderState {
  problem: ContextProblem | undefined;
  /** A function asked for data that was not loaded: render again once it is. */
  neededData = false;
  /**
   * What the render read beyond its inputs (the template, macros, project, vars, target): the loaded data, the
   * environment, the clock. A render that read none of them gives the same SQL for the same inputs (renderMemo.ts).
   */
  readOutside: 'data' | 'environment' | 'clock' | undefined;
  readonly config: CapturedConfig = {};
  /** The models and seeds `ref()` named, in call order (the project graph's edges). */
  readonly refs: string[] = [];
  private readonly frames: { id: number; value?: unknown; returned: boolean; hasValue: boolean }[] = [];
  private nextFrame = 0;
  private readonly statements = new Map<string, { table: QueryTable }>();

  constructor(
    readonly environment: RenderEnvironment,
    /** The model being rendered (for `this`), if there is one. */
    readonly model: { name: string; schema: string } | undefined,
  ) {}

  fail(message: string, hint: string, site?: number, offset?: number, location?: FileLocation): undefined {
    this.problem ??= { message, hint, site, offset, location };
    return undefined;
  }

  get failed(): boolean {
    return this.problem !== undefined;
  }

  /** A macro starts (its prologue, jinjaRewrite's macroPrologue): its frame. */
  enter(): number {
    const id = this.nextFrame++;
    this.frames.push({ id, returned: false, hasValue: false });
    return id;
  }

  /**
   * A macro ends: its frame goes. A value a `return()` inside an expression handed over (the `return` function
   * below) comes back as `[value]`, else `[]` (a `return()` statement keeps its value in the template itself).
   */
  leave(id: number): unknown[] {
    let frame;
    while (this.frames.length && (frame = this.frames.pop())!.id !== id);
    return frame?.id === id && frame.hasValue ? [frame.value] : [];
  }

  /** A `return()` statement runs: true the first time in the macro (dbt's return ends the macro). */
  returning(): boolean {
    const frame = this.frames[this.frames.length - 1];
    if (!frame || frame.returned) return false;
    frame.returned = true;
    return true;
  }

  /** `return(value)` inside an expression: the value crosses to JavaScript and back (callables become text). */
  return(value: unknown): string {
    const frame = this.frames[this.frames.length - 1];
    if (frame && !frame.returned) {
      frame.returned = true;
      frame.hasValue = true;
      frame.value = plain(value);
    }
    return '';
  }

  /** After the macro already returned, dbt would have stopped: its remaining calls do nothing. */
  get returned(): boolean {
    return this.frames[this.frames.length - 1]?.returned ?? false;
  }

  statement(name: string, sql: string, site?: number): string {
    const table = this.query(sql, site);
    if (table) this.statements.set(name, { table });
    return '';
  }

  loadResult(name: string): unknown {
    const stored = this.statements.get(name);
    if (!stored) return null;
    return withGet({
      data: stored.table.rows,
      table: agateTable(stored.table),
      response: withGet({ rows_affected: stored.table.rows.length }),
    });
  }

  query(sql: string, site?: number): QueryTable | undefined {
    if (!this.environment.execute) return { columns: [], rows: [] };
    if (!this.environment.runQuery) {
      this.neededData = true;
      return { columns: [], rows: [] };
    }
    this.readOutside ??= 'data';
    try {
      return this.environment.runQuery(restoreRelations(sql));
    } catch (error) {
      return this.fail(
        `run_query failed: ${error instanceof Error ? error.message : String(error)}`,
        'Fix the query the template runs (it runs on the loaded data, read-only).',
        site,
      );
    }
  }
}

/** dbt's agate table, as far as templates use it: `columns[i].values()`, `rows`, `column_names`. */
function agateTable(table: QueryTable): unknown {
  return withGet({
    column_names: table.columns,
    columns: table.columns.map((name, index) => withGet({ name, values: () => table.rows.map((row) => row[index]) })),
    rows: table.rows,
  });
}

function siteOf(args: Args): number | undefined {
  const site = args.keywords.__lens_site;
  delete args.keywords.__lens_site;
  return typeof site === 'number' ? site : undefined;
}

/**
 * `body` for MiniJinja: an exception (a bug of ours) becomes the render's problem instead of a panic of the
 * WebAssembly instance.
 */
export function neverThrows<A extends unknown[]>(
  current: () => RenderState,
  body: (...args: A) => unknown,
): (...args: A) => unknown {
  return (...args: A) => {
    try {
      return body(...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return current().fail(`Segment Lens failed while rendering: ${message}`, 'Please report this.');
    }
  };
}

/** `value` with every function in it (and in what those return) unable to throw into MiniJinja. */
function guarded(value: unknown, current: () => RenderState): unknown {
  if (typeof value === 'function') {
    const body = value as (...args: unknown[]) => unknown;
    return neverThrows(current, (...args: unknown[]) => guarded(body(...args), current));
  }
  if (Array.isArray(value)) return value.map((item) => guarded(item, current));
  if (typeof value === 'object' && value !== null && !(value instanceof Map)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, guarded(item, current)]));
  }
  return value;
}

/** The functions and values a template sees, bound to one render's state (read through `current()`). */
export function contextGlobals(
  current: () => RenderState,
  /** The unique name of the macro `adapter.dispatch(name, namespace)` resolves to. */
  dispatch: (name: string, namespace: string | undefined) => string | undefined,
): Record<string, unknown> {
  /** Every function: never throws; does nothing once a problem was recorded or the macro returned. */
  const fn =
    (body: (state: RenderState, args: Args, site: number | undefined) => unknown) =>
    (...raw: unknown[]): unknown => {
      const state = current();
      if (state.failed) return undefined;
      let site: number | undefined;
      try {
        const args = splitArgs(raw);
        site = siteOf(args);
        return plain(body(state, args, site));
      } catch (error) {
        return state.fail(
          `Segment Lens failed inside a dbt function: ${error instanceof Error ? error.message : String(error)}`,
          'Please report this.',
          site,
        );
      }
    };
  const project = () => current().environment.project;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

  return {
    ref: fn((state, { positional, keywords }, site) => {
      const names = positional.map(text);
      const name = names[names.length - 1];
      if (name === undefined || names.length < 1 || names.length > 2 || names.some((item) => item === undefined)) {
        return state.fail(
          `ref() takes a model name, or a package and a model name; got ${JSON.stringify(positional)}.`,
          "Write {{ ref('model_name') }}.",
          site,
        );
      }
      void keywords; // `v=`/`version=` pick a model version; one version per model here.
      if (!state.refs.includes(name)) state.refs.push(name);
      const known = project();
      if (known && !known.nodes.has(name) && !state.environment.lenient) {
        const seedPaths = (known.seeds?.paths ?? []).map((folder) => path.relative(known.dir, folder) || '.');
        const searched = seedPaths.length ? seedPaths.join(', ') : 'seeds';
        const declared = known.seeds?.declared.get(name);
        if (declared) {
          return state.fail(
            `ref('${name}'): the seed ${name} (named in ${declared}) has no CSV file: there is no ${name}.csv in the project's seed-paths (${searched}, under ${known.dir}).`,
            `Put ${name}.csv in ${searched} (where dbt seed reads it), or remove ${name} from ${declared}.`,
            site,
          );
        }
        return state.fail(
          `ref('${name}'): the dbt project has no model or seed named ${name}.`,
          `Looked for ${name}.sql in the model-paths and ${name}.csv in the seed-paths (${searched}) of ${known.dir}: check the name, or use source() for a table dbt does not build.`,
          site,
        );
      }
      if (state.environment.ephemeral?.has(name))
        return relation(state.environment.target.schema, ephemeralCteName(name), 'main', true);
      return relation(
        relationSchemaOf(known, name, state.environment.target.schema),
        known?.modelAliases.get(name) ?? name,
        state.environment.target.database,
      );
    }),
    source: fn((state, { positional }, site) => {
      const [sourceName, table] = positional.map(text);
      if (sourceName === undefined || table === undefined) {
        return state.fail(
          `source() takes a source name and a table name; got ${JSON.stringify(positional)}.`,
          "Write {{ source('source_name', 'table_name') }}.",
          site,
        );
      }
      const known = project()?.sources.get(sourceName);
      return relation(
        known?.schema ?? sourceName,
        known?.identifiers.get(table) ?? table,
        state.environment.target.database,
      );
    }),
    config: fn((state, { positional, keywords }) => {
      const given = positional[0] instanceof Object ? (plain(positional[0]) as Record<string, unknown>) : {};
      Object.assign(state.config, given, keywords);
      return '';
    }),
    var: fn((state, { positional }, site) => {
      const [name, ...fallback] = positional;
      if (typeof name !== 'string')
        return state.fail(
          'var() takes the name of a variable.',
          "Write {{ var('name') }} or {{ var('name', default) }}.",
          site,
        );
      const given = state.environment.vars;
      if (given && Object.hasOwn(given, name)) return given[name];
      const vars = project()?.vars ?? {};
      // dbt_project.yml's vars scoped to the project (`vars: {shop: {x: 1}}`) come before its global ones.
      const scoped = project()?.name !== undefined ? vars[project()!.name!] : undefined;
      if (scoped && typeof scoped === 'object' && !Array.isArray(scoped) && Object.hasOwn(scoped, name)) {
        return (scoped as Record<string, unknown>)[name];
      }
      if (Object.hasOwn(vars, name)) return vars[name];
      if (fallback.length > 0) return fallback[0];
      if (state.environment.lenient) return '';
      const where = project() ? `under vars: in ${project()!.dir}/dbt_project.yml` : 'in a dbt_project.yml vars:';
      return state.fail(
        `Required var '${name}' is not set.`,
        `Set it ${where}, with segmentLens.vars (or --vars), or give var() a default.`,
        site,
      );
    }),
    env_var: fn((state, { positional }, site) => {
      const [name, ...fallback] = positional;
      if (typeof name !== 'string')
        return state.fail('env_var() takes the name of an environment variable.', "Write {{ env_var('NAME') }}.", site);
      state.readOutside ??= 'environment';
      const value = state.environment.env[name];
      if (value !== undefined) return value;
      if (fallback.length > 0) return fallback[0];
      if (state.environment.lenient) return '';
      if (state.environment.untrusted)
        return state.fail(
          `Environment variable ${name} is not read: the workspace is not trusted, so templates see no environment.`,
          `Trust the workspace to read ${name}, or give env_var() a default.`,
          site,
        );
      return state.fail(
        `Environment variable ${name} is not set.`,
        `Set ${name} in the environment VS Code (or the CLI) runs in, or give env_var() a default.`,
        site,
      );
    }),
    __lens_undefined: UNDEFINED_MARK,
    is_incremental: () => false,
    // dbt's run flags as `dbt run` sets them, and what it says of itself: packages read them to decide what to do.
    flags: { WHICH: 'run', FULL_REFRESH: false, STORE_FAILURES: false, WARN_ERROR: false, DEBUG: false },
    invocation_args_dict: { which: 'run', full_refresh: false },
    invocation_id: INVOCATION_ID,
    dbt_version: DBT_VERSION,
    fromjson: fn((_, { positional: [text, fallback = null] }) => {
      try {
        return JSON.parse(outputText(text));
      } catch {
        return fallback;
      }
    }),
    tojson: fn((_, { positional: [value] }) => pythonJson(value)),
    as_bool: fn((_, { positional: [value] }) =>
      typeof value === 'string'
        ? ['true', 'True'].includes(value) || (value !== 'false' && value !== 'False' && value)
        : value,
    ),
    as_number: fn((_, { positional: [value] }) =>
      typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value,
    ),
    as_text: fn((_, { positional: [value] }) => outputText(value)),
    as_native: fn((_, { positional: [value] }) => value),
    // Python's set() as dbt gives it: the distinct items, in first-seen order (a list here).
    set: fn((_, { positional: [value, fallback = null] }) =>
      Array.isArray(value) || typeof value === 'string' ? [...new Set(value)] : fallback,
    ),
    set_strict: fn((state, { positional: [value] }, site) =>
      Array.isArray(value) || typeof value === 'string'
        ? [...new Set(value)]
        : state.fail(`set_strict() takes a list; got ${outputText(value)}.`, 'Pass a list.', site),
    ),
    local_md5: fn((_, { positional: [value] }) => createHash('md5').update(outputText(value)).digest('hex')),
    run_query: fn((state, { positional }, site) => {
      if (state.returned) return null;
      const sql = positional[0];
      if (typeof sql !== 'string')
        return state.fail('run_query() takes the SQL to run, as text.', 'Pass the query as a string.', site);
      const table = state.query(sql, site);
      return table && agateTable(table);
    }),
    __lens_statement: fn((state, { positional }, site) => {
      if (state.returned) return '';
      const [name, sql] = positional;
      return state.statement(typeof name === 'string' ? name : 'main', outputText(sql), site);
    }),
    load_result: fn((state, { positional }) => state.loadResult(String(positional[0]))),
    log: fn((state, { positional }) => {
      state.environment.log?.(outputText(positional[0]));
      return '';
    }),
    print: fn((state, { positional }) => {
      state.environment.log?.(positional.map(outputText).join(' '));
      return '';
    }),
    return: fn((state, { positional }) => state.return(positional[0])),
    zip: fn((_, { positional }) => {
      const lists = positional.map((item) => (Array.isArray(item) ? item : []));
      const length = Math.min(...lists.map((list) => list.length));
      return Array.from({ length: Number.isFinite(length) ? length : 0 }, (_unused, index) =>
        lists.map((list) => list[index]),
      );
    }),
    exceptions: {
      raise_compiler_error: fn((state, { positional }, site) => {
        if (state.returned) return '';
        return state.fail(
          `Compilation error: ${outputText(positional[0])}`,
          'The model (or a macro it calls) raised this error itself.',
          site,
        );
      }),
      warn: fn((state, { positional }) => {
        state.environment.log?.(`warning: ${outputText(positional[0])}`);
        return '';
      }),
    },
    adapter: {
      quote: fn((_, { positional }) => `"${String(positional[0]).replaceAll('"', '""')}"`),
      get_columns_in_relation: fn((state, { positional }, site) => {
        if (state.returned) return [];
        const target = plain(positional[0]) as Record<string, unknown> | undefined;
        const schema = typeof target?.schema === 'string' ? target.schema : undefined;
        const identifier = typeof target?.identifier === 'string' ? target.identifier : undefined;
        if (!schema || !identifier)
          return state.fail(
            'adapter.get_columns_in_relation() takes a relation (ref() or source()).',
            'Pass ref(…) or source(…).',
            site,
          );
        if (!state.environment.execute) return [];
        if (!state.environment.columnsOf) {
          state.neededData = true;
          return [];
        }
        state.readOutside ??= 'data';
        const columns = state.environment.columnsOf(schema, identifier);
        if (!columns)
          return state.fail(
            `adapter.get_columns_in_relation(): ${schema}.${identifier} is not in the data.`,
            'Check the relation, or load the data that holds it.',
            site,
          );
        return columns.map((column) => columnValue(column.name, column.type));
      }),
    },
    modules: guarded(
      dbtModules(() => (current().readOutside ??= 'clock')),
      current,
    ),
    load_relation: fn((state, { positional }) => {
      const target = plain(positional[0]) as Record<string, unknown> | undefined;
      if (!state.environment.execute || typeof target?.schema !== 'string' || typeof target.identifier !== 'string')
        return null;
      if (!state.environment.columnsOf) {
        state.neededData = true;
        return null;
      }
      state.readOutside ??= 'data';
      return state.environment.columnsOf(target.schema, target.identifier)
        ? relation(target.schema, target.identifier)
        : null;
    }),
    api: {
      Relation: {
        create: fn((_, { keywords }) =>
          relation(
            String(keywords.schema ?? 'main'),
            String(keywords.identifier ?? keywords.name ?? ''),
            String(keywords.database ?? 'main'),
          ),
        ),
        add_ephemeral_prefix: fn((_, { positional }) => `__dbt__cte__${outputText(positional[0])}`),
      },
      // dbt's Column class.
      Column: {
        translate_type: fn((_, { positional }) => translateType(outputText(positional[0]))),
        create: fn((_, { positional }) =>
          columnValue(outputText(positional[0]), translateType(outputText(positional[1]))),
        ),
        string_type: fn((_, { positional }) => `character varying(${Number(positional[0])})`),
        numeric_type: fn((_, { positional: [dtype, precision, scale] }) =>
          precision === null || precision === undefined || scale === null || scale === undefined
            ? outputText(dtype)
            : `${outputText(dtype)}(${Number(precision)},${Number(scale)})`,
        ),
      },
    },
    __lens_get: fn((_, { positional }) => {
      const [target, key, fallback = null] = positional;
      if (target instanceof Map) return target.has(key) ? target.get(key) : fallback;
      if (typeof target === 'object' && target !== null && typeof key === 'string') {
        const record = target as Record<string, unknown>;
        return Object.hasOwn(record, key) ? record[key] : fallback;
      }
      return fallback;
    }),
    __lens_enter: neverThrows(current, () => current().enter()),
    __lens_leave: neverThrows(current, (frame: unknown) => (typeof frame === 'number' ? current().leave(frame) : [])),
    __lens_returning: neverThrows(current, () => current().returning()),
    __lens_dispatch: fn((state, { positional, keywords }, site) => {
      const name = String(positional[0] ?? keywords.macro_name ?? '');
      const namespace = positional[1] ?? keywords.macro_namespace;
      // Older packages pass `packages=[…]`: the namespaces to search, in order.
      const packages = Array.isArray(keywords.packages)
        ? keywords.packages.filter((item): item is string => typeof item === 'string')
        : [];
      const found =
        packages.map((item) => dispatch(name, item)).find((item) => item !== undefined) ??
        dispatch(name, typeof namespace === 'string' ? namespace : undefined);
      return (
        found ??
        state.fail(
          `adapter.dispatch('${name}'): no macro ${state.environment.target.type}__${name} or default__${name} was found.`,
          "Install the package that defines it (dbt deps), or define it in the project's macros.",
          site,
        )
      );
    }),
  };
}
