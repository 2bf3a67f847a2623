// A jaffle-shop-shaped dbt project, written deterministically for `npm run bench -- --dag`: the six seeds of dbt
// Labs' jaffle-shop (raw_customers, raw_orders, raw_items, raw_products, raw_supplies, raw_stores, with UUID keys as
// there), staging views renaming them, the marts (customers, orders, order_items, products, supplies, locations) as
// tables, and on top a customer-segment model exploring region × lifetime-spend segment like the bundled sample.
// The SQL is our own, in jaffle-shop's shape. The same index gives the same row on every machine.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';

/** Orders per customer on average: customers = orders / this (jaffle-shop's one-year data has ~66). */
export const ORDERS_PER_CUSTOMER = 20;

export interface DagModel {
  name: string;
  /** Relative to the project folder. */
  file: string;
  materialized: 'view' | 'table';
  /** The models it ref()s (seeds left out). */
  refs: string[];
}

export interface DagSeed {
  name: string;
  /** Column names and the SQLite type each is declared as (what our loader infers from the values). */
  columns: [string, 'TEXT' | 'INTEGER' | 'REAL'][];
}

export interface DagProject {
  dir: string;
  seedsDir: string;
  orders: number;
  customers: number;
  items: number;
  /** Bytes of all seeds together. */
  csvBytes: number;
  seeds: DagSeed[];
  /** Every model of the project, in dependency order. */
  models: DagModel[];
  /**
   * The models the explored one stands on, in dependency order: what building it builds (in Segment Lens, the
   * sqlite3 shell and DuckDB alike). The products and supplies marts are not among them.
   */
  upstream: DagModel[];
  /** The explored model (region × segment), relative to the project folder. */
  explored: string;
  /** The leaf the bench edits (a staging view every mart but products/supplies/locations stands on). */
  leaf: string;
}

export const SEEDS: DagSeed[] = [
  {
    name: 'raw_customers',
    columns: [
      ['id', 'TEXT'],
      ['name', 'TEXT'],
    ],
  },
  {
    name: 'raw_orders',
    columns: [
      ['id', 'TEXT'],
      ['customer', 'TEXT'],
      ['ordered_at', 'TEXT'],
      ['store_id', 'TEXT'],
      ['subtotal', 'INTEGER'],
      ['tax_paid', 'INTEGER'],
      ['order_total', 'INTEGER'],
    ],
  },
  {
    name: 'raw_items',
    columns: [
      ['id', 'TEXT'],
      ['order_id', 'TEXT'],
      ['sku', 'TEXT'],
    ],
  },
  {
    name: 'raw_products',
    columns: [
      ['sku', 'TEXT'],
      ['name', 'TEXT'],
      ['type', 'TEXT'],
      ['price', 'INTEGER'],
      ['description', 'TEXT'],
    ],
  },
  {
    name: 'raw_supplies',
    columns: [
      ['id', 'TEXT'],
      ['name', 'TEXT'],
      ['cost', 'INTEGER'],
      ['perishable', 'TEXT'],
      ['sku', 'TEXT'],
    ],
  },
  {
    name: 'raw_stores',
    columns: [
      ['id', 'TEXT'],
      ['name', 'TEXT'],
      ['opened_at', 'TEXT'],
      ['tax_rate', 'REAL'],
    ],
  },
];

