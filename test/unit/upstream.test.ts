// Upstream models built in sql.js: every jaffle_shop model runs over its CSV seeds (the models it ref()s are built
// first, in dependency order), and its rows equal an independent build in native SQLite (better-sqlite3) of the
// committed expected SQL over the same CSVs.
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { DataCache, ModelSession, runModel, type ModelResult } from '../../src/engine/index';
import type { RawSettings } from '../../src/engine/settings';
import { assets, repoRoot, tempWorkspace, write } from './helpers';

const fixture = path.join(repoRoot, 'test', 'fixtures', 'jaffle_shop');
const jaffleSeeds =
  process.env.SEGMENT_LENS_JAFFLE_SEEDS ?? path.resolve(repoRoot, '..', 'shared', 'dbt-projects', 'jaffle_shop_seeds');

/** Each model: its file, its relation in the independent build, how it is built there, and what it refs. */
const models = [
  { name: 'stg_customers', file: 'models/staging/stg_customers.sql', schema: 'staging', kind: 'view', refs: [] },
  { name: 'stg_orders', file: 'models/staging/stg_orders.sql', schema: 'staging', kind: 'view', refs: [] },
  { name: 'stg_payments', file: 'models/staging/stg_payments.sql', schema: 'finance', kind: 'view', refs: [] },
  {
    name: 'orders',
    file: 'models/orders.sql',
    schema: 'core',
    kind: 'table',
    refs: ['stg_payments', 'stg_orders'],
  },
  {
    name: 'customers',
    file: 'models/customers.sql',
    schema: 'main',
    kind: 'table',
    refs: ['stg_customers', 'stg_orders', 'stg_payments'],
  },
  {
    name: 'customer_segments',
    file: 'models/marts/customer_segments.sql',
    schema: 'marts',
    kind: 'table',
    refs: ['customers'],
  },
  {
    name: 'order_status_summary',
    file: 'models/marts/order_status_summary.sql',
    schema: 'marts',
    kind: 'table',
    refs: ['orders'],
  },
];

function workspace(): string {
  const dir = path.join(tempWorkspace(), 'jaffle_shop');
  cpSync(fixture, dir, { recursive: true, filter: (src) => path.basename(src) !== 'expected' });
  for (const seed of ['raw_customers.csv', 'raw_orders.csv', 'raw_payments.csv'])
    cpSync(path.join(jaffleSeeds, seed), path.join(dir, 'seeds', seed));
  return dir;
}

/** The seeds and every model, built in native SQLite from the expected SQL (numeric affinity, as CSV is typed). */
function independentBuild(dir: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(':memory:');
  for (const schema of ['staging', 'finance', 'core', 'marts']) db.exec(`ATTACH ':memory:' AS ${schema}`);
  for (const file of readdirSync(path.join(dir, 'seeds')).filter((name) => name.endsWith('.csv'))) {
    const [header, ...rows] = parse(readFileSync(path.join(dir, 'seeds', file), 'utf8')) as string[][];
    const table = path.basename(file, '.csv');
    db.exec(`create table main."${table}" (${header.map((column) => `"${column}" numeric`).join(', ')})`);
    const insert = db.prepare(`insert into main."${table}" values (${header.map(() => '?').join(', ')})`);
    for (const row of rows) insert.run(row);
  }
  // Tables throughout: native SQLite refuses a view across attached databases as sql.js does.
  for (const model of models) {
    const sql = readFileSync(path.join(fixture, 'expected', `${model.name}.sql`), 'utf8');
    db.exec(`create table ${model.schema}."${model.name}" as ${sql}`);
  }
  return db;
}

/** Rows as sorted JSON lines; numbers to 6 decimals (SQLite's float sums may differ in the last bit). */
function rowSet(rows: unknown[][]): string[] {
  return rows
    .map((row) =>
      JSON.stringify(
        row.map((value) => (typeof value === 'number' ? Number(value.toFixed(6)) : value === null ? null : value)),
      ),
    )
    .sort();
}

function settings(model: string): RawSettings {
  return { model, connection: { type: 'csv', directory: 'seeds' } };
}

