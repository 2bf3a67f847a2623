// The lineage in the panel at the sizes people use, driven through the browser: its geometry (every output column in
// view without scrolling sideways, at 1280×800 and 1600×1000, light and dark, and after the panel is resized), zoom
// and pan, and the jaffle_shop project's upstream models (a box that expands, paths lit across models, a click that
// lands on the line in the upstream model's own file). Expected lines are found in the SQL files by the test.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
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
}

/** The few DOM members the checks below use, for code that runs in the panel's page. */
interface Dom {
  getBoundingClientRect(): Rect;
  querySelector(selector: string): Dom | null;
  querySelectorAll(selector: string): Iterable<Dom>;
  getAttribute(name: string): string | null;
  scrollWidth: number;
  clientWidth: number;
  scrollLeft: number;
  ownerDocument: { documentElement: { clientWidth: number } };
}

interface Geometry {
  /** The panel page's width (its own viewport, inside the editor group). */
  page: number;
  container: Rect;
  viewport: { scrollWidth: number; clientWidth: number; scrollLeft: number };
  svgWidth: number;
  outputs: { id: string; model: string | null; node: Rect; label: Rect }[];
}

async function setTheme(page: Page, theme: string, bodyClass: string): Promise<void> {
  await command(page, 'Preferences: Color Theme');
  await page.locator('.quick-input-widget input').fill(theme);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: theme }).first().click();
  await page.locator(`.monaco-workbench.${bodyClass}`).waitFor({ timeout: 60_000 });
}

/** Where the lineage and its output nodes are, in the panel page's own coordinates. */
async function geometry(page: Page): Promise<Geometry> {
  await panel(page).locator('svg#lineage').waitFor({ timeout: 90_000 });
  return panel(page)
    .locator('.lineage')
    .evaluate((element: unknown) => {
      const lineage = element as Dom;
      const rect = (target: Dom): Rect => {
        const { left, right, top, bottom } = target.getBoundingClientRect();
        return { left, right, top, bottom };
      };
      const viewport = lineage.querySelector('#lineage-viewport')!;
      return {
        page: lineage.ownerDocument.documentElement.clientWidth,
        container: rect(lineage),
        viewport: {
          scrollWidth: viewport.scrollWidth,
          clientWidth: viewport.clientWidth,
          scrollLeft: viewport.scrollLeft,
        },
        svgWidth: rect(lineage.querySelector('svg#lineage')!).right - rect(lineage.querySelector('svg#lineage')!).left,
        outputs: [...lineage.querySelectorAll('g.node.output')].map((node) => ({
          id: node.getAttribute('data-id')!,
          model: node.getAttribute('data-model'),
          node: rect(node.querySelector('rect')!),
          label: rect(node.querySelector('text.label')!),
        })),
      };
    });
}

/**
 * Every output node of the lineage lies inside the lineage's box, the box inside the panel, with nothing to scroll
 * sideways; each node's name stays inside its node (cut, not spilling).
 */
async function assertLineageFits(page: Page, what: string): Promise<Geometry> {
  const found = await geometry(page);
  const { container, viewport, outputs } = found;
  assert.ok(outputs.length > 0, `${what}: the lineage has output nodes`);
  assert.ok(
    container.left >= 0 && container.right <= found.page + 0.5,
    `${what}: the lineage ${JSON.stringify(container)} lies inside the panel (${found.page} px wide)`,
  );
  assert.ok(
    viewport.scrollWidth <= viewport.clientWidth,
    `${what}: nothing to scroll sideways (${viewport.scrollWidth} > ${viewport.clientWidth})`,
  );
  for (const output of outputs) {
    const name = `${what}: output ${output.model ? `${output.model}.` : ''}${output.id}`;
    assert.ok(
      output.node.left >= container.left &&
        output.node.right <= container.right &&
        output.node.top >= container.top &&
        output.node.bottom <= container.bottom,
      `${name} ${JSON.stringify(output.node)} lies inside the lineage ${JSON.stringify(container)}`,
    );
    assert.ok(output.label.right <= output.node.right + 0.5, `${name}'s label stays inside its node`);
  }
  return found;
}

