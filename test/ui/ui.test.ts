// Drives Segment Lens in a real VS Code (code-server) through headless Chromium, as a user would.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { screenshotFailures, shot } from '../e2e/support/screenshots';
import {
  closeEditor,
  codeLens,
  command,
  openWorkbench,
  panel,
  quickOpen,
  waitForExplorer,
  waitForWorkbench,
} from '../e2e/support/workbench';

const workspace = process.env.SEGMENT_LENS_WORKSPACE!;
const repoRoot = path.resolve(__dirname, '..', '..', '..');

let browser: Browser;
let page: Page;

async function setTheme(theme: string, bodyClass: string): Promise<void> {
  await command(page, 'Preferences: Color Theme');
  const input = page.locator('.quick-input-widget input');
  await input.fill(theme);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: theme }).first().click();
  await page.locator(`.monaco-workbench.${bodyClass}`).waitFor({ timeout: 60_000 });
}

/** Runs `body` with the workspace's settings changed through `set`, then puts them back and waits for the re-run. */
async function withSettings(body: (set: (changes: Record<string, unknown>) => void) => Promise<void>): Promise<void> {
  const file = path.join(workspace, '.vscode', 'settings.json');
  const original = readFileSync(file, 'utf8');
  try {
    await body((changes) => writeFileSync(file, JSON.stringify({ ...JSON.parse(original), ...changes })));
  } finally {
    writeFileSync(file, original);
  }
  await panel(page)
    .locator('#status', { hasText: /^CSV seeds ·/ })
    .waitFor({ timeout: 90_000 });
}

