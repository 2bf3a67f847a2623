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
      const result = await first.run();
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
        const again = await second.run();
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
          const rebuilt = await third.run();
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
    const result = await session.run();
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

  it('an ephemeral model (injected as a CTE, never created) and a table config in the file; a disabled ref is an error', async () => {
    const small = smallProject({
      'models/eph.sql': "{{ config(materialized='ephemeral') }} select id from {{ ref('a') }} where id > 1",
      'models/t.sql': "{{ config(materialized='table') }} select count(*) as n from {{ ref('eph') }}",
      'models/explore.sql': "select n from {{ ref('t') }}",
      'models/off.sql': '{{ config(enabled=false) }} select 1 as x',
      'models/uses_off.sql': "select x from {{ ref('off') }}",
    });
    const result = await run(small, 'models/explore.sql');
    assert.deepEqual(result.rows, [[2]]);
    assert.deepEqual(result.upstream.built, ['main.t']);
    const outcome = await runModel(
      { workspaceDir: small, settings: settings('models/uses_off.sql'), env: {}, homeDir: small },
      assets,
    );
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.match(outcome.error.message, /off, which is disabled/);
  });

  describe('ephemeral models are injected as CTEs, as dbt compiles them', () => {
    const files = {
      'models/eph_a.sql': [
        "{{ config(materialized='ephemeral') }}",
        '-- the named ones, loudly',
        'select id, upper(name) as loud',
        "from {{ ref('a') }}",
        'where id > 1',
      ].join('\n'),
      'models/eph_b.sql': [
        "{{ config(materialized='ephemeral') }}",
        'select e.id, e.loud, count(b.id) as orders',
        "from {{ ref('eph_a') }} as e",
        "left join {{ ref('b') }} as b on b.a_id = e.id",
        'group by e.id, e.loud;',
      ].join('\n'),
      'models/v.sql': "select id, loud || '!' as shout from {{ ref('eph_a') }}",
      'models/explore.sql': [
        'with counted as (',
        "    select * from {{ ref('eph_b') }}",
        ')',
        'select counted.id, counted.loud, counted.orders, v.shout',
        'from counted',
        "join {{ ref('v') }} as v on v.id = counted.id",
        "join {{ ref('eph_a') }} as again on again.id = counted.id",
        'order by counted.id',
      ].join('\n'),
      'models/no_with.sql': "-- only the ephemeral one\nselect count(*) as n from {{ ref('eph_b') }}",
      'models/recursive.sql': [
        'with recursive r(i) as (select 1 union all select i + 1 from r where i < 3)',
        "select i, (select count(*) from {{ ref('eph_a') }}) as n from r order by i",
      ].join('\n'),
      'models/wrong_column.sql': [
        'with counted as (',
        "    select * from {{ ref('eph_b') }}",
        ')',
        'select nope from counted',
      ].join('\n'),
      'models/eph_bad.sql': "{{ config(materialized='ephemeral') }}\nselect missing_column from {{ ref('a') }}",
      'models/on_bad.sql': "select * from {{ ref('eph_bad') }}",
    };

    /** The seeds a and b in native SQLite, for SQL written by hand. */
    function nativeSeeds(): BetterSqlite3.Database {
      const db = new BetterSqlite3(':memory:');
      db.exec(`create table a (id integer, name text); insert into a values (1, 'one'), (2, 'two'), (3, 'three');
        create table b (id integer, a_id integer); insert into b values (10, 1), (11, 1), (12, 3);`);
      return db;
    }

    it('rows equal native SQLite running the same logic written by hand; each ephemeral model injected once, in order, and never created', async () => {
      const small = smallProject(files);
      const native = nativeSeeds();
      const session = await ModelSession.open(
        { workspaceDir: small, settings: settings('models/explore.sql'), env: {}, homeDir: small },
        assets,
      );
      try {
        const result = await session.run();
        const expected = native
          .prepare(
            `select a.id, upper(a.name) as loud, (select count(*) from b where b.a_id = a.id) as orders,
               upper(a.name) || '!' as shout
             from a where a.id > 1 order by a.id`,
          )
          .raw()
          .all();
        assert.deepEqual(result.rows, expected);
        const sql = result.model.renderedSql;
        // Merged into the model's own WITH: eph_a (which eph_b refs) first, each once, then the model's CTEs.
        assert.match(
          sql,
          /^with __dbt__cte__eph_a as \(\n[\s\S]*\n\), __dbt__cte__eph_b as \(\n[\s\S]*\n\),\s*counted as \(/,
        );
        assert.equal(sql.split('__dbt__cte__eph_a as (').length, 2);
        assert.equal(sql.split('__dbt__cte__eph_b as (').length, 2);
        assert.ok(!sql.includes('group by e.id, e.loud;'), "an injected model's trailing semicolon is dropped");
        assert.deepEqual(result.upstream.built, ['main.v']);
        assert.equal(session.data.locate('eph_a'), undefined, 'an ephemeral model is never created');
        const view = session.data.main.exec("select sql from sqlite_master where name = 'v'")[0].values[0][0];
        assert.match(String(view), /with __dbt__cte__eph_a as \(/, 'the view standing on eph_a has it injected');

        // The source map: each injected CTE at its model's file, the model's own text where it is written.
        const ctes = Object.fromEntries(session.ctes.map((cte) => [cte.name, cte.location]));
        assert.equal(ctes.__dbt__cte__eph_a.file, path.join(small, 'models/eph_a.sql'));
        assert.equal(ctes.__dbt__cte__eph_b.file, path.join(small, 'models/eph_b.sql'));
        assert.deepEqual(
          { file: ctes.counted.file, line: ctes.counted.line, column: ctes.counted.column },
          { file: path.join(small, 'models/explore.sql'), line: 1, column: 6 },
        );
        const upper = session.lineage().edges.find((edge) => edge.detail?.toLowerCase() === 'upper(name)');
        assert.ok(upper?.span, 'the lineage has the upper(name) step');
        assert.equal(upper.span.file, path.join(small, 'models/eph_a.sql'));
        assert.equal(upper.span.line, 3);
        assert.equal(upper.span.column, 12);
      } finally {
        session.close();
        native.close();
      }
    });

    it('a model without a WITH gets one after its leading comment; WITH RECURSIVE takes them after RECURSIVE; in data mode too', async () => {
      const small = smallProject(files);
      assert.deepEqual((await run(small, 'models/no_with.sql')).rows, [[2]]);
      const recursive = await run(small, 'models/recursive.sql');
      assert.deepEqual(recursive.rows, [
        [1, 2],
        [2, 2],
        [3, 2],
      ]);
      assert.match(recursive.model.renderedSql, /^with recursive __dbt__cte__eph_a as \(/);
      // Nothing is built in data mode, but an ephemeral model is never in the data: it is injected still.
      const outcome = await runModel(
        {
          workspaceDir: small,
          settings: { ...settings('models/no_with.sql'), upstream: 'data' },
          env: {},
          homeDir: small,
        },
        assets,
      );
      assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.error));
      assert.deepEqual(outcome.result.rows, [[2]]);
    });

    it("errors point at the right file and line: the model's own text after the injected CTEs, and a failing ephemeral model", async () => {
      const small = smallProject(files);
      const wrong = await runModel(
        { workspaceDir: small, settings: settings('models/wrong_column.sql'), env: {}, homeDir: small },
        assets,
      );
      assert.ok(!wrong.ok);
      assert.equal(wrong.error.code, 'missing-column');
      assert.equal(wrong.error.location?.file, path.join(small, 'models/wrong_column.sql'));
      assert.equal(wrong.error.location?.line, 4);
      const bad = await runModel(
        { workspaceDir: small, settings: settings('models/on_bad.sql'), env: {}, homeDir: small },
        assets,
      );
      assert.ok(!bad.ok);
      assert.match(bad.error.message, /^eph_bad \(upstream of on_bad\) failed: Column missing_column does not exist/);
      assert.equal(bad.error.location?.file, path.join(small, 'models/eph_bad.sql'));
      assert.equal(bad.error.location?.line, 2);
    });
  });

  describe("an upstream model's failure is reported at its own file and line, naming it in the explored model's run", () => {
    async function failure(small: string, model: string) {
      const outcome = await runModel(
        { workspaceDir: small, settings: settings(model), env: {}, homeDir: small },
        assets,
      );
      assert.ok(!outcome.ok, 'the run fails');
      return outcome.error;
    }

    it('a Jinja error, an SQL error', async () => {
      const small = smallProject({
        'models/stg_jinja.sql': "select id,\n  {{ no_such_macro_anywhere() }} as x\nfrom {{ ref('a') }}",
        'models/explore_jinja.sql': "select * from {{ ref('stg_jinja') }}",
        'models/stg_sql.sql': "select id,\n  nope\nfrom {{ ref('a') }}",
        'models/mid.sql': "select * from {{ ref('stg_sql') }}",
        'models/explore_sql.sql': "select * from {{ ref('mid') }}",
      });
      const jinja = await failure(small, 'models/explore_jinja.sql');
      assert.match(jinja.message, /^stg_jinja \(upstream of explore_jinja\) failed: /);
      assert.match(jinja.message, /no_such_macro_anywhere/);
      assert.equal(jinja.location?.file, path.join(small, 'models/stg_jinja.sql'));
      assert.equal(jinja.location?.line, 2);
      // Two models up: the one that failed is named, at its own line.
      const sql = await failure(small, 'models/explore_sql.sql');
      // The relation in scope is named; the file is the location's.
      assert.match(sql.message, /^stg_sql \(upstream of explore_sql\) failed: Column nope does not exist in main\.a\b/);
      assert.equal(sql.code, 'missing-column');
      assert.equal(sql.location?.file, path.join(small, 'models/stg_sql.sql'));
      assert.equal(sql.location?.line, 2);
    });

    it('a ref to a seed the project names whose CSV is not there names the seed and the seed-paths searched', async () => {
      const small = smallProject({
        'seeds/properties.yml': 'version: 2\nseeds:\n  - name: raw_gone\n    description: lost in a move\n',
        'models/explore.sql': "select * from {{ ref('raw_gone') }}",
      });
      const error = await failure(small, 'models/explore.sql');
      assert.equal(error.code, 'jinja');
      assert.match(
        error.message,
        /the seed raw_gone \(named in .*properties\.yml\) has no CSV file: there is no raw_gone\.csv in the project's seed-paths \(seeds,/,
      );
      assert.match(error.hint ?? '', /Put raw_gone\.csv in seeds/);
      assert.equal(error.location?.file, path.join(small, 'models/explore.sql'));
      // A name nothing declares says where it was looked for.
      write(small, 'models/explore.sql', "select * from {{ ref('raw_never') }}");
      const unknown = await failure(small, 'models/explore.sql');
      assert.match(unknown.message, /has no model or seed named raw_never/);
      assert.match(
        unknown.hint ?? '',
        /raw_never\.sql in the model-paths and raw_never\.csv in the seed-paths \(seeds\)/,
      );
    });

    it('two models with one name: both files named, as dbt does; with one of them disabled the other runs', async () => {
      const small = smallProject({
        'models/one/twin.sql': "select id from {{ ref('a') }}",
        'models/two/twin.sql': "select id * 10 as id from {{ ref('a') }}",
        'models/explore.sql': "select count(*) as n from {{ ref('twin') }}",
      });
      const error = await failure(small, 'models/explore.sql');
      assert.match(error.message, /has 2 models named twin: .*models\/one\/twin\.sql and .*models\/two\/twin\.sql/);
      assert.equal(error.location?.file, path.join(small, 'models/two/twin.sql'));
      write(small, 'models/one/twin.sql', "{{ config(enabled=false) }} select id from {{ ref('a') }}");
      const result = await run(small, 'models/explore.sql');
      assert.deepEqual(result.rows, [[3]]);
    });

    it('a cycle of three names every member; a disabled ref names the model', async () => {
      const small = smallProject({
        'models/c1.sql': "select * from {{ ref('c2') }}",
        'models/c2.sql': "select * from {{ ref('c3') }}",
        'models/c3.sql': "select * from {{ ref('c1') }}",
        'models/explore.sql': "select * from {{ ref('c1') }}",
      });
      const error = await failure(small, 'models/explore.sql');
      assert.match(error.message, /The models c1, c2 and c3 ref\(\) each other in a cycle \(c1 → c2 → c3 → c1\)/);
    });
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
    assert.match(outcome.error.message, /^bad \(upstream of explore\) failed: .*bad\.sql/);
    assert.match(outcome.error.message, /DELETE/);
    assert.equal(outcome.error.location?.file, path.join(small, 'models/bad.sql'));
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
