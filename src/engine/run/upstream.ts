// Builds the models a model ref()s in sql.js, as `dbt run` would have built them in the warehouse: each upstream
// model (projectGraph.ts gives them in dependency order) the data does not already hold is rendered on the loaded
// data and created in its schema (an in-memory database attached under the schema's name when the data has none):
// a view as a view, a table or an incremental model as CREATE TABLE … AS. Each SELECT passes the same read-only guard
// as the model itself before our CREATE wraps it; the CREATE statements are the only writes, made with query_only off
// for just their time (writeStep). What was built stays with the data (the cache keeps it between runs), with a
// hash of its SQL and of everything it stands on: a relation is rebuilt only when that changes. An ephemeral model is
// never created: as dbt does, every model standing on it gets its SQL as a CTE (ephemeral.ts).
//
// Not yet as dbt: a view that reads another schema is created as a table (SQLite refuses a view across attached
// databases; the data never changes under it, so its rows are the same).
import { LensError, oneLine } from '../errors';
import { hashOf } from '../hash';
import { writeStep } from '../data/cache';
import type { LoadedData } from '../data/loadedData';
import type { PullUpstream } from '../data/postgres';
import { relationSchemaOf, type DbtProject } from '../model/dbtProject';
import { ephemeralCteName, injectEphemerals, type EphemeralModel } from '../model/ephemeral';
import type { RenderedModel } from '../model/jinja';
import { upstreamFailure, type UpstreamModel } from '../model/projectGraph';
import { quoteIdentifier, quoteString } from '../sql/names';
import { prepareQuery, type PreparedQuery } from './prepare';
import { readOnlyProblem } from './readOnly';
import { sqlError } from './sqlErrors';

export interface UpstreamOutcome {
  /** `schema.identifier` of each relation created (or re-created) by this call, in build order. */
  built: string[];
  /** Relations built before and unchanged since. */
  kept: string[];
  /** Every upstream relation, in dependency order: read from the data as it was, built now, or kept from before. */
  relations: UpstreamRelation[];
}

export interface UpstreamRelation {
  name: string;
  model: string;
  from: 'data' | 'built' | 'kept';
  rows: number;
  /** Time to build it (0 when read from the data or kept). */
  ms: number;
}

/**
 * The relation's row count, counted once per version of it: a relation read from the data never changes, and a built
 * one only with its hash. (Counting every upstream view again on each threshold edit scanned the raw tables under it.)
 */
function rowCount(data: LoadedData, name: string, hash: string): number {
  const key = name.toLowerCase();
  const known = data.relationRows.get(key);
  if (known?.hash === hash) return known.rows;
  const located = data.locate(name);
  if (!located) return 0;
  const count = data.main.exec(
    `SELECT count(*) FROM ${quoteIdentifier(located.schema)}.${quoteIdentifier(located.table)}`,
  );
  const rows = Number(count[0]?.values[0]?.[0] ?? 0);
  data.relationRows.set(key, { hash, rows });
  return rows;
}

/** How a materialization is created here. */
function kindOf(materialized: string): 'view' | 'table' {
  return ['view', 'ephemeral', 'materialized_view'].includes(materialized.toLowerCase()) ? 'view' : 'table';
}

/** What the build tells its caller as it goes, and asks it between models. */
export interface BuildHooks {
  /** Before each model built from SQL: its name, its place among those not read from the data, and their count. */
  building?: (model: string, index: number, total: number) => void;
  /** Between models: throws to stop the build (a cancelled run); what was built so far stays, complete. */
  checkpoint?: () => void;
  /**
   * The models the explored model ref()s. Given (a warehouse pull, which holds only what is read), `auto` builds
   * only the models those need: one whose every dependent reads from the data is left alone, as dbt would.
   */
  needs?: readonly string[];
}

/**
 * Creates, in order, each of `models` the data does not hold as it should; `render` renders a model on the data
 * (execute true, run_query answering). Ephemeral models are created in no mode: each is rendered, checked, and kept
 * in `ephemerals` for the models after it (and the explored model) to inject as CTEs.
 */
