import assert from 'node:assert/strict';
import path from 'node:path';
import { CancelledError, EngineClient } from '../../src/engine/worker/client';
import type { RunPayload } from '../../src/engine/worker/protocol';
import { assets, repoRoot, tempWorkspace, write } from './helpers';

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
});
