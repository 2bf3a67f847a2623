// `npm run bench:cache [-- --runs N] [--customers N] [--json]`: what the disk cache and the result memo save, through the engine
// worker as the extension uses it, on the bench data (benchData.ts, 100k and 1M customers, the SQLite file): the
// first run cold (a fresh worker, an empty cache folder: start, load, layout, query), the re-run after a threshold
// edit (data in memory), the first run after a restart with the cache present (a fresh worker reading the saved
// data back), and a result that repeats (the edit undone: answered from memory, end to end through the worker).
// Median of N. Prints; asserts only that each path was the one measured and that the results agree.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { deepStrictEqual } from 'node:assert';
import os from 'node:os';
import path from 'node:path';
import { EngineClient } from '../src/engine/worker/client';
import type { EngineAssets } from '../src/engine/index';
import type { RunPayload, WhatIfPayload } from '../src/engine/worker/protocol';
import { benchData } from './benchData';

const args = process.argv.slice(2);
const json = args.includes('--json');
const runsIndex = args.indexOf('--runs');
const RUNS = runsIndex >= 0 ? Number(args[runsIndex + 1]) : 5;
const MEMO_RUNS = 20;
const sizesIndex = args.indexOf('--customers');
const sizes = sizesIndex >= 0 ? [Number(args[sizesIndex + 1])] : [100_000, 1_000_000];
const root = path.resolve(__dirname, '..', '..');
const assets: EngineAssets = {
  wasmPath: path.join(root, 'dist', 'sql-wasm.wasm'),
  sampleDir: path.join(root, 'sample'),
  jinjaDir: path.join(root, 'dist', 'minijinja'),
};
const dataDir = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'segment-lens-bench');
const seedModel = readFileSync(path.join(root, 'sample', 'models', 'customer_segments.sql'), 'utf8');
const edited = seedModel.replace('>= 10000', '>= 12345');
const log = (...parts: unknown[]) => {
  if (!json) console.error(...parts);
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

async function measure(customers: number) {
  const data = await benchData(dataDir, customers, seedModel);
  const settings = { model: data.model, connection: { type: 'sqlite', path: 'warehouse.db' } };
  const run = (engine: EngineClient, cacheDir: string) =>
    timed(async () => {
      const outcome = await engine.request<RunPayload>({
        type: 'run',
        request: { workspaceDir: data.dir, settings, env: {} },
        assets,
        cacheDir,
      });
      if (!outcome.ok) throw new Error(outcome.error.message);
      return outcome.result;
    });
  // The save happens after the answer, before the next request: a request after it answers once it is written.
  const saved = (engine: EngineClient) => engine.request({ type: 'idle' });
  const cold: number[] = [];
  const rerun: number[] = [];
  const restored: number[] = [];
  const restoredWarm: number[] = [];
  const memo: number[] = [];
  const whatIfMemo: number[] = [];
  let cacheBytes = 0;
  for (let round = 0; round < RUNS; round++) {
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'segment-lens-bench-cache-'));
    try {
      writeFileSync(data.model, seedModel);
      let engine = new EngineClient(path.join(root, 'dist', 'worker.js'), assets);
      const first = await run(engine, cacheDir);
      if (first.value.result.timings.dataRestored) throw new Error('the cold run read a cache');
      cold.push(first.ms);
      await saved(engine);
      writeFileSync(data.model, edited);
      const warm = await run(engine, cacheDir);
      if (!warm.value.result.timings.dataReused) throw new Error('the re-run did not reuse the data');
      rerun.push(warm.ms);
      engine.dispose();

      // A restart: a fresh worker, the cache folder as it was left.
      writeFileSync(data.model, seedModel);
      engine = new EngineClient(path.join(root, 'dist', 'worker.js'), assets);
      const back = await run(engine, cacheDir);
      if (!back.value.result.timings.dataRestored)
        throw new Error('the first run after a restart did not read the cache');
      deepStrictEqual(back.value.result.rows, first.value.result.rows);
      deepStrictEqual(back.value.result.cteRowCounts, first.value.result.cteRowCounts);
      restored.push(back.ms);
      await saved(engine);
      engine.dispose();

      // A restart where the worker was started before the run was asked for: the extension starts it (and compiles
      // sql.js and MiniJinja) just after activation, which a SQL file or the panel being open triggers.
      engine = new EngineClient(path.join(root, 'dist', 'worker.js'), assets);
      await engine.request({ type: 'warm', assets });
      const ahead = await run(engine, cacheDir);
      if (!ahead.value.result.timings.dataRestored)
        throw new Error('the run after a warm start did not read the cache');
      deepStrictEqual(ahead.value.result.rows, first.value.result.rows);
      restoredWarm.push(ahead.ms);
      log(
        '  cold',
        JSON.stringify(first.value.result.timings),
        Math.round(first.ms),
        '\n  re-run',
        JSON.stringify(warm.value.result.timings),
        Math.round(warm.ms),
        '\n  restored',
        JSON.stringify(back.value.result.timings),
        Math.round(back.ms),
        '\n  restored, worker started ahead',
        JSON.stringify(ahead.value.result.timings),
        Math.round(ahead.ms),
      );
      cacheBytes = readdirBytes(cacheDir);

      if (round === 0) {
        // The edit, then its undo: the undo answers from memory.
        for (let index = 0; index < MEMO_RUNS; index++) {
          writeFileSync(data.model, edited);
          const away = await run(engine, cacheDir);
          writeFileSync(data.model, seedModel);
          const undo = await run(engine, cacheDir);
          if (!undo.value.result.timings.fromMemo) throw new Error('the undo ran the query');
          deepStrictEqual(undo.value.result.rows, first.value.result.rows);
          if (index === 0 && away.value.result.timings.fromMemo) throw new Error('the edit was answered from memory');
          memo.push(undo.ms);
        }
        // The same in a what-if: a threshold field changed, then changed back.
        const offset = back.value.result.model.renderedSql.indexOf('10000');
        const whatIf = (value: number) =>
          timed(async () => {
            const outcome = await engine.request<WhatIfPayload>({
              type: 'whatIf',
              overrides: [{ offset, length: 5, value }],
            });
            if (!outcome.ok) throw new Error(outcome.error.message);
            return outcome.result;
          });
        await whatIf(20000);
        for (let index = 0; index < MEMO_RUNS; index++) {
          await whatIf(15000 + index);
          const undo = await whatIf(20000);
          if (!undo.value.result.timings.fromMemo) throw new Error('the what-if undo ran the query');
          whatIfMemo.push(undo.ms);
        }
      }
      engine.dispose();
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }
  writeFileSync(data.model, seedModel);
  return {
    customers,
    firstRunColdMs: Math.round(median(cold)),
    firstRunWithCacheMs: Math.round(median(restored)),
    firstRunWithCacheWorkerAheadMs: Math.round(median(restoredWarm)),
    rerunMs: Math.round(median(rerun)),
    cacheFileMb: Math.round(cacheBytes / 1048576),
    repeatRunMedianMs: +median(memo).toFixed(1),
    repeatRunP95Ms: +quantile(memo, 0.95).toFixed(1),
    repeatWhatIfMedianMs: +median(whatIfMemo).toFixed(1),
    repeatWhatIfP95Ms: +quantile(whatIfMemo, 0.95).toFixed(1),
  };
}

function readdirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0);
}

async function main() {
  const results = [];
  for (const customers of sizes) {
    log(`${customers.toLocaleString('en')} customers…`);
    results.push(await measure(customers));
  }
  if (json) {
    console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, runs: RUNS, results }));
    return;
  }
  console.log(`${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'} · Node ${process.version} · median of ${RUNS}`);
  for (const result of results) {
    console.log(
      `${result.customers.toLocaleString('en')} customers: first run cold ${result.firstRunColdMs} ms · first run with the cache ${result.firstRunWithCacheMs} ms, ${result.firstRunWithCacheWorkerAheadMs} ms with the worker started ahead (file ${result.cacheFileMb} MB) · re-run ${result.rerunMs} ms · repeated run (undo, from memory) median ${result.repeatRunMedianMs} ms, p95 ${result.repeatRunP95Ms} ms · repeated what-if median ${result.repeatWhatIfMedianMs} ms, p95 ${result.repeatWhatIfP95Ms} ms`,
    );
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
