// What the editor says about a column: the place a name is written → the lineage node (ColumnSpanIndex), and that
// node's lineage for people (describeColumn), on the real lineage of the jaffle_shop fixture's segment model. Lines
// and expected paths are read off the fixture's SQL by hand; columns are found in the text by the test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Lineage } from '../../src/engine/index';
import { caseText, ColumnSpanIndex, describeColumn, identifierKey } from '../../src/shared/columnLineage';
import { jaffleShopWorkspace, seedsLineage as lineageOf } from './helpers';

/** The 1-based line and column of the `occurrence`-th `word` (0-based) on the line of `file` holding `lineText`. */
function place(file: string, lineText: string, word: string, occurrence = 0): { line: number; column: number } {
  const lines = readFileSync(file, 'utf8').split('\n');
  const index = lines.findIndex((line) => line.includes(lineText));
  assert.ok(index >= 0, `${lineText} is in ${file}`);
  let column = -1;
  for (let seen = 0; seen <= occurrence; seen++) column = lines[index].indexOf(word, column + 1);
  assert.ok(column >= 0, `${word} is on line ${index + 1}`);
  return { line: index + 1, column: column + 1 };
}

describe('columnLineage: a column of the model, from where its name is written', function () {
  this.timeout(30_000);
  let dir: string;
  let lineage: Lineage;
  let index: ColumnSpanIndex;
  let segments: string;
  let customers: string;
  const at = (file: string, lineText: string, word: string, occurrence = 0) => {
    const { line, column } = place(file, lineText, word, occurrence);
    return index.columnAt(file, line, column, word);
  };

  before(async () => {
    dir = jaffleShopWorkspace();
    segments = path.join(dir, 'models', 'marts', 'customer_segments.sql');
    customers = path.join(dir, 'models', 'customers.sql');
    lineage = await lineageOf(dir, 'models/marts/customer_segments.sql');
    index = new ColumnSpanIndex(lineage);
  });

  it('finds the column a name is: defined, read in a CASE, aggregated, grouped by, ordered by, in a model upstream', () => {
    // `c.customer_lifetime_value as total_spent`: the CTE column defined there, from either name.
    assert.deepEqual(at(segments, 'as total_spent', 'total_spent'), { id: 'base.total_spent' });
    assert.deepEqual(at(segments, 'as total_spent', 'customer_lifetime_value'), {
      id: 'main.customers.customer_lifetime_value',
    });
    // Read in the CASE's second WHEN (the edge's refSpan is its first): the source column it compares.
    assert.deepEqual(at(segments, '>= 30 then', 'customer_lifetime_value'), {
      id: 'main.customers.customer_lifetime_value',
    });
    assert.deepEqual(at(segments, 'end as customer_segment', 'customer_segment'), { id: 'base.customer_segment' });
    assert.deepEqual(at(segments, 'round(avg(total_spent), 2) as avg_ltv', 'total_spent'), { id: 'base.total_spent' });
    assert.deepEqual(at(segments, 'round(avg(total_spent), 2) as avg_ltv', 'avg_ltv'), { id: 'avg_ltv' });
    assert.deepEqual(at(segments, 'group by region', 'customer_segment'), { id: 'base.customer_segment' });
    assert.deepEqual(at(segments, 'order by region', 'avg_ltv'), { id: 'avg_ltv' });
    // In customers.sql, a model the explored one stands on: its own column.
    assert.deepEqual(at(customers, 'sum(payments.amount) as total_paid', 'total_paid'), {
      model: 'customers',
      id: 'lifetime_value.total_paid',
    });
    // Not a column: a CTE's name, a keyword; and a name where a column of another name is written.
    assert.equal(at(segments, 'from base', 'base'), undefined);
    assert.equal(at(segments, 'as total_spent', 'as'), undefined);
    assert.equal(index.columnAt(segments, 1, 1, 'total_spent'), undefined);
  });

  it('describes a segment with its CASE, and a CTE column with its path across models', () => {
    const segment = describeColumn(lineage, 'customer_segments', { id: 'customer_segment' })!;
    assert.equal(segment.role, 'output column of customer_segments');
    assert.deepEqual(segment.paths, [
      {
        text: 'customer_segments.customer_segment ← customers.customer_lifetime_value ← stg_payments.amount ← raw_payments.amount',
        // stg_payments: cents_to_dollars; customers: select * from it, sum(), coalesce(); then the CASE, then base.
        kinds: ['expression', 'passthrough', 'aggregate', 'expression', 'case', 'passthrough'],
      },
    ]);
    assert.deepEqual(
      segment.cases.map((item) => [item.column, caseText(item.detail)]),
      [
        [
          'base.customer_segment',
          [
            'CASE',
            "  WHEN c.customer_lifetime_value >= 50 THEN 'Platinum'",
            "  WHEN c.customer_lifetime_value >= 30 THEN 'Gold'",
            "  WHEN c.customer_lifetime_value >= 15 THEN 'Silver'",
            "  ELSE 'Bronze'",
            'END',
          ].join('\n'),
        ],
      ],
    );
    assert.deepEqual(segment.shapes, []);

    const spent = describeColumn(lineage, 'customer_segments', { id: 'base.total_spent' })!;
    assert.equal(spent.role, 'column of CTE base');
    assert.deepEqual(
      spent.paths.map((found) => found.text),
      ['base.total_spent ← customers.customer_lifetime_value ← stg_payments.amount ← raw_payments.amount'],
    );
    assert.deepEqual(spent.cases, []);
    assert.deepEqual(spent.feeds, ['avg_ltv']);

    const region = describeColumn(lineage, 'customer_segments', { id: 'base.region' })!;
    assert.deepEqual(region.shapes, ['group key in the final select']);
    assert.equal(caseText(region.cases[0].detail).split('\n')[0], 'CASE c.customer_id % 4');

    // A source column that is an upstream model's output: its path starts in that model.
    const source = describeColumn(lineage, 'customer_segments', { id: 'main.customers.customer_id' })!;
    assert.equal(source.role, 'column of model customers (main.customers)');
    assert.deepEqual(
      source.paths.map((found) => found.text),
      ['customers.customer_id ← stg_customers.customer_id ← raw_customers.id'],
    );
    assert.deepEqual(source.feeds, ['region', 'customer_count']);
    assert.equal(describeColumn(lineage, 'customer_segments', { id: 'nope' }), undefined);
    assert.equal(describeColumn(lineage, 'customer_segments', { id: 'x', model: 'nope' }), undefined);
  });

  it('reads quoted names as SQL does', () => {
    assert.equal(identifierKey('"Total_Spent"'), 'total_spent');
    assert.equal(identifierKey('[total spent]'), 'total spent');
    assert.equal(identifierKey('`x`'), 'x');
  });
});
