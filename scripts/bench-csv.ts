// `npm run bench -- --csv [--5m] [--json] [--runs N]`: CSV seed ingestion, side by side on the same files, median of
// N runs: Segment Lens's loader (in this process, both seeds into one sql.js database, types inferred) against the
// `sqlite3` shell's `.import --csv` into an in-memory database (every value kept as text), in MB/s of CSV; then the
// Segment Lens first run from the CSV seeds (a cold engine worker: load, layout, query) with its peak memory.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadCsvTable } from '../src/engine/data/csvLoader';
import { loadSqlJs } from '../src/engine/data/sqljs';
import type { BenchData } from './benchData';
import { median } from './benchStats';

export interface CsvBenchOptions {
  data: BenchData;
  customers: number;
  runs: number;
  wasmPath: string;
  /** The Segment Lens first run from the CSV seeds, as bench.ts measures it. */
  firstRun: () => Promise<{ firstMs: number; peakRssMb: number }>;
  log: (...parts: unknown[]) => void;
}

export async function csvBench({ data, customers, runs, wasmPath, firstRun, log }: CsvBenchOptions) {
  const files = [
    path.join(data.seeds, 'staging', 'stg_customers.csv'),
    path.join(data.seeds, 'intermediate', 'int_customer_metrics.csv'),
  ];
  const megabytes = files.reduce((sum, file) => sum + statSync(file).size, 0) / 1e6;
  const SQL = await loadSqlJs(wasmPath);
  const hasShell = spawnSync('sqlite3', ['-version']).status === 0;
  log(
    `  our loader${hasShell ? ' and the sqlite3 shell’s .import, run by run,' : ' (no sqlite3 shell)'} on ${megabytes.toFixed(1)} MB of CSV…`,
  );
  // Alternated run by run, so that both meet the same load from the rest of the machine.
  const ours: number[] = [];
  const shell: number[] = [];
  for (let run = 0; run < runs; run++) {
    const db = new SQL.Database();
    let started = performance.now();
    for (const file of files) await loadCsvTable(db, path.basename(file, '.csv'), file);
    ours.push(performance.now() - started);
    db.close();
    if (!hasShell) continue;
    const imports = files.map((file) => `.import --csv '${file}' ${path.basename(file, '.csv')}`);
    started = performance.now();
    const result = spawnSync('sqlite3', [':memory:', ...imports], { encoding: 'utf8' });
    if (result.status !== 0 || result.stderr) throw new Error(`sqlite3 failed: ${result.stderr}`);
    shell.push(performance.now() - started);
  }
  log('  Segment Lens first run from the CSV seeds…');
  const first = await firstRun();
  const loaderMs = median(ours);
  const shellMs = hasShell ? median(shell) : null;
  return {
    customers,
    csvMegabytes: +megabytes.toFixed(1),
    loaderMs: Math.round(loaderMs),
    loaderMbPerS: +(megabytes / (loaderMs / 1000)).toFixed(1),
    sqlite3ImportMs: shellMs === null ? null : Math.round(shellMs),
    sqlite3ImportMbPerS: shellMs === null ? null : +(megabytes / (shellMs / 1000)).toFixed(1),
    firstRunCsvMs: Math.round(first.firstMs),
    firstRunPeakRssMb: Math.round(first.peakRssMb),
    // Other work on the machine slows both sides alike; this says how much there was.
    loadAverage: +os.loadavg()[0].toFixed(1),
  };
}
