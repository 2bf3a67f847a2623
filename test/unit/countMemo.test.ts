// CTE row counts kept per version of the data (countMemo.ts): a model of three CTEs on CSV seeds, run through
// ModelSession on a DataCache; a threshold edit in the last CTE counts only that one again, an edit of a CTE counts it
// and the CTEs reading it again, a change of the data counts everything again — each count checked against the
// rows the test computes from what it wrote.
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { DataCache, ModelSession } from '../../src/engine/index';
import { countKey, countReads } from '../../src/engine/run/countMemo';
import { topLevelWith, parseSql } from '../../src/engine/sql/syntax';
import { assets, tempWorkspace, write } from './helpers';

type Order = [customer: string, amount: number];
const ORDERS: Order[] = [
  ['ann', 10],
  ['ann', 30],
  ['bob', 5],
  ['cid', 70],
  ['dan', 20],
  ['dan', 25],
];

const model = (big: number, gold: number) => `with per_customer as (
    select customer, count(*) as orders, sum(amount) as spent from raw_orders group by customer
),
big_spenders as (
    select * from per_customer where spent >= ${big}
),
segmented as (
    select customer, spent, case when spent >= ${gold} then 'Gold' else 'Bronze' end as segment from per_customer
)
select segment, count(*) as customers from segmented group by segment order by segment
`;

function expectedCounts(orders: Order[], big: number): Record<string, number> {
  const spent = new Map<string, number>();
  for (const [customer, amount] of orders) spent.set(customer, (spent.get(customer) ?? 0) + amount);
  return {
    per_customer: spent.size,
    big_spenders: [...spent.values()].filter((total) => total >= big).length,
    segmented: spent.size,
  };
}

describe('countMemo: CTE row counts kept while their SQL and the data are unchanged', function () {
  this.timeout(60_000);

  it('a threshold edit counts only the CTE it is in; an edit of a CTE, or of the data, counts what it changes', async () => {
    const dir = tempWorkspace();
    write(dir, 'seeds/raw_orders.csv', `customer,amount\n${ORDERS.map((order) => order.join(',')).join('\n')}\n`);
    write(dir, 'models/segments.sql', model(40, 50));
    const cache = new DataCache();
    const run = async () => {
      const session = await ModelSession.open(
        {
          workspaceDir: dir,
          settings: { model: 'models/segments.sql', connection: { type: 'csv', directory: 'seeds' } },
        },
        assets,
        cache,
      );
      const before = { ...countReads };
      try {
        const { cteRowCounts } = await session.run();
        const { '(final select)': _final, ...ctes } = cteRowCounts;
        return { ctes, counted: countReads.counted - before.counted, reused: countReads.reused - before.reused };
      } finally {
        session.close();
      }
    };
    try {
      assert.deepEqual(await run(), { ctes: expectedCounts(ORDERS, 40), counted: 3, reused: 0 });
      write(dir, 'models/segments.sql', model(40, 60));
      assert.deepEqual(await run(), { ctes: expectedCounts(ORDERS, 40), counted: 1, reused: 2 });
      write(dir, 'models/segments.sql', model(30, 60));
      assert.deepEqual(await run(), { ctes: expectedCounts(ORDERS, 30), counted: 1, reused: 2 });
      const more: Order[] = [
        ['eve', 90],
        ['bob', 40],
      ];
      appendFileSync(`${dir}/seeds/raw_orders.csv`, `${more.map((order) => order.join(',')).join('\n')}\n`);
      assert.deepEqual(await run(), { ctes: expectedCounts([...ORDERS, ...more], 30), counted: 3, reused: 0 });
    } finally {
      cache.clear();
    }
  });

  it('a CTE depends on every CTE its text names, through others; a name that is not a plain word is never kept', () => {
    const sql = `with a as (select 1 as x), b as (select * from a), c as (select 2 as y), d as (select * from "b")
select * from d`;
    const withOf = (text: string) => {
      const parsed = parseSql(text);
      assert.ok(parsed.ok);
      return topLevelWith(parsed.program)!;
    };
    const key = (text: string, at: number) => countKey(text, withOf(text), at, ' FROM d', []);
    const withClause = withOf(sql);
    assert.ok(withClause.ctes.length === 4);
    // d reads b, which reads a: an edit of a changes d's key; an edit of c does not.
    assert.notEqual(key(sql, 3), key(sql.replace('select 1 as x', 'select 3 as x'), 3));
    assert.equal(key(sql, 3), key(sql.replace('select 2 as y', 'select 4 as y'), 3));
    const quoted = `with "a b" as (select 1 as x) select * from "a b"`;
    assert.equal(key(quoted, 0), undefined);
  });
});
