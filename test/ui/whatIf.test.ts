// What-if thresholds in the panel, driven through the browser: a threshold changed in the panel re-runs the model in
// memory (the grid shows each cell's change, its customers that moved a click away) and the file on disk stays as
// it is; Apply writes the number into the editor as one edit that ctrl+z takes back. The expected counts are
// computed here from the sample's CSV seeds.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { screenshotFailures, shot } from '../e2e/support/screenshots';
import {
  codeLens,
  command,
  openWorkbench,
  panel,
  quickOpen,
  waitForExplorer,
  waitForWorkbench,
} from '../e2e/support/workbench';

const workspace = process.env.SEGMENT_LENS_WORKSPACE!;
const modelFile = path.join(workspace, 'models', 'marts', 'customer_segments.sql');
const settingsFile = path.join(workspace, '.vscode', 'settings.json');
const seeds = path.join(workspace, 'seeds');

const hashOf = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Each customer's region and spend, as the model's inner join sees them (from the CSV seeds, read here). */
function customers(): { id: string; region: string | null; spent: number | null }[] {
  const read = (file: string) =>
    parse(readFileSync(path.join(seeds, file), 'utf8'), { columns: true }) as Record<string, string>[];
  const regions = new Map(read('staging/stg_customers.csv').map((row) => [row.customer_id, row.region || null]));
  return read('intermediate/int_customer_metrics.csv')
    .filter((row) => regions.has(row.customer_id))
    .map((row) => ({
      id: row.customer_id,
      region: regions.get(row.customer_id)!,
      spent: row.total_spent === '' ? null : Number(row.total_spent),
    }));
}

/** The seed model's segment of a spend, with Gold starting at `gold`. */
function segmentOf(spent: number | null, gold: number): string {
  if (spent === null) return 'Bronze';
  return spent >= 10000 ? 'Platinum' : spent >= gold ? 'Gold' : spent >= 1000 ? 'Silver' : 'Bronze';
}

/** Customers per region and segment, keyed as the grid's cells are (`data-region`, `data-segment`). */
function counts(gold: number): Map<string, number> {
  const found = new Map<string, number>();
  for (const customer of customers()) {
    const key = `${JSON.stringify(customer.region)}|${JSON.stringify(segmentOf(customer.spent, gold))}`;
    found.set(key, (found.get(key) ?? 0) + 1);
  }
  return found;
}

/** The monaco editor's text of the visible lines (non-breaking spaces as spaces). */
async function editorText(page: Page): Promise<string> {
  return (
    (await page.locator('.editor-group-container .monaco-editor .view-lines').first().textContent()) ?? ''
  ).replace(/\u00a0/g, ' ');
}

/** Waits until the editor's visible lines match `pattern`. */
async function waitForEditorText(page: Page, pattern: RegExp): Promise<void> {
  await page.waitForFunction(
    `${String(pattern)}.test((document.querySelector('.editor-group-container .monaco-editor .view-lines')?.textContent ?? '').replace(/\\u00a0/g, ' '))`,
    undefined,
    { timeout: 30_000 },
  );
}

