// A workspace VS Code does not trust is untrusted input: every file and folder it names is resolved with its links
// (realpath) and refused unless it is inside the workspace folder; only regular files of a bounded size are read; its
// templates see no environment. Real files, real links, real FIFOs in temp workspaces, run through the engine's
// front door (and the CLI for .vscode/settings.json).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { runModel, type RunResult } from '../../src/engine/index';
import type { LensErrorValue } from '../../src/engine/errors';
import type { RawSettings } from '../../src/engine/settings';
import {
  assets,
  cliPath,
  customerColumns,
  expectedSegments,
  hashTree,
  makeShop,
  metricColumns,
  seedModel,
  tempWorkspace,
  write,
  writeShopSeeds,
  writeShopSqlite,
  writeSqlite,
} from './helpers';

const shop = makeShop(120, 5);
/** What lies outside: another shop, so that a run that read it would give other numbers. */
const otherShop = makeShop(60, 11);
const model = seedModel('int_customer_metrics', 'stg_customers');
const SEGMENTS = 'models/segments.sql';

/** A workspace with the seed model and the shop as CSV seeds and as a SQLite file. */
function workspace(): string {
  const dir = tempWorkspace();
  write(dir, SEGMENTS, model);
  writeShopSeeds(path.join(dir, 'seeds'), shop);
  writeShopSqlite(path.join(dir, 'warehouse.db'), shop);
  return dir;
}

/** A folder outside the workspace holding what a link may lead to. */
function outside(): string {
  return tempWorkspace();
}

