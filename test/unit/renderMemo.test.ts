// Renders that repeat are free (renderMemo.ts), and never stale: a dbt project of real files run through ModelSession
// on a DataCache (as the worker does), each edit of something a render depends on — the model's text, a macro, a var,
// an env var env_var() reads, dbt_project.yml, a properties file, the data run_query() read — checked against the
// values the test computes from what it wrote, and an unchanged model answered from memory (timings.upstreamRenders).
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { DataCache, ModelSession } from '../../src/engine/index';
import { loadDbtProject } from '../../src/engine/model/dbtProject';
import { renderModel, type RenderContext } from '../../src/engine/model/jinja';
import { RenderMemo } from '../../src/engine/model/renderMemo';
import { assets, jinja, tempWorkspace, write } from './helpers';

const PROJECT = (factor: number) => `name: shop
config-version: 2
model-paths: [models]
macro-paths: [macros]
seed-paths: [seeds]
vars:
  factor: ${factor}
`;
const PROPERTIES = (identifier: string) => `version: 2
sources:
  - name: shop
    schema: main
    tables:
      - name: orders
        identifier: ${identifier}
`;
const MONEY = (scale: number) => `{% macro money(column) %}({{ column }} * ${scale}){% endmacro %}\n`;
const STG_ORDERS = (extra: string) =>
  `select id, customer, {{ money('amount') }} * {{ var('factor') }}${extra} as amount from {{ source('shop', 'orders') }}\n`;
/** Reads the data while rendering on it: its SQL says how many orders the data had. */
const COUNTED = `{% set found = run_query("select count(*) as n from raw_orders") %}
select {{ found.columns[0].values()[0] if execute else 0 }} as orders_seen
`;
/** Reads the environment. */
const REGION = `select '{{ env_var("SHOP_REGION", "none") }}' as region\n`;
const EXPLORED = (threshold: number) => `select
    s.customer,
    sum(s.amount) as spent,
    c.orders_seen,
    r.region,
    case when sum(s.amount) >= ${threshold} then 'Gold' else 'Bronze' end as segment
from {{ ref('stg_orders') }} as s
cross join {{ ref('counted') }} as c
cross join {{ ref('region') }} as r
group by s.customer, c.orders_seen, r.region
order by s.customer
`;

type Order = [id: number, customer: string, amount: number];
const ORDERS: Order[] = [
  [1, 'ann', 10],
  [2, 'ann', 20],
  [3, 'bob', 5],
];
const OTHER_ORDERS: Order[] = [
  [1, 'ann', 7],
  [2, 'cid', 40],
];
const csv = (orders: Order[]) => `id,customer,amount\n${orders.map((order) => order.join(',')).join('\n')}\n`;

/** The explored model's rows as the test computes them from what it wrote. */
function expected(
  orders: Order[],
  { scale, factor, extra = 0, counted, region, threshold = 25 }: Record<string, number | string | undefined>,
): unknown[][] {
  const spent = new Map<string, number>();
  for (const [, customer, amount] of orders)
    spent.set(customer, (spent.get(customer) ?? 0) + amount * Number(scale) * Number(factor) + Number(extra));
  return [...spent]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([customer, total]) => [customer, total, counted, region, total >= Number(threshold) ? 'Gold' : 'Bronze']);
}

