// Reads a dbt profiles.yml target the way dbt does, for the dbt-sqlite and dbt-postgres adapters.
import path from 'node:path';
import { LensError } from '../errors';
import { pathExists } from '../files';
import type { SchemaFile } from './loadedData';
import { readYamlFile } from '../yamlFile';
import type { Workspace } from '../workspace';
import { renderText } from '../model/jinja';
import type { JinjaRuntime } from '../model/jinjaRuntime';
import { isRecord } from '../../shared/json';
import { checkSchemaNames, SSL_MODES, type PostgresSslMode } from '../settings';
import { withStoredPassword, type PostgresTarget } from './postgres';
import { DEFAULT_TARGET } from '../model/dbtContext';

export interface DbtConnectionSetting {
  profilesDir?: string;
  profile?: string;
  target?: string;
}

export interface SqliteTarget {
  adapter: 'sqlite';
  profile: string;
  target: string;
  /** The target's `schema:` (dbt's target.schema). */
  schema: string;
  main: SchemaFile;
  attached: SchemaFile[];
  profilesFile: string;
}

/** A dbt-postgres target: the server it names (its password rendered from env_var(), never shown). */
export interface PostgresProfileTarget {
  adapter: 'postgres';
  profile: string;
  target: string;
  schema: string;
  /** dbt's target.threads (1 when unset, as dbt). */
  threads: number;
  server: PostgresTarget;
  profilesFile: string;
}

const SETTING = 'segmentLens.connection';

/** dbt-postgres's fields, checked as dbt checks them: each problem names the key and the file. */
function postgresTarget(
  target: Record<string, unknown>,
  where: { profile: string; target: string; file: string },
  workspace: Workspace,
): PostgresProfileTarget {
  const at = `target "${where.target}" of profile "${where.profile}" in ${where.file}`;
  if (!workspace.trusted) {
    // The profile is a workspace file (findProfiles checked): its server is the workspace's choice, not the user's.
    throw new LensError({
      code: 'dbt-profile',
      message: `The ${at} names a PostgreSQL server, and the workspace is not trusted: Segment Lens connects to no server a workspace's files name.`,
      hint: 'Trust the workspace to read from its PostgreSQL server, or set segmentLens.connection in your user settings.',
    });
  }
  const text = (key: string, required: boolean, ...aliases: string[]): string | undefined => {
    for (const name of [key, ...aliases]) {
      const value = target[name];
      if (value === undefined || value === null) continue;
      if (typeof value === 'number') return String(value);
      if (typeof value !== 'string' || value === '') {
        throw new LensError({
          code: 'dbt-profile',
          message: `${name}: in the ${at} must be a non-empty string.`,
          hint: `Give ${name} as dbt-postgres expects it.`,
        });
      }
      return value;
    }
    if (required) {
      throw new LensError({
        code: 'dbt-profile',
        message: `The ${at} has no ${key}:, which dbt-postgres needs.`,
        hint: `Add ${key}: to the target.`,
      });
    }
    return undefined;
  };
  const portText = text('port', false) ?? '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new LensError({
      code: 'dbt-profile',
      message: `port: in the ${at} must be a port number, not ${JSON.stringify(portText)}.`,
      hint: 'PostgreSQL listens on 5432 unless told otherwise.',
    });
  }
  const sslmode = text('sslmode', false);
  if (sslmode !== undefined && !SSL_MODES.some((mode) => mode === sslmode)) {
    throw new LensError({
      code: 'dbt-profile',
      message: `sslmode: in the ${at} must be one of ${SSL_MODES.join(', ')}, not ${JSON.stringify(sslmode)}.`,
      hint: "As libpq's sslmode.",
    });
  }
  const schema = text('schema', true)!;
  const password = text('password', false, 'pass');
  const searchPath = text('search_path', false);
  return {
    adapter: 'postgres',
    profile: where.profile,
    target: where.target,
    schema,
    threads: Number.isInteger(target.threads) && (target.threads as number) > 0 ? (target.threads as number) : 1,
    profilesFile: where.file,
    // No password in the profile: the one the user stored for this server, if any (else ~/.pgpass).
    server: withStoredPassword(
      {
        host: text('host', true)!,
        port,
        database: text('dbname', true, 'database')!,
        user: text('user', true)!,
        ...(password !== undefined ? { password } : {}),
        ...(sslmode ? { sslmode: sslmode as PostgresSslMode } : {}),
        schema,
        ...(searchPath ? { searchPath } : {}),
        origin: `target "${where.target}" of profile "${where.profile}" in ${where.file}`,
      },
      workspace.passwords,
    ),
  };
}

