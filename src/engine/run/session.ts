// A model rendered and its data loaded, kept for the questions that follow a run: the result, the lineage, a CTE's
// rows, the customers behind a cell. The stages hand their products on in one direction:
// settings → model file → dbt project → data plan → rendered SQL → prepared query → loaded data → results.
import path from 'node:path';
import { LensError, oneLine, type FileLocation } from '../errors';
import { hashOf, identityOf } from '../hash';
import { layOut, loadData, type DataCache, type LayoutStep } from '../data/cache';
import { loadSqlJs } from '../data/sqljs';
import { ServerSqlError, SQLITE_DIALECT, type RowBound, type SqlDialect } from '../data/executor';
import type { LoadedData, SourceInfo } from '../data/loadedData';
import { planData } from '../data/plan';
import { projectOfModel, relationSchemaOf, type DbtProject } from '../model/dbtProject';
import { renderModel, withGeneratedSchemas, type RenderContext } from '../model/jinja';
import { jinjaRuntime } from '../model/jinjaRuntime';
import { loadMacroLibrary } from '../model/macroLibrary';
import { upstreamModels, type UpstreamModel } from '../model/projectGraph';
import { renderKept, renderMemoOf } from '../model/renderMemo';
import { readModelFile } from '../model/modelFile';
import { resolveSettings, resolveTimeout } from '../settings';
import { buildLineage, type Lineage } from '../sql/lineage';
import { quoteIdentifier, quoteString } from '../sql/names';
import { parseSql, statements, type SqlDialectName } from '../sql/syntax';
import { Workspace, type EngineAssets, type RunRequest } from '../workspace';
import { joinKeys, LineageGraph } from '../../shared/lineageGraph';
import { FINAL_SELECT, type UpstreamModelLineage } from '../../shared/lineageModel';
import type { RenderedModel } from '../model/jinja';
import type { RowPage, SqlValue } from '../../shared/rows';
import type { LensWarning } from '../../shared/problem';
import { DEFAULT_LIMITS, estimatedBytes, MAX_PAGE_ROWS, mib, type EngineLimits } from '../limits';
import { dataWarnings, segmentChecks, type SegmentCheck } from './checks';
import { optimizeLayout } from './layout';
import { prepareQuery, type PreparedQuery } from './prepare';
import { isQueryOnly, readOnlyProblem, statementProblem } from './readOnly';
import { serverSqlError, sqlError } from './sqlErrors';
import { buildUpstream, pullUpstreamOf, type UpstreamOutcome } from './upstream';
import { injectEphemerals, type EphemeralModel } from '../model/ephemeral';
import type { RunProgress } from '../../shared/progress';
import { recall, remember, type RememberedResult } from './resultMemo';
import { countKey, countOnce } from './countMemo';

export interface ModelResult {
  columns: string[];
  /** Rows as arrays in column order; numbers as numbers, NULL as null. */
  rows: SqlValue[][];
  /** Rows of each top-level CTE in order, then of the final select. */
  cteRowCounts: Record<string, number>;
  /**
   * What may make the numbers mislead, each at its place in the model: a join that fans out, text where numbers are
   * compared, a CASE branch that can never match or no row reaches, NULLs falling into ELSE (checks.ts).
   */
  warnings: LensWarning[];
  source: SourceInfo;
  model: { file: string; sample: boolean; renderedSql: string };
  /** What the model's Jinja logged (log(), print(), exceptions.warn()), in order. */
  logs: string[];
  /** The upstream models (the ones it ref()s, and theirs) created in the data for this run, or kept from before. */
  upstream: UpstreamOutcome;
  /**
   * What laying the data out for the model's joins did to each table, or why it left one as loaded (layout.ts);
   * empty when the data was laid out by an earlier run. The CLI prints it with --verbose.
   */
  layout: string[];
  /**
   * `dataReused`: the data was already in memory, unchanged on disk, so only the query ran; `dataRestored`: it was
   * read back from the disk cache (diskCache.ts) instead of loaded and laid out; `fromMemo`: the same inputs ran on
   * the same data before, and the result is that run's (resultMemo.ts): no query ran.
   */
  timings: {
    renderMs: number;
    loadMs: number;
    queryMs: number;
    countMs: number;
    totalMs: number;
    dataReused: boolean;
    dataRestored?: boolean;
    fromMemo?: boolean;
    /**
     * The upstream models' renders of this run (dbt's parse phase, and on the data): answered from memory (their
     * inputs unchanged, renderMemo.ts), and rendered.
     */
    upstreamRenders?: { reused: number; rendered: number };
  };
}

/** What the caller of a run hears while it goes, and how it stops one it no longer wants. */
export interface OpenOptions {
  onProgress?: (progress: RunProgress) => void;
  /** Asked between steps (before each upstream model): true stops the run with RunCancelled. */
  cancelled?: () => boolean;
}

