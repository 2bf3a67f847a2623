// CodeLens on the model file: "▶ Run Segment Model" with the last run's summary, and "Preview <cte>" per CTE.
import path from 'node:path';
import * as vscode from 'vscode';
import { Disposable } from './dispose';
import type { RunController } from './runController';
import { toRange } from './vscodeTypes';
import { looksLikeSegmentModel } from './engine/model/looksLikeModel';
import { clockTime, formatSeconds } from './shared/labels';
import { FINAL_SELECT } from './shared/lineageModel';

type Outline = typeof import('./engine/model/outline');
let outline: Outline | undefined;

/**
 * The parser and Jinja renderer behind the CTE lenses (and Go to Definition) load on the first model shown, not at
 * activation.
 */
export function loadOutline(): Outline {
  // A separate bundle next to this one (esbuild.mjs builds dist/outline.js), required only when first needed.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  outline ??= require(path.join(__dirname, 'outline.js')) as Outline;
  return outline;
}

export class ModelCodeLens extends Disposable implements vscode.CodeLensProvider {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly controller: RunController) {
    super();
    // Titles carry the last run's figures: refresh them when a run ends (not while typing).
    this._register(
      controller.onDidChange(() => {
        if (controller.state.status !== 'running') this.changed.fire();
      }),
    );
  }

  /** Asks the editor for fresh lenses (the configured model may have changed). */
  refresh(): void {
    this.changed.fire();
  }

  /** The configured model, or any SQL file with the model's shape. */
  isModel(document: vscode.TextDocument): boolean {
    const configured = this.controller.configuredModel();
    return (
      (configured !== undefined && configured.fsPath === document.uri.fsPath) ||
      looksLikeSegmentModel(document.getText())
    );
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    if (!this.isModel(document)) return [];
    const last = this.controller.last?.result;
    const ranHere = last?.model.file === document.uri.fsPath;
    const counts = ranHere ? last.cteRowCounts : undefined;
    const top = new vscode.Range(0, 0, 0, 0);
    const state = this.controller.state;
    const failed = state.status === 'error' || (state.status === 'running' && state.previous.status === 'error');
    // After a failed run the figures are the last good run's: say so, with its time.
    const summary = !ranHere
      ? ''
      : failed
        ? ` · last run failed · showing the run of ${clockTime(this.controller.last!.finishedAt, vscode.env.language)}: ${last.cteRowCounts[FINAL_SELECT]} rows`
        : ` · ${last.cteRowCounts[FINAL_SELECT]} rows · ${formatSeconds(last.timings.totalMs)}`;
    const lenses = [
      new vscode.CodeLens(top, {
        title: `▶ Run Segment Model${summary}`,
        command: 'segmentLens.run',
        arguments: [document.uri],
        tooltip: 'Run this model on the configured data and show its grid and lineage',
      }),
    ];
    const folder = vscode.workspace.getWorkspaceFolder(document.uri)?.uri.fsPath ?? path.dirname(document.uri.fsPath);
    const ctes = await loadOutline().outlineModel(document.getText(), document.uri.fsPath, {
      jinjaDir: this.controller.assets.jinjaDir,
      workspaceDir: folder,
      trusted: vscode.workspace.isTrusted,
    });
    for (const cte of ctes ?? []) {
      const rows = counts?.[cte.name];
      lenses.push(
        new vscode.CodeLens(toRange(cte.location), {
          title: `Preview ${cte.name}${rows === undefined ? '' : ` (${rows} rows)`}`,
          command: 'segmentLens.previewCte',
          arguments: [document.uri, cte.name],
          tooltip: `Show the first rows of ${cte.name} in the Segment Lens panel`,
        }),
      );
    }
    return lenses;
  }
}
