// What the browser suites (ui, vsix, untrusted) share: Debian's Chromium, headless, opening the workbench that
// test/e2e/run.mjs started, and driving it as a user would: Quick Open, the command palette, CodeLens, editor tabs,
// and the Segment Lens panel's webview.
import type { Browser, FrameLocator, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

/**
 * Opens the workbench at the URL run.mjs gives, in a new headless Chromium. Returns as soon as the page is there, so
 * that a suite whose start then fails still has a page to take a picture of and a browser to close.
 */
export async function openWorkbench(viewport: {
  width: number;
  height: number;
}): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    // Without the background-networking flags Chromium keeps dialling hosts this machine cannot reach.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await (await browser.newContext({ viewport })).newPage();
    await page.goto(process.env.SEGMENT_LENS_URL!);
    return { browser, page };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/** Waits until the workbench is up and Segment Lens's contributions are registered. */
export async function waitForWorkbench(page: Page): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  // The command palette lists what is registered when it opens: wait for our contributions to be there.
  await page.locator('.activitybar [aria-label^="Segment Lens"]').first().waitFor({ timeout: 90_000 });
}

/** Waits until the Explorer lists the workspace's files. */
export async function waitForExplorer(page: Page): Promise<void> {
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 90_000 });
}

/** Opens a file of the workspace through Quick Open, as a user would. */
export async function quickOpen(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click();
  await page.locator('.tabs-container .tab', { hasText: name }).waitFor();
}

/**
 * Runs a command from the command palette by its title. The palette closes when something takes the focus while it
 * opens (a webview settling after a layout change): then it is opened again, up to three times.
 */
export async function command(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(`>${title}`, { timeout: 10_000 });
      await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click({ timeout: 10_000 });
      return;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

/** A CodeLens of the active editor, by its title. */
export function codeLens(page: Page, title: string | RegExp): Locator {
  return page.locator('.contentWidgets .codelens-decoration a', { hasText: title }).first();
}

/** Closes an editor by the close button on its tab, as a user would, and waits until the tab is gone. */
export async function closeEditor(page: Page, title: string): Promise<void> {
  const tab = page.locator('.tabs-container .tab', { hasText: title });
  await tab.hover();
  await tab.locator('.tab-actions .action-label').click();
  await tab.waitFor({ state: 'detached', timeout: 30_000 });
}

/** The Segment Lens panel's content: the visible webview, inside VS Code's frame around it. */
export function panel(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready:visible').frameLocator('iframe#active-frame');
}
