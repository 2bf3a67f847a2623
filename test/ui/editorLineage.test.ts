// Lineage from the editor, driven through the browser as a user would: hovering `total_spent` in the model shows its
// lineage in the editor's hover, and Show Lineage of Column (the command palette, then the lens above the final
// select) lights that column's path in the panel, scrolled into the panel's view. Expected text is read off the
// sample model's SQL by hand.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { copyJaffleShop } from '../jaffleShop';
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
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const settingsFile = path.join(workspace, '.vscode', 'settings.json');
const jaffleDir = path.join(workspace, 'jaffle_shop');

interface Rect {
  left: number;
  right: number;
  top: number;
  bottom: number;
  width: number;
  height: number;
}

/** A function to run in a page, from its source (this suite compiles without the DOM library). */
function inPage<T>(parameter: string, body: string): (element: unknown) => T {
  return new Function(parameter, body) as (element: unknown) => T;
}

/** Where `word` is drawn inside an editor line element, in the workbench page's coordinates. */
async function wordBox(line: Locator, word: string): Promise<Rect> {
  return line.evaluate(
    inPage<Rect>(
      'line',
      `const word = ${JSON.stringify(word)};
       const walker = line.ownerDocument.createTreeWalker(line, 4);
       for (let node = walker.nextNode(); node; node = walker.nextNode()) {
         const at = node.textContent.indexOf(word);
         if (at < 0) continue;
         const range = line.ownerDocument.createRange();
         range.setStart(node, at);
         range.setEnd(node, at + word.length);
         const { left, right, top, bottom, width, height } = range.getBoundingClientRect();
         return { left, right, top, bottom, width, height };
       }
       throw new Error(word + ' is not drawn in the line');`,
    ),
  );
}

/** A lit node's box and the panel page's viewport, in the panel page's coordinates. */
async function inPanelView(node: Locator): Promise<{ node: Rect; width: number; height: number }> {
  return node.evaluate(
    inPage<{ node: Rect; width: number; height: number }>(
      'node',
      `const { left, right, top, bottom, width, height } = node.getBoundingClientRect();
       const root = node.ownerDocument.documentElement;
       return { node: { left, right, top, bottom, width, height }, width: root.clientWidth, height: root.clientHeight };`,
    ),
  );
}

function assertInView(found: { node: Rect; width: number; height: number }, what: string): void {
  const { node, width, height } = found;
  assert.ok(
    node.width > 0 && node.left >= 0 && node.top >= 0 && node.right <= width + 0.5 && node.bottom <= height + 0.5,
    `${what} ${JSON.stringify(node)} lies inside the panel's view (${width}×${height})`,
  );
}

