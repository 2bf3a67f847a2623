import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runModel, type ModelResult, type RunResult } from '../../src/engine/index';
import { FINAL_SELECT } from '../../src/shared/lineageModel';
import { rowObjects } from '../../src/shared/rows';
import type { RawSettings } from '../../src/engine/settings';
import {
  assets,
  customerColumns,
  expectedSegments,
  hashTree,
  repoRoot,
  makeShop,
  metricColumns,
  nativeQuery,
  seedModel,
  tempWorkspace,
  write,
  writeShopSeeds,
  writeShopSqlite,
  writeSqlite,
} from './helpers';

async function run(workspaceDir: string, settings: RawSettings, env: Record<string, string> = {}): Promise<RunResult> {
  return runModel({ workspaceDir, settings, env, homeDir: workspaceDir }, assets);
}

async function ok(workspaceDir: string, settings: RawSettings, env?: Record<string, string>): Promise<ModelResult> {
  const outcome = await run(workspaceDir, settings, env);
  if (!outcome.ok) assert.fail(`expected a result, got error: ${JSON.stringify(outcome.error)}`);
  return outcome.result;
}

async function fails(workspaceDir: string, settings: RawSettings) {
  const outcome = await run(workspaceDir, settings);
  if (outcome.ok) assert.fail('expected an error, got a result');
  return outcome.error;
}

function assertSegments(result: ModelResult, expected: ReturnType<typeof expectedSegments>) {
  assert.deepEqual(result.columns, ['region', 'customer_segment', 'customer_count', 'avg_ltv', 'avg_orders']);
  const rows = rowObjects(result.columns, result.rows);
  assert.equal(rows.length, expected.length);
  rows.forEach((row, index) => {
    const want = expected[index];
    assert.equal(row.region, want.region, `row ${index} region`);
    assert.equal(row.customer_segment, want.customer_segment, `row ${index} segment`);
    assert.equal(row.customer_count, want.customer_count, `row ${index} count`);
    // JavaScript and SQLite may round a half cent differently; anything else is a wrong result.
    assert.ok(
      Math.abs((row.avg_ltv as number) - want.avg_ltv) <= 0.01,
      `row ${index} avg_ltv ${row.avg_ltv} vs ${want.avg_ltv}`,
    );
    assert.ok(
      Math.abs((row.avg_orders as number) - want.avg_orders) <= 0.01,
      `row ${index} avg_orders ${row.avg_orders} vs ${want.avg_orders}`,
    );
  });
}

const shop = makeShop();
const joined = shop.metrics.filter((metric) =>
  shop.customers.some((customer) => customer.customer_id === metric.customer_id),
).length;

