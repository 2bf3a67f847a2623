// Writes the bundled sample seeds: a deterministic, realistic shop of 5,000 customers. Run it to regenerate
// sample/seeds/; the output is committed so the extension works offline with no set-up.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const CUSTOMERS = 5000;
const REGIONS = ['North America', 'Europe', 'Asia Pacific', 'Latin America', 'Middle East & Africa'];
const REGION_WEIGHTS = [0.34, 0.28, 0.22, 0.1, 0.06];
const FIRST = [
  'Ava',
  'Liam',
  'Noah',
  'Emma',
  'Olivia',
  'Mateo',
  'Sofía',
  'Yuki',
  'Hiroshi',
  'Chloé',
  'Lukas',
  'Amara',
  'Chen',
  'Priya',
  'Omar',
  'Fatima',
  'Lars',
  'Ingrid',
  'Diego',
  'Zoë',
  'Kwame',
  'Aisha',
  'Mei',
  'Arjun',
  "D'Andre",
  'Siobhán',
  'José',
  'Anna-Lena',
];
const LAST = [
  'Smith',
  'García',
  'Müller',
  'Nakamura',
  'Okafor',
  'Rossi',
  'Johansson',
  'Dubois',
  'Kowalski',
  'Patel',
  'Silva',
  'Kim',
  "O'Brien",
  'Nguyen',
  'Haddad',
  'Van der Berg',
  'Cohen',
  'Ivanova',
  'Mensah',
  'López, Jr.',
];

// mulberry32: small, fast, and the same sequence on every machine.
let seed = 20261125;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (items) => items[Math.floor(random() * items.length)];
const weighted = (items, weights) => {
  let r = random();
  for (let i = 0; i < items.length; i++) if ((r -= weights[i]) < 0) return items[i];
  return items[items.length - 1];
};
const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const day = (start, span) =>
  new Date(Date.UTC(2021, 0, 1) + Math.floor(start + random() * span) * 86400000).toISOString().slice(0, 10);
const csvField = (value) =>
  value === null ? '' : /[",\r\n]/.test(String(value)) ? `"${String(value).replaceAll('"', '""')}"` : String(value);
const csv = (header, rows) => [header, ...rows].map((row) => row.map(csvField).join(',')).join('\n') + '\n';

const customers = [];
const metrics = [];
for (let id = 1; id <= CUSTOMERS; id++) {
  const first = pick(FIRST);
  const last = pick(LAST);
  // A few customers have no region on file.
  const region = random() < 0.006 ? null : weighted(REGIONS, REGION_WEIGHTS);
  const signup = day(0, 1400);
  customers.push([
    id,
    first,
    last,
    `${first}.${last}.${id}@example.com`.toLowerCase().replace(/[^a-z0-9.@]/g, ''),
    region,
    signup,
  ]);
  // About 4% never ordered: they have no metrics row and drop out of the model's inner join.
  if (random() < 0.04) continue;
  const orders = Math.max(1, Math.round(Math.exp(1.8 + 0.75 * normal())));
  const orderValue = Math.max(5, Math.exp(5.35 + 0.8 * normal()));
  const spent = Math.round(orders * orderValue * 100) / 100;
  const firstOrder = day(0, 700);
  // A few rows from a legacy import lack the average order value.
  const average = random() < 0.01 ? null : Math.round((spent / orders) * 100) / 100;
  metrics.push([id, orders, spent.toFixed(2), average === null ? null : average.toFixed(2), firstOrder, day(700, 700)]);
}

const out = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'sample', 'seeds');
mkdirSync(path.join(out, 'staging'), { recursive: true });
mkdirSync(path.join(out, 'intermediate'), { recursive: true });
writeFileSync(
  path.join(out, 'staging', 'stg_customers.csv'),
  csv(['customer_id', 'first_name', 'last_name', 'email', 'region', 'signup_date'], customers),
);
writeFileSync(
  path.join(out, 'intermediate', 'int_customer_metrics.csv'),
  csv(
    ['customer_id', 'total_orders', 'total_spent', 'avg_order_value', 'first_order_date', 'last_order_date'],
    metrics,
  ),
);
console.log(`${customers.length} customers, ${metrics.length} with metrics → ${out}`);