const MODELS: (DagModel & { sql: string })[] = [
  {
    name: 'stg_customers',
    file: 'models/staging/stg_customers.sql',
    materialized: 'view',
    refs: [],
    sql: `-- One row per customer.
select
    id as customer_id,
    name as customer_name
from {{ ref('raw_customers') }}
`,
  },
  {
    name: 'stg_orders',
    file: 'models/staging/stg_orders.sql',
    materialized: 'view',
    refs: [],
    sql: `-- One row per order, amounts in cents and in dollars, the order's day.
select
    id as order_id,
    store_id as location_id,
    customer as customer_id,
    subtotal as subtotal_cents,
    tax_paid as tax_paid_cents,
    order_total as order_total_cents,
    {{ cents_to_dollars('subtotal') }} as subtotal,
    {{ cents_to_dollars('tax_paid') }} as tax_paid,
    {{ cents_to_dollars('order_total') }} as order_total,
    {{ dbt.date_trunc('day', 'ordered_at') }} as ordered_at
from {{ ref('raw_orders') }}
`,
  },
  {
    name: 'stg_order_items',
    file: 'models/staging/stg_order_items.sql',
    materialized: 'view',
    refs: [],
    sql: `-- One row per item of an order.
select
    id as order_item_id,
    order_id,
    sku as product_id
from {{ ref('raw_items') }}
`,
  },
  {
    name: 'stg_products',
    file: 'models/staging/stg_products.sql',
    materialized: 'view',
    refs: [],
    sql: `-- One row per product on the menu, food or drink.
select
    sku as product_id,
    name as product_name,
    type as product_type,
    description as product_description,
    {{ cents_to_dollars('price') }} as product_price,
    coalesce(type = 'jaffle', false) as is_food_item,
    coalesce(type = 'beverage', false) as is_drink_item
from {{ ref('raw_products') }}
`,
  },
  {
    name: 'stg_supplies',
    file: 'models/staging/stg_supplies.sql',
    materialized: 'view',
    refs: [],
    sql: `-- One row per supply a product uses (a supply serves several products).
select
    id as supply_id,
    sku as product_id,
    name as supply_name,
    {{ cents_to_dollars('cost') }} as supply_cost,
    perishable as is_perishable_supply
from {{ ref('raw_supplies') }}
`,
  },
  {
    name: 'stg_locations',
    file: 'models/staging/stg_locations.sql',
    materialized: 'view',
    refs: [],
    sql: `-- One row per store.
select
    id as location_id,
    name as location_name,
    tax_rate,
    {{ dbt.date_trunc('day', 'opened_at') }} as opened_date
from {{ ref('raw_stores') }}
`,
  },
  {
    name: 'products',
    file: 'models/marts/products.sql',
    materialized: 'table',
    refs: ['stg_products'],
    sql: `select * from {{ ref('stg_products') }}\n`,
  },
  {
    name: 'supplies',
    file: 'models/marts/supplies.sql',
    materialized: 'table',
    refs: ['stg_supplies'],
    sql: `select * from {{ ref('stg_supplies') }}\n`,
  },
  {
    name: 'locations',
    file: 'models/marts/locations.sql',
    materialized: 'table',
    refs: ['stg_locations'],
    sql: `select * from {{ ref('stg_locations') }}\n`,
  },
  {
    name: 'order_items',
    file: 'models/marts/order_items.sql',
    materialized: 'table',
    refs: ['stg_order_items', 'stg_orders', 'stg_products', 'stg_supplies'],
    sql: `-- One row per item sold, with its product, price and what its supplies cost.
with items as (select * from {{ ref('stg_order_items') }}),

orders as (select * from {{ ref('stg_orders') }}),

products as (select * from {{ ref('stg_products') }}),

supply_costs as (
    select
        product_id,
        sum(supply_cost) as supply_cost
    from {{ ref('stg_supplies') }}
    group by product_id
)

select
    items.order_item_id,
    items.order_id,
    items.product_id,
    orders.ordered_at,
    products.product_name,
    products.product_price,
    products.is_food_item,
    products.is_drink_item,
    supply_costs.supply_cost
from items
left join orders on orders.order_id = items.order_id
left join products on products.product_id = items.product_id
left join supply_costs on supply_costs.product_id = items.product_id
`,
  },
  {
    name: 'orders',
    file: 'models/marts/orders.sql',
    materialized: 'table',
    refs: ['stg_orders', 'order_items'],
    sql: `-- One row per order: its items summed, food or drink, and its number among the customer's orders.
with orders as (select * from {{ ref('stg_orders') }}),

items_by_order as (
    select
        order_id,
        sum(supply_cost) as order_cost,
        sum(product_price) as order_items_subtotal,
        count(order_item_id) as count_order_items,
        sum(case when is_food_item then 1 else 0 end) as count_food_items,
        sum(case when is_drink_item then 1 else 0 end) as count_drink_items
    from {{ ref('order_items') }}
    group by order_id
),

with_items as (
    select
        orders.*,
        items_by_order.order_cost,
        items_by_order.order_items_subtotal,
        items_by_order.count_order_items,
        items_by_order.count_food_items,
        items_by_order.count_drink_items,
        items_by_order.count_food_items > 0 as is_food_order,
        items_by_order.count_drink_items > 0 as is_drink_order
    from orders
    left join items_by_order on items_by_order.order_id = orders.order_id
)

select
    *,
    row_number() over (partition by customer_id order by ordered_at, order_id) as customer_order_number
from with_items
`,
  },
  {
    name: 'customers',
    file: 'models/marts/customers.sql',
    materialized: 'table',
    refs: ['stg_customers', 'orders'],
    sql: `-- One row per customer: orders, first and last order, lifetime spend, and the store of the first order.
with customers as (select * from {{ ref('stg_customers') }}),

orders as (select * from {{ ref('orders') }}),

order_summary as (
    select
        customer_id,
        count(distinct order_id) as count_lifetime_orders,
        count(distinct order_id) > 1 as is_repeat_buyer,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        sum(subtotal) as lifetime_spend_pretax,
        sum(tax_paid) as lifetime_tax_paid,
        sum(order_total) as lifetime_spend
    from orders
    group by customer_id
),

first_orders as (
    select customer_id, location_id as first_location_id
    from orders
    where customer_order_number = 1
)

select
    customers.customer_id,
    customers.customer_name,
    order_summary.count_lifetime_orders,
    order_summary.first_ordered_at,
    order_summary.last_ordered_at,
    order_summary.lifetime_spend_pretax,
    order_summary.lifetime_tax_paid,
    order_summary.lifetime_spend,
    first_orders.first_location_id,
    case when order_summary.is_repeat_buyer then 'returning' else 'new' end as customer_type
from customers
left join order_summary on order_summary.customer_id = customers.customer_id
left join first_orders on first_orders.customer_id = customers.customer_id
`,
  },
];

