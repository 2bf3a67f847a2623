// `npm run bench [-- --5m] [--json] [--runs N] [--csv]`: the seed model at 100k and 1M customers (5M with --5m), measured
// side by side on the same files, median of N runs: Segment Lens first run (a cold engine worker, as after a
// restart: worker start, file load, layout, query) from the SQLite file and from the CSV seeds, Segment Lens re-run
// after a model edit (data kept in memory), native SQLite (better-sqlite3) on the same file, DuckDB on the same
// CSVs, the CLI one-shot vs the sqlite3 shell, peak memory, and the longest event-loop stall of this (calling)
// thread while a run is in flight. Prints a table, or one JSON object with --json. Asserts nothing. With --csv: CSV
// ingestion only (bench-csv.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DuckDBInstance } from '@duckdb/node-api';
import { EngineClient } from '../src/engine/worker/client';
import type { EngineAssets } from '../src/engine/index';
import type { RunPayload } from '../src/engine/worker/protocol';
import { benchData, type BenchData } from './benchData';
import { csvBench } from './bench-csv';
import { benchDag } from './bench-dag';
import { median, watched } from './benchStats';

const args = process.argv.slice(2);
const json = args.includes('--json');
const runsIndex = args.indexOf('--runs');
const RUNS = runsIndex >= 0 ? Number(args[runsIndex + 1]) : 5;
const sizes = [100_000, 1_000_000, ...(args.includes('--5m') ? [5_000_000] : [])];
const root = path.resolve(__dirname, '..', '..');
const assets: EngineAssets = {
  wasmPath: path.join(root, 'dist', 'sql-wasm.wasm'),
  sampleDir: path.join(root, 'sample'),
  jinjaDir: path.join(root, 'dist', 'minijinja'),
};
const cacheDir = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'segment-lens-bench');
const seedModel = readFileSync(path.join(root, 'sample', 'models', 'customer_segments.sql'), 'utf8');
const plainSql = seedModel
  .replace('intermediate.int_customer_metrics', 'int_customer_metrics')
  .replace('staging.stg_customers', 'stg_customers');
const log = (...parts: unknown[]) => {
  if (!json) console.error(...parts);
};

async function segmentLens(data: BenchData, connection: object, runs: number) {
  const settings = { model: data.model, connection };
  const first: number[] = [];
  const rerun: number[] = [];
  let stallMs = 0;
  let peakRssMb = 0;
  let rows = 0;
  for (let run = 0; run < runs; run++) {
    writeFileSync(data.model, seedModel);
    const engine = new EngineClient(path.join(root, 'dist', 'worker.js'), assets);
    try {
      const cold = await watched(() =>
        engine.request<RunPayload>({ type: 'run', request: { workspaceDir: data.dir, settings, env: {} }, assets }),
      );
      if (!cold.value.ok) throw new Error(cold.value.error.message);
      rows = cold.value.result.result.cteRowCounts.base;
      first.push(cold.ms);
      // The user edits a threshold and saves: same data, new SQL.
      writeFileSync(data.model, seedModel.replace('>= 10000', `>= ${10001 + run}`));
      const warm = await watched(() =>
        engine.request<RunPayload>({ type: 'run', request: { workspaceDir: data.dir, settings, env: {} }, assets }),
      );
      if (!warm.value.ok || !warm.value.result.result.timings.dataReused)
        throw new Error('the re-run did not reuse the loaded data');
      rerun.push(warm.ms);
      stallMs = Math.max(stallMs, cold.stallMs, warm.stallMs);
      peakRssMb = Math.max(peakRssMb, cold.peakRssMb, warm.peakRssMb);
    } finally {
      engine.dispose();
    }
  }
  writeFileSync(data.model, seedModel);
  return { firstMs: median(first), rerunMs: median(rerun), stallMs, peakRssMb, baseRows: rows };
}

function nativeSqlite(data: BenchData, runs: number): number {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const db = new BetterSqlite3(data.sqlite, { readonly: true });
    db.prepare(plainSql).all();
    db.close();
    times.push(performance.now() - started);
  }
  return median(times);
}

async function duckdb(data: BenchData, runs: number): Promise<number> {
  const times: number[] = [];
  const csv = (file: string) => `'${path.join(data.seeds, file).replaceAll("'", "''")}'`;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      `CREATE VIEW int_customer_metrics AS SELECT * FROM read_csv_auto(${csv('intermediate/int_customer_metrics.csv')})`,
    );
    await connection.run(
      `CREATE VIEW stg_customers AS SELECT * FROM read_csv_auto(${csv('staging/stg_customers.csv')})`,
    );
    await connection.runAndReadAll(plainSql);
    connection.closeSync();
    instance.closeSync();
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Wall time of whole commands: our CLI one-shot on the SQLite file, and the sqlite3 shell (if installed). */
function oneShots(data: BenchData, runs: number): { cliMs: number; sqlite3Ms: number | null } {
  const timeCommand = (command: string, commandArgs: string[], input?: string) => {
    const started = performance.now();
    const result = spawnSync(command, commandArgs, { input, encoding: 'utf8', stdio: ['pipe', 'ignore', 'pipe'] });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
    return performance.now() - started;
  };
  const settingsDir = path.join(data.dir, '.vscode');
  execFileSync('mkdir', ['-p', settingsDir]);
  writeFileSync(
    path.join(settingsDir, 'settings.json'),
    JSON.stringify({
      'segmentLens.model': 'models/customer_segments.sql',
      'segmentLens.connection': { type: 'sqlite', path: 'warehouse.db' },
    }),
  );
  const cli = Array.from({ length: runs }, () =>
    timeCommand(process.execPath, [
      path.join(root, 'dist', 'cli.js'),
      'run',
      '--workspace',
      data.dir,
      '--format',
      'json',
    ]),
  );
  const hasShell = spawnSync('sqlite3', ['-version']).status === 0;
  const shell = hasShell
    ? Array.from({ length: runs }, () => timeCommand('sqlite3', ['-readonly', data.sqlite], `${plainSql};\n`))
    : [];
  return { cliMs: median(cli), sqlite3Ms: hasShell ? median(shell) : null };
}