describe('renderMemo: upstream renders kept while their inputs are unchanged', function () {
  this.timeout(120_000);
  let dir: string;
  let cache: DataCache;

  beforeEach(() => {
    dir = tempWorkspace();
    write(dir, 'dbt_project.yml', PROJECT(2));
    write(dir, 'models/sources.yml', PROPERTIES('raw_orders'));
    write(dir, 'macros/money.sql', MONEY(1));
    write(dir, 'models/staging/stg_orders.sql', STG_ORDERS(''));
    write(dir, 'models/counted.sql', COUNTED);
    write(dir, 'models/region.sql', REGION);
    write(dir, 'models/explore.sql', EXPLORED(25));
    write(dir, 'seeds/raw_orders.csv', csv(ORDERS));
    write(dir, 'seeds/raw_orders_b.csv', csv(OTHER_ORDERS));
    cache = new DataCache();
  });
  afterEach(() => cache.clear());

  async function run(options: { env?: Record<string, string>; vars?: Record<string, unknown> } = {}) {
    const session = await ModelSession.open(
      {
        workspaceDir: dir,
        settings: {
          model: 'models/explore.sql',
          connection: { type: 'csv', directory: 'seeds' },
          upstream: 'build',
          ...(options.vars ? { vars: options.vars } : {}),
        },
        env: options.env ?? {},
      },
      assets,
      cache,
    );
    try {
      const result = await session.run();
      return { rows: result.rows, renders: result.timings.upstreamRenders!, built: result.upstream.built };
    } finally {
      session.close();
    }
  }

  it('a threshold edit renders again only the models that read data or the environment; the grid follows', async () => {
    const first = await run();
    assert.deepEqual(first.rows, expected(ORDERS, { scale: 1, factor: 2, counted: 3, region: 'none' }));
    assert.equal(first.renders.reused, 0);
    write(dir, 'models/explore.sql', EXPLORED(40));
    const second = await run();
    assert.deepEqual(second.rows, expected(ORDERS, { scale: 1, factor: 2, counted: 3, region: 'none', threshold: 40 }));
    // Kept: stg_orders (parse phase and on the data), counted's parse phase (run_query answers nothing there).
    // Rendered again: counted on the data (it read the data), region twice (it read the environment).
    assert.deepEqual(second.renders, { reused: 3, rendered: 3 });
    assert.deepEqual(second.built, []);
  });

  it("an edit of an upstream model's text, a macro, a var, dbt_project.yml or a properties file gives the new grid", async () => {
    await run();
    write(dir, 'models/staging/stg_orders.sql', STG_ORDERS(' + 1'));
    assert.deepEqual(
      (await run()).rows,
      expected(ORDERS, { scale: 1, factor: 2, extra: 1, counted: 3, region: 'none' }),
    );
    write(dir, 'macros/money.sql', MONEY(10));
    assert.deepEqual(
      (await run()).rows,
      expected(ORDERS, { scale: 10, factor: 2, extra: 1, counted: 3, region: 'none' }),
    );
    assert.deepEqual(
      (await run({ vars: { factor: 3 } })).rows,
      expected(ORDERS, { scale: 10, factor: 3, extra: 1, counted: 3, region: 'none' }),
    );
    write(dir, 'dbt_project.yml', PROJECT(5));
    assert.deepEqual(
      (await run()).rows,
      expected(ORDERS, { scale: 10, factor: 5, extra: 1, counted: 3, region: 'none' }),
    );
    write(dir, 'models/sources.yml', PROPERTIES('raw_orders_b'));
    const other = await run();
    assert.deepEqual(
      other.rows,
      expected(OTHER_ORDERS, { scale: 10, factor: 5, extra: 1, counted: 3, region: 'none' }),
    );
    // And back: unchanged inputs come from memory again.
    write(dir, 'models/explore.sql', EXPLORED(30));
    const again = await run();
    assert.deepEqual(
      again.rows,
      expected(OTHER_ORDERS, { scale: 10, factor: 5, extra: 1, counted: 3, region: 'none', threshold: 30 }),
    );
    assert.equal(again.renders.reused, 3);
  });

  it('an env var env_var() reads, and the data run_query() read, give the new grid', async () => {
    await run({ env: { SHOP_REGION: 'north' } });
    const south = await run({ env: { SHOP_REGION: 'south' } });
    assert.deepEqual(south.rows, expected(ORDERS, { scale: 1, factor: 2, counted: 3, region: 'south' }));
    const more: Order[] = [[4, 'bob', 30]];
    appendFileSync(`${dir}/seeds/raw_orders.csv`, csv(more).split('\n').slice(1).join('\n'));
    const grown = await run({ env: { SHOP_REGION: 'south' } });
    assert.deepEqual(grown.rows, expected([...ORDERS, ...more], { scale: 1, factor: 2, counted: 4, region: 'south' }));
  });
});

describe('RenderMemo: the key holds every input of a render', () => {
  const template = "select {{ var('x', 1) }} as x, '{{ target.schema }}' as s{% if execute %}, 1 as run{% endif %}\n";

  async function context(dir: string): Promise<RenderContext> {
    return {
      jinja,
      project: await loadDbtProject(dir),
      target: { name: 'dev', schema: 'main', type: 'sqlite' },
      env: {},
    };
  }

  it('reuses the same inputs, renders again for another text, var, target, phase or ephemeral set', async () => {
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: p\n');
    write(dir, 'models/e.sql', 'select 1 as one\n');
    const memo = new RenderMemo();
    const base = await context(dir);
    const sql = (given: RenderContext, text = template) => memo.render(text, 'm.sql', given).sql;
    assert.equal(sql(base), renderModel(template, 'm.sql', base).sql);
    assert.equal(sql(base), "select 1 as x, 'main' as s");
    assert.deepEqual([memo.reused, memo.rendered], [1, 1]);
    assert.equal(sql({ ...base, vars: { x: 2 } }), "select 2 as x, 'main' as s");
    assert.equal(
      sql({ ...base, target: { name: 'dev', schema: 'other', type: 'sqlite' } }),
      "select 1 as x, 'other' as s",
    );
    assert.equal(sql({ ...base, execute: true }), "select 1 as x, 'main' as s, 1 as run");
    assert.equal(sql(base, template.replace('as x', 'as y')), "select 1 as y, 'main' as s");
    const refs = "select * from {{ ref('e') }}\n";
    assert.equal(sql({ ...base, ephemeral: new Set(['e']) }, refs), 'select * from __dbt__cte__e');
    assert.equal(sql(base, refs), 'select * from main.e');
    assert.deepEqual([memo.reused, memo.rendered], [1, 7]);
  });

  it('never keeps a render that read the clock, the environment or logged', async () => {
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: p\n');
    const memo = new RenderMemo();
    const base = await context(dir);
    for (const text of [
      'select {{ modules.datetime.datetime.now().year }} as y\n',
      "select '{{ env_var('HOME_TOWN', 'x') }}' as t\n",
    ]) {
      memo.render(text, 'm.sql', base);
      memo.render(text, 'm.sql', base);
    }
    const logged: string[] = [];
    const logging = { ...base, log: (line: string) => logged.push(line) };
    memo.render("{{ log('hello') }}select 1\n", 'm.sql', logging);
    memo.render("{{ log('hello') }}select 1\n", 'm.sql', logging);
    assert.deepEqual(logged, ['hello', 'hello']);
    assert.equal(memo.reused, 0);
    assert.equal(memo.size, 0);
  });
});
