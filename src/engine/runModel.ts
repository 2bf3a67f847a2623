// Runs the segment model: settings → model file → Jinja → data → sql.js. Never imports `vscode`: the CLI, the
// tests and the extension all call this.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SqlValue } from 'sql.js';
import { LensError, type FileLocation, type LensErrorValue } from './errors';
import { resolveSettings, type ConnectionSetting, type RawSettings } from './settings';
import { findDbtProjectDir, loadDbtProject, type DbtProject } from './dbtProject';
import { resolveDbtTarget } from './dbtProfile';
import { renderModel, type RenderedModel, type SourceMap } from './jinja';
import { buildLineage, type Lineage } from './lineage';
import { joinKeysOf, optimizeLayout } from './layout';
import { dataWarnings } from './checks';
import { openCsvDirectory, openSqliteFiles, type LoadedData, type SourceInfo } from './dataSource';
import { loadSqlJs } from './sqljs';
import { findName, parseSql, statements, topLevelWith, type CstNode, type ParsedSql, type TopLevelWith } from './sqlSyntax';
import { quoteIdentifier } from './sqlNames';
import { FINAL_SELECT } from './constants';

export interface EngineAssets {
  /** sql.js's wasm, shipped in the extension's own folder. */
  wasmPath: string;
  /** The bundled sample: `models/customer_segments.sql` and `seeds/`. */
  sampleDir: string;
}

export interface RunRequest {
  workspaceDir: string;
  settings: RawSettings;
  env?: Record<string, string | undefined>;
  homeDir?: string;
  /** False in a workspace VS Code does not trust: then no file outside the workspace folder is read. */
  trusted?: boolean;
}

/** In an untrusted workspace, refuses a path (from a setting or a profile) that leads outside the workspace folder. */
function checkInside(request: RunRequest, file: string, setting: string): void {
  if (request.trusted !== false) return;
  const relative = path.relative(request.workspaceDir, file);
  if (relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))) return;
  throw new LensError({
    code: 'outside-workspace',
    setting,
    message: `${file} (${setting}) is outside the workspace folder, and the workspace is not trusted.`,
    hint: 'Trust the workspace to read data outside it, or keep the data inside the workspace folder.',
  });
}

export interface CteRowCount {
  name: string;
  rows: number;
}

export interface ModelResult {
  columns: string[];
  /** Rows as arrays in column order; numbers as numbers, NULL as null. */
  rows: SqlValue[][];
  /** Rows of each top-level CTE in order, then of the final select. */
  cteRowCounts: Record<string, number>;
  /** What in the data may make the numbers mislead (a join that fans out, text where numbers are compared). */
  warnings: string[];
  source: SourceInfo;
  model: { file: string; sample: boolean; renderedSql: string };
  /** `dataReused`: the data was already in memory, unchanged on disk, so only the query ran. */
  timings: { renderMs: number; loadMs: number; queryMs: number; countMs: number; totalMs: number; dataReused: boolean };
}

export type RunResult = Outcome<ModelResult>;


export function sampleModelFile(assets: EngineAssets): string {
  return path.join(assets.sampleDir, 'models', 'customer_segments.sql');
}

async function findModel(request: RunRequest, model: string | undefined, assets: EngineAssets): Promise<{ file: string; sample: boolean }> {
  if (!model) return { file: sampleModelFile(assets), sample: true };
  const file = path.resolve(request.workspaceDir, model);
  checkInside(request, file, 'segmentLens.model');
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    throw new LensError({
      code: info ? 'not-a-file' : 'file-not-found',
      setting: 'segmentLens.model',
      message: info ? `The model ${file} (segmentLens.model) is a folder, not a SQL file.` : `The model file ${file} (segmentLens.model) does not exist.`,
      hint: 'Set segmentLens.model to the model\'s .sql file relative to the workspace, or leave it empty for the bundled sample.',
    });
  }
  return { file, sample: false };
}

