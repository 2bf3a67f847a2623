// Runs inside a real VS Code's extension host (code-server): the extension as a user's VS Code loads it.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { SegmentLensApi } from '../../src/extension';
import type { PanelState } from '../../src/shared/protocol';

const workspace = vscode.workspace.workspaceFolders![0].uri;
const modelUri = vscode.Uri.joinPath(workspace, 'models', 'marts', 'customer_segments.sql');
const modelText = readFileSync(modelUri.fsPath, 'utf8');
let api: SegmentLensApi;

/** Resolves when the state the panel shows satisfies `predicate`, checking now and on every change; fails after `ms`. */
function waitForState(predicate: (state: PanelState) => boolean, what: string, ms = 60_000): Promise<PanelState> {
  const { controller, panel } = api;
  return new Promise((resolve, reject) => {
    if (predicate(panel.state)) return resolve(panel.state);
    const timer = setTimeout(() => {
      subscription.dispose();
      const state = panel.state;
      reject(
        new Error(
          `timed out waiting for ${what}; state is ${state.status}${state.status === 'error' ? `: ${state.error.message}` : ''}`,
        ),
      );
    }, ms);
    const subscription = controller.onDidChange(() => {
      if (!predicate(panel.state)) return;
      clearTimeout(timer);
      subscription.dispose();
      resolve(panel.state);
    });
  });
}

const isDone = (state: PanelState): state is Extract<PanelState, { status: 'done' }> => state.status === 'done';

async function lensTitles(uri: vscode.Uri): Promise<string[]> {
  const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri)) ?? [];
  return lenses.map((lens) => lens.command?.title ?? '').filter((title) => title !== '');
}

