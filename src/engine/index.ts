// The engine's front door: the CLI, the worker and the tests call the engine through what this module exports.
// Never imports `vscode`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LensError, type Outcome } from './errors';
import type { SourceInfo } from './data/loadedData';
import type { Lineage } from './sql/lineage';
import { ModelSession, type ModelResult, type OpenOptions } from './run/session';
import type { EngineAssets, RunRequest } from './workspace';
import { loadSqlJs } from './data/sqljs';
import { jinjaRuntime } from './model/jinjaRuntime';
import { renderModel } from './model/jinja';
import { loadMacroLibrary } from './model/macroLibrary';
import { prepareQuery } from './run/prepare';
import { DEFAULT_TARGET } from './model/dbtContext';

export { LensError, describeError, type FileLocation, type LensErrorValue, type Outcome } from './errors';
export { DataCache } from './data/cache';
export type { SourceInfo } from './data/loadedData';
export { ModelSession, RunCancelled, type ModelResult, type OpenOptions } from './run/session';
export type { Lineage } from './sql/lineage';
export type { EngineAssets, RunRequest } from './workspace';
export {
  DEFAULT_CACHE_MAX_MB,
  DEFAULT_TIMEOUT_SECONDS,
  resolveCacheMaxBytes,
  resolveTimeout,
  type RawSettings,
} from './settings';
export { DEFAULT_LIMITS, type EngineLimits } from './limits';
export { CancelledError, EngineClient, timeoutError, type Deadline } from './worker/client';
export type { RunPayload } from './worker/protocol';
export { locationAt } from './textPosition';
export { readTextFile } from './files';
export {
  projectDefinitions,
  projectDirOf,
  referenceAt,
  type JinjaReference,
  type ProjectDefinitions,
} from './model/projectIndex';
export type { RowPage } from '../shared/rows';
export { connectionServer, type ConnectionServer } from './data/connectionServer';

export type RunResult = Outcome<ModelResult>;

export interface LineageOfModel {
  model: { file: string; sample: boolean };
  source: SourceInfo;
  lineage: Lineage;
}

/** Problems with the user's input come back as values, never as exceptions. */
async function asOutcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, result: await work() };
  } catch (error) {
    if (error instanceof LensError) return { ok: false, error: error.value };
    throw error;
  }
}

/** Opens a session without a cache, uses it once, and frees its data. */
function withSession<T>(
  request: RunRequest,
  assets: EngineAssets,
  use: (session: ModelSession) => T | Promise<T>,
  options: OpenOptions = {},
): Promise<Outcome<T>> {
  return asOutcome(async () => {
    const session = await ModelSession.open(request, assets, undefined, options);
    try {
      // Awaited here: the session stays open until a use that runs queries (run(), a page of rows) is done.
      return await use(session);
    } finally {
      session.close();
    }
  });
}

/**
 * Makes a fresh worker ready ahead of its first run (it warms up while the user types): sql.js and MiniJinja
 * compiled, and the bundled sample model rendered and parsed once. A worker's first render and parse otherwise took
 * ~60 and ~100 ms more than later ones (dbt's macros parsed, the renderer's and the SQL parser's code compiled).
 */
export async function warmUp(assets: EngineAssets): Promise<void> {
  await loadSqlJs(assets.wasmPath);
  const { library } = await loadMacroLibrary(undefined);
  const file = path.join(assets.sampleDir, 'models', 'customer_segments.sql');
  const rendered = renderModel(await readFile(file, 'utf8'), file, {
    jinja: jinjaRuntime(assets.jinjaDir),
    library,
    target: DEFAULT_TARGET,
    env: {},
  });
  prepareQuery(rendered, file);
}

/** Runs the model on the data. */
export function runModel(request: RunRequest, assets: EngineAssets): Promise<RunResult> {
  return withSession(request, assets, (session) => session.run());
}

/** The model's column lineage, with `*` and unqualified columns resolved against the data's schemas. */
export function modelLineage(
  request: RunRequest,
  assets: EngineAssets,
  options: OpenOptions = {},
): Promise<Outcome<LineageOfModel>> {
  return withSession(
    request,
    assets,
    (session) => ({
      model: session.model,
      source: session.data.source,
      lineage: session.lineage(),
    }),
    options,
  );
}
