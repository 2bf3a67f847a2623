// A workspace the user does not trust: Segment Lens runs nothing by itself and says why; a run by hand still works.
// Models in it that carry template attacks render for the CodeLens (in any workspace) and nothing in them runs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { screenshotFailures } from '../e2e/support/screenshots';
import { codeLens, openWorkbench, panel, quickOpen, waitForWorkbench } from '../e2e/support/workbench';

const workspace = process.env.SEGMENT_LENS_WORKSPACE!;
/** What an escaped template would write: one file in the run's temp folder (outside the workspace), one inside. */
const markers = [
  path.join(path.dirname(workspace), 'hostile-marker-outside'),
  path.join(workspace, 'hostile-marker-inside'),
];
/** JavaScript that writes both markers, for payloads that reach Function (as nunjucks let `range.constructor` do). */
const writeMarkers =
  "const p = global.process; const fs = p.getBuiltinModule ? p.getBuiltinModule('fs') : p.mainModule.require('fs'); " +
  markers.map((marker) => `fs.writeFileSync('${marker}', 'x');`).join(' ');
/** A shell command that writes both markers, for Python-style payloads (Jinja2's classic escapes). */
const touchMarkers = `touch ${markers.join(' ')}`;

/**
 * One file per attack: a render stops at its first error, so a second attack in the same file would never be
 * evaluated. A first line that only reads (`{{ lipsum.__globals__ }}`) is followed by the same chain taken as far as
 * writing the markers, which runs only if the first line renders.
 */
const attacks: { name: string; lines: string[] }[] = [
  {
    name: 'nunjucks_range_constructor',
    lines: [
      `{{ range.constructor("return global.process.mainModule.require('fs').writeFileSync('${markers[0]}','x')")() }}`,
    ],
  },
  { name: 'nunjucks_range_constructor_any_node', lines: [`{{ range.constructor("${writeMarkers}")() }}`] },
  {
    name: 'python_class_chain',
    lines: [
      "{{ ''.__class__ }}",
      `{{ ''.__class__.__mro__[1].__subclasses__()[0].__init__.__globals__['os'].popen('${touchMarkers}').read() }}`,
    ],
  },
  {
    name: 'cycler_globals',
    lines: [
      '{{ cycler.__init__.__globals__ }}',
      `{{ cycler.__init__.__globals__.os.popen('${touchMarkers}').read() }}`,
    ],
  },
  {
    name: 'self_dict',
    lines: [
      '{{ self.__dict__ }}',
      `{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('${touchMarkers}').read() }}`,
    ],
  },
  { name: 'range_proto_constructor', lines: [`{{ range.__proto__.constructor("${writeMarkers}")() }}`] },
  {
    name: 'lipsum_globals',
    lines: ['{{ lipsum.__globals__ }}', `{{ lipsum.__globals__['os'].popen('${touchMarkers}').read() }}`],
  },
  {
    name: 'namespace_constructor',
    lines: ['{{ namespace.constructor }}', `{{ namespace.constructor.constructor("${writeMarkers}")() }}`],
  },
  {
    name: 'ref_constructor',
    lines: ["{{ ref.constructor('return process')() }}", `{{ ref.constructor("${writeMarkers}")() }}`],
  },
  // dbt's context functions are JavaScript functions handed to the template.
  { name: 'config_constructor', lines: [`{{ config.constructor.constructor("${writeMarkers}")() }}`] },
  // Bombs: a huge range, loops that stay under the range limit (fuel), a huge string (the memory cap).
  { name: 'range_bomb', lines: ['{% for i in range(100000000) %}{% endfor %}'] },
  { name: 'loop_bomb', lines: ['{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}'] },
  { name: 'memory_bomb', lines: ["{{ 'x' * 1000000000 }}"] },
];

/** The hostile model: shaped like a segment model (GROUP BY, region, a CASE … END), so the CodeLens renders it. */
function hostileModel(name: string, lines: string[]): string {
  return [
    `-- hostile_${name}: Segment Lens renders this model for its CodeLens; nothing in it may run.`,
    'SELECT',
    '    region,',
    "    CASE WHEN total_spent >= 10000 THEN 'Platinum' ELSE 'Bronze' END AS customer_segment,",
    ...lines.map((line) => `    ${line}`),
    '    COUNT(*) AS customer_count',
    'FROM intermediate.int_customer_metrics',
    'GROUP BY region, customer_segment',
    '',
  ].join('\n');
}

