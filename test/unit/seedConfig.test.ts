// dbt's seed configs (dbt_project.yml's `seeds:` tree and properties files' `seeds:` entries), read from real files
// in temp workspaces and applied by loading real CSV folders into real sql.js.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DataCache } from '../../src/engine/data/cache';
import type { LoadedData } from '../../src/engine/data/loadedData';
import { planData } from '../../src/engine/data/plan';
import { LensError, runModel, type LensErrorValue } from '../../src/engine/index';
import { loadDbtProject } from '../../src/engine/model/dbtProject';
import { Workspace } from '../../src/engine/workspace';
import { rowObjects } from '../../src/shared/rows';
import { assets, hashTree, jaffleSeeds, tempWorkspace, write } from './helpers';

/** A workspace that is a dbt project: `files` by path relative to it. */
function project(files: Record<string, string>): string {
  const dir = tempWorkspace();
  for (const [file, content] of Object.entries(files)) write(dir, file, content);
  return dir;
}

/** Plans and opens `{ type: 'csv', directory }` for the dbt project in `dir`, as a run does. */
async function openSeeds(dir: string, directory = 'seeds'): Promise<LoadedData> {
  const plan = await planData(
    { type: 'csv', directory },
    new Workspace({ workspaceDir: dir, settings: {} }),
    await loadDbtProject(dir),
    assets,
  );
  return plan.open();
}

async function openError(dir: string, directory = 'seeds'): Promise<LensErrorValue> {
  try {
    (await openSeeds(dir, directory)).close();
  } catch (error) {
    if (error instanceof LensError) return error.value;
    throw error;
  }
  return assert.fail('expected an error');
}

function query(data: LoadedData, sql: string): Record<string, unknown>[] {
  const [result] = data.main.exec(sql);
  return result ? rowObjects(result.columns, result.values) : [];
}

/** The 1-based line of `file` (relative to `dir`) that first contains `text`: where a config is written. */
function lineOf(dir: string, file: string, text: string): number {
  const index = readFileSync(path.join(dir, file), 'utf8')
    .split('\n')
    .findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `${text} in ${file}`);
  return index + 1;
}

