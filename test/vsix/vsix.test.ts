// The packaged VSIX, installed into code-server with --install-extension: it holds only what it needs and works.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { openWorkbench } from '../ui/browser';

const extensions = process.env.SEGMENT_LENS_EXTENSIONS!;
let browser: Browser;
let page: Page;

describe('the VSIX', () => {
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await page.screenshot({ path: path.join(process.env.SEGMENT_LENS_SHOTS!, 'failed-vsix.png') });
  });

  after(async () => {
    await browser?.close();
  });

  it('installs only the built extension, its wasm, webview, icon and sample', () => {
    const [installed] = readdirSync(extensions).filter((name) => name.startsWith('segment-lens.segment-lens-'));
    assert.ok(installed, 'the extension is installed');
    const files = (readdirSync(path.join(extensions, installed), { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(path.join(extensions, installed), path.join(entry.parentPath, entry.name)))
      .filter((file) => !file.startsWith('.vsixmanifest') && file !== '.vsixmanifest')
      .sort();
    assert.deepEqual(files, [
      // vsce stores the licence and the readme under these names.
      'LICENSE.txt', 'dist/extension.js', 'dist/outline.js', 'dist/sql-wasm.wasm', 'dist/webview/main.css', 'dist/webview/main.js', 'dist/worker.js',
      'media/segment-lens.svg', 'package.json', 'readme.md', 'sample/models/customer_segments.sql', 'sample/seeds/intermediate/int_customer_metrics.csv', 'sample/seeds/staging/stg_customers.csv',
    ]);
  });

  it('runs the model from the command palette', async () => {
    ({ browser, page } = await openWorkbench(process.env.SEGMENT_LENS_URL!, { width: 1400, height: 900 }));
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 90_000 });
    // The command palette lists what is registered when it opens: wait for our contributions to be there.
    await page.locator('.activitybar [aria-label^="Segment Lens"]').first().waitFor({ timeout: 90_000 });
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill('>Segment Lens: Run Segment Model');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Segment Lens: Run Segment Model' }).first().click();
    const panel = page.frameLocator('iframe.webview.ready:visible').frameLocator('iframe#active-frame');
    await panel.locator('table#grid').waitFor({ timeout: 90_000 });
    assert.match(await panel.locator('#status').textContent() ?? '', /^CSV seeds · base 4,801 rows/);
    assert.ok(await panel.locator('td.cell').count() >= 20);
  });
});
