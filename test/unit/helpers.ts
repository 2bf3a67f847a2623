// Shared test fixtures: real files in a temp folder, data generated here and its expected result computed here,
// independently of the engine (plain JavaScript, or native SQLite through better-sqlite3).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { modelLineage, type EngineAssets, type Lineage } from '../../src/engine/index';
import { LensError } from '../../src/engine/errors';
import { jinjaRuntime } from '../../src/engine/model/jinjaRuntime';
import assert from 'node:assert/strict';
import { copyJaffleShop, jaffleSeeds as jaffleSeedsOf } from '../jaffleShop';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const assets: EngineAssets = {
  wasmPath: path.join(repoRoot, 'dist', 'sql-wasm.wasm'),
  sampleDir: path.join(repoRoot, 'sample'),
  jinjaDir: path.join(repoRoot, 'dist', 'minijinja'),
};
/** MiniJinja from the build, as the engine loads it. */
export const jinja = jinjaRuntime(assets.jinjaDir);

export { dbtProject } from '../../src/engine/model/dbtProject';

/** jaffle_shop's real seeds (see test/jaffleShop.ts). */
export function jaffleSeeds(): string {
  return jaffleSeedsOf(repoRoot);
}

/** The jaffle_shop fixture project (test/fixtures/jaffle_shop) with its three seeds, in a fresh workspace. */
export function jaffleShopWorkspace(): string {
  const dir = path.join(tempWorkspace(), 'jaffle_shop');
  copyJaffleShop(repoRoot, dir);
  return dir;
}

/** A model's lineage (across the models it stands on) over the CSV seeds in `dir/seeds`. */
export async function seedsLineage(dir: string, model: string): Promise<Lineage> {
  const outcome = await modelLineage(
    { workspaceDir: dir, settings: { model, connection: { type: 'csv', directory: 'seeds' } }, env: {} },
    assets,
  );
  if (!outcome.ok) assert.fail(JSON.stringify(outcome.error));
  return outcome.result.lineage;
}

export const cliPath = path.join(repoRoot, 'dist', 'cli.js');
export const sampleModel = readFileSync(path.join(repoRoot, 'sample', 'models', 'customer_segments.sql'), 'utf8');

const workspaces: string[] = [];
after(() => workspaces.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

export function tempWorkspace(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'segment-lens-test-'));
  workspaces.push(dir);
  return dir;
}