describe('dbt seed configs', () => {
  it('column_types: deeper levels of seeds: win column by column, a properties file wins over dbt_project.yml', async () => {
    const dir = project({
      'dbt_project.yml': [
        'name: shop',
        'profile: shop',
        'seeds:',
        '  +quote_columns: true',
        '  shop:',
        '    +column_types:',
        '      id: bigint',
        '      code: integer',
        '    lookups:',
        '      +column_types:',
        '        code: varchar',
        '      zips:',
        '        +column_types:',
        '          zip: char(5)',
        '          id: varchar',
        '',
      ].join('\n'),
      'seeds/orders.csv': 'id,code\n1,007\n2,010\n',
      'seeds/lookups/zips.csv': 'id,code,zip,share\n01,007,02134,0.50\n02,010,00501,1\n',
      'seeds/lookups/properties.yml': [
        'version: 2',
        'seeds:',
        '  - name: zips',
        '    config:',
        '      column_types:',
        '        share: varchar',
        '        zip: varchar(10)',
        '',
      ].join('\n'),
      'models/example.sql': 'select 1',
    });
    const configs = (await loadDbtProject(dir)).seeds!.configs;
    const zips = configs.get(path.join(dir, 'seeds/lookups/zips.csv'))!;
    const declared = Object.fromEntries(
      [...zips.columnTypes].map(([column, type]) => [
        column,
        [type.type, path.relative(dir, type.at.file), type.at.line, type.own],
      ]),
    );
    assert.deepEqual(declared, {
      id: ['varchar', 'dbt_project.yml', lineOf(dir, 'dbt_project.yml', 'id: varchar'), true],
      code: ['varchar', 'dbt_project.yml', lineOf(dir, 'dbt_project.yml', 'code: varchar'), false],
      zip: ['varchar(10)', 'seeds/lookups/properties.yml', lineOf(dir, 'seeds/lookups/properties.yml', 'zip:'), true],
      share: ['varchar', 'seeds/lookups/properties.yml', lineOf(dir, 'seeds/lookups/properties.yml', 'share:'), true],
    });
    assert.equal(zips.quoteColumns, true);
    assert.equal(zips.problem, undefined);

    const data = await openSeeds(dir);
    try {
      // zips: every column declared text, so every value is exactly as written.
      assert.deepEqual(query(data, 'SELECT id, code, zip, share, typeof(id) AS t FROM lookups.zips'), [
        { id: '01', code: '007', zip: '02134', share: '0.50', t: 'text' },
        { id: '02', code: '010', zip: '00501', share: '1', t: 'text' },
      ]);
      // orders: the project level's types (bigint, integer).
      assert.deepEqual(query(data, 'SELECT id, code, typeof(code) AS t FROM orders'), [
        { id: 1, code: 7, t: 'integer' },
        { id: 2, code: 10, t: 'integer' },
      ]);
      // The config files are files the data was read from: a change to them re-runs.
      assert.ok(data.source.files.includes(path.join(dir, 'dbt_project.yml')));
      assert.ok(data.source.files.includes(path.join(dir, 'seeds/lookups/properties.yml')));
    } finally {
      data.close();
    }
  });

  it('delimiter by folder and by seed name (a config without + when its value is not a mapping)', async () => {
    const dir = project({
      'dbt_project.yml': "name: shop\nseeds:\n  shop:\n    +delimiter: ';'\n    piped:\n      delimiter: '|'\n",
      'seeds/semi.csv': 'id;label;amount\n1;"a;b";2,5\n2;c;3\n',
      'seeds/piped.csv': 'id|label\n1|x;y\n',
    });
    const data = await openSeeds(dir);
    try {
      assert.deepEqual(query(data, 'SELECT * FROM semi'), [
        { id: 1, label: 'a;b', amount: '2,5' },
        { id: 2, label: 'c', amount: '3' },
      ]);
      assert.deepEqual(query(data, 'SELECT * FROM piped'), [{ id: 1, label: 'x;y' }]);
    } finally {
      data.close();
    }
  });

  it('enabled: false leaves the seed out; a folder of only disabled seeds says so', async () => {
    const dir = project({
      'dbt_project.yml': 'name: shop\nseeds:\n  shop:\n    old:\n      +enabled: false\n',
      'seeds/old.csv': 'id\n1\n',
      'seeds/current.csv': 'id\n2\n',
      'seeds/archive/older.csv': 'id\n3\n',
      'seeds/archive/properties.yml': 'version: 2\nseeds:\n  - name: older\n    config:\n      enabled: false\n',
    });
    const data = await openSeeds(dir);
    try {
      assert.deepEqual(data.allTables(), ['main.current']);
      assert.ok(!data.source.files.includes(path.join(dir, 'seeds/old.csv')));
    } finally {
      data.close();
    }
    writeFileSync(
      path.join(dir, 'dbt_project.yml'),
      'name: shop\nseeds:\n  shop:\n    +enabled: false\n    archive:\n      +enabled: true\n',
    );
    const error = await openError(dir);
    assert.equal(error.code, 'file-not-found');
    assert.match(error.message, /has no enabled seeds: dbt's config disables current\.csv, old\.csv, older\.csv/);
  });

  it('+schema puts a seed in that schema instead of main or its folder; other seeds keep their folder', async () => {
    const dir = project({
      'dbt_project.yml': [
        'name: shop',
        'seeds:',
        '  shop:',
        '    customers:',
        '      +schema: raw',
        '    staging:',
        '      stg_orders:',
        '        schema: marts',
        '',
      ].join('\n'),
      'seeds/customers.csv': 'id\n1\n',
      'seeds/plain.csv': 'id\n2\n',
      'seeds/staging/stg_orders.csv': 'id\n3\n',
      'seeds/staging/stg_items.csv': 'id\n4\n',
      'seeds/staging/properties.yml': 'version: 2\nseeds:\n  - name: stg_items\n    config:\n      schema: raw\n',
    });
    const data = await openSeeds(dir);
    try {
      assert.deepEqual(data.allTables().sort(), ['main.plain', 'marts.stg_orders', 'raw.customers', 'raw.stg_items']);
      assert.deepEqual(query(data, 'SELECT id FROM raw.customers UNION ALL SELECT id FROM marts.stg_orders'), [
        { id: 1 },
        { id: 3 },
      ]);
      assert.equal(data.source.schemas.marts, path.join(dir, 'seeds/staging'));
      assert.equal(data.source.schemas.raw, path.join(dir, 'seeds'));
    } finally {
      data.close();
    }
    // Two seeds sent to one schema under one name are refused, naming both.
    write(dir, 'seeds/staging/customers.csv', 'id\n5\n');
    write(
      dir,
      'seeds/staging/properties.yml',
      'version: 2\nseeds:\n  - name: customers\n    config:\n      schema: raw\n',
    );
    const clash = await openError(dir);
    assert.match(
      clash.message,
      /customers\.csv and .*staging\/customers\.csv would both be table customers in schema raw/,
    );
  });

  it('a type name it does not know, a value that is not the type, a column the seed lacks: errors that say where', async () => {
    const dir = project({
      'dbt_project.yml': [
        'name: shop',
        'seeds:',
        '  shop:',
        '    +column_types:',
        '      region: varchar', // only some seeds have it: the others skip it
        '    orders:',
        '      +column_types:',
        '        amount: money_type',
        '',
      ].join('\n'),
      'seeds/orders.csv': 'id,amount\n1,10\n',
    });
    const unknown = await openError(dir);
    assert.equal(unknown.code, 'yaml');
    assert.match(
      unknown.message,
      /declares column "amount" of seed .*seeds\/orders\.csv as "money_type", a type Segment Lens does not know/,
    );
    assert.match(unknown.message, /dbt_project\.yml:8/);
    assert.deepEqual(unknown.location, {
      file: path.join(dir, 'dbt_project.yml'),
      line: lineOf(dir, 'dbt_project.yml', 'amount: money_type'),
      column: 9,
    });

    write(
      dir,
      'dbt_project.yml',
      readFileSync(path.join(dir, 'dbt_project.yml'), 'utf8').replace('money_type', 'integer'),
    );
    write(dir, 'seeds/orders.csv', 'id,amount\n1,10\n2,"ten\ndollars"\n');
    const bad = await openError(dir);
    assert.equal(bad.code, 'csv');
    assert.match(bad.message, /orders\.csv line 3, column "amount": "ten\\ndollars" is not an integer/);
    assert.deepEqual(bad.location, { file: path.join(dir, 'seeds/orders.csv'), line: 3, column: 1 });

    write(dir, 'seeds/orders.csv', 'id,amount\n1,10\n');
    write(
      dir,
      'seeds/properties.yml',
      'version: 2\nseeds:\n  - name: orders\n    config:\n      column_types:\n        amuont: int\n',
    );
    const missing = await openError(dir);
    assert.equal(missing.code, 'yaml');
    assert.match(
      missing.message,
      /properties\.yml:6 declares column "amuont" of seed .*orders\.csv, which has no such column/,
    );
    assert.equal(missing.location?.file, path.join(dir, 'seeds/properties.yml'));
  });

  it('a config it cannot use is an error for that seed only, naming the config file and line', async () => {
    const dir = project({
      'dbt_project.yml': "name: shop\nseeds:\n  shop:\n    wide:\n      +delimiter: '::'\n",
      'seeds/wide.csv': 'id\n1\n',
    });
    const error = await openError(dir);
    assert.equal(error.code, 'yaml');
    assert.match(error.message, /delimiter is "::", not one character .*dbt_project\.yml:5, for seed seeds\/wide\.csv/);
    assert.equal(error.location?.line, 5);
    // Disabled, it is not loaded, so its config is no problem.
    write(dir, 'seeds/properties.yml', 'version: 2\nseeds:\n  - name: wide\n    config:\n      enabled: false\n');
    write(dir, 'seeds/other.csv', 'id\n2\n');
    const data = await openSeeds(dir);
    assert.deepEqual(data.allTables(), ['main.other']);
    data.close();
  });

  it('column_types without + is a folder to dbt, so it is not applied either, and a warning says so', async () => {
    const dir = project({
      'dbt_project.yml': 'name: shop\nseeds:\n  shop:\n    zips:\n      column_types:\n        zip: varchar\n',
      'seeds/zips.csv': 'zip\n02134\n',
      'models/zips.sql': "select zip, typeof(zip) as t from {{ ref('zips') }}",
    });
    const outcome = await runModel(
      {
        workspaceDir: dir,
        settings: { model: 'models/zips.sql', connection: { type: 'csv', directory: 'seeds' } },
        env: {},
      },
      assets,
    );
    assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.error));
    assert.deepEqual(outcome.result.rows, [[2134, 'integer']]);
    assert.deepEqual(outcome.result.warnings, [
      {
        code: 'data-note',
        severity: 'warning',
        message: `${path.join(dir, 'dbt_project.yml')}:5: seeds.shop.zips.column_types has no "+", so dbt reads it as a folder named column_types, not as a config, and does not apply these types; neither does Segment Lens. Write +column_types.`,
      },
    ]);
  });

  it('only a folder at or below a seed path loads with the configs: seed-paths, a subfolder as the folder, others not', async () => {
    const files = {
      'dbt_project.yml':
        "name: shop\nseed-paths: ['data']\nseeds:\n  shop:\n    +column_types:\n      zip: varchar\n    us:\n      zips:\n        +schema: usa\n",
      'data/us/zips.csv': 'zip\n02134\n',
      'data/us/more/zips2.csv': 'zip\n00501\n',
      'elsewhere/zips.csv': 'zip\n02134\n',
    };
    const dir = project(files);
    const below = await openSeeds(dir, 'data/us');
    try {
      // data/us as the folder: its files are in main, unless a config says otherwise (zips: +schema: usa does).
      assert.deepEqual(below.allTables().sort(), ['more.zips2', 'usa.zips']);
      assert.deepEqual(query(below, 'SELECT zip FROM usa.zips UNION ALL SELECT zip FROM more.zips2'), [
        { zip: '02134' },
        { zip: '00501' },
      ]);
    } finally {
      below.close();
    }
    const outside = await openSeeds(dir, 'elsewhere');
    try {
      assert.deepEqual(query(outside, 'SELECT zip, typeof(zip) AS t FROM zips'), [{ zip: 2134, t: 'integer' }]);
      assert.ok(!outside.source.files.includes(path.join(dir, 'dbt_project.yml')));
    } finally {
      outside.close();
    }
  });

  it('a changed seed config reloads data the cache holds', async () => {
    const dir = project({
      'dbt_project.yml': 'name: shop\nseeds:\n  shop:\n    +column_types:\n      zip: integer\n',
      'seeds/zips.csv': 'zip\n02134\n',
    });
    const workspace = new Workspace({ workspaceDir: dir, settings: {} });
    const cache = new DataCache();
    const typeOfZip = async () => {
      const plan = await planData({ type: 'csv', directory: 'seeds' }, workspace, await loadDbtProject(dir), assets);
      const { data, reused } = await cache.get(plan);
      return { reused, zip: query(data, 'SELECT zip FROM zips')[0].zip };
    };
    try {
      assert.deepEqual(await typeOfZip(), { reused: false, zip: 2134 });
      assert.deepEqual(await typeOfZip(), { reused: true, zip: 2134 });
      write(dir, 'dbt_project.yml', 'name: shop\nseeds:\n  shop:\n    +column_types:\n      zip: varchar(5)\n');
      assert.deepEqual(await typeOfZip(), { reused: false, zip: '02134' });
    } finally {
      cache.clear();
    }
  });

  it('the jaffle_shop seeds in a dbt project load as their column_types say, equal to native SQLite', async () => {
    const dir = tempWorkspace();
    const seeds = ['raw_customers', 'raw_orders', 'raw_payments'];
    mkdirSync(path.join(dir, 'seeds'));
    for (const seed of seeds)
      copyFileSync(path.join(jaffleSeeds(), `${seed}.csv`), path.join(dir, 'seeds', `${seed}.csv`));
    write(
      dir,
      'dbt_project.yml',
      [
        'name: jaffle_shop',
        'profile: jaffle_shop',
        'seeds:',
        '  jaffle_shop:',
        '    +column_types:',
        '      id: integer',
        '    raw_orders:',
        '      +column_types:',
        '        user_id: integer',
        '        order_date: varchar',
        '    raw_payments:',
        '      +column_types:',
        '        order_id: integer',
        '        amount: numeric',
        '',
      ].join('\n'),
    );
    const model = [
      'select o.id, o.user_id, o.order_date, typeof(o.order_date) as date_type, typeof(p.amount) as amount_type,',
      '  sum(p.amount) / 100 as amount, count(*) as payments',
      "from {{ ref('raw_orders') }} o join {{ ref('raw_payments') }} p on p.order_id = o.id",
      'group by o.id, o.user_id, o.order_date order by o.id',
    ].join('\n');
    write(dir, 'models/order_payments.sql', model);
    const before = hashTree(dir);
    const outcome = await runModel(
      {
        workspaceDir: dir,
        settings: { model: 'models/order_payments.sql', connection: { type: 'csv', directory: 'seeds' } },
        env: {},
      },
      assets,
    );
    assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.error));
    const rows = rowObjects(outcome.result.columns, outcome.result.rows);

    // Expected, computed here from the CSV text (the jaffle seeds have no quoted fields).
    const table = (seed: string) => {
      const [header, ...lines] = readFileSync(path.join(jaffleSeeds(), `${seed}.csv`), 'utf8')
        .trim()
        .split(/\r?\n/);
      const columns = header.split(',');
      return lines.map((line) => Object.fromEntries(line.split(',').map((value, index) => [columns[index], value])));
    };
    const payments = table('raw_payments');
    const expected = table('raw_orders')
      .map((order) => {
        const mine = payments.filter((payment) => Number(payment.order_id) === Number(order.id));
        return {
          id: Number(order.id),
          user_id: Number(order.user_id),
          order_date: order.order_date,
          date_type: 'text',
          amount_type: 'real',
          amount: mine.reduce((sum, payment) => sum + Number(payment.amount), 0) / 100,
          payments: mine.length,
        };
      })
      .filter((row) => row.payments > 0);
    assert.ok(expected.length > 50);
    assert.deepEqual(rows, expected);

    // Native SQLite with tables of the same types, the CSV cells inserted as text, the same query.
    const native = new BetterSqlite3(':memory:');
    const types: Record<string, Record<string, string>> = {
      raw_customers: { id: 'INTEGER', first_name: 'TEXT', last_name: 'TEXT' },
      raw_orders: { id: 'INTEGER', user_id: 'INTEGER', order_date: 'TEXT', status: 'TEXT' },
      raw_payments: { id: 'INTEGER', order_id: 'INTEGER', payment_method: 'TEXT', amount: 'REAL' },
    };
    for (const seed of seeds) {
      const columns = Object.keys(types[seed]);
      native.exec(`CREATE TABLE ${seed} (${columns.map((column) => `${column} ${types[seed][column]}`).join(', ')})`);
      const insert = native.prepare(`INSERT INTO ${seed} VALUES (${columns.map(() => '?').join(', ')})`);
      for (const row of table(seed)) insert.run(...columns.map((column) => row[column]));
    }
    const nativeRows = native.prepare(model.replace(/\{\{ ref\('(\w+)'\) \}\}/g, '$1')).all();
    native.close();
    assert.deepEqual(rows, nativeRows);

    assert.ok(outcome.result.source.files.includes(path.join(dir, 'dbt_project.yml')));
    assert.deepEqual(hashTree(dir), before);
  });
});
