// The data checks (src/engine/run/checks.ts): data that makes the model's numbers mislead without any error, found
// by a real run on a real SQLite file and reported in the result's warnings.
import assert from 'node:assert/strict';
import path from 'node:path';
import { runModel } from '../../src/engine/index';
import type { RawSettings } from '../../src/engine/settings';
import { assets, makeShop, seedModel, tempWorkspace, write, writeShopSqlite, type MetricRow } from './helpers';

const shop = makeShop(200, 3);

const sqliteSettings: RawSettings = {
  model: 'models/segments.sql',
  connection: { type: 'sqlite', path: 'warehouse.db' },
};

describe('warnings: data that makes the numbers mislead', () => {
  async function warningsFor(metrics: readonly MetricRow[]) {
    const dir = tempWorkspace();
    writeShopSqlite(path.join(dir, 'warehouse.db'), { metrics, customers: shop.customers });
    write(dir, 'models/segments.sql', seedModel('int_customer_metrics', 'stg_customers'));
    const outcome = await runModel({ workspaceDir: dir, settings: sqliteSettings, env: {}, homeDir: dir }, assets);
    assert.ok(outcome.ok);
    return outcome.result;
  }

  it('a clean shop has none', async () => {
    assert.deepEqual((await warningsFor(shop.metrics)).warnings, []);
  });

  it('duplicate customer ids in the metrics: the join fans out', async () => {
    const result = await warningsFor([...shop.metrics, shop.metrics[0], shop.metrics[1]]);
    assert.equal(result.warnings.length, 1);
    assert.match(
      result.warnings[0],
      /^customer_id repeats in int_customer_metrics \(2 extra rows\): the join matches those rows more than once/,
    );
  });

  it('spend stored as text like "1,234.50"', async () => {
    const metrics = shop.metrics.map((metric, index) => (index < 3 ? { ...metric, total_spent: '1,234.50' } : metric));
    const result = await warningsFor(metrics);
    assert.equal(result.warnings.length, 1);
    assert.match(
      result.warnings[0],
      /^total_spent in int_customer_metrics holds text in 3 rows \(e\.g\. "1,234\.50"\)/,
    );
  });

  it('empty tables give an empty result and no warning, not an error', async () => {
    const result = await warningsFor([]);
    assert.deepEqual(result.rows, []);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.cteRowCounts.base, 0);
  });
});
