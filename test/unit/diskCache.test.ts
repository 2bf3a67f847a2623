// The loaded data saved between restarts (src/engine/data/diskCache.ts), through the engine worker as the extension
// and the CLI use it: a fresh worker reads it back and answers as a cold run does (and as native SQLite does), a
// changed source is loaded again, a damaged file is dropped without a word, and the folder stays within its bound.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { EngineClient } from '../../src/engine/worker/client';
import type { RunPayload } from '../../src/engine/worker/protocol';
import { DiskCache, snapshotOf } from '../../src/engine/data/diskCache';
import { LoadedData } from '../../src/engine/data/loadedData';
import { loadSqlJs } from '../../src/engine/data/sqljs';
import { resolveCacheMaxBytes } from '../../src/engine/settings';
import { DataCache, layOut } from '../../src/engine/data/cache';
import { planData } from '../../src/engine/data/plan';
import { Workspace } from '../../src/engine/workspace';
import { LensError } from '../../src/engine/errors';
import { rowObjects } from '../../src/shared/rows';
import {
  assets,
  cliPath,
  customerColumns,
  hashTree,
  jaffleShopWorkspace,
  makeShop,
  metricColumns,
  nativeQuery,
  repoRoot,
  seedModel,
  tempWorkspace,
  write,
  writeSqlite,
} from './helpers';

const workerPath = path.join(repoRoot, 'dist', 'worker.js');

/** Cache files in a folder. */
function cacheFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith('.slcache'))
    .map((name) => path.join(dir, name));
}

/** A workspace of two SQLite files (main and an attached schema) and the seed model over them. */
function sqliteWorkspace(count = 400, seed = 5): string {
  const shop = makeShop(count, seed);
  const dir = tempWorkspace();
  writeSqlite(path.join(dir, 'data/main.db'), { stg_customers: { columns: customerColumns, rows: shop.customers } });
  writeSqlite(path.join(dir, 'data/metrics.db'), {
    int_customer_metrics: { columns: metricColumns, rows: shop.metrics },
  });
  write(dir, 'model.sql', seedModel('metrics.int_customer_metrics', 'stg_customers'));
  return dir;
}

const sqliteSettings = {
  model: 'model.sql',
  connection: { type: 'sqlite', path: 'data/main.db', attach: { metrics: 'data/metrics.db' } },
};

/** One engine (a worker, as after a restart) used for `use`, then stopped. */
async function withEngine<T>(use: (engine: EngineClient) => Promise<T>): Promise<T> {
  const engine = new EngineClient(workerPath, assets);
  try {
    return await use(engine);
  } finally {
    engine.dispose();
  }
}

/**
 * Runs the model, then waits until the worker has saved its data: the save comes after the answer and before the
 * next request, so the answer to a request after it says the save is done.
 */
async function runAndSave(
  engine: EngineClient,
  workspaceDir: string,
  settings: Record<string, unknown>,
  cacheDir?: string,
): Promise<RunPayload> {
  const outcome = await engine.request<RunPayload>({
    type: 'run',
    request: { workspaceDir, settings, env: {} },
    assets,
    ...(cacheDir === undefined ? {} : { cacheDir }),
  });
  if (!outcome.ok) assert.fail(JSON.stringify(outcome.error));
  await engine.request({ type: 'idle' });
  return outcome.result;
}

function nativeRows(dir: string): Record<string, unknown>[] {
  return nativeQuery(
    path.join(dir, 'data/main.db'),
    { metrics: path.join(dir, 'data/metrics.db') },
    seedModel('metrics.int_customer_metrics', 'stg_customers'),
  );
}