/** Polls something the editor computes (lenses, diagnostics) until it holds. */
async function eventually<T>(
  read: () => T | Promise<T>,
  holds: (value: T) => boolean,
  what: string,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (holds(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last saw ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Segment Lens in VS Code', () => {
  before(async () => {
    const extension = vscode.extensions.getExtension<SegmentLensApi>('segment-lens.segment-lens');
    assert.ok(extension, 'the extension is installed');
    const wasActive = extension.isActive;
    const started = performance.now();
    api = await extension.activate();
    // A measurement for the closing notes, not a timed assertion.
    if (!wasActive)
      console.log(
        `activation: ${api.activationMs.toFixed(1)} ms in activate(), ${(performance.now() - started).toFixed(1)} ms for VS Code to load and activate the extension`,
      );
  });

  afterEach(() => {
    // Rewriting an unchanged file would only move its mtime under the open editor.
    if (readFileSync(modelUri.fsPath, 'utf8') !== modelText) writeFileSync(modelUri.fsPath, modelText);
  });

  it('activates and registers every command', async () => {
    const commands = await vscode.commands.getCommands(true);
    const contributed = (
      vscode.extensions.getExtension('segment-lens.segment-lens')!.packageJSON.contributes.commands as {
        command: string;
      }[]
    ).map((item) => item.command);
    assert.ok(contributed.length >= 8);
    for (const command of contributed) assert.ok(commands.includes(command), command);
  });

  it('shows the Run and Preview CodeLenses on the model before any run', async () => {
    await vscode.window.showTextDocument(modelUri);
    const titles = await eventually(
      () => lensTitles(modelUri),
      (found) => found.length >= 2,
      'lenses',
    );
    assert.deepEqual(titles, ['▶ Run Segment Model', 'Preview base']);
  });

  it('runs the model: the tree, the panel and the lenses show the result', async () => {
    await vscode.window.showTextDocument(modelUri);
    await vscode.commands.executeCommand('segmentLens.run');
    const state = await waitForState(isDone, 'a finished run');
    assert.ok(isDone(state));
    assert.equal(state.run.modelName, 'customer_segments.sql');
    assert.equal(state.run.modelLabel, 'models/marts/customer_segments.sql');
    assert.equal(state.run.source, 'CSV seeds');
    assert.ok(state.grid.ok);
    const grid = state.grid.grid;
    assert.deepEqual(grid.segments, ['Platinum', 'Gold', 'Silver', 'Bronze']);
    assert.equal(grid.regions[grid.regions.length - 1], null, 'customers without a region come last');
    assert.equal(grid.total.customer_count, state.run.cteRowCounts.base, 'every customer of base is in one cell');
    assert.equal(state.lineage?.columns.length, 5);

    // The panel received that state.
    assert.ok(api.panel.visible, 'the panel is open');
    const posted = [...api.panel.posted].reverse().find((message) => message.type === 'state');
    assert.equal(posted?.type === 'state' && posted.state.status, 'done');

    // The tree: regions, then segments with customers and average LTV.
    const regions = api.tree.getChildren();
    assert.deepEqual(
      regions.map((item) => api.tree.getTreeItem(item).label),
      grid.regions.map((region) => region ?? '(no region)'),
    );
    const europe = regions.find((item) => api.tree.getTreeItem(item).label === 'Europe')!;
    const segments = api.tree.getChildren(europe).map((item) => api.tree.getTreeItem(item));
    assert.deepEqual(
      segments.map((item) => item.label),
      ['Platinum', 'Gold', 'Silver', 'Bronze'],
    );
    const gold = grid.cells.find((cell) => cell.region === 'Europe' && cell.segment === 'Gold')!;
    assert.match(String(segments[1].description), new RegExp(`^${gold.values.customer_count} customers · avg LTV `));
    assert.equal(segments[1].command?.command, 'segmentLens.revealCell');

    const titles = await eventually(
      () => lensTitles(modelUri),
      (found) => found[0]?.includes('rows'),
      'lenses with the run summary',
    );
    assert.match(
      titles[0],
      new RegExp(`^▶ Run Segment Model · ${state.run.cteRowCounts['(final select)']} rows · (\\d+\\.\\d|< 0\\.1) s$`),
    );
    assert.equal(titles[1], `Preview base (${state.run.cteRowCounts.base} rows)`);
  });

  it("saves the loaded data in the extension's storage, never in the workspace folder", async () => {
    const cacheDir = api.controller.cacheDir;
    assert.ok(cacheDir, 'the extension has a cache folder');
    const relative = path.relative(workspace.fsPath, cacheDir);
    assert.ok(relative.startsWith('..') || path.isAbsolute(relative), `${cacheDir} is inside the workspace`);
    const saved = await eventually(
      () => (existsSync(cacheDir) ? readdirSync(cacheDir).filter((name) => name.endsWith('.slcache')) : []),
      (files) => files.length > 0,
      'the data saved after the run',
    );
    assert.equal(saved.length, 1);
    const inWorkspace = (readdirSync(workspace.fsPath, { recursive: true }) as string[]).filter((name) =>
      name.endsWith('.slcache'),
    );
    assert.deepEqual(inWorkspace, []);
  });

  it('previews a CTE, reveals a cell, opens the lineage, refreshes', async () => {
    await vscode.commands.executeCommand('segmentLens.previewCte', modelUri, 'base');
    const preview = api.panel.posted.findLast((message) => message.type === 'cteRows');
    assert.ok(preview && preview.type === 'cteRows');
    assert.equal(preview.cte, 'base');
    assert.equal(preview.page.rows.length, 50);
    assert.ok(preview.page.columns.includes('customer_segment'));

    await vscode.commands.executeCommand('segmentLens.revealCell', 'Europe', 'Gold');
    assert.deepEqual(api.panel.posted.at(-1), { type: 'revealCell', region: 'Europe', segment: 'Gold' });

    await vscode.commands.executeCommand('segmentLens.openLineage');
    assert.ok(api.panel.visible);

    const before = api.controller.last;
    await vscode.commands.executeCommand('segmentLens.refresh');
    const state = await waitForState((current) => isDone(current) && api.controller.last !== before, 'the refresh');
    assert.ok(isDone(state));
  });

  it('drills down from a cell to the customers behind it', async () => {
    const page = await api.controller.drillDown('Europe', 'Platinum', 0, 50);
    assert.ok(page);
    const state = api.panel.state;
    assert.ok(isDone(state) && state.grid.ok);
    const cell = state.grid.grid.cells.find(
      (candidate) => candidate.region === 'Europe' && candidate.segment === 'Platinum',
    )!;
    assert.equal(page.total, cell.values.customer_count);
    const spent = page.columns.indexOf('total_spent');
    assert.ok(page.rows.every((row) => (row[spent] as number) >= 10000));
  });

  it('exports the full result as CSV', async () => {
    const target = vscode.Uri.joinPath(workspace, 'export.csv');
    await vscode.commands.executeCommand('segmentLens.exportCsv', target, 'rows');
    const csv = readFileSync(target.fsPath, 'utf8');
    const state = api.panel.state;
    assert.ok(isDone(state));
    assert.equal(csv.split('\r\n')[0], 'region,customer_segment,customer_count,avg_ltv,avg_orders');
    assert.equal(csv.trimEnd().split('\r\n').length, state.run.rows.length + 1);
  });

  it('exports the grid as shown: its metric, the regions the filter keeps in its order, their totals', async () => {
    const state = api.panel.state;
    assert.ok(isDone(state));
    // What the webview reports when the user filters on "america" and sorts by the total, largest first.
    api.panel.gridView = { metric: 'customer_count', filter: 'america', sortBy: 'total', descending: true };
    const target = vscode.Uri.joinPath(workspace, 'export-grid.csv');
    await vscode.commands.executeCommand('segmentLens.exportCsv', target, 'grid');
    const lines = readFileSync(target.fsPath, 'utf8').trimEnd().split('\r\n');
    // The same figures summed here from the result rows.
    const [region, segment, count] = ['region', 'customer_segment', 'customer_count'].map((column) =>
      state.run.columns.indexOf(column),
    );
    const segments = ['Platinum', 'Gold', 'Silver', 'Bronze'];
    const kept = state.run.rows.filter((row) => /america/i.test(String(row[region])));
    const sum = (rows: typeof kept) => rows.reduce((total, row) => total + Number(row[count]), 0);
    const regions = [...new Set(kept.map((row) => String(row[region])))]
      .map((name) => ({ name, rows: kept.filter((row) => row[region] === name) }))
      .sort((a, b) => sum(b.rows) - sum(a.rows));
    const line = (label: string, rows: typeof kept) =>
      [
        label,
        ...segments.map((name) => String(sum(rows.filter((row) => row[segment] === name)))),
        String(sum(rows)),
      ].join(',');
    assert.deepEqual(lines, [
      'Customers by region,Platinum,Gold,Silver,Bronze,Total',
      ...regions.map(({ name, rows }) => line(name, rows)),
      line('Total (regions shown)', kept),
    ]);
    api.panel.gridView = { filter: '', sortBy: 'region', descending: false };
  });

  it('Run without a model in the active editor: the configured model, else the model last active, else the sample', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    let previous = api.controller.last;
    await vscode.commands.executeCommand('segmentLens.run');
    let state = await waitForState((current) => isDone(current) && api.controller.last !== previous, 'a run');
    assert.ok(isDone(state));
    assert.equal(state.run.modelFile, modelUri.fsPath, 'the configured model');

    // A copy of the model, the one last active in an editor; no model configured.
    const copy = vscode.Uri.joinPath(workspace, 'models', 'copy_of_segments.sql');
    writeFileSync(copy.fsPath, modelText);
    await vscode.window.showTextDocument(copy);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const config = vscode.workspace.getConfiguration('segmentLens');
    const configured = config.inspect('model')?.workspaceValue;
    await config.update('model', undefined, vscode.ConfigurationTarget.Workspace);
    try {
      // Clearing the setting re-runs by itself; then Run by hand.
      await waitForState((current) => isDone(current) && current.run.modelFile === copy.fsPath, 'the run after');
      previous = api.controller.last;
      await vscode.commands.executeCommand('segmentLens.run');
      state = await waitForState((current) => isDone(current) && api.controller.last !== previous, 'a run');
      assert.ok(isDone(state));
      assert.equal(state.run.modelFile, copy.fsPath, 'the model last active');
      assert.equal(state.run.modelLabel, 'models/copy_of_segments.sql');

      // Nothing configured, nothing remembered: the bundled sample, said plainly.
      api.controller.recentModel = undefined;
      previous = api.controller.last;
      await vscode.commands.executeCommand('segmentLens.run');
      state = await waitForState((current) => isDone(current) && api.controller.last !== previous, 'a run');
      assert.ok(isDone(state) && state.run.sample);
      assert.equal(state.run.modelLabel, 'bundled sample');

      // A lineage click on the sample opens it read-only, in a group beside the panel's.
      await api.panel.revealNode('base.customer_segment');
      const editor = vscode.window.activeTextEditor;
      assert.equal(editor?.document.uri.scheme, 'segment-lens-sample');
      assert.equal(editor?.document.getText(), readFileSync(state.run.modelFile, 'utf8'));
      const panelColumn = vscode.window.tabGroups.all.find((group) =>
        group.tabs.some((tab) => tab.input instanceof vscode.TabInputWebview),
      )?.viewColumn;
      assert.ok(panelColumn !== undefined && editor?.viewColumn !== panelColumn, 'not in the panel group');
      assert.equal(editor?.document.lineAt(editor.selection.active.line).text.trim().startsWith('CASE'), true);
      // The read-only sample shows a column's lineage on hover too (line 25: `ROUND(AVG(total_spent), 2)`).
      assert.equal(editor!.document.lineAt(24).text.slice(14, 25), 'total_spent');
      const hovers =
        (await vscode.commands.executeCommand<vscode.Hover[]>(
          'vscode.executeHoverProvider',
          editor!.document.uri,
          new vscode.Position(24, 14),
        )) ?? [];
      const hoverTexts = hovers
        .flatMap((hover) => hover.contents)
        .map((content) => (typeof content === 'string' ? content : content.value));
      assert.ok(
        hoverTexts.some((text) => text.startsWith('**`total_spent`** — column of CTE base')),
        hoverTexts.join('\n---\n'),
      );

      // The sample ran; saving a model of one's own runs that one.
      const document = await vscode.workspace.openTextDocument(copy);
      await vscode.window.showTextDocument(document);
      const edit = new vscode.WorkspaceEdit();
      edit.insert(copy, new vscode.Position(0, 0), '-- edited\n');
      assert.ok(await vscode.workspace.applyEdit(edit));
      previous = api.controller.last;
      assert.ok(await document.save());
      state = await waitForState((current) => isDone(current) && api.controller.last !== previous, 'the run on save');
      assert.ok(isDone(state));
      assert.equal(state.run.modelFile, copy.fsPath);
    } finally {
      await config.update('model', configured, vscode.ConfigurationTarget.Workspace);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
    await waitForState((current) => isDone(current) && current.run.modelFile === modelUri.fsPath, 'the run back');
  });

  it('after a reload VS Code hands the panel back: it re-runs the model it showed, only one inside the workspace', async () => {
    const restore = async (saved: unknown) => {
      const previous = api.controller.last;
      const webviewPanel = vscode.window.createWebviewPanel('segmentLens.panel', 'Segment Lens', vscode.ViewColumn.Two);
      await api.panel.restore(webviewPanel, saved);
      const state = await waitForState((current) => isDone(current) && api.controller.last !== previous, 'a run');
      assert.ok(isDone(state));
      assert.ok(api.panel.visible);
      return state;
    };
    assert.equal((await restore({ modelFile: modelUri.fsPath })).run.modelFile, modelUri.fsPath);
    // A state naming a file outside the workspace runs what Run would, not that file.
    assert.equal((await restore({ modelFile: '/etc/passwd' })).run.modelFile, modelUri.fsPath);
    assert.equal((await restore('garbage')).run.modelFile, modelUri.fsPath);
  });

  it('a broken model gives a diagnostic at the right line, the panel says why, and fixing it clears it', async () => {
    const broken = modelText.replace('GROUP BY region, customer_segment', 'GROUP BY region customer_segment');
    writeFileSync(modelUri.fsPath, broken);
    const line = broken.split('\n').findIndex((text) => text.includes('GROUP BY region customer_segment'));
    await vscode.commands.executeCommand('segmentLens.run', modelUri);
    const good = api.controller.last;
    assert.ok(good, 'a good run before');
    const state = await waitForState((current) => current.status === 'error', 'the error');
    assert.ok(state.status === 'error');
    assert.equal(state.error.code, 'sql-syntax');
    // The last good run stays, dated, in the panel, the tree and the CodeLens.
    assert.equal(state.lastGood?.run.finishedAt, good.finishedAt);
    const time = new Date(good.finishedAt).toLocaleTimeString(vscode.env.language, {
      hour: '2-digit',
      minute: '2-digit',
    });
    assert.equal(
      api.tree.message(),
      `The last run of models/marts/customer_segments.sql failed: showing the run of ${time}.`,
    );
    assert.ok(api.tree.getChildren().length > 0, 'the tree keeps its regions');
    const stale = await eventually(
      () => lensTitles(modelUri),
      (found) => found[0]?.includes('failed') ?? false,
      'the lens to say the figures are stale',
    );
    assert.match(
      stale[0],
      new RegExp(`^▶ Run Segment Model · last run failed · showing the run of ${time}: \\d+ rows$`),
    );
    const diagnostics = await eventually(
      () => vscode.languages.getDiagnostics(modelUri),
      (found) => found.length === 1,
      'a diagnostic',
    );
    assert.equal(diagnostics[0].range.start.line, line);
    assert.equal(diagnostics[0].range.start.character, 'GROUP BY region '.length);
    assert.equal(diagnostics[0].source, 'Segment Lens');

    writeFileSync(modelUri.fsPath, modelText);
    await vscode.commands.executeCommand('segmentLens.run', modelUri);
    await waitForState(isDone, 'the fixed run');
    assert.equal(api.tree.message(), undefined);
    await eventually(
      () => vscode.languages.getDiagnostics(modelUri),
      (found) => found.length === 0,
      'the diagnostic to clear',
    );
  });

  it('a WHEN that can never match is a warning in Problems at its line and column, listed in the panel too', async () => {
    // Gold from 50000, below Platinum's 10000: every value it would take, Platinum takes first.
    const unreachable = modelText.replace('>= 5000  THEN', '>= 50000 THEN');
    assert.notEqual(unreachable, modelText);
    writeFileSync(modelUri.fsPath, unreachable);
    const lines = unreachable.split('\n');
    const line = lines.findIndex((text) => text.includes("THEN 'Gold'"));
    const character = lines[line].indexOf('WHEN');
    const previous = api.controller.last;
    await vscode.commands.executeCommand('segmentLens.run', modelUri);
    const state = await waitForState(
      (current) => isDone(current) && api.controller.last !== previous,
      'the run of the model with an unreachable branch',
    );
    assert.ok(isDone(state));
    assert.deepEqual(
      state.warnings.map((warning) => warning.code),
      ['unreachable-branch'],
    );
    const diagnostics = await eventually(
      () => vscode.languages.getDiagnostics(modelUri),
      (found) => found.length === 1,
      'the warning in Problems',
    );
    const [diagnostic] = diagnostics;
    assert.equal(diagnostic.severity, vscode.DiagnosticSeverity.Warning);
    assert.equal(diagnostic.source, 'Segment Lens');
    assert.equal(diagnostic.code, 'unreachable-branch');
    assert.equal(diagnostic.range.start.line, line);
    assert.equal(diagnostic.range.start.character, character);
    assert.equal(diagnostic.range.end.character, lines[line].indexOf("'Gold'") + "'Gold'".length);
    assert.match(diagnostic.message, /^WHEN i\.total_spent >= 50000 THEN 'Gold' can never match: /);

    writeFileSync(modelUri.fsPath, modelText);
    await vscode.commands.executeCommand('segmentLens.run', modelUri);
    await eventually(
      () => vscode.languages.getDiagnostics(modelUri),
      (found) => found.length === 0,
      'the warning to clear once the thresholds are in order',
    );
  });

  it('Describe Model opens the model documentation as an untitled Markdown document', async () => {
    const before = readFileSync(modelUri.fsPath, 'utf8');
    const document = await vscode.commands.executeCommand<vscode.TextDocument>('segmentLens.describeModel', modelUri);
    assert.ok(document, 'the command gives the document it opened');
    assert.equal(document.isUntitled, true);
    assert.equal(document.uri.scheme, 'untitled');
    assert.equal(document.languageId, 'markdown');
    assert.equal(vscode.window.activeTextEditor?.document, document);
    const headings = document
      .getText()
      .split('\n')
      .filter((text) => text.startsWith('#'));
    assert.deepEqual(headings, [
      '# customer_segments',
      '## Overview',
      '## Tables involved',
      '## Columns used',
      '## Logic explanation',
      '## Grain of data',
    ]);
    assert.ok(document.getText().includes('**`region` × `customer_segment`**'));
    assert.equal(readFileSync(modelUri.fsPath, 'utf8'), before);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('editing a threshold and saving re-runs and changes the grid', async () => {
    const document = await vscode.workspace.openTextDocument(modelUri);
    await vscode.window.showTextDocument(document);
    // The earlier tests rewrote the file on disk: reload it into the editor (and its idea of the file's mtime),
    // else the save below could meet a "file is newer" conflict.
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await eventually(
      () => document.getText(),
      (text) => text === modelText,
      'the editor to show the file as on disk',
    );
    await vscode.commands.executeCommand('segmentLens.run', modelUri);
    const before = await waitForState(isDone, 'the first run');
    const platinum = (state: PanelState) =>
      isDone(state) && state.grid.ok ? state.grid.grid.segmentTotals[0].customer_count : undefined;
    const edit = new vscode.WorkspaceEdit();
    const offset = document.getText().indexOf('>= 10000');
    edit.replace(
      modelUri,
      new vscode.Range(document.positionAt(offset), document.positionAt(offset + '>= 10000'.length)),
      '>= 20000',
    );
    assert.ok(await vscode.workspace.applyEdit(edit));
    const previous = api.controller.last;
    assert.ok(await document.save());
    const after = await waitForState((state) => isDone(state) && api.controller.last !== previous, 'the run on save');
    assert.ok(
      (platinum(after) ?? 0) < (platinum(before) ?? 0),
      `fewer Platinum customers: ${platinum(after)} < ${platinum(before)}`,
    );
  });

  it('changing segmentLens.connection re-runs on the new data', async () => {
    await vscode.commands.executeCommand('segmentLens.run', modelUri);
    const before = await waitForState(isDone, 'a run');
    assert.ok(isDone(before));
    // A second seed folder with the first 500 customers only.
    const seeds = path.join(workspace.fsPath, 'seeds');
    const small = path.join(workspace.fsPath, 'seeds_small');
    cpSync(seeds, small, { recursive: true });
    for (const file of ['staging/stg_customers.csv', 'intermediate/int_customer_metrics.csv']) {
      const lines = readFileSync(path.join(seeds, file), 'utf8').split('\n');
      writeFileSync(
        path.join(small, file),
        lines.filter((line, index) => index === 0 || Number(line.split(',')[0]) <= 500).join('\n'),
      );
    }
    const previous = api.controller.last;
    await vscode.workspace
      .getConfiguration('segmentLens')
      .update('connection', { type: 'csv', directory: 'seeds_small' }, vscode.ConfigurationTarget.Workspace);
    try {
      const after = await waitForState(
        (state) => isDone(state) && api.controller.last !== previous,
        'the run after the settings change',
      );
      assert.ok(isDone(after));
      assert.equal(after.run.source, 'CSV seeds_small');
      assert.ok(
        after.run.cteRowCounts.base < 500 && after.run.cteRowCounts.base > 400,
        String(after.run.cteRowCounts.base),
      );
    } finally {
      await vscode.workspace
        .getConfiguration('segmentLens')
        .update('connection', { type: 'csv', directory: 'seeds' }, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('re-runs when a data file changes on disk', async () => {
    await vscode.commands.executeCommand('segmentLens.run', modelUri);
    const before = await waitForState(isDone, 'a run');
    assert.ok(isDone(before));
    const metrics = path.join(workspace.fsPath, 'seeds', 'intermediate', 'int_customer_metrics.csv');
    const original = readFileSync(metrics, 'utf8');
    // A big spender for a customer who had no metrics: base gains a row.
    const customers = readFileSync(path.join(workspace.fsPath, 'seeds', 'staging', 'stg_customers.csv'), 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => Number(line.split(',')[0]))
      .filter(Boolean);
    const known = new Set(
      original
        .split('\n')
        .slice(1)
        .map((line) => Number(line.split(',')[0])),
    );
    const newcomer = customers.find((id) => !known.has(id));
    assert.ok(newcomer, 'a customer without metrics exists in the sample');
    const previous = api.controller.last;
    try {
      writeFileSync(metrics, `${original}${newcomer},3,25000.00,8333.33,2024-01-01,2024-06-01\n`);
      const after = await waitForState(
        (state) => isDone(state) && api.controller.last !== previous,
        'the run after the data changed',
      );
      assert.ok(isDone(after));
      assert.equal(after.run.cteRowCounts.base, before.run.cteRowCounts.base + 1);
    } finally {
      writeFileSync(metrics, original);
    }
    await waitForState(
      (state) => isDone(state) && state.run.cteRowCounts.base === before.run.cteRowCounts.base,
      'the run after the data was restored',
    );
  });

  it('duplicate customer ids warn about the join fan-out; empty tables give an empty grid, not an error', async () => {
    const seeds = path.join(workspace.fsPath, 'seeds');
    const make = (name: string, edit: (lines: string[]) => string[]) => {
      const folder = path.join(workspace.fsPath, name);
      cpSync(seeds, folder, { recursive: true });
      const metrics = path.join(folder, 'intermediate', 'int_customer_metrics.csv');
      writeFileSync(metrics, edit(readFileSync(metrics, 'utf8').trimEnd().split('\n')).join('\n') + '\n');
    };
    make('seeds_dupes', (lines) => [...lines, lines[1], lines[2]]);
    make('seeds_empty', (lines) => [lines[0]]);
    try {
      let previous = api.controller.last;
      await vscode.workspace
        .getConfiguration('segmentLens')
        .update('connection', { type: 'csv', directory: 'seeds_dupes' }, vscode.ConfigurationTarget.Workspace);
      const dupes = await waitForState(
        (state) => isDone(state) && api.controller.last !== previous,
        'the run on duplicated metrics',
      );
      assert.ok(isDone(dupes));
      assert.equal(dupes.warnings.length, 1);
      assert.match(
        dupes.warnings[0].message,
        /^customer_id repeats in intermediate\.int_customer_metrics \(2 extra rows\)/,
      );
      previous = api.controller.last;
      await vscode.workspace
        .getConfiguration('segmentLens')
        .update('connection', { type: 'csv', directory: 'seeds_empty' }, vscode.ConfigurationTarget.Workspace);
      const empty = await waitForState(
        (state) => isDone(state) && api.controller.last !== previous,
        'the run on empty metrics',
      );
      assert.ok(isDone(empty) && empty.grid.ok);
      assert.equal(empty.grid.grid.cells.length, 0);
      assert.equal(empty.run.cteRowCounts.base, 0);
    } finally {
      await vscode.workspace
        .getConfiguration('segmentLens')
        .update('connection', { type: 'csv', directory: 'seeds' }, vscode.ConfigurationTarget.Workspace);
    }
    await waitForState((state) => isDone(state) && state.run.source === 'CSV seeds', 'the run back on the seeds');
  });

  it('a setting of the wrong shape is an error that names it, and the extension keeps working', async () => {
    await vscode.workspace
      .getConfiguration('segmentLens')
      .update('connection', { type: 'sqlite' }, vscode.ConfigurationTarget.Workspace);
    try {
      const state = await waitForState((current) => current.status === 'error', 'the settings error');
      assert.ok(state.status === 'error');
      assert.equal(state.error.setting, 'segmentLens.connection.path');
    } finally {
      await vscode.workspace
        .getConfiguration('segmentLens')
        .update('connection', { type: 'csv', directory: 'seeds' }, vscode.ConfigurationTarget.Workspace);
    }
    await waitForState(isDone, 'the run after the fix');
  });

  it('a run longer than segmentLens.timeoutSeconds is stopped with an error naming the setting; raising it re-runs, and the next run works', async () => {
    const config = () => vscode.workspace.getConfiguration('segmentLens');
    await config().update('timeoutSeconds', 1, vscode.ConfigurationTarget.Workspace);
    try {
      writeFileSync(
        modelUri.fsPath,
        'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT count(*) FROM r\n',
      );
      const started = performance.now();
      await vscode.commands.executeCommand('segmentLens.run', modelUri);
      const state = await waitForState((current) => current.status === 'error', 'the timeout', 20_000);
      assert.ok(state.status === 'error');
      assert.equal(state.error.code, 'timeout');
      assert.equal(
        state.error.message,
        'The model customer_segments.sql ran longer than 1 s (segmentLens.timeoutSeconds) and was stopped.',
      );
      assert.ok(performance.now() - started < 10_000, 'stopped near its deadline');
      // The model fixed, a new deadline re-runs the stopped run by itself.
      writeFileSync(modelUri.fsPath, modelText);
      await config().update('timeoutSeconds', 30, vscode.ConfigurationTarget.Workspace);
      await waitForState(isDone, 'the re-run under the new deadline');
    } finally {
      await config().update('timeoutSeconds', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await vscode.commands.executeCommand('segmentLens.run', modelUri);
    await waitForState(isDone, 'a run on the default deadline');
  });
  it('a model on upstream models: progress in the notification and the panel while they build; a failing one lands in Problems on its own file', async () => {
    // A small dbt project beside the sample, over the workspace's seeds (staging/stg_customers.csv).
    const dir = path.join(workspace.fsPath, 'upstream_demo');
    mkdirSync(path.join(dir, 'models'), { recursive: true });
    writeFileSync(path.join(dir, 'dbt_project.yml'), 'name: upstream_demo\nprofile: upstream_demo\n');
    const m1 = path.join(dir, 'models', 'm1.sql');
    writeFileSync(m1, "{{ config(materialized='table') }}\nselect customer_id, region from staging.stg_customers\n");
    writeFileSync(
      path.join(dir, 'models', 'm2.sql'),
      "{{ config(materialized='table') }}\nselect region, count(*) as n from {{ ref('m1') }} group by region\n",
    );
    const explore = vscode.Uri.file(path.join(dir, 'models', 'explore.sql'));
    writeFileSync(explore.fsPath, "select region, n from {{ ref('m2') }} order by region\n");
    const heard: string[] = [];
    const listening = api.controller.onDidProgress((text) => heard.push(text));
    try {
      await vscode.commands.executeCommand('segmentLens.run', explore);
      const state = await waitForState(
        (current) => isDone(current) && current.run.modelName === 'explore.sql',
        'the run on upstream models',
      );
      assert.ok(isDone(state));
      assert.deepEqual(heard, ['Loading the data', 'Building m1 (1/2)', 'Building m2 (2/2)', 'Running the query']);
      const shown = api.panel.posted.flatMap((message) => (message.type === 'progress' ? [message.text] : []));
      assert.deepEqual(shown.slice(-4), heard, 'the panel was told each step, in order');
      assert.deepEqual(
        state.run.upstream.map((relation) => [relation.name, relation.from]),
        [
          ['main.m1', 'built'],
          ['main.m2', 'built'],
        ],
      );

      writeFileSync(m1, "{{ config(materialized='table') }}\nselect customer_id, nope from staging.stg_customers\n");
      await vscode.commands.executeCommand('segmentLens.run', explore);
      const failed = await waitForState((current) => current.status === 'error', 'the upstream failure');
      assert.ok(failed.status === 'error');
      assert.match(failed.error.message, /^m1 \(upstream of explore\) failed: Column nope does not exist/);
      const diagnostics = await eventually(
        () => vscode.languages.getDiagnostics(vscode.Uri.file(m1)),
        (found) => found.length === 1,
        'a diagnostic on m1.sql',
      );
      assert.equal(diagnostics[0].range.start.line, 1);
      assert.equal(diagnostics[0].range.start.character, 'select customer_id, '.length);
      assert.deepEqual(vscode.languages.getDiagnostics(explore), []);
    } finally {
      listening.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
    await vscode.commands.executeCommand('segmentLens.run', modelUri);
    await waitForState(
      (current) => isDone(current) && current.run.modelName === 'customer_segments.sql',
      'the sample model again',
    );
  });
});
