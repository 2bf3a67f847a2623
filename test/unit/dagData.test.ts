// The jaffle-shop-shaped project `npm run bench -- --dag` generates (scripts/dagData.ts): the same files every time,
// seeds that hold together, and the segment model run by our engine over its whole DAG equal to a grid native SQLite
// (better-sqlite3) computes straight from the seeds with SQL written here, not the models'.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { DataCache, ModelSession } from '../../src/engine/index';
import { downstreamOf, EXPLORED_THRESHOLD, upstreamOf, writeDagProject } from '../../scripts/dagData';
import { assets, tempWorkspace } from './helpers';

const ORDERS = 3000;

function seedsOf(dir: string): Record<string, string> {
  const seeds = path.join(dir, 'seeds');
  return Object.fromEntries(readdirSync(seeds).map((file) => [file, readFileSync(path.join(seeds, file), 'utf8')]));
}

/** The seeds in native SQLite, as the generator declares their types. */
function nativeSeeds(dir: string, seeds: { name: string; columns: [string, string][] }[]): BetterSqlite3.Database {
  const db = new BetterSqlite3(':memory:');
  for (const seed of seeds) {
    db.exec(`create table ${seed.name} (${seed.columns.map(([name, type]) => `${name} ${type}`).join(', ')})`);
    const [, ...rows] = parse(readFileSync(path.join(dir, 'seeds', `${seed.name}.csv`), 'utf8')) as string[][];
    const insert = db.prepare(`insert into ${seed.name} values (${seed.columns.map(() => '?').join(', ')})`);
    db.transaction(() => rows.forEach((row) => insert.run(row)))();
  }
  return db;
}

describe('dagData', () => {
  it('writes the same project every time, its seeds holding together', async () => {
    const first = await writeDagProject(tempWorkspace(), ORDERS);
    const second = await writeDagProject(tempWorkspace(), ORDERS);
    assert.deepEqual(seedsOf(first.dir), seedsOf(second.dir));
    assert.equal(first.customers, ORDERS / 20);
    const db = nativeSeeds(first.dir, first.seeds);
    const one = (sql: string) => db.prepare(sql).pluck().get();
    assert.equal(one('select count(*) from raw_orders'), ORDERS);
    assert.equal(one('select count(distinct id) from raw_orders'), ORDERS);
    assert.equal(one('select count(*) from raw_items'), first.items);
    assert.equal(one('select count(*) from raw_customers'), first.customers);
    // Every customer ordered; every order's customer, store and items exist; totals add up from the items' prices.
    assert.equal(one('select count(*) from raw_customers where id not in (select customer from raw_orders)'), 0);
    assert.equal(one('select count(*) from raw_orders where customer not in (select id from raw_customers)'), 0);
    assert.equal(one('select count(*) from raw_orders where store_id not in (select id from raw_stores)'), 0);
    assert.equal(one('select count(*) from raw_items where order_id not in (select id from raw_orders)'), 0);
    assert.equal(one('select count(*) from raw_items where sku not in (select sku from raw_products)'), 0);
    assert.equal(
      one(`select count(*) from raw_orders as o
           where o.subtotal != (select sum(p.price) from raw_items as i join raw_products as p on p.sku = i.sku
                                where i.order_id = o.id)
              or o.order_total != o.subtotal + o.tax_paid`),
      0,
    );
    db.close();
  });

  it('knows which models the segment model stands on and which an edit of stg_orders rebuilds', async () => {
    const project = await writeDagProject(tempWorkspace(), 100);
    assert.deepEqual(
      project.upstream.map((model) => model.name),
      [
        'stg_customers',
        'stg_orders',
        'stg_order_items',
        'stg_products',
        'stg_supplies',
        'stg_locations',
        'locations',
        'order_items',
        'orders',
        'customers',
      ],
    );
    assert.deepEqual(
      upstreamOf(project.models, ['products']).map((model) => model.name),
      ['stg_products', 'products'],
    );
    assert.deepEqual([...downstreamOf(project.upstream, 'stg_orders')].sort(), [
      'customers',
      'order_items',
      'orders',
      'stg_orders',
    ]);
  });

  it('runs the segment model over its whole DAG to the grid native SQLite computes from the seeds', async () => {
    const project = await writeDagProject(tempWorkspace(), ORDERS);
    const cache = new DataCache();
    const session = await ModelSession.open(
      {
        workspaceDir: project.dir,
        settings: { model: project.explored, connection: { type: 'csv', directory: 'seeds' }, upstream: 'build' },
        env: {},
      },
      assets,
      cache,
    );
    const result = await session.run();
    session.close();
    cache.clear();
    assert.deepEqual([...result.upstream.built].sort(), project.upstream.map((model) => `main.${model.name}`).sort());
    // Straight from the seeds: each customer's spend in dollars, order count, and the store of the first order
    // (earliest day, then order id).
    const db = nativeSeeds(project.dir, project.seeds);
    const expected = db
      .prepare(
        `with o as (
           select id, customer, store_id, round(order_total / 100.0, 2) as total, substr(ordered_at, 1, 10) as day
           from raw_orders
         ),
         spend as (select customer, sum(total) as spent, count(*) as orders from o group by customer),
         ranked as (select customer, store_id, row_number() over (partition by customer order by day, id) as n from o)
         select s.name as region,
                case when spent >= ${EXPLORED_THRESHOLD} then 'Platinum' when spent >= 300 then 'Gold'
                     when spent >= 150 then 'Silver' else 'Bronze' end as customer_segment,
                count(*) as customer_count, round(avg(spent), 2) as avg_ltv, round(avg(orders), 2) as avg_orders
         from raw_customers as c
         join spend on spend.customer = c.id
         join ranked on ranked.customer = c.id and ranked.n = 1
         join raw_stores as s on s.id = ranked.store_id
         group by 1, 2`,
      )
      .raw()
      .all() as unknown[][];
    db.close();
    const key = (row: unknown[]) => `${String(row[0])}|${String(row[1])}`;
    const sorted = (rows: unknown[][]) => [...rows].sort((a, b) => key(a).localeCompare(key(b)));
    assert.deepEqual(result.columns, ['region', 'customer_segment', 'customer_count', 'avg_ltv', 'avg_orders']);
    assert.ok(expected.length >= 12, `only ${expected.length} cells: the data should reach most of them`);
    assert.deepEqual(sorted(result.rows), sorted(expected));
  });
});
