import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { ModelSession } from '../../src/engine/index';
import { rowObjects } from '../../src/shared/rows';
import {
  assets,
  hashTree,
  jaffleSeeds,
  makeShop,
  nativeQuery,
  seedModel,
  tempWorkspace,
  write,
  writeShopSqlite,
} from './helpers';

/** The model's rows from the engine, and the layout the engine chose for each table. */
async function runWithLayout(dir: string, connection: object, tables: string[]) {
  const session = await ModelSession.open(
    { workspaceDir: dir, settings: { model: 'model.sql', connection }, env: {} },
    assets,
  );
  try {
    const result = await session.run();
    const layout = (table: string) => {
      const located = session.data.locate(table)!;
      const info =
        session.data.main.exec(
          `SELECT name, pk FROM pragma_table_info('${located.table}', '${located.schema}') WHERE pk > 0`,
        )[0]?.values ?? [];
      const indexes =
        session.data.main.exec(
          `SELECT name FROM "${located.schema}".sqlite_master WHERE type = 'index' AND tbl_name = '${located.table}'`,
        )[0]?.values ?? [];
      return { primaryKey: info.map((row) => row[0]), indexes: indexes.length };
    };
    return {
      rows: rowObjects(result.columns, result.rows),
      layout: Object.fromEntries(tables.map((table) => [table, layout(table)])),
    };
  } finally {
    session.close();
  }
}

describe("layout for the model's joins", () => {
  const shop = makeShop(200, 5);

  it('a unique integer join key becomes the INTEGER PRIMARY KEY; results equal native SQLite on the original file', async () => {
    const dir = tempWorkspace();
    const file = writeShopSqlite(path.join(dir, 'w.db'), shop);
    write(dir, 'model.sql', seedModel('int_customer_metrics', 'stg_customers'));
    const { rows, layout } = await runWithLayout(dir, { type: 'sqlite', path: 'w.db' }, [
      'int_customer_metrics',
      'stg_customers',
    ]);
    assert.deepEqual(layout.int_customer_metrics.primaryKey, ['customer_id']);
    assert.deepEqual(layout.stg_customers.primaryKey, ['customer_id']);
    assert.deepEqual(rows, nativeQuery(file, {}, seedModel('int_customer_metrics', 'stg_customers')));
  });

  it('duplicate, NULL and text keys keep their values: an index instead, and the same result as native SQLite', async () => {
    const dir = tempWorkspace();
    // A customer with two metric rows (join fan-out), a metric row with no customer id, and ids written as text.
    const metrics = [...shop.metrics, { ...shop.metrics[0] }, { ...shop.metrics[1], customer_id: null }];
    const customers = shop.customers.map((customer) => ({
      ...customer,
      customer_id: String(customer.customer_id).padStart(4, '0'),
    }));
    const file = writeShopSqlite(path.join(dir, 'w.db'), { metrics, customers: [] });
    const db = new BetterSqlite3(file);
    db.exec('CREATE TABLE stg_text (customer_id TEXT, first_name TEXT, last_name TEXT, region TEXT)');
    const insert = db.prepare('INSERT INTO stg_text VALUES (?, ?, ?, ?)');
    for (const customer of customers)
      insert.run(customer.customer_id, customer.first_name, customer.last_name, customer.region);
    db.close();
    write(dir, 'model.sql', seedModel('int_customer_metrics', 'stg_text'));
    const { rows, layout } = await runWithLayout(dir, { type: 'sqlite', path: 'w.db' }, [
      'int_customer_metrics',
      'stg_text',
    ]);
    assert.deepEqual(layout.int_customer_metrics, { primaryKey: [], indexes: 1 });
    assert.deepEqual(layout.stg_text, { primaryKey: [], indexes: 1 });
    assert.deepEqual(rows, nativeQuery(file, {}, seedModel('int_customer_metrics', 'stg_text')));
  });
});

