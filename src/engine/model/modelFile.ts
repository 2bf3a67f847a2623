// Which SQL file is the model: the one the settings (or the editor) name, else the bundled sample.
import path from 'node:path';
import { readTextFile } from '../files';
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
    return { file, sample: true, text: await readTextFile(file, 'The bundled sample model') };
  }
  const setting = 'segmentLens.model';
  const file = await workspace.resolve(model, setting);
  const text = await readTextFile(file, {
    what: 'The model file',
    setting,
    hint: "Set segmentLens.model to the model's .sql file relative to the workspace, or leave it empty for the bundled sample.",
  });
  return { file, sample: false, text };
}