interface DataPlan {
  /** dbt's target name and schema, for Jinja's `target`. */
  target: { name: string; schema: string };
  /** Files and folders the data is read from: their sizes and times say whether a loaded copy is still current. */
  sources: string[];
  open(): Promise<LoadedData>;
}

/** Size and modification time of every source file (the CSV files of a folder): equal fingerprints, same data. */
async function fingerprint(sources: string[]): Promise<string> {
  const parts: [string, number, number][] = [];
  for (const source of sources) {
    const info = await stat(source).catch(() => undefined);
    if (!info) {
      parts.push([source, -1, -1]);
      continue;
    }
    if (!info.isDirectory()) {
      parts.push([source, info.size, info.mtimeMs]);
      continue;
    }
    for (const entry of await readdir(source, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile() || !entry.name.toLowerCase().endsWith('.csv')) continue;
      const file = path.join(entry.parentPath, entry.name);
      const fileInfo = await stat(file);
      parts.push([file, fileInfo.size, fileInfo.mtimeMs]);
    }
  }
  return JSON.stringify(parts.sort((a, b) => a[0].localeCompare(b[0])));
}

/** Loads the data, lays it out for the model, then makes it read-only for the model's query. */
async function loadData(plan: DataPlan, prepare: (data: LoadedData) => void): Promise<LoadedData> {
  const data = await plan.open();
  try {
    prepare(data);
    data.main.run('PRAGMA query_only = ON');
  } catch (error) {
    data.close();
    throw error;
  }
  return data;
}

/**
 * Keeps the last data loaded, in memory, while its source files are unchanged: a model edit re-runs only the query.
 * One entry: a different source replaces (and frees) it.
 */
export class DataCache {
  private entry: { key: string; data: LoadedData } | undefined;

  async get(plan: DataPlan, prepare: (data: LoadedData) => void): Promise<{ data: LoadedData; reused: boolean }> {
    const key = JSON.stringify([plan.target, await fingerprint(plan.sources)]);
    if (this.entry?.key === key) return { data: this.entry.data, reused: true };
    this.clear();
    const data = await loadData(plan, prepare);
    this.entry = { key, data };
    return { data, reused: false };
  }

  clear(): void {
    this.entry?.data.close();
    this.entry = undefined;
  }
}

/** Resolves where the data is (cheap: settings and profiles.yml), so the model renders before any data loads. */
async function planData(connection: ConnectionSetting, request: RunRequest, project: DbtProject | undefined, assets: EngineAssets): Promise<DataPlan> {
  const workspace = request.workspaceDir;
  const plain = { name: 'dev', schema: 'main' };
  const sqlJs = () => loadSqlJs(assets.wasmPath);
  switch (connection.type) {
    case 'sample':
      return { target: plain, sources: [path.join(assets.sampleDir, 'seeds')], open: async () => openCsvDirectory(await sqlJs(), path.join(assets.sampleDir, 'seeds'), { type: 'sample', description: 'Bundled sample data' }, 'the bundled sample') };
    case 'csv': {
      const directory = path.resolve(workspace, connection.directory);
      checkInside(request, directory, 'segmentLens.connection.directory');
      return { target: plain, sources: [directory], open: async () => openCsvDirectory(await sqlJs(), directory, { type: 'csv', description: `CSV ${path.relative(workspace, directory) || '.'}` }, 'segmentLens.connection.directory') };
    }
    case 'sqlite': {
      const hint = 'Check segmentLens.connection: paths are relative to the workspace folder.';
      const main = { schema: 'main', file: path.resolve(workspace, connection.path) };
      const attached = Object.entries(connection.attach).map(([schema, file]) => ({ schema, file: path.resolve(workspace, file) }));
      checkInside(request, main.file, 'segmentLens.connection.path');
      for (const item of attached) checkInside(request, item.file, `segmentLens.connection.attach.${item.schema}`);
      const description = `SQLite ${path.relative(workspace, main.file)}${attached.length ? ` + ${attached.map((item) => item.schema).join(', ')}` : ''}`;
      return { target: plain, sources: [main.file, ...attached.map((item) => item.file)], open: async () => openSqliteFiles(await sqlJs(), main, attached, { type: 'sqlite', description }, hint) };
    }
    case 'dbt': {
      const target = await resolveDbtTarget({
        workspaceDir: workspace,
        projectDir: project?.dir,
        projectProfile: project?.profile,
        setting: connection,
        env: request.env ?? process.env,
        homeDir: request.homeDir ?? process.env.HOME ?? workspace,
      });
      for (const file of [target.profilesFile, target.main.file, ...target.attached.map((item) => item.file)]) checkInside(request, file, 'segmentLens.connection');
      const hint = `Check schemas_and_paths in ${target.profilesFile}: relative paths are resolved from the dbt project folder.`;
      const source = { type: 'dbt' as const, description: `dbt ${target.profile}.${target.target}`, profile: target.profile, target: target.target };
      return {
        target: { name: target.target, schema: target.schema },
        sources: [target.profilesFile, target.main.file, ...target.attached.map((item) => item.file)],
        open: async () => {
          const data = await openSqliteFiles(await sqlJs(), target.main, target.attached, source, hint);
          data.source.files.push(target.profilesFile);
          return data;
        },
      };
    }
  }
}

