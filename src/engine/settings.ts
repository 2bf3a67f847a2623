// The `segmentLens.*` settings, checked: each problem names the setting at fault and says what to do.
import { LensError } from './errors';
import { isRecord } from '../shared/json';

/** Where the model's data comes from; the typed form of `segmentLens.connection`. */
export type ConnectionSetting =
  | { type: 'sample' }
  | { type: 'sqlite'; path: string; attach: Record<string, string> }
  | { type: 'dbt'; profilesDir?: string; profile?: string; target?: string }
  | { type: 'csv'; directory: string }
  | PostgresConnectionSetting;

/** A PostgreSQL server; its password is never a setting: `passwordEnv` names the variable that holds it (or ~/.pgpass). */
export interface PostgresConnectionSetting {
  type: 'postgres';
  host: string;
  port: number;
  database: string;
  user?: string;
  /** The schema unqualified names are found in first (search_path), and dbt's target.schema. */
  schema: string;
  sslmode?: PostgresSslMode;
  passwordEnv?: string;
}

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type PostgresSslMode = (typeof SSL_MODES)[number];

export interface LensSettings {
  /** Model file relative to the workspace; undefined means the bundled sample model. */
  model?: string;
  connection: ConnectionSetting;
  /** `segmentLens.vars`: dbt vars above the project's own, as `dbt run --vars` gives them. */
  vars?: Record<string, unknown>;
  /**
   * `segmentLens.upstream`: `auto` uses a relation the data has and builds a missing one, `build` builds every one
   * from its SQL, `data` builds none.
   */
  upstream?: UpstreamMode;
  /** `segmentLens.pull.maxRows`: the most rows a warehouse's relations may have to be pulled into memory. */
  pullMaxRows?: number;
  /** `segmentLens.postgres.mode`: pull the model's columns, run it on the server (pushdown), or choose by size. */
  postgresMode?: PostgresMode;
}

export type UpstreamMode = 'auto' | 'build' | 'data';
const UPSTREAM_MODES: readonly UpstreamMode[] = ['auto', 'build', 'data'];

/** The raw values of the `segmentLens.*` settings, as VS Code or `.vscode/settings.json` hold them. */
export interface RawSettings {
  model?: unknown;
  connection?: unknown;
  vars?: unknown;
  upstream?: unknown;
  /** `segmentLens.timeoutSeconds`: read by whoever sets the run's deadline (resolveTimeout), not by the engine. */
  timeoutSeconds?: unknown;
  /** `segmentLens.pull.maxRows`. */
  pullMaxRows?: unknown;
  /** `segmentLens.postgres.mode`. */
  postgresMode?: unknown;
  /** `segmentLens.cache.maxSizeMB`: read by the worker for its disk cache (resolveCacheMaxBytes). */
  cacheMaxSizeMB?: unknown;
}

const connectionKeys: Record<string, string[]> = {
  sample: ['type'],
  sqlite: ['type', 'path', 'attach'],
  dbt: ['type', 'profilesDir', 'profile', 'target'],
  csv: ['type', 'directory'],
  postgres: ['type', 'host', 'port', 'database', 'user', 'schema', 'sslmode', 'passwordEnv'],
};

