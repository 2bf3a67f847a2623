// Results that repeat are free (src/engine/run/resultMemo.ts): the same inputs on the same data answer from memory —
// no query runs (the result says so) — and anything else that changed runs again.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataCache, ModelSession } from '../../src/engine/index';
import { EngineClient } from '../../src/engine/worker/client';
import type { RunPayload, WhatIfPayload } from '../../src/engine/worker/protocol';
import { rowObjects } from '../../src/shared/rows';
import {
  assets,
  makeShop,
  nativeQuery,
  repoRoot,
  seedModel,
  tempWorkspace,
  write,
  writeShopSeeds,
  writeShopSqlite,
} from './helpers';

function shopWorkspace() {
  const shop = makeShop(300, 13);
  const dir = tempWorkspace();
  const { metrics } = writeShopSeeds(path.join(dir, 'seeds'), shop);
  const model = write(dir, 'model.sql', seedModel('int_customer_metrics', 'stg_customers'));
  const text = readFileSync(model, 'utf8');
  // The same rows in a SQLite file, for native SQLite to compute what each threshold gives.
  const native = writeShopSqlite(path.join(tempWorkspace(), 'native.db'), shop);
  return {
    /** The model's rows by native SQLite, with `10000` (Platinum's threshold) replaced. */
    expected: (platinum = 10000) => nativeQuery(native, {}, text.replace('>= 10000', `>= ${platinum}`)),
    shop,
    dir,
    metrics,
    original: text,
    edit: (content: string) => writeFileSync(model, content),
    request: {
      workspaceDir: dir,
      settings: { model: 'model.sql', connection: { type: 'csv', directory: 'seeds' } },
      env: {},
    },
  };
}

describe('the result memo', () => {
  it('an undone threshold edit answers from memory, with the result a run gives', async () => {
    const shop = shopWorkspace();
    const cache = new DataCache();
    const run = async () => {
      const session = await ModelSession.open(shop.request, assets, cache);
      try {
        return await session.run();
      } finally {
        session.close();
      }
    };
    try {
      const first = await run();
      assert.equal(first.timings.fromMemo, false);
      assert.deepEqual(rowObjects(first.columns, first.rows), shop.expected());
      shop.edit(shop.original.replace('>= 10000', '>= 12000'));
      const edited = await run();
      assert.equal(edited.timings.fromMemo, false);
      assert.deepEqual(rowObjects(edited.columns, edited.rows), shop.expected(12000));
      shop.edit(shop.original);
      const undone = await run();
      assert.equal(undone.timings.fromMemo, true);
      assert.equal(undone.timings.queryMs, 0);
      assert.deepEqual(undone.rows, first.rows);
      assert.deepEqual(undone.cteRowCounts, first.cteRowCounts);
      assert.deepEqual(undone.warnings, first.warnings);
      // The same SQL with the file's text changed elsewhere (a Jinja comment): the places in it moved, so it runs.
      shop.edit(`{# segments by spend #}\n${shop.original}`);
      const commented = await run();
      assert.equal(commented.timings.fromMemo, false);
      // Other data: it runs.
      shop.edit(shop.original);
      appendFileSync(shop.metrics, `${shop.shop.customers[0].customer_id},20000,3,100\n`);
      const reloaded = await run();
      assert.equal(reloaded.timings.fromMemo, false);
      assert.equal(reloaded.cteRowCounts.base, first.cteRowCounts.base + 1);
    } finally {
      cache.clear();
    }
  });

  it('through the worker: a run and a what-if repeated answer from memory', async () => {
    const shop = shopWorkspace();
    const engine = new EngineClient(path.join(repoRoot, 'dist', 'worker.js'), assets);
    const run = async () => {
      const outcome = await engine.request<RunPayload>({ type: 'run', request: shop.request, assets });
      if (!outcome.ok) assert.fail(JSON.stringify(outcome.error));
      return outcome.result;
    };
    try {
      const first = await run();
      shop.edit(shop.original.replace('>= 5000', '>= 6000'));
      assert.equal((await run()).result.timings.fromMemo, false);
      shop.edit(shop.original);
      const undone = await run();
      assert.equal(undone.result.timings.fromMemo, true);
      assert.deepEqual(undone.result.rows, first.result.rows);
      assert.deepEqual(undone.grid, first.grid);
      assert.deepEqual(undone.lineage, first.lineage);
      // Drill-downs still read the data: the session is the run's own.
      const page = await engine.request<{ total: number }>({
        type: 'cteRows',
        cte: 'base',
        filters: [],
        offset: 0,
        limit: 5,
      });
      assert.ok(page.ok);
      assert.equal(page.result.total, first.result.cteRowCounts.base);

      const sql = first.result.model.renderedSql;
      const offset = sql.indexOf('10000');
      const whatIf = async (value: number) => {
        const outcome = await engine.request<WhatIfPayload>({
          type: 'whatIf',
          overrides: [{ offset, length: 5, value }],
        });
        if (!outcome.ok) assert.fail(JSON.stringify(outcome.error));
        return outcome.result;
      };
      const a = await whatIf(15000);
      assert.equal(a.result.timings.fromMemo, false);
      assert.deepEqual(rowObjects(a.result.columns, a.result.rows), shop.expected(15000));
      assert.equal((await whatIf(9000)).result.timings.fromMemo, false);
      const back = await whatIf(15000);
      assert.equal(back.result.timings.fromMemo, true);
      assert.deepEqual(back.result.rows, a.result.rows);
      assert.deepEqual(back.grid, a.grid);
    } finally {
      engine.dispose();
    }
  });
});
