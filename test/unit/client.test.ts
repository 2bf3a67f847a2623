import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { CancelledError, EngineClient } from '../../src/engine/worker/client';
import type { RunPayload } from '../../src/engine/worker/protocol';
import { rowObjects } from '../../src/shared/rows';
import { assets, makeShop, nativeQuery, repoRoot, seedModel, tempWorkspace, write, writeShopSqlite } from './helpers';

describe('the engine worker', () => {
  const workerPath = path.join(repoRoot, 'dist', 'worker.js');

  it('runs the model off the calling thread and answers drill-downs from the data it keeps', async () => {
    const engine = new EngineClient(workerPath, assets);
    try {
      const outcome = await engine.request<RunPayload>({
        type: 'run',
        request: { workspaceDir: tempWorkspace(), settings: {}, env: {} },
        assets,
      });
      assert.ok(outcome.ok);
      assert.ok(outcome.result.lineage);
      assert.deepEqual(
        outcome.result.ctes.map((cte) => cte.name),
        ['base'],
      );
      const page = await engine.request<{ total: number; rows: unknown[] }>({
        type: 'cteRows',
        cte: 'base',
        filters: [{ column: 'customer_segment', value: 'Platinum' }],
        offset: 0,
        limit: 10,
      });
      assert.ok(page.ok);
      const platinum = outcome.result.result.rows
        .filter((row) => row[1] === 'Platinum')
        .reduce((sum, row) => sum + (row[2] as number), 0);
      assert.equal(page.result.total, platinum);
      assert.equal(page.result.rows.length, 10);
    } finally {
      engine.dispose();
    }
  });

  // A short run is left to finish unanswered; a long one is stopped by terminating the worker (threshold 0 here).
  for (const [how, terminateAfterMs] of [
    ['left to finish unanswered', 1000],
    ['stopped by terminating the worker', 0],
  ] as const) {
    it(`a cancelled run (${how}) rejects, and the next run is correct`, async () => {
      const engine = new EngineClient(workerPath, assets, terminateAfterMs);
      try {
        const workspaceDir = tempWorkspace();
        const cancelled = engine.request<RunPayload>({
          type: 'run',
          request: { workspaceDir, settings: {}, env: {} },
          assets,
        });
        engine.cancel();
        await assert.rejects(cancelled, CancelledError);
        const next = await engine.request<RunPayload>({
          type: 'run',
          request: { workspaceDir, settings: {}, env: {} },
          assets,
        });
        assert.ok(next.ok);
        assert.equal(next.result.result.cteRowCounts.base, 4801);
      } finally {
        engine.dispose();
      }
    });
  }

  it('requests sent together are answered in turn, each correctly', async () => {
    const engine = new EngineClient(workerPath, assets);
    try {
      const workspaceDir = tempWorkspace();
      const run = engine.request<RunPayload>({ type: 'run', request: { workspaceDir, settings: {}, env: {} }, assets });
      const page = engine.request<{ total: number }>({
        type: 'cteRows',
        cte: 'base',
        filters: [],
        offset: 0,
        limit: 5,
      });
      const [ran, rows] = await Promise.all([run, page]);
      assert.ok(ran.ok && rows.ok);
      assert.equal(rows.result.total, ran.result.result.cteRowCounts.base);
    } finally {
      engine.dispose();
    }
  });

  it('a user error comes back as a value', async () => {
    const engine = new EngineClient(workerPath, assets);
    try {
      const outcome = await engine.request<RunPayload>({
        type: 'run',
        request: {
          workspaceDir: tempWorkspace(),
          settings: { connection: { type: 'sqlite', path: 'absent.db' } },
          env: {},
        },
        assets,
      });
      assert.ok(!outcome.ok);
      assert.equal(outcome.error.code, 'file-not-found');
    } finally {
      engine.dispose();
    }
  });

  it('statements that would change the cached data are refused, with or without a stray character after them, and the next run reads the data unchanged', async () => {
    const engine = new EngineClient(workerPath, assets);
    const dir = tempWorkspace();
    // The bundled sample data, kept by the worker between runs: what every later run of any model reads.
    const run = (model: string) => {
      write(dir, 'model.sql', model);
      return engine.request<RunPayload>({
        type: 'run',
        request: { workspaceDir: dir, settings: { model: 'model.sql' }, env: {} },
        assets,
      });
    };
    const count = 'SELECT count(*) AS n FROM staging.stg_customers';
    try {
      const before = await run(count);
      assert.ok(before.ok);
      for (const attack of [
        'DELETE FROM staging.stg_customers; ~',
        'DELETE FROM staging.stg_customers',
        'INSERT INTO staging.stg_customers (customer_id) VALUES (-1); ~',
        'PRAGMA query_only = 0; ~',
        "ATTACH ':memory:' AS aux; ~",
        'WITH x AS (SELECT 1) DELETE FROM staging.stg_customers',
        'SELECT 1; DELETE FROM staging.stg_customers',
        '/* a comment first */ DROP TABLE staging.stg_customers',
      ]) {
        const outcome = await run(attack);
        assert.equal(outcome.ok, false, attack);
        if (!outcome.ok) assert.match(outcome.error.message, /syntax error|read-only SELECT|more than one/, attack);
      }
      const after = await run(count);
      assert.ok(after.ok);
      assert.deepEqual(after.result.result.rows, before.result.result.rows, 'the data every run reads is unchanged');
    } finally {
      engine.dispose();
    }
  });

  // As the extension uses it: the deadline is segmentLens.timeoutSeconds, passed with each run.
  it('a run past its deadline is stopped and answered with a timeout error; a request queued behind it is cancelled; the next run on the same client is correct', async () => {
    const engine = new EngineClient(workerPath, assets);
    try {
      const dir = tempWorkspace();
      const shop = makeShop(250, 17);
      const warehouse = writeShopSqlite(path.join(dir, 'warehouse.db'), shop);
      const model = seedModel('int_customer_metrics', 'stg_customers');
      write(dir, 'models/segments.sql', model);
      write(
        dir,
        'models/endless.sql',
        'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT count(*) FROM r',
      );
      // On the bundled sample (5,000 customers): 1.25e11 rows.
      write(
        dir,
        'models/cross.sql',
        'SELECT count(*) FROM staging.stg_customers a, staging.stg_customers b, staging.stg_customers c',
      );
      const deadline = (name: string) => ({
        seconds: 2,
        setting: 'segmentLens.timeoutSeconds',
        subject: `The model ${name}`,
      });
      for (const name of ['endless.sql', 'cross.sql']) {
        const started = performance.now();
        const slow = engine.request<RunPayload>(
          { type: 'run', request: { workspaceDir: dir, settings: { model: `models/${name}` }, env: {} }, assets },
          deadline(name),
        );
        const queued = engine.request({ type: 'cteRows', cte: 'base', filters: [], offset: 0, limit: 5 });
        const outcome = await slow;
        const seconds = (performance.now() - started) / 1000;
        assert.ok(seconds >= 2 && seconds < 4, `stopped after ${seconds.toFixed(1)} s`);
        assert.ok(!outcome.ok);
        assert.deepEqual(outcome.error, {
          code: 'timeout',
          message: `The model ${name} ran longer than 2 s (segmentLens.timeoutSeconds) and was stopped.`,
          hint: 'A recursive CTE that never ends or a join without a condition can do this: fix the model, or raise segmentLens.timeoutSeconds if the data is that large.',
        });
        await assert.rejects(queued, CancelledError);
        assert.equal(engine.busy, true, 'a fresh worker is warming up');

        const next = await engine.request<RunPayload>(
          {
            type: 'run',
            request: {
              workspaceDir: dir,
              settings: { model: 'models/segments.sql', connection: { type: 'sqlite', path: 'warehouse.db' } },
              env: {},
            },
            assets,
          },
          deadline('segments.sql'),
        );
        assert.ok(next.ok);
        assert.deepEqual(
          rowObjects(next.result.result.columns, next.result.result.rows),
          nativeQuery(warehouse, {}, model),
        );
      }
      // The deadline of a run that finished never fires: the worker is still the same, idle.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(engine.busy, false);
      const page = await engine.request<{ total: number }>({
        type: 'cteRows',
        cte: 'base',
        filters: [],
        offset: 0,
        limit: 5,
      });
      assert.ok(page.ok, 'the last run is still there for drill-downs');
    } finally {
      engine.dispose();
    }
  });

  it('a deadline longer than a Node timer can wait (24.8 days) is no deadline, not one that passes at once', async () => {
    const engine = new EngineClient(workerPath, assets);
    try {
      const request = {
        type: 'run',
        request: { workspaceDir: tempWorkspace(), settings: {}, env: {} },
        assets,
      } as const;
      const outcome = await engine.request<RunPayload>(request, {
        seconds: 1e9,
        setting: 'segmentLens.timeoutSeconds',
        subject: 'The model customer_segments.sql',
      });
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
      // The same as the run without a deadline gives.
      const plain = await engine.request<RunPayload>(request);
      assert.ok(plain.ok);
      assert.deepEqual(outcome.result.result.rows, plain.result.result.rows);
    } finally {
      engine.dispose();
    }
  });

  it('in a workspace not trusted, a model that is a link to a file outside is refused through the worker, and the next run works', async () => {
    const engine = new EngineClient(workerPath, assets);
    const dir = tempWorkspace();
    const outside = write(tempWorkspace(), 'elsewhere.sql', 'SELECT 1 AS region');
    symlinkSync(outside, path.join(dir, 'model.sql'));
    try {
      const request = (trusted: boolean) =>
        engine.request<RunPayload>({
          type: 'run',
          request: { workspaceDir: dir, settings: { model: 'model.sql' }, env: {}, trusted },
          assets,
        });
      const refused = await request(false);
      assert.equal(refused.ok, false);
      if (!refused.ok) {
        assert.equal(refused.error.code, 'outside-workspace');
        assert.match(refused.error.message, /model\.sql/);
      }
      const trusted = await request(true);
      assert.ok(trusted.ok, 'trusted, the link is followed');
      assert.deepEqual(trusted.result.result.columns, ['region']);
    } finally {
      engine.dispose();
    }
  });
});
