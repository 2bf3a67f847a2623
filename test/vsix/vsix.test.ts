// The packaged VSIX, installed into code-server with --install-extension: it holds only what it needs and works.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { screenshotFailures } from '../e2e/support/screenshots';
import { command, openWorkbench, panel, waitForExplorer, waitForWorkbench } from '../e2e/support/workbench';

const extensions = process.env.SEGMENT_LENS_EXTENSIONS!;
/** The package run.mjs built (npm run package) and installed. */
const vsix = path.resolve(__dirname, '..', '..', '..', 'segment-lens.vsix');
const MAX_VSIX_BYTES = 2 * 1024 * 1024;
let browser: Browser;
let page: Page;

describe('the VSIX', () => {
  screenshotFailures('vsix', () => page);

  after(async () => {
    await browser?.close();
  });

  it('installs only the built extension, its wasm (sql.js, MiniJinja), webview, icon and sample', () => {
    const [installed] = readdirSync(extensions).filter((name) => name.startsWith('segment-lens.segment-lens-'));
    assert.ok(installed, 'the extension is installed');
    const files = readdirSync(path.join(extensions, installed), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(path.join(extensions, installed), path.join(entry.parentPath, entry.name)))
      .filter((file) => !file.startsWith('.vsixmanifest') && file !== '.vsixmanifest')
      .sort();
    assert.deepEqual(files, [
      // vsce stores the licence and the readme under these names.
      'LICENSE.txt',
      'dist/extension.js',
      'dist/minijinja/minijinja_js.js',
      'dist/minijinja/minijinja_js_bg.wasm',
      'dist/outline.js',
      'dist/sql-wasm.wasm',
      'dist/webview/main.css',
      'dist/webview/main.js',
      'dist/worker.js',
      'media/segment-lens.svg',
      'package.json',
      'readme.md',
      'sample/models/customer_segments.sql',
      'sample/seeds/intermediate/int_customer_metrics.csv',
      'sample/seeds/staging/stg_customers.csv',
    ]);
  });

  it('is at most 2 MiB', () => {
    const { size } = statSync(vsix);
    console.log(`      segment-lens.vsix: ${size.toLocaleString('en')} bytes (${(size / 1024 / 1024).toFixed(2)} MiB)`);
    assert.ok(size <= MAX_VSIX_BYTES, `${size} bytes is more than ${MAX_VSIX_BYTES}`);
  });

  // The model renders with MiniJinja from the installed extension's own folder (dist/minijinja/).
  it('runs the model from the command palette', async () => {
    ({ browser, page } = await openWorkbench({ width: 1400, height: 900 }));
    await waitForWorkbench(page);
    await waitForExplorer(page);
    await command(page, 'Segment Lens: Run Segment Model');
    await panel(page).locator('table#grid').waitFor({ timeout: 90_000 });
    assert.match((await panel(page).locator('#status').textContent()) ?? '', /^CSV seeds · base 4,801 rows/);
    assert.ok((await panel(page).locator('td.cell').count()) >= 20);
  });
});