export function buildUpstream(
  mode: 'auto' | 'build' | 'data',
  data: LoadedData,
  models: readonly UpstreamModel[],
  project: DbtProject,
  targetSchema: string,
  render: (model: UpstreamModel) => RenderedModel,
  /** The model being explored, by name: a failure upstream says it stopped that model's run. */
  explored: string,
  ephemerals: Map<string, EphemeralModel>,
  hooks: BuildHooks = {},
): UpstreamOutcome {
  const outcome: UpstreamOutcome = { built: [], kept: [], relations: [] };
  /** What each model's relation was made from: a built one's hash, or the data's own relation. */
  const hashes = new Map<string, string>();
  const relationOf = (model: UpstreamModel) => {
    const schema = relationSchemaOf(project, model.name, targetSchema);
    const identifier = project.modelAliases.get(model.name) ?? model.name;
    const name = `${schema}.${identifier}`;
    return { schema, identifier, name, key: name.toLowerCase() };
  };
  // In `data` mode nothing is built (what the data lacks fails the query); in `auto` what the data holds is used.
  const skippedByMode = (model: UpstreamModel) => !isEphemeral(model) && mode === 'data';
  const fromData = (model: UpstreamModel) => {
    const { name, key } = relationOf(model);
    return !isEphemeral(model) && mode === 'auto' && !data.built.has(key) && data.locate(name) !== undefined;
  };
  const wanted = hooks.needs && mode === 'auto' ? wantedModels(models, hooks.needs, fromData) : undefined;
  const skipped = (model: UpstreamModel) => skippedByMode(model) || (wanted !== undefined && !wanted.has(model.name));
  const toBuild = models.filter((model) => !isEphemeral(model) && !skipped(model) && !fromData(model));
  for (const model of models) {
    if (skipped(model)) continue;
    const { name, key } = relationOf(model);
    if (fromData(model)) {
      hashes.set(model.name, `data:${key}`);
      outcome.relations.push({
        name,
        model: model.file,
        from: 'data',
        rows: rowCount(data, name, `data:${key}`),
        ms: 0,
      });
      continue;
    }
    hooks.checkpoint?.();
    try {
      const started = performance.now();
      const rendered = render(model);
      const injected = injectEphemerals(rendered, ephemerals);
      const select = injected.sql.replace(/[\s;]+$/, '');
      if (isEphemeral(model)) {
        checkSelect(data, select, prepareQuery(injected, model.file));
        ephemerals.set(model.name, { name: model.name, rendered });
        hashes.set(model.name, hashOf(['ephemeral', select]));
        continue;
      }
      const relation = relationOf(model);
      const kind = kindOf(model.materialized);
      const hash = hashOf([
        kind,
        relation.schema,
        relation.identifier,
        injected.sql,
        model.refs.map((ref) => hashes.get(ref) ?? ref),
      ]);
      hashes.set(model.name, hash);
      if (data.built.get(key)?.hash === hash) {
        outcome.kept.push(name);
        outcome.relations.push({ name, model: model.file, from: 'kept', rows: rowCount(data, name, hash), ms: 0 });
        continue;
      }
      hooks.building?.(model.name, toBuild.indexOf(model) + 1, toBuild.length);
      // Parsed only when built: a kept relation's SQL passed the same checks when it was built.
      const query = prepareQuery(injected, model.file);
      checkSelect(data, select, query);
      create(mode, data, model, relation, kind, hash, select, query);
      outcome.built.push(name);
      outcome.relations.push({
        name,
        model: model.file,
        from: 'built',
        rows: rowCount(data, name, hash),
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
    } catch (error) {
      if (error instanceof LensError) throw upstreamFailure(error, model, explored);
      throw error;
    }
  }
  return outcome;
}

/** The models `needs` stand on, stopping at each one read from the data (`models` in dependency order). */
function wantedModels(
  models: readonly UpstreamModel[],
  needs: readonly string[],
  fromData: (model: UpstreamModel) => boolean,
): Set<string> {
  const wanted = new Set(needs);
  for (const model of [...models].reverse()) {
    if (wanted.has(model.name) && !fromData(model)) for (const ref of model.refs) wanted.add(ref);
  }
  return wanted;
}

/**
 * The upstream models as a warehouse pull looks for them: where ref() puts each in the SQL (on PostgreSQL, where
 * the project's generate_schema_name, or dbt's, puts it), tried first on the server, then where dbt-postgres's
 * default puts a custom schema (`<target schema>_<custom>`), then the custom schema as is; and its SQL rendered before any
 * data (`render` gives undefined for one that cannot render without it). An ephemeral model is never on a server.
 */
export function pullUpstreamOf(
  models: readonly UpstreamModel[],
  project: DbtProject,
  targetSchema: string,
  render: (model: UpstreamModel) => RenderedModel | undefined,
): PullUpstream[] {
  const quoted = (schema: string, identifier: string) => `${quoteIdentifier(schema)}.${quoteIdentifier(identifier)}`;
  return models.map((model) => {
    const rendered = render(model);
    const sql = rendered && { sql: rendered.sql, sourceMap: rendered.sourceMap };
    if (isEphemeral(model)) return { written: ephemeralCteName(model.name), serverNames: [], ...(sql ? { sql } : {}) };
    const custom = project.modelSchemas.get(model.name);
    const identifier = project.modelAliases.get(model.name) ?? model.name;
    const schema = relationSchemaOf(project, model.name, targetSchema);
    const fallbacks = custom
      ? [quoted(`${targetSchema}_${custom.trim()}`, identifier), quoted(custom, identifier)]
      : [quoted(targetSchema, identifier)];
    return {
      written: `${schema}.${identifier}`,
      // Where ref() put it first (the project's generate_schema_name, on PostgreSQL), then dbt's usual places.
      serverNames: [...new Set([quoted(schema, identifier), ...fallbacks])],
      ...(sql ? { sql } : {}),
    };
  });
}

function isEphemeral(model: UpstreamModel): boolean {
  return model.materialized.toLowerCase() === 'ephemeral';
}

/** The model's SQL is one SELECT SQLite can prepare on the data, and only reads. */
function checkSelect(data: LoadedData, select: string, query: PreparedQuery): void {
  let problem: string | undefined;
  try {
    data.prepare(select).free();
    problem = readOnlyProblem(data.main, select);
  } catch (error) {
    throw sqlError((error as Error).message, query, data);
  }
  if (problem) {
    throw new LensError({
      code: 'sql',
      message: `The model ${query.file} is not one read-only SELECT: ${problem}.`,
      hint: 'A model is one SELECT (with CTEs); it never changes the data.',
    });
  }
}

/** Creates the model's relation (dropping what stood under its name before), and records it with the data. */
function create(
  mode: 'auto' | 'build' | 'data',
  data: LoadedData,
  model: UpstreamModel,
  { schema, identifier, name, key }: { schema: string; identifier: string; name: string; key: string },
  kind: 'view' | 'table',
  hash: string,
  select: string,
  query: PreparedQuery,
): void {
  const record = data.built.get(key);
  const relation = `${quoteIdentifier(schema)}.${quoteIdentifier(identifier)}`;
  const created = writeStep(data, () => {
    if (!data.schemaNames().some((attached) => attached.toLowerCase() === schema.toLowerCase()))
      attachSchema(data, schema, model);
    if (record) {
      data.main.run(`DROP ${record.kind === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS ${relation}`);
      data.built.delete(key);
    } else if (mode === 'build') {
      // The data's own copy of the relation gives way to the one built from SQL (in memory: files are never written).
      const located = data.locate(name);
      if (located && located.schema.toLowerCase() === schema.toLowerCase()) {
        const type = data.main.exec(
          `SELECT type FROM ${quoteIdentifier(located.schema)}.sqlite_master WHERE name = ${quoteString(located.table)}`,
        )[0]?.values[0]?.[0];
        data.main.run(
          `DROP ${type === 'view' ? 'VIEW' : 'TABLE'} ${quoteIdentifier(located.schema)}.${quoteIdentifier(located.table)}`,
        );
      }
    }
    try {
      if (kind === 'view') {
        try {
          data.main.run(`CREATE VIEW ${relation} AS ${select}`);
          return 'view' as const;
        } catch (error) {
          if (!/cannot reference objects in database/.test((error as Error).message)) throw error;
        }
      }
      data.main.run(`CREATE TABLE ${relation} AS ${select}`);
      return 'table' as const;
    } catch (error) {
      if (error instanceof LensError) throw error;
      throw sqlError((error as Error).message, query, data);
    }
  });
  data.built.set(key, { schema, identifier, kind: created, hash });
  data.buildCount++;
  // What was learnt about the old relation no longer holds.
  data.checks.clear();
  for (const unique of [...data.uniqueKeys]) if (unique.startsWith(`${key}.`)) data.uniqueKeys.delete(unique);
}

function attachSchema(data: LoadedData, schema: string, model: UpstreamModel): void {
  try {
    data.main.run(`ATTACH ':memory:' AS ${quoteIdentifier(schema)}`);
  } catch (error) {
    throw new LensError({
      code: 'settings',
      message: `Schema "${schema}" of ${model.file} cannot be created beside ${data.source.description}: ${oneLine((error as Error).message)}.`,
      hint: /too many attached/.test((error as Error).message)
        ? 'SQLite attaches at most 10 schemas besides the main one: the models upstream use too many schemas.'
        : 'Give the schema another name.',
    });
  }
}