/**
 * profiles.yml values may use {{ env_var('X', 'default') }}, as dbt allows: rendered in the sandboxed Jinja, with the
 * workspace's environment (none when it is not trusted).
 */
function renderProfileValue(value: unknown, jinja: JinjaRuntime, workspace: Workspace, file: string): unknown {
  if (typeof value === 'string' && /\{[{%#]/.test(value)) {
    try {
      return renderText(value, file, {
        jinja,
        env: workspace.env,
        untrusted: !workspace.trusted,
        target: DEFAULT_TARGET,
      });
    } catch (error) {
      if (error instanceof LensError) throw new LensError({ ...error.value, code: 'dbt-profile' });
      throw error;
    }
  }
  if (Array.isArray(value)) return value.map((item) => renderProfileValue(item, jinja, workspace, file));
  if (isRecord(value))
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, renderProfileValue(item, jinja, workspace, file)]),
    );
  return value;
}

/**
 * Finds profiles.yml as dbt does: the setting's folder, else DBT_PROFILES_DIR, else the dbt project's folder,
 * else the workspace folder, else ~/.dbt. The file found is checked (Workspace.resolve) before anything reads it.
 */
async function findProfiles(
  workspace: Workspace,
  projectDir: string | undefined,
  setting: DbtConnectionSetting,
): Promise<string> {
  if (setting.profilesDir) {
    const file = path.join(await workspace.resolve(setting.profilesDir, SETTING), 'profiles.yml');
    if (await pathExists(file)) return workspace.resolve(file, SETTING);
    throw new LensError({
      code: 'file-not-found',
      setting: `${SETTING}.profilesDir`,
      message: `There is no profiles.yml in ${path.dirname(file)} (${SETTING}.profilesDir).`,
      hint: 'Point profilesDir at the folder that holds profiles.yml, relative to the workspace.',
    });
  }
  const candidates = [
    workspace.env.DBT_PROFILES_DIR,
    projectDir,
    workspace.dir,
    path.join(workspace.homeDir, '.dbt'),
  ].filter((dir): dir is string => !!dir);
  for (const dir of candidates) {
    const file = path.join(dir, 'profiles.yml');
    if (await pathExists(file)) return workspace.resolve(file, SETTING);
  }
  throw new LensError({
    code: 'file-not-found',
    setting: SETTING,
    message: `No profiles.yml found (looked in ${candidates.join(', ')}).`,
    hint: `Set ${SETTING}.profilesDir to the folder that holds profiles.yml.`,
  });
}

/**
 * The target a profile names: a dbt-sqlite one with its files resolved (from the dbt project's folder, as dbt does)
 * and checked, or a dbt-postgres one with its server.
 */
