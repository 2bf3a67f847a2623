// Deterministic benchmark data: N customers as CSV seeds (staging/, intermediate/) and as one SQLite file with a
// plain schema (no keys, as tools usually write it), plus the seed model. Written once per N into a cache folder.
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

const REGIONS = ['North America', 'Europe', 'Asia Pacific', 'Latin America', 'Middle East & Africa'];
const FIRST = ['Ava', 'Liam', 'Noah', 'Emma', 'Olivia', 'Mateo', 'Sofía', 'Yuki', 'Chloé', 'Lukas', 'Amara', 'Chen'];
const LAST = ['Smith', 'García', 'Müller', 'Nakamura', 'Okafor', 'Rossi', 'Dubois', 'Patel', 'Silva', 'Kim'];

export interface BenchData {
  dir: string;
  seeds: string;
  sqlite: string;
  model: string;
}

async function writeLines(file: string, header: string, count: number, line: (index: number) => string): Promise<void> {
  const out = createWriteStream(file);
  out.write(`${header}\n`);
  let chunk: string[] = [];
  for (let index = 1; index <= count; index++) {
    chunk.push(line(index));
    if (chunk.length === 10_000 || index === count) {
      if (!out.write(`${chunk.join('\n')}\n`)) await once(out, 'drain');
      chunk = [];
    }
  }
  out.end();
  await once(out, 'finish');
}

export async function benchData(root: string, customers: number, model: string): Promise<BenchData> {
  const dir = path.join(root, String(customers));
  const data: BenchData = {
    dir,
    seeds: path.join(dir, 'seeds'),
    sqlite: path.join(dir, 'warehouse.db'),
    model: path.join(dir, 'models', 'customer_segments.sql'),
  };
  if (existsSync(path.join(dir, 'complete'))) return data;
  rmSync(dir, { recursive: true, force: true });
  for (const folder of ['seeds/staging', 'seeds/intermediate', 'models'])
    mkdirSync(path.join(dir, folder), { recursive: true });
  writeFileSync(data.model, model);
  // A fixed linear congruential sequence per row: the same data on every machine, and any row computable alone.
  const unit = (index: number, salt: number) => (((index * 2654435761 + salt * 40503) >>> 0) % 1_000_003) / 1_000_003;
  await writeLines(
    path.join(data.seeds, 'staging', 'stg_customers.csv'),
    'customer_id,first_name,last_name,region',
    customers,
    (index) =>
      `${index},${FIRST[index % FIRST.length]},${LAST[(index * 7) % LAST.length]},${unit(index, 1) < 0.005 ? '' : `"${REGIONS[Math.floor(unit(index, 2) * REGIONS.length)]}"`}`,
  );
  await writeLines(
    path.join(data.seeds, 'intermediate', 'int_customer_metrics.csv'),
    'customer_id,total_spent,total_orders,avg_order_value',
    customers,
    (index) => {
      const orders = 1 + Math.floor(unit(index, 3) * 40);
      const spent = Math.round(unit(index, 4) ** 2 * 2_000_000) / 100;
      return `${index},${spent.toFixed(2)},${orders},${(spent / orders).toFixed(2)}`;
    },
  );
  const partial = `${data.sqlite}.partial`;
  rmSync(partial, { force: true });
  const db = new BetterSqlite3(partial);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.exec('CREATE TABLE stg_customers (customer_id INTEGER, first_name TEXT, last_name TEXT, region TEXT)');
  db.exec(
    'CREATE TABLE int_customer_metrics (customer_id INTEGER, total_spent REAL, total_orders INTEGER, avg_order_value REAL)',
  );
  const insertCustomer = db.prepare('INSERT INTO stg_customers VALUES (?, ?, ?, ?)');
  const insertMetric = db.prepare('INSERT INTO int_customer_metrics VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let index = 1; index <= customers; index++) {
      insertCustomer.run(
        index,
        FIRST[index % FIRST.length],
        LAST[(index * 7) % LAST.length],
        unit(index, 1) < 0.005 ? null : REGIONS[Math.floor(unit(index, 2) * REGIONS.length)],
      );
      const orders = 1 + Math.floor(unit(index, 3) * 40);
      const spent = Math.round(unit(index, 4) ** 2 * 2_000_000) / 100;
      insertMetric.run(index, spent, orders, Math.round((spent / orders) * 100) / 100);
    }
  })();
  db.close();
  renameSync(partial, data.sqlite);
  writeFileSync(path.join(dir, 'complete'), '');
  return data;
}