describe('Segment Lens, driven through the browser', () => {
  const cli = JSON.parse(
    execFileSync(
      process.execPath,
      [path.join(repoRoot, 'dist', 'cli.js'), 'run', '--workspace', workspace, '--format', 'json'],
      { encoding: 'utf8' },
    ),
  ) as {
    rows: { region: string | null; customer_segment: string; customer_count: number; avg_ltv: number }[];
    cteRowCounts: Record<string, number>;
  };

  before(async () => {
    ({ browser, page } = await openWorkbench({ width: 1600, height: 1000 }));
    await waitForWorkbench(page);
    await waitForExplorer(page);
  });

  screenshotFailures('ui', () => page);

  after(async () => {
    await browser?.close();
  });

  it("opens the model and runs it from the CodeLens; the grid shows the CLI's numbers", async () => {
    await quickOpen(page, 'customer_segments.sql');
    const lens = codeLens(page, 'Run Segment Model');
    await lens.waitFor({ timeout: 60_000 });
    await lens.click();

    const grid = panel(page).locator('table#grid');
    await grid.waitFor({ timeout: 90_000 });
    const cells = await Promise.all(
      (await panel(page).locator('td.cell').all()).map(async (cell) => ({
        region: JSON.parse((await cell.getAttribute('data-region'))!) as string | null,
        segment: JSON.parse((await cell.getAttribute('data-segment'))!) as string | null,
        value: await cell.getAttribute('data-value'),
        text: await cell.textContent(),
      })),
    );
    for (const row of cli.rows) {
      const cell = cells.find(
        (candidate) => candidate.region === row.region && candidate.segment === row.customer_segment,
      );
      assert.ok(cell, `a cell for ${row.region} / ${row.customer_segment}`);
      assert.equal(Number(cell.value), row.customer_count);
      assert.equal(cell.text, row.customer_count.toLocaleString('en'));
    }
    const headers = await grid.locator('thead th').allTextContents();
    assert.deepEqual(
      headers.map((text) => text.replace(/[▲▼]/g, '').trim()),
      ['Region', 'Platinum', 'Gold', 'Silver', 'Bronze', 'Total'],
    );
    assert.equal(await grid.locator('tbody th').last().textContent(), '(no region)');
    assert.match(
      (await panel(page).locator('#status').textContent()) ?? '',
      /CSV seeds · base 4,801 rows · \(final select\) \d+ rows · load [\d,]+ ms · query [\d,]+ ms/,
    );
    await shot(page, 'light-grid');
  });

  it('switches the metric to average LTV', async () => {
    await panel(page).locator('vscode-radio', { hasText: 'Average LTV' }).click();
    const europeGold = cli.rows.find((row) => row.region === 'Europe' && row.customer_segment === 'Gold')!;
    const cell = panel(page).locator('td.cell[data-region=\'"Europe"\'][data-segment=\'"Gold"\']');
    await cell
      .filter({
        hasText: europeGold.avg_ltv.toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
      })
      .waitFor();
    assert.equal(Number(await cell.getAttribute('data-value')), europeGold.avg_ltv);
    await panel(page).locator('vscode-radio', { hasText: 'Customers' }).click();
  });

  it('clicks a cell and sees the customers behind it', async () => {
    const europePlatinum = cli.rows.find((row) => row.region === 'Europe' && row.customer_segment === 'Platinum')!;
    await panel(page).locator('td.cell[data-region=\'"Europe"\'][data-segment=\'"Platinum"\']').click();
    const range = panel(page).locator('#detail-range');
    await range.waitFor();
    assert.equal(
      await range.textContent(),
      `1–${Math.min(50, europePlatinum.customer_count)} of ${europePlatinum.customer_count} customers`,
    );
    assert.equal(await panel(page).locator('#detail h3').textContent(), 'Europe · Platinum');
    const rows = panel(page).locator('#detail-table vscode-data-grid-row:not([row-type="header"])');
    assert.equal(await rows.count(), Math.min(50, europePlatinum.customer_count));
    await shot(page, 'light-drilldown');
  });

  it('clicks a lineage node and lands on its line in the editor', async () => {
    const node = panel(page).locator('g.node[data-id="base.customer_segment"]');
    await node.waitFor();
    assert.match(
      (await panel(page).locator('#case-summary').textContent()) ?? '',
      /^CASE: Platinum ≥ 10000 · Gold ≥ 5000 · Silver ≥ 1000 · else Bronze$/,
    );
    assert.equal(await panel(page).locator('g.node.unused').count(), 3);
    await node.click();
    const model = readFileSync(path.join(workspace, 'models', 'marts', 'customer_segments.sql'), 'utf8').split('\n');
    const caseLine = model.findIndex((line) => line.includes('CASE')) + 1;
    await page
      .locator('.statusbar-item', { hasText: new RegExp(`Ln ${caseLine}, Col 9`) })
      .waitFor({ timeout: 30_000 });
  });

  it('expands the tree of regions and segments', async () => {
    await command(page, 'View: Show Segment Lens');
    const sidebar = page.locator('.part.sidebar');
    const europe = sidebar.locator('.monaco-list-row', { hasText: 'Europe' }).first();
    await europe.waitFor();
    const gold = cli.rows.find((row) => row.region === 'Europe' && row.customer_segment === 'Gold')!;
    const goldRow = sidebar
      .locator('.monaco-list-row', {
        hasText: `${gold.customer_count} customers · avg LTV ${gold.avg_ltv.toLocaleString('en', { minimumFractionDigits: 2 })}`,
      })
      .first();
    await goldRow.waitFor();
    assert.match((await goldRow.textContent()) ?? '', /^Gold/);
    // Collapsing and expanding a region hides and shows its segments.
    await europe.locator('.monaco-tl-twistie').click();
    await goldRow.waitFor({ state: 'detached' });
    await europe.locator('.monaco-tl-twistie').click();
    await goldRow.waitFor();
    await shot(page, 'light-tree');
  });

  it('looks right in dark and high-contrast themes', async () => {
    await setTheme('Dark Modern', 'vs-dark');
    await panel(page).locator('table#grid').waitFor();
    await shot(page, 'dark-panel');
    await setTheme('Dark High Contrast', 'hc-black');
    await panel(page).locator('table#grid').waitFor();
    await shot(page, 'high-contrast-panel');
    await setTheme('Light Modern', 'vs');
  });

  // Messages posted to the panel before its webview says it is ready must wait for it, not be dropped: these open
  // the panel from closed with something to show in it.
  async function closePanel(): Promise<void> {
    await closeEditor(page, 'Segment Lens');
    await page.locator('iframe.webview').first().waitFor({ state: 'detached', timeout: 30_000 });
  }

  /** Where the panel's webview is on the page. */
  async function panelBox(): Promise<{ x: number; y: number; width: number; height: number }> {
    const box = await page.locator('iframe.webview.ready:visible').boundingBox();
    assert.ok(box, 'the panel is on screen');
    return box;
  }

  async function assertInPanel(what: string, locator: Locator): Promise<void> {
    const [box, frame] = [await locator.boundingBox(), await panelBox()];
    assert.ok(box && box.width > 0 && box.height > 0, `${what} has a size`);
    const inside =
      box.x >= frame.x &&
      box.y >= frame.y &&
      box.x + box.width <= frame.x + frame.width &&
      box.y + box.height <= frame.y + frame.height;
    assert.ok(inside, `${what} ${JSON.stringify(box)} is within the panel ${JSON.stringify(frame)}`);
  }

  it('with the panel closed, a segment clicked in the tree opens the panel on its cell, outlined', async () => {
    await closePanel();
    await command(page, 'View: Show Segment Lens');
    const target = cli.rows.find((row) => row.region === 'North America' && row.customer_segment === 'Bronze')!;
    const sidebar = page.locator('.part.sidebar');
    // The tree keeps the last run's regions and segments while the panel is closed.
    const item = sidebar
      .locator('.monaco-list-row', {
        hasText: `${target.customer_count.toLocaleString('en')} customers · avg LTV ${target.avg_ltv.toLocaleString('en', { minimumFractionDigits: 2 })}`,
      })
      .first();
    await item.waitFor();
    assert.match((await item.textContent()) ?? '', /^Bronze/);
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    await shot(page, 'closed-panel-tree');
    await item.click();

    const cell = panel(page).locator('td.cell.revealed');
    await cell.waitFor({ timeout: 60_000 });
    assert.equal(await cell.count(), 1, 'one cell is revealed');
    assert.equal(await cell.getAttribute('data-region'), JSON.stringify(target.region));
    assert.equal(await cell.getAttribute('data-segment'), JSON.stringify(target.customer_segment));
    assert.equal(await cell.textContent(), target.customer_count.toLocaleString('en'));
    assert.ok(await cell.isVisible());
    await assertInPanel('the revealed cell', cell);
    type Outline = { style: string; width: string; color: string };
    const outline = (td: unknown): Outline => {
      const style = (
        globalThis as unknown as {
          getComputedStyle(element: unknown): { outlineStyle: string; outlineWidth: string; outlineColor: string };
        }
      ).getComputedStyle(td);
      return { style: style.outlineStyle, width: style.outlineWidth, color: style.outlineColor };
    };
    const revealed = await cell.evaluate(outline);
    assert.notEqual(revealed.style, 'none', `the revealed cell is outlined: ${JSON.stringify(revealed)}`);
    assert.ok(parseFloat(revealed.width) > 0, `its outline has a width: ${JSON.stringify(revealed)}`);
    assert.notEqual(revealed.color, 'rgba(0, 0, 0, 0)', `its outline has a colour: ${JSON.stringify(revealed)}`);
    // The outline singles it out: a cell beside it has none.
    const other = await panel(page)
      .locator(`td.cell[data-region='${JSON.stringify(target.region)}']:not(.revealed)`)
      .first()
      .evaluate(outline);
    assert.equal(other.style, 'none', `a cell not revealed is not outlined: ${JSON.stringify(other)}`);
    await shot(page, 'closed-panel-reveal-cell');
  });

  it('with the panel closed, the Preview base CodeLens opens the panel on the first rows of base', async () => {
    await closePanel();
    await quickOpen(page, 'customer_segments.sql');
    await codeLens(page, 'Preview base').click();

    const detail = panel(page).locator('#detail');
    const heading = detail.locator('h3', { hasText: 'Preview of base' });
    await heading.waitFor({ timeout: 60_000 });
    assert.equal(await heading.textContent(), 'Preview of base');
    assert.ok(await detail.isVisible());
    await assertInPanel("the preview's heading", heading);
    const total = cli.cteRowCounts.base;
    const shown = Math.min(50, total);
    assert.equal(
      await detail.locator('#detail-range').textContent(),
      `1–${shown} of ${total.toLocaleString('en')} rows`,
    );
    const header = detail.locator('#detail-table vscode-data-grid-row[row-type="header"] vscode-data-grid-cell');
    assert.deepEqual(await header.allTextContents(), [
      'customer_id',
      'first_name',
      'last_name',
      'region',
      'total_spent',
      'total_orders',
      'avg_order_value',
      'customer_segment',
    ]);
    const rows = detail.locator('#detail-table vscode-data-grid-row:not([row-type="header"])');
    assert.ok((await rows.count()) > 0, 'the preview has rows');
    assert.equal(await rows.count(), shown);
    await assertInPanel("the preview's first row", rows.first());
    assert.match(
      (await rows.first().locator('vscode-data-grid-cell').first().textContent()) ?? '',
      /^[\d,]+$/,
      'a customer id',
    );
    await shot(page, 'closed-panel-preview-cte');
  });

  it('shows hostile names as text everywhere: no script runs, no element comes from the data', async () => {
    const hostile = [
      '<img src=x onerror="globalThis.__pwned=1">',
      '<script>globalThis.__pwned=2</script>',
      'مرحبا RTL ‏שלום',
      '😀 Emoji region',
      `Long ${'x'.repeat(300)}`,
      '=HYPERLINK("http://evil.invalid")',
    ];
    const seeds = path.join(workspace, 'seeds_hostile');
    mkdirSync(path.join(seeds, 'staging'), { recursive: true });
    mkdirSync(path.join(seeds, 'intermediate'), { recursive: true });
    const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;
    writeFileSync(
      path.join(seeds, 'staging', 'stg_customers.csv'),
      [
        'customer_id,first_name,last_name,region',
        ...hostile.map(
          (region, index) =>
            `${index + 1},${quote(`<b onmouseover="globalThis.__pwned=3">${index}</b>`)},${quote('</td><td>')},${quote(region)}`,
        ),
      ].join('\n'),
    );
    writeFileSync(
      path.join(seeds, 'intermediate', 'int_customer_metrics.csv'),
      [
        'customer_id,total_spent,total_orders,avg_order_value',
        ...hostile.map((_, index) => `${index + 1},${(index + 1) * 4000},${index + 1},1000`),
      ].join('\n'),
    );
    // A segment label from the model itself: it shows in the grid, the tree and the lineage's CASE summary.
    const hostileLabel = '<img src=x onerror="globalThis.__pwned=4">Platinum';
    const model = readFileSync(path.join(workspace, 'models', 'marts', 'customer_segments.sql'), 'utf8').replace(
      "THEN 'Platinum'",
      `THEN '${hostileLabel}'`,
    );
    writeFileSync(path.join(workspace, 'models', 'hostile.sql'), model);
    await withSettings(async (set) => {
      set({
        'segmentLens.model': 'models/hostile.sql',
        'segmentLens.connection': { type: 'csv', directory: 'seeds_hostile' },
      });
      await panel(page).locator('#status', { hasText: 'CSV seeds_hostile' }).waitFor({ timeout: 90_000 });
      assert.ok(
        (await panel(page).locator('table#grid thead').textContent())?.includes(hostileLabel),
        'the label is a column header, as text',
      );
      assert.ok(
        (await panel(page).locator('#case-summary').textContent())?.includes(`${hostileLabel} ≥ 10000`),
        'and in the lineage, as text',
      );
      const headers = await panel(page).locator('table#grid tbody th').allTextContents();
      for (const region of hostile)
        assert.ok(headers.includes(region), `the region ${region.slice(0, 30)} is shown as text`);
      await panel(page)
        .locator('table#grid tbody tr')
        .filter({ hasText: '<img src=x' })
        .locator('td.cell:not([data-value=""])')
        .first()
        .click();
      await panel(page).locator('#detail-range').waitFor();
      assert.match(
        (await panel(page).locator('#detail-table').textContent()) ?? '',
        /<b onmouseover="globalThis\.__pwned=3">0<\/b>/,
      );
      const inside = await panel(page)
        .locator('#app')
        .evaluate((app: { querySelectorAll(selector: string): { length: number } }) => ({
          pwned: (globalThis as { __pwned?: number }).__pwned,
          fromData: app.querySelectorAll('img, script, b, iframe, object, embed').length,
        }));
      assert.deepEqual(inside, { pwned: undefined, fromData: 0 });
      await command(page, 'View: Show Segment Lens');
      const sidebar = page.locator('.part.sidebar');
      await sidebar.locator('.monaco-list-row', { hasText: 'Emoji region' }).first().waitFor();
      // The segment's tooltip lists its metrics under the hostile names, as text.
      await sidebar.locator('.monaco-list-row', { hasText: hostileLabel }).first().hover();
      await page
        .locator('.monaco-hover, .workbench-hover', { hasText: hostileLabel })
        .first()
        .waitFor({ timeout: 30_000 });
      assert.equal(await page.locator('.monaco-hover img[src="x"], .workbench-hover img[src="x"]').count(), 0);
      assert.equal(await sidebar.locator('img[src="x"], b').count(), 0);
      assert.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
      await shot(page, 'hostile-content');
    });
  });

  it('shows the join fan-out warning, and says there is no data for empty tables', async () => {
    await withSettings(async (set) => {
      const useSeeds = (name: string, edit: (lines: string[]) => string[]) => {
        const folder = path.join(workspace, name);
        cpSync(path.join(workspace, 'seeds'), folder, { recursive: true });
        const metrics = path.join(folder, 'intermediate', 'int_customer_metrics.csv');
        writeFileSync(metrics, edit(readFileSync(metrics, 'utf8').trimEnd().split('\n')).join('\n') + '\n');
        set({ 'segmentLens.connection': { type: 'csv', directory: name } });
      };
      useSeeds('seeds_dupes', (lines) => [...lines, lines[1]]);
      await panel(page)
        .locator('.warning', { hasText: 'customer_id repeats in intermediate.int_customer_metrics (1 extra row)' })
        .waitFor({ timeout: 90_000 });
      useSeeds('seeds_empty', (lines) => [lines[0]]);
      await panel(page)
        .locator('#grid-empty', { hasText: 'The model returned no rows: there is no data to show.' })
        .waitFor({ timeout: 90_000 });
      await shot(page, 'empty-data');
    });
  });

  it('selects the bundled sample from the command palette and re-runs on it', async () => {
    await command(page, 'Segment Lens: Select Data Source');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Bundled sample' }).first().click();
    await panel(page).locator('#status', { hasText: 'Bundled sample data' }).waitFor({ timeout: 90_000 });
  });
});
