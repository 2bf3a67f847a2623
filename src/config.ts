// The one typed reader of the `segmentLens.*` settings.
import * as vscode from 'vscode';
import type { RawSettings } from './engine/settings';

export const SECTION = 'segmentLens';

export interface LensConfig {
  /** As the user wrote them; the engine validates them and names the setting at fault. */
  engine: RawSettings;
  runOnSave: boolean;
}

export function readConfig(scope?: vscode.Uri): LensConfig {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  const runOnSave = config.get<unknown>('runOnSave', true);
  return {
    engine: {
      model: plain(config.get<unknown>('model')),
      connection: plain(config.get<unknown>('connection')) ?? undefined,
      vars: plain(config.get<unknown>('vars')) ?? undefined,
      upstream: plain(config.get<unknown>('upstream')) ?? undefined,
      timeoutSeconds: plain(config.get<unknown>('timeoutSeconds')),
      pullMaxRows: plain(config.get<unknown>('pull.maxRows')),
      postgresMode: plain(config.get<unknown>('postgres.mode')),
      cacheMaxSizeMB: plain(config.get<unknown>('cache.maxSizeMB')),
    },
    runOnSave: typeof runOnSave === 'boolean' ? runOnSave : true,
  };
}

/** VS Code hands out settings as proxies that cannot cross to the engine's worker: take plain copies. */
function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
