// Runs the segment model: settings → model file → Jinja → data → sql.js. Never imports `vscode`: the CLI, the
// tests and the extension all call this.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SqlValue } from 'sql.js';
import { LensError, type LensErrorValue } from './errors';
import { resolveSettings, type ConnectionSetting, type RawSettings } from './settings';
import { findDbtProjectDir, loadDbtProject, type DbtProject } from './dbtProject';
import { resolveDbtTarget } from './dbtProfile';
import { renderModel, type RenderedModel, type SourceMap } from './jinja';
import { buildLineage, type Lineage } from './lineage';
import { openCsvDirectory, openSqliteFiles, type LoadedData, type SourceInfo } from './dataSource';
import { loadSqlJs } from './sqljs';
import { extraStatementStarts, findName, loadSqlParser, tokenizeSql, topLevelWith, type SqlToken } from './sqlTokens';
import { quoteIdentifier } from './sqlNames';

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
  source: SourceInfo;
  model: { file: string; sample: boolean; renderedSql: string };
  timings: { renderMs: number; loadMs: number; queryMs: number; countMs: number; totalMs: number };
}

export type RunResult = Outcome<ModelResult>;

/** The key of the final select in `cteRowCounts`. */
export const FINAL_SELECT = '(final select)';

export function sampleModelFile(assets: EngineAssets): string {
  return path.join(assets.sampleDir, 'models', 'customer_segments.sql');
}

async function findModel(workspaceDir: string, model: string | undefined, assets: EngineAssets): Promise<{ file: string; sample: boolean }> {
  if (!model) return { file: sampleModelFile(assets), sample: true };
  const file = path.resolve(workspaceDir, model);
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
  open(): Promise<LoadedData>;
}