function settingError(setting: string, message: string, hint: string): LensError {
  return new LensError({ code: 'settings', setting, message: `Setting ${setting} ${message}`, hint });
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function optionalString(
  value: Record<string, unknown>,
  key: string,
  setting: string,
  hint: string,
): string | undefined {
  const found = value[key];
  if (found === undefined || found === null) return undefined;
  if (typeof found !== 'string' || found.trim() === '') {
    throw settingError(`${setting}.${key}`, `must be a non-empty string, not ${show(found)}.`, hint);
  }
  return found;
}

function requiredString(value: Record<string, unknown>, key: string, setting: string, hint: string): string {
  const found = optionalString(value, key, setting, hint);
  if (found === undefined) throw settingError(`${setting}.${key}`, 'is missing.', hint);
  return found;
}

/**
 * Schema names SQLite can attach: not `main` or `temp` (its own, in any case) and no two that differ only in case
 * (SQLite's names are case-insensitive). `settingOf` names the setting (or file) that gives each name.
 */
export function checkSchemaNames(
  names: readonly string[],
  settingOf: (schema: string) => string,
  code: 'settings' | 'dbt-profile' | 'csv' = 'settings',
): void {
  const seen = new Map<string, string>();
  for (const schema of names) {
    const key = schema.toLowerCase();
    const where = settingOf(schema);
    if (key === 'main' || key === 'temp') {
      throw new LensError({
        code,
        ...(code === 'settings' ? { setting: where } : {}),
        message: `Schema "${schema}" (${where}) cannot be attached: SQLite names its own databases ${key === 'main' ? '"main" (the main file)' : '"temp" (temporary tables)'}.`,
        hint: 'Give the schema another name; the main file is schema "main" already.',
      });
    }
    const twin = seen.get(key);
    if (twin !== undefined) {
      throw new LensError({
        code,
        ...(code === 'settings' ? { setting: where } : {}),
        message: `Schemas "${twin}" (${settingOf(twin)}) and "${schema}" (${where}) differ only in case, and SQLite's schema names ignore case.`,
        hint: 'Keep one of them, or give the other a different name.',
      });
    }
    seen.set(key, schema);
  }
}

export function resolveConnection(raw: unknown): ConnectionSetting {
  const setting = 'segmentLens.connection';
  if (raw === undefined || raw === null) return { type: 'sample' };
  const shapes =
    'one of {"type":"sqlite","path":…}, {"type":"dbt",…}, {"type":"csv","directory":…}, {"type":"postgres","host":…,"database":…} or {"type":"sample"}';
  if (!isRecord(raw)) throw settingError(setting, `must be an object, not ${show(raw)}.`, `Set it to ${shapes}.`);
  const type = raw.type;
  // An own key only: "__proto__", "constructor" or "toString" are no connection types.
  if (typeof type !== 'string' || !Object.hasOwn(connectionKeys, type)) {
    throw settingError(
      `${setting}.type`,
      `must be "sqlite", "dbt", "csv", "postgres" or "sample", not ${show(type)}.`,
      `Set it to ${shapes}.`,
    );
  }
  if (type === 'postgres' && Object.hasOwn(raw, 'password')) {
    // Said before anything else, and without the value: settings.json is no place for a secret.
    throw settingError(
      `${setting}.password`,
      'is not read: a password in settings.json would be stored in plain text.',
      'Remove it; put the password in an environment variable named by "passwordEnv" (e.g. "PGPASSWORD"), or in ~/.pgpass.',
    );
  }
  const unknown = Object.keys(raw).filter((key) => !connectionKeys[type].includes(key));
  if (unknown.length > 0) {
    throw settingError(
      setting,
      `has ${unknown.map((key) => `"${key}"`).join(', ')}, which a "${type}" connection does not use.`,
      `A "${type}" connection takes ${connectionKeys[type].map((key) => `"${key}"`).join(', ')}.`,
    );
  }
  switch (type) {
    case 'sqlite': {
      const hint = 'Give the SQLite file\'s path relative to the workspace folder, e.g. "warehouse.db".';
      const attachRaw = raw.attach ?? {};
      if (!isRecord(attachRaw)) {
        throw settingError(
          `${setting}.attach`,
          `must map schema names to SQLite files, not ${show(attachRaw)}.`,
          'For example {"staging": "staging.db"}.',
        );
      }
      const entries = Object.keys(attachRaw).map((schema): [string, string] => [
        schema,
        requiredString(attachRaw, schema, `${setting}.attach`, `Give the file that holds schema "${schema}".`),
      ]);
      checkSchemaNames(
        entries.map(([schema]) => schema),
        (schema) => `${setting}.attach.${schema}`,
      );
      // fromEntries defines own properties: a schema named "__proto__" stays a schema.
      return { type, path: requiredString(raw, 'path', setting, hint), attach: Object.fromEntries(entries) };
    }
    case 'dbt': {
      const hint = "Leave it out to use dbt's default.";
      return {
        type,
        profilesDir: optionalString(
          raw,
          'profilesDir',
          setting,
          'Give the folder that holds profiles.yml, relative to the workspace.',
        ),
        profile: optionalString(raw, 'profile', setting, hint),
        target: optionalString(raw, 'target', setting, hint),
      };
    }
    case 'csv':
      return {
        type,
        directory: requiredString(
          raw,
          'directory',
          setting,
          'Give the folder of CSV seeds relative to the workspace, e.g. "seeds".',
        ),
      };
    case 'postgres':
      return resolvePostgres(raw, setting);
    default:
      return { type: 'sample' };
  }
}

function resolvePostgres(raw: Record<string, unknown>, setting: string): PostgresConnectionSetting {
  const port = raw.port ?? 5432;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw settingError(
      `${setting}.port`,
      `must be a port number (1 to 65535), not ${show(port)}.`,
      'PostgreSQL listens on 5432 unless told otherwise.',
    );
  }
  const sslmode = optionalString(raw, 'sslmode', setting, `One of ${SSL_MODES.join(', ')}.`);
  if (sslmode !== undefined && !SSL_MODES.some((mode) => mode === sslmode)) {
    throw settingError(
      `${setting}.sslmode`,
      `must be one of ${SSL_MODES.join(', ')}, not ${show(sslmode)}.`,
      'As libpq\'s sslmode: "prefer" is its default.',
    );
  }
  const passwordEnv = optionalString(
    raw,
    'passwordEnv',
    setting,
    'Name the environment variable that holds the password, e.g. "PGPASSWORD".',
  );
  if (passwordEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) {
    throw settingError(
      `${setting}.passwordEnv`,
      `must be the name of an environment variable, not ${show(passwordEnv)}.`,
      'For example "PGPASSWORD"; the password itself never goes in settings.json.',
    );
  }
  const user = optionalString(
    raw,
    'user',
    setting,
    'The role to connect as; leave it out for PGUSER or your login name.',
  );
  return {
    type: 'postgres',
    host: requiredString(raw, 'host', setting, 'The server\'s host name, e.g. "localhost" (or a unix socket folder).'),
    port,
    database: requiredString(raw, 'database', setting, 'The database to read, e.g. "analytics".'),
    ...(user ? { user } : {}),
    schema:
      optionalString(raw, 'schema', setting, 'The schema unqualified table names are found in, e.g. "public".') ??
      'public',
    ...(sslmode ? { sslmode: sslmode as PostgresSslMode } : {}),
    ...(passwordEnv ? { passwordEnv } : {}),
  };
}

