// The CLI reads a workspace's settings as VS Code would: `.vscode/settings.json`, JSON with comments (jsonc-parser,
// VS Code's own parser). Only the CLI needs it; the extension gets settings from VS Code.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { LensError, locationAt, type RawSettings } from '../engine/index';
import { isRecord } from '../shared/json';

/** Reads `segmentLens.*` from `.vscode/settings.json` the way VS Code does: JSON with comments and trailing commas. */
export async function readWorkspaceSettings(workspaceDir: string): Promise<RawSettings> {
  const file = path.join(workspaceDir, '.vscode', 'settings.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
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
  return {
    model: parsed['segmentLens.model'],
    connection: parsed['segmentLens.connection'],
    ...(vars === undefined ? {} : { vars }),
    ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
  };
}
