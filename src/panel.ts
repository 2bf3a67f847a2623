// The one Segment Lens panel: the grid beside the lineage. Reused, never duplicated; data goes to it only as
// messages (never spliced into its HTML), and every message from it is validated against the protocol.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { FileLocation } from './engine/errors';
import { toCsv } from './shared/format';
import { type Controller, toRange } from './runController';
import { PAGE_SIZE, parseWebviewMessage, type HostMessage, type WebviewMessage } from './shared/protocol';

export class Panel implements vscode.Disposable {
  static readonly viewType = 'segmentLens.panel';
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private readonly queued: HostMessage[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  /** The last messages posted, for the extension-host tests to read the panel's state. */
  readonly posted: HostMessage[] = [];

  constructor(private readonly controller: Controller) {
    this.disposables.push(controller.onDidChange(() => this.sendState()));
  }

  get visible(): boolean {
    return !!this.panel?.visible;
  }

  show(): void {
    if (this.panel) {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
      return;
    }
    const extensionUri = this.controller.extensionUri;
    const panel = vscode.window.createWebviewPanel(Panel.viewType, 'Segment Lens', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
    });
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'segment-lens.svg');
    panel.webview.html = this.html(panel.webview);
    this.panel = panel;
    this.ready = false;
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.ready = false;
    }, undefined, this.disposables);
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      const message = parseWebviewMessage(raw);
      if (message) void this.handle(message);
    }, undefined, this.disposables);
  }

  post(message: HostMessage): void {
    this.posted.push(message);
    if (this.posted.length > 50) this.posted.shift();
    if (!this.panel) return;
    if (!this.ready) {
      this.queued.push(message);
      return;
    }
    void this.panel.webview.postMessage(message);
  }

  private sendState(): void {
    this.post({ type: 'state', state: this.controller.state, locale: vscode.env.language });
  }

  revealCell(region: string | null, segment: string | null): void {
    this.show();
    this.post({ type: 'revealCell', region, segment });
  }

  private async handle(message: WebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready': {
        this.ready = true;
        this.queued.length = 0;
        this.sendState();
        return;
      }
      case 'run':
        return this.controller.refresh();
      case 'exportCsv':
        return void vscode.commands.executeCommand('segmentLens.exportCsv');
      case 'copy':
        await vscode.env.clipboard.writeText(message.text);
        this.post({ type: 'notice', text: 'Copied to the clipboard.' });
        return;
      case 'drillDown': {
        const page = await this.safely(() => this.controller.drillDown(message.region, message.segment, message.offset, PAGE_SIZE));
        if (page) this.post({ type: 'drillDown', region: message.region, segment: message.segment, page: { ...page, offset: message.offset } });
        else this.post({ type: 'notice', text: 'This model\'s cells cannot be traced back to the customers of one CTE.' });
        return;
      }
      case 'cteRows':
        return this.previewCte(message.cte, message.offset);
      case 'revealNode':
        return this.reveal(this.controller.spanOf(message.id));
      case 'revealError':
        return this.reveal(this.controller.state.status === 'error' ? this.controller.state.error.location : undefined);
    }
  }

  /** Opens the model (or the file at fault) at a location the host itself holds, beside the panel. */
  private async reveal(location: FileLocation | undefined): Promise<void> {
    if (!location) return;
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(location.file));
    const editor = await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
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
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(toCsv(last.result.columns, last.result.rows, { forSpreadsheets: true })));
    this.post({ type: 'notice', text: `Exported ${last.result.rows.length} rows to ${vscode.workspace.asRelativePath(target)}.` });
  }

  private html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.controller.extensionUri, 'dist', 'webview', name));
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

  dispose(): void {
    this.panel?.dispose();
    for (const disposable of this.disposables) disposable.dispose();
  }
}
