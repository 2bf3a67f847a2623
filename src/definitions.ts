// Go to Definition in a model: `ref('x')` opens model x's file (or seed x's CSV), `source('s', 't')` the line of
// table t under source s in its properties file, a CTE's name its definition in the same file. The dbt project is
// read by the engine (as a run reads it: checked against an untrusted workspace), once until a file of it changes.
import path from 'node:path';
import * as vscode from 'vscode';
import { loadOutline } from './codeLens';
import { IDENTIFIER } from './columnHover';
import { Disposable } from './dispose';
import type { RunController } from './runController';
import { toRange } from './vscodeTypes';
import { identifierKey } from './shared/columnLineage';
import type { FileLocation } from './shared/problem';

type Definitions = NonNullable<Awaited<ReturnType<ReturnType<typeof loadOutline>['projectDefinitions']>>>;
type Ctes = { name: string; location: FileLocation }[];

export class ModelDefinitions extends Disposable implements vscode.DefinitionProvider {
  /** Each dbt project read, by its folder; dropped when a file it may be made of changes. */
  private readonly projects = new Map<string, Promise<Definitions | undefined>>();
  /** The CTEs of the document last asked about, at its version. */
  private ctes: { uri: string; version: number; found: Promise<Ctes | undefined> } | undefined;

  constructor(private readonly controller: RunController) {
    super();
    const watcher = this._register(
      vscode.workspace.createFileSystemWatcher('**/{dbt_project.yml,*.sql,*.yml,*.yaml,*.csv}'),
    );
    const forget = () => this.projects.clear();
    this._register(watcher.onDidCreate(forget));
    this._register(watcher.onDidChange(forget));
    this._register(watcher.onDidDelete(forget));
    this._register(vscode.workspace.onDidGrantWorkspaceTrust(forget));
  }

  private workspaceDir(uri: vscode.Uri): string {
    return vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(uri.fsPath);
  }

  /** What the dbt project of `document` defines, or undefined when it is in none (or it cannot be read). */
  private async project(document: vscode.TextDocument): Promise<Definitions | undefined> {
    const outline = loadOutline();
    const workspaceDir = this.workspaceDir(document.uri);
    const dir = await outline.projectDirOf(document.uri.fsPath, workspaceDir);
    if (!dir) return undefined;
    let found = this.projects.get(dir);
    if (!found) {
      found = outline.projectDefinitions(dir, { workspaceDir, trusted: vscode.workspace.isTrusted });
      this.projects.set(dir, found);
    }
    return found;
  }

  private cteDefinitions(document: vscode.TextDocument): Promise<Ctes | undefined> {
    const uri = document.uri.toString();
    if (this.ctes?.uri !== uri || this.ctes.version !== document.version) {
      const found = loadOutline().outlineModel(document.getText(), document.uri.fsPath, {
        jinjaDir: this.controller.assets.jinjaDir,
        workspaceDir: this.workspaceDir(document.uri),
        trusted: vscode.workspace.isTrusted,
      });
      this.ctes = { uri, version: document.version, found };
    }
    return this.ctes.found;
  }

  async provideDefinition(
    document: vscode.TextDocument,
    position: vscode.Position,
  ): Promise<vscode.Location | undefined> {
    const line = document.lineAt(position.line).text;
    const reference = loadOutline().referenceAt(line, position.character);
    if (reference) {
      const project = await this.project(document);
      if (!project) return undefined;
      if (reference.kind === 'ref') {
        const file = project.models.get(reference.name) ?? project.seeds.get(reference.name);
        return file ? new vscode.Location(vscode.Uri.file(file), new vscode.Position(0, 0)) : undefined;
      }
      const location = project.sources.get(reference.source)?.get(reference.table);
      return location ? new vscode.Location(vscode.Uri.file(location.file), toRange(location)) : undefined;
    }
    const range = document.getWordRangeAtPosition(position, IDENTIFIER);
    if (!range) return undefined;
    const name = identifierKey(document.getText(range));
    const cte = (await this.cteDefinitions(document))?.find((candidate) => identifierKey(candidate.name) === name);
    if (!cte || cte.location.file !== document.uri.fsPath) return undefined;
    return new vscode.Location(document.uri, toRange(cte.location));
  }
}