/** Resolves where the data is (cheap: settings and profiles.yml), so the model renders before any data loads. */
async function planData(connection: ConnectionSetting, request: RunRequest, project: DbtProject | undefined, assets: EngineAssets): Promise<DataPlan> {
  const workspace = request.workspaceDir;
  const plain = { name: 'dev', schema: 'main' };
  const sqlJs = () => loadSqlJs(assets.wasmPath);
  switch (connection.type) {
    case 'sample':
      return { target: plain, open: async () => openCsvDirectory(await sqlJs(), path.join(assets.sampleDir, 'seeds'), { type: 'sample', description: 'Bundled sample data' }, 'the bundled sample') };
    case 'csv': {
      const directory = path.resolve(workspace, connection.directory);
      return { target: plain, open: async () => openCsvDirectory(await sqlJs(), directory, { type: 'csv', description: `CSV ${path.relative(workspace, directory) || '.'}` }, 'segmentLens.connection.directory') };
    }
    case 'sqlite': {
      const hint = 'Check segmentLens.connection: paths are relative to the workspace folder.';
      const main = { schema: 'main', file: path.resolve(workspace, connection.path) };
      const attached = Object.entries(connection.attach).map(([schema, file]) => ({ schema, file: path.resolve(workspace, file) }));
      const description = `SQLite ${path.relative(workspace, main.file)}${attached.length ? ` + ${attached.map((item) => item.schema).join(', ')}` : ''}`;
      return { target: plain, open: async () => openSqliteFiles(await sqlJs(), main, attached, { type: 'sqlite', description }, hint) };
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
      const hint = `Check schemas_and_paths in ${target.profilesFile}: relative paths are resolved from the dbt project folder.`;
      const source = { type: 'dbt' as const, description: `dbt ${target.profile}.${target.target}`, profile: target.profile, target: target.target };
      return {
        target: { name: target.target, schema: target.schema },
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
function sqlError(message: string, context: { tokens?: SqlToken[]; sql: string; sourceMap: SourceMap; data: LoadedData; file: string }): LensError {
  const { tokens, sql, sourceMap, data, file } = context;
  const at = (range: { start: number; end: number } | undefined) => (range ? sourceMap.location(range.start, range.end) : undefined);
  let match: RegExpExecArray | null;
  if ((match = /^no such table: (.+)$/.exec(message))) {
    const name = match[1];
    const tables = data.allTables();
    return new LensError({
      code: 'missing-table',
      message: `Table ${name} does not exist in ${data.source.description}.`,
      hint: tables.length ? `Tables that exist: ${tables.join(', ')}.` : 'The data has no tables at all.',
      location: at(tokens && findName(tokens, name)),
    });
  }
  if ((match = /^no such column: (.+)$/.exec(message))) {
    const name = match[1];
    const mentioned = data.allTables().filter((qualified) => tokens?.some((token) => token.text.toLowerCase() === qualified.split('.')[1].toLowerCase()));
    const columns = mentioned.map((qualified) => {
      const [schema, table] = qualified.split('.');
      return `${qualified} (${data.columnsOf(schema, table).join(', ')})`;
    });
    return new LensError({
      code: 'missing-column',
      message: `Column ${name} does not exist in ${file}.`,
      hint: columns.length ? `Columns of the tables the model reads: ${columns.join('; ')}.` : 'Check the column name against your data.',
      location: at(tokens && findName(tokens, name)),
    });
  }
  if ((match = /^near "(.*)": syntax error$/s.exec(message))) {
    return new LensError({ code: 'sql-syntax', message: `SQL syntax error near "${match[1]}" in ${file}.`, hint: 'Fix the SQL at this position.', location: at(syntaxErrorRange(message, match[1], sql, tokens, data)) });
  }
  if (message === 'incomplete input') {
    const end = sql.trimEnd().length;
    return new LensError({ code: 'sql-syntax', message: `The SQL in ${file} ends too early (incomplete input).`, hint: 'Close every parenthesis, string and CASE … END.', location: at({ start: Math.max(0, end - 1), end }) });
  }
  if ((match = /^(?:ambiguous column name|no such function): (.+)$/.exec(message))) {
    return new LensError({ code: 'sql', message: `${message} (in ${file}).`, hint: message.startsWith('ambiguous') ? 'Qualify the column with its table alias.' : 'SQLite has no such function; use one it has.', location: at(tokens && findName(tokens, match[1])) });
  }
  if (/malformed|not a database/.test(message)) {
    return new LensError({ code: 'corrupt-database', message: `The data in ${data.source.description} cannot be read: ${message}.`, hint: 'A database file may be corrupt or truncated; restore it or rebuild it with dbt.' });
  }
  return new LensError({ code: 'sql', message: `SQLite error in ${file}: ${message}.`, hint: 'Fix the model\'s SQL.' });
}

/** SQLite names the token it choked on but not where: the first prefix of the SQL ending with it that fails the same way. */
function syntaxErrorRange(message: string, near: string, sql: string, tokens: SqlToken[] | undefined, data: LoadedData): { start: number; end: number } | undefined {
  const candidates = tokens ? tokens.filter((token) => token.raw === near).map((token) => token.start) : [...sql.matchAll(new RegExp(near.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'))].map((found) => found.index);
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
  tokens: SqlToken[] | undefined;
  plan: DataPlan;
  renderMs: number;
}

/** Settings → model file → dbt project → where the data is → rendered SQL, checked to be one statement. */
async function prepareModel(request: RunRequest, assets: EngineAssets): Promise<PreparedModel> {
  const settings = resolveSettings(request.settings);
  const model = await findModel(request.workspaceDir, settings.model, assets);
  const template = await readFile(model.file, 'utf8');
  const projectDir = model.sample ? await findDbtProjectDir(request.workspaceDir, request.workspaceDir) : await findDbtProjectDir(path.dirname(model.file), request.workspaceDir);
  const project = projectDir ? await loadDbtProject(projectDir) : undefined;
  const plan = await planData(settings.connection, request, project, assets);

  const renderStarted = performance.now();
  const rendered = renderModel(template, model.file, { project, target: { ...plan.target, type: 'sqlite' }, env: request.env ?? process.env });
  const renderMs = elapsed(renderStarted);
  const sql = rendered.sql;
  await loadSqlParser();
  const tokens = tokenizeSql(sql);
  if (tokens?.length === 0 || sql.trim() === '') {
    throw new LensError({ code: 'sql', message: `The model ${model.file} has no SQL to run.`, hint: 'Write the model\'s SELECT statement in the file.', location: { file: model.file, line: 1, column: 1 } });
  }
  const extra = tokens ? extraStatementStarts(tokens) : [];
  if (extra.length > 0) {
    throw new LensError({ code: 'sql', message: `The model ${model.file} holds more than one SQL statement.`, hint: 'A model is one SELECT; remove everything after the first statement\'s semicolon.', location: rendered.sourceMap.location(extra[0]) });
  }
  return { model, rendered, tokens, plan, renderMs };
}

async function run(request: RunRequest, assets: EngineAssets): Promise<ModelResult> {
  const started = performance.now();
  const { model, rendered, tokens, plan, renderMs } = await prepareModel(request, assets);
  const sql = rendered.sql;

  const loadStarted = performance.now();
  const data = await plan.open();
  const loadMs = elapsed(loadStarted);
  try {
    const context = { tokens, sql, sourceMap: rendered.sourceMap, data, file: model.file };
    data.main.run('PRAGMA query_only = ON');

    const queryStarted = performance.now();
    const rows: SqlValue[][] = [];
    let columns: string[];
    try {
      const statement = prepareWithSchemaAliases(data, sql);
      try {
        columns = statement.getColumnNames();
        while (statement.step()) rows.push(statement.get());
      } finally {
        statement.free();
      }
    } catch (error) {
      if (error instanceof LensError) throw error;
      throw sqlError((error as Error).message, context);
    }
    const queryMs = elapsed(queryStarted);

    const countStarted = performance.now();
    const cteRowCounts: Record<string, number> = {};
    const withClause = tokens && topLevelWith(tokens);
    for (const cte of withClause?.ctes ?? []) {
      const counted = data.main.exec(`${sql.slice(0, withClause!.end)} SELECT count(*) FROM ${quoteIdentifier(cte.name)}`);
      cteRowCounts[cte.name] = Number(counted[0].values[0][0]);
    }
    cteRowCounts[FINAL_SELECT] = rows.length;
    const countMs = elapsed(countStarted);
    return {
      columns,
      rows,
      cteRowCounts,
      source: data.source,
      model: { file: model.file, sample: model.sample, renderedSql: sql },
      timings: { renderMs, loadMs, queryMs, countMs, totalMs: elapsed(started) },
    };
  } finally {
    data.close();
  }
}

export interface LineageOfModel {
  model: { file: string; sample: boolean };
  source: SourceInfo;
  lineage: Lineage;
}

async function lineageOf(request: RunRequest, assets: EngineAssets): Promise<LineageOfModel> {
  const { model, rendered, tokens, plan } = await prepareModel(request, assets);
  const data = await plan.open();
  try {
    const lineage = buildLineage({ sql: rendered.sql, sourceMap: rendered.sourceMap, tokens: tokens ?? [], catalog: (table) => data.columnsOfWritten(table) });
    return { model, source: data.source, lineage };
  } finally {
    data.close();
  }
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
  return asOutcome(run(request, assets));
}

/** The model's column lineage, with `*` and unqualified columns resolved against the data's schemas. */
export function modelLineage(request: RunRequest, assets: EngineAssets): Promise<Outcome<LineageOfModel>> {
  return asOutcome(lineageOf(request, assets));
}