describe('runModel: each connection type, end to end through the session', () => {
  it('runs the bundled sample when nothing is configured', async () => {
    const result = await ok(tempWorkspace(), {});
    assert.equal(result.source.type, 'sample');
    assert.equal(result.model.sample, true);
    const segments = new Set(result.rows.map((row) => row[1]));
    assert.deepEqual([...segments].sort(), ['Bronze', 'Gold', 'Platinum', 'Silver']);
    assert.ok(
      result.rows.some((row) => row[0] === null),
      'the sample has customers without a region',
    );
    assert.ok(result.cteRowCounts.base > 1000);
    assert.equal(result.cteRowCounts[FINAL_SELECT], result.rows.length);
    const total = result.rows.reduce((sum, row) => sum + (row[2] as number), 0);
    assert.equal(total, result.cteRowCounts.base, 'every base row is counted once');
  });

  it('one SQLite file serves a model that says intermediate.… and staging.…', async () => {
    const dir = tempWorkspace();
    writeShopSqlite(path.join(dir, 'warehouse.db'), shop);
    write(dir, 'models/customer_segments.sql', seedModel('intermediate.int_customer_metrics', 'staging.stg_customers'));
    const before = hashTree(dir);
    const result = await ok(dir, {
      model: 'models/customer_segments.sql',
      connection: { type: 'sqlite', path: 'warehouse.db' },
    });
    assertSegments(result, expectedSegments(shop));
    assert.equal(result.cteRowCounts.base, joined);
    assert.deepEqual(hashTree(dir), before, "the user's files are unchanged");
  });

  it('a SQLite file with others attached as schemas', async () => {
    const dir = tempWorkspace();
    writeSqlite(path.join(dir, 'data/main.db'), { unrelated: { columns: ['x'], rows: [{ x: 1 }] } });
    writeSqlite(path.join(dir, 'data/intermediate.db'), {
      int_customer_metrics: { columns: metricColumns, rows: shop.metrics },
    });
    writeSqlite(path.join(dir, 'data/staging.db'), {
      stg_customers: { columns: customerColumns, rows: shop.customers },
    });
    write(dir, 'model.sql', seedModel('intermediate.int_customer_metrics', 'staging.stg_customers'));
    const result = await ok(dir, {
      model: 'model.sql',
      connection: {
        type: 'sqlite',
        path: 'data/main.db',
        attach: { intermediate: 'data/intermediate.db', staging: 'data/staging.db' },
      },
    });
    assertSegments(result, expectedSegments(shop));
    assert.deepEqual(Object.keys(result.source.schemas), ['main', 'intermediate', 'staging']);
  });

  it('a dbt-sqlite profile with schemas_and_paths, schema_directory, ref() and schema configs', async () => {
    const dir = tempWorkspace();
    writeSqlite(path.join(dir, 'warehouse/main.db'), {});
    writeSqlite(path.join(dir, 'warehouse/schemas/intermediate.db'), {
      int_customer_metrics: { columns: metricColumns, rows: shop.metrics },
    });
    writeSqlite(path.join(dir, 'warehouse/stg.db'), {
      stg_customers: { columns: customerColumns, rows: shop.customers },
    });
    write(
      dir,
      'dbt_project.yml',
      [
        'name: shop',
        'profile: shop_profile',
        'vars:',
        '  gold_floor: 5000',
        'models:',
        '  shop:',
        '    intermediate:',
        '      +schema: intermediate',
        '',
      ].join('\n'),
    );
    write(
      dir,
      'profiles.yml',
      [
        'shop_profile:',
        '  target: dev',
        '  outputs:',
        '    dev:',
        '      type: sqlite',
        '      threads: 1',
        '      database: db',
        '      schema: main',
        '      schemas_and_paths:',
        '        main: warehouse/main.db',
        "        staging: \"{{ env_var('STG_DB', 'warehouse/stg.db') }}\"",
        '      schema_directory: warehouse/schemas',
        '    prod:',
        '      type: snowflake',
        '',
      ].join('\n'),
    );
    write(dir, 'models/staging/stg_customers.sql', 'select 1');
    write(
      dir,
      'models/staging/schema.yml',
      'version: 2\nmodels:\n  - name: stg_customers\n    config:\n      schema: staging\n',
    );
    write(dir, 'models/intermediate/int_customer_metrics.sql', 'select 1');
    const model = seedModel("{{ ref('int_customer_metrics') }}", "{{ ref('shop', 'stg_customers') }}")
      .replace('WITH base', "{{ config(materialized='table') }}\n{# segments by lifetime spend #}\nWITH base")
      .replace('>= 5000 ', ">= {{ var('gold_floor') }} ");
    write(dir, 'models/marts/customer_segments.sql', model);
    const result = await ok(dir, { model: 'models/marts/customer_segments.sql', connection: { type: 'dbt' } });
    assertSegments(result, expectedSegments(shop));
    assert.equal(result.source.profile, 'shop_profile');
    assert.equal(result.source.target, 'dev');
    assert.match(
      result.model.renderedSql,
      /FROM intermediate\.int_customer_metrics AS i\s+JOIN staging\.stg_customers AS c/,
    );
    assert.doesNotMatch(result.model.renderedSql, /\{|config/);

    const postgres = await fails(dir, {
      model: 'models/marts/customer_segments.sql',
      connection: { type: 'dbt', target: 'prod' },
    });
    assert.equal(postgres.code, 'dbt-profile');
    assert.match(postgres.message, /"snowflake" adapter/);
  });

  it('a folder of CSV seeds, subfolders as schemas, with BOM, CRLF and quoted line breaks', async () => {
    const dir = tempWorkspace();
    writeShopSeeds(path.join(dir, 'seeds'), shop, { schemaFolders: true, metrics: { bom: true, lineEnd: '\r\n' } });
    write(dir, 'model.sql', seedModel('intermediate.int_customer_metrics', 'staging.stg_customers'));
    const before = hashTree(dir);
    const result = await ok(dir, { model: 'model.sql', connection: { type: 'csv', directory: 'seeds' } });
    assertSegments(result, expectedSegments(shop));
    assert.deepEqual(hashTree(dir), before);
  });

  it('flat CSV seeds serve a model with qualified names, and equal native SQLite on the same data', async () => {
    const dir = tempWorkspace();
    writeShopSeeds(path.join(dir, 'seeds'), shop);
    write(dir, 'model.sql', seedModel('intermediate.int_customer_metrics', 'staging.stg_customers'));
    const result = await ok(dir, { model: 'model.sql', connection: { type: 'csv', directory: 'seeds' } });
    const native = writeShopSqlite(path.join(dir, 'native.db'), shop);
    assert.deepEqual(
      rowObjects(result.columns, result.rows),
      nativeQuery(native, {}, seedModel('int_customer_metrics', 'stg_customers')),
    );
  });

  it("runs the SQL that is in the user's file: a Diamond segment appears", async () => {
    const dir = tempWorkspace();
    writeShopSeeds(path.join(dir, 'seeds'), shop);
    write(
      dir,
      'model.sql',
      seedModel('int_customer_metrics', 'stg_customers').replace(
        "WHEN i.total_spent >= 10000 THEN 'Platinum'",
        "WHEN i.total_spent >= 15000 THEN 'Diamond'\n            WHEN i.total_spent >= 10000 THEN 'Platinum'",
      ),
    );
    const result = await ok(dir, { model: 'model.sql', connection: { type: 'csv', directory: 'seeds' } });
    const diamonds = shop.metrics.filter(
      (metric) => (metric.total_spent ?? 0) >= 15000 && metric.customer_id <= shop.customers.length,
    ).length;
    assert.ok(diamonds > 0);
    assert.equal(
      result.rows.filter((row) => row[1] === 'Diamond').reduce((sum, row) => sum + (row[2] as number), 0),
      diamonds,
    );
  });
});

describe('runModel: a model whose Jinja reads the data', () => {
  it('adapter.get_columns_in_relation from a package macro lists the seed columns sql.js loaded, and the query runs', async () => {
    const dir = path.join(tempWorkspace(), 'dispatch_project');
    cpSync(path.join(repoRoot, 'test', 'fixtures', 'dispatch_project'), dir, {
      recursive: true,
      filter: (source) => path.basename(source) !== 'expected',
    });
    const before = hashTree(dir);
    const outcome = await runModel(
      {
        workspaceDir: dir,
        settings: { model: 'models/payment_method_details.sql', connection: { type: 'csv', directory: 'seeds' } },
      },
      assets,
    );
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
    // Every column of the seed's header but loaded_at, which the model leaves out; the rows are the seed's.
    const [header, ...lines] = readFileSync(path.join(dir, 'seeds', 'payment_methods.csv'), 'utf8')
      .trim()
      .split('\n');
    assert.deepEqual(
      outcome.result.columns,
      header.split(',').filter((column) => column !== 'loaded_at'),
    );
    assert.deepEqual(
      outcome.result.rows.map((row) => row[0]),
      lines.map((line) => line.split(',')[0]),
    );
    assert.deepEqual(hashTree(dir), before, 'the project is only read');
  });
});
