// The CLI's settings (src/cli/workspaceSettings.ts): `.vscode/settings.json` read as VS Code reads it.
import assert from 'node:assert/strict';
import { readWorkspaceSettings } from '../../src/cli/workspaceSettings';
import { LensError } from '../../src/engine/errors';
import { tempWorkspace, write } from './helpers';

describe('settings: .vscode/settings.json for the CLI', () => {
  it('reads .vscode/settings.json with comments and trailing commas, as VS Code does', async () => {
    const dir = tempWorkspace();
    write(
      dir,
      '.vscode/settings.json',
      '{\n  // our warehouse\n  "segmentLens.model": "models/x.sql",\n  "segmentLens.connection": { "type": "csv", "directory": "seeds", },\n  "editor.tabSize": 2,\n}\n',
    );
    assert.deepEqual(await readWorkspaceSettings(dir), {
      model: 'models/x.sql',
      connection: { type: 'csv', directory: 'seeds' },
    });
  });

  it('a broken settings.json is an error with its line', async () => {
    const dir = tempWorkspace();
    write(dir, '.vscode/settings.json', '{\n  "segmentLens.model": "x.sql"\n  "segmentLens.connection": {}\n}\n');
    await assert.rejects(
      readWorkspaceSettings(dir),
      (error: unknown) =>
        error instanceof LensError && error.value.location?.line === 3 && /settings\.json/.test(error.message),
    );
  });

  it('no settings.json means no settings', async () => {
    assert.deepEqual(await readWorkspaceSettings(tempWorkspace()), {});
  });
});