describe('layout names never collide with the user’s own', () => {
  const shop = makeShop(150, 9);

  it('user tables named as the layout’s copy and index, and a view over a table laid out: the user’s tables are untouched, the result equals native SQLite', async () => {
    const dir = tempWorkspace();
    // Duplicate metrics: int_customer_metrics gets an index (its name is taken by a table); stg_customers gets the
    // INTEGER PRIMARY KEY copy (its name is taken by a table, in another case too).
    const metrics = [...shop.metrics, { ...shop.metrics[0] }];
    const file = writeShopSqlite(path.join(dir, 'w.db'), { metrics, customers: shop.customers });
    const db = new BetterSqlite3(file);
    db.exec(`
      CREATE TABLE stg_customers__segment_lens_layout (note TEXT);
      INSERT INTO stg_customers__segment_lens_layout VALUES ('mine');
      CREATE TABLE "STG_CUSTOMERS__SEGMENT_LENS_LAYOUT_2" (note TEXT);
      CREATE TABLE int_customer_metrics__segment_lens_customer_id (note TEXT);
      INSERT INTO int_customer_metrics__segment_lens_customer_id VALUES ('also mine');
      CREATE VIEW customer_regions AS SELECT customer_id, region FROM stg_customers;
    `);
    db.close();
    const model = seedModel('int_customer_metrics', 'stg_customers');
    write(dir, 'model.sql', model);
    const session = await ModelSession.open(
      { workspaceDir: dir, settings: { model: 'model.sql', connection: { type: 'sqlite', path: 'w.db' } }, env: {} },
      assets,
    );
    try {
      const result = await session.run();
      assert.deepEqual(rowObjects(result.columns, result.rows), nativeQuery(file, {}, model));
      const read = (sql: string) => session.data.main.exec(sql)[0]?.values ?? [];
      assert.deepEqual(read('SELECT note FROM stg_customers__segment_lens_layout'), [['mine']]);
      assert.deepEqual(read('SELECT note FROM int_customer_metrics__segment_lens_customer_id'), [['also mine']]);
      assert.deepEqual(read('SELECT count(*) FROM "STG_CUSTOMERS__SEGMENT_LENS_LAYOUT_2"'), [[0]]);
      // The layout did its work under other names, and the view still reads the laid-out table.
      assert.deepEqual(read("SELECT name FROM pragma_table_info('stg_customers') WHERE pk > 0"), [['customer_id']]);
      assert.equal(
        read("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'int_customer_metrics'")[0][0],
        1,
      );
      assert.deepEqual(
        read('SELECT count(*) FROM customer_regions'),
        nativeQuery(file, {}, 'SELECT count(*) AS n FROM customer_regions').map((row) => [row.n]),
      );
    } finally {
      session.close();
    }
  });
});

/** Loads a jaffle_shop seed into native SQLite as dbt-sqlite's seed does: integers and reals typed, the rest text. */
function loadSeed(db: BetterSqlite3.Database, table: string): void {
  const [header, ...rows] = parse(readFileSync(path.join(jaffleSeeds(), `${table}.csv`), 'utf8')) as string[][];
  const typeOf = (index: number) =>
    rows.every((row) => /^-?\d+$/.test(row[index]))
      ? 'INTEGER'
      : rows.every((row) => /^-?[\d.]+$/.test(row[index]))
        ? 'REAL'
        : 'TEXT';
  db.exec(
    `CREATE TABLE "main"."${table}" (${header.map((column, index) => `"${column}" ${typeOf(index)}`).join(', ')})`,
  );
  const insert = db.prepare(`INSERT INTO "main"."${table}" VALUES (${header.map(() => '?').join(', ')})`);
  for (const row of rows) insert.run(row.map((value, index) => (typeOf(index) === 'TEXT' ? value : Number(value))));
}

/**
 * A warehouse as dbt-sqlite leaves it: one SQLite file per schema (attached through the dbt profile), seeds and
 * the staging models' views in main (dbt-sqlite keeps a view in its own schema's file, as SQLite requires), the
 * customers table in marts with a view over it there. Names qualified as dbt-sqlite's ref() writes them.
 */
