// Runs nobody starts by hand: on save of the model, on a change of segmentLens.model, .connection or .vars, and when the
// data files the last run read change on disk. They wait for a quiet 250 ms (a save storm or a batch of file
// changes becomes one run), and in an untrusted workspace they do not happen at all: the user is told once why.
import path from 'node:path';
import * as vscode from 'vscode';
import type { ModelCodeLens } from './codeLens';
import { SECTION, readConfig } from './config';
import { Disposable, disposeAll } from './dispose';
import type { RunController } from './runController';

export class AutoRunner extends Disposable {
  private watchers: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private toldUntrusted = false;

  constructor(
    private readonly controller: RunController,
    private readonly codeLens: ModelCodeLens,
  ) {
    super();
    this._register({
      dispose: () => {
        clearTimeout(this.timer);
        disposeAll(this.watchers);
      },
    });
    this._register(vscode.workspace.onDidSaveTextDocument((document) => this.saved(document)));
    this._register(
      vscode.workspace.onDidChangeConfiguration((event) => {
        const modelChanged = event.affectsConfiguration(`${SECTION}.model`);
        const inputsChanged =
          event.affectsConfiguration(`${SECTION}.connection`) ||
          event.affectsConfiguration(`${SECTION}.vars`) ||
          event.affectsConfiguration(`${SECTION}.upstream`);
        // A new deadline re-runs a run the old one stopped (or that its bad value failed); others are unaffected.
        const state = controller.state;
        const deadlineChanged =
          event.affectsConfiguration(`${SECTION}.timeoutSeconds`) &&
          state.status === 'error' &&
          (state.error.code === 'timeout' || state.error.setting === `${SECTION}.timeoutSeconds`);
        if (!modelChanged && !inputsChanged && !deadlineChanged) return;
        if (modelChanged || inputsChanged) codeLens.refresh();
        if (controller.state.status === 'empty') return;
        // A new segmentLens.model is the model to run now; a new connection re-runs the same model on it.
        this.schedule(() =>
          modelChanged
            ? controller.run(controller.configuredModel() ?? controller.defaultModel(), { progress: false })
            : controller.refresh({ progress: false }),
        );
      }),
    );
    this._register(
      controller.onDidChange(() => {
        if (controller.state.status === 'done') this.watchData(controller.last?.result.source.files ?? []);
      }),
    );
  }

  private saved(document: vscode.TextDocument): void {
    const { controller } = this;
    const last = controller.last?.result.model;
    const isRunModel =
      document.uri.fsPath === last?.file || document.uri.fsPath === controller.configuredModel()?.fsPath;
    const isModel = () => document.languageId === 'sql' && this.codeLens.isModel(document);
    // The sample ran, and a model of the user's own is saved: that one is what they are working on.
    const replacesSample = !!last?.sample && isModel();
    // Untrusted, the workspace's segmentLens.model is not read: any segment model saved is told why nothing ran.
    const wouldRun = isRunModel || replacesSample || (!vscode.workspace.isTrusted && isModel());
    if (!wouldRun || !readConfig(document.uri).runOnSave) return;
    this.schedule(() => controller.run(document.uri, { progress: false }));
  }

  /** Re-run when the data the last run read changes on disk. */
  private watchData(files: string[]): void {
    disposeAll(this.watchers);
    this.watchers = files.map((file) => {
      const watcher = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), path.basename(file)),
      );
      const changed = () => this.schedule(() => this.controller.refresh({ progress: false }));
      watcher.onDidChange(changed);
      watcher.onDidCreate(changed);
      return watcher;
    });
  }

  /** Drops a run waiting for its quiet time (one started by hand supersedes it). */
  cancelPending(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(start: () => Promise<void>): void {
    if (!vscode.workspace.isTrusted) {
      if (!this.toldUntrusted) {
        this.toldUntrusted = true;
        void vscode.window.showInformationMessage(
          'Segment Lens does not run models by itself in an untrusted workspace. Trust the workspace, or use "Segment Lens: Run Segment Model".',
        );
      }
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void start(), 250);
  }
}