/** The explored model; `{{THRESHOLD}}` is where the bench's threshold edit goes (the Platinum bound). */
export const EXPLORED_SQL = `-- Customers segmented by lifetime spend, counted and averaged by region (the store of their first order) × segment.
with base as (
    select
        c.customer_id,
        c.customer_name,
        l.location_name as region,
        c.lifetime_spend as total_spent,
        c.count_lifetime_orders as total_orders,
        case
            when c.lifetime_spend >= {{THRESHOLD}} then 'Platinum'
            when c.lifetime_spend >= 300 then 'Gold'
            when c.lifetime_spend >= 150 then 'Silver'
            else 'Bronze'
        end as customer_segment
    from {{ ref('customers') }} as c
    left join {{ ref('locations') }} as l on l.location_id = c.first_location_id
)

select
    region,
    customer_segment,
    count(distinct customer_id) as customer_count,
    round(avg(total_spent), 2) as avg_ltv,
    round(avg(total_orders), 2) as avg_orders
from base
group by region, customer_segment
order by region, avg_ltv desc
`;

export const EXPLORED_THRESHOLD = 600;

const PROJECT_YML = `# A jaffle-shop-shaped project generated by scripts/dagData.ts for npm run bench -- --dag.
name: jaffle_bench
version: '1.0.0'
config-version: 2
profile: jaffle_bench

model-paths: [models]
seed-paths: [seeds]
macro-paths: [macros]

models:
  jaffle_bench:
    staging:
      +materialized: view
    marts:
      +materialized: table
`;

const CENTS_TO_DOLLARS = `{% macro cents_to_dollars(column_name) -%}
    {{ return(adapter.dispatch('cents_to_dollars')(column_name)) }}
{%- endmacro %}

{% macro default__cents_to_dollars(column_name) -%}
    ({{ column_name }} / 100)::numeric(16, 2)
{%- endmacro %}

{% macro sqlite__cents_to_dollars(column_name) -%}
    round({{ column_name }} / 100.0, 2)
{%- endmacro %}
`;

const STORES: [string, string, number][] = [
  ['Philadelphia', '2016-09-01T00:00:00', 0.06],
  ['Brooklyn', '2017-03-12T00:00:00', 0.04],
  ['Chicago', '2018-04-29T00:00:00', 0.0625],
  ['San Francisco', '2018-05-09T00:00:00', 0.075],
  ['New Orleans', '2019-03-10T00:00:00', 0.04],
  ['Los Angeles', '2019-09-13T00:00:00', 0.08],
];

