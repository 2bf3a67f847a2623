// Upstream models built in sql.js: every jaffle_shop model runs over its CSV seeds (the models it ref()s are built
// first, in dependency order), and its rows equal an independent build in native SQLite (better-sqlite3) of the
// committed expected SQL over the same CSVs.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { DataCache, ModelSession, runModel, type ModelResult } from '../../src/engine/index';
import type { RawSettings } from '../../src/engine/settings';
import { assets, hashTree, jaffleShopWorkspace, repoRoot, tempWorkspace, write } from './helpers';

const fixture = path.join(repoRoot, 'test', 'fixtures', 'jaffle_shop');

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

const workspace = jaffleShopWorkspace;

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

  it('segmentLens.upstream: auto uses what the data has, build builds from SQL anyway, data builds nothing', async () => {
    // A stale copy of stg_customers in the data (three rows), as a warehouse older than the code would hold.
    const stale = workspace();
    write(stale, 'seeds/staging/stg_customers.csv', 'customer_id,first_name,last_name\n1,A,B\n2,C,D\n3,E,F\n');
    const relationOf = async (upstream: string) => {
      const outcome = await runModel(
        { workspaceDir: stale, settings: { ...settings('models/customers.sql'), upstream }, env: {}, homeDir: stale },
        assets,
      );
      return outcome;
    };
    const auto = await relationOf('auto');
    assert.ok(auto.ok);
    assert.deepEqual(
      auto.result.upstream.relations.find((relation) => relation.name === 'staging.stg_customers'),
      {
        name: 'staging.stg_customers',
        model: path.join(stale, 'models/staging/stg_customers.sql'),
        from: 'data',
        rows: 3,
        ms: 0,
      },
    );
    const build = await relationOf('build');
    assert.ok(build.ok);
    const built = build.result.upstream.relations.find((relation) => relation.name === 'staging.stg_customers');
    assert.equal(built?.from, 'built');
    const raw = native.prepare('select count(*) as n from main.raw_customers').get() as { n: number };
    assert.equal(built?.rows, raw.n, 'built from raw_customers, not the stale copy');
    const data = await relationOf('data');
    assert.equal(data.ok, false, 'stg_orders is in neither the data nor built');
    if (!data.ok) assert.equal(data.error.code, 'missing-table');
    const bad = await relationOf('sometimes');
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.equal(bad.error.setting, 'segmentLens.upstream');
  });

  it('the run says, for each upstream relation, where it came from and how many rows it has', async () => {
    const result = await run(dir, 'models/customers.sql');
    const upstream = new Map(result.upstream.relations.map((relation) => [relation.name, relation]));
    for (const name of ['stg_customers', 'stg_orders', 'stg_payments']) {
      const model = models.find((candidate) => candidate.name === name)!;
      const relation = upstream.get(`${model.schema}.${name}`);
      assert.ok(relation, `${name} is listed`);
      assert.ok(relation.from === 'built' || relation.from === 'kept');
      const rows = native.prepare(`select count(*) as n from ${model.schema}."${name}"`).get() as { n: number };
      assert.equal(relation.rows, rows.n, name);
    }
  });

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

  /** A small dbt project: seeds a (id, name) and b (id, a_id), and the given models. */
  function smallProject(files: Record<string, string>): string {
    const small = tempWorkspace();
    write(small, 'dbt_project.yml', 'name: small\nprofile: small\nmodels:\n  small:\n    +materialized: view\n');
    write(small, 'seeds/a.csv', 'id,name\n1,one\n2,two\n3,three\n');
    write(small, 'seeds/b.csv', 'id,a_id\n10,1\n11,1\n12,3\n');
    for (const [file, text] of Object.entries(files)) write(small, file, text);
    return small;
  }

  it("a view over a seed keeps working when the layout rebuilds that seed for the model's join", async () => {
    const small = smallProject({
      'models/v_a.sql': "select id, upper(name) as loud from {{ ref('a') }}",
      'models/explore.sql': [
        'select a.id, v_a.loud, count(b.id) as orders',
        "from {{ ref('a') }} as a",
        "join {{ ref('v_a') }} as v_a on v_a.id = a.id",
        "left join {{ ref('b') }} as b on b.a_id = a.id",
        'group by a.id, v_a.loud',
      ].join('\n'),
    });
    const session = await ModelSession.open(
      { workspaceDir: small, settings: settings('models/explore.sql'), env: {}, homeDir: small },
      assets,
    );
    const result = session.run();
    // The layout made a.id the seed's INTEGER PRIMARY KEY (a copy renamed over it) after v_a was created over it.
    const laidOut = [...session.data.uniqueKeys];
    session.close();
    assert.ok(laidOut.includes('main.a.id'), laidOut.join(', '));
    assert.deepEqual(result.upstream.built, ['main.v_a']);
    assert.deepEqual(result.rows, [
      [1, 'ONE', 2],
      [2, 'TWO', 0],
      [3, 'THREE', 1],
    ]);
  });

  it('an ephemeral model (created as a view) and a table config in the file are built; a disabled ref is an error', async () => {
    const small = smallProject({
      'models/eph.sql': "{{ config(materialized='ephemeral') }} select id from {{ ref('a') }} where id > 1",
      'models/t.sql': "{{ config(materialized='table') }} select count(*) as n from {{ ref('eph') }}",
      'models/explore.sql': "select n from {{ ref('t') }}",
      'models/off.sql': '{{ config(enabled=false) }} select 1 as x',
      'models/uses_off.sql': "select x from {{ ref('off') }}",
    });
    const result = await run(small, 'models/explore.sql');
    assert.deepEqual(result.rows, [[2]]);
    assert.deepEqual(result.upstream.built, ['main.eph', 'main.t']);
    const outcome = await runModel(
      { workspaceDir: small, settings: settings('models/uses_off.sql'), env: {}, homeDir: small },
      assets,
    );
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.match(outcome.error.message, /off, which is disabled/);
  });

  it('an upstream model that is not one read-only SELECT is refused naming its file, and nothing is written', async () => {
    const small = smallProject({
      'models/bad.sql': "delete from {{ ref('a') }}",
      'models/explore.sql': "select * from {{ ref('bad') }}",
    });
    const before = hashTree(small);
    const outcome = await runModel(
      { workspaceDir: small, settings: settings('models/explore.sql'), env: {}, homeDir: small },
      assets,
    );
    assert.equal(outcome.ok, false);
    if (outcome.ok) return;
    assert.match(outcome.error.message, /bad\.sql/);
    assert.match(outcome.error.message, /DELETE/);
    assert.deepEqual(hashTree(small), before);
  });

  it('run_query in the model reads an upstream model, built before the template renders on the data', async () => {
    const small = smallProject({
      'models/t.sql': "{{ config(materialized='table') }} select id, name from {{ ref('a') }} where id >= 2",
      'models/explore.sql': [
        "{% set found = run_query('select max(id) from ' ~ ref('t')) %}",
        "select {{ found.rows[0][0] if found and found.rows else 0 }} as top, count(*) as n from {{ ref('t') }}",
      ].join('\n'),
    });
    const result = await run(small, 'models/explore.sql');
    assert.deepEqual(result.rows, [[3, 2]]);
    assert.deepEqual(result.upstream.built, ['main.t']);
  });
});