export function resolveSettings(raw: RawSettings): LensSettings {
  let model: string | undefined;
  if (raw.model !== undefined && raw.model !== null && raw.model !== '') {
    if (typeof raw.model !== 'string') {
      throw settingError(
        'segmentLens.model',
        `must be a path to the model's SQL file, not ${show(raw.model)}.`,
        'Give it relative to the workspace folder, e.g. "models/marts/customer_segments.sql", or leave it empty for the bundled sample.',
      );
    }
    model = raw.model;
  }
  let vars: Record<string, unknown> | undefined;
  if (raw.vars !== undefined && raw.vars !== null) {
    if (!isRecord(raw.vars)) {
      throw settingError(
        'segmentLens.vars',
        `must map var names to values, not ${show(raw.vars)}.`,
        'For example {"start_date": "2024-01-01"}, as dbt run --vars takes them.',
      );
    }
    vars = raw.vars;
  }
  let upstream: UpstreamMode | undefined;
  if (raw.upstream !== undefined && raw.upstream !== null) {
    if (!UPSTREAM_MODES.some((mode) => mode === raw.upstream)) {
      throw settingError(
        'segmentLens.upstream',
        `must be "auto", "build" or "data", not ${show(raw.upstream)}.`,
        'auto (the default) builds the upstream models the data lacks; build builds them all from SQL; data builds none.',
      );
    }
    upstream = raw.upstream as UpstreamMode;
  }
  const pullMaxRows = raw.pullMaxRows ?? undefined;
  if (
    pullMaxRows !== undefined &&
    (typeof pullMaxRows !== 'number' || !Number.isInteger(pullMaxRows) || pullMaxRows < 1)
  ) {
    throw settingError(
      'segmentLens.pull.maxRows',
      `must be a whole number of rows, at least 1, not ${show(pullMaxRows)}.`,
      `For example ${DEFAULT_PULL_MAX_ROWS} (the default).`,
    );
  }
  const postgresMode = raw.postgresMode ?? undefined;
  if (postgresMode !== undefined && !POSTGRES_MODES.some((mode) => mode === postgresMode)) {
    throw settingError(
      'segmentLens.postgres.mode',
      `must be "auto", "pull" or "pushdown", not ${show(postgresMode)}.`,
      'auto (the default) pulls the columns the model reads while they fit segmentLens.pull.maxRows and runs the model on the server past it; pull always pulls; pushdown always runs on the server.',
    );
  }
  return {
    model,
    connection: resolveConnection(raw.connection),
    ...(vars ? { vars } : {}),
    ...(upstream ? { upstream } : {}),
    ...(pullMaxRows !== undefined ? { pullMaxRows } : {}),
    ...(postgresMode !== undefined ? { postgresMode: postgresMode as PostgresMode } : {}),
  };
}