/** Turns an SQLite error into one that points at the model file and says what to do. */
function sqlError(message: string, context: { program?: CstNode; sql: string; sourceMap: SourceMap; data: LoadedData; file: string }): LensError {
  const { program, sql, sourceMap, data, file } = context;
  const at = (range: { start: number; end: number } | undefined) => (range ? sourceMap.location(range.start, range.end) : undefined);
  let match: RegExpExecArray | null;
  if ((match = /^no such table: (.+)$/.exec(message))) {
    const name = match[1];
    const tables = data.allTables();
    return new LensError({
      code: 'missing-table',
      message: `Table ${name} does not exist in ${data.source.description}.`,
      hint: [tables.length ? `Tables that exist: ${tables.join(', ')}.` : 'The data has no tables at all.', ...data.notes].join(' '),
      location: at(program && findName(program, name)),
    });
  }
  if ((match = /^no such column: (.+)$/.exec(message))) {
    const name = match[1];
    const mentioned = data.allTables().filter((qualified) => program && findName(program, qualified.split('.')[1]));
    const columns = mentioned.map((qualified) => {
      const [schema, table] = qualified.split('.');
      return `${qualified} (${data.columnsOf(schema, table).join(', ')})`;
    });
    return new LensError({
      code: 'missing-column',
      message: `Column ${name} does not exist in ${file}.`,
      hint: columns.length ? `Columns of the tables the model reads: ${columns.join('; ')}.` : 'Check the column name against your data.',
      location: at(program && findName(program, name)),
    });
  }
  if ((match = /^near "(.*)": syntax error$/s.exec(message))) {
    return new LensError({ code: 'sql-syntax', message: `SQL syntax error near "${match[1]}" in ${file}.`, hint: 'Fix the SQL at this position.', location: at(syntaxErrorRange(message, match[1], sql, data)) });
  }
  if (message === 'incomplete input') {
    const end = sql.trimEnd().length;
    return new LensError({ code: 'sql-syntax', message: `The SQL in ${file} ends too early (incomplete input).`, hint: 'Close every parenthesis, string and CASE … END.', location: at({ start: Math.max(0, end - 1), end }) });
  }
  if ((match = /^(?:ambiguous column name|no such function): (.+)$/.exec(message))) {
    return new LensError({ code: 'sql', message: `${message} (in ${file}).`, hint: message.startsWith('ambiguous') ? 'Qualify the column with its table alias.' : 'SQLite has no such function; use one it has.', location: at(program && findName(program, match[1])) });
  }
  if (/malformed|not a database/.test(message)) {
    return new LensError({ code: 'corrupt-database', message: `The data in ${data.source.description} cannot be read: ${message}.`, hint: 'A database file may be corrupt or truncated; restore it or rebuild it with dbt.' });
  }
  return new LensError({ code: 'sql', message: `SQLite error in ${file}: ${message}.`, hint: 'Fix the model\'s SQL.' });
}

