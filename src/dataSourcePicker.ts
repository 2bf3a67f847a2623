// "Select Data Source…": writes `segmentLens.connection` for the user.
import path from 'node:path';
import * as vscode from 'vscode';
import { SECTION } from './config';

type Choice = vscode.QuickPickItem & { pick: () => Promise<unknown | null | undefined> };

function relative(uri: vscode.Uri): string {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  return folder ? path.relative(folder.uri.fsPath, uri.fsPath).split(path.sep).join('/') || '.' : uri.fsPath;
}

/** One file or folder the user picks, starting in the workspace folder. */
async function pickOne(options: vscode.OpenDialogOptions): Promise<vscode.Uri | undefined> {
  const [picked] =
    (await vscode.window.showOpenDialog({
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      canSelectMany: false,
      ...options,
    })) ?? [];
  return picked;
}

/** Shows the choices; returns the connection written (null for the sample), or undefined when dismissed. */
export async function selectDataSource(): Promise<unknown | null | undefined> {
  const choices: Choice[] = [
    {
      label: '$(database) SQLite file…',
      detail: 'One SQLite file; qualified names like staging.stg_customers find their tables in it',
      pick: async () => {
        const file = await pickOne({
          openLabel: 'Use this database',
          filters: { 'SQLite databases': ['db', 'sqlite', 'sqlite3', 'duckdb'], 'All files': ['*'] },
        });
        return file && { type: 'sqlite', path: relative(file) };
      },
    },
    {
      label: '$(gear) dbt profile (dbt-sqlite)',
      detail:
        'profiles.yml as dbt reads it: the profile named in dbt_project.yml, its target, one SQLite file per schema',
      pick: async () => ({ type: 'dbt' }),
    },
    {
      label: '$(folder) Folder of CSV seeds…',
      detail: 'Each .csv is a table named after the file; a subfolder is a schema',
      pick: async () => {
        const folder = await pickOne({ canSelectFiles: false, canSelectFolders: true, openLabel: 'Use this folder' });
        return folder && { type: 'csv', directory: relative(folder) };
      },
    },
    {
      label: '$(beaker) Bundled sample',
      detail: 'Sample data shipped with Segment Lens: 5,000 customers, 4,801 of them with orders',
      pick: async () => null,
    },
  ];
  const choice = await vscode.window.showQuickPick(choices, {
    title: "Segment Lens: where is the model's data?",
    matchOnDetail: true,
  });
  if (!choice) return undefined;
  const connection = await choice.pick();
  if (connection === undefined) return undefined;
  const target = vscode.workspace.workspaceFolders?.length
    ? vscode.ConfigurationTarget.Workspace
    : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration(SECTION).update('connection', connection ?? undefined, target);
  return connection;
}