describe('the disk cache', () => {
  it('a fresh worker reads the saved data back: the same result as the cold run and as native SQLite', async () => {
    const dir = sqliteWorkspace();
    const cacheDir = tempWorkspace();
    const before = hashTree(dir);
    const cold = await withEngine((engine) => runAndSave(engine, dir, sqliteSettings, cacheDir));
    assert.equal(cold.result.timings.dataRestored, false);
    assert.equal(cacheFiles(cacheDir).length, 1);
    const restored = await withEngine((engine) => runAndSave(engine, dir, sqliteSettings, cacheDir));
    assert.equal(restored.result.timings.dataRestored, true);
    assert.deepEqual(restored.result.rows, cold.result.rows);
    assert.deepEqual(restored.result.cteRowCounts, cold.result.cteRowCounts);
    assert.deepEqual(restored.result.warnings, cold.result.warnings);
    assert.deepEqual(restored.result.source, cold.result.source);
    assert.deepEqual(restored.grid, cold.grid);
    assert.deepEqual(restored.lineage, cold.lineage);
    assert.deepEqual(rowObjects(restored.result.columns, restored.result.rows), nativeRows(dir));
    // Laid out before it was saved: nothing to lay out again.
    assert.deepEqual(restored.result.layout, []);
    assert.ok(cold.result.layout.length > 0);
    assert.deepEqual(hashTree(dir), before, 'the workspace was written');
  });

  it('upstream models built into a schema of their own come back built: nothing is rebuilt', async () => {
    const dir = jaffleShopWorkspace();
    const cacheDir = tempWorkspace();
    const before = hashTree(dir);
    const settings = { model: 'models/marts/customer_segments.sql', connection: { type: 'csv', directory: 'seeds' } };
    const cold = await withEngine((engine) => runAndSave(engine, dir, settings, cacheDir));
    assert.ok(cold.result.upstream.built.length > 0);
    assert.ok(cold.result.upstream.built.some((name) => name.startsWith('staging.')));
    const restored = await withEngine((engine) => runAndSave(engine, dir, settings, cacheDir));
    assert.equal(restored.result.timings.dataRestored, true);
    assert.deepEqual(restored.result.upstream.built, []);
    assert.deepEqual(restored.result.upstream.kept, cold.result.upstream.built);
    assert.deepEqual(restored.result.rows, cold.result.rows);
    assert.deepEqual(restored.result.cteRowCounts, cold.result.cteRowCounts);
    assert.deepEqual(restored.lineage, cold.lineage);
    assert.deepEqual(hashTree(dir), before, 'the workspace was written');
  });

  it('a source touched or changed (even with its mtime put back) is loaded again', async () => {
    const dir = sqliteWorkspace();
    const cacheDir = tempWorkspace();
    await withEngine((engine) => runAndSave(engine, dir, sqliteSettings, cacheDir));
    // Touched: same bytes, a new mtime.
    const main = path.join(dir, 'data/main.db');
    const later = new Date(Date.now() + 60_000);
    utimesSync(main, later, later);
    const touched = await withEngine((engine) => runAndSave(engine, dir, sqliteSettings, cacheDir));
    assert.equal(touched.result.timings.dataRestored, false);
    // Changed in place, same size, the mtime set back as rsync -a would: the change time still tells.
    const metrics = path.join(dir, 'data/metrics.db');
    const { mtime, size } = statSync(metrics);
    const changed = makeShop(400, 6);
    writeSqlite(`${metrics}.new`, { int_customer_metrics: { columns: metricColumns, rows: changed.metrics } });
    const bytes = readFileSync(`${metrics}.new`);
    assert.equal(bytes.length, size, 'the test wants a file of the same size');
    const fd = openSync(metrics, 'r+');
    writeSync(fd, bytes, 0, bytes.length, 0);
    closeSync(fd);
    utimesSync(metrics, mtime, mtime);
    const reloaded = await withEngine((engine) => runAndSave(engine, dir, sqliteSettings, cacheDir));
    assert.equal(reloaded.result.timings.dataRestored, false);
    assert.deepEqual(rowObjects(reloaded.result.columns, reloaded.result.rows), nativeRows(dir));
  });

  for (const [damage, harm] of [
    ['a truncated', (file: string) => truncateSync(file, Math.floor(statSync(file).size / 2))],
    [
      'a corrupt',
      (file: string) => {
        const fd = openSync(file, 'r+');
        writeSync(fd, Buffer.alloc(512, 0x5a), 0, 512, Math.floor(statSync(file).size * 0.6));
        closeSync(fd);
      },
    ],
    ['an emptied', (file: string) => truncateSync(file, 0)],
  ] as const) {
    it(`${damage} cache file is dropped and the data loaded again, with no error`, async () => {
      const dir = sqliteWorkspace();
      const cacheDir = tempWorkspace();
      const cold = await withEngine((engine) => runAndSave(engine, dir, sqliteSettings, cacheDir));
      const [file] = cacheFiles(cacheDir);
      harm(file);
      const rebuilt = await withEngine((engine) => runAndSave(engine, dir, sqliteSettings, cacheDir));
      assert.equal(rebuilt.result.timings.dataRestored, false);
      assert.deepEqual(rebuilt.result.rows, cold.result.rows);
      assert.deepEqual(rebuilt.result.warnings, cold.result.warnings);
      // Saved again, whole: the next start reads it.
      const again = await withEngine((engine) => runAndSave(engine, dir, sqliteSettings, cacheDir));
      assert.equal(again.result.timings.dataRestored, true);
      assert.deepEqual(again.result.rows, cold.result.rows);
    });
  }

  it('a file read ahead is used only for the data it was read for: a source changed meanwhile is loaded afresh', async () => {
    const dir = sqliteWorkspace();
    const cacheDir = tempWorkspace();
    const workspace = new Workspace({ workspaceDir: dir, settings: sqliteSettings });
    const connection = { type: 'sqlite', path: 'data/main.db', attach: { metrics: 'data/metrics.db' } } as const;
    const plan = () => planData(connection, workspace, undefined, assets);
    const metrics = path.join(dir, 'data/metrics.db');
    const totals = 'SELECT count(*) AS n, sum(total_spent) AS spent FROM int_customer_metrics';
    const loadedTotals = (data: LoadedData) => {
      const [result] = data.main.exec(totals.replace('FROM ', 'FROM metrics.'));
      return rowObjects(result.columns, result.values);
    };
    /** A cache as a fresh worker has it: nothing in memory, the folder on disk. */
    const freshCache = () => {
      const cache = new DataCache();
      cache.useDisk({ dir: cacheDir, maxBytes: resolveCacheMaxBytes(undefined) }, assets.wasmPath);
      return cache;
    };
    /** Loads (or restores) the data, and saves it as a run does once it has answered. */
    const getAndSave = async (cache: DataCache) => {
      const got = await cache.get(await plan());
      layOut(got.data, () => undefined);
      await cache.persist();
      return got;
    };
    const caches = [freshCache(), freshCache(), freshCache()];
    try {
      assert.equal((await getAndSave(caches[0])).restored, false);
      // Read ahead for the data as saved; the metrics file changes before the data is asked for.
      caches[1].readAhead(await plan());
      rmSync(metrics);
      writeSqlite(metrics, { int_customer_metrics: { columns: metricColumns, rows: makeShop(400, 6).metrics } });
      const changed = await getAndSave(caches[1]);
      assert.equal(changed.restored, false);
      assert.deepEqual(loadedTotals(changed.data), nativeQuery(metrics, {}, totals));
      // Read ahead and asked for the same data: restored from the file saved for it.
      caches[2].readAhead(await plan());
      const restored = await caches[2].get(await plan());
      assert.equal(restored.restored, true);
      assert.deepEqual(loadedTotals(restored.data), nativeQuery(metrics, {}, totals));
    } finally {
      for (const cache of caches) cache.clear();
    }
  });

  it('keeps the folder within segmentLens.cache.maxSizeMB, least recently used out first; 0 saves nothing', async () => {
    const SQL = await loadSqlJs(assets.wasmPath);
    const made: LoadedData[] = [];
    const dataOf = (rows: number) => {
      const db = new SQL.Database();
      db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)');
      db.run(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) INSERT INTO t SELECT i, hex(randomblob(100)) FROM n`,
      );
      const data = new LoadedData(db, { type: 'sqlite', description: 'test', files: [], schemas: {} });
      data.laidOut = true;
      made.push(data);
      return data;
    };
    try {
      const dir = tempWorkspace();
      const one = snapshotOf(SQL, dataOf(2000));
      const size = one.images.reduce((sum, image) => sum + image.length, 0);
      // Room for two entries, not three.
      const cache = new DiskCache({ dir, maxBytes: Math.floor(size * 2.5) });
      assert.equal(await cache.write('a', one), true);
      assert.equal(await cache.write('b', snapshotOf(SQL, dataOf(2000))), true);
      // a is used after b was written: b is now the least recently used.
      const past = new Date(Date.now() - 10_000);
      for (const file of cacheFiles(dir)) utimesSync(file, past, past);
      const read = await cache.read(SQL, 'a');
      assert.ok(read);
      made.push(read);
      assert.equal(await cache.write('c', snapshotOf(SQL, dataOf(2000))), true);
      const { bytes, files } = await cache.contents();
      assert.equal(files.length, 2);
      assert.ok(bytes <= cache.options.maxBytes, `${bytes} > ${cache.options.maxBytes}`);
      assert.ok(await cache.read(SQL, 'a').then((data) => data && made.push(data)), 'a, used last, was evicted');
      assert.equal(await cache.read(SQL, 'b'), undefined, 'b, used least recently, was kept');
      // A snapshot larger than the bound is not written at all.
      const small = new DiskCache({ dir: tempWorkspace(), maxBytes: Math.floor(size / 2) });
      assert.equal(await small.write('a', one), false);
      assert.deepEqual((await small.contents()).files, []);
    } finally {
      for (const data of made) data.close();
    }
    const dir = sqliteWorkspace();
    const cacheDir = tempWorkspace();
    await withEngine((engine) => runAndSave(engine, dir, { ...sqliteSettings, cacheMaxSizeMB: 0 }, cacheDir));
    assert.deepEqual(readdirSync(cacheDir), []);
  });

  it('a cache size that is not a number of megabytes is an error naming the setting', () => {
    assert.equal(resolveCacheMaxBytes(undefined), 1024 * 1024 * 1024);
    assert.equal(resolveCacheMaxBytes(0), 0);
    for (const bad of [-1, '100', Number.NaN, {}]) {
      assert.throws(
        () => resolveCacheMaxBytes(bad),
        (error: unknown) =>
          error instanceof LensError &&
          error.value.setting === 'segmentLens.cache.maxSizeMB' &&
          /megabytes/.test(error.value.message),
      );
    }
  });

  it('the CLI saves with --cache DIR and reads it back on the next run; without it, writes nothing', () => {
    const dir = sqliteWorkspace();
    write(dir, '.vscode/settings.json', JSON.stringify({ 'segmentLens.connection': sqliteSettings.connection }));
    const before = hashTree(dir);
    const home = tempWorkspace();
    const cacheDir = path.join(tempWorkspace(), 'cache');
    const cli = (extra: string[]) => {
      const result = spawnSync(
        process.execPath,
        [cliPath, 'run', '--workspace', dir, '--model', 'model.sql', '--format', 'json', ...extra],
        { cwd: home, encoding: 'utf8', env: { ...process.env, HOME: home, XDG_CACHE_HOME: path.join(home, '.cache') } },
      );
      assert.equal(result.status, 0, result.stderr);
      return JSON.parse(result.stdout) as { rows: Record<string, unknown>[]; timings: Record<string, unknown> };
    };
    const plain = cli([]);
    assert.deepEqual(readdirSync(home), [], 'a run without --cache wrote into the current folder or HOME');
    assert.equal(plain.timings.dataRestored, false);
    const first = cli(['--cache', cacheDir]);
    assert.equal(first.timings.dataRestored, false);
    assert.equal(cacheFiles(cacheDir).length, 1);
    const second = cli(['--cache', cacheDir]);
    assert.equal(second.timings.dataRestored, true);
    assert.deepEqual(second.rows, first.rows);
    assert.deepEqual(second.rows, nativeRows(dir));
    assert.deepEqual(readdirSync(home), []);
    assert.deepEqual(hashTree(dir), before, 'the workspace was written');
  });
});