function dbtSqliteWarehouse(model: string): { dir: string; main: string; marts: string } {
  const dir = tempWorkspace();
  const main = path.join(dir, 'data', 'main.db');
  const marts = path.join(dir, 'data', 'marts.db');
  mkdirSync(path.dirname(main), { recursive: true });
  const db = new BetterSqlite3(main);
  for (const seed of ['raw_customers', 'raw_orders', 'raw_payments']) loadSeed(db, seed);
  db.exec(`
    CREATE VIEW "main"."stg_customers" AS SELECT id AS customer_id, first_name, last_name FROM "main"."raw_customers";
    CREATE VIEW "main"."stg_orders" AS
      SELECT id AS order_id, user_id AS customer_id, order_date, status FROM "main"."raw_orders";
    CREATE VIEW "main"."stg_payments" AS
      SELECT id AS payment_id, order_id, payment_method, amount / 100.0 AS amount FROM "main"."raw_payments";
  `);
  db.exec(`ATTACH '${marts}' AS marts`);
  db.exec(`
    CREATE TABLE "marts"."customers" AS
      SELECT c.customer_id, c.first_name, count(o.order_id) AS number_of_orders, coalesce(sum(p.amount), 0) AS lifetime_value
      FROM "main"."stg_customers" c
      LEFT JOIN "main"."stg_orders" o ON o.customer_id = c.customer_id
      LEFT JOIN "main"."stg_payments" p ON p.order_id = o.order_id
      GROUP BY c.customer_id, c.first_name;
    CREATE VIEW "marts"."big_customers" AS SELECT customer_id, lifetime_value FROM "marts"."customers" WHERE lifetime_value > 20;
  `);
  db.close();
  write(dir, 'dbt_project.yml', 'name: shop\nprofile: shop\n');
  write(
    dir,
    'profiles.yml',
    'shop:\n  target: dev\n  outputs:\n    dev:\n      type: sqlite\n      threads: 1\n      database: x\n      schema: main\n      schemas_and_paths:\n        main: data/main.db\n        marts: data/marts.db\n',
  );
  write(dir, 'models/explore.sql', model);
  return { dir, main, marts };
}