/** SQLite names the token it choked on but not where: the first prefix of the SQL ending with it that fails the same way. */
function syntaxErrorRange(message: string, near: string, sql: string, data: LoadedData): { start: number; end: number } | undefined {
  const candidates: number[] = [];
  for (let index = sql.indexOf(near); index !== -1 && near !== ''; index = sql.indexOf(near, index + 1)) candidates.push(index);
  for (const start of candidates.slice(0, 500)) {
    try {
      data.main.prepare(sql.slice(0, start + near.length)).free();
    } catch (error) {
      if ((error as Error).message === message) return { start, end: start + near.length };
    }
  }
  return undefined;
}

function prepareWithSchemaAliases(data: LoadedData, sql: string) {
  for (let attempt = 0; ; attempt++) {
    try {
      return data.main.prepare(sql);
    } catch (error) {
      const missing = /^no such table: ([^.]+)\.(.+)$/.exec((error as Error).message);
      if (!missing || attempt > 10 || !data.aliasSchema(missing[1], missing[2])) throw error;
    }
  }
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 10) / 10;
}

interface PreparedModel {
  model: { file: string; sample: boolean };
  rendered: RenderedModel;
  parsed: ParsedSql;
  plan: DataPlan;
  renderMs: number;
}

/** Settings → model file → dbt project → where the data is → rendered SQL, checked to be one statement. */
async function prepareModel(request: RunRequest, assets: EngineAssets): Promise<PreparedModel> {
  const settings = resolveSettings(request.settings);
  const model = await findModel(request, settings.model, assets);
  const template = await readFile(model.file, 'utf8');
  const projectDir = model.sample ? await findDbtProjectDir(request.workspaceDir, request.workspaceDir) : await findDbtProjectDir(path.dirname(model.file), request.workspaceDir);
  const project = projectDir ? await loadDbtProject(projectDir) : undefined;
  const plan = await planData(settings.connection, request, project, assets);

  const renderStarted = performance.now();
  const rendered = renderModel(template, model.file, { project, target: { ...plan.target, type: 'sqlite' }, env: request.env ?? process.env });
  const renderMs = elapsed(renderStarted);
  const sql = rendered.sql;
  // SQLite decides whether the SQL is valid; the parse serves the row counts, error positions and lineage.
  const parsed = parseSql(sql);
  const found = parsed.ok ? statements(parsed.program) : undefined;
  if (found?.length === 0 || sql.trim() === '') {
    throw new LensError({ code: 'sql', message: `The model ${model.file} has no SQL to run.`, hint: 'Write the model\'s SELECT statement in the file.', location: { file: model.file, line: 1, column: 1 } });
  }
  // One read-only query: anything else is refused before it reaches SQLite (query_only is the second guard).
  const first = found?.[0];
  if (first && first.type !== 'select_stmt' && first.type !== 'compound_select_stmt') {
    const keyword = sql.slice(first.range?.[0] ?? 0).match(/^\s*([A-Za-z]+(?:\s+[A-Za-z]+)?)/)?.[1]?.toUpperCase() ?? first.type;
    throw new LensError({ code: 'sql', message: `The model ${model.file} is a ${keyword} statement; Segment Lens runs one read-only SELECT.`, hint: 'A model is one SELECT (with CTEs); it never changes the data.', location: rendered.sourceMap.location(first.range?.[0] ?? 0) });
  }
  if (found && found.length > 1) {
    throw new LensError({ code: 'sql', message: `The model ${model.file} holds more than one SQL statement.`, hint: 'A model is one SELECT; remove everything after the first statement\'s semicolon.', location: rendered.sourceMap.location(found[1].range?.[0] ?? 0) });
  }
  return { model, rendered, parsed, plan, renderMs };
}

type LineageOutcome = { lineage: Lineage; error?: undefined } | { lineage?: undefined; error: LensError };

