// Opens the workbench with extensionTestsPath set: VS Code runs test/exthost inside its extension host and reports
// the end through window.codeAutomationExit (code-server honours it with enable-smoke-test-driver).
import path from 'node:path';
import { format } from 'node:util';
import { chromium } from 'playwright-core';
const started = Date.now();
const log = (...args) => console.log(`[exthost ${((Date.now() - started) / 1000).toFixed(1)}s]`, ...args);

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
const finish = async (code) => {
  await browser.close().catch(() => {});
  process.exit(code);
};
const timer = setTimeout(async () => {
  log('the suite did not finish within 10 minutes');
  await page
    .screenshot({ path: path.join(process.env.SEGMENT_LENS_SHOTS ?? '.', 'exthost-timeout.png') })
    .catch(() => {});
  await finish(1);
}, 600_000);
// The workbench logs its own chatter (gallery lookups that this offline machine refuses, sockets, caches) here too.
const NOISE =
  /ENOTFOUND|^\s+at |socket|connection token|grace time|builtin extensions cache|Service Worker|AgentHost|AccountPolicyGate|authentication provider/;
/**
 * What the suite asks the browser to do that only a user can (it prints `segment-lens-driver: {json}`): type into
 * the input box once it shows the expected text and press Enter, or pick an item of a quick pick.
 */
const DRIVER_REQUEST = /segment-lens-driver: (\{.*\})/;
let driverQueue = Promise.resolve();
async function serve(request) {
  if (request.type === 'input') {
    const widget = page.locator('.quick-input-widget');
    await widget.waitFor({ state: 'visible', timeout: 60_000 });
    const shown = await widget.innerText();
    if (!shown.includes(request.expect)) {
      log(`the input box does not say ${JSON.stringify(request.expect)}: ${JSON.stringify(shown)}; dismissing it`);
      await page.keyboard.press('Escape');
      return;
    }
    await page.locator('.quick-input-widget input').fill(request.text);
    await page.keyboard.press('Enter');
  } else if (request.type === 'pick') {
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: request.text })
      .first()
      .click({ timeout: 60_000 });
  }
}
await page.exposeFunction('codeAutomationLog', (type, args) => {
  const text = format(...args);
  const request = DRIVER_REQUEST.exec(text);
  if (request) {
    // In order, one at a time: a pick after the input that brings it. Not echoed (it holds the text).
    driverQueue = driverQueue
      .then(() => serve(JSON.parse(request[1])))
      .catch((error) => log('driver request failed:', error.message));
    return;
  }
  const lines = text.split('\n').filter((line) => !NOISE.test(line));
  if (lines.length && !NOISE.test(text.split('\n')[0])) console.log(lines.join('\n'));
});
await page.exposeFunction('codeAutomationExit', async (code) => {
  clearTimeout(timer);
  log('suite finished with exit code', code);
  await finish(code);
});
page.on('pageerror', (error) => log('page error:', error.message));
await page.goto(process.env.SEGMENT_LENS_URL);
