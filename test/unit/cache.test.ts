// The loaded data kept between runs (src/engine/data/cache.ts): reused while the files are unchanged on disk.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataCache, ModelSession } from '../../src/engine/index';
import { assets, makeShop, seedModel, tempWorkspace, write, writeShopSeeds } from './helpers';

describe('keeping the loaded data between runs', () => {
  it('reuses the data while the files are unchanged, and reloads when one changes', async () => {
    const shop = makeShop(100, 9);
    const dir = tempWorkspace();
    const { metrics } = writeShopSeeds(path.join(dir, 'seeds'), shop);
    write(dir, 'model.sql', seedModel('int_customer_metrics', 'stg_customers'));
    const cache = new DataCache();
    const request = {
      workspaceDir: dir,
      settings: { model: 'model.sql', connection: { type: 'csv', directory: 'seeds' } },
      env: {},
    };
    const run = async () => {
      const session = await ModelSession.open(request, assets, cache);
      try {
        return await session.run();
      } finally {
        session.close();
      }
    };
    try {
      const first = await run();
      assert.equal(first.timings.dataReused, false);
      // A threshold edit: new SQL, same data.
      writeFileSync(
        path.join(dir, 'model.sql'),
        readFileSync(path.join(dir, 'model.sql'), 'utf8').replace('>= 10000', '>= 12000'),
      );
      const edited = await run();
      assert.equal(edited.timings.dataReused, true);
      appendFileSync(metrics, `${shop.customers[0].customer_id},1,99999,99999\n`);
      const reloaded = await run();
      assert.equal(reloaded.timings.dataReused, false);
      assert.equal(reloaded.cteRowCounts.base, edited.cteRowCounts.base + 1);
    } finally {
      cache.clear();
    }
  });
});