/** The model's lineage against the loaded data's schemas; a model that cannot be parsed is an outcome, not a throw. */
function lineageOutcome(prepared: PreparedModel, data: LoadedData): LineageOutcome {
  const { rendered, parsed } = prepared;
  try {
    return { lineage: buildLineage({ sql: rendered.sql, sourceMap: rendered.sourceMap, parsed, catalog: (table) => data.columnsOfWritten(table) }) };
  } catch (error) {
    if (error instanceof LensError) return { error };
    throw error;
  }
}

export interface RowPage {
  columns: string[];
  rows: SqlValue[][];
  /** Rows in all, past this page. */
  total: number;
}

/**
 * A model rendered and its data loaded, kept for the questions that follow a run: the lineage, a CTE's rows, the
 * customers behind a cell. Close it to free the in-memory copy of the data.
 */
export class ModelSession {
  private readonly withClause: TopLevelWith | undefined;

  private constructor(
    private readonly prepared: PreparedModel,
    readonly data: LoadedData,
    private readonly loadMs: number,
    private readonly started: number,
    /** The data was already in memory (a cache hit). */
    readonly reusedData: boolean,
    /** The session loaded the data itself and frees it on close (else the cache owns it). */
    private readonly ownsData: boolean,
    /** The lineage, when loading the data already built it. */
    private lineageBuilt?: LineageOutcome,
  ) {
    this.withClause = prepared.parsed.ok ? topLevelWith(prepared.parsed.program) : undefined;
  }

  /** Prepares the model and loads its data; with a cache, data already loaded and unchanged on disk is reused. */
  static async open(request: RunRequest, assets: EngineAssets, cache?: DataCache): Promise<ModelSession> {
    const started = performance.now();
    const prepared = await prepareModel(request, assets);
    const loadStarted = performance.now();
    // Lay fresh data out for the joins the model makes (a model our parser cannot read is left as is); the
    // lineage built for that is the session's too.
    let lineage: LineageOutcome | undefined;
    const prepare = (data: LoadedData) => {
      lineage = lineageOutcome(prepared, data);
      if (lineage.lineage) optimizeLayout(data, joinKeysOf(lineage.lineage));
    };
    if (cache) {
      const { data, reused } = await cache.get(prepared.plan, prepare);
      return new ModelSession(prepared, data, elapsed(loadStarted), started, reused, false, lineage);
    }
    const data = await loadData(prepared.plan, prepare);
    return new ModelSession(prepared, data, elapsed(loadStarted), started, false, true, lineage);
  }

  get model(): { file: string; sample: boolean } {
    return this.prepared.model;
  }

  get sql(): string {
    return this.prepared.rendered.sql;
  }

  /** Top-level CTEs of the model, in order, with where their names are in the file. */
  get ctes(): { name: string; location: FileLocation }[] {
    return (this.withClause?.ctes ?? []).map((cte) => ({ name: cte.name, location: this.prepared.rendered.sourceMap.location(cte.nameStart, cte.nameEnd) }));
  }

  private query(sql: string, params: SqlValue[] = []): { columns: string[]; rows: SqlValue[][] } {
    const { parsed, rendered, model } = this.prepared;
    const rows: SqlValue[][] = [];
    try {
      const statement = prepareWithSchemaAliases(this.data, sql);
      try {
        statement.bind(params);
        const columns = statement.getColumnNames();
        while (statement.step()) rows.push(statement.get());
        return { columns, rows };
      } finally {
        statement.free();
      }
    } catch (error) {
      if (error instanceof LensError) throw error;
      throw sqlError((error as Error).message, { program: parsed.ok ? parsed.program : undefined, sql: this.sql, sourceMap: rendered.sourceMap, data: this.data, file: model.file });
    }
  }