/** The run was cancelled between two of its steps; what was built so far stays with the data, complete. */
export class RunCancelled extends Error {
  constructor() {
    super('The run was cancelled.');
    this.name = 'RunCancelled';
  }
}

type LineageOutcome = { lineage: Lineage; error?: undefined } | { lineage?: undefined; error: LensError };

/** The models a model stands on, and how to render each on the data: where its lineage continues. */
interface UpstreamSources {
  models: UpstreamModel[];
  /** `schema.identifier` of a model's relation. */
  relationOf: (model: UpstreamModel) => string;
  /** The model rendered on the data (the build's own render when it built it). */
  render: (model: UpstreamModel) => RenderedModel;
  /** The dialect they are read in, as the model is. */
  dialect: SqlDialectName;
}

/** What var() reads, for saying where a var the thresholds come from is set. */
export interface VarSources {
  given?: Record<string, unknown>;
  project?: DbtProject;
}

/** Lineages of upstream models kept per data at most; past it they are read again. */
const MAX_KEPT_LINEAGES = 500;

/** Each upstream model's lineage against the data (its columns as built), kept with the data while it is unchanged. */
function upstreamLineages(sources: UpstreamSources, data: LoadedData): UpstreamModelLineage[] {
  return sources.models.map((model) => {
    const entry = { model: model.name, file: model.file, relation: sources.relationOf(model) };
    try {
      const rendered = sources.render(model);
      // Keyed by the rendered SQL: an unchanged model is neither parsed nor walked again (each run asks).
      const key = JSON.stringify([data.buildCount, model.file, rendered.sql]);
      let outcome = data.upstreamLineages.get(key) as LineageOutcome | undefined;
      if (!outcome) {
        if (data.upstreamLineages.size >= MAX_KEPT_LINEAGES) data.upstreamLineages.clear();
        outcome = lineageOf(prepareQuery(rendered, model.file, sources.dialect), data);
        data.upstreamLineages.set(key, outcome);
      }
      return outcome.lineage ? { ...entry, lineage: outcome.lineage } : { ...entry, error: outcome.error.message };
    } catch (error) {
      if (error instanceof LensError) return { ...entry, error: error.message };
      throw error;
    }
  });
}

/** The model's lineage against the loaded data's schemas; a model that cannot be parsed is an outcome, not a throw. */
function lineageOf(query: PreparedQuery, data: LoadedData): LineageOutcome {
  try {
    return {
      lineage: buildLineage({
        sql: query.sql,
        sourceMap: query.sourceMap,
        parsed: query.parsed,
        catalog: (table) => data.columnsOfWritten(table),
        // Pushed down, the server names the result's columns.
        namedBy: data.executor ? 'postgresql' : 'sqlite',
      }),
    };
  } catch (error) {
    if (error instanceof LensError) return { error };
    throw error;
  }
}

/** Rows a template's run_query may fetch: enough for the pivots templates build, bounded for memory. */
const MAX_QUERY_ROWS = 100_000;

/** A template's run_query: one SELECT on the read-only data (query_only is the second guard). */
function readOnlyQuery(data: LoadedData, sql: string): { columns: string[]; rows: SqlValue[][] } {
  const parsed = parseSql(sql);
  const found = parsed.ok ? statements(parsed.program) : [];
  if (
    !parsed.ok ||
    found.length !== 1 ||
    (found[0].type !== 'select_stmt' && found[0].type !== 'compound_select_stmt')
  ) {
    throw new Error(parsed.ok ? 'only one SELECT can run' : `the SQL does not parse: ${parsed.message}`);
  }
  const early = statementProblem(sql);
  if (early) throw new Error(`only one read-only SELECT can run, and ${early}`);
  const statement = data.prepare(sql);
  try {
    const problem = readOnlyProblem(data.main, sql);
    if (problem) throw new Error(`only one read-only SELECT can run, and ${problem}`);
    const columns = statement.getColumnNames();
    const rows: SqlValue[][] = [];
    let bytes = 0;
    while (statement.step()) {
      if (rows.length >= MAX_QUERY_ROWS)
        throw new Error(`it returns more than ${MAX_QUERY_ROWS.toLocaleString('en')} rows`);
      const row = statement.get();
      bytes += estimatedBytes(row);
      if (bytes > DEFAULT_LIMITS.maxResultBytes)
        throw new Error(`its rows are more than ${mib(DEFAULT_LIMITS.maxResultBytes)} in memory`);
      rows.push(row);
    }
    return { columns, rows };
  } finally {
    statement.free();
  }
}

/** Columns and declared types of a relation of the data, as adapter.get_columns_in_relation gives them. */
function columnTypes(data: LoadedData, schema: string, table: string): { name: string; type: string }[] | undefined {
  const located = data.locate(`${schema}.${table}`);
  if (!located) return undefined;
  const rows =
    data.main.exec(
      `SELECT name, type FROM pragma_table_info(${quoteString(located.table)}, ${quoteString(located.schema)})`,
    )[0]?.values ?? [];
  return rows.map(([name, type]) => ({ name: String(name), type: String(type || 'text').toLowerCase() }));
}