function link(target: string, dir: string, relative: string): string {
  const file = path.join(dir, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  symlinkSync(target, file);
  return file;
}

function run(
  dir: string,
  settings: RawSettings,
  trusted: boolean,
  env: Record<string, string> = {},
): Promise<RunResult> {
  return runModel({ workspaceDir: dir, settings, env, homeDir: dir, trusted }, assets);
}

/** Runs untrusted, expects a refusal within a second, and proves nothing in the workspace changed. */
async function refused(dir: string, settings: RawSettings, code = 'outside-workspace'): Promise<LensErrorValue> {
  const before = hashTree(dir);
  const started = performance.now();
  const outcome = await run(dir, settings, false, { SECRET: 'from the host' });
  assert.ok(performance.now() - started < 1000, `refused within a second (${performance.now() - started} ms)`);
  assert.deepEqual(hashTree(dir), before, "the user's files are unchanged");
  if (outcome.ok) return assert.fail(`expected ${code}, got a result`);
  assert.equal(outcome.error.code, code, outcome.error.message);
  assert.ok(outcome.error.hint, `says what to do: ${outcome.error.message}`);
  if (code === 'outside-workspace') assert.match(outcome.error.message, /not trusted/);
  return outcome.error;
}

async function succeeded(dir: string, settings: RawSettings, trusted = true) {
  const outcome = await run(dir, settings, trusted);
  if (!outcome.ok) return assert.fail(`expected a result: ${outcome.error.message}`);
  return outcome.result;
}

function segmentsOf(rows: unknown[][]) {
  return rows.map(([region, segment, count]) => [region, segment, count]);
}

function expectedRows(of = shop) {
  return expectedSegments(of).map((row) => [row.region, row.customer_segment, row.customer_count]);
}

const csv = (directory = 'seeds'): RawSettings => ({ model: SEGMENTS, connection: { type: 'csv', directory } });
const sqlite = (file = 'warehouse.db', attach: Record<string, string> = {}): RawSettings => ({
  model: SEGMENTS,
  connection: { type: 'sqlite', path: file, attach },
});

/** A message names a file by its path: escaped for a RegExp. */
function named(file: string): RegExp {
  return new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

describe('untrusted workspace: links that lead outside are refused, trusted they are followed', () => {
  it('the model file', async () => {
    const dir = workspace();
    const elsewhere = outside();
    write(elsewhere, 'leak.sql', "SELECT 'outside' AS leaked");
    const file = path.join(dir, 'models/leak.sql');
    symlinkSync(path.join(elsewhere, 'leak.sql'), file);
    const error = await refused(dir, { ...sqlite(), model: 'models/leak.sql' });
    assert.equal(error.setting, 'segmentLens.model');
    assert.match(error.message, named(file));
    assert.match(error.message, named(path.join(elsewhere, 'leak.sql')));
    const result = await succeeded(dir, { ...sqlite(), model: 'models/leak.sql' });
    assert.deepEqual(result.rows, [['outside']]);
  });

  it('the CSV folder', async () => {
    const dir = workspace();
    const elsewhere = outside();
    writeShopSeeds(path.join(elsewhere, 'seeds'), otherShop);
    link(path.join(elsewhere, 'seeds'), dir, 'data');
    const error = await refused(dir, csv('data'));
    assert.equal(error.setting, 'segmentLens.connection.directory');
    assert.match(error.message, named(path.join(dir, 'data')));
    assert.deepEqual(segmentsOf((await succeeded(dir, csv('data'))).rows), expectedRows(otherShop));
  });

  it('one CSV file of the folder', async () => {
    const dir = workspace();
    const elsewhere = outside();
    const files = writeShopSeeds(path.join(elsewhere, 'seeds'), otherShop);
    const customers = path.join(dir, 'seeds/stg_customers.csv');
    rmSync(customers);
    symlinkSync(files.customers, customers);
    const error = await refused(dir, csv());
    assert.match(error.message, named(customers));
    assert.match(error.message, named(files.customers));
    // Trusted, the link is read: the other shop's customers with this shop's metrics.
    const result = await succeeded(dir, csv());
    assert.deepEqual(segmentsOf(result.rows), expectedRows({ customers: otherShop.customers, metrics: shop.metrics }));
  });

  it('a schema folder of the CSV folder', async () => {
    const dir = workspace();
    const elsewhere = outside();
    writeShopSeeds(path.join(elsewhere, 'staging'), otherShop);
    link(path.join(elsewhere, 'staging'), dir, 'seeds/staging');
    const error = await refused(dir, csv());
    assert.match(error.message, named(path.join(dir, 'seeds/staging')));
    const result = await succeeded(dir, csv());
    assert.ok(result.source.schemas.staging, 'trusted, the linked folder is a schema');
  });

  it('the SQLite file', async () => {
    const dir = workspace();
    const elsewhere = outside();
    writeShopSqlite(path.join(elsewhere, 'other.db'), otherShop);
    link(path.join(elsewhere, 'other.db'), dir, 'data/other.db');
    const error = await refused(dir, sqlite('data/other.db'));
    assert.equal(error.setting, 'segmentLens.connection.path');
    assert.match(error.message, named(path.join(dir, 'data/other.db')));
    assert.deepEqual(segmentsOf((await succeeded(dir, sqlite('data/other.db'))).rows), expectedRows(otherShop));
  });

  it('an attached SQLite file', async () => {
    const dir = workspace();
    const elsewhere = outside();
    writeSqlite(path.join(elsewhere, 'staging.db'), {
      stg_customers: { columns: customerColumns, rows: otherShop.customers },
    });
    writeSqlite(path.join(dir, 'metrics.db'), { int_customer_metrics: { columns: metricColumns, rows: shop.metrics } });
    link(path.join(elsewhere, 'staging.db'), dir, 'staging.db');
    write(dir, SEGMENTS, seedModel('int_customer_metrics', 'staging.stg_customers'));
    const settings = sqlite('metrics.db', { staging: 'staging.db' });
    const error = await refused(dir, settings);
    assert.equal(error.setting, 'segmentLens.connection.attach.staging');
    assert.match(error.message, named(path.join(dir, 'staging.db')));
    const result = await succeeded(dir, settings);
    assert.deepEqual(segmentsOf(result.rows), expectedRows({ customers: otherShop.customers, metrics: shop.metrics }));
  });
});

/** A dbt project in the workspace whose profile reads warehouse.db. */
function dbtWorkspace(): string {
  const dir = workspace();
  write(dir, 'dbt_project.yml', 'name: shop\nprofile: shop\n');
  write(dir, 'profiles.yml', profile('main: warehouse.db'));
  return dir;
}

function profile(...paths: string[]): string {
  return [
    'shop:',
    '  target: dev',
    '  outputs:',
    '    dev:',
    '      type: sqlite',
    '      schema: main',
    '      schemas_and_paths:',
    ...paths.map((entry) => `        ${entry}`),
    '',
  ].join('\n');
}

const dbt = (connection: Record<string, unknown> = {}): RawSettings => ({
  model: SEGMENTS,
  connection: { type: 'dbt', ...connection },
});

describe('untrusted workspace: dbt projects and profiles', () => {
  it('profiles.yml that links outside is refused before it is read', async () => {
    const dir = dbtWorkspace();
    const elsewhere = outside();
    // Were it read first, this would be a YAML error, not a refusal.
    write(elsewhere, 'profiles.yml', 'shop: [unclosed\n');
    rmSync(path.join(dir, 'profiles.yml'));
    symlinkSync(path.join(elsewhere, 'profiles.yml'), path.join(dir, 'profiles.yml'));
    const error = await refused(dir, dbt());
    assert.match(error.message, named(path.join(dir, 'profiles.yml')));
    // Trusted, it is read (and its YAML error shows it was).
    const trusted = await run(dir, dbt(), true);
    assert.ok(!trusted.ok);
    assert.equal(trusted.error.code, 'yaml');
    write(elsewhere, 'profiles.yml', profile('main: warehouse.db'));
    assert.deepEqual(segmentsOf((await succeeded(dir, dbt())).rows), expectedRows());
  });

  it('a profilesDir that links outside, and profiles.yml in ~/.dbt', async () => {
    const dir = workspace();
    write(dir, 'dbt_project.yml', 'name: shop\nprofile: shop\n');
    const elsewhere = outside();
    write(elsewhere, 'conf/profiles.yml', 'shop: [unclosed\n');
    link(path.join(elsewhere, 'conf'), dir, 'conf');
    const error = await refused(dir, dbt({ profilesDir: 'conf' }));
    assert.match(error.message, named(path.join(dir, 'conf')));
    // No profiles.yml in the workspace: the one in the home folder is outside.
    write(elsewhere, '.dbt/profiles.yml', 'shop: [unclosed\n');
    const before = hashTree(dir);
    const home = await runModel(
      { workspaceDir: dir, settings: dbt(), env: {}, homeDir: elsewhere, trusted: false },
      assets,
    );
    assert.deepEqual(hashTree(dir), before);
    assert.ok(!home.ok);
    assert.equal(home.error.code, 'outside-workspace');
    assert.match(home.error.message, named(path.join(elsewhere, '.dbt', 'profiles.yml')));
  });

  it('schema_directory, and a database in it, that link outside', async () => {
    const dir = dbtWorkspace();
    const elsewhere = outside();
    writeSqlite(path.join(elsewhere, 'schemas/staging.db'), {
      stg_customers: { columns: customerColumns, rows: otherShop.customers },
    });
    writeSqlite(path.join(dir, 'metrics.db'), { int_customer_metrics: { columns: metricColumns, rows: shop.metrics } });
    write(dir, SEGMENTS, seedModel('int_customer_metrics', 'staging.stg_customers'));
    write(
      dir,
      'profiles.yml',
      profile('main: metrics.db').replace('      schema: main', '      schema: main\n      schema_directory: schemas'),
    );
    link(path.join(elsewhere, 'schemas'), dir, 'schemas');
    const folder = await refused(dir, dbt());
    assert.match(folder.message, /schema_directory: schemas/);
    assert.match(folder.message, named(path.join(dir, 'profiles.yml')));
    const expected = expectedRows({ customers: otherShop.customers, metrics: shop.metrics });
    assert.deepEqual(segmentsOf((await succeeded(dir, dbt())).rows), expected);
    // A real folder, one database in it a link.
    rmSync(path.join(dir, 'schemas'));
    link(path.join(elsewhere, 'schemas/staging.db'), dir, 'schemas/staging.db');
    const file = await refused(dir, dbt());
    assert.match(file.message, named(path.join(dir, 'schemas/staging.db')));
    assert.deepEqual(segmentsOf((await succeeded(dir, dbt())).rows), expected);
    // schemas_and_paths: the same file named directly.
    rmSync(path.join(dir, 'schemas'), { recursive: true });
    link(path.join(elsewhere, 'schemas/staging.db'), dir, 'staging.db');
    write(dir, 'profiles.yml', profile('main: metrics.db', 'staging: staging.db'));
    const entry = await refused(dir, dbt());
    assert.match(entry.message, /schemas_and_paths: staging: staging\.db/);
    assert.deepEqual(segmentsOf((await succeeded(dir, dbt())).rows), expected);
  });

  it('a macro file that links outside', async () => {
    const dir = workspace();
    const elsewhere = outside();
    write(dir, 'dbt_project.yml', 'name: shop\n');
    write(elsewhere, 'leak.sql', "{% macro leak() %}'outside'{% endmacro %}");
    link(path.join(elsewhere, 'leak.sql'), dir, 'macros/leak.sql');
    write(dir, SEGMENTS, 'SELECT {{ leak() }} AS leaked');
    const error = await refused(dir, sqlite());
    assert.match(error.message, named(path.join(dir, 'macros/leak.sql')));
    assert.match(error.message, /macro-paths/);
    assert.deepEqual((await succeeded(dir, sqlite())).rows, [['outside']]);
  });

  it('a package folder that links outside (as dbt deps links a local package)', async () => {
    const dir = workspace();
    const elsewhere = outside();
    write(dir, 'dbt_project.yml', 'name: shop\n');
    write(elsewhere, 'pkg/dbt_project.yml', 'name: pkg\n');
    write(elsewhere, 'pkg/macros/leak.sql', "{% macro leak() %}'outside'{% endmacro %}");
    link(path.join(elsewhere, 'pkg'), dir, 'dbt_packages/pkg');
    write(dir, SEGMENTS, 'SELECT {{ pkg.leak() }} AS leaked');
    const error = await refused(dir, sqlite());
    assert.match(error.message, named(path.join(dir, 'dbt_packages/pkg')));
    assert.match(error.message, /packages-install-path/);
    assert.deepEqual((await succeeded(dir, sqlite())).rows, [['outside']]);
  });

  it('a properties file that links outside', async () => {
    const dir = workspace();
    const elsewhere = outside();
    write(dir, 'dbt_project.yml', 'name: shop\n');
    write(elsewhere, 'schema.yml', 'models: [unclosed\n');
    link(path.join(elsewhere, 'schema.yml'), dir, 'models/schema.yml');
    const error = await refused(dir, sqlite());
    assert.match(error.message, named(path.join(dir, 'models/schema.yml')));
    const trusted = await run(dir, sqlite(), true);
    assert.ok(!trusted.ok);
    assert.equal(trusted.error.code, 'yaml', 'trusted, the file is read');
  });

  it('dbt_project.yml that links outside', async () => {
    const dir = workspace();
    const elsewhere = outside();
    write(elsewhere, 'dbt_project.yml', 'name: [unclosed\n');
    link(path.join(elsewhere, 'dbt_project.yml'), dir, 'dbt_project.yml');
    const error = await refused(dir, sqlite());
    assert.match(error.message, named(path.join(dir, 'dbt_project.yml')));
    const trusted = await run(dir, sqlite(), true);
    assert.ok(!trusted.ok);
    assert.equal(trusted.error.code, 'yaml');
  });

  it('model-paths outside the workspace: refused untrusted (naming dbt_project.yml and the key), read trusted', async () => {
    const parent = outside();
    const dir = path.join(parent, 'workspace');
    write(dir, SEGMENTS, 'SELECT \'{{ var("where") }}\' AS v');
    writeShopSqlite(path.join(dir, 'warehouse.db'), shop);
    write(parent, 'out/schema.yml', 'models: [unclosed\n');
    write(dir, 'dbt_project.yml', 'name: shop\nvars:\n  where: inside\nmodel-paths: ["models", "../out"]\n');
    const error = await refused(dir, sqlite());
    assert.match(error.message, /dbt_project\.yml: model-paths: \.\.\/out is outside the workspace folder/);
    assert.equal(error.location?.file, path.join(dir, 'dbt_project.yml'));
    assert.equal(error.location?.line, 4);
    const trusted = await run(dir, sqlite(), true);
    assert.ok(!trusted.ok);
    assert.equal(trusted.error.code, 'yaml', 'trusted, ../out is read');
  });

  for (const key of ['model-paths', 'seed-paths', 'macro-paths', 'packages-install-path']) {
    it(`${key} that walks up to the root of the file system is refused at once`, async () => {
      const dir = workspace();
      const value = key === 'packages-install-path' ? '"../../../../../../../.."' : '["../../../../../../../.."]';
      write(dir, 'dbt_project.yml', `name: shop\n${key}: ${value}\n`);
      const error = await refused(dir, sqlite());
      assert.match(error.message, new RegExp(`dbt_project\\.yml: ${key}: (\\.\\./)+\\.\\. is outside the workspace`));
    });
  }

  it('a models folder that links outside names model-paths', async () => {
    const dir = workspace();
    const elsewhere = outside();
    write(dir, 'dbt_project.yml', 'name: shop\n');
    write(elsewhere, 'models/schema.yml', 'models: [unclosed\n');
    write(elsewhere, 'models/segments.sql', model);
    rmSync(path.join(dir, 'models'), { recursive: true });
    symlinkSync(path.join(elsewhere, 'models'), path.join(dir, 'models'));
    // The model itself is reached through the link: it is refused first.
    const error = await refused(dir, sqlite());
    assert.match(error.message, named(path.join(dir, SEGMENTS)));
    const viaKey = await refused(dir, { ...sqlite(), model: undefined });
    assert.match(viaKey.message, /model-paths: models \(the default\) leads to/);
  });

  it('a link that loops inside a models folder is listed once, trusted or not', async () => {
    const dir = workspace();
    write(dir, 'dbt_project.yml', 'name: shop\n');
    symlinkSync(path.join(dir, 'models'), path.join(dir, 'models/again'));
    const result = await succeeded(dir, sqlite(), false);
    assert.deepEqual(segmentsOf(result.rows), expectedRows());
    assert.deepEqual(segmentsOf((await succeeded(dir, sqlite())).rows), expectedRows());
  });
});

describe('only regular files are read, and of a bounded size', () => {
  it('a FIFO named like a CSV seed is refused before it is opened, trusted or not', async () => {
    const dir = workspace();
    const fifo = path.join(dir, 'seeds/pipe.csv');
    execFileSync('mkfifo', [fifo]);
    for (const trusted of [false, true]) {
      const started = performance.now();
      const outcome = await run(dir, csv(), trusted);
      assert.ok(performance.now() - started < 1000, 'at once');
      assert.ok(!outcome.ok);
      assert.equal(outcome.error.code, 'not-a-file');
      assert.match(outcome.error.message, named(`${fifo} is a FIFO`));
    }
  });

  it('a CSV seed that links to /dev/zero: outside untrusted, a device trusted', async () => {
    const dir = workspace();
    const file = path.join(dir, 'seeds/zero.csv');
    symlinkSync('/dev/zero', file);
    const untrusted = await refused(dir, csv());
    assert.match(untrusted.message, named(file));
    const started = performance.now();
    const trusted = await run(dir, csv(), true);
    assert.ok(performance.now() - started < 1000, 'at once');
    assert.ok(!trusted.ok);
    assert.equal(trusted.error.code, 'not-a-file');
    assert.match(trusted.error.message, named(`${file} is a device`));
  });

  it('a SQLite file that is a FIFO or a device', async () => {
    const dir = workspace();
    execFileSync('mkfifo', [path.join(dir, 'pipe.db')]);
    symlinkSync('/dev/zero', path.join(dir, 'zero.db'));
    assert.match((await refused(dir, sqlite('pipe.db'), 'not-a-file')).message, /pipe\.db is a FIFO/);
    const zero = await run(dir, sqlite('zero.db'), true);
    assert.ok(!zero.ok);
    assert.match(zero.error.message, /zero\.db is a device/);
  });

  it('dbt_project.yml and the model that link to /dev/zero are refused at once (no "Invalid string length")', async () => {
    const dir = workspace();
    symlinkSync('/dev/zero', path.join(dir, 'dbt_project.yml'));
    const untrusted = await refused(dir, sqlite());
    assert.match(untrusted.message, /dbt_project\.yml/);
    for (const settings of [sqlite(), { ...sqlite(), model: 'dbt_project.yml' }]) {
      const started = performance.now();
      const trusted = await run(dir, settings, true);
      assert.ok(performance.now() - started < 1000, 'at once');
      assert.ok(!trusted.ok);
      assert.equal(trusted.error.code, 'not-a-file');
      assert.match(trusted.error.message, /dbt_project\.yml is a device, not a regular file/);
    }
  });

  it('a model, a macro file or a YAML file larger than a text file can be is refused before it is read', async () => {
    const dir = workspace();
    truncateSync(write(dir, 'models/huge.sql', ''), 40 * 1024 ** 2);
    const model = await refused(dir, { ...sqlite(), model: 'models/huge.sql' }, 'too-large');
    assert.match(model.message, /huge\.sql is 40\.0 MiB, more than the 32\.0 MiB/);
    assert.equal(model.setting, 'segmentLens.model');
    rmSync(path.join(dir, 'models/huge.sql'));
    write(dir, 'dbt_project.yml', 'name: shop\n');
    truncateSync(write(dir, 'macros/huge.sql', ''), 40 * 1024 ** 2);
    assert.match((await refused(dir, sqlite(), 'too-large')).message, /macros\/huge\.sql is 40\.0 MiB/);
    rmSync(path.join(dir, 'macros/huge.sql'));
    truncateSync(write(dir, 'models/schema.yml', ''), 40 * 1024 ** 2);
    assert.match((await refused(dir, sqlite(), 'too-large')).message, /schema\.yml is 40\.0 MiB/);
  });

  it('the CLI: .vscode/settings.json that is a FIFO or links to /dev/zero is refused at once', () => {
    const dir = workspace();
    mkdirSync(path.join(dir, '.vscode'));
    const settings = path.join(dir, '.vscode/settings.json');
    for (const make of [() => symlinkSync('/dev/zero', settings), () => execFileSync('mkfifo', [settings])]) {
      rmSync(settings, { force: true });
      make();
      const started = performance.now();
      const result = spawnSync(process.execPath, [cliPath, 'run', '--workspace', dir], {
        encoding: 'utf8',
        env: { ...process.env, HOME: dir },
        timeout: 10_000,
      });
      assert.ok(performance.now() - started < 3000, 'at once');
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, /settings\.json is (a device|a FIFO \(named pipe\)), not a regular file/);
      assert.doesNotMatch(result.stderr, /Invalid string length/);
    }
  });
});

describe('untrusted workspace: templates see no environment', () => {
  const envModel = 'SELECT \'{{ env_var("SECRET", "fallback") }}\' AS v';

  it("env_var() gives its default untrusted, the host's value trusted", async () => {
    const dir = workspace();
    write(dir, SEGMENTS, envModel);
    const untrusted = await run(dir, sqlite(), false, { SECRET: 'from the host' });
    assert.ok(untrusted.ok);
    assert.deepEqual(untrusted.result.rows, [['fallback']]);
    const trusted = await run(dir, sqlite(), true, { SECRET: 'from the host' });
    assert.ok(trusted.ok);
    assert.deepEqual(trusted.result.rows, [['from the host']]);
  });

  it('env_var() without a default names the variable and says the workspace is not trusted', async () => {
    const dir = workspace();
    write(dir, SEGMENTS, 'SELECT \'{{ env_var("SECRET") }}\' AS v');
    const error = await refused(dir, sqlite(), 'jinja');
    assert.match(error.message, /SECRET/);
    assert.match(error.message, /not trusted/);
  });

  it('profiles.yml renders env_var() without the environment too', async () => {
    const dir = dbtWorkspace();
    write(dir, 'profiles.yml', profile("main: \"{{ env_var('DB', 'warehouse.db') }}\""));
    writeShopSqlite(path.join(dir, 'other.db'), otherShop);
    const untrusted = await run(dir, dbt(), false, { DB: 'other.db' });
    assert.ok(untrusted.ok);
    assert.deepEqual(segmentsOf(untrusted.result.rows), expectedRows());
    const trusted = await run(dir, dbt(), true, { DB: 'other.db' });
    assert.ok(trusted.ok);
    assert.deepEqual(segmentsOf(trusted.result.rows), expectedRows(otherShop));
  });
});