describe('the layout never breaks a run', () => {
  // Joins the seeds the views stand on (raw_customers.id and marts.customers.customer_id are unique integer keys: the
  // layout rebuilds both tables) and reads the views over them.
  const explore = [
    'select c.id, c.first_name, m.number_of_orders, b.lifetime_value as big, count(o.id) as orders,',
    '  (select count(*) from main.stg_customers) as staged, (select count(*) from marts.big_customers) as bigs',
    'from main.raw_customers c',
    'join marts.customers m on m.customer_id = c.id',
    'left join marts.big_customers b on b.customer_id = m.customer_id',
    'left join main.raw_orders o on o.user_id = c.id',
    'group by c.id, c.first_name, m.number_of_orders, b.lifetime_value',
    'order by c.id',
  ].join('\n');

  it('a dbt-sqlite warehouse with views over the tables the layout rebuilds: the same rows as native SQLite, and the views still read', async () => {
    const { dir, main, marts } = dbtSqliteWarehouse(explore);
    const before = hashTree(dir);
    const session = await ModelSession.open(
      {
        workspaceDir: dir,
        settings: { model: 'models/explore.sql', connection: { type: 'dbt' } },
        env: {},
        homeDir: dir,
      },
      assets,
    );
    try {
      const result = await session.run();
      assert.deepEqual(rowObjects(result.columns, result.rows), nativeQuery(main, { marts }, explore));
      // Both tables under the views were rebuilt with their key, and each view reads as it did.
      assert.ok(result.layout.includes('main.raw_customers: id as INTEGER PRIMARY KEY'), result.layout.join('\n'));
      assert.ok(
        result.layout.includes('marts.customers: customer_id as INTEGER PRIMARY KEY'),
        result.layout.join('\n'),
      );
      for (const view of ['main.stg_customers', 'main.stg_orders', 'marts.big_customers']) {
        const ours = session.data.main.exec(`SELECT * FROM ${view} ORDER BY 1`)[0];
        assert.deepEqual(
          rowObjects(ours.columns, ours.values),
          nativeQuery(main, { marts }, `SELECT * FROM ${view} ORDER BY 1`),
          view,
        );
      }
    } finally {
      session.close();
    }
    assert.deepEqual(hashTree(dir), before);
  });

  it('a table the layout cannot index (a full-text table) is left as loaded, with a note: the run goes on', async () => {
    const dir = tempWorkspace();
    const file = path.join(dir, 'w.db');
    const db = new BetterSqlite3(file);
    db.exec(`
      CREATE TABLE customers (id INTEGER, name TEXT);
      CREATE VIRTUAL TABLE notes USING fts3(customer_id, body);
    `);
    for (let id = 1; id <= 40; id++) {
      db.prepare('INSERT INTO customers VALUES (?, ?)').run(id, `customer ${id}`);
      if (id % 3 !== 0) db.prepare('INSERT INTO notes VALUES (?, ?)').run(id, id % 2 ? 'late delivery' : 'happy');
    }
    db.close();
    const model = [
      'select c.id, c.name, n.body from customers c',
      "join notes n on n.customer_id = c.id where n.body match 'late' order by c.id",
    ].join('\n');
    write(dir, 'model.sql', model);
    const session = await ModelSession.open(
      { workspaceDir: dir, settings: { model: 'model.sql', connection: { type: 'sqlite', path: 'w.db' } }, env: {} },
      assets,
    );
    try {
      const result = await session.run();
      assert.deepEqual(rowObjects(result.columns, result.rows), nativeQuery(file, {}, model));
      assert.ok(result.rows.length > 0);
      const note = result.layout.find((line) => line.startsWith('main.notes: left as loaded'));
      assert.ok(note, result.layout.join('\n'));
      assert.match(note, /virtual tables may not be indexed/);
      assert.ok(result.layout.includes('main.customers: id as INTEGER PRIMARY KEY'), result.layout.join('\n'));
    } finally {
      session.close();
    }
  });

  it('a table with a collation, or whose rowid a view reads, is indexed instead of rebuilt: values and rows stay as loaded', async () => {
    const dir = tempWorkspace();
    const file = path.join(dir, 'w.db');
    const db = new BetterSqlite3(file);
    db.exec(`
      CREATE TABLE tags (id INTEGER, label TEXT COLLATE NOCASE);
      INSERT INTO tags VALUES (3, 'red'), (1, 'RED'), (2, 'Blue'), (4, 'blue'), (5, 'green');
      CREATE TABLE uses (tag_id INTEGER, n INTEGER);
      INSERT INTO uses VALUES (1, 10), (2, 20), (3, 30), (4, 40), (5, 50), (3, 1);
      CREATE TABLE items (id INTEGER, name TEXT);
      INSERT INTO items VALUES (9, 'nine'), (7, 'seven'), (8, 'eight');
      CREATE VIEW item_order AS SELECT rowid AS position, id, name FROM items;
    `);
    db.close();
    // Grouping by the NOCASE label puts red and RED together; item_order numbers the items as they were stored.
    const model = [
      'select lower(t.label) as label, sum(u.n) as n, (select group_concat(position || name) from item_order) as stored',
      'from tags t join uses u on u.tag_id = t.id',
      'join items i on i.id = u.tag_id + 6',
      'group by t.label order by n',
    ].join('\n');
    write(dir, 'model.sql', model);
    const session = await ModelSession.open(
      { workspaceDir: dir, settings: { model: 'model.sql', connection: { type: 'sqlite', path: 'w.db' } }, env: {} },
      assets,
    );
    try {
      const result = await session.run();
      assert.deepEqual(rowObjects(result.columns, result.rows), nativeQuery(file, {}, model));
      assert.ok(result.layout.includes('main.tags: index on id'), result.layout.join('\n'));
      assert.ok(result.layout.includes('main.items: index on id'), result.layout.join('\n'));
    } finally {
      session.close();
    }
  });
});
