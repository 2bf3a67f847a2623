// Measures pushdown, then a pull: the sample model run on a throwaway PostgreSQL server with 1,000,000 customers
// (SEGMENT_LENS_BENCH_CUSTOMERS) and its grid built from the server's result; then its columns pulled into sql.js
// (when they fit segmentLens.pull.maxRows) and the grid; both against psql running the same model on the same
// server. Pushdown runs first, so the RSS it adds, and the process's peak RSS after it, are its own. Prints; asserts
// nothing. SEGMENT_LENS_BENCH_TIMEOUT sets the statement timeout in seconds (default 3600: 50M rows on 2 cores).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runModel } from '../src/engine/index';
import { DEFAULT_PULL_MAX_ROWS } from '../src/engine/settings';

const CUSTOMERS = Number(process.env.SEGMENT_LENS_BENCH_CUSTOMERS ?? 1_000_000);
const TIMEOUT_SECONDS = Number(process.env.SEGMENT_LENS_BENCH_TIMEOUT ?? 3600);
const megabytes = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MB`;
/** The process's peak resident set so far (resourceUsage reports kilobytes). */
const peakRss = () => process.resourceUsage().maxRSS * 1024;
const root = path.join(__dirname, '..', '..');
const assets = {
  wasmPath: path.join(root, 'dist', 'sql-wasm.wasm'),
  sampleDir: path.join(root, 'sample'),
  jinjaDir: path.join(root, 'dist', 'minijinja'),
};

interface Server {
  host: string;
  port: number;
  socketDir: string;
  adminUser: string;
  adminPassword: string;
  bin: string;
  stop(): void;
}

async function main() {
  const module = (await import(pathToFileURL(path.join(root, 'scripts', 'postgres-server.mjs')).href)) as {
    ensurePostgres(): { bin?: string; reason?: string };
    startPostgres(options: { bin?: string }): Promise<Server>;
    psql(server: Server, database: string, sql: string, timeoutMs?: number): string;
  };
  const { bin, reason } = module.ensurePostgres();
  if (!bin) throw new Error(reason);
  const server = await module.startPostgres({ bin });
  const dir = mkdtempSync(path.join(tmpdir(), 'segment-lens-bench-postgres-'));
  try {
    const loadStarted = performance.now();
    module.psql(
      server,
      'postgres',
      `CREATE SCHEMA staging; CREATE SCHEMA intermediate;
       CREATE TABLE staging.stg_customers AS
         SELECT g AS customer_id, 'First' || g AS first_name, 'Last' || g AS last_name,
                (ARRAY['North America','Europe','Asia Pacific','Latin America','Middle East & Africa'])[1 + g % 5] AS region,
                'c' || g || '@example.com' AS email, DATE '2021-01-01' + g % 1000 AS signup_date
           FROM generate_series(1, ${CUSTOMERS}) g;
       CREATE TABLE intermediate.int_customer_metrics AS
         SELECT g AS customer_id, 1 + g % 30 AS total_orders, ((g::bigint * 7919) % 2000000) / 100.0 AS total_spent,
                ((g::bigint * 7919) % 2000000) / 100.0 / (1 + g % 30) AS avg_order_value
           FROM generate_series(1, ${CUSTOMERS}) g WHERE g % 10 <> 0;
       ANALYZE;`,
      TIMEOUT_SECONDS * 1000,
    );
    console.log(`test data generated on the server in ${((performance.now() - loadStarted) / 1000).toFixed(0)} s`);
    mkdirSync(path.join(dir, 'models'));
    const sql = readFileSync(path.join(root, 'sample', 'models', 'customer_segments.sql'), 'utf8');
    writeFileSync(path.join(dir, 'models', 'segments.sql'), sql);
    const settings = {
      model: 'models/segments.sql',
      connection: {
        type: 'postgres',
        host: server.host,
        port: server.port,
        database: 'postgres',
        user: server.adminUser,
        passwordEnv: 'BENCH_PG_PASSWORD',
      },
      timeoutSeconds: TIMEOUT_SECONDS,
    };
    const env = { BENCH_PG_PASSWORD: server.adminPassword };
    console.log(`customers: ${CUSTOMERS.toLocaleString('en')}`);
    const pushRssBefore = process.memoryUsage().rss;
    console.log(`process RSS before the runs: ${megabytes(pushRssBefore)} (peak so far ${megabytes(peakRss())})`);
    const pushStarted = performance.now();
    const pushed = await runModel(
      { workspaceDir: dir, settings: { ...settings, postgresMode: 'pushdown' }, env, homeDir: dir },
      assets,
    );
    const pushMs = performance.now() - pushStarted;
    if (!pushed.ok) throw new Error(pushed.error.message);
    console.log(`source: ${pushed.result.source.description}`);
    console.log(
      `run (pushdown + grid): ${(pushMs / 1000).toFixed(2)} s; grid rows ${pushed.result.rows.length}; process RSS grew ${megabytes(process.memoryUsage().rss - pushRssBefore)}; peak RSS ${megabytes(peakRss())}`,
    );
    const pullable = CUSTOMERS * 1.9 <= DEFAULT_PULL_MAX_ROWS;
    const heapBefore = process.memoryUsage().rss;
    const started = performance.now();
    const outcome = pullable
      ? await runModel(
          { workspaceDir: dir, settings: { ...settings, postgresMode: 'pull' }, env, homeDir: dir },
          assets,
        )
      : undefined;
    const ms = performance.now() - started;
    if (outcome && !outcome.ok) throw new Error(outcome.error.message);
    // The column data pulled, in bytes: only when there was a pull (at 50M the sums scan 95M rows for nothing).
    const bytes = !outcome
      ? 0
      : Number(
          module
            .psql(
              server,
              'postgres',
              `\\pset tuples_only on
           SELECT sum(pg_column_size(t)) FROM (SELECT customer_id, first_name, last_name, region FROM staging.stg_customers) t;
           SELECT sum(pg_column_size(t)) FROM (SELECT customer_id, total_spent, total_orders, avg_order_value FROM intermediate.int_customer_metrics) t;`,
              TIMEOUT_SECONDS * 1000,
            )
            .split('\n')
            .filter((line) => line.trim())
            .reduce((sum, line) => sum + Number(line.trim()), 0),
        );
    const psqlStarted = performance.now();
    const native = spawnSync(
      path.join(server.bin, 'psql'),
      [
        '-X',
        '-q',
        '-h',
        server.socketDir,
        '-p',
        String(server.port),
        '-U',
        server.adminUser,
        '-d',
        'postgres',
        '-c',
        sql,
      ],
      { encoding: 'utf8' },
    );
    const psqlMs = performance.now() - psqlStarted;
    if (native.status !== 0) throw new Error(native.stderr);
    console.log(`psql, the same model on the server: ${(psqlMs / 1000).toFixed(2)} s`);
    if (!outcome) return console.log('pull: skipped (past segmentLens.pull.maxRows)');
    console.log(`source: ${outcome.result.source.description}`);
    console.log(
      `run (pull + grid): ${(ms / 1000).toFixed(2)} s; ${(bytes / 1024 ** 2).toFixed(0)} MB of column data, ${(bytes / 1024 ** 2 / (ms / 1000)).toFixed(1)} MB/s`,
    );
    console.log(
      `grid rows: ${outcome.result.rows.length}; process RSS grew ${((process.memoryUsage().rss - heapBefore) / 1024 ** 2).toFixed(0)} MB`,
    );
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
