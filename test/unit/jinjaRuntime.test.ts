// The sandbox (src/engine/model/jinjaRuntime.ts, through the renderer): a hostile template in a model, a project
// macro, a package macro or profiles.yml reaches no JavaScript object, writes no file, and ends with a clear error
// within a second; runs after it work. Every payload here writes a marker file if it ever runs code.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { renderModel } from '../../src/engine/model/jinja';
import { runModel } from '../../src/engine/index';
import { capMemory } from '../../src/engine/model/jinjaRuntime';
import { assets, hashTree, jinja, sampleModel, tempWorkspace, write } from './helpers';

const target = { name: 'dev', schema: 'main', type: 'sqlite' };
const scratch = tempWorkspace();
const marker = path.join(scratch, 'MARKER');
const js = (code: string) => code.replaceAll('MARK', marker.replaceAll('\\', '\\\\'));

/** Payloads that would run code or reach the host if a template could touch JavaScript objects or Python's. */
const escapes = [
  `{{ range.constructor("return global.process.mainModule.require('fs').writeFileSync('MARK','x')")() }}`,
  `{{ ref.constructor("return process")().mainModule.require('fs').writeFileSync('MARK', 'x') }}`,
  `{{ ref('x').__proto__.constructor.constructor("return process")() }}`,
  `{{ ref('x').render.constructor("require('fs').writeFileSync('MARK','x')")() }}`,
  `{{ config.constructor.constructor("return this")().process.exit(1) }}`,
  `{{ exceptions.raise_compiler_error.constructor("require('fs').writeFileSync('MARK','x')")() }}`,
  `{{ adapter.__proto__.__defineGetter__ }}`,
  `{{ {}.constructor.assign }}`,
  `{{ [].constructor.from }}`,
  `{{ ''.__class__.__mro__[1].__subclasses__() }}`,
  `{{ cycler.__init__.__globals__.os.popen('touch MARK').read() }}`,
  `{{ lipsum.__globals__['os'].popen('touch MARK') }}`,
  `{{ self.__init__.__globals__ }}`,
  `{{ namespace.__init__.__globals__ }}`,
  `{{ globalThis }}`,
  `{{ process.mainModule }}`,
  `{{ require('fs').writeFileSync('MARK', 'x') }}`,
  `{{ modules.os.system('touch MARK') }}`,
  `{{ run_query.call(none, "select 1") }}`,
  `{{ __lens_get.constructor("return process")() }}`,
].map(js);

/** Payloads that would take unbounded time or memory. */
const bombs = [
  `{% for i in range(100000000) %}{% endfor %}`,
  `{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}`,
  `{{ 'a' * 1000000000 }}`,
  `{% set s = 'a' * 10000000 %}{% set t = s * 100 %}{{ t|length }}`,
  `{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}`,
  `{{ ${'('.repeat(5000)}1${')'.repeat(5000)} }}`,
  `{{ ${'['.repeat(5000)}${']'.repeat(5000)} }}`,
  `{% set x = {} %}{% for i in range(1000000) %}{% set x = {'a': x} %}{% endfor %}{{ x }}`,
];

/** Renders and measures; the outcome is an error value or the SQL. */
function attempt(template: string): { ms: number; error?: string; sql?: string } {
  const started = performance.now();
  try {
    const { sql } = renderModel(`select 1 as region\n-- ${template}\n`, 'hostile.sql', { jinja, target, env: {} });
    return { ms: performance.now() - started, sql };
  } catch (error) {
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'LensError', `a LensError, not ${error.name}: ${error.message}`);
    return { ms: performance.now() - started, error: error.message };
  }
}

function stillWorks(): void {
  const { sql } = renderModel("select {{ 1 + 1 }} as n from {{ ref('t') }}", 'ok.sql', { jinja, target, env: {} });
  assert.equal(sql, 'select 2 as n from main.t');
}

