import assert from 'node:assert/strict';
import { buildGrid, segmentOrder } from '../../src/shared/grid';

const columns = ['region', 'customer_segment', 'customer_count', 'avg_ltv', 'avg_orders'];
const rows = [
  [null, 'Gold', 2, 6000, 3],
  ['East', 'Bronze', 3, 100, 1],
  ['East', 'Platinum', 1, 20000, 9],
  ['West', 'Gold', 4, 7000, 5],
];

describe('the grid', () => {
  it('pivots regions × segments in threshold order, NULL region last, with totals weighted by customers', () => {
    const outcome = buildGrid(
      columns,
      rows,
      segmentOrder({
        whens: [
          { when: 's >= 10000', then: "'Platinum'" },
          { when: 's >= 5000', then: "'Gold'" },
          { when: 's >= 1000', then: "'Silver'" },
        ],
        else: "'Bronze'",
      }),
    );
    assert.ok(outcome.ok);
    const grid = outcome.grid;
    assert.deepEqual(grid.regions, ['East', 'West', null]);
    assert.deepEqual(grid.segments, ['Platinum', 'Gold', 'Bronze']);
    assert.deepEqual(
      grid.metrics.map((metric) => [metric.column, metric.total]),
      [
        ['customer_count', 'sum'],
        ['avg_ltv', 'weighted'],
        ['avg_orders', 'weighted'],
      ],
    );
    assert.equal(grid.total.customer_count, 10);
    // (2·6000 + 3·100 + 1·20000 + 4·7000) / 10
    assert.equal(grid.total.avg_ltv, 6030);
    assert.deepEqual(grid.regionTotals[0], {
      customer_count: 4,
      avg_ltv: (3 * 100 + 20000) / 4,
      avg_orders: (3 * 1 + 9) / 4,
    });
    assert.equal(grid.segmentTotals[1].customer_count, 6);
  });

  it('explains what it expected when the model returns no region or segment column', () => {
    const outcome = buildGrid(['area', 'n'], [['East', 1]]);
    assert.ok(!outcome.ok);
    assert.match(outcome.reason, /needs a region column and a segment column .* this model returns area, n/);
  });
});