/** The line (1-based) of `file` holding `text`, and the column (1-based) where `start` begins on it. */
function positionIn(file: string, text: string, start: string): { line: number; column: number } {
  const lines = readFileSync(file, 'utf8').split('\n');
  const index = lines.findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `${text} is in ${file}`);
  return { line: index + 1, column: lines[index].indexOf(start) + 1 };
}

/** Waits until the status bar shows the cursor at `line`, `column` and the active tab is `title`. */
async function assertEditorAt(page: Page, title: string, line: number, column: number): Promise<void> {
  await page
    .locator('.tabs-container .tab.active', { hasText: new RegExp(`^${title.replace('.', '\\.')}`) })
    .first()
    .waitFor({ timeout: 30_000 });
  await page
    .locator('.statusbar-item', { hasText: new RegExp(`Ln ${line}, Col ${column}\\b`) })
    .waitFor({ timeout: 30_000 });
}

for (const size of [
  { width: 1280, height: 800 },
  { width: 1600, height: 1000 },
]) {
  const at = `${size.width}x${size.height}`;

  describe(`the lineage in the panel at ${size.width}×${size.height}`, () => {
    let browser: Browser;
    let page: Page;
    const original = readFileSync(settingsFile, 'utf8');

    before(async () => {
      ({ browser, page } = await openWorkbench(size));
      await waitForWorkbench(page);
      await waitForExplorer(page);
    });

    screenshotFailures(`lineage-${at}`, () => page);

    after(async () => {
      // Leave the workspace as the other suites expect it: its own settings, no jaffle_shop, no editors open.
      writeFileSync(settingsFile, original);
      rmSync(jaffleDir, { recursive: true, force: true });
      if (page && !page.isClosed()) await command(page, 'View: Close All Editors').catch(() => undefined);
      await browser?.close();
    });

    it('runs the model from its CodeLens beside the editor: every output column is in view, light and dark', async () => {
      await quickOpen(page, 'customer_segments.sql');
      const lens = codeLens(page, 'Run Segment Model');
      await lens.waitFor({ timeout: 60_000 });
      await lens.click();
      const light = await assertLineageFits(page, `${at} light`);
      assert.deepEqual(
        light.outputs.map((output) => output.id),
        ['region', 'customer_segment', 'customer_count', 'avg_ltv', 'avg_orders'],
      );
      await panel(page).locator('.lineage').scrollIntoViewIfNeeded();
      await shot(page, `lineage-${at}-light`);
      await setTheme(page, 'Dark Modern', 'vs-dark');
      await assertLineageFits(page, `${at} dark`);
      await shot(page, `lineage-${at}-dark`);
      await setTheme(page, 'Light Modern', 'vs');
    });

    it('fits again when the panel grows and when it shrinks back', async () => {
      const fittedTo = async () => panel(page).locator('svg#lineage').getAttribute('data-fitted-width');
      const before = await fittedTo();
      await command(page, 'View: Toggle Primary Side Bar Visibility');
      // The drawing follows its box: drawn anew for the new width.
      await panel(page).locator(`svg#lineage:not([data-fitted-width="${before}"])`).waitFor({ timeout: 30_000 });
      await assertLineageFits(page, `${at} without the side bar`);
      await shot(page, `lineage-${at}-wide`);
      const wide = await fittedTo();
      await command(page, 'View: Toggle Primary Side Bar Visibility');
      await panel(page).locator(`svg#lineage:not([data-fitted-width="${wide}"])`).waitFor({ timeout: 30_000 });
      await assertLineageFits(page, `${at} with the side bar back`);
    });

    it('zooms in with the button and ctrl+wheel, pans by dragging, and fits again', async () => {
      const lineage = panel(page).locator('.lineage');
      const fitted = await geometry(page);
      await panel(page).locator('#lineage-zoom-in').click();
      await panel(page).locator('#lineage-zoom-in').click();
      await panel(page).locator('#lineage-viewport.zoomed').waitFor();
      const zoomed = await geometry(page);
      assert.ok(
        zoomed.viewport.scrollWidth > zoomed.viewport.clientWidth,
        'zoomed in, the drawing is wider than its box',
      );
      // Dragging the background pans.
      await lineage.scrollIntoViewIfNeeded();
      const box = (await panel(page).locator('#lineage-viewport').boundingBox())!;
      await page.mouse.move(box.x + box.width - 20, box.y + box.height - 20);
      await page.mouse.down();
      await page.mouse.move(box.x + 40, box.y + box.height - 30, { steps: 8 });
      await page.mouse.up();
      const panned = await geometry(page);
      assert.ok(panned.viewport.scrollLeft > 0, `dragging panned (scrollLeft ${panned.viewport.scrollLeft})`);
      // Ctrl+wheel zooms about the pointer.
      await page.mouse.move(box.x + box.width / 2, box.y + 40);
      const zoomLevel = await panel(page).locator('svg#lineage').getAttribute('data-zoom');
      await page.keyboard.down('Control');
      await page.mouse.wheel(0, -400);
      await page.keyboard.up('Control');
      await panel(page).locator(`svg#lineage:not([data-zoom="${zoomLevel}"])`).waitFor();
      const wheeled = await geometry(page);
      assert.ok(wheeled.svgWidth > zoomed.svgWidth, `ctrl+wheel zoomed in (${wheeled.svgWidth} > ${zoomed.svgWidth})`);
      await shot(page, `lineage-${at}-zoomed`);
      await panel(page).locator('#lineage-zoom-fit').click();
      await panel(page).locator('#lineage-viewport:not(.zoomed)').waitFor();
      const back = await assertLineageFits(page, `${at} fit again`);
      assert.equal(Math.round(back.svgWidth), Math.round(fitted.svgWidth));
    });

    it('shows jaffle_shop’s customers model as a box that expands; a hover lights avg_ltv’s path across models', async () => {
      copyJaffleShop(repoRoot, jaffleDir);
      writeFileSync(
        settingsFile,
        JSON.stringify({
          'segmentLens.model': 'jaffle_shop/models/marts/customer_segments.sql',
          'segmentLens.connection': { type: 'csv', directory: 'jaffle_shop/seeds' },
        }),
      );
      const box = panel(page).locator('g.model-box[data-model="customers"]');
      await box.waitFor({ timeout: 120_000 });
      await assertLineageFits(page, `${at} jaffle_shop, collapsed`);
      // The box lists the columns customer_segments.sql reads from ref('customers').
      assert.deepEqual(
        await box
          .locator('g.box-line')
          .evaluateAll((lines) => lines.map((line) => (line as unknown as Dom).getAttribute('data-column'))),
        ['customer_id', 'first_name', 'last_name', 'customer_lifetime_value', 'number_of_orders'],
      );
      const avgLtv = panel(page).locator('g.node.output:not([data-model])[data-id="avg_ltv"]');
      await avgLtv.hover();
      await panel(page).locator('g.model-box.highlighted[data-model="customers"]').waitFor();
      assert.deepEqual(
        await box
          .locator('g.box-line.highlighted')
          .evaluateAll((lines) => lines.map((line) => (line as unknown as Dom).getAttribute('data-column'))),
        ['customer_lifetime_value'],
      );
      assert.equal(
        await panel(page).locator('g.node.highlighted[data-id="main.customers.customer_lifetime_value"]').count(),
        1,
      );
      await shot(page, `lineage-${at}-jaffle-hover`);

      // The expand control is a real button, reached and pressed from the keyboard.
      const expand = panel(page).locator('button.expand[data-model="customers"]');
      assert.equal(await expand.getAttribute('aria-expanded'), 'false');
      await expand.focus();
      await page.keyboard.press('Enter');
      const frame = panel(page).locator('g.model-frame[data-model="customers"]');
      await frame.waitFor();
      const collapse = panel(page).locator('button.expand[data-model="customers"]');
      assert.equal(await collapse.getAttribute('aria-expanded'), 'true');
      assert.equal(
        await collapse.evaluate(
          (button: unknown) =>
            button === (button as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement,
        ),
        true,
        'focus stays on the control',
      );
      const expanded = await assertLineageFits(page, `${at} jaffle_shop, customers expanded`);
      // customers.sql's own outputs, in its select's order.
      assert.deepEqual(
        expanded.outputs.filter((output) => output.model === 'customers').map((output) => output.id),
        [
          'customer_id',
          'first_name',
          'last_name',
          'first_order',
          'most_recent_order',
          'number_of_orders',
          'customer_lifetime_value',
        ],
      );
      // Its own upstream models are boxes in turn.
      for (const model of ['stg_customers', 'stg_orders', 'stg_payments'])
        assert.equal(await panel(page).locator(`g.model-box[data-model="${model}"]`).count(), 1, `${model} box`);

      // Expanded, the path lights node by node: customer_lifetime_value ← total_paid ← payments.amount ← stg_payments.
      await panel(page).locator('g.node.output:not([data-model])[data-id="avg_ltv"]').hover();
      for (const id of ['customer_lifetime_value', 'lifetime_value.total_paid', 'payments.amount'])
        assert.equal(
          await panel(page).locator(`g.node.highlighted[data-model="customers"][data-id="${id}"]`).count(),
          1,
          `customers' ${id} is lit`,
        );
      assert.equal(await panel(page).locator('g.model-box.highlighted[data-model="stg_payments"]').count(), 1);
      assert.equal(await panel(page).locator('g.model-box.dimmed[data-model="stg_customers"]').count(), 1);
      assert.equal(await panel(page).locator('g.node.dimmed[data-model="customers"][data-id="first_name"]').count(), 1);
      await shot(page, `lineage-${at}-jaffle-expanded`);
    });

    it('opens an upstream model’s file at the line of the node clicked inside its box', async () => {
      const customersSql = path.join(jaffleDir, 'models', 'customers.sql');
      const totalPaid = positionIn(customersSql, 'as total_paid', 'sum(');
      await panel(page).locator('g.node[data-model="customers"][data-id="lifetime_value.total_paid"]').click();
      await assertEditorAt(page, 'customers.sql', totalPaid.line, totalPaid.column);
      await shot(page, `lineage-${at}-jaffle-reveal`);
      // A column line of a collapsed box opens that model's output column.
      const paymentsSql = path.join(jaffleDir, 'models', 'staging', 'stg_payments.sql');
      const amount = positionIn(paymentsSql, 'as amount', '{{');
      await panel(page).locator('g.model-box[data-model="stg_payments"] g.box-line[data-column="amount"]').click();
      await assertEditorAt(page, 'stg_payments.sql', amount.line, amount.column);
    });

    it('shows an upstream model whose SQL cannot be read as a box with a warning mark and the reason', async () => {
      // The data holds customers already (so the run reads it as it is), but customers.sql no longer parses.
      writeFileSync(
        path.join(jaffleDir, 'seeds', 'customers.csv'),
        'customer_id,first_name,last_name,first_order,most_recent_order,number_of_orders,customer_lifetime_value\n' +
          '1,Ann,Lee,2018-01-01,2018-02-01,2,33.5\n',
      );
      const customersSql = path.join(jaffleDir, 'models', 'customers.sql');
      writeFileSync(customersSql, readFileSync(customersSql, 'utf8').replace(/^select$/m, 'selct'));
      writeFileSync(
        settingsFile,
        JSON.stringify({
          'segmentLens.model': 'jaffle_shop/models/marts/customer_segments.sql',
          'segmentLens.connection': { type: 'csv', directory: 'jaffle_shop/seeds' },
          'segmentLens.upstream': 'auto',
        }),
      );
      const broken = panel(page).locator('g.model-box.broken[data-model="customers"]');
      await broken.waitFor({ timeout: 120_000 });
      const tooltip = (await broken.locator(':scope > title').textContent()) ?? '';
      assert.match(tooltip, /^customers: SQL syntax error near "selct" in .*customers\.sql/);
      assert.equal(await broken.locator('.warning-mark').count(), 1);
      assert.equal(await panel(page).locator('.lineage .dimmed').count(), 0, "the last run's lit path is gone");
      assert.equal(await panel(page).locator('button.expand[data-model="customers"]').count(), 0, 'nothing to expand');
      await assertLineageFits(page, `${at} jaffle_shop, customers unreadable`);
      await panel(page).locator('.lineage').scrollIntoViewIfNeeded();
      await shot(page, `lineage-${at}-jaffle-broken`);
    });
  });
}
