// The one Segment Lens panel: the grid beside the lineage. Reused, never duplicated; data goes to it only as
// messages (never spliced into its HTML), and every message from it is validated against the protocol. Messages
// posted before its webview says `ready` wait, and are delivered after the state, in order.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { Disposable } from './dispose';
import { SAMPLE_SCHEME, type CompletedRun, type RunController, type RunState } from './runController';
import { toRange } from './vscodeTypes';
import { sqlNumber } from './engine/run/whatIf';
import { toCsv } from './shared/format';
import { DEFAULT_GRID_VIEW, plainMetric, shownGrid, shownGridTable, type GridView } from './shared/grid';
import { isRecord } from './shared/json';
import { metricLabel } from './shared/labels';
import type { FileLocation } from './shared/problem';
import {
  PAGE_SIZE,
  parseWebviewMessage,
  type DonePanelState,
  type HostMessage,
  type PanelState,
  type WebviewMessage,
} from './shared/protocol';

/** Where the panel's share of the editor area is remembered (globalState), and the share when none is. */
const SHARE_KEY = 'segmentLens.panelShare';
const DEFAULT_SHARE = 0.6;

/** What the webview shows for the controller's run state. */
export function panelState(state: RunState): PanelState {
  switch (state.status) {
    case 'empty':
      return state;
    case 'error':
      return {
        status: 'error',
        modelName: state.modelName,
        error: state.error,
        ...(state.lastGood ? { lastGood: donePanelState(state.lastGood) } : {}),
      };
    case 'running':
      return { status: 'running', modelName: state.modelName, previous: panelState(state.previous) };
    case 'done':
      return donePanelState(state);
  }
}

function donePanelState(completed: CompletedRun): DonePanelState {
  const { result, grid, lineage, lineageError } = completed;
  return {
    status: 'done',
    run: {
      modelFile: result.model.file,
      modelName: path.basename(result.model.file),
      modelLabel: completed.modelLabel,
      sample: result.model.sample,
      finishedAt: completed.finishedAt,
      source: result.source.description,
      cteRowCounts: result.cteRowCounts,
      timings: { loadMs: result.timings.loadMs, queryMs: result.timings.queryMs, totalMs: result.timings.totalMs },
      upstream: result.upstream.relations.map(({ name, from, rows, ms }) => ({ name, from, rows, ms })),
      columns: result.columns,
      rows: result.rows,
    },
    grid,
    lineage,
    lineageError,
    warnings: result.warnings,
  };
}

/** One open webview panel and the listeners it owns: closing it drops them all. */
class PanelView extends Disposable {
  private ready = false;
  private readonly queued: HostMessage[] = [];

  constructor(
    readonly webviewPanel: vscode.WebviewPanel,
    private readonly currentState: () => HostMessage,
    handle: (message: Exclude<WebviewMessage, { type: 'ready' }>) => Promise<void>,
    onClosed: () => void,
  ) {
    super();
    this._register(webviewPanel);
    this._register(
      webviewPanel.onDidDispose(() => {
        onClosed();
        this.dispose();
      }),
    );
    this._register(
      webviewPanel.webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseWebviewMessage(raw);
        if (message?.type === 'ready') this.becomeReady();
        else if (message) void handle(message);
      }),
    );
  }

  /** The state first, then what was posted while the webview was loading (a state among it is superseded). */
  private becomeReady(): void {
    this.ready = true;
    const waiting = this.queued.splice(0).filter((message) => message.type !== 'state');
    for (const message of [this.currentState(), ...waiting]) void this.webviewPanel.webview.postMessage(message);
  }

  post(message: HostMessage): void {
    if (this.ready) void this.webviewPanel.webview.postMessage(message);
    else this.queued.push(message);
  }
}

/** The editor layout `vscode.getEditorLayout` reports: groups side by side (orientation 0), sizes in pixels. */
interface EditorLayout {
  orientation?: number;
  groups?: { size?: number; groups?: unknown[] }[];
}

