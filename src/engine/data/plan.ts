// Where the data is, resolved from the connection setting without reading any data (cheap: settings and
// profiles.yml), so the model renders before anything loads. The plan says what to read and how to open it.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { seedsOfFolder, type DbtSeeds } from '../model/seedConfig';
import { LensError } from '../errors';
import { fileStamp } from '../files';
import { DEFAULT_PULL_MAX_ROWS, DEFAULT_TIMEOUT_SECONDS, type ConnectionSetting, type PostgresMode } from '../settings';
import { Workspace, type EngineAssets } from '../workspace';
import { openCsvDirectory } from './csvFolder';
import { resolveDbtTarget } from './dbtProfile';
import { jinjaRuntime } from '../model/jinjaRuntime';
import type { LoadedData, SourceInfo } from './loadedData';
import { loadSqlJs } from './sqljs';
import {
  postgresUrl,
  pullKey,
  pullPostgres,
  SET_PASSWORD_COMMAND,
  sqliteCannotRun,
  withStoredPassword,
  type PostgresTarget,
  type PullRequest,
} from './postgres';
import type { SqlDialectName } from '../sql/syntax';
import type { DbtTarget } from '../model/dbtContext';
import type { DbtAdapter } from '../model/macroLibrary';
import { openSqliteFiles } from './sqliteFiles';

export interface DataPlan {
  /** dbt's target for Jinja's `target`: its name and schema; a PostgreSQL server's type and fields (else SQLite). */
  target: { name: string; schema: string; type?: DbtAdapter } & Partial<Omit<DbtTarget, 'type'>>;
  /** Files and folders the data is read from: their sizes and times say whether a loaded copy is still current. */
  sources: string[];
  /**
   * The data depends on the model: a warehouse is pulled by the relations and columns the model reads, and those are
   * part of what a loaded copy was loaded for (see DataCache).
   */
  modelKey?: (request: PullRequest) => string;
  /** The PostgreSQL server the data is on (its password resolved), for the Set Password command to name. */
  server?: PostgresTarget;
  /** The dialect the model is read in: PostgreSQL's for a PostgreSQL server (else SQLite's). */
  dialect?: SqlDialectName;
  open(request?: PullRequest): Promise<LoadedData>;
}

export interface PlanOptions {
  /** segmentLens.timeoutSeconds: a warehouse's statement_timeout. */
  timeoutSeconds?: number;
  /** segmentLens.pull.maxRows: the most rows a warehouse pull brings into memory. */
  maxRows?: number;
  /** segmentLens.postgres.mode: pull, run on the server (pushdown), or choose by maxRows. */
  postgresMode?: PostgresMode;
}

