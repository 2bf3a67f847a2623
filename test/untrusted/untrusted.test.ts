// A workspace the user does not trust: Segment Lens runs nothing by itself and says why; a run by hand still works.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { screenshotFailures } from '../e2e/support/screenshots';
import { codeLens, openWorkbench, panel, quickOpen, waitForWorkbench } from '../e2e/support/workbench';

let browser: Browser;
let page: Page;

describe('an untrusted workspace', () => {
  before(async () => {
    ({ browser, page } = await openWorkbench({ width: 1400, height: 900 }));
    await waitForWorkbench(page);
    // A folder that was never trusted opens in Restricted Mode.
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 90_000 });
  });

  screenshotFailures('untrusted', () => page);

  after(async () => {
    await browser?.close();
  });

  it('saving the model runs nothing, and says why', async () => {
    await quickOpen(page, 'customer_segments.sql');
    await codeLens(page, 'Run Segment Model').waitFor({ timeout: 60_000 });
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n');
    // The notification centre lists the message whether or not a toast shows (Restricted Mode keeps toasts quiet).
    await page.locator('[id="status.notifications"]').click();
    await page.locator('.notifications-center').waitFor();
    await page.keyboard.press('Control+S');
    await page
      .locator('.notifications-center', { hasText: 'does not run models by itself in an untrusted workspace' })
      .waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('iframe.webview').count(), 0, 'no panel was opened, nothing ran');
  });

  it('a run by hand still works', async () => {
    await codeLens(page, 'Run Segment Model').click();
    await panel(page).locator('table#grid').waitFor({ timeout: 90_000 });
    assert.ok((await panel(page).locator('td.cell').count()) >= 20);
  });
});
