// A workspace the user does not trust: Segment Lens runs nothing by itself and says why; a run by hand still works.
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { openWorkbench, quickOpen } from '../ui/browser';

let browser: Browser;
let page: Page;

describe('an untrusted workspace', () => {
  before(async () => {
    ({ browser, page } = await openWorkbench(process.env.SEGMENT_LENS_URL!, { width: 1400, height: 900 }));
    // A folder that was never trusted opens in Restricted Mode.
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 90_000 });
    await page.locator('.activitybar [aria-label^="Segment Lens"]').first().waitFor({ timeout: 90_000 });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await page.screenshot({ path: path.join(process.env.SEGMENT_LENS_SHOTS!, 'failed-untrusted.png') });
  });

  // Hooks do not get afterEach: keep a picture of a failed start too.
  after(async function () {
    if (this.test?.parent?.tests.some((test) => test.state !== 'passed')) await page?.screenshot({ path: path.join(process.env.SEGMENT_LENS_SHOTS!, 'failed-untrusted-start.png') }).catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
  });

  it('saving the model runs nothing, and says why', async () => {
    await quickOpen(page, 'customer_segments.sql');
    await page.locator('.contentWidgets .codelens-decoration a', { hasText: 'Run Segment Model' }).first().waitFor({ timeout: 60_000 });
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n');
    // The notification centre lists the message whether or not a toast shows (Restricted Mode keeps toasts quiet).
    await page.locator('[id="status.notifications"]').click();
    await page.locator('.notifications-center').waitFor();
    await page.keyboard.press('Control+S');
    await page.locator('.notifications-center', { hasText: 'does not run models by itself in an untrusted workspace' }).waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('iframe.webview').count(), 0, 'no panel was opened, nothing ran');
  });

  it('a run by hand still works', async () => {
    await page.locator('.contentWidgets .codelens-decoration a', { hasText: 'Run Segment Model' }).first().click();
    const panel = page.frameLocator('iframe.webview.ready:visible').frameLocator('iframe#active-frame');
    await panel.locator('table#grid').waitFor({ timeout: 90_000 });
    assert.ok(await panel.locator('td.cell').count() >= 20);
  });
});