export async function resolveDbtTarget(
  jinja: JinjaRuntime,
  workspace: Workspace,
  project: { dir: string; profile?: string } | undefined,
  setting: DbtConnectionSetting,
): Promise<SqliteTarget | PostgresProfileTarget> {
  const projectDir = project?.dir;
  const file = await findProfiles(workspace, projectDir, setting);
  const profiles = await readYamlFile(file, 'The dbt profiles file');
  const profileName = setting.profile ?? project?.profile;
  if (!profileName) {
    throw new LensError({
      code: 'dbt-profile',
      setting: `${SETTING}.profile`,
      message: 'No dbt profile is named: dbt_project.yml has no profile: and the setting gives none.',
      hint: `Set ${SETTING}.profile to a profile in ${file}.`,
    });
  }
  // Own keys only: a profile or target named "__proto__" or "constructor" is one the file does not have.
  const profile = isRecord(profiles) && Object.hasOwn(profiles, profileName) ? profiles[profileName] : undefined;
  if (!isRecord(profile)) {
    const known = isRecord(profiles) ? Object.keys(profiles).filter((key) => key !== 'config') : [];
    throw new LensError({
      code: 'dbt-profile',
      setting: `${SETTING}.profile`,
      message: `Profile "${profileName}" is not in ${file}${known.length ? ` (it has ${known.join(', ')})` : ''}.`,
      hint: `Add the profile, or set ${SETTING}.profile to one that exists.`,
    });
  }
  const targetName = setting.target ?? (typeof profile.target === 'string' ? profile.target : undefined);
  const outputs = isRecord(profile.outputs) ? profile.outputs : {};
  if (!targetName) {
    throw new LensError({
      code: 'dbt-profile',
      setting: `${SETTING}.target`,
      message: `Profile "${profileName}" in ${file} has no target: and the setting gives none.`,
      hint: `Add target: to the profile, or set ${SETTING}.target to one of ${Object.keys(outputs).join(', ') || 'its outputs'}.`,
    });
  }
  const rawTarget = Object.hasOwn(outputs, targetName) ? outputs[targetName] : undefined;
  if (!isRecord(rawTarget)) {
    throw new LensError({
      code: 'dbt-profile',
      setting: `${SETTING}.target`,
      message: `Profile "${profileName}" in ${file} has no target "${targetName}"${Object.keys(outputs).length ? ` (it has ${Object.keys(outputs).join(', ')})` : ''}.`,
      hint: `Set ${SETTING}.target to one of its outputs.`,
    });
  }
  if (rawTarget.type === 'postgres' && !workspace.trusted) {
    // Refused before its env_var() calls render: nothing of the server is looked at.
    postgresTarget(rawTarget, { profile: profileName, target: targetName, file }, workspace);
  }
  const target = renderProfileValue(rawTarget, jinja, workspace, file) as Record<string, unknown>;
  if (target.type === 'postgres')
    return postgresTarget(target, { profile: profileName, target: targetName, file }, workspace);
  if (target.type !== 'sqlite') {
    throw new LensError({
      code: 'dbt-profile',
      message: `Profile "${profileName}" target "${targetName}" in ${file} uses the "${String(target.type)}" adapter; Segment Lens reads SQLite databases (the dbt-sqlite adapter) and PostgreSQL (dbt-postgres) only.`,
      hint: `Pick a sqlite target with ${SETTING}.target, or point ${SETTING} at a SQLite file or a folder of CSV files.`,
    });
  }
  // dbt resolves the adapter's relative paths from the folder it runs in: the dbt project's.
  const base = projectDir ?? workspace.dir;
  const schemasAndPaths = isRecord(target.schemas_and_paths) ? target.schemas_and_paths : {};
  const files = new Map<string, string>();
  const key = (name: string, written: string) => ({ file, key: name, written, setting: SETTING });
  for (const [schema, file_] of Object.entries(schemasAndPaths)) {
    if (typeof file_ === 'string')
      files.set(schema, await workspace.resolve(file_, key(`schemas_and_paths: ${schema}`, file_), base));
  }
  if (typeof target.schema_directory === 'string') {
    // dbt-sqlite attaches every *.db file in schema_directory as the schema named after the file.
    const origin = key('schema_directory', target.schema_directory);
    const dir = await workspace.resolve(target.schema_directory, origin, base);
    for (const found of (await workspace.listFiles(dir, ['.db'], origin, 0)).filter((item) => item.endsWith('.db'))) {
      const schema = path.basename(found, path.extname(found));
      if (!files.has(schema)) files.set(schema, found);
    }
  }
  const mainFile = files.get('main');
  if (!mainFile) {
    throw new LensError({
      code: 'dbt-profile',
      message: `Profile "${profileName}" target "${targetName}" in ${file} has no schemas_and_paths: main: entry.`,
      hint: 'dbt-sqlite needs the path of the main database under schemas_and_paths: main:.',
    });
  }
  const mainPath = path.resolve(mainFile);
  const attached = [...files]
    .filter(([schema, file_]) => schema !== 'main' && path.resolve(file_) !== mainPath)
    .map(([schema, file_]) => ({ schema, file: file_ }));
  // "temp", "Main" or two names differing only in case would collide in SQLite, which ignores their case.
  checkSchemaNames(
    attached.map((item) => item.schema),
    (schema) =>
      Object.hasOwn(schemasAndPaths, schema)
        ? `schemas_and_paths.${schema} of target "${targetName}" in ${file}`
        : `${schema}.db in schema_directory of target "${targetName}" in ${file}`,
    'dbt-profile',
  );
  return {
    adapter: 'sqlite',
    profile: profileName,
    target: targetName,
    schema: typeof target.schema === 'string' ? target.schema : 'main',
    main: { schema: 'main', file: mainFile },
    attached,
    profilesFile: file,
  };
}
