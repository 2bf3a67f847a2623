// Measures a what-if re-run at 100k customers: after the first run, the engine worker runs the model again with one
// threshold changed in memory (the request the panel sends when a number in its thresholds changes), data kept.
// Prints; asserts nothing. Uses the data `npm run bench` generates (scripts/benchData.ts).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineAssets } from '../src/engine/index';
import { EngineClient } from '../src/engine/worker/client';
import type { RunPayload, WhatIfPayload } from '../src/engine/worker/protocol';
import { gridColumns } from '../src/shared/grid';
import { LineageGraph, segmentation } from '../src/shared/lineageGraph';
import { benchData } from './benchData';

const CUSTOMERS = 100_000;
const RUNS = 20;
const root = path.resolve(__dirname, '..', '..');
const assets: EngineAssets = {
  wasmPath: path.join(root, 'dist', 'sql-wasm.wasm'),
  sampleDir: path.join(root, 'sample'),
  jinjaDir: path.join(root, 'dist', 'minijinja'),
};
const cacheDir = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'segment-lens-bench');
const seedModel = readFileSync(path.join(root, 'sample', 'models', 'customer_segments.sql'), 'utf8');

async function main() {
  const data = await benchData(cacheDir, CUSTOMERS, seedModel);
  const engine = new EngineClient(path.join(root, 'dist', 'worker.js'), assets);
  try {
    const request = {
      workspaceDir: data.dir,
      settings: { model: data.model, connection: { type: 'sqlite', path: 'warehouse.db' } },
      env: {},
    };
    const started = performance.now();
    const first = await engine.request<RunPayload>({ type: 'run', request, assets });
    if (!first.ok) throw new Error(first.error.message);
    const firstMs = performance.now() - started;
    const { lineage, result } = first.result;
    const literals = segmentation(new LineageGraph(lineage!), gridColumns(result.columns).segmentColumn)?.literals;
    const gold = literals?.find((literal) => literal.value === 5000);
    if (!gold) throw new Error('the model has no threshold 5000');
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const value = 4000 + run * 100;
      const begun = performance.now();
      const answer = await engine.request<WhatIfPayload>({
        type: 'whatIf',
        overrides: [{ offset: gold.offset, length: gold.length, value }],
      });
      if (!answer.ok || !answer.result.grid.ok) throw new Error(answer.ok ? 'no grid' : answer.error.message);
      times.push(performance.now() - begun);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1);
    console.log(
      `${CUSTOMERS.toLocaleString('en')} customers (SQLite file), seed model, Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}`,
    );
    console.log(`first run (worker start, load, layout, query, lineage) ${firstMs.toFixed(0)} ms`);
    console.log(
      `what-if re-run (Gold threshold 5000 → 4000…5900, query and grid in the worker, round trip), ${RUNS} runs: median ${at(0.5)} ms · p95 ${at(0.95)} ms · max ${at(1)} ms (target ≤ 300 ms)`,
    );
  } finally {
    engine.dispose();
  }
}

void main();
