// "Show Lineage of Column": opens the panel with one column's path lit and scrolled into view (dbt-core#15276 asks
// for exactly this). Reached from the editor's context menu (the column under the cursor), from a hover's link, and
// from a CodeLens per output column above the final select (after a run of that file).
import * as vscode from 'vscode';
import type { ColumnHover } from './columnHover';
import { SHOW_COLUMN_LINEAGE } from './columnHover';
import { Disposable } from './dispose';
import type { Panel } from './panel';
import type { RunController } from './runController';
import type { ColumnTarget } from './shared/columnLineage';
import { isRecord } from './shared/json';

/** How far before the first output column the final select's SELECT keyword is looked for. */
const SELECT_LOOKBACK_CHARS = 20_000;

export class ColumnLens extends Disposable implements vscode.CodeLensProvider {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(
    private readonly controller: RunController,
    private readonly panel: Panel,
    private readonly hover: ColumnHover,
    private readonly isModel: (document: vscode.TextDocument) => boolean,
  ) {
    super();
    this._register(
      controller.onDidChange(() => {
        if (controller.state.status !== 'running') this.changed.fire();
      }),
    );
  }

  /** "Lineage of <column>" for each output column, on the final select's SELECT line, once that file has run. */
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const run = this.controller.last;
    const file = this.controller.fileOf(document.uri);
    if (!run?.lineage || !file || run.result.model.file !== file) return [];
    const outputs = run.lineage.nodes.filter((node) => node.kind === 'output' && node.span?.file === file);
    if (outputs.length === 0) return [];
    const first = outputs[0].span!;
    const firstOffset = document.offsetAt(new vscode.Position(first.line - 1, first.column - 1));
    const before = document.getText(
      new vscode.Range(
        document.positionAt(Math.max(0, firstOffset - SELECT_LOOKBACK_CHARS)),
        document.positionAt(firstOffset),
      ),
    );
    const selects = [...before.matchAll(/\bselect\b/gi)];
    const keyword = selects.length
      ? document.positionAt(firstOffset - before.length + selects[selects.length - 1].index)
      : new vscode.Position(first.line - 1, 0);
    const line = new vscode.Range(keyword.line, 0, keyword.line, 0);
    return outputs.map(
      (node) =>
        new vscode.CodeLens(line, {
          title: `Lineage of ${node.column}`,
          command: SHOW_COLUMN_LINEAGE,
          arguments: [document.uri, node.id],
          tooltip: `Show where ${node.column} comes from in the Segment Lens panel`,
        }),
    );
  }

  /**
   * Opens the panel with a column's path lit: `(uri, outputId)` from a lens, `({id, model})` from a hover's link, or
   * nothing (the context menu, the palette): the column under the cursor of the active editor, after running its
   * model when the last run was not of it. Returns the column shown, if any.
   */
  async show(first?: unknown, second?: unknown): Promise<ColumnTarget | undefined> {
    let target: ColumnTarget | undefined;
    if (first instanceof vscode.Uri && typeof second === 'string') {
      await this.ensureRun(first);
      const lineage = this.controller.last?.lineage;
      const output = lineage?.nodes.find(
        (node) => node.kind === 'output' && (node.id === second || node.column.toLowerCase() === second.toLowerCase()),
      );
      target = output && { id: output.id };
    } else if (isRecord(first) && typeof first.id === 'string') {
      target = { id: first.id, ...(typeof first.model === 'string' ? { model: first.model } : {}) };
      if (!this.hover.has(target)) target = undefined;
    } else {
      const editor = vscode.window.activeTextEditor;
      if (!editor) return undefined;
      const { document } = editor;
      if (!this.hover.covers(document) && document.uri.scheme === 'file' && this.isModel(document))
        await this.ensureRun(document.uri);
      target = this.hover.targetAt(document, editor.selection.active)?.target;
      if (!target) {
        void vscode.window.showInformationMessage(
          this.hover.covers(document)
            ? 'Segment Lens: put the cursor on a column name of the model (a CTE column, an output column or a column it reads) to see its lineage.'
            : 'Segment Lens: run the model first (▶ Run Segment Model above its first line), then show the lineage of one of its columns.',
        );
        return undefined;
      }
    }
    if (!target) return undefined;
    this.panel.show();
    this.panel.post({ type: 'focusColumn', id: target.id, ...(target.model ? { model: target.model } : {}) });
    return target;
  }

  /** Runs `model` unless the last run was of it. */
  private async ensureRun(model: vscode.Uri): Promise<void> {
    if (this.controller.last?.result.model.file === model.fsPath) return;
    this.panel.show();
    await this.controller.run(model);
  }
}
