// Measures a threshold edit in the jaffle_shop segment model: the re-run with the upstream models already built (the
// data kept in memory, as the engine worker keeps it). Prints; asserts nothing.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DataCache, ModelSession } from '../src/engine/index';

const RUNS = 20;
const root = path.join(__dirname, '..', '..');
const assets = {
  wasmPath: path.join(root, 'dist', 'sql-wasm.wasm'),
  sampleDir: path.join(root, 'sample'),
  jinjaDir: path.join(root, 'dist', 'minijinja'),
};
const seeds = [
  process.env.SEGMENT_LENS_JAFFLE_SEEDS,
  path.resolve(root, '..', 'shared', 'dbt-projects', 'jaffle_shop_seeds'),
  '/work/shared/dbt-projects/jaffle_shop_seeds',
].find((dir) => dir && readFileSafe(path.join(dir, 'raw_customers.csv')))!;

function readFileSafe(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'segment-lens-bench-upstream-'));
  try {
    cpSync(path.join(root, 'test', 'fixtures', 'jaffle_shop'), dir, {
      recursive: true,
      filter: (src) => path.basename(src) !== 'expected',
    });
    for (const seed of ['raw_customers.csv', 'raw_orders.csv', 'raw_payments.csv'])
      cpSync(path.join(seeds, seed), path.join(dir, 'seeds', seed));
    const modelFile = path.join(dir, 'models', 'marts', 'customer_segments.sql');
    const model = readFileSync(modelFile, 'utf8');
    const threshold = /(>=\s*)(\d+)/.exec(model)!;
    const request = {
      workspaceDir: dir,
      settings: { model: 'models/marts/customer_segments.sql', connection: { type: 'csv', directory: 'seeds' } },
      env: {},
    };
    const cache = new DataCache();
    const once = async () => {
      const started = performance.now();
      const session = await ModelSession.open(request, assets, cache);
      const result = await session.run();
      // The worker answers a run with its lineage across the DAG too (worker.ts).
      session.lineage();
      session.close();
      return { ms: performance.now() - started, result };
    };
    const first = await once();
    const times: number[] = [];
    for (let index = 0; index < RUNS; index++) {
      writeFileSync(modelFile, model.replace(threshold[0], `${threshold[1]}${Number(threshold[2]) + index + 1}`));
      const { ms, result } = await once();
      if (result.upstream.built.length) throw new Error(`a threshold edit rebuilt ${result.upstream.built.join(', ')}`);
      times.push(ms);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1);
    console.log(
      `jaffle_shop segment model over CSV seeds, ${first.result.upstream.relations.length} upstream relations, Node ${process.version}`,
    );
    console.log(`first run (load, build upstream, layout, query) ${first.ms.toFixed(1)} ms`);
    console.log(
      `re-run after a threshold edit (query and lineage across the DAG), ${RUNS} runs: median ${at(0.5)} ms · p95 ${at(0.95)} ms · max ${at(1)} ms (nothing rebuilt)`,
    );
    cache.clear();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