export class Panel extends Disposable {
  static readonly viewType = 'segmentLens.panel';
  private view: PanelView | undefined;
  /** The last messages posted, for the extension-host tests to read the panel's state. */
  readonly posted: HostMessage[] = [];
  /** How the user has the grid in the webview (metric, filter, sort): what "the grid as shown" exports. */
  gridView: GridView = DEFAULT_GRID_VIEW;

  constructor(
    private readonly controller: RunController,
    private readonly memento?: vscode.Memento,
  ) {
    super();
    this._register(controller.onDidChange(() => this.post(this.stateMessage())));
    this._register(controller.onDidProgress((text) => this.post({ type: 'progress', text })));
    this._register({ dispose: () => this.view?.dispose() });
    this._register(
      vscode.workspace.registerTextDocumentContentProvider(SAMPLE_SCHEME, {
        provideTextDocumentContent: (uri) => this.sampleText(uri),
      }),
    );
  }

  get visible(): boolean {
    return !!this.view?.webviewPanel.visible;
  }

  /**
   * Shows the panel beside the editor, opening it if need be. A panel that opens a second editor group gets the
   * share of the editor area the user last gave it (60 % at first), so the grid and the lineage fit.
   */
  show(): void {
    if (this.view) {
      const panel = this.view.webviewPanel;
      // In the active editor's own group the panel would hide it: move it beside instead.
      const column =
        panel.viewColumn !== undefined && panel.viewColumn !== vscode.window.activeTextEditor?.viewColumn
          ? panel.viewColumn
          : vscode.ViewColumn.Beside;
      panel.reveal(column, true);
      return;
    }
    const opensGroup = vscode.window.tabGroups.all.length === 1;
    const webviewPanel = vscode.window.createWebviewPanel(
      Panel.viewType,
      'Segment Lens',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { ...this.webviewOptions(), retainContextWhenHidden: true },
    );
    this.adopt(webviewPanel);
    if (opensGroup) void this.applyShare();
  }

