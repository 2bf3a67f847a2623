import assert from 'node:assert/strict';
import path from 'node:path';
import { buildLineage, type Catalog } from '../../src/engine/sql/lineage';
import { renderModel } from '../../src/engine/model/jinja';
import { EngineClient } from '../../src/engine/worker/client';
import type { RunPayload } from '../../src/engine/worker/protocol';
import {
  DEFAULT_GRID_VIEW,
  buildGrid,
  defaultPick,
  dimensionValues,
  gridDimensions,
  keyLabel,
  pickOf,
  pivotGrid,
  plainMetric,
  segmentOrder,
  shownGrid,
  shownGridTable,
  valueKey,
  type Grid,
} from '../../src/shared/grid';
import { LineageGraph } from '../../src/shared/lineageGraph';
import type { SqlValue } from '../../src/shared/rows';
import { assets, jinja, makeShop, nativeQuery, repoRoot, tempWorkspace, write, writeShopSqlite } from './helpers';

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
    assert.match(
      outcome.reason,
      /needs the model.s GROUP BY keys, or a region column and a segment column .* this model returns area, n/,
    );
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

// The grid's dimensions come from the final select's GROUP BY keys (src/shared/grid.ts gridDimensions): real SQL,
// its lineage built as the engine builds it, the grid's figures checked against values computed here from the rows
// and against native SQLite (better-sqlite3) running its own GROUP BY on the same file.
describe('the grid from GROUP BY keys', () => {
  const M = 'int_customer_metrics';
  const C = 'stg_customers';
  const tables: Record<string, string[]> = {
    [M]: ['customer_id', 'total_orders', 'total_spent', 'avg_order_value'],
    [C]: ['customer_id', 'first_name', 'last_name', 'region'],
  };
  const catalog: Catalog = (table) => tables[table.toLowerCase()];
  /** The lineage of a model, built as the engine builds it: rendered, then walked. */
  const graphOf = (sql: string) => {
    const rendered = renderModel(sql, 'model.sql', {
      jinja,
      target: { name: 'dev', schema: 'main', type: 'sqlite' },
      env: {},
    });
    return new LineageGraph(buildLineage({ sql: rendered.sql, sourceMap: rendered.sourceMap, catalog }));
  };
  const tierCase = `CASE
            WHEN i.total_spent >= 10000 THEN 'Platinum'
            WHEN i.total_spent >= 5000 THEN 'Gold'
            WHEN i.total_spent >= 1000 THEN 'Silver'
            ELSE 'Bronze'
        END`;
  const base = `WITH base AS (
    SELECT c.customer_id, c.first_name, c.region, i.total_spent, ${tierCase} AS tier
    FROM ${M} AS i JOIN ${C} AS c ON i.customer_id = c.customer_id
)
`;
  /** The model grouped by `keys` (the CASE-fed `tier` first on purpose: it still becomes the columns). */
  const modelBy = (keys: string[]) =>
    `${base}SELECT ${keys.join(', ')}, COUNT(DISTINCT customer_id) AS customer_count, ROUND(AVG(total_spent), 2) AS avg_ltv
FROM base
GROUP BY ${keys.join(', ')}`;
  const TIERS = ['Platinum', 'Gold', 'Silver', 'Bronze'];

  it('takes the keys in GROUP BY order, the CASE-fed one as the columns in CASE order, named as the model names them', () => {
    const columns = ['tier', 'region', 'first_name', 'customer_count', 'avg_ltv'];
    const dimensions = gridDimensions(graphOf(modelBy(['tier', 'region', 'first_name'])), columns);
    assert.deepEqual(dimensions, { keys: ['tier', 'region', 'first_name'], orders: { tier: TIERS } });
    assert.deepEqual(defaultPick(dimensions), { rows: 'region', columns: 'tier', filters: {} });
    // Two keys, none a CASE: the first down, the second across.
    const plain = gridDimensions(graphOf(modelBy(['first_name', 'region'])), ['first_name', 'region', 'n']);
    assert.deepEqual(defaultPick(plain), { rows: 'first_name', columns: 'region', filters: {} });
  });

  it('maps GROUP BY an alias, a position-free expression and a rename to the output columns they are', () => {
    const sql = `${base.replace('AS tier', 'AS tier_raw')}SELECT UPPER(region) AS area, tier_raw AS band, COUNT(*) AS n
FROM base
GROUP BY UPPER(region), band`;
    const dimensions = gridDimensions(graphOf(sql), ['area', 'band', 'n']);
    assert.deepEqual(dimensions.keys, ['area', 'band']);
    assert.deepEqual(dimensions.orders, { band: TIERS });
  });

  it('without a GROUP BY, falls back to the columns named region and segment', () => {
    const sql = `SELECT region, first_name AS customer_segment, customer_id AS n FROM ${C}`;
    const columns = ['region', 'customer_segment', 'n'];
    assert.deepEqual(gridDimensions(graphOf(sql), columns).keys, ['region', 'customer_segment']);
    assert.deepEqual(gridDimensions(undefined, columns).keys, ['region', 'customer_segment']);
    const nothing = buildGrid(
      ['a', 'n'],
      [['x', 1]],
      gridDimensions(graphOf(`SELECT first_name AS a, 1 AS n FROM ${C}`), ['a', 'n']),
    );
    assert.ok(!nothing.ok);
    assert.match(nothing.reason, /GROUP BY keys.*this model returns a, n/);
  });

  describe('pivoted, the values computed here from the rows', () => {
    const columns = ['tier', 'region', 'channel', 'customer_count', 'avg_ltv'];
    const rows: SqlValue[][] = [
      ['Gold', 'East', 'web', 2, 6000],
      ['Gold', 'East', 'shop', 3, 7000],
      ['Bronze', 'East', 'web', 5, 100],
      ['Platinum', 'West', 'shop', 1, 20000],
      ['Gold', 'West', null, 4, 5500],
      ['Bronze', null, 'web', 6, 200],
    ];
    const dimensions = { keys: ['tier', 'region', 'channel'], orders: { tier: TIERS } };
    const outcome = buildGrid(columns, rows, dimensions);
    assert.ok(outcome.ok);
    const grid = outcome.grid;
    const at = (name: string) => columns.indexOf(name);
    /** count and count-weighted LTV of the rows that match, from the rows themselves. */
    const expected = (match: (row: SqlValue[]) => boolean) => {
      const kept = rows.filter(match);
      const count = kept.reduce((sum, row) => sum + (row[at('customer_count')] as number), 0);
      const ltv = kept.reduce(
        (sum, row) => sum + (row[at('customer_count')] as number) * (row[at('avg_ltv')] as number),
        0,
      );
      return { customer_count: count, avg_ltv: ltv / count };
    };
    const cellOf = (g: Grid, region: string | null, segment: string | null) =>
      g.cells.find((cell) => cell.region === region && cell.segment === segment)?.values;

    it('three keys: region × tier, every channel aggregated as the totals are; the records kept for other picks', () => {
      assert.equal(grid.regionColumn, 'region');
      assert.equal(grid.segmentColumn, 'tier');
      assert.deepEqual(grid.segments, ['Platinum', 'Gold', 'Bronze']);
      assert.deepEqual(grid.regions, ['East', 'West', null]);
      assert.deepEqual(grid.filters, {});
      assert.equal(grid.records?.length, rows.length);
      for (const region of grid.regions)
        for (const tier of grid.segments) {
          const matching = (row: SqlValue[]) => row[at('region')] === region && row[at('tier')] === tier;
          if (!rows.some(matching)) assert.equal(cellOf(grid, region, tier), undefined);
          else assert.deepEqual(cellOf(grid, region, tier), expected(matching));
        }
      assert.deepEqual(
        grid.total,
        expected(() => true),
      );
    });

    it('another pick: channel × region kept at one tier', () => {
      const picked = pivotGrid(grid, { rows: 'channel', columns: 'region', filters: { tier: 'Gold' } });
      assert.deepEqual(pickOf(picked), { rows: 'channel', columns: 'region', filters: { tier: 'Gold' } });
      assert.deepEqual(picked.regions, ['shop', 'web', null]);
      assert.deepEqual(
        cellOf(picked, 'web', 'East'),
        expected((row) => row[0] === 'Gold' && row[2] === 'web'),
      );
      assert.deepEqual(cellOf(picked, null, 'West'), { customer_count: 4, avg_ltv: 5500 });
      assert.deepEqual(
        picked.total,
        expected((row) => row[0] === 'Gold'),
      );
      assert.deepEqual(dimensionValues(grid, 'tier'), ['Platinum', 'Gold', 'Bronze']);
      assert.deepEqual(dimensionValues(grid, 'channel'), ['shop', 'web', null]);
      // A pick of keys the grid does not have changes nothing.
      assert.equal(pivotGrid(grid, { rows: 'nope', columns: 'tier', filters: {} }), grid);
    });

    it('one key: a one-dimensional grid; two keys keep no records', () => {
      const one = buildGrid(
        ['region', 'customer_count'],
        [
          ['East', 3],
          ['West', 4],
        ],
        { keys: ['region'], orders: {} },
      );
      assert.ok(one.ok);
      assert.equal(one.grid.segmentColumn, undefined);
      assert.deepEqual(one.grid.segments, [null]);
      assert.deepEqual(one.grid.regionTotals, [{ customer_count: 3 }, { customer_count: 4 }]);
      const table = shownGridTable(one.grid, shownGrid(one.grid, DEFAULT_GRID_VIEW, 'en'), String);
      assert.deepEqual(table, [
        ['Customers by region', 'Customers'],
        ['East', '3'],
        ['West', '4'],
        ['Total', '7'],
      ]);
      const two = buildGrid(
        columns.filter((c) => c !== 'channel'),
        rows.map((row) => row.filter((_, i) => i !== 2)),
        {
          keys: ['tier', 'region'],
          orders: {},
        },
      );
      assert.ok(two.ok);
      assert.equal(two.grid.records, undefined);
      assert.deepEqual(keyLabel(null, 'tier'), '(no tier)');
    });
  });

  describe('run by the engine worker on a SQLite file, against native SQLite', () => {
    const workerPath = path.join(repoRoot, 'dist', 'worker.js');
    let engine: EngineClient;
    let dir: string;
    let warehouse: string;
    before(() => {
      engine = new EngineClient(workerPath, assets);
      dir = tempWorkspace();
      warehouse = writeShopSqlite(path.join(dir, 'warehouse.db'), makeShop(300, 23));
    });
    after(() => engine.dispose());

    async function run(keys: string[]): Promise<RunPayload> {
      write(dir, 'models/by.sql', modelBy(keys));
      const outcome = await engine.request<RunPayload>({
        type: 'run',
        request: {
          workspaceDir: dir,
          settings: { model: 'models/by.sql', connection: { type: 'sqlite', path: 'warehouse.db' } },
          env: {},
        },
        assets,
      });
      assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.error));
      return outcome.result;
    }
    /** Native SQLite's own GROUP BY of the same join, by `keys`, optionally WHERE `where`. */
    const native = (keys: string[], where = '1') =>
      nativeQuery(
        warehouse,
        {},
        `SELECT ${keys.map((key) => (key === 'tier' ? `${tierCase} AS tier` : `c.${key} AS ${key}`)).join(', ')},
           COUNT(DISTINCT i.customer_id) AS n, AVG(i.total_spent) AS ltv
         FROM ${M} AS i JOIN ${C} AS c ON i.customer_id = c.customer_id
         WHERE ${where}
         GROUP BY ${keys.map((_, index) => index + 1).join(', ')}`,
      );
    function assertMatches(grid: Grid, expected: Record<string, unknown>[], rowsKey: string, columnsKey?: string) {
      assert.equal(grid.cells.length, expected.length);
      for (const row of expected) {
        const cell = grid.cells.find(
          (candidate) =>
            candidate.region === row[rowsKey] && (columnsKey === undefined || candidate.segment === row[columnsKey]),
        );
        assert.ok(cell, `a cell for ${JSON.stringify(row)}`);
        assert.equal(cell.values.customer_count, row.n);
        // Averages of a cell made of several groups are weighted by their customers, each rounded to 2 decimals.
        assert.ok(Math.abs((cell.values.avg_ltv ?? NaN) - (row.ltv as number)) < 0.006, JSON.stringify(row));
      }
    }

    it('two keys: region × tier in CASE order, and the drill-down traced to base', async () => {
      const payload = await run(['region', 'tier']);
      assert.ok(payload.grid.ok);
      const grid = payload.grid.grid;
      assert.deepEqual([grid.regionColumn, grid.segmentColumn], ['region', 'tier']);
      assert.deepEqual(
        grid.segments,
        TIERS.filter((tier) => grid.segments.includes(tier)),
      );
      assertMatches(grid, native(['region', 'tier']), 'region', 'tier');
      assert.deepEqual(payload.drillDown, { cte: 'base', regionColumn: 'region', segmentColumn: 'tier' });
    });

    it('three keys (tier first): region × tier over every first name, another pick filtered, drill-down as for two', async () => {
      const payload = await run(['tier', 'region', 'first_name']);
      assert.ok(payload.grid.ok);
      const grid = payload.grid.grid;
      assert.deepEqual(grid.dimensions, ['tier', 'region', 'first_name']);
      assertMatches(grid, native(['region', 'tier']), 'region', 'tier');
      const ann = pivotGrid(grid, { rows: 'first_name', columns: 'region', filters: { tier: 'Gold' } });
      assertMatches(ann, native(['first_name', 'region'], `(${tierCase}) = 'Gold'`), 'first_name', 'region');
      assert.deepEqual(payload.drillDown, { cte: 'base', regionColumn: 'region', segmentColumn: 'tier' });
      const cell = grid.cells.find((candidate) => candidate.region === 'North' && candidate.segment === 'Gold')!;
      const page = await engine.request<{ total: number }>({
        type: 'cteRows',
        cte: 'base',
        filters: [
          { column: 'region', value: 'North' },
          { column: 'tier', value: 'Gold' },
        ],
        offset: 0,
        limit: 5,
      });
      assert.ok(page.ok);
      assert.equal(page.result.total, cell.values.customer_count);
    });

    it('one key: a one-dimensional grid of regions', async () => {
      const payload = await run(['region']);
      assert.ok(payload.grid.ok);
      const grid = payload.grid.grid;
      assert.equal(grid.segmentColumn, undefined);
      assertMatches(grid, native(['region']), 'region');
      assert.equal(payload.drillDown, undefined);
    });
  });
});