describe('jinja sandbox: hostile templates', () => {
  afterEach(() => assert.equal(existsSync(marker), false, 'no marker file was written'));

  for (const payload of escapes) {
    it(`reaches nothing: ${payload.slice(0, 70)}`, () => {
      const outcome = attempt(payload);
      // Either an error (most: undefined attributes) or harmless text; never the host's objects.
      if (outcome.sql !== undefined) assert.doesNotMatch(outcome.sql, /function|process|native code|\[object/i);
      assert.ok(outcome.ms < 1000, `${outcome.ms} ms`);
      stillWorks();
    });
  }

  for (const payload of bombs) {
    it(`is stopped within a second: ${payload.slice(0, 70)}`, () => {
      const outcome = attempt(payload);
      assert.ok(outcome.error, 'the render was stopped with an error');
      assert.match(outcome.error!, /hostile\.sql/);
      assert.match(outcome.error!, /steps|memory|nest|recursion|too many elements/);
      assert.ok(outcome.ms < 1000, `${outcome.ms} ms`);
      stillWorks();
    });
  }

  it('the WebAssembly memory has a maximum (the build declares none)', () => {
    // A minimal module: magic, version, and a memory section with one memory of 1 page, no maximum.
    const module = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0, 1]);
    const capped = capMemory(module, 4096);
    // Section 5, 5 bytes: one memory, flags 1 (a maximum follows), 1 page initially, at most 4096 (LEB128 80 20).
    assert.deepEqual([...capped.subarray(8)], [5, 5, 1, 1, 1, 0x80, 0x20]);
    const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
    assert.equal(wasm.validate(capped), true);
  });
});

describe('jinja sandbox: hostile macros, packages and profiles in a whole run', () => {
  /** A dbt project whose model calls `hostile()` from wherever the test puts it. */
  function project(files: Record<string, string>): string {
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: shop\nprofile: shop\n');
    write(dir, 'models/customer_segments.sql', sampleModel);
    for (const [file, text] of Object.entries(files)) write(dir, file, text);
    return dir;
  }
  const run = (dir: string, connection: unknown = { type: 'sample' }) =>
    runModel(
      { workspaceDir: dir, settings: { model: 'models/customer_segments.sql', connection }, env: {}, homeDir: dir },
      assets,
    );

  const cases: [where: string, files: (payload: string) => Record<string, string>, connection?: unknown][] = [
    ['a project macro', (payload) => ({ 'macros/hostile.sql': `{% macro hostile() %}${payload}{% endmacro %}` })],
    [
      'a package macro',
      (payload) => ({
        'dbt_packages/evil/dbt_project.yml': 'name: evil\n',
        'dbt_packages/evil/macros/hostile.sql': `{% macro hostile() %}${payload}{% endmacro %}`,
      }),
    ],
  ];
  for (const [where, files] of cases) {
    for (const payload of [escapes[0], escapes[10], bombs[1], bombs[2], bombs[4]]) {
      it(`${where}: ${payload.slice(0, 60)}`, async () => {
        const dir = project(files(payload));
        const call = where === 'a package macro' ? 'evil.hostile()' : 'hostile()';
        write(dir, 'models/customer_segments.sql', `-- {{ ${call} }}\n${sampleModel}`);
        const before = hashTree(dir);
        const started = performance.now();
        const outcome = await run(dir);
        assert.ok(performance.now() - started < 3000);
        assert.equal(outcome.ok, false, 'the run stops with an error');
        if (!outcome.ok) assert.match(outcome.error.message, /customer_segments\.sql|hostile|evil/);
        assert.deepEqual(hashTree(dir), before, 'nothing in the workspace changed');
        assert.equal(existsSync(marker), false);
        const clean = await runModel({ workspaceDir: tempWorkspace(), settings: {} }, assets);
        assert.ok(clean.ok, 'the next run works');
      });
    }
  }

  it('profiles.yml: a value that tries to run code is an error naming profiles.yml', async () => {
    const dir = project({
      'profiles.yml': `shop:\n  target: dev\n  outputs:\n    dev:\n      type: sqlite\n      schema: "${escapes[0].replaceAll('"', '\\"')}"\n      schemas_and_paths:\n        main: data/main.db\n`,
    });
    const outcome = await run(dir, { type: 'dbt' });
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.match(outcome.error.message, /profiles\.yml/);
    assert.equal(existsSync(marker), false);
  });

  it('dbt_project.yml: a YAML alias bomb is an error within a second', async () => {
    const lines = ['name: shop', 'a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let level = 1; level < 10; level++) {
      const previous = String.fromCharCode(96 + level);
      const name = String.fromCharCode(97 + level);
      lines.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(',')}]`);
    }
    const dir = project({ 'dbt_project.yml': `${lines.join('\n')}\n` });
    const started = performance.now();
    const outcome = await run(dir);
    assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.match(outcome.error.message, /dbt_project\.yml/);
  });
});
