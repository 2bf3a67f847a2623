// Measures a pull: the sample model's columns of 1,000,000 customers (and their metrics) from a throwaway PostgreSQL
// server into sql.js, then the grid; against psql running the same model on the same server. Prints; asserts nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runModel } from '../src/engine/index';

const CUSTOMERS = Number(process.env.SEGMENT_LENS_BENCH_CUSTOMERS ?? 1_000_000);
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
    psql(server: Server, database: string, sql: string): string;
  };
  const { bin, reason } = module.ensurePostgres();
  if (!bin) throw new Error(reason);
  const server = await module.startPostgres({ bin });
  const dir = mkdtempSync(path.join(tmpdir(), 'segment-lens-bench-postgres-'));
  try {
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
    );
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
      timeoutSeconds: 600,
    };
    const heapBefore = process.memoryUsage().rss;
    const started = performance.now();
    const env = { BENCH_PG_PASSWORD: server.adminPassword };
    const outcome = await runModel({ workspaceDir: dir, settings, env, homeDir: dir }, assets);
    const ms = performance.now() - started;
    if (!outcome.ok) throw new Error(outcome.error.message);
    const bytes = Number(
      module
        .psql(
          server,
          'postgres',
          `\\pset tuples_only on
           SELECT sum(pg_column_size(t)) FROM (SELECT customer_id, first_name, last_name, region FROM staging.stg_customers) t;
           SELECT sum(pg_column_size(t)) FROM (SELECT customer_id, total_spent, total_orders, avg_order_value FROM intermediate.int_customer_metrics) t;`,
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
    console.log(`customers: ${CUSTOMERS.toLocaleString('en')}`);
    console.log(`source: ${outcome.result.source.description}`);
    console.log(
      `run (pull + grid): ${(ms / 1000).toFixed(2)} s; ${(bytes / 1024 ** 2).toFixed(0)} MB of column data, ${(bytes / 1024 ** 2 / (ms / 1000)).toFixed(1)} MB/s`,
    );
    console.log(
      `grid rows: ${outcome.result.rows.length}; process RSS grew ${((process.memoryUsage().rss - heapBefore) / 1024 ** 2).toFixed(0)} MB`,
    );
    console.log(`psql, the same model on the server: ${(psqlMs / 1000).toFixed(2)} s`);
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
