// The workspace the VS Code suites open: the bundled sample's model and seeds laid out as a dbt-style project,
// with .vscode/settings.json naming them.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function prepareWorkspace(root, workspace) {
  mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
  cpSync(path.join(root, 'sample', 'seeds'), path.join(workspace, 'seeds'), { recursive: true });
  cpSync(
    path.join(root, 'sample', 'models', 'customer_segments.sql'),
    path.join(workspace, 'models', 'marts', 'customer_segments.sql'),
  );
  writeFileSync(
    path.join(workspace, '.vscode', 'settings.json'),
    JSON.stringify(
      {
        'segmentLens.model': 'models/marts/customer_segments.sql',
        'segmentLens.connection': { type: 'csv', directory: 'seeds' },
      },
      null,
      2,
    ),
  );
}