  run(): ModelResult {
    const queryStarted = performance.now();
    const { columns, rows } = this.query(this.sql);
    const queryMs = elapsed(queryStarted);
    const countStarted = performance.now();
    const cteRowCounts: Record<string, number> = {};
    for (const cte of this.withClause?.ctes ?? []) {
      cteRowCounts[cte.name] = Number(this.query(`${this.sql.slice(0, this.withClause!.end)} SELECT count(*) FROM ${quoteIdentifier(cte.name)}`).rows[0][0]);
    }
    cteRowCounts[FINAL_SELECT] = rows.length;
    return {
      columns,
      rows,
      cteRowCounts,
      warnings: [...this.data.notes, ...this.warnings()],
      source: this.data.source,
      model: { ...this.model, renderedSql: this.sql },
      timings: { renderMs: this.prepared.renderMs, loadMs: this.loadMs, queryMs, countMs: elapsed(countStarted), totalMs: elapsed(this.started), dataReused: this.reusedData },
    };
  }

  lineage(): Lineage {
    this.lineageBuilt ??= lineageOutcome(this.prepared, this.data);
    if (this.lineageBuilt.error) throw this.lineageBuilt.error;
    return this.lineageBuilt.lineage!;
  }

  /** What in the data may make this model's numbers mislead (see checks.ts). */
  private warnings(): string[] {
    try {
      return dataWarnings(this.data, this.lineage());
    } catch (error) {
      if (error instanceof LensError) return [];
      throw error;
    }
  }

  /**
   * A page of a CTE's rows, optionally only those whose columns equal the given values (NULL matches NULL).
   * The CTE and the columns must be the model's own.
   */
  cteRows(cte: string, filters: { column: string; value: SqlValue }[], offset: number, limit: number): RowPage {
    const known = this.withClause?.ctes.find((candidate) => candidate.name.toLowerCase() === cte.toLowerCase());
    if (!known) throw new LensError({ code: 'sql', message: `The model has no CTE named ${cte}.`, hint: `Its CTEs are ${this.ctes.map((item) => item.name).join(', ') || 'none'}.` });
    const withSql = this.sql.slice(0, this.withClause!.end);
    const from = `${withSql} SELECT * FROM ${quoteIdentifier(known.name)}`;
    const columns = this.query(`${from} LIMIT 0`).columns;
    for (const filter of filters) {
      if (!columns.includes(filter.column)) throw new LensError({ code: 'missing-column', message: `CTE ${known.name} has no column ${filter.column}.`, hint: `Its columns are ${columns.join(', ')}.` });
    }
    const where = filters.length ? ` WHERE ${filters.map((filter) => `${quoteIdentifier(filter.column)} IS ?`).join(' AND ')}` : '';
    const values = filters.map((filter) => filter.value);
    const total = Number(this.query(`${withSql} SELECT count(*) FROM ${quoteIdentifier(known.name)}${where}`, values).rows[0][0]);
    const page = this.query(`${from}${where} LIMIT ? OFFSET ?`, [...values, Math.max(0, Math.floor(limit)), Math.max(0, Math.floor(offset))]);
    return { columns: page.columns, rows: page.rows, total };
  }

  close(): void {
    if (this.ownsData) this.data.close();
  }
}

async function withSession<T>(request: RunRequest, assets: EngineAssets, use: (session: ModelSession) => T): Promise<T> {
  const session = await ModelSession.open(request, assets);
  try {
    return use(session);
  } finally {
    session.close();
  }
}

export interface LineageOfModel {
  model: { file: string; sample: boolean };
  source: SourceInfo;
  lineage: Lineage;
}

export type Outcome<T> = { ok: true; result: T } | { ok: false; error: LensErrorValue };

/** Problems with the user's input come back as values, never as exceptions. */
async function asOutcome<T>(work: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, result: await work };
  } catch (error) {
    if (error instanceof LensError) return { ok: false, error: error.value };
    throw error;
  }
}

/** Runs the model on the data. */
export function runModel(request: RunRequest, assets: EngineAssets): Promise<RunResult> {
  return asOutcome(withSession(request, assets, (session) => session.run()));
}

/** The model's column lineage, with `*` and unqualified columns resolved against the data's schemas. */
export function modelLineage(request: RunRequest, assets: EngineAssets): Promise<Outcome<LineageOfModel>> {
  return asOutcome(withSession(request, assets, (session) => ({ model: session.model, source: session.data.source, lineage: session.lineage() })));
}
