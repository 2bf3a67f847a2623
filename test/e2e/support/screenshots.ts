// Screenshots of the workbench, into the folder run.mjs names (test-results/screenshots unless told otherwise):
// the ones a suite takes on purpose, and one of every failed test.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';

/** Saves what the page shows as `<name>.png`. */
export async function shot(page: Page, name: string): Promise<void> {
  const folder = process.env.SEGMENT_LENS_SHOTS!;
  mkdirSync(folder, { recursive: true });
  await page.screenshot({ path: path.join(folder, `${name.replace(/[^\w.-]+/g, '-')}.png`) });
}

/**
 * In the describe block it is called from, saves a screenshot of each failed test as `failed-<suite>-<title>.png`.
 * A failed `before` (the workbench did not open, say) leaves the tests unrun and skips `afterEach`: the suite's end
 * then saves `failed-<suite>-start.png`. Call it before registering the `after` hook that closes the browser.
 * `page` is undefined until the suite has opened one.
 */
export function screenshotFailures(suite: string, page: () => Page | undefined): void {
  const save = async (name: string) => {
    const current = page();
    // A screenshot that cannot be taken must not hide the failure it was for.
    if (current && !current.isClosed())
      await shot(current, name).catch((error: unknown) => console.error(`no screenshot ${name}: ${error}`));
  };
  let ran = 0;
  afterEach(async function () {
    ran++;
    if (this.currentTest?.state === 'failed') await save(`failed-${suite}-${this.currentTest.title}`);
  });
  after(async function () {
    if (ran === 0 && this.test?.parent?.tests.length) await save(`failed-${suite}-start`);
  });
}
