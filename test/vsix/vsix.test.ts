// The packaged VSIX, installed into code-server with --install-extension: it holds only what it needs and works.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { screenshotFailures } from '../e2e/support/screenshots';
import { command, openWorkbench, panel, waitForExplorer, waitForWorkbench } from '../e2e/support/workbench';

const extensions = process.env.SEGMENT_LENS_EXTENSIONS!;
let browser: Browser;
let page: Page;

describe('the VSIX', () => {
  screenshotFailures('vsix', () => page);

  after(async () => {
    await browser?.close();
  });

  it('installs only the built extension, its wasm, webview, icon and sample', () => {
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