export const POSTGRES_MODES = ['auto', 'pull', 'pushdown'] as const;
export type PostgresMode = (typeof POSTGRES_MODES)[number];

export const DEFAULT_TIMEOUT_SECONDS = 60;
/** Rows a warehouse pull may bring into sql.js: about what its 2 GiB hold with a few narrow columns. */
export const DEFAULT_PULL_MAX_ROWS = 5_000_000;

/**
 * `segmentLens.timeoutSeconds` (or the CLI's --timeout): how long one run may take before it is stopped. Unset: the
 * default; otherwise a number of seconds, at least 1.
 */
export function resolveTimeout(raw: unknown, setting = 'segmentLens.timeoutSeconds'): number {
  if (raw === undefined || raw === null) return DEFAULT_TIMEOUT_SECONDS;
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 1) {
    throw new LensError({
      code: 'settings',
      setting,
      message: `${setting.startsWith('-') ? '' : 'Setting '}${setting} must be a number of seconds, at least 1, not ${show(raw)}.`,
      hint: `For example ${DEFAULT_TIMEOUT_SECONDS} (the default); a run longer than this is stopped.`,
    });
  }
  return raw;
}

/** segmentLens.cache.maxSizeMB when unset. */
export const DEFAULT_CACHE_MAX_MB = 1024;

/** `segmentLens.cache.maxSizeMB` in bytes: how much the saved data may take on disk; 0 saves none. */
export function resolveCacheMaxBytes(raw: unknown, setting = 'segmentLens.cache.maxSizeMB'): number {
  if (raw === undefined || raw === null) return DEFAULT_CACHE_MAX_MB * 1024 * 1024;
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0) {
    throw new LensError({
      code: 'settings',
      setting,
      message: `Setting ${setting} must be a number of megabytes, 0 or more, not ${show(raw)}.`,
      hint: `For example ${DEFAULT_CACHE_MAX_MB} (the default); 0 saves no data between restarts.`,
    });
  }
  return Math.floor(raw * 1024 * 1024);
}
