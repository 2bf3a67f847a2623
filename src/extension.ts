// Registers Segment Lens's commands, views and listeners. Everything it creates is disposed with the extension.
import path from 'node:path';
import * as vscode from 'vscode';
import { SECTION, readConfig } from './config';
import { Controller } from './controller';
import { ModelCodeLens } from './codeLens';
import { Panel } from './panel';
import { SegmentTree } from './tree';
import { selectDataSource } from './dataSourcePicker';

export interface SegmentLensApi {
  /** How long `activate` itself took, in milliseconds. */
  activationMs: number;
  controller: Controller;
  panel: Panel;
  tree: SegmentTree;
  codeLens: ModelCodeLens;
}

export function activate(context: vscode.ExtensionContext): SegmentLensApi {
  const started = performance.now();
  const controller = new Controller(context.extensionUri);
  const panel = new Panel(controller);
  const tree = new SegmentTree(controller);
  const codeLens = new ModelCodeLens(controller);
  context.subscriptions.push(controller, panel, tree, codeLens);
  context.subscriptions.push(vscode.window.createTreeView('segmentLens.segments', { treeDataProvider: tree, showCollapseAll: true }));
  context.subscriptions.push(vscode.languages.registerCodeLensProvider({ language: 'sql', scheme: 'file' }, codeLens));

  /** The SQL file in the active editor, when it is a segment model. */
  const activeModel = (): vscode.Uri | undefined => {
    const document = vscode.window.activeTextEditor?.document;
    return document?.languageId === 'sql' && document.uri.scheme === 'file' && codeLens.isModel(document) ? document.uri : undefined;
  };
  const run = async (model?: vscode.Uri) => {
    panel.show();
    await controller.run(model instanceof vscode.Uri ? model : activeModel());
  };

  const register = (command: string, callback: (...args: never[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(command, callback));
  register('segmentLens.run', run);
  register('segmentLens.openLineage', async () => {
    panel.show();
    if (!controller.last) await controller.run(activeModel());
  });
  register('segmentLens.refresh', () => controller.refresh());
  register('segmentLens.exportCsv', (target?: vscode.Uri) => panel.exportCsv(target instanceof vscode.Uri ? target : undefined));
  register('segmentLens.selectDataSource', () => selectDataSource());
  register('segmentLens.openPanel', () => panel.show());
  register('segmentLens.previewCte', async (model: vscode.Uri, cte: string) => {
    if (controller.last?.result.model.file !== model.fsPath) await run(model);
    await panel.previewCte(cte);
  });
  register('segmentLens.revealCell', (region: string | null, segment: string | null) => panel.revealCell(region, segment));

  // Nothing runs by itself in an untrusted workspace: the user is told once why.
  let toldUntrusted = false;
  const mayRunAutomatically = () => {
    if (vscode.workspace.isTrusted) return true;
    if (!toldUntrusted) {
      toldUntrusted = true;
      void vscode.window.showInformationMessage('Segment Lens does not run models by itself in an untrusted workspace. Trust the workspace, or use "Segment Lens: Run Segment Model".');
    }
    return false;
  };
  const lastModelFile = () => controller.last?.result.model.file;
  // Runs nobody asked for by hand (save, settings, data files) wait for a quiet moment: a save storm or a batch of
  // file changes becomes one run instead of a run started and cancelled for each.
  let autoRunTimer: NodeJS.Timeout | undefined;
  const autoRun = (start: () => Promise<void>) => {
    clearTimeout(autoRunTimer);
    autoRunTimer = setTimeout(() => void start(), 250);
  };
  context.subscriptions.push({ dispose: () => clearTimeout(autoRunTimer) });

  context.subscriptions.push(vscode.workspace.onDidSaveTextDocument((document) => {
    const isRunModel = document.uri.fsPath === lastModelFile() || document.uri.fsPath === controller.configuredModel()?.fsPath;
    // Untrusted, the workspace's segmentLens.model is not read: any segment model saved is told why nothing ran.
    const wouldRun = isRunModel || (!vscode.workspace.isTrusted && document.languageId === 'sql' && codeLens.isModel(document));
    if (!wouldRun || !readConfig(document.uri).runOnSave || !mayRunAutomatically()) return;
    const model = controller.last?.result.model.sample ? undefined : document.uri;
    autoRun(() => controller.run(model, { progress: false }));
  }));
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((event) => {
    if (!event.affectsConfiguration(`${SECTION}.model`) && !event.affectsConfiguration(`${SECTION}.connection`)) return;
    codeLens.refresh();
    if (controller.state.status !== 'empty' && mayRunAutomatically()) autoRun(() => controller.refresh({ progress: false }));
  }));

  // Re-run when the data the last run read changes on disk.
  let watchers: vscode.Disposable[] = [];
  context.subscriptions.push({ dispose: () => watchers.forEach((watcher) => watcher.dispose()) });
  context.subscriptions.push(controller.onDidChange(() => {
    if (controller.state.status !== 'done') return;
    for (const watcher of watchers) watcher.dispose();
    watchers = (controller.last?.result.source.files ?? []).map((file) => {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), path.basename(file)));
      const changed = () => {
        if (mayRunAutomatically()) autoRun(() => controller.refresh({ progress: false }));
      };
      watcher.onDidChange(changed);
      watcher.onDidCreate(changed);
      return watcher;
    });
  }));

  const updateModelContext = () => void vscode.commands.executeCommand('setContext', 'segmentLens.isModelEditor', !!activeModel());
  context.subscriptions.push(vscode.window.onDidChangeActiveTextEditor(updateModelContext));
  updateModelContext();

  return { activationMs: performance.now() - started, controller, panel, tree, codeLens };
}

export function deactivate(): void {}
