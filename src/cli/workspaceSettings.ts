// The CLI reads a workspace's settings as VS Code would: `.vscode/settings.json`, JSON with comments (jsonc-parser,
// VS Code's own parser). Only the CLI needs it; the extension gets settings from VS Code.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { LensError, locationAt, readTextFile, type RawSettings } from '../engine/index';
import { isRecord } from '../shared/json';

/** Reads `segmentLens.*` from `.vscode/settings.json` the way VS Code does: JSON with comments and trailing commas. */
export async function readWorkspaceSettings(workspaceDir: string): Promise<RawSettings> {
  const file = path.join(workspaceDir, '.vscode', 'settings.json');
  // No settings.json (or a link to nothing) is no settings; anything else there is read as a text file is, or refused.
  if (
    !(await stat(file).then(
      () => true,
      () => false,
    ))
  )
    return {};
  const text = await readTextFile(file, {
    what: 'The settings file',
    hint: 'Make .vscode/settings.json a JSON file (VS Code reads it the same way).',
  });
  const errors: ParseError[] = [];
  const parsed: unknown = parseJsonc(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const first = errors[0];
    throw new LensError({
      code: 'settings',
      message: `${file} is not valid JSON: ${printParseErrorCode(first.error)}.`,
      hint: 'Fix the file so VS Code can read it too.',
      location: locationAt(file, text, first.offset),
    });
  }
  if (!isRecord(parsed)) return {};
  const vars = parsed['segmentLens.vars'];
  const timeoutSeconds = parsed['segmentLens.timeoutSeconds'];
  const upstream = parsed['segmentLens.upstream'];
  const pullMaxRows = parsed['segmentLens.pull.maxRows'];
  const postgresMode = parsed['segmentLens.postgres.mode'];
  const cacheMaxSizeMB = parsed['segmentLens.cache.maxSizeMB'];
  return {
    model: parsed['segmentLens.model'],
    connection: parsed['segmentLens.connection'],
    ...(vars === undefined ? {} : { vars }),
    ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
    ...(upstream === undefined ? {} : { upstream }),
    ...(pullMaxRows === undefined ? {} : { pullMaxRows }),
    ...(postgresMode === undefined ? {} : { postgresMode }),
    ...(cacheMaxSizeMB === undefined ? {} : { cacheMaxSizeMB }),
  };
}