/** run_query and the columns of a relation, answered from the loaded data. */
function dataFunctions(data: LoadedData): Pick<RenderContext, 'runQuery' | 'columnsOf'> {
  return {
    runQuery: (sql) => readOnlyQuery(data, sql),
    columnsOf: (schema, table) => columnTypes(data, schema, table),
  };
}

function refuseUnlessQuery(problem: string | undefined, file: string): void {
  if (!problem) return;
  throw new LensError({
    code: 'sql',
    message: `The model ${file} is not one read-only SELECT: ${problem}.`,
    hint: 'A model is one SELECT (with CTEs); it never changes the data.',
  });
}

/** Every query: the connection is read-only, and SQLite itself sees one statement that only reads (readOnly.ts). */
function assertReadOnly(data: LoadedData, sql: string, file: string): void {
  refuseUnlessQuery(readOnlyProblem(data.main, sql), file);
  // Our own invariant (loadData and layOut keep it), asserted before every query: never a user's problem.
  data.main.run('PRAGMA query_only = ON');
  if (!isQueryOnly(data.main)) throw new Error('Segment Lens: the data is not read-only before a query');
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 10) / 10;
}

export class ModelSession {
  private constructor(
    readonly model: { file: string; sample: boolean },
    private readonly query: PreparedQuery,
    readonly data: LoadedData,
    private readonly timings: {
      started: number;
      renderMs: number;
      loadMs: number;
      restored?: boolean;
      upstreamRenders?: { reused: number; rendered: number };
    },
    /** The data was already in memory (a cache hit). */
    readonly reusedData: boolean,
    /** The session loaded the data itself and frees it on close (else the cache owns it). */
    private readonly ownsData: boolean,
    /** The lineage, when laying the data out already built it. */
    private lineageBuilt?: LineageOutcome,
    private readonly logs: string[] = [],
    private readonly limits: EngineLimits = DEFAULT_LIMITS,
    private readonly upstream: UpstreamOutcome = { built: [], kept: [], relations: [] },
    private readonly layoutNotes: string[] = [],
    private readonly upstreamSources?: UpstreamSources,
    /** Where var() reads from: segmentLens.vars (or --vars), then the project's dbt_project.yml. */
    readonly varSources: VarSources = {},
    /** The run's cancel, asked while the model's query runs on a server (pushdown). */
    private readonly cancelled?: () => boolean,
    /** A key for everything the model was made from but the data (resultMemo.ts): settings, files, macros. */
    private readonly inputs?: string,
  ) {}