describe('what-if thresholds in the panel', () => {
  let browser: Browser;
  let page: Page;
  const settings = readFileSync(settingsFile, 'utf8');

  before(async () => {
    writeFileSync(
      settingsFile,
      JSON.stringify({
        'segmentLens.model': 'models/marts/customer_segments.sql',
        'segmentLens.connection': { type: 'csv', directory: 'seeds' },
      }),
    );
    ({ browser, page } = await openWorkbench({ width: 1600, height: 1000 }));
    await waitForWorkbench(page);
    await waitForExplorer(page);
  });

  screenshotFailures('what-if', () => page);

  after(async () => {
    writeFileSync(settingsFile, settings);
    if (page && !page.isClosed()) await command(page, 'View: Close All Editors').catch(() => undefined);
    await browser?.close();
  });

  it('a threshold changed in the panel re-runs in memory: the cells show their change, the file is unchanged', async () => {
    const fileHash = hashOf(modelFile);
    await quickOpen(page, 'customer_segments.sql');
    const lens = codeLens(page, 'Run Segment Model');
    await lens.waitFor({ timeout: 60_000 });
    await lens.click();
    const gold = panel(page).locator('#what-if .what-if-row[data-segment="Gold"] input.threshold');
    await gold.waitFor({ timeout: 90_000 });
    assert.equal(await gold.inputValue(), '5000');
    assert.deepEqual(
      await panel(page)
        .locator('#what-if .what-if-row')
        .evaluateAll((rows) =>
          rows.map((row) => (row as unknown as { dataset: { segment?: string } }).dataset.segment),
        ),
      ['Platinum', 'Gold', 'Silver', undefined],
    );
    const cellValue = (region: string, segment: string) =>
      panel(page)
        .locator(
          `td.cell[data-region="${JSON.stringify(region).replaceAll('"', '\\"')}"][data-segment="${JSON.stringify(segment).replaceAll('"', '\\"')}"]`,
        )
        .getAttribute('data-value');
    const before = counts(5000);
    const after = counts(4000);
    const region = 'Europe';
    const key = (segment: string) => `${JSON.stringify(region)}|${JSON.stringify(segment)}`;
    assert.equal(await cellValue(region, 'Gold'), String(before.get(key('Gold'))));

    await gold.fill('4000');
    await panel(page).locator('#what-if-status', { hasText: 'ran in' }).waitFor({ timeout: 60_000 });
    const goldCell = panel(page).locator(`td.cell.changed[data-region='"${region}"'][data-segment='"Gold"']`);
    await goldCell.waitFor();
    // Every cell holds the count computed here with Gold from 4,000, and shows its change against the file's.
    for (const [cell, count] of after) {
      const [regionKey, segmentKey] = cell.split('|');
      const td = panel(page).locator(`td.cell[data-region='${regionKey}'][data-segment='${segmentKey}']`);
      assert.equal(await td.getAttribute('data-value'), String(count), `${cell} with Gold from 4,000`);
      const was = before.get(cell) ?? 0;
      if (was !== count)
        assert.equal(
          (await td.textContent())?.replace(/[\s,]/g, ''),
          `${was}→${count}(+${count - was})`.replace('+-', '−'),
          `${cell} shows its change`,
        );
    }
    assert.match((await goldCell.textContent()) ?? '', /→.*\(\+\d/);
    await shot(page, 'what-if-changed');
    assert.equal(hashOf(modelFile), fileHash, 'the model file is unchanged');

    // The Gold cell's customers that moved: those of Europe from 4,000 up to 5,000, each out of Silver, into Gold.
    await goldCell.click();
    const moved = customers().filter(
      (customer) =>
        customer.region === region && customer.spent !== null && customer.spent >= 4000 && customer.spent < 5000,
    );
    assert.ok(moved.length > 0);
    await panel(page).locator('#detail h3', { hasText: 'moved' }).waitFor({ timeout: 60_000 });
    assert.match(
      (await panel(page).locator('#detail-range').textContent()) ?? '',
      new RegExp(`of ${moved.length} rows`),
    );
    await shot(page, 'what-if-moved');

    // Reset: the file's thresholds and grid again.
    await panel(page).locator('#what-if-reset').click();
    await panel(page).locator('td.cell.changed').first().waitFor({ state: 'detached' });
    // The moved list belonged to the what-if: it goes with it.
    await panel(page).locator('#detail').waitFor({ state: 'detached' });
    assert.equal(await gold.inputValue(), '5000');
    assert.equal(await cellValue(region, 'Gold'), String(before.get(key('Gold'))));
  });

  it('Apply writes the threshold into the editor as one edit; ctrl+z restores it; the file is unchanged', async () => {
    const fileHash = hashOf(modelFile);
    const gold = panel(page).locator('#what-if .what-if-row[data-segment="Gold"] input.threshold');
    await gold.fill('4500');
    await panel(page).locator('#what-if-status', { hasText: 'ran in' }).waitFor({ timeout: 60_000 });
    await panel(page).locator('#what-if-apply').click();
    await waitForEditorText(page, /total_spent >= 4500\s+THEN 'Gold'/);
    assert.match(await editorText(page), /total_spent >= 10000 THEN 'Platinum'/);
    await shot(page, 'what-if-applied');
    assert.equal(hashOf(modelFile), fileHash, 'Apply leaves saving to the user');
    await page.keyboard.press('Control+z');
    await waitForEditorText(page, /total_spent >= 5000\s+THEN 'Gold'/);
    assert.doesNotMatch(await editorText(page), /4500/);
    assert.equal(hashOf(modelFile), fileHash);
  });
});
