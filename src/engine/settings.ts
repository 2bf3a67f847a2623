// The `segmentLens.*` settings, checked: each problem names the setting at fault and says what to do.
import { LensError } from './errors';
import { isRecord } from '../shared/json';

/** Where the model's data comes from; the typed form of `segmentLens.connection`. */
export type ConnectionSetting =
  | { type: 'sample' }
  | { type: 'sqlite'; path: string; attach: Record<string, string> }
  | { type: 'dbt'; profilesDir?: string; profile?: string; target?: string }
  | { type: 'csv'; directory: string };

export interface LensSettings {
  /** Model file relative to the workspace; undefined means the bundled sample model. */
  model?: string;
  connection: ConnectionSetting;
  /** `segmentLens.vars`: dbt vars above the project's own, as `dbt run --vars` gives them. */
  vars?: Record<string, unknown>;
}

/** The raw values of the `segmentLens.*` settings, as VS Code or `.vscode/settings.json` hold them. */
export interface RawSettings {
  model?: unknown;
  connection?: unknown;
  vars?: unknown;
}

const connectionKeys: Record<string, string[]> = {
  sample: ['type'],
  sqlite: ['type', 'path', 'attach'],
  dbt: ['type', 'profilesDir', 'profile', 'target'],
  csv: ['type', 'directory'],
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

export function resolveConnection(raw: unknown): ConnectionSetting {
  const setting = 'segmentLens.connection';
  if (raw === undefined || raw === null) return { type: 'sample' };
  const shapes =
    'one of {"type":"sqlite","path":…}, {"type":"dbt",…}, {"type":"csv","directory":…} or {"type":"sample"}';
  if (!isRecord(raw)) throw settingError(setting, `must be an object, not ${show(raw)}.`, `Set it to ${shapes}.`);
  const type = raw.type;
  if (typeof type !== 'string' || !(type in connectionKeys)) {
    throw settingError(
      `${setting}.type`,
      `must be "sqlite", "dbt", "csv" or "sample", not ${show(type)}.`,
      `Set it to ${shapes}.`,
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
      const attach: Record<string, string> = {};
      for (const schema of Object.keys(attachRaw)) {
        attach[schema] = requiredString(
          attachRaw,
          schema,
          `${setting}.attach`,
          `Give the file that holds schema "${schema}".`,
        );
      }
      return { type, path: requiredString(raw, 'path', setting, hint), attach };
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
    default:
      return { type: 'sample' };
  }
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
  return { model, connection: resolveConnection(raw.connection), ...(vars ? { vars } : {}) };
}