  /** Prepares the model and loads its data; with a cache, data already loaded and unchanged on disk is reused. */
  static async open(
    request: RunRequest,
    assets: EngineAssets,
    cache?: DataCache,
    options: OpenOptions = {},
  ): Promise<ModelSession> {
    const started = performance.now();
    const settings = resolveSettings(request.settings);
    const workspace = new Workspace(request);
    const model = await readModelFile(workspace, settings.model, assets);
    const loadedProject = await projectOfModel(model, workspace);
    const plan = await planData(settings.connection, workspace, loadedProject, assets, {
      timeoutSeconds: resolveTimeout(request.settings.timeoutSeconds),
      maxRows: settings.pullMaxRows,
      postgresMode: settings.postgresMode,
    });

    // Data saved by an earlier session is read from disk while the model renders; and sql.js is loaded (once per
    // worker) before the render, not after it, so that V8 optimises SQLite's interpreter in the background while the
    // model renders and parses, not during the query (sqljs.ts).
    cache?.readAhead(plan, settings.upstream ?? 'auto');
    await loadSqlJs(assets.wasmPath);
    // A PostgreSQL target renders as dbt-postgres compiles: dispatch finds postgres__ macros, then default__.
    const target = { type: 'sqlite' as const, ...plan.target };
    const { library, text: macroText } = await loadMacroLibrary(loadedProject, target.type);
    const logs: string[] = [];
    /** The ephemeral models upstream: ref() gives each as the CTE it becomes. */
    const ephemeral = new Set<string>();
    const parseContext: RenderContext = {
      jinja: jinjaRuntime(assets.jinjaDir),
      library,
      macroText,
      project: loadedProject,
      target,
      env: workspace.env,
      untrusted: !workspace.trusted,
      vars: settings.vars,
    };
    // On PostgreSQL, ref() and `this` name the schema dbt-postgres builds each model in (generate_schema_name).
    const project =
      loadedProject && target.type === 'postgres' ? withGeneratedSchemas(loadedProject, parseContext) : loadedProject;
    // The upstream models' renders that repeat (a threshold edit of this model) come from memory (renderMemo.ts).
    const renders = project ? renderMemoOf(project) : undefined;
    const rendersBefore = { reused: renders?.reused ?? 0, rendered: renders?.rendered ?? 0 };
    const context: RenderContext = {
      ...parseContext,
      project,
      execute: true,
      log: (message) => logs.push(message),
      ephemeral,
      renders,
    };
    const renderStarted = performance.now();
    // The template renders before any data loads (its errors come first); one that queries the data (run_query,
    // the columns of a relation) renders again once the data is there.
    let rendered = renderModel(model.text, model.file, context);
    // The models it stands on, in dependency order, as dbt's parse phase reads them (a cycle is an error here).
    const self = path.basename(model.file, path.extname(model.file));
    const upstreamOf = (refs: string[]) => {
      const found = model.sample ? [] : upstreamModels(refs, context, self);
      for (const node of found) if (node.materialized.toLowerCase() === 'ephemeral') ephemeral.add(node.name);
      return found;
    };
    let upstream = upstreamOf(rendered.refs);
    // A ref() to an ephemeral model renders as its CTE: render again now that they are known.
    if (rendered.refs.some((ref) => ephemeral.has(ref))) {
      logs.length = 0;
      rendered = renderModel(model.text, model.file, context);
    }
    const built: UpstreamOutcome = { built: [], kept: [], relations: [] };
    /** Each upstream model as the last build rendered it (the lineage reads the same SQL). */
    const lastRenders = new Map<string, RenderedModel>();
    // Their log() calls are not the model's: the model's logs stay its own.
    const renderUpstream = (data: LoadedData, node: UpstreamModel) => {
      const rendered = renderKept(node.text, node.file, { ...context, ...dataFunctions(data), log: undefined });
      lastRenders.set(node.name, rendered);
      return rendered;
    };
    /** An upstream model rendered before any data, for a warehouse pull to read; undefined when it needs the data. */
    const renderBeforeData = (node: UpstreamModel) => {
      try {
        return renderKept(node.text, node.file, { ...context, log: undefined });
      } catch (error) {
        if (error instanceof LensError) return undefined;
        throw error;
      }
    };
    /** The ephemeral models rendered on the data, for the models standing on them to inject. */
    const ephemerals = new Map<string, EphemeralModel>();
    /** Builds the upstream models the data lacks (upstream.ts), each rendered on the data. */
    const buildOn = (data: LoadedData) => {
      const mode = settings.upstream ?? 'auto';
      if (!project || upstream.length === 0) return;
      const outcome = buildUpstream(
        mode,
        data,
        upstream,
        project,
        context.target.schema,
        (node) => renderUpstream(data, node),
        self,
        ephemerals,
        {
          building: (name, index, total) => options.onProgress?.({ stage: 'build', model: name, index, total }),
          checkpoint: () => {
            if (options.cancelled?.()) throw new RunCancelled();
          },
          // A warehouse pull holds what is read: only what the model's refs lack is built.
          ...(plan.modelKey ? { needs: rendered.refs } : {}),
        },
      );
      for (const name of outcome.built) if (!built.built.includes(name)) built.built.push(name);
      for (const name of outcome.kept)
        if (!built.kept.includes(name) && !built.built.includes(name)) built.kept.push(name);
      // The last build is what the data holds now (a render on the data may build again).
      built.relations = outcome.relations.map((relation) =>
        relation.from === 'kept' && built.built.includes(relation.name) ? { ...relation, from: 'built' } : relation,
      );
    };
    const load = async () => {
      options.onProgress?.({ stage: 'load' });
      // Data built with upstream models from SQL is not the data as loaded: the mode is part of what is cached.
      // A warehouse is pulled by what the model as rendered so far reads.
      const pull = {
        ...rendered,
        cancelled: options.cancelled,
        onProgress: options.onProgress,
        // A warehouse pulls the upstream models it holds, and the inputs of those it lacks (built here after).
        ...(plan.modelKey && project
          ? { upstream: pullUpstreamOf(upstream, project, context.target.schema, renderBeforeData) }
          : {}),
      };
      const got = cache
        ? await cache.get(plan, settings.upstream ?? 'auto', pull)
        : { data: await loadData(plan, pull), reused: false, restored: false };
      try {
        buildOn(got.data);
      } catch (error) {
        if (!cache) got.data.close();
        throw error;
      }
      return got;
    };
    let loaded: { data: LoadedData; reused: boolean; restored: boolean; ms: number } | undefined;
    if (rendered.neededData) {
      logs.length = 0;
      const loadStarted = performance.now();
      loaded = { ...(await load()), ms: 0 };
      loaded.ms = elapsed(loadStarted);
      const data = loaded.data;
      rendered = renderModel(model.text, model.file, {
        ...context,
        ...dataFunctions(data),
      });
      // A ref the data decided (run_query's answer) may stand on more models.
      const more = upstreamOf(rendered.refs);
      if (more.some((node) => !upstream.some((known) => known.name === node.name))) {
        upstream = more;
        try {
          buildOn(data);
          // Refs to ephemeral models found only now render as their CTEs.
          if (rendered.refs.some((ref) => ephemeral.has(ref))) {
            logs.length = 0;
            rendered = renderModel(model.text, model.file, { ...context, ...dataFunctions(data) });
          }
        } catch (error) {
          if (!cache) data.close();
          throw error;
        }
      }
    }
    const renderMs = elapsed(renderStarted) - (loaded?.ms ?? 0);
    // The model's own SQL is checked before the data loads; the ephemeral models it stands on join it after.
    const dialect = plan.dialect ?? 'sqlite';
    let query = prepareQuery(rendered, model.file, dialect);

    // Fresh data is laid out for the joins the model makes (a model our parser cannot read is left as is); the
    // lineage built for that is the session's too.
    let lineage: LineageOutcome | undefined;
    let layoutNotes: string[] = [];
    const layout: LayoutStep = (data) => {
      lineage = lineageOf(query, data);
      if (lineage.lineage) layoutNotes = optimizeLayout(data, joinKeys(new LineageGraph(lineage.lineage)), query.sql);
    };
    const loadStarted = performance.now();
    const { data, reused, restored } = loaded ?? (await load());
    if (ephemerals.size > 0) {
      try {
        query = prepareQuery(injectEphemerals(rendered, ephemerals), model.file, dialect);
      } catch (error) {
        if (!cache) data.close();
        throw error;
      }
    }
    try {
      layOut(data, layout);
    } catch (error) {
      // Data that failed its layout is not kept: the next run loads it afresh (and fails the same way, if the file
      // is still corrupt, rather than on a half-laid-out copy).
      if (cache) cache.clear();
      else data.close();
      if (error instanceof LensError) throw error;
      throw new LensError({
        code: 'sql',
        message: `The data in ${data.source.description} could not be prepared for ${model.file}: ${oneLine(String((error as Error)?.message ?? error))}.`,
        hint: 'Check the data files with sqlite3; if they read there, please report this.',
      });
    }
    const timings = {
      started,
      renderMs,
      loadMs: elapsed(loadStarted) + (loaded?.ms ?? 0),
      restored,
      upstreamRenders: {
        reused: (renders?.reused ?? 0) - rendersBefore.reused,
        rendered: (renders?.rendered ?? 0) - rendersBefore.rendered,
      },
    };
    const upstreamSources: UpstreamSources | undefined = project
      ? {
          // An ephemeral model is no relation: its SQL is a CTE of the models standing on it, lineage included.
          models: upstream.filter((node) => !ephemeral.has(node.name)),
          relationOf: (node) =>
            `${relationSchemaOf(project, node.name, context.target.schema)}.${project.modelAliases.get(node.name) ?? node.name}`,
          render: (node) => injectEphemerals(lastRenders.get(node.name) ?? renderUpstream(data, node), ephemerals),
          dialect,
        }
      : undefined;
    return new ModelSession(
      { file: model.file, sample: model.sample },
      query,
      data,
      timings,
      reused,
      !cache,
      lineage,
      logs,
      { ...DEFAULT_LIMITS, ...request.limits },
      built,
      layoutNotes,
      upstreamSources,
      { given: settings.vars, project },
      options.cancelled,
      hashOf([
        request.settings,
        workspace.trusted,
        workspace.env,
        model.file,
        model.text,
        identityOf(library),
        upstream.map((node) => [node.name, node.file, node.text, node.materialized]),
        project && [project.dir, project.vars, [...project.modelSchemas], [...project.modelAliases]],
      ]),
    );
  }