async function run(dir: string, model: string): Promise<ModelResult> {
  const outcome = await runModel({ workspaceDir: dir, settings: settings(model), env: {}, homeDir: dir }, assets);
  if (!outcome.ok) assert.fail(`expected a result, got error: ${JSON.stringify(outcome.error)}`);
  return outcome.result;
}

describe('upstream models are built in sql.js', function () {
  this.timeout(30_000);
  let dir: string;
  let native: BetterSqlite3.Database;
  before(() => {
    dir = workspace();
    native = independentBuild(dir);
  });
  after(() => native?.close());

  for (const model of models) {
    it(`${model.file} runs on the CSV seeds and equals native SQLite's build`, async () => {
      const result = await run(dir, model.file);
      const expected = native.prepare(`select * from ${model.schema}."${model.name}"`).raw();
      assert.deepEqual(
        result.columns,
        expected.columns().map((column) => column.name),
      );
      const rows = expected.all() as unknown[][];
      assert.ok(rows.length > 0, 'the independent build has rows');
      assert.deepEqual(rowSet(result.rows), rowSet(rows));
    });
  }

  it('customer_segments: the region × segment grid, and a re-run after editing only it rebuilds nothing', async () => {
    const cache = new DataCache();
    const request = { workspaceDir: dir, settings: settings(models[5].file), env: {}, homeDir: dir };
    try {
      const first = await ModelSession.open(request, assets, cache);
      const result = first.run();
      first.close();
      assert.deepEqual(result.columns, ['region', 'customer_segment', 'customer_count', 'avg_ltv', 'avg_orders']);
      const grid = native.prepare('select * from marts.customer_segments').raw().all() as unknown[][];
      assert.deepEqual(rowSet(result.rows), rowSet(grid));
      assert.deepEqual(result.upstream.built.sort(), [
        'finance.stg_payments',
        'main.customers',
        'staging.stg_customers',
        'staging.stg_orders',
      ]);
      const builds = first.data.buildCount;
      assert.equal(builds, 4);

      // Edit only the explored model: the data and every upstream relation are kept.
      const file = path.join(dir, models[5].file);
      const original = readFileSync(file, 'utf8');
      writeFileSync(file, original.replace('>= 50', '>= 40'));
      try {
        const second = await ModelSession.open(request, assets, cache);
        const again = second.run();
        second.close();
        assert.equal(again.timings.dataReused, true);
        assert.deepEqual(again.upstream.built, []);
        assert.equal(again.upstream.kept.length, 4);
        assert.equal(second.data.buildCount, builds);
        const regrid = native
          .prepare(
            readFileSync(path.join(fixture, 'expected', 'customer_segments.sql'), 'utf8').replace('>= 50', '>= 40'),
          )
          .raw()
          .all() as unknown[][];
        assert.deepEqual(rowSet(again.rows), rowSet(regrid));

        // Editing an upstream model rebuilds it and what stands on it (customers is a table), nothing else.
        const staging = path.join(dir, 'models/staging/stg_customers.sql');
        const stagingText = readFileSync(staging, 'utf8');
        writeFileSync(staging, stagingText.replace('last_name', 'last_name, 1 as edited'));
        try {
          const third = await ModelSession.open(request, assets, cache);
          const rebuilt = third.run();
          third.close();
          assert.deepEqual(rebuilt.upstream.built, ['staging.stg_customers', 'main.customers']);
        } finally {
          writeFileSync(staging, stagingText);
        }
      } finally {
        writeFileSync(file, original);
      }
    } finally {
      cache.clear();
    }
  });

  it('a cycle between two models is an error naming both', async () => {
    const cyclic = workspace();
    write(cyclic, 'models/a_model.sql', "select * from {{ ref('b_model') }}");
    write(cyclic, 'models/b_model.sql', "select * from {{ ref('a_model') }}");
    write(cyclic, 'models/c_model.sql', "select * from {{ ref('a_model') }}");
    for (const model of ['models/a_model.sql', 'models/c_model.sql']) {
      const outcome = await runModel(
        { workspaceDir: cyclic, settings: settings(model), env: {}, homeDir: cyclic },
        assets,
      );
      assert.equal(outcome.ok, false);
      if (outcome.ok) return;
      assert.match(outcome.error.message, /a_model/);
      assert.match(outcome.error.message, /b_model/);
      assert.match(outcome.error.message, /cycle/);
    }
  });
});