const PRODUCTS: [string, string, string, number, string][] = [
  ['JAF-001', 'nutellaphone who dis?', 'jaffle', 1100, 'nutella and banana jaffle'],
  ['JAF-002', 'doctor stew', 'jaffle', 1100, 'house-made beef stew jaffle'],
  ['JAF-003', 'the krautback', 'jaffle', 1200, 'lamb and pork bratwurst with house-pickled cabbage'],
  ['JAF-004', 'flame impala', 'jaffle', 1400, 'pulled pork and pineapple al pastor'],
  ['JAF-005', 'mel-bun', 'jaffle', 1200, 'melon and minced beef bao, in a jaffle, savory and sweet'],
  ['BEV-001', 'tangaroo', 'beverage', 600, 'mango and tangerine smoothie'],
  ['BEV-002', 'chai and mighty', 'beverage', 500, 'oatmilk chai latte with protein boost'],
  ['BEV-003', 'vanilla ice', 'beverage', 600, 'iced coffee with house-made French vanilla syrup'],
  ['BEV-004', 'for richer or pourover', 'beverage', 700, 'daily selection of single estate beans'],
  ['BEV-005', 'adele-ade', 'beverage', 400, 'a kiwi and lime agua fresca'],
];

const SUPPLY_NAMES = ['compostable cutlery', 'serving boat', 'napkin', 'bread', 'filling', 'cheese', 'cup', 'lid'];
const FIRST = ['Brandon', 'Angela', 'Thomas', 'Jamie', 'Katherine', 'Joshua', 'Kimberly', 'Kevin', 'Brenda', 'Leon'];
const LAST = ['Hill', 'Hebert', 'West', 'Hughes', 'Griffin', 'Mann', 'Barnes', 'Jenkins', 'Thomas', 'Dillon', 'Oliver'];