  /**
   * The same model with other rendered SQL (a what-if: the thresholds changed), on the same data and lineage. It
   * never owns the data: closing it leaves this session's data as it is.
   */
  variant(sql: string): ModelSession {
    const query = prepareQuery({ sql, sourceMap: this.query.sourceMap }, this.model.file, this.query.dialect);
    return new ModelSession(
      this.model,
      query,
      this.data,
      { started: performance.now(), renderMs: 0, loadMs: 0 },
      true,
      false,
      this.lineageBuilt,
      this.logs,
      this.limits,
      this.upstream,
      [],
      this.upstreamSources,
      this.varSources,
      this.cancelled,
      this.inputs,
    );
  }

  get sql(): string {
    return this.query.sql;
  }

  /** Top-level CTEs of the model, in order, with where their names are in the file. */
  get ctes(): { name: string; location: FileLocation }[] {
    return (this.query.withClause?.ctes ?? []).map((cte) => ({
      name: cte.name,
      location: this.query.sourceMap.location(cte.nameStart, cte.nameEnd),
    }));
  }

  /** A CTE of the model as the SQL the session adds names it where the queries run. */
  private cteReference(cte: { name: string; nameStart: number }): string {
    return this.dialect.cteReference(cte.name, /^["`[]/.test(this.sql.slice(cte.nameStart, cte.nameStart + 1)));
  }

  /** How the SQL the session adds around the model's is written where the queries run. */
  private get dialect(): SqlDialect {
    return this.data.executor?.dialect ?? SQLITE_DIALECT;
  }

  /** `a = ? AND b = ?` (NULL matching NULL) for the filters, its parameters numbered from `first`. */
  private filterWhere(filters: { column: string }[], first = 1): string {
    const dialect = this.dialect;
    return filters.length
      ? ` WHERE ${filters.map((filter, index) => dialect.nullSafeEquals(quoteIdentifier(filter.column), dialect.parameter(first + index))).join(' AND ')}`
      : '';
  }

  /**
   * Runs one SELECT where the model runs: on the loaded data, or on the server it stands for (pushdown); with a
   * bound, a result past it is refused as it is read, before it is all built.
   */
  private async select(
    sql: string,
    params: SqlValue[] = [],
    bound?: RowBound,
    cancelled?: () => boolean,
  ): Promise<{ columns: string[]; rows: SqlValue[][] }> {
    const executor = this.data.executor;
    if (!executor) return this.selectLoaded(sql, params, bound);
    refuseUnlessQuery(statementProblem(sql), this.model.file);
    // The server's session is read-only (postgres.ts): that is the guard there.
    try {
      return await executor.select(sql, params, bound, cancelled);
    } catch (error) {
      // The server's error at its place in the model file.
      throw error instanceof ServerSqlError ? serverSqlError(error, sql, this.query) : error;
    }
  }

  private selectLoaded(sql: string, params: SqlValue[], bound?: RowBound): { columns: string[]; rows: SqlValue[][] } {
    const rows: SqlValue[][] = [];
    let bytes = 0;
    try {
      refuseUnlessQuery(statementProblem(sql), this.model.file);
      const statement = this.data.prepare(sql);
      try {
        assertReadOnly(this.data, sql, this.model.file);
        statement.bind(params);
        const columns = statement.getColumnNames();
        while (statement.step()) {
          if (!bound) {
            rows.push(statement.get());
            continue;
          }
          if (bound.maxRows !== undefined && rows.length >= bound.maxRows) throw bound.tooMany!();
          const row = statement.get();
          bytes += estimatedBytes(row);
          if (bytes > bound.maxBytes) throw bound.tooLarge(rows.length + 1);
          rows.push(row);
        }
        return { columns, rows };
      } finally {
        statement.free();
      }
    } catch (error) {
      if (error instanceof LensError) throw error;
      throw sqlError((error as Error).message, this.query, this.data);
    }
  }

  /** Runs the model; `rowCounts: false` skips counting each CTE's rows, `warnings: false` the data checks. */
  async run(options: { rowCounts?: boolean; warnings?: boolean } = {}): Promise<ModelResult> {
    const queryStarted = performance.now();
    const memo =
      this.inputs === undefined
        ? undefined
        : hashOf([this.inputs, this.sql, this.limits, options.rowCounts !== false, options.warnings !== false]);
    const remembered = memo === undefined ? undefined : recall(this.data, memo);
    if (remembered) return this.result(remembered, 0);
    const { maxResultRows, maxResultBytes } = this.limits;
    const file = this.query.file;
    const { columns, rows } = await this.select(
      this.sql,
      [],
      {
        maxRows: maxResultRows,
        maxBytes: maxResultBytes,
        tooMany: () =>
          new LensError({
            code: 'too-large',
            message: `The result of ${file} has more than ${maxResultRows.toLocaleString('en')} rows; Segment Lens holds at most ${maxResultRows.toLocaleString('en')}.`,
            hint: 'Aggregate or filter in the model (the segment grid needs a row per region and segment), or add a LIMIT to look at a sample.',
          }),
        tooLarge: (read) =>
          new LensError({
            code: 'too-large',
            message: `The result of ${file} is more than Segment Lens holds in memory (over ${mib(maxResultBytes)} after ${read.toLocaleString('en')} rows).`,
            hint: 'Select fewer or narrower columns, aggregate in the model, or add a LIMIT to look at a sample.',
          }),
      },
      this.cancelled,
    );
    const queryMs = elapsed(queryStarted);
    const countStarted = performance.now();
    const cteRowCounts: Record<string, number> = {};
    // A what-if variant skips the data checks and counts (it only needs the result).
    const graph = options.warnings === false ? undefined : this.graph();
    const checks = graph
      ? segmentChecks(
          graph,
          this.ctes.map((cte) => cte.name),
        )
      : [];
    const counted = new Map<SegmentCheck, SqlValue[]>();
    for (const cte of options.rowCounts === false ? [] : (this.query.withClause?.ctes ?? [])) {
      // The checks' sums are SQLite SQL: on a server (pushdown) the CTEs are counted alone.
      const mine = this.data.executor ? [] : checks.filter((check) => check.cte === cte.name);
      cteRowCounts[cte.name] = await this.countRows(cte, mine, counted);
    }
    cteRowCounts[FINAL_SELECT] = rows.length;
    const computed: RememberedResult = {
      columns,
      rows,
      cteRowCounts,
      warnings: [
        ...this.data.notes.map((message): LensWarning => ({ code: 'data-note', severity: 'warning', message })),
        // A table the data checks cannot read is an error naming it (checks.ts), as the query's own would be.
        ...(graph ? dataWarnings(this.data, graph) : []),
        ...checks.flatMap((check) => check.warnings(counted.get(check))),
      ],
    };
    if (memo !== undefined) remember(this.data, memo, computed);
    return this.result(computed, queryMs, countStarted);
  }

  /** The result of a run: what it computed (or a run before it did) and this run's own logs, upstream and times. */
  private result(computed: RememberedResult, queryMs: number, countStarted?: number): ModelResult {
    const { started, renderMs, loadMs, restored, upstreamRenders } = this.timings;
    const fromMemo = countStarted === undefined;
    return {
      ...computed,
      logs: this.logs,
      upstream: this.upstream,
      layout: this.layoutNotes,
      source: this.data.source,
      model: { ...this.model, renderedSql: this.sql },
      timings: {
        renderMs,
        loadMs,
        queryMs,
        countMs: countStarted === undefined ? 0 : elapsed(countStarted),
        totalMs: elapsed(started),
        dataReused: this.reusedData,
        dataRestored: restored ?? false,
        fromMemo,
        upstreamRenders: upstreamRenders ?? { reused: 0, rendered: 0 },
      },
    };
  }

  /** The model's lineage, continued into each model it stands on (`upstreamModels`). */
  lineage(): Lineage {
    this.lineageBuilt ??= lineageOf(this.query, this.data);
    if (this.lineageBuilt.error) throw this.lineageBuilt.error;
    const lineage = this.lineageBuilt.lineage;
    if (!this.upstreamSources?.models.length || lineage.upstreamModels) return lineage;
    lineage.upstreamModels = upstreamLineages(this.upstreamSources, this.data);
    return lineage;
  }

  /** The lineage as a graph, for the checks (checks.ts); none when the model has no lineage. */
  private graph(): LineageGraph | undefined {
    try {
      return new LineageGraph(this.lineage());
    } catch (error) {
      if (error instanceof LensError) return undefined;
      throw error;
    }
  }

  /**
   * Rows of a top-level CTE, and in the same pass the sums the segment checks on it ask for (one pass over the CTE,
   * not one per check), kept in `counted` for each check.
   */
  private async countRows(
    cte: { name: string; nameStart: number },
    checks: SegmentCheck[],
    counted: Map<SegmentCheck, SqlValue[]>,
  ): Promise<number> {
    const withClause = this.query.withClause!;
    const prefix = `${this.sql.slice(0, withClause.end)} SELECT count(*)`;
    const from = ` FROM ${this.cteReference(cte)}`;
    const terms = checks.flatMap((check) => check.terms);
    // A CTE the edit did not touch (nor any it reads) is counted once per version of the data (countMemo.ts).
    const index = withClause.ctes.findIndex((candidate) => candidate.nameStart === cte.nameStart);
    const countedOnce = async (tail: string, params: SqlValue[], cancelled?: () => boolean) =>
      countOnce(
        this.data,
        index === -1 ? undefined : countKey(this.sql, withClause, index, tail, params),
        async () => (await this.select(`${prefix}${tail}`, params, undefined, cancelled)).rows[0],
      );
    if (terms.length > 0) {
      try {
        const row = await countedOnce(
          `, ${terms.join(', ')}${from}`,
          checks.flatMap((check) => check.params),
        );
        let at = 1;
        for (const check of checks) {
          counted.set(check, [row[0], ...row.slice(at, at + check.terms.length)]);
          at += check.terms.length;
        }
        return Number(row[0]);
      } catch (error) {
        // The sums only add counts to the checks' warnings: the row count never fails for them.
        if (!(error instanceof LensError)) throw error;
      }
    }
    return Number((await countedOnce(from, [], this.cancelled))[0]);
  }

  /**
   * A page of a CTE's rows, optionally only those whose columns equal the given values (NULL matches NULL).
   * The CTE and the columns must be the model's own.
   */
  async cteRows(
    cte: string,
    filters: { column: string; value: SqlValue }[],
    offset: number,
    limit: number,
  ): Promise<RowPage> {
    const { known, withSql, from, name } = this.cteQuery(cte);
    await this.checkColumns(known.name, from, filters);
    const where = this.filterWhere(filters);
    const values = filters.map((filter) => filter.value);
    const total = Number((await this.select(`${withSql} SELECT count(*) FROM ${name}${where}`, values)).rows[0][0]);
    // A page is at most MAX_PAGE_ROWS rows (the panel asks for 50) and within the result's memory budget.
    const rows = Math.min(MAX_PAGE_ROWS, Math.max(0, Math.floor(limit)));
    const paging = `LIMIT ${this.dialect.parameter(values.length + 1)} OFFSET ${this.dialect.parameter(values.length + 2)}`;
    const page = await this.select(`${from}${where} ${paging}`, [...values, rows, Math.max(0, Math.floor(offset))], {
      maxBytes: this.limits.maxResultBytes,
      tooLarge: () =>
        new LensError({
          code: 'too-large',
          message: `A page of ${rows} rows of CTE ${known.name} is more than Segment Lens holds in memory (${mib(this.limits.maxResultBytes)}).`,
          hint: 'Select fewer or narrower columns in the CTE.',
        }),
    });
    return { columns: page.columns, rows: page.rows, total };
  }

  /** The model's CTE of that name (a name the model does not define is refused), as `WITH … SELECT * FROM cte`. */
  private cteQuery(cte: string): { known: { name: string }; withSql: string; from: string; name: string } {
    const withClause = this.query.withClause;
    const known = withClause?.ctes.find((candidate) => candidate.name.toLowerCase() === cte.toLowerCase());
    if (!withClause || !known)
      throw new LensError({
        code: 'sql',
        message: `The model has no CTE named ${cte}.`,
        hint: `Its CTEs are ${this.ctes.map((item) => item.name).join(', ') || 'none'}.`,
      });
    const withSql = this.sql.slice(0, withClause.end);
    const name = this.cteReference(known);
    return { known, withSql, from: `${withSql} SELECT * FROM ${name}`, name };
  }

  /** Refuses a filter on a column the CTE does not have; its columns otherwise. */
  private async checkColumns(cte: string, from: string, filters: { column: string }[]): Promise<string[]> {
    const columns = (await this.select(`${from} LIMIT 0`)).columns;
    for (const filter of filters) {
      if (!columns.includes(filter.column))
        throw new LensError({
          code: 'missing-column',
          message: `CTE ${cte} has no column ${filter.column}.`,
          hint: `Its columns are ${columns.join(', ')}.`,
        });
    }
    return columns;
  }

  /**
   * The rows of a CTE that differ between this model and a variant of it (a what-if), a page at a time: `moved` is
   * `out` for a row as this model has it, `in` for the row as the variant has it (a customer whose segment changed
   * is listed twice, out then in). With `filters`, only the rows whose columns equal the values on their own side.
   */
  async movedRows(
    variant: ModelSession,
    cte: string,
    filters: { column: string; value: SqlValue }[],
    offset: number,
    limit: number,
  ): Promise<RowPage> {
    const before = this.cteQuery(cte);
    const after = variant.cteQuery(cte);
    const columns = await this.checkColumns(before.known.name, before.from, filters);
    const values = filters.map((filter) => filter.value);
    // Every subquery named: PostgreSQL (pushdown) wants an alias on each.
    const side = (label: string, from: string, other: string, first: number) =>
      `SELECT ${quoteString(label)} AS moved, * FROM (SELECT * FROM (${from}) AS this_side EXCEPT SELECT * FROM (${other}) AS other_side) AS changed${this.filterWhere(filters, first)}`;
    const moved = `${side('out', before.from, after.from, 1)} UNION ALL ${side('in', after.from, before.from, values.length + 1)}`;
    const total = Number(
      (await this.select(`SELECT count(*) FROM (${moved}) AS moved_rows`, [...values, ...values])).rows[0][0],
    );
    // A customer's two rows together (by the CTE's first column, its key as models write them), the row it left first.
    const order = ['2', 'moved DESC', ...columns.slice(1).map((_, index) => String(index + 3))].join(', ');
    const rows = Math.min(MAX_PAGE_ROWS, Math.max(0, Math.floor(limit)));
    const paging = `LIMIT ${this.dialect.parameter(2 * values.length + 1)} OFFSET ${this.dialect.parameter(2 * values.length + 2)}`;
    const page = await this.select(
      `SELECT * FROM (${moved}) AS moved_rows ORDER BY ${order} ${paging}`,
      [...values, ...values, rows, Math.max(0, Math.floor(offset))],
      {
        maxBytes: this.limits.maxResultBytes,
        tooLarge: () =>
          new LensError({
            code: 'too-large',
            message: `A page of ${rows} moved rows of CTE ${before.known.name} is more than Segment Lens holds in memory (${mib(this.limits.maxResultBytes)}).`,
            hint: 'Select fewer or narrower columns in the CTE.',
          }),
      },
    );
    return { columns: page.columns, rows: page.rows, total };
  }

  close(): void {
    if (this.ownsData) this.data.close();
  }
}