const hostileDir = path.join(workspace, 'models', 'hostile');
const hostileFiles = attacks.map(({ name }) => path.join(hostileDir, `hostile_${name}.sql`));
/** A copy of the model, first opened after the attacks: its lenses cannot come from VS Code's cache of earlier ones. */
const freshModel = path.join(workspace, 'models', 'marts', 'segments_after_attacks.sql');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const hashes = new Map<string, string>();

function assertNoMarkers(): void {
  for (const marker of markers) assert.ok(!existsSync(marker), `a template wrote ${marker}`);
}

let browser: Browser;
let page: Page;

/** Opens a file through Quick Open and waits until its tab is the active one (its tab may be open already). */
async function openFile(name: string): Promise<void> {
  await quickOpen(page, name);
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor({ timeout: 30_000 });
}

describe('an untrusted workspace', () => {
  before(async () => {
    // The hostile models are in the workspace before the workbench opens, as in a repository just cloned.
    mkdirSync(hostileDir, { recursive: true });
    attacks.forEach(({ name, lines }, index) => {
      writeFileSync(hostileFiles[index], hostileModel(name, lines));
      hashes.set(hostileFiles[index], sha256(hostileFiles[index]));
    });
    writeFileSync(freshModel, readFileSync(path.join(workspace, 'models', 'marts', 'customer_segments.sql')));
    assertNoMarkers();
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

  it('models with template attacks render for the CodeLens, and nothing in them runs', async function () {
    // Thirteen files, each opened and rendered in turn, on a machine that may be busy.
    this.timeout(600_000);
    for (const [index, { name }] of attacks.entries()) {
      const file = path.basename(hostileFiles[index]);
      const started = Date.now();
      await openFile(file);
      // The editor shows this file (its first line names it), so a lens now is this file's: the provider, which
      // renders the model before it returns, has answered.
      await page
        .locator('.editor-instance .monaco-editor .view-lines', { hasText: `hostile_${name}:` })
        .waitFor({ timeout: 60_000 });
      await codeLens(page, 'Run Segment Model').waitFor({ timeout: 90_000 });
      console.log(`      ${file}: lens after ${Date.now() - started} ms`);
      assertNoMarkers();
    }
    for (const file of hostileFiles) assert.equal(sha256(file), hashes.get(file), `${file} is unchanged`);
  });

  it('running a hostile model by hand shows a Jinja error and runs nothing', async () => {
    const file = path.basename(hostileFiles[1]);
    await openFile(file);
    await page
      .locator('.editor-instance .monaco-editor .view-lines', { hasText: `hostile_${attacks[1].name}:` })
      .waitFor({ timeout: 60_000 });
    await codeLens(page, 'Run Segment Model').click();
    await panel(page).locator('#error', { hasText: 'range.constructor' }).waitFor({ timeout: 90_000 });
    // The title is the model's path in the workspace.
    assert.equal(
      await panel(page).locator('#title').textContent(),
      path.relative(workspace, hostileFiles[1]).split(path.sep).join('/'),
    );
    assertNoMarkers();
  });

  it('after a render hit the memory cap, the CodeLens still renders models', async () => {
    // The memory bomb trapped the WebAssembly in the extension host. A CTE lens on a file not shown before (so not
    // from VS Code's cache of earlier lenses) means the next render got a working instance.
    await openFile(path.basename(freshModel));
    await codeLens(page, 'Preview base').waitFor({ timeout: 60_000 });
  });

  it('a run by hand still works', async () => {
    await openFile('customer_segments.sql');
    await codeLens(page, 'Run Segment Model').click();
    await panel(page).locator('table#grid').waitFor({ timeout: 90_000 });
    assert.equal(await panel(page).locator('#title').textContent(), 'models/marts/customer_segments.sql');
    assert.ok((await panel(page).locator('td.cell').count()) >= 20);
    assertNoMarkers();
    for (const file of hostileFiles) assert.equal(sha256(file), hashes.get(file), `${file} is unchanged`);
  });
});