/** A 32-bit mix of (index, salt): the same on every machine, each row computable alone. */
function mix(index: number, salt: number): number {
  let h = Math.imul(index ^ Math.imul(salt, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const unit = (index: number, salt: number) => mix(index, salt) / 4294967296;
const hex = (value: number, digits: number) => value.toString(16).padStart(8, '0').slice(-digits);

/** A UUID-shaped key, unique per (index, salt): the index is its last 12 hex digits. */
function uuid(index: number, salt: number): string {
  const a = mix(index, salt);
  const b = mix(index, salt + 1);
  return `${hex(a, 8)}-${hex(b, 4)}-4${hex(b >>> 16, 3)}-8${hex(a >>> 8, 3)}-${index.toString(16).padStart(12, '0')}`;
}

/** Writes a CSV a block of lines at a time; returns its size in bytes. */
class CsvWriter {
  private readonly out;
  private lines: string[] = [];
  bytes = 0;
  constructor(file: string, header: string) {
    this.out = createWriteStream(file);
    this.lines.push(header);
  }
  async line(text: string): Promise<void> {
    this.lines.push(text);
    if (this.lines.length >= 10_000) await this.flush();
  }
  private async flush(): Promise<void> {
    const block = `${this.lines.join('\n')}\n`;
    this.lines = [];
    this.bytes += Buffer.byteLength(block);
    if (!this.out.write(block)) await once(this.out, 'drain');
  }
  async close(): Promise<number> {
    if (this.lines.length) await this.flush();
    this.out.end();
    await once(this.out, 'finish');
    return this.bytes;
  }
}

const csvText = (value: string) => (/[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

/** The models the explored one ref()s. */
const EXPLORED_REFS = ['customers', 'locations'];

/** Every model `refs` stand on, themselves included, in the models' (dependency) order. */
export function upstreamOf(models: readonly DagModel[], refs: readonly string[]): DagModel[] {
  const found = new Set(refs);
  for (const model of [...models].reverse()) if (found.has(model.name)) for (const ref of model.refs) found.add(ref);
  return models.filter((model) => found.has(model.name));
}

/** Every model downstream of `model` (itself included), by name. */
export function downstreamOf(models: readonly DagModel[], model: string): Set<string> {
  const found = new Set([model]);
  for (const candidate of models) if (candidate.refs.some((ref) => found.has(ref))) found.add(candidate.name);
  return found;
}

/** Writes the project and its seeds into `dir` (which must exist): `orders` orders, customers scaled with them. */
export async function writeDagProject(dir: string, orders: number): Promise<DagProject> {
  const customers = Math.max(1, Math.round(orders / ORDERS_PER_CUSTOMER));
  const seedsDir = path.join(dir, 'seeds');
  for (const folder of ['seeds', 'macros', 'models/staging', 'models/marts'])
    mkdirSync(path.join(dir, folder), { recursive: true });
  writeFileSync(path.join(dir, 'dbt_project.yml'), PROJECT_YML);
  writeFileSync(path.join(dir, 'macros', 'cents_to_dollars.sql'), CENTS_TO_DOLLARS);
  for (const model of MODELS) writeFileSync(path.join(dir, model.file), model.sql);
  const explored = 'models/marts/customer_segments.sql';
  writeFileSync(path.join(dir, explored), exploredSql(EXPLORED_THRESHOLD));

  let csvBytes = 0;
  const storeIds = STORES.map((_, index) => uuid(index + 1, 60));
  const stores = new CsvWriter(path.join(seedsDir, 'raw_stores.csv'), 'id,name,opened_at,tax_rate');
  for (const [index, [name, opened, rate]] of STORES.entries())
    await stores.line(`${storeIds[index]},${name},${opened},${rate}`);
  csvBytes += await stores.close();

  const products = new CsvWriter(path.join(seedsDir, 'raw_products.csv'), 'sku,name,type,price,description');
  for (const row of PRODUCTS) await products.line(row.map((cell) => csvText(String(cell))).join(','));
  csvBytes += await products.close();

  const supplies = new CsvWriter(path.join(seedsDir, 'raw_supplies.csv'), 'id,name,cost,perishable,sku');
  for (const [productIndex, [sku]] of PRODUCTS.entries()) {
    const count = 3 + (mix(productIndex, 50) % 4);
    for (let supply = 0; supply < count; supply++) {
      const nameIndex = (productIndex + supply * 3) % SUPPLY_NAMES.length;
      const cost = 10 + (mix(productIndex * 10 + supply, 51) % 90);
      const perishable = nameIndex >= 3 && nameIndex <= 5 ? 'True' : 'False';
      await supplies.line(
        `SUP-${String(nameIndex + 1).padStart(3, '0')},${SUPPLY_NAMES[nameIndex]},${cost},${perishable},${sku}`,
      );
    }
  }
  csvBytes += await supplies.close();

  const people = new CsvWriter(path.join(seedsDir, 'raw_customers.csv'), 'id,name');
  for (let index = 1; index <= customers; index++)
    await people.line(
      `${uuid(index, 10)},${FIRST[mix(index, 11) % FIRST.length]} ${LAST[mix(index, 12) % LAST.length]}`,
    );
  csvBytes += await people.close();

  // Orders over six years from the first store's opening; customers skewed (a few buy a lot, most a little), every
  // customer with at least one order; 1 to 3 items an order (~1.55 on average, as jaffle-shop's data).
  const ordersCsv = new CsvWriter(
    path.join(seedsDir, 'raw_orders.csv'),
    'id,customer,ordered_at,store_id,subtotal,tax_paid,order_total',
  );
  const itemsCsv = new CsvWriter(path.join(seedsDir, 'raw_items.csv'), 'id,order_id,sku');
  const start = Date.UTC(2016, 8, 1) / 1000;
  const span = 6 * 365 * 86400;
  let items = 0;
  for (let index = 1; index <= orders; index++) {
    const customer = index <= customers ? index : 1 + Math.floor(unit(index, 20) ** 2 * customers);
    const store = mix(index, 21) % STORES.length;
    const orderedAt = new Date((start + Math.floor(unit(index, 22) * span)) * 1000).toISOString().slice(0, 19);
    const roll = unit(index, 23);
    const count = roll < 0.55 ? 1 : roll < 0.9 ? 2 : 3;
    const orderId = uuid(index, 30);
    let subtotal = 0;
    for (let item = 0; item < count; item++) {
      items++;
      const product = PRODUCTS[mix(items, 24) % PRODUCTS.length];
      subtotal += product[3];
      await itemsCsv.line(`${uuid(items, 40)},${orderId},${product[0]}`);
    }
    const tax = Math.round(subtotal * STORES[store][2]);
    await ordersCsv.line(
      `${orderId},${uuid(customer, 10)},${orderedAt},${storeIds[store]},${subtotal},${tax},${subtotal + tax}`,
    );
  }
  csvBytes += await ordersCsv.close();
  csvBytes += await itemsCsv.close();

  return {
    dir,
    seedsDir,
    orders,
    customers,
    items,
    csvBytes,
    seeds: SEEDS,
    models: MODELS.map(({ name, file, materialized, refs }) => ({ name, file, materialized, refs })),
    upstream: upstreamOf(MODELS, EXPLORED_REFS).map(({ name, file, materialized, refs }) => ({
      name,
      file,
      materialized,
      refs,
    })),
    explored,
    leaf: 'models/staging/stg_orders.sql',
  };
}

/** The explored model with its Platinum threshold at `threshold`. */
export function exploredSql(threshold: number): string {
  return EXPLORED_SQL.replace('{{THRESHOLD}}', String(threshold));
}
