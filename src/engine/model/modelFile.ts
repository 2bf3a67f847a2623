// Which SQL file is the model: the one the settings (or the editor) name, else the bundled sample.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LensError } from '../errors';
import type { EngineAssets, Workspace } from '../workspace';

export interface ModelFile {
  file: string;
  /** The bundled sample model, not one of the user's. */
  sample: boolean;
  /** The file's text: the model's template. */
  text: string;
}

export function sampleModelFile(assets: EngineAssets): string {
  return path.join(assets.sampleDir, 'models', 'customer_segments.sql');
}

export async function readModelFile(
  workspace: Workspace,
  model: string | undefined,
  assets: EngineAssets,
): Promise<ModelFile> {
  if (!model) {
    const file = sampleModelFile(assets);
    return { file, sample: true, text: await readFile(file, 'utf8') };
  }
  const file = workspace.resolve(model, 'segmentLens.model');
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    throw new LensError({
      code: info ? 'not-a-file' : 'file-not-found',
      setting: 'segmentLens.model',
      message: info
        ? `The model ${file} (segmentLens.model) is a folder, not a SQL file.`
        : `The model file ${file} (segmentLens.model) does not exist.`,
      hint: "Set segmentLens.model to the model's .sql file relative to the workspace, or leave it empty for the bundled sample.",
    });
  }
  return { file, sample: false, text: await readFile(file, 'utf8') };
}
