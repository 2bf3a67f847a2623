import assert from 'node:assert/strict';
import {
  DEFAULT_GRID_VIEW,
  buildGrid,
  plainMetric,
  segmentOrder,
  shownGrid,
  shownGridTable,
  valueKey,
} from '../../src/shared/grid';

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

  describe('as shown', () => {
    const outcome = buildGrid(columns, rows, ['Platinum', 'Gold', 'Silver', 'Bronze']);
    assert.ok(outcome.ok);
    const grid = outcome.grid;

    it('the filter keeps matching regions and the totals are of those', () => {
      const shown = shownGrid(grid, { ...DEFAULT_GRID_VIEW, metric: 'avg_ltv', filter: 'eas' }, 'en');
      assert.deepEqual(
        shown.rows.map((row) => row.region),
        ['East'],
      );
      assert.ok(shown.filtered);
      // East only: (3·100 + 1·20000) / 4, weighted by customers
      assert.equal(shown.total, (3 * 100 + 20000) / 4);
      assert.deepEqual(shown.segmentTotals, [20000, null, 100]);
    });

    it('sorts by a segment or the total, NULL region last either way', () => {
      const bySegment = shownGrid(grid, { ...DEFAULT_GRID_VIEW, sortBy: valueKey('Gold'), descending: true }, 'en');
      assert.deepEqual(
        bySegment.rows.map((row) => row.region),
        ['West', 'East', null],
      );
      const byTotal = shownGrid(grid, { ...DEFAULT_GRID_VIEW, sortBy: 'total', descending: false }, 'en');
      assert.deepEqual(
        byTotal.rows.map((row) => row.region),
        ['East', 'West', null],
      );
      assert.equal(byTotal.total, 10);
      assert.ok(!byTotal.filtered);
    });

    it('as a table: the metric in the corner, totals last, labels guarded, numbers plain', () => {
      const shown = shownGrid(grid, { ...DEFAULT_GRID_VIEW, metric: 'avg_ltv' }, 'en');
      const table = shownGridTable(grid, shown, (value) => plainMetric(value, shown.metric));
      assert.deepEqual(table, [
        ['Average LTV by region', 'Platinum', 'Gold', 'Bronze', 'Total'],
        ['East', '20000.00', '', '100.00', String(((3 * 100 + 20000) / 4).toFixed(2))],
        ['West', '', '7000.00', '', '7000.00'],
        ['(no region)', '', '6000.00', '', '6000.00'],
        ['Total', '20000.00', ((2 * 6000 + 4 * 7000) / 6).toFixed(2), '100.00', '6030.00'],
      ]);
      const hostile = buildGrid(columns, [['=SUM(A1)', 'Gold', 1, 5, 1]]);
      assert.ok(hostile.ok);
      const guarded = shownGridTable(hostile.grid, shownGrid(hostile.grid, DEFAULT_GRID_VIEW, 'en'), String);
      assert.equal(guarded[1][0], "'=SUM(A1)");
      assert.equal(plainMetric(-3, 'customer_count'), '-3');
    });
  });
});