/** A warehouse plan: pulls what the rendered model reads (the request), within the run's timeout. */
function pullPlan(
  target: { name: string; schema: string; threads?: number },
  server: PostgresTarget,
  source: Omit<SourceInfo, 'description' | 'schemas' | 'files'>,
  sqlJs: () => ReturnType<typeof loadSqlJs>,
  options: PlanOptions,
  files: string[] = [],
  /** Why the server cannot be read (no password where the setting says): thrown when the data is opened. */
  problem?: LensError,
): DataPlan {
  return {
    target: postgresRenderTarget(target, server),
    sources: files,
    server,
    dialect: 'postgresql',
    // Another server, user or search path is other data, whatever the model reads.
    // The mode and the bound decide between a pulled copy and pushdown: either change, other data.
    modelKey: (request) =>
      JSON.stringify([
        postgresUrl(server),
        server.user,
        server.searchPath ?? server.schema,
        options.postgresMode ?? 'auto',
        options.maxRows ?? DEFAULT_PULL_MAX_ROWS,
        pullKey(request),
        // PostgreSQL syntax sql.js cannot run decides for pushdown in auto mode.
        sqliteCannotRun(request) !== undefined,
      ]),
    open: async (request) => {
      if (!request) throw new Error('Segment Lens: a PostgreSQL plan opens only for a rendered model');
      if (problem) throw problem;
      return pullPostgres(await sqlJs(), server, request, {
        timeoutMs: (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
        maxRows: options.maxRows ?? DEFAULT_PULL_MAX_ROWS,
        mode: options.postgresMode,
        source,
        files,
      });
    },
  };
}

/** dbt-postgres's target: the model renders as dbt-postgres compiles it (target.type, dispatch to postgres__). */
function postgresRenderTarget(target: { name: string; schema: string; threads?: number }, server: PostgresTarget) {
  return {
    type: 'postgres' as const,
    threads: 1,
    ...target,
    database: server.database,
    host: server.host,
    port: server.port,
    ...(server.user ? { user: server.user } : {}),
  };
}

/** dbt's target when no dbt profile names one. */
const PLAIN_TARGET = { name: 'dev', schema: 'main' };

export async function planData(
  connection: ConnectionSetting,
  workspace: Workspace,
  project: { dir: string; profile?: string; seeds?: DbtSeeds } | undefined,
  assets: EngineAssets,
  options: PlanOptions = {},
): Promise<DataPlan> {
  const sqlJs = () => loadSqlJs(assets.wasmPath);
  const csvPlan = (
    folder: { directory: string; setting: string; workspace: Workspace },
    source: Pick<SourceInfo, 'type' | 'description'>,
    seeds?: DbtSeeds,
  ): DataPlan => ({
    target: PLAIN_TARGET,
    // The seed configs are sources too: a changed column type reloads the data.
    sources: [folder.directory, ...(seeds?.files ?? [])],
    open: async () => openCsvDirectory(await sqlJs(), folder, source, seeds),
  });
  switch (connection.type) {
    case 'sample': {
      // The bundled sample is the extension's own: trusted, wherever the workspace is.
      const directory = path.join(assets.sampleDir, 'seeds');
      const bundled = new Workspace({ workspaceDir: assets.sampleDir, settings: {}, env: {} });
      return csvPlan(
        { directory, setting: 'the bundled sample', workspace: bundled },
        { type: 'sample', description: 'Bundled sample data' },
      );
    }
    case 'csv': {
      const setting = 'segmentLens.connection.directory';
      const directory = await workspace.resolve(connection.directory, setting);
      // A folder of the model's dbt project's seeds loads as dbt loads those seeds, with their configs.
      return csvPlan(
        { directory, setting, workspace },
        { type: 'csv', description: `CSV ${path.relative(workspace.dir, directory) || '.'}` },
        seedsOfFolder(project?.seeds, directory),
      );
    }
    case 'sqlite': {
      const hint = 'Check segmentLens.connection: paths are relative to the workspace folder.';
      const main = { schema: 'main', file: await workspace.resolve(connection.path, 'segmentLens.connection.path') };
      const attached: { schema: string; file: string }[] = [];
      for (const [schema, file] of Object.entries(connection.attach))
        attached.push({ schema, file: await workspace.resolve(file, `segmentLens.connection.attach.${schema}`) });
      const description = `SQLite ${path.relative(workspace.dir, main.file)}${attached.length ? ` + ${attached.map((item) => item.schema).join(', ')}` : ''}`;
      return {
        target: PLAIN_TARGET,
        sources: [main.file, ...attached.map((item) => item.file)],
        open: async () => openSqliteFiles(await sqlJs(), main, attached, { type: 'sqlite', description }, hint),
      };
    }
    case 'postgres': {
      const setting = 'segmentLens.connection';
      // passwordEnv first, then the password the user stored for this server; unset, pg reads ~/.pgpass itself.
      const server = withStoredPassword(
        {
          host: connection.host,
          port: connection.port,
          database: connection.database,
          ...(connection.user ? { user: connection.user } : {}),
          ...(connection.passwordEnv && workspace.env[connection.passwordEnv] !== undefined
            ? { password: workspace.env[connection.passwordEnv] }
            : {}),
          ...(connection.sslmode ? { sslmode: connection.sslmode } : {}),
          schema: connection.schema,
          origin: setting,
        },
        workspace.passwords,
      );
      // Thrown when the data opens, not here: the Set Password command still finds the server to store one for.
      const problem =
        connection.passwordEnv && server.password === undefined && workspace.trusted
          ? new LensError({
              code: 'settings',
              setting: `${setting}.passwordEnv`,
              message: `The environment variable ${connection.passwordEnv} (${setting}.passwordEnv) is not set.`,
              hint: `Set ${connection.passwordEnv} to the password before starting VS Code (or the CLI), run "${SET_PASSWORD_COMMAND}", or remove passwordEnv to use ~/.pgpass.`,
            })
          : undefined;
      return pullPlan(
        { name: 'dev', schema: connection.schema },
        server,
        { type: 'postgres' },
        sqlJs,
        options,
        [],
        problem,
      );
    }
    case 'dbt': {
      const target = await resolveDbtTarget(jinjaRuntime(assets.jinjaDir), workspace, project, connection);
      if (target.adapter === 'postgres') {
        return pullPlan(
          { name: target.target, schema: target.schema, threads: target.threads },
          target.server,
          { type: 'dbt', profile: target.profile, target: target.target },
          sqlJs,
          options,
          [target.profilesFile],
        );
      }
      const hint = `Check schemas_and_paths in ${target.profilesFile}: relative paths are resolved from the dbt project folder.`;
      const source = {
        type: 'dbt' as const,
        description: `dbt ${target.profile}.${target.target}`,
        profile: target.profile,
        target: target.target,
      };
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

/** The stamp (files.ts) of every source file (the CSV files of a folder): equal fingerprints, same data. */
export async function fingerprint(sources: string[]): Promise<string> {
  const parts: [string, number, number, number?][] = [];
  for (const source of sources) {
    const info = await stat(source).catch(() => undefined);
    if (!info) {
      parts.push([source, -1, -1]);
      continue;
    }
    if (!info.isDirectory()) {
      parts.push([source, info.size, info.mtimeMs, info.ctimeMs]);
      continue;
    }
    for (const entry of await readdir(source, { withFileTypes: true, recursive: true })) {
      if (!(entry.isFile() || entry.isSymbolicLink()) || !entry.name.toLowerCase().endsWith('.csv')) continue;
      const file = path.join(entry.parentPath, entry.name);
      // A link's target (only sizes and times: nothing is read here); a link to nothing is a file that is not there.
      const stamp = await fileStamp(file);
      parts.push([file, stamp?.size ?? -1, stamp?.mtimeMs ?? -1, stamp?.ctimeMs ?? -1]);
    }
  }
  return JSON.stringify(parts.sort((a, b) => a[0].localeCompare(b[0])));
}
