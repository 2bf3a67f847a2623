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

/** A function to run in the panel's page, from its source (this suite compiles without the DOM library). */
function inPage<T>(parameter: string, body: string): (element: unknown) => T {
  return new Function(parameter, body) as (element: unknown) => T;
}

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
      ['region', 'Platinum', 'Gold', 'Silver', 'Bronze', 'Total'],
    );
    assert.equal(await grid.locator('tbody th').last().textContent(), '(no region)');
    assert.match(
      (await panel(page).locator('#status').textContent()) ?? '',
      /CSV seeds · base 4,801 rows · result \d+ rows · load [\d,]+ ms · query [\d,]+ ms/,
    );
    assert.equal(await panel(page).locator('#title').textContent(), 'models/marts/customer_segments.sql');
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
    const rows = panel(page).locator('#detail-table tbody tr');
    assert.equal(await rows.count(), Math.min(50, europePlatinum.customer_count));
    await assertOneLineRows();
    // Ids as written, amounts grouped and right-aligned, under headers that line up with their columns.
    const headers = await panel(page).locator('#detail-table thead th').allTextContents();
    const id = await rows.first().locator('td').nth(headers.indexOf('customer_id')).textContent();
    assert.match(id ?? '', /^\d+$/, 'a customer id without separators');
    const spent = rows.first().locator('td').nth(headers.indexOf('total_spent'));
    assert.match((await spent.textContent()) ?? '', /^\d{1,3}(,\d{3})*\.\d\d$/);
    assert.equal(await spent.evaluate(inPage('td', 'return getComputedStyle(td).textAlign;')), 'right');
    await assertColumnsAligned();
    await shot(page, 'light-drilldown');
  });

  it("the chart beside the grid: a stacked bar per region whose parts are the grid's counts; a bar drills down", async () => {
    const chart = panel(page).locator('#chart');
    await chart.scrollIntoViewIfNeeded();
    const cells = await panel(page)
      .locator('table#grid')
      .evaluate(
        inPage<Record<string, string>>(
          'table',
          `return Object.fromEntries([...table.querySelectorAll('td.cell')].map((td) =>
            [td.dataset.region + '|' + td.dataset.segment, td.textContent]));`,
        ),
      );
    const bars = await chart.evaluate(
      inPage<{ key: string; value: string; title: string; fill: string; width: number; role: string }[]>(
        'figure',
        `return [...figure.querySelectorAll('rect.bar')].map((rect) => ({
          key: rect.dataset.region + '|' + rect.dataset.segment,
          value: rect.dataset.value,
          title: rect.querySelector('title').textContent,
          fill: getComputedStyle(rect).fill,
          width: rect.getBoundingClientRect().width,
          role: rect.getAttribute('role'),
        }));`,
      ),
    );
    // Every cell with customers has its bar, and each bar's number (data and tooltip) is the cell's text.
    const nonEmpty = Object.entries(cells).filter(([, text]) => text !== '—' && text !== '0');
    assert.equal(bars.length, nonEmpty.length);
    for (const bar of bars) {
      const text = cells[bar.key];
      assert.ok(text, `a cell for the bar ${bar.key}`);
      assert.equal(Number(bar.value).toLocaleString('en'), text);
      assert.ok(bar.title.endsWith(`: ${text}`), `${bar.title} ends with ${text}`);
      assert.equal(bar.role, 'button');
      assert.ok(bar.width > 0);
      assert.match(bar.fill, /^rgb/, 'filled with a theme colour');
    }
    // The segments' colours: Platinum's bars all one colour, another than Gold's.
    const fillOf = (segment: string) =>
      new Set(bars.filter((bar) => bar.key.endsWith(`|"${segment}"`)).map((bar) => bar.fill));
    assert.equal(fillOf('Platinum').size, 1);
    assert.notDeepEqual([...fillOf('Platinum')], [...fillOf('Gold')]);
    // Each region's total beside its bar is the grid's row total.
    const totals = await panel(page)
      .locator('table#grid tbody tr')
      .evaluateAll(inPage<string[]>('rows', "return rows.map((tr) => tr.querySelector('td.total').textContent);"));
    assert.deepEqual(await chart.locator('text.chart-value').allTextContents(), totals);
    assert.deepEqual(await chart.locator('.chart-legend li').allTextContents(), [
      'Platinum',
      'Gold',
      'Silver',
      'Bronze',
    ]);
    await shot(page, 'light-chart');

    const europeGold = cli.rows.find((row) => row.region === 'Europe' && row.customer_segment === 'Gold')!;
    await chart.locator(`rect.bar[data-region='"Europe"'][data-segment='"Gold"']`).click();
    await panel(page).locator('#detail h3', { hasText: 'Europe · Gold' }).waitFor();
    assert.equal(
      await panel(page).locator('#detail-range').textContent(),
      `1–${Math.min(50, europeGold.customer_count)} of ${europeGold.customer_count} customers`,
    );
    await page.keyboard.press('Escape');
    await panel(page).locator('#detail').waitFor({ state: 'detached' });
    // Reached with the keyboard: Enter on a focused bar opens its customers too.
    await chart.locator(`rect.bar[data-region='"Asia Pacific"'][data-segment='"Silver"']`).focus();
    await page.keyboard.press('Enter');
    await panel(page).locator('#detail h3', { hasText: 'Asia Pacific · Silver' }).waitFor();
    await page.keyboard.press('Escape');
    await panel(page).locator('#detail').waitFor({ state: 'detached' });

    await setTheme('Dark Modern', 'vs-dark');
    await chart.scrollIntoViewIfNeeded();
    await shot(page, 'dark-chart');
    await setTheme('Light Modern', 'vs');
    await panel(page).locator('body').evaluate(inPage('body', 'window.scrollTo(0, 0);'));
  });

  it('moves between cells with the arrow keys, opens one with Enter, goes back with Escape, focus visible', async () => {
    const start = panel(page).locator(`td.cell[data-region='"Europe"'][data-segment='"Platinum"']`);
    await start.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    const focused = () =>
      panel(page)
        .locator('body')
        .evaluate(
          inPage<[string, string, string] | null>(
            'body',
            'const a = document.activeElement; return a && a.matches("td.cell") ? [a.dataset.region, a.dataset.segment, getComputedStyle(a).outlineStyle] : null;',
          ),
        );
    assert.deepEqual(await focused(), ['"Latin America"', '"Gold"', 'solid']);
    await page.keyboard.press('Enter');
    await panel(page).locator('#detail h3', { hasText: 'Latin America · Gold' }).waitFor();
    assert.deepEqual(await focused(), ['"Latin America"', '"Gold"', 'solid'], 'the focus stays on the cell');
    await page.keyboard.press('ArrowLeft');
    assert.deepEqual(await focused(), ['"Latin America"', '"Platinum"', 'solid']);
    await page.keyboard.press('Escape');
    await panel(page).locator('#detail').waitFor({ state: 'detached' });
    assert.deepEqual(await focused(), ['"Latin America"', '"Gold"', 'solid'], 'back on the cell it opened');
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
    // The model opened beside the panel, not over it.
    assert.ok(await page.locator('iframe.webview.ready:visible').isVisible(), 'the panel is still in view');
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

  /** Every row of the drill-down or preview is one line: each cell's text on one line box, every row as high. */
  async function assertOneLineRows(): Promise<void> {
    const rows = await panel(page)
      .locator('#detail-table')
      .evaluate(
        inPage<{ height: number; lines: number }[]>(
          'table',
          `return [...table.querySelectorAll('tbody tr')].map((tr) => ({
            height: Math.round(tr.getBoundingClientRect().height),
            lines: Math.max(...[...tr.querySelectorAll('.cell-text')].map((text) => {
              const range = document.createRange();
              range.selectNodeContents(text);
              return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
            })),
          }));`,
        ),
      );
    assert.ok(rows.length > 0, 'rows to measure');
    assert.deepEqual(
      rows.filter((row) => row.lines !== 1),
      [],
      'no value wraps',
    );
    assert.deepEqual(
      [...new Set(rows.map((row) => row.height))].length,
      1,
      `rows of one height: ${JSON.stringify(rows)}`,
    );
  }

  /** Each header of the drill-down stands over its own column: same left and right edges. */
  async function assertColumnsAligned(): Promise<void> {
    const misaligned = await panel(page)
      .locator('#detail-table')
      .evaluate(
        inPage<number[]>(
          'table',
          `const headers = [...table.querySelectorAll('thead th')].map((th) => th.getBoundingClientRect());
          const cells = [...table.querySelector('tbody tr').children].map((td) => td.getBoundingClientRect());
          return headers.flatMap((header, index) =>
            Math.abs(header.left - cells[index].left) > 1 || Math.abs(header.right - cells[index].right) > 1 ? [index] : []);`,
        ),
      );
    assert.deepEqual(misaligned, []);
  }

  async function scrollPanelToTop(): Promise<void> {
    await panel(page).locator('body').evaluate(inPage('body', 'window.scrollTo(0, 0);'));
  }

  /** The page box of the panel's section `id`. */
  async function sectionBox(id: string): Promise<{ x: number; y: number; width: number; height: number }> {
    const box = await panel(page).locator(`#${id}`).boundingBox();
    assert.ok(box, `#${id} is on screen`);
    return box;
  }

  /** The grid's Total column (its header and the grand total) lies inside the panel. */
  async function assertTotalColumnInPanel(): Promise<void> {
    await assertInPanel("the Total column's header", panel(page).locator('table#grid thead th.total'));
    await assertInPanel('the grand total', panel(page).locator('#grand-total'));
  }

  /** The lineage's box lies across the panel's width, not past its right edge. */
  async function assertLineageAcrossPanel(): Promise<void> {
    const [fit, frame] = [await sectionBox('lineage-fit'), await panelBox()];
    assert.ok(
      fit.x >= frame.x && fit.x + fit.width <= frame.x + frame.width + 0.5,
      `the lineage ${JSON.stringify(fit)} is within the panel ${JSON.stringify(frame)}`,
    );
  }

  /** Shows or hides the primary side bar, whichever way it is now. */
  async function setSideBar(visible: boolean): Promise<void> {
    if ((await page.locator('.part.sidebar').isVisible()) === visible) return;
    await command(page, 'View: Toggle Primary Side Bar Visibility');
    await page.locator('.part.sidebar').waitFor({ state: visible ? 'visible' : 'hidden' });
  }

  /** Opens the model and runs it, the panel beside it, at a window size and theme. */
  async function besideTheModel(size: { width: number; height: number }, theme: string): Promise<void> {
    await page.setViewportSize(size);
    if (theme === 'dark') await setTheme('Dark Modern', 'vs-dark');
    else await setTheme('Light Modern', 'vs');
    // The model in the first group, the panel beside it (not in one tab group with it).
    await command(page, 'View: Focus First Editor Group');
    await quickOpen(page, 'customer_segments.sql');
    await command(page, 'Segment Lens: Run Segment Model');
    await panel(page).locator('table#grid').waitFor({ timeout: 90_000 });
    await panel(page).locator('#status:not(:has-text("Running"))').waitFor();
    await scrollPanelToTop();
  }

  for (const size of [
    { width: 1280, height: 800 },
    { width: 1600, height: 1000 },
  ])
    for (const theme of ['light', 'dark']) {
      const name = `${size.width}x${size.height}-${theme}`;
      it(`${name}: beside the editor the grid then the lineage, each whole; from 900 px of panel side by side`, async () => {
        await besideTheModel(size, theme);
        let frame = await panelBox();
        let [grid, lineage] = [await sectionBox('grid-section'), await sectionBox('lineage-section')];
        if (frame.width < 900) {
          assert.ok(
            lineage.y >= grid.y + grid.height,
            `the lineage under the grid: ${JSON.stringify({ grid, lineage })}`,
          );
        } else {
          assert.ok(
            lineage.x >= grid.x + grid.width,
            `the lineage beside the grid: ${JSON.stringify({ grid, lineage })}`,
          );
        }
        await assertTotalColumnInPanel();
        await assertLineageAcrossPanel();
        await shot(page, `layout-${name}-beside-${Math.round(frame.width)}px`);

        // The panel's group alone in the editor area, the side bar closed: well over 900 px.
        await page.locator('.tabs-container .tab', { hasText: 'Segment Lens' }).click();
        await setSideBar(false);
        await command(page, 'View: Toggle Maximize Editor Group');
        try {
          await page.waitForFunction(
            "Math.max(0, ...[...document.querySelectorAll('iframe.webview.ready')].map((frame) => frame.getBoundingClientRect().width)) >= 900",
            undefined,
            { timeout: 30_000 },
          );
          await scrollPanelToTop();
          frame = await panelBox();
          [grid, lineage] = [await sectionBox('grid-section'), await sectionBox('lineage-section')];
          assert.ok(lineage.x >= grid.x + grid.width, `side by side: ${JSON.stringify({ grid, lineage, frame })}`);
          assert.ok(Math.abs(lineage.y - grid.y) < 2, 'their tops level');
          await assertTotalColumnInPanel();
          await assertLineageAcrossPanel();
          await shot(page, `layout-${name}-wide-${Math.round(frame.width)}px`);
        } finally {
          await command(page, 'View: Toggle Maximize Editor Group');
          await setSideBar(true);
        }
      });
    }

  it('a typo keeps the last good grid and lineage, dimmed and dated, under the error', async () => {
    await besideTheModel({ width: 1600, height: 1000 }, 'light');
    const file = path.join(workspace, 'models', 'marts', 'customer_segments.sql');
    const original = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, original.replace('    customer_segment,\n    COUNT', '    customer_segmnt,\n    COUNT'));
      await panel(page).locator('#run').click();
      const error = panel(page).locator('#error');
      await error.waitFor({ timeout: 90_000 });
      assert.match(
        (await error.textContent()) ?? '',
        /^Column customer_segmnt does not exist in base\. \(customer_segments\.sql:\d+:5\)/,
      );
      assert.match((await error.textContent()) ?? '', /Columns of base: customer_id, first_name, .*customer_segment\./);
      assert.match(
        (await panel(page).locator('#stale-note').textContent()) ?? '',
        /^Showing the run of \d{1,2}:\d{2}( [AP]M)?, the last that worked\.$/,
      );
      const stale = panel(page).locator('#stale');
      assert.ok(
        Number(await stale.evaluate(inPage<string>('element', 'return getComputedStyle(element).opacity;'))) < 1,
        'dimmed',
      );
      await stale.locator('table#grid').waitFor();
      await stale.locator('#lineage-fit svg').first().waitFor();
      await assertTotalColumnInPanel();
      await shot(page, 'error-keeps-last-grid');
    } finally {
      writeFileSync(file, original);
    }
    await panel(page).locator('#run').click();
    await panel(page).locator('#stale').waitFor({ state: 'detached', timeout: 90_000 });
    await panel(page).locator('table#grid').waitFor();
  });

  it('"Open Lineage" scrolls the panel to the lineage', async () => {
    await besideTheModel({ width: 1280, height: 800 }, 'light');
    // A drill-down open under the grid puts the lineage below the fold.
    await panel(page).locator(`td.cell[data-region='"Europe"'][data-segment='"Silver"']`).click();
    await panel(page).locator('#detail-table').waitFor();
    const heading = panel(page).locator('#lineage-section h3');
    const frame = await panelBox();
    assert.ok((await heading.boundingBox())!.y > frame.y + frame.height, 'the lineage starts below the fold');
    await command(page, 'Segment Lens: Open Lineage');
    // Scrolled until the lineage is at the top (or the page can scroll no further), as the panel draws it.
    await panel(page)
      .locator('#lineage-section')
      .evaluate(
        inPage(
          'section',
          `return new Promise((resolve, reject) => {
          const deadline = Date.now() + 30000;
          const check = () => {
            const end = document.documentElement.scrollHeight - innerHeight;
            if (Math.abs(section.getBoundingClientRect().top) < 2 || Math.abs(scrollY - end) < 2) resolve(true);
            else if (Date.now() > deadline) reject(new Error('the panel did not scroll to the lineage'));
            else requestAnimationFrame(check);
          };
          check();
        });`,
        ),
      );
    await assertInPanel("the lineage's heading", heading);
    await shot(page, 'open-lineage');
    await panel(page).locator('#detail-close').click();
    await scrollPanelToTop();
  });

  it("remembers the panel's width as the user drags it; the README's picture: the grid beside the whole lineage", async () => {
    await besideTheModel({ width: 1600, height: 1000 }, 'light');
    await setSideBar(false);
    try {
      // Drag the sash between the editor and the panel until the panel is 1,000 px wide.
      const before = await panelBox();
      const sashes = await page.locator('.part.editor .monaco-sash.vertical').all();
      const boxes = await Promise.all(sashes.map((sash) => sash.boundingBox()));
      const nearest = boxes
        .map((box, index) => ({ box, index }))
        .filter((item): item is { box: NonNullable<typeof item.box>; index: number } => !!item.box)
        .sort((a, b) => Math.abs(a.box.x - before.x) - Math.abs(b.box.x - before.x))[0];
      assert.ok(nearest && Math.abs(nearest.box.x - before.x) < 10, 'the sash at the panel edge');
      await panel(page).locator('body').evaluate(inPage('body', 'delete body.dataset.reportedWidth;'));
      const x = nearest.box.x + nearest.box.width / 2;
      const y = nearest.box.y + nearest.box.height / 2;
      await page.mouse.move(x, y);
      await page.mouse.down();
      await page.mouse.move(x - (1000 - before.width), y, { steps: 10 });
      await page.mouse.up();
      const reported = panel(page).locator('body[data-reported-width]');
      await reported.waitFor({ state: 'attached' });
      const wanted = await panelBox();
      assert.ok(Math.abs(wanted.width - 1000) < 20, `the panel is 1,000 px wide: ${wanted.width}`);

      // Closed and opened again, it has the same share of the editor area.
      await closePanel();
      await quickOpen(page, 'customer_segments.sql');
      // The cursor at the top: no selection left from earlier clicks in the picture.
      await page.keyboard.press('Control+Home');
      await codeLens(page, 'Run Segment Model').click();
      await panel(page).locator('table#grid').waitFor({ timeout: 90_000 });
      await page.waitForFunction(
        `Math.abs(Math.max(0, ...[...document.querySelectorAll('iframe.webview.ready')].map((frame) => frame.getBoundingClientRect().width)) - ${wanted.width}) < 20`,
        undefined,
        { timeout: 30_000 },
      );
      const [grid, lineage] = [await sectionBox('grid-section'), await sectionBox('lineage-section')];
      assert.ok(lineage.x >= grid.x + grid.width, 'side by side');
      await assertTotalColumnInPanel();
      await assertLineageAcrossPanel();
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
      await shot(page, 'readme-screenshot');
    } finally {
      await setSideBar(true);
    }
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
    const header = detail.locator('#detail-table thead th');
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
    const rows = detail.locator('#detail-table tbody tr');
    assert.ok((await rows.count()) > 0, 'the preview has rows');
    assert.equal(await rows.count(), shown);
    await assertInPanel("the preview's first row", rows.first().locator('td').first());
    assert.match((await rows.first().locator('td').first().textContent()) ?? '', /^\d+$/, 'a customer id as written');
    await assertOneLineRows();
    await shot(page, 'closed-panel-preview-cte');
  });

  it('a model grouped by three keys: a picker chooses rows and columns, the third key a filter ("all" sums it)', async () => {
    const model = readFileSync(path.join(workspace, 'models', 'marts', 'customer_segments.sql'), 'utf8')
      .replace(
        '    COUNT(DISTINCT customer_id)',
        "    CASE WHEN total_orders >= 10 THEN 'frequent' ELSE 'occasional' END AS frequency,\n    COUNT(DISTINCT customer_id)",
      )
      .replace('GROUP BY region, customer_segment', 'GROUP BY region, customer_segment, frequency');
    writeFileSync(path.join(workspace, 'models', 'three_keys.sql'), model);
    // The rows by all three keys, from the CLI; every figure below is summed here from them.
    const three = JSON.parse(
      execFileSync(
        process.execPath,
        [
          path.join(repoRoot, 'dist', 'cli.js'),
          'run',
          '--workspace',
          workspace,
          '--model',
          'models/three_keys.sql',
          '--format',
          'json',
        ],
        { encoding: 'utf8' },
      ),
    ) as { rows: { region: string | null; customer_segment: string; frequency: string; customer_count: number }[] };
    const sum = (keep: (row: (typeof three.rows)[number]) => boolean) =>
      three.rows.filter(keep).reduce((total, row) => total + row.customer_count, 0);
    const cellText = (region: string, segment: string) =>
      panel(page)
        .locator(`td.cell[data-region='${JSON.stringify(region)}'][data-segment='${JSON.stringify(segment)}']`)
        .textContent();
    await withSettings(async (set) => {
      set({ 'segmentLens.model': 'models/three_keys.sql' });
      const picker = panel(page).locator('#dimension-picker');
      await picker.waitFor({ timeout: 90_000 });
      assert.equal(await picker.locator('#pick-rows').inputValue(), 'region');
      assert.equal(await picker.locator('#pick-columns').inputValue(), 'customer_segment');
      const filter = picker.locator('select[data-dimension="frequency"]');
      assert.equal(await filter.inputValue(), 'all');
      assert.deepEqual(await filter.locator('option').allTextContents(), ['all', 'frequent', 'occasional']);
      // "all": each cell is the sum over frequency, which is the two-key model's count.
      const europeGold = cli.rows.find((row) => row.region === 'Europe' && row.customer_segment === 'Gold')!;
      assert.equal(await cellText('Europe', 'Gold'), europeGold.customer_count.toLocaleString('en'));
      assert.equal(
        europeGold.customer_count,
        sum((row) => row.region === 'Europe' && row.customer_segment === 'Gold'),
      );
      // Kept at one frequency: that frequency's customers only; the drill-down is off (it follows the model's two keys).
      await filter.selectOption({ label: 'frequent' });
      await panel(page)
        .locator(`td.cell[data-region='"Europe"'][data-segment='"Gold"']`, {
          hasText: new RegExp(
            `^${sum((row) => row.region === 'Europe' && row.customer_segment === 'Gold' && row.frequency === 'frequent')}$`,
          ),
        })
        .waitFor();
      assert.equal(await panel(page).locator('td.cell[role="button"]').count(), 0);
      await shot(page, 'light-picker-filtered');
      // frequency across (in its CASE's order), customer_segment now the filter, at all.
      await picker.locator('#pick-columns').selectOption('frequency');
      await panel(page).locator('table#grid[data-columns="frequency"]').waitFor();
      const headers = await panel(page).locator('table#grid thead th').allTextContents();
      assert.deepEqual(
        headers.map((text) => text.replace(/[▲▼]/g, '').trim()),
        ['region', 'frequent', 'occasional', 'Total'],
      );
      assert.ok(await picker.locator('select[data-dimension="customer_segment"]').isVisible());
      assert.equal(
        await cellText('Asia Pacific', 'occasional'),
        sum((row) => row.region === 'Asia Pacific' && row.frequency === 'occasional').toLocaleString('en'),
      );
      // The chart follows the pick: a bar per region and frequency.
      assert.deepEqual(await panel(page).locator('#chart .chart-legend li').allTextContents(), [
        'frequent',
        'occasional',
      ]);
      await shot(page, 'light-picker-columns');
      // Back to the model's own pick for the tests after this one.
      await picker.locator('#pick-columns').selectOption('customer_segment');
      await panel(page).locator('table#grid[data-columns="customer_segment"]').waitFor();
      await picker.locator('select[data-dimension="frequency"]').selectOption({ label: 'all' });
      await panel(page).locator('td.cell[role="button"]').first().waitFor();
    });
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

  it('selects the bundled sample from the command palette: the model runs on it, in the panel', async () => {
    await closePanel();
    await command(page, 'Segment Lens: Select Data Source');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Bundled sample' }).first().click();
    await panel(page).locator('#status', { hasText: 'Bundled sample data' }).waitFor({ timeout: 90_000 });
  });
});