async function main() {
  const results: Record<string, unknown>[] = [];
  for (const customers of sizes) {
    log(`\n${customers.toLocaleString('en')} customers: preparing data in ${cacheDir}`);
    const data = await benchData(cacheDir, customers, seedModel);
    if (args.includes('--csv')) {
      const firstRun = () => segmentLens(data, { type: 'csv', directory: 'seeds' }, RUNS);
      results.push(await csvBench({ data, customers, runs: RUNS, wasmPath: assets.wasmPath, firstRun, log }));
      continue;
    }
    const csvRuns = customers >= 5_000_000 ? 1 : RUNS;
    log('  Segment Lens from the SQLite file…');
    const fromSqlite = await segmentLens(data, { type: 'sqlite', path: 'warehouse.db' }, RUNS);
    log('  Segment Lens from the CSV seeds…');
    const fromCsv = await segmentLens(data, { type: 'csv', directory: 'seeds' }, csvRuns);
    log('  native SQLite…');
    const native = nativeSqlite(data, RUNS);
    log('  DuckDB…');
    const duck = await duckdb(data, RUNS);
    log('  one-shot commands…');
    const shots = oneShots(data, Math.min(RUNS, 3));
    results.push({
      customers,
      baseRows: fromSqlite.baseRows,
      segmentLensFirstRunSqliteMs: Math.round(fromSqlite.firstMs),
      segmentLensFirstRunCsvMs: Math.round(fromCsv.firstMs),
      segmentLensRerunMs: Math.round(fromSqlite.rerunMs),
      nativeSqliteMs: Math.round(native),
      duckdbCsvMs: Math.round(duck),
      cliOneShotMs: Math.round(shots.cliMs),
      sqlite3ShellMs: shots.sqlite3Ms === null ? null : Math.round(shots.sqlite3Ms),
      peakRssMb: Math.round(Math.max(fromSqlite.peakRssMb, fromCsv.peakRssMb)),
      longestStallMs: Math.round(Math.max(fromSqlite.stallMs, fromCsv.stallMs)),
      ratios: {
        rerunVsNativeSqlite: +(fromSqlite.rerunMs / native).toFixed(2),
        rerunVsDuckdb: +(fromSqlite.rerunMs / duck).toFixed(2),
        firstRunSqliteVsNativeSqlite: +(fromSqlite.firstMs / native).toFixed(2),
        firstRunCsvVsDuckdb: +(fromCsv.firstMs / duck).toFixed(2),
        cliVsSqlite3Shell: shots.sqlite3Ms === null ? null : +(shots.cliMs / shots.sqlite3Ms).toFixed(2),
      },
    });
  }
  const machine = {
    date: new Date().toISOString().slice(0, 10),
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    runs: RUNS,
  };
  if (json) {
    console.log(JSON.stringify({ machine, results }, null, 2));
    return;
  }
  if (args.includes('--csv')) {
    console.log(`\n${machine.date} · Node ${machine.node} · ${machine.cpus} × ${machine.cpu} · median of ${RUNS}`);
    console.table(results);
    return;
  }
  const header = [
    'customers',
    'SL first (SQLite)',
    'SL first (CSV)',
    'SL re-run',
    'native SQLite',
    'DuckDB (CSV)',
    'CLI one-shot',
    'sqlite3 shell',
    'peak RSS',
    'max stall',
  ];
  const lines = results.map((row) => [
    Number(row.customers).toLocaleString('en'),
    `${row.segmentLensFirstRunSqliteMs} ms`,
    `${row.segmentLensFirstRunCsvMs} ms`,
    `${row.segmentLensRerunMs} ms`,
    `${row.nativeSqliteMs} ms`,
    `${row.duckdbCsvMs} ms`,
    `${row.cliOneShotMs} ms`,
    row.sqlite3ShellMs === null ? 'n/a' : `${row.sqlite3ShellMs} ms`,
    `${row.peakRssMb} MB`,
    `${row.longestStallMs} ms`,
  ]);
  const widths = header.map((title, index) => Math.max(title.length, ...lines.map((line) => line[index].length)));
  const format = (cells: string[]) => `| ${cells.map((cell, index) => cell.padStart(widths[index])).join(' | ')} |`;
  console.log(
    `\n${machine.date} · Node ${machine.node} · ${machine.cpus} × ${machine.cpu} · ${machine.memoryGb} GiB · median of ${RUNS}`,
  );
  console.log(format(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const line of lines) console.log(format(line));
  for (const row of results)
    console.log(`${Number(row.customers).toLocaleString('en')}: ${JSON.stringify(row.ratios)}`);
}

// --dag: the jaffle-shop-shaped DAG at size (bench-dag.ts).
void (args.includes('--dag') ? benchDag(args) : main());
