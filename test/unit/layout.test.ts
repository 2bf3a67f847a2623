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
