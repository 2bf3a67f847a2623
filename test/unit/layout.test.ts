import assert from 'node:assert/strict';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ModelSession } from '../../src/engine/index';
import { rowObjects } from '../../src/shared/rows';
import { assets, makeShop, nativeQuery, seedModel, tempWorkspace, write, writeShopSqlite } from './helpers';

/** The model's rows from the engine, and the layout the engine chose for each table. */
async function runWithLayout(dir: string, connection: object, tables: string[]) {
  const session = await ModelSession.open(
    { workspaceDir: dir, settings: { model: 'model.sql', connection }, env: {} },
    assets,
  );
  try {
    const result = session.run();
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
      const result = session.run();
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