export function write(dir: string, relative: string, content: string | Uint8Array): string {
  const file = path.join(dir, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

/** SHA-256 of every file under `dir`, to prove a run changed nothing. */
export function hashTree(dir: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, name);
    if (statSync(file).isFile()) hashes[name] = createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  return hashes;
}

export interface Customer {
  customer_id: number;
  first_name: string | null;
  last_name: string | null;
  region: string | null;
}

export interface Metric {
  customer_id: number;
  total_spent: number | null;
  total_orders: number;
  avg_order_value: number | null;
}

/** A small shop with awkward content: commas, quotes, line breaks and accents in names, NULL regions, customers without metrics. */
export function makeShop(count = 240, seed = 7): { customers: Customer[]; metrics: Metric[] } {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const regions = ['North', 'South', 'East', 'West, Coast', 'Zürich "Central"'];
  const names = ['Ann', 'Bob, Jr.', 'Zoë', 'Li "Lee"', 'Multi\nLine', "O'Neil", '=SUM(A1)'];
  const customers: Customer[] = [];
  const metrics: Metric[] = [];
  for (let id = 1; id <= count; id++) {
    customers.push({
      customer_id: id,
      first_name: names[Math.floor(random() * names.length)],
      last_name: random() < 0.05 ? null : `Last${id}`,
      region: random() < 0.05 ? null : regions[Math.floor(random() * regions.length)],
    });
    if (random() < 0.1) continue;
    const orders = 1 + Math.floor(random() * 30);
    // Spend spans every segment; a few values sit exactly on a threshold.
    const spent =
      random() < 0.05 ? [1000, 5000, 10000][Math.floor(random() * 3)] : Math.round(random() * random() * 2000000) / 100;
    metrics.push({
      customer_id: id,
      total_spent: spent,
      total_orders: orders,
      avg_order_value: random() < 0.05 ? null : Math.round((spent / orders) * 100) / 100,
    });
  }
  // Metrics for a customer nobody knows: the inner join drops them.
  metrics.push({ customer_id: count + 1000, total_spent: 99999, total_orders: 3, avg_order_value: 33333 });
  return { customers, metrics };
}

export interface ExpectedRow {
  region: string | null;
  customer_segment: string;
  customer_count: number;
  avg_ltv: number;
  avg_orders: number;
}

/** The seed model computed in plain JavaScript. */
export function expectedSegments(
  shop: { customers: Customer[]; metrics: Metric[] },
  thresholds = { Platinum: 10000, Gold: 5000, Silver: 1000 },
): ExpectedRow[] {
  const byId = new Map(shop.customers.map((customer) => [customer.customer_id, customer]));
  const groups = new Map<
    string,
    { region: string | null; segment: string; ids: Set<number>; spent: number[]; orders: number[] }
  >();
  for (const metric of shop.metrics) {
    const customer = byId.get(metric.customer_id);
    if (!customer) continue;
    const spent = metric.total_spent;
    const segment =
      spent === null
        ? 'Bronze'
        : spent >= thresholds.Platinum
          ? 'Platinum'
          : spent >= thresholds.Gold
            ? 'Gold'
            : spent >= thresholds.Silver
              ? 'Silver'
              : 'Bronze';
    const key = JSON.stringify([customer.region, segment]);
    const group = groups.get(key) ?? { region: customer.region, segment, ids: new Set(), spent: [], orders: [] };
    group.ids.add(metric.customer_id);
    if (spent !== null) group.spent.push(spent);
    group.orders.push(metric.total_orders);
    groups.set(key, group);
  }
  const round2 = (value: number) => Math.round(value * 100) / 100;
  const average = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  return [...groups.values()]
    .map((group) => ({
      region: group.region,
      customer_segment: group.segment,
      customer_count: group.ids.size,
      avg_ltv: round2(average(group.spent)),
      avg_orders: round2(average(group.orders)),
    }))
    .sort((a, b) =>
      a.region === b.region
        ? b.avg_ltv - a.avg_ltv
        : a.region === null
          ? -1
          : b.region === null
            ? 1
            : a.region < b.region
              ? -1
              : 1,
    );
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A row with (at least) the given columns; the values are whatever the test wants stored, text in a number column included. */
export type Row<Column extends string> = { readonly [Name in Column]: unknown };

/** A table to write: its columns, in order, and rows that have each of them. */
export interface Table<Column extends string> {
  columns: readonly Column[];
  rows: readonly Row<Column>[];
}

/** `rows` as CSV text with a header of `columns`. */
export function toCsvText<Column extends string>(
  rows: readonly Row<NoInfer<Column>>[],
  columns: readonly Column[],
  lineEnd = '\n',
): string {
  return (
    [columns.join(','), ...rows.map((row) => columns.map((column) => csvField(row[column])).join(','))].join(lineEnd) +
    lineEnd
  );
}

export const customerColumns = ['customer_id', 'first_name', 'last_name', 'region'] as const;
export const metricColumns = ['customer_id', 'total_spent', 'total_orders', 'avg_order_value'] as const;

export type CustomerRow = Row<(typeof customerColumns)[number]>;
export type MetricRow = Row<(typeof metricColumns)[number]>;

/** Writes tables into a SQLite file with native SQLite; each table's rows must have its columns. */
export function writeSqlite<Columns extends Record<string, string>>(
  file: string,
  tables: { [Name in keyof Columns]: Table<Columns[Name]> },
): string {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new BetterSqlite3(file);
  for (const [name, table] of Object.entries<Table<string>>(tables)) {
    const types: Record<string, string> = {
      customer_id: 'INTEGER',
      total_spent: 'REAL',
      total_orders: 'INTEGER',
      avg_order_value: 'REAL',
    };
    db.exec(
      `CREATE TABLE "${name}" (${table.columns.map((column) => `"${column}" ${types[column] ?? 'TEXT'}`).join(', ')})`,
    );
    const insert = db.prepare(`INSERT INTO "${name}" VALUES (${table.columns.map(() => '?').join(', ')})`);
    db.transaction(() =>
      table.rows.forEach((row) => insert.run(...table.columns.map((column) => row[column] ?? null))),
    )();
  }
  db.close();
  return file;
}

/** The two tables of the seed model's warehouse, as a shop (or a variant of one) fills them. */
export interface ShopTables {
  customers: readonly CustomerRow[];
  metrics: readonly MetricRow[];
}

/** The shop as one SQLite file holding int_customer_metrics and stg_customers (the model's tables, unqualified). */
export function writeShopSqlite(file: string, shop: ShopTables): string {
  return writeSqlite(file, {
    int_customer_metrics: { columns: metricColumns, rows: shop.metrics },
    stg_customers: { columns: customerColumns, rows: shop.customers },
  });
}

/** How one seed file is written: a UTF-8 BOM first, and its line ends. */
export interface SeedFileOptions {
  bom?: boolean;
  lineEnd?: string;
}

/**
 * The shop as CSV seeds in `seedsDir`: int_customer_metrics.csv and stg_customers.csv, flat or (`schemaFolders`) in
 * intermediate/ and staging/ as the model's schemas. Returns the files written.
 */
export function writeShopSeeds(
  seedsDir: string,
  shop: ShopTables,
  options: { schemaFolders?: boolean; metrics?: SeedFileOptions; customers?: SeedFileOptions } = {},
): { metrics: string; customers: string } {
  const seed = <Column extends string>(
    schema: string,
    table: string,
    rows: readonly Row<Column>[],
    columns: readonly Column[],
    how: SeedFileOptions = {},
  ) =>
    write(
      seedsDir,
      path.join(options.schemaFolders ? schema : '', `${table}.csv`),
      `${how.bom ? '\uFEFF' : ''}${toCsvText(rows, columns, how.lineEnd)}`,
    );
  return {
    metrics: seed('intermediate', 'int_customer_metrics', shop.metrics, metricColumns, options.metrics),
    customers: seed('staging', 'stg_customers', shop.customers, customerColumns, options.customers),
  };
}

/** Runs SQL with native SQLite on the given files (first is main), for results to compare with. */
export function nativeQuery(main: string, attach: Record<string, string>, sql: string): Record<string, unknown>[] {
  const db = new BetterSqlite3(main, { readonly: true });
  try {
    for (const [schema, file] of Object.entries(attach))
      db.exec(`ATTACH '${file.replaceAll("'", "''")}' AS "${schema}"`);
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** The seed model with the given table names in place of the spec's qualified names. */
export function seedModel(metricsTable: string, customersTable: string): string {
  return sampleModel
    .replace('intermediate.int_customer_metrics', metricsTable)
    .replace('staging.stg_customers', customersTable);
}

/** The LensError `work` throws; fails the test if it throws nothing (any other error propagates). */
export function thrownLensError(work: () => unknown, expected: string): LensError {
  try {
    work();
  } catch (error) {
    if (error instanceof LensError) return error;
    throw error;
  }
  return assert.fail(`expected ${expected}`);
}

/**
 * A copy of the SQLite file `from` whose every page but the first (the header and the schema) is garbage: the file
 * opens and lists its tables, and reading any table fails ("database disk image is malformed").
 */
export function corruptTablePages(from: string, to: string): string {
  const bytes = readFileSync(from);
  const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
  assert.ok(bytes.length >= 3 * pageSize, 'the file has table pages to corrupt');
  for (let offset = pageSize; offset < bytes.length; offset++) bytes[offset] = 0xff - ((offset * 37) % 97);
  writeFileSync(to, bytes);
  return to;
}
