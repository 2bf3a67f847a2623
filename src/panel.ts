// The one Segment Lens panel: the grid beside the lineage. Reused, never duplicated; data goes to it only as
// messages (never spliced into its HTML), and every message from it is validated against the protocol. Messages
// posted before its webview says `ready` wait, and are delivered after the state, in order.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import * as vscode from 'vscode';
import { Disposable } from './dispose';
import type { RunController, RunState } from './runController';
import { toRange } from './vscodeTypes';
import { toCsv } from './shared/format';
import type { FileLocation } from './shared/problem';
import {
  PAGE_SIZE,
  parseWebviewMessage,
  type HostMessage,
  type PanelState,
  type WebviewMessage,
} from './shared/protocol';

/** What the webview shows for the controller's run state. */
export function panelState(state: RunState): PanelState {
  switch (state.status) {
    case 'empty':
    case 'error':
      return state;
    case 'running':
      return { status: 'running', modelName: state.modelName, previous: panelState(state.previous) };
    case 'done': {
      const { result, grid, lineage, lineageError } = state;
      return {
        status: 'done',
        run: {
          modelFile: result.model.file,
          modelName: path.basename(result.model.file),
          sample: result.model.sample,
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
  }
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

export class Panel extends Disposable {
  static readonly viewType = 'segmentLens.panel';
  private view: PanelView | undefined;
  /** The last messages posted, for the extension-host tests to read the panel's state. */
  readonly posted: HostMessage[] = [];

  constructor(private readonly controller: RunController) {
    super();
    this._register(controller.onDidChange(() => this.post(this.stateMessage())));
    this._register({ dispose: () => this.view?.dispose() });
  }

  get visible(): boolean {
    return !!this.view?.webviewPanel.visible;
  }

  show(): void {
    if (this.view) {
      this.view.webviewPanel.reveal(vscode.ViewColumn.Beside, true);
      return;
    }
    const extensionUri = this.controller.extensionUri;
    const webviewPanel = vscode.window.createWebviewPanel(
      Panel.viewType,
      'Segment Lens',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
      },
    );
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
        return this.reveal(this.controller.spanOf(message.id, message.model));
      case 'revealError':
        return this.reveal(this.controller.errorLocation());
    }
  }

  /** Opens the model (or the file at fault) at a location the host itself holds, beside the panel. */
  private async reveal(location: FileLocation | undefined): Promise<void> {
    if (!location) return;
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(location.file));
    const editor = await vscode.window.showTextDocument(document, {
      viewColumn: vscode.ViewColumn.One,
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

  /** Writes the full result as RFC 4180 CSV to `target`, or where the user picks. */
  async exportCsv(target?: vscode.Uri): Promise<void> {
    const last = this.controller.last;
    if (!last) {
      void vscode.window.showInformationMessage('Segment Lens: run the model first, then export its grid.');
      return;
    }
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    target ??= await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, 'customer_segments.csv') : undefined,
      filters: { CSV: ['csv'] },
      saveLabel: 'Export',
    });
    if (!target) return;
    await vscode.workspace.fs.writeFile(
      target,
      new TextEncoder().encode(toCsv(last.result.columns, last.result.rows, { forSpreadsheets: true })),
    );
    this.post({
      type: 'notice',
      text: `Exported ${last.result.rows.length} rows to ${vscode.workspace.asRelativePath(target)}.`,
    });
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
