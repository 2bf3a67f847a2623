import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { CancelledError, EngineClient } from '../../src/engine/worker/client';
import type { RunPayload } from '../../src/engine/worker/protocol';
import { progressText, type RunProgress } from '../../src/shared/progress';
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

  it('a worker warmed ahead (as just after activation) answers its first run as native SQLite does', async () => {
    const engine = new EngineClient(workerPath, assets);
    try {
      const dir = tempWorkspace();
      writeShopSqlite(path.join(dir, 'shop.db'), makeShop(300, 4));
      write(dir, 'model.sql', seedModel('int_customer_metrics', 'stg_customers'));
      // warm() answers nothing; a request after it answers once the warm-up before it is done.
      engine.warm();
      const outcome = await engine.request<RunPayload>({
        type: 'run',
        request: {
          workspaceDir: dir,
          settings: { model: 'model.sql', connection: { type: 'sqlite', path: 'shop.db' } },
          env: {},
        },
        assets,
      });
      assert.ok(outcome.ok, JSON.stringify(outcome));
      assert.deepEqual(
        rowObjects(outcome.result.result.columns, outcome.result.result.rows),
        nativeQuery(path.join(dir, 'shop.db'), {}, seedModel('int_customer_metrics', 'stg_customers')),
      );
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
        // Stopped, not run to the end (endless never ends, cross takes hours); generous for a loaded machine.
        assert.ok(seconds >= 2 && seconds < 30, `stopped after ${seconds.toFixed(1)} s`);
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

describe('the engine worker: progress while building upstream models, and cancelling part way', () => {
  const workerPath = path.join(repoRoot, 'dist', 'worker.js');

  /** A dbt project over one CSV seed with the given models, run with the CSV seeds as the data. */
  function project(models: Record<string, string>): string {
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: p\nprofile: p\n');
    write(dir, 'seeds/numbers.csv', 'n\n1\n2\n3\n');
    for (const [name, text] of Object.entries(models)) write(dir, `models/${name}.sql`, text);
    return dir;
  }

  const runOf = (dir: string, model: string) =>
    ({
      type: 'run',
      request: { workspaceDir: dir, settings: { model, connection: { type: 'csv', directory: 'seeds' } }, env: {} },
      assets,
    }) as const;

  it('progress arrives in order: the data, each model built (in dependency order, numbered), the query; nothing built, nothing said', async () => {
    const dir = project({
      m1: "{{ config(materialized='table') }} select n from {{ ref('numbers') }}",
      m2: "{{ config(materialized='table') }} select n * 2 as n from {{ ref('m1') }}",
      m3: "select n + 1 as n from {{ ref('m2') }}",
      explore: "select sum(n) as total from {{ ref('m3') }}",
    });
    const engine = new EngineClient(workerPath, assets);
    try {
      const heard = async () => {
        const progress: RunProgress[] = [];
        const outcome = await engine.request<RunPayload>(runOf(dir, 'models/explore.sql'), undefined, (step) =>
          progress.push(step),
        );
        assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.error));
        // (1 + 2 + 3) * 2 + 3
        assert.deepEqual(outcome.result.result.rows, [[15]]);
        return progress.map(progressText);
      };
      assert.deepEqual(await heard(), [
        'Loading the data',
        'Building m1 (1/3)',
        'Building m2 (2/3)',
        'Building m3 (3/3)',
        'Running the query',
      ]);
      // Kept from the first run: nothing is built, so nothing is said to be.
      assert.deepEqual(await heard(), ['Loading the data', 'Running the query']);
      // An edit to m2 rebuilds it and what stands on it.
      write(dir, 'models/m2.sql', "{{ config(materialized='table') }} select n * 2 as n from {{ ref('m1') }} where 1");
      assert.deepEqual(await heard(), [
        'Loading the data',
        'Building m2 (2/3)',
        'Building m3 (3/3)',
        'Running the query',
      ]);
    } finally {
      engine.dispose();
    }
  });

  // Five slow tables (a bounded recursive CTE each, a few hundred ms in sql.js); the run is cancelled as the second
  // starts building. Left to go on, the worker stops before the third (what it built stays, complete); stopped,
  // the worker is terminated. Either way the cancelled request rejects and the next run is right.
  const slow = (k: number) =>
    `{{ config(materialized='table') }} with recursive r(i) as (select 1 union all select i + 1 from r where i < ${300_000 + k}) select count(*) as n from r`;
  const models = Object.fromEntries([1, 2, 3, 4, 5].map((k) => [`slow${k}`, slow(k)]));
  const explore = `select sum(n) as total from (${[1, 2, 3, 4, 5].map((k) => `select n from {{ ref('slow${k}') }}`).join(' union all ')})`;
  for (const [how, terminateAfterMs] of [
    ['left to stop at its next step', 60_000],
    ['stopped by terminating the worker', 0],
  ] as const) {
    it(`a build of several upstream models cancelled part way (${how}) rejects, and the next run is right`, async function () {
      this.timeout(120_000);
      const dir = project({ ...models, explore });
      const engine = new EngineClient(workerPath, assets, terminateAfterMs);
      try {
        const progress: string[] = [];
        const cancelled = engine.request<RunPayload>(runOf(dir, 'models/explore.sql'), undefined, (step) => {
          progress.push(progressText(step));
          if (step.stage === 'build' && step.index === 2) engine.cancel();
        });
        await assert.rejects(cancelled, CancelledError);
        assert.deepEqual(progress, ['Loading the data', 'Building slow1 (1/5)', 'Building slow2 (2/5)']);

        const next = await engine.request<RunPayload>(runOf(dir, 'models/explore.sql'));
        assert.ok(next.ok, JSON.stringify(!next.ok && next.error));
        assert.deepEqual(next.result.result.rows, [[5 * 300_000 + 1 + 2 + 3 + 4 + 5]]);
        const upstream = next.result.result.upstream;
        if (terminateAfterMs === 0) {
          assert.equal(upstream.built.length, 5, 'a fresh worker builds them all');
        } else {
          // The cancelled run built slow1 and slow2, then stopped: the next run keeps those and builds the rest.
          assert.deepEqual(upstream.kept, ['main.slow1', 'main.slow2']);
          assert.deepEqual(upstream.built, ['main.slow3', 'main.slow4', 'main.slow5']);
        }
      } finally {
        engine.dispose();
      }
    });
  }
});