describe('lineage from the editor, in the browser', () => {
  let browser: Browser;
  let page: Page;
  const settings = readFileSync(settingsFile, 'utf8');

  before(async () => {
    ({ browser, page } = await openWorkbench({ width: 1280, height: 800 }));
    await waitForWorkbench(page);
    await waitForExplorer(page);
  });

  screenshotFailures('editor-lineage', () => page);

  after(async () => {
    // The suites after this one open the workbench with its own settings, no jaffle_shop and no editors.
    writeFileSync(settingsFile, settings);
    rmSync(jaffleDir, { recursive: true, force: true });
    if (page && !page.isClosed()) await command(page, 'View: Close All Editors').catch(() => undefined);
    await browser?.close();
  });

  it('hovering total_spent in the model shows its lineage', async () => {
    await quickOpen(page, 'customer_segments.sql');
    const lens = codeLens(page, 'Run Segment Model');
    await lens.waitFor({ timeout: 60_000 });
    await lens.click();
    await panel(page).locator('svg#lineage').waitFor({ timeout: 90_000 });
    // Line 25 of the model: `ROUND(AVG(total_spent), 2)  AS avg_ltv`.
    const line = page.locator('.monaco-editor .view-line', { hasText: 'AVG(total_spent)' }).first();
    const word = await wordBox(line, 'total_spent');
    await page.mouse.move(word.left + word.width / 2, word.top + word.height / 2);
    const hover = page.locator('.monaco-hover:visible', { hasText: 'Comes from' }).first();
    await hover.waitFor({ timeout: 30_000 });
    const text = (await hover.innerText()).replace(/\u00a0/g, ' ');
    for (const expected of [
      'total_spent — column of CTE base',
      'base.total_spent ← int_customer_metrics.total_spent (passthrough)',
      'Feeds: avg_ltv',
      'Show in the lineage',
    ])
      assert.ok(text.includes(expected), `the hover says "${expected}": ${JSON.stringify(text)}`);
    await shot(page, 'editor-lineage-hover');
    // The segment's hover carries its CASE: line 23, `customer_segment,` of the final select.
    await page.mouse.move(0, 0);
    await hover.waitFor({ state: 'hidden', timeout: 30_000 });
    const segmentLine = page.locator('.monaco-editor .view-line', { hasText: 'GROUP BY region, customer_segment' });
    const segment = await wordBox(segmentLine.first(), 'customer_segment');
    await page.mouse.move(segment.left + segment.width / 2, segment.top + segment.height / 2);
    const caseHover = page.locator('.monaco-hover:visible', { hasText: 'The CASE that makes' }).first();
    await caseHover.waitFor({ timeout: 30_000 });
    const caseText = (await caseHover.innerText()).replace(/\u00a0/g, ' ');
    assert.ok(caseText.includes("WHEN i.total_spent >= 5000 THEN 'Gold'"), caseText);
    await shot(page, 'editor-lineage-hover-case');
    await page.mouse.move(0, 0);
  });

  it('Show Lineage of Column lights the path of the column under the cursor, in view in the panel', async () => {
    // The panel's page at its top: the lineage is below the grid at this size, out of view until scrolled to.
    await panel(page).locator('body').evaluate(inPage<void>('body', 'body.ownerDocument.defaultView.scrollTo(0, 0);'));
    // The cursor on `customer_segment` in `END AS customer_segment` (line 16).
    const aliasLine = page.locator('.monaco-editor .view-line', { hasText: 'END AS customer_segment' }).first();
    const alias = await wordBox(aliasLine, 'customer_segment');
    await page.mouse.click(alias.left + 3, alias.top + alias.height / 2);
    await command(page, 'Segment Lens: Show Lineage of Column');
    const lit = panel(page).locator('g.node.highlighted[data-id="base.customer_segment"]');
    await lit.waitFor({ timeout: 30_000 });
    assertInView(await inPanelView(lit), 'the lit node base.customer_segment');
    // Its path up to the source column it is cut from (as a hover in the panel lights it); other columns dimmed.
    assert.equal(
      await panel(page).locator('g.node.highlighted[data-id="intermediate.int_customer_metrics.total_spent"]').count(),
      1,
      'the source column total_spent is lit',
    );
    assert.equal(await panel(page).locator('g.node.dimmed[data-id="avg_orders"]').count(), 1);
    await shot(page, 'editor-lineage-command');

    // The lens above the final select does the same for an output column.
    await codeLens(page, 'Lineage of avg_ltv').click();
    const avgLtv = panel(page).locator('g.node.highlighted[data-id="avg_ltv"]');
    await avgLtv.waitFor({ timeout: 30_000 });
    assertInView(await inPanelView(avgLtv), 'the lit node avg_ltv');
    assert.equal(await panel(page).locator('g.node.highlighted[data-id="base.customer_segment"]').count(), 0);
    await shot(page, 'editor-lineage-lens');

    // It stays lit until another hover: then that one's path is lit instead.
    await panel(page).locator('g.node[data-id="region"]').hover();
    await panel(page).locator('g.node.highlighted[data-id="region"]').waitFor();
    assert.equal(await panel(page).locator('g.node.highlighted[data-id="avg_ltv"]').count(), 0);
  });

  it('on a column of a model upstream, the panel expands that model and lights the column there', async () => {
    copyJaffleShop(repoRoot, jaffleDir);
    writeFileSync(
      settingsFile,
      JSON.stringify({
        'segmentLens.model': 'jaffle_shop/models/marts/customer_segments.sql',
        'segmentLens.connection': { type: 'csv', directory: 'jaffle_shop/seeds' },
      }),
    );
    // The settings change runs jaffle_shop's segment model: customers.sql is a collapsed box; its line opens the file.
    const line = panel(page).locator(
      'g.model-box[data-model="customers"] g.box-line[data-column="customer_lifetime_value"]',
    );
    await line.waitFor({ timeout: 120_000 });
    await line.click();
    await page.locator('.tabs-container .tab.active', { hasText: /^customers\.sql/ }).waitFor({ timeout: 30_000 });
    // customers.sql: `sum(payments.amount) as total_paid`, a column of its CTE lifetime_value. The narrow editor may
    // hide the name under its minimap: the cursor goes there by Go to Line/Column, as a keyboard user would.
    const lines = readFileSync(path.join(jaffleDir, 'models', 'customers.sql'), 'utf8').split('\n');
    const lineNumber = lines.findIndex((text) => text.includes('as total_paid')) + 1;
    const column = lines[lineNumber - 1].indexOf('total_paid') + 2;
    await command(page, 'Go to Line/Column');
    await page.locator('.quick-input-widget input').fill(`:${lineNumber}:${column}`);
    await page.keyboard.press('Enter');
    await page
      .locator('.statusbar-item', { hasText: new RegExp(`Ln ${lineNumber}, Col ${column}\\b`) })
      .waitFor({ timeout: 30_000 });
    await command(page, 'Segment Lens: Show Lineage of Column');
    const lit = panel(page).locator('g.node.highlighted[data-model="customers"][data-id="lifetime_value.total_paid"]');
    await lit.waitFor({ timeout: 30_000 });
    assertInView(await inPanelView(lit), "customers' lit node lifetime_value.total_paid");
    assert.equal(await panel(page).locator('g.model-frame[data-model="customers"]').count(), 1, 'customers expanded');
    assert.equal(await panel(page).locator('g.model-box.highlighted[data-model="stg_payments"]').count(), 1);
    await shot(page, 'editor-lineage-upstream');
  });
});
