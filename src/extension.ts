// Registers Segment Lens's commands, views and listeners. Everything it creates is disposed with the extension.
import * as vscode from 'vscode';
import { RunController } from './runController';
import { ModelCodeLens } from './codeLens';
import { Panel } from './panel';
import { SegmentTree } from './tree';
import { selectDataSource } from './dataSourcePicker';
import { AutoRunner } from './autoRun';

export interface SegmentLensApi {
  /** How long `activate` itself took, in milliseconds. */
  activationMs: number;
  controller: RunController;
  panel: Panel;
  tree: SegmentTree;
  codeLens: ModelCodeLens;
}

export function activate(context: vscode.ExtensionContext): SegmentLensApi {
  const started = performance.now();
  const controller = new RunController(context.extensionUri);
  const panel = new Panel(controller);
  const tree = new SegmentTree(controller);
  const codeLens = new ModelCodeLens(controller);
  context.subscriptions.push(controller, panel, tree, codeLens);
  context.subscriptions.push(
    vscode.window.createTreeView('segmentLens.segments', { treeDataProvider: tree, showCollapseAll: true }),
  );
  context.subscriptions.push(vscode.languages.registerCodeLensProvider({ language: 'sql', scheme: 'file' }, codeLens));

  /** The SQL file in the active editor, when it is a segment model. */
  const activeModel = (): vscode.Uri | undefined => {
    const document = vscode.window.activeTextEditor?.document;
    return document?.languageId === 'sql' && document.uri.scheme === 'file' && codeLens.isModel(document)
      ? document.uri
      : undefined;
  };
  const run = async (model?: vscode.Uri) => {
    panel.show();
    await controller.run(model instanceof vscode.Uri ? model : activeModel());
  };

  const register = (command: string, callback: (...args: never[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(command, callback));
  register('segmentLens.run', run);
  register('segmentLens.openLineage', async () => {
    panel.show();
    if (!controller.last) await controller.run(activeModel());
  });
  register('segmentLens.refresh', () => controller.refresh());
  register('segmentLens.exportCsv', (target?: vscode.Uri) =>
    panel.exportCsv(target instanceof vscode.Uri ? target : undefined),
  );
  register('segmentLens.selectDataSource', () => selectDataSource());
  register('segmentLens.openPanel', () => panel.show());
  register('segmentLens.previewCte', async (model: vscode.Uri, cte: string) => {
    if (controller.last?.result.model.file !== model.fsPath) await run(model);
    await panel.previewCte(cte);
  });
  register('segmentLens.revealCell', (region: string | null, segment: string | null) =>
    panel.revealCell(region, segment),
  );

  context.subscriptions.push(new AutoRunner(controller, codeLens));

  const updateModelContext = () =>
    void vscode.commands.executeCommand('setContext', 'segmentLens.isModelEditor', !!activeModel());
  context.subscriptions.push(vscode.window.onDidChangeActiveTextEditor(updateModelContext));
  updateModelContext();

  return { activationMs: performance.now() - started, controller, panel, tree, codeLens };
}

export function deactivate(): void {}