  private webviewOptions(): vscode.WebviewOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.controller.extensionUri, 'dist', 'webview')],
    };
  }

  /** Makes a webview panel (new, or restored after a reload) the Segment Lens panel. */
  private adopt(webviewPanel: vscode.WebviewPanel): void {
    this.view?.dispose();
    const extensionUri = this.controller.extensionUri;
    webviewPanel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'segment-lens.svg');
    webviewPanel.webview.html = this.html(webviewPanel.webview);
    const view = new PanelView(
      webviewPanel,
      () => this.stateMessage(),
      (message) => this.handle(message),
      () => {
        if (this.view === view) this.view = undefined;
      },
    );
    this.view = view;
  }

  /**
   * The panel VS Code restores after a reload (a WebviewPanelSerializer): it becomes the panel, and in a trusted
   * workspace the model it showed runs again (`saved` is the webview's own state: only a model file inside the
   * workspace that still exists is taken from it).
   */
  async restore(webviewPanel: vscode.WebviewPanel, saved: unknown): Promise<void> {
    webviewPanel.webview.options = this.webviewOptions();
    this.adopt(webviewPanel);
    if (!vscode.workspace.isTrusted) return;
    const file = isRecord(saved) && typeof saved.modelFile === 'string' ? saved.modelFile : undefined;
    const model =
      file &&
      path.isAbsolute(file) &&
      !this.controller.isSample(file) &&
      vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file)) &&
      existsSync(file)
        ? vscode.Uri.file(file)
        : this.controller.defaultModel();
    await this.controller.run(model, { progress: false });
  }

  /** Gives a panel that has just opened the second editor group the share of the editor area it had last. */
  private async applyShare(): Promise<void> {
    const share = this.memento?.get<number>(SHARE_KEY) ?? DEFAULT_SHARE;
    try {
      const layout = await vscode.commands.executeCommand<EditorLayout>('vscode.getEditorLayout');
      if (!this.isBesideLayout(layout)) return;
      await vscode.commands.executeCommand('vscode.setEditorLayout', {
        orientation: 0,
        groups: [{ size: 1 - share }, { size: share }],
      });
    } catch {
      // A VS Code without these commands keeps its own even split.
    }
  }

  /** Remembers the panel's share of the editor area after the user resized it (two groups side by side only). */
  private async rememberShare(): Promise<void> {
    try {
      const layout = await vscode.commands.executeCommand<EditorLayout>('vscode.getEditorLayout');
      if (!this.isBesideLayout(layout)) return;
      const [left, right] = layout.groups.map((group) => group.size ?? 0);
      if (left > 0 && right > 0)
        await this.memento?.update(SHARE_KEY, Math.min(0.85, Math.max(0.25, right / (left + right))));
    } catch {
      // Nothing to remember without the layout commands.
    }
  }

  /** Two editor groups side by side, the panel in the second. */
  private isBesideLayout(layout: EditorLayout | undefined): layout is Required<EditorLayout> & {
    groups: { size?: number }[];
  } {
    return (
      !!layout &&
      (layout.orientation ?? 0) === 0 &&
      layout.groups?.length === 2 &&
      layout.groups.every((group) => !group.groups?.length) &&
      this.view?.webviewPanel.viewColumn === vscode.ViewColumn.Two
    );
  }

  /** What the panel shows now. */
  get state(): PanelState {
    return panelState(this.controller.state);
  }

  private stateMessage(): HostMessage {
    return { type: 'state', state: this.state, locale: vscode.env.language };
  }

  post(message: HostMessage): void {
    this.posted.push(message);
    if (this.posted.length > 50) this.posted.shift();
    this.view?.post(message);
  }

  revealCell(region: string | null, segment: string | null): void {
    this.show();
    this.post({ type: 'revealCell', region, segment });
  }

  /** Shows the panel scrolled to the lineage. */
  showLineage(): void {
    this.show();
    this.post({ type: 'scrollTo', target: 'lineage' });
  }

  private async handle(message: Exclude<WebviewMessage, { type: 'ready' }>): Promise<void> {
    switch (message.type) {
      case 'run':
        return this.controller.refresh();
      case 'exportCsv':
        return void vscode.commands.executeCommand('segmentLens.exportCsv');
      case 'copy':
        await vscode.env.clipboard.writeText(message.text);
        this.post({ type: 'notice', text: 'Copied to the clipboard.' });
        return;
      case 'drillDown': {
        const page = await this.safely(() =>
          this.controller.drillDown(message.region, message.segment, message.offset, PAGE_SIZE),
        );
        if (page)
          this.post({
            type: 'drillDown',
            region: message.region,
            segment: message.segment,
            page: { ...page, offset: message.offset },
          });
        else
          this.post({ type: 'notice', text: "This model's cells cannot be traced back to the customers of one CTE." });
        return;
      }
      case 'cteRows':
        return this.previewCte(message.cte, message.offset);
      case 'revealNode':
        return this.revealNode(message.id, message.model);
      case 'revealError':
        return this.reveal(this.controller.errorLocation());
      case 'gridView':
        this.gridView = message.view;
        return;
      case 'resized':
        return this.rememberShare();
      case 'whatIf': {
        const started = performance.now();
        const answer = await this.safely(() => this.controller.whatIf(message.values));
        if (answer)
          this.post({
            type: 'whatIf',
            values: message.values,
            grid: answer.grid,
            ms: Math.round(performance.now() - started),
          });
        return;
      }
      case 'whatIfMoved': {
        // A cell's customers, or (no region and no segment) every customer that moved.
        const cell =
          message.region === null && message.segment === null
            ? undefined
            : { region: message.region, segment: message.segment };
        const page = await this.safely(() =>
          this.controller.whatIfMoved(message.values, cell, message.offset, PAGE_SIZE),
        );
        if (page)
          this.post({
            type: 'drillDown',
            region: message.region,
            segment: message.segment,
            page: { ...page, offset: message.offset },
            moved: message.values,
          });
        else if (page === undefined && this.controller.last && !this.controller.last.drillDown)
          this.post({ type: 'notice', text: "This model's cells cannot be traced back to the customers of one CTE." });
        return;
      }
      case 'applyWhatIf':
        return this.applyWhatIf(message.values);
    }
  }

  /**
   * Writes what-if thresholds into the model in its editor, as one edit the user can undo (and saves when they
   * choose). A number a var() prints is not in the file: the notice says which var to change and where it is set.
   */
  private async applyWhatIf(values: readonly number[]): Promise<void> {
    const literals = this.controller.thresholds();
    if (values.length !== literals.length) {
      this.post({ type: 'notice', text: 'The model’s thresholds changed since the panel showed them: run it again.' });
      return;
    }
    const changed = literals
      .map((literal, index) => ({ literal, value: values[index] }))
      .filter(({ literal, value }) => value !== literal.value);
    const inText = changed.filter(({ literal }) => literal.template === undefined && literal.location);
    const elsewhere = changed.filter(({ literal }) => literal.template !== undefined);
    const notes = elsewhere.map(({ literal, value }) =>
      literal.var
        ? `set var '${literal.var.name}' to ${value} (it is set in ${literal.var.setIn})`
        : `change ${literal.template} (line ${literal.location?.line}) to give ${value}`,
    );
    if (inText.length > 0) {
      const file = inText[0].literal.location!.file;
      if (this.controller.isSample(file)) {
        this.post({
          type: 'notice',
          text: 'The bundled sample model is read-only: copy it into your workspace to change its thresholds.',
        });
        return;
      }
      const edit = new vscode.WorkspaceEdit();
      const documents = new Map<string, vscode.TextDocument>();
      for (const { literal, value } of inText) {
        const location = literal.location!;
        const uri = this.documentUri(location.file);
        const document = documents.get(location.file) ?? (await vscode.workspace.openTextDocument(uri));
        documents.set(location.file, document);
        const range = toRange(location);
        // The editor may hold edits made since the run: write only where the number still is.
        if (document.getText(range) !== literal.text) {
          this.post({
            type: 'notice',
            text: `${path.basename(location.file)} changed since the run (line ${location.line} no longer reads ${literal.text}): run the model again, then apply.`,
          });
          return;
        }
        edit.replace(uri, range, sqlNumber(value));
      }
      if (!(await vscode.workspace.applyEdit(edit))) {
        this.post({ type: 'notice', text: `The thresholds could not be written into ${path.basename(file)}.` });
        return;
      }
      const document = documents.get(file)!;
      await vscode.window.showTextDocument(document, {
        viewColumn: this.columnBesidePanel(document.uri),
        preserveFocus: false,
        selection: toRange(inText[0].literal.location!),
      });
    }
    const wrote =
      inText.length > 0
        ? `Wrote ${inText.length} threshold${inText.length === 1 ? '' : 's'} into ${path.basename(inText[0].literal.location!.file)}: save it to run (undo restores the file's values).`
        : '';
    const rest = notes.length > 0 ? `To apply the rest, ${notes.join('; ')}.` : '';
    this.post({
      type: 'notice',
      text: [wrote, rest].filter(Boolean).join(' ') || 'No threshold differs from the file.',
    });
  }

  /** The text of a bundled sample file, for its read-only document; nothing outside the sample folder. */
  private async sampleText(uri: vscode.Uri): Promise<string> {
    const file = this.controller.fileOf(uri);
    if (!file) throw new Error(`Segment Lens: ${uri.path} is not a bundled sample file.`);
    return readFile(file, 'utf8');
  }

  private documentUri(file: string): vscode.Uri {
    return this.controller.documentUri(file);
  }

  /**
   * The editor group to open a file in from the panel: the group beside the panel that shows it already, else the
   * nearest other group (left of the panel first), else a new group beside. Never the panel's own group.
   */
  private columnBesidePanel(uri: vscode.Uri): vscode.ViewColumn {
    const panelColumn = this.view?.webviewPanel.viewColumn;
    const showing = vscode.window.visibleTextEditors.find(
      (editor) => editor.document.uri.toString() === uri.toString() && editor.viewColumn !== panelColumn,
    );
    if (showing?.viewColumn !== undefined) return showing.viewColumn;
    const others = vscode.window.tabGroups.all
      .map((group) => group.viewColumn)
      .filter((column) => column !== panelColumn);
    if (panelColumn === undefined || others.length === 0) return vscode.ViewColumn.Beside;
    const left = others.filter((column) => column < panelColumn);
    return left.length ? Math.max(...left) : Math.min(...others);
  }

  /** Opens the model where a lineage node, relation or output column is written, beside the panel. */
  /** A lineage node of the explored model, or of the upstream `model` it names, opened at its line. */
  revealNode(id: string, model?: string): Promise<void> {
    return this.reveal(this.controller.spanOf(id, model));
  }

  /** Opens the model (or the file at fault) at a location the host itself holds, beside the panel. */
  private async reveal(location: FileLocation | undefined): Promise<void> {
    if (!location) return;
    const uri = this.documentUri(location.file);
    const document = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(document, {
      viewColumn: this.columnBesidePanel(uri),
      preserveFocus: false,
    });
    const range = toRange(location);
    // Select the span with the cursor at its start, where the reader begins.
    editor.selection = new vscode.Selection(range.end, range.start);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  /** Shows a CTE's first rows in the panel. */
  async previewCte(cte: string, offset = 0): Promise<void> {
    this.show();
    const page = await this.safely(() => this.controller.cteRows(cte, [], offset, PAGE_SIZE));
    if (page) this.post({ type: 'cteRows', cte, page: { ...page, offset } });
  }

  private async safely<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      this.post({ type: 'notice', text: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
  }

  /**
   * Writes CSV to `target`, or where the user picks: `grid`, the grid as the panel shows it (metric, filter, sort,
   * totals), or `rows`, the model's result rows. Without `kind` the user chooses.
   */
  async exportCsv(target?: vscode.Uri, kind?: 'grid' | 'rows'): Promise<void> {
    const last = this.controller.last;
    if (!last) {
      void vscode.window.showInformationMessage('Segment Lens: run the model first, then export its grid.');
      return;
    }
    const grid = last.grid.ok ? last.grid.grid : undefined;
    const locale = vscode.env.language;
    const shown = grid && shownGrid(grid, this.gridView, locale);
    if (!kind) {
      const choices: (vscode.QuickPickItem & { choice: 'grid' | 'rows' })[] = [
        ...(shown
          ? [
              {
                label: 'The grid as shown',
                description: `${metricLabel(shown.metric)} · ${shown.rows.length} regions${shown.filtered ? ' (filtered)' : ''} · with totals`,
                choice: 'grid' as const,
              },
            ]
          : []),
        {
          label: "The model's result rows",
          description: `${last.result.rows.length} rows × ${last.result.columns.length} columns`,
          choice: 'rows',
        },
      ];
      const picked = await vscode.window.showQuickPick(choices, { title: 'Segment Lens: export what as CSV?' });
      if (!picked) return;
      kind = picked.choice;
    }
    const base = path.basename(last.result.model.file, '.sql');
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    target ??= await vscode.window.showSaveDialog({
      defaultUri: folder
        ? vscode.Uri.joinPath(folder, kind === 'grid' ? `${base}-grid.csv` : `${base}.csv`)
        : undefined,
      filters: { CSV: ['csv'] },
      saveLabel: 'Export',
    });
    if (!target) return;
    let text: string;
    let what: string;
    if (kind === 'grid' && grid && shown) {
      // The labels are guarded against formulas by shownGridTable; the numbers must stay numbers (a minus sign too).
      const [header, ...rows] = shownGridTable(grid, shown, (value) => plainMetric(value, shown.metric));
      text = toCsv(header, rows);
      what = `the grid (${metricLabel(shown.metric)}, ${shown.rows.length} regions and totals)`;
    } else {
      text = toCsv(last.result.columns, last.result.rows, { forSpreadsheets: true });
      what = `${last.result.rows.length} rows`;
    }
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
    this.post({ type: 'notice', text: `Exported ${what} to ${vscode.workspace.asRelativePath(target)}.` });
  }

  private html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const asset = (name: string) =>
      webview.asWebviewUri(vscode.Uri.joinPath(this.controller.extensionUri, 'dist', 'webview', name));
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; font-src ${webview.cspSource}; img-src ${webview.cspSource} data:; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset('main.css')}">
<title>Segment Lens</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${asset('main.js')}"></script>
</body>
</html>`;
  }
}
