// Registers Segment Lens's commands, views and listeners. Everything it creates is disposed with the extension.
import * as vscode from 'vscode';
import { RunController, SAMPLE_SCHEME } from './runController';
import { ModelCodeLens } from './codeLens';
import { Panel } from './panel';
import { SegmentTree } from './tree';
import { selectDataSource } from './dataSourcePicker';
import { AutoRunner } from './autoRun';
import { describeError, LensError } from './engine/errors';
import { CancelledError } from './engine/worker/client';
import { ColumnHover, SHOW_COLUMN_LINEAGE } from './columnHover';
import { ColumnLens } from './columnLens';
import { ModelDefinitions } from './definitions';
import { PostgresPasswords, SET_PASSWORD, setPostgresPassword } from './passwordCommand';

export interface SegmentLensApi {
  /** How long `activate` itself took, in milliseconds. */
  activationMs: number;
  controller: RunController;
  panel: Panel;
  tree: SegmentTree;
  codeLens: ModelCodeLens;
  columnHover: ColumnHover;
  columnLens: ColumnLens;
  /** The PostgreSQL passwords stored with Set PostgreSQL Password (VS Code's SecretStorage). */
  passwords: PostgresPasswords;
}

export function activate(context: vscode.ExtensionContext): SegmentLensApi {
  const started = performance.now();
  // The loaded data is saved between restarts in the extension's storage for this workspace (the global one without a
  // workspace): never in the user's folder.
  const storage = context.storageUri ?? context.globalStorageUri;
  const controller = new RunController(context.extensionUri, vscode.Uri.joinPath(storage, 'data-cache').fsPath);
  const panel = new Panel(controller, context.globalState);
  const tree = new SegmentTree(controller);
  const codeLens = new ModelCodeLens(controller);
  context.subscriptions.push(controller, panel, tree, codeLens);
  const treeView = vscode.window.createTreeView('segmentLens.segments', {
    treeDataProvider: tree,
    showCollapseAll: true,
  });
  context.subscriptions.push(treeView, tree.attach(treeView));
  // After a reload VS Code hands back the panel it had open: it becomes ours, and re-runs when trusted.
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(Panel.viewType, {
      deserializeWebviewPanel: (webviewPanel, saved) => panel.restore(webviewPanel, saved),
    }),
  );
  context.subscriptions.push(vscode.languages.registerCodeLensProvider({ language: 'sql', scheme: 'file' }, codeLens));

  /** The SQL file in the active editor, when it is a segment model. */
  const activeModel = (): vscode.Uri | undefined => {
    const document = vscode.window.activeTextEditor?.document;
    return document?.languageId === 'sql' && document.uri.scheme === 'file' && codeLens.isModel(document)
      ? document.uri
      : undefined;
  };
  // The model Run runs without one named: the active editor's, else the configured one, else the one last active in an
  // editor, else the sample.
  const runTarget = () => activeModel() ?? controller.defaultModel();
  const rememberActiveModel = () => {
    const model = activeModel();
    if (!model) return;
    controller.recentModel = model;
    controller.warmEngine();
  };
  context.subscriptions.push(vscode.window.onDidChangeActiveTextEditor(rememberActiveModel));
  rememberActiveModel();
  const run = async (model?: vscode.Uri) => {
    panel.show();
    await controller.run(model instanceof vscode.Uri ? model : runTarget());
  };

  const autoRunner = new AutoRunner(controller, codeLens);
  context.subscriptions.push(autoRunner);

  const register = (command: string, callback: (...args: never[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(command, callback));
  register('segmentLens.run', run);
  register('segmentLens.openLineage', async () => {
    panel.showLineage();
    if (!controller.last) await controller.run(runTarget());
  });
  register('segmentLens.refresh', () => controller.refresh());
  register('segmentLens.exportCsv', (target?: vscode.Uri, kind?: unknown) =>
    panel.exportCsv(
      target instanceof vscode.Uri ? target : undefined,
      kind === 'grid' || kind === 'rows' ? kind : undefined,
    ),
  );
  // Choosing a data source is a run started by hand: the model runs on it now, in the panel.
  register('segmentLens.selectDataSource', async () => {
    const connection = await selectDataSource();
    if (connection === undefined) return;
    autoRunner.cancelPending();
    panel.show();
    await (controller.state.status === 'empty' ? controller.run(runTarget()) : controller.refresh());
  });
  register('segmentLens.openPanel', () => panel.show());
  // The model's documentation, as an untitled Markdown document: nothing is written unless the user saves it.
  register('segmentLens.describeModel', async (model?: vscode.Uri) => {
    let markdown: string;
    try {
      markdown = await controller.describe(model instanceof vscode.Uri ? model : runTarget());
    } catch (error) {
      if (error instanceof CancelledError) return undefined;
      if (!(error instanceof LensError)) throw error;
      void vscode.window.showErrorMessage(`Segment Lens: ${describeError(error.value)}`);
      return undefined;
    }
    const document = await vscode.workspace.openTextDocument({ language: 'markdown', content: markdown });
    await vscode.window.showTextDocument(document, { preview: false });
    return document;
  });
  register('segmentLens.previewCte', async (model: vscode.Uri, cte: string) => {
    if (controller.last?.result.model.file !== model.fsPath) await run(model);
    await panel.previewCte(cte);
  });
  // Set PostgreSQL Password: runs send what it stores to the engine with each request.
  const passwords = new PostgresPasswords(context.secrets, context.globalState);
  controller.storedPasswords = () => passwords.all();
  register(SET_PASSWORD, () =>
    setPostgresPassword(
      () => controller.postgresServer(),
      passwords,
      () => controller.refresh(),
    ),
  );
  register('segmentLens.revealCell', (region: string | null, segment: string | null) =>
    panel.revealCell(region, segment),
  );

  // Lineage from the editor: a column's lineage on hover, Show Lineage of Column, Go to Definition.
  const sqlFiles = { language: 'sql', scheme: 'file' };
  // The read-only bundled sample too: a new user's first model.
  const sqlModels = [sqlFiles, { language: 'sql', scheme: SAMPLE_SCHEME }];
  const columnHover = new ColumnHover(controller);
  const columnLens = new ColumnLens(controller, panel, columnHover, (document) => codeLens.isModel(document));
  const definitions = new ModelDefinitions(controller);
  context.subscriptions.push(
    columnHover,
    columnLens,
    definitions,
    vscode.languages.registerHoverProvider(sqlModels, columnHover),
    vscode.languages.registerCodeLensProvider(sqlModels, columnLens),
    vscode.languages.registerDefinitionProvider(sqlFiles, definitions),
  );
  register(SHOW_COLUMN_LINEAGE, (first?: unknown, second?: unknown) => columnLens.show(first, second));

  const updateModelContext = () =>
    void vscode.commands.executeCommand('setContext', 'segmentLens.isModelEditor', !!activeModel());
  context.subscriptions.push(vscode.window.onDidChangeActiveTextEditor(updateModelContext));
  updateModelContext();

  return {
    activationMs: performance.now() - started,
    controller,
    panel,
    tree,
    codeLens,
    columnHover,
    columnLens,
    passwords,
  };
}

export function deactivate(): void {}
