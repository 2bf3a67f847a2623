// The lineage drawing's layout (webview/lineageLayout.ts), on lineages the engine builds from the jaffle_shop
// fixture's SQL and on small hand-written ones. Expected stages and boxes are read off the fixture's SQL by hand;
// geometry is checked by its properties (inside the drawing, no overlaps, fits the width) at many widths.
import assert from 'node:assert/strict';
import type { Lineage } from '../../src/engine/index';
import type { LineageEdge, LineageNode } from '../../src/shared/lineageModel';
import {
  COMPACT,
  fitMetrics,
  fitText,
  layout,
  layoutWidth,
  modelTree,
  NODE_HEIGHT,
  ROOMY,
  stagesOf,
  zoomedMetrics,
  type Layout,
  type ModelTree,
} from '../../webview/lineageLayout';
import { jaffleShopWorkspace, seedsLineage as lineageOf } from './helpers';

/** The stages as titles, each with its groups' relations. */
const shape = (tree: ModelTree) =>
  tree.stages.map((stage) => [stage.title, stage.groups.map((group) => group.relation)]);

interface Rect {
  what: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Every node and box of a layout as a rectangle. */
function rects(placed: Layout): Rect[] {
  return [
    ...placed.nodes.map((node) => ({
      what: `${node.model ?? ''}:${node.node.id}`,
      x: node.x,
      y: node.y,
      width: placed.metrics.nodeWidth,
      height: NODE_HEIGHT,
    })),
    ...placed.boxes.map((box) => ({
      what: `box ${box.model}`,
      x: box.x,
      y: box.y,
      width: placed.metrics.nodeWidth,
      height: box.height,
    })),
  ];
}

const overlap = (a: Rect, b: Rect) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

function assertSound(placed: Layout, label: string): void {
  const all = rects(placed);
  for (const rect of all) {
    assert.ok(
      rect.x >= 0 && rect.y >= 0 && rect.x + rect.width <= placed.width && rect.y + rect.height <= placed.height,
      `${label}: ${rect.what} lies inside the drawing`,
    );
  }
  for (let i = 0; i < all.length; i++)
    for (let j = i + 1; j < all.length; j++)
      assert.ok(!overlap(all[i], all[j]), `${label}: ${all[i].what} and ${all[j].what} do not overlap`);
  // Each expanded model's frame holds its own nodes.
  for (const frame of placed.frames)
    for (const node of placed.nodes.filter((candidate) => candidate.model === frame.model))
      assert.ok(
        node.x >= frame.x &&
          node.y >= frame.y &&
          node.x + placed.metrics.nodeWidth <= frame.x + frame.width &&
          node.y + NODE_HEIGHT <= frame.y + frame.height,
        `${label}: ${frame.model}'s frame holds ${node.node.id}`,
      );
}

describe('lineage layout', function () {
  this.timeout(30_000);
  let segments: Lineage;
  let customers: Lineage;
  before(async () => {
    const dir = jaffleShopWorkspace();
    segments = await lineageOf(dir, 'models/marts/customer_segments.sql');
    customers = await lineageOf(dir, 'models/customers.sql');
  });

  it('puts CTEs in layers: one that reads only sources in the first, one that reads CTEs right of them', () => {
    // customers.sql: customers, orders and payments read the staging models; order_history reads orders;
    // lifetime_value reads payments and orders.
    assert.deepEqual(shape({ lineage: customers, stages: stagesOf(customers), upstream: [] }), [
      ['Sources', ['staging.stg_customers', 'staging.stg_orders', 'finance.stg_payments']],
      ['CTEs', ['customers', 'orders', 'payments']],
      ['CTEs', ['order_history', 'lifetime_value']],
      ['Output', ['(final select)']],
    ]);
    const [sources, first, , output] = stagesOf(customers);
    assert.ok(sources.groups.every((group) => group.titled));
    assert.ok(
      first.groups.every((group) => group.titled),
      'CTEs sharing a stage each have a header',
    );
    assert.deepEqual(
      output.groups[0].nodes.map((node) => node.column),
      [
        'customer_id',
        'first_name',
        'last_name',
        'first_order',
        'most_recent_order',
        'number_of_orders',
        'customer_lifetime_value',
      ],
    );
  });

  it('titles a stage of one CTE by its name, without a group header', () => {
    const stages = stagesOf(segments);
    assert.deepEqual(
      stages.map((stage) => [stage.title, stage.relation]),
      [
        ['Sources', undefined],
        ['base', 'base'],
        ['Output', undefined],
      ],
    );
    assert.equal(stages[1].groups[0].titled, false);
  });

  it('shows each upstream model a source is as a box of the columns used; expanded, with its own upstream boxes', () => {
    const collapsed = modelTree(segments, new Set());
    assert.deepEqual(collapsed.upstream, [
      {
        kind: 'box',
        model: 'customers',
        relation: 'main.customers',
        // customer_segments.sql selects these from ref('customers'), in this order.
        columns: ['customer_id', 'first_name', 'last_name', 'customer_lifetime_value', 'number_of_orders'],
        error: undefined,
      },
    ]);
    // A model nested in a collapsed one stays out of sight, even when named.
    assert.deepEqual(modelTree(segments, new Set(['stg_payments'])).upstream, collapsed.upstream);

    const expanded = modelTree(segments, new Set(['customers', 'stg_payments']));
    const [customersItem] = expanded.upstream;
    assert.equal(customersItem.kind, 'expanded');
    if (customersItem.kind !== 'expanded') return;
    assert.equal(customersItem.tree.model, 'customers');
    assert.deepEqual(
      shape(customersItem.tree),
      shape({ lineage: customers, stages: stagesOf(customers), upstream: [] }),
    );
    assert.deepEqual(
      customersItem.tree.upstream.map((item) => [item.kind, item.model, item.relation, item.columns]),
      [
        ['box', 'stg_customers', 'staging.stg_customers', ['customer_id', 'first_name', 'last_name']],
        ['box', 'stg_orders', 'staging.stg_orders', ['order_id', 'customer_id', 'order_date', 'status']],
        ['expanded', 'stg_payments', 'finance.stg_payments', ['payment_id', 'order_id', 'payment_method', 'amount']],
      ],
    );
  });

  it('shows an upstream model without a lineage as a box with the reason, which cannot expand', () => {
    const broken: Lineage = {
      ...segments,
      upstreamModels: segments.upstreamModels!.map((model) =>
        model.model === 'customers'
          ? { model: model.model, file: model.file, relation: model.relation, error: 'near "selct": syntax error' }
          : model,
      ),
    };
    const tree = modelTree(broken, new Set(['customers']));
    assert.deepEqual(
      tree.upstream.map((item) => [item.kind, item.model, item.kind === 'box' && item.error]),
      [['box', 'customers', 'near "selct": syntax error']],
    );
  });

  it('stops at a cycle of models and at cyclic CTEs (bad input) instead of looping', () => {
    const node = (id: string, kind: LineageNode['kind'], relation: string, column: string): LineageNode => ({
      id,
      kind,
      relation,
      column,
    });
    const passthrough = (from: string, to: string): LineageEdge => ({ from, to, kind: 'passthrough' });
    // The root reads a, a reads b, b reads a; in each, CTEs x and y read each other.
    const modelOf = (other: string) => ({
      columns: [],
      unused: [],
      unresolved: [],
      relations: [
        { name: `main.${other}`, kind: 'source' as const },
        { name: 'x', kind: 'cte' as const },
        { name: 'y', kind: 'cte' as const },
        { name: '(final select)', kind: 'final' as const },
      ],
      nodes: [
        node(`main.${other}.v`, 'source', `main.${other}`, 'v'),
        node('x.v', 'cte', 'x', 'v'),
        node('y.v', 'cte', 'y', 'v'),
        node('v', 'output', '(final select)', 'v'),
      ],
      edges: [
        passthrough(`main.${other}.v`, 'x.v'),
        passthrough('x.v', 'y.v'),
        passthrough('y.v', 'x.v'),
        passthrough('y.v', 'v'),
      ],
    });
    const root: Lineage = {
      ...modelOf('a'),
      upstreamModels: [
        { model: 'a', file: 'a.sql', relation: 'main.a', lineage: modelOf('b') },
        { model: 'b', file: 'b.sql', relation: 'main.b', lineage: modelOf('a') },
      ],
    };
    const tree = modelTree(root, new Set(['a', 'b']));
    const a = tree.upstream[0];
    assert.ok(a.kind === 'expanded');
    const b = a.tree.upstream[0];
    assert.ok(b.kind === 'expanded');
    assert.deepEqual(b.tree.upstream, [], 'a, already on the path, is not drawn again inside b');
    // x and y read each other: each is still drawn, once.
    const drawn = stagesOf(root).flatMap((stage) => stage.groups.map((group) => group.relation));
    assert.deepEqual(drawn.sort(), ['(final select)', 'main.a', 'x', 'y']);
    assertSound(layout(tree, COMPACT), 'cycle');
  });

  it('links a source column to the upstream output of that id: a name selected twice is name:1 the second time', () => {
    const source = (column: string): LineageNode => ({
      id: `main.up.${column}`,
      kind: 'source',
      relation: 'main.up',
      column,
    });
    const output = (id: string, column: string): LineageNode => ({
      id,
      kind: 'output',
      relation: '(final select)',
      column,
    });
    const upstreamLineage = {
      columns: [],
      unused: [],
      unresolved: [],
      relations: [{ name: '(final select)', kind: 'final' as const }],
      nodes: [output('id', 'id'), output('id:1', 'id')],
      edges: [],
    };
    const root: Lineage = {
      columns: [],
      unused: [],
      unresolved: [],
      relations: [
        { name: 'main.up', kind: 'source' },
        { name: '(final select)', kind: 'final' },
      ],
      nodes: [source('id'), source('id:1'), output('a', 'a'), output('b', 'b')],
      edges: [
        { from: 'main.up.id', to: 'a', kind: 'passthrough' },
        { from: 'main.up.id:1', to: 'b', kind: 'rename' },
      ],
      upstreamModels: [{ model: 'up', file: 'up.sql', relation: 'main.up', lineage: upstreamLineage }],
    };
    const placed = layout(modelTree(root, new Set(['up'])), COMPACT);
    const outputs = new Map(placed.nodes.filter((node) => node.model === 'up').map((node) => [node.node.id, node]));
    assert.deepEqual(
      placed.links.map((link) => [
        link.from.id,
        link.to.id,
        link.from.y === outputs.get(link.from.id)!.y + NODE_HEIGHT / 2,
      ]),
      [
        ['id', 'main.up.id', true],
        ['id:1', 'main.up.id:1', true],
      ],
    );
  });

  it('fits any width from 200 px up: roomy when there is room, compact then scaled when there is not', () => {
    for (const expanded of [[], ['customers'], ['customers', 'stg_customers', 'stg_orders', 'stg_payments']]) {
      const tree = modelTree(segments, new Set(expanded));
      let previous = 0;
      for (let width = 200; width <= 2600; width += 40) {
        const { metrics, scale } = fitMetrics(tree, width);
        const drawn = layoutWidth(tree, metrics) * scale;
        assert.ok(drawn <= width + 1e-6, `${expanded.join('+') || 'collapsed'} at ${width}: ${drawn} fits`);
        assert.ok(scale > 0 && scale <= 1);
        assert.ok(metrics.nodeWidth >= COMPACT.nodeWidth && metrics.nodeWidth <= ROOMY.nodeWidth);
        assert.ok(metrics.nodeWidth >= previous, 'stages never get narrower as the width grows');
        previous = metrics.nodeWidth;
        // Compaction comes before scaling: a scale below 1 only once the stages are at their narrowest.
        if (scale < 1) assert.deepEqual(metrics, COMPACT);
        // Room to spare is used: the drawing fills the width unless it is already roomy.
        if (scale === 1 && metrics.nodeWidth < ROOMY.nodeWidth) assert.ok(drawn > width - 1, `fills ${width}`);
      }
      assert.deepEqual(fitMetrics(tree, 100_000), { metrics: ROOMY, scale: 1 });
    }
  });

  it('zooms in by first giving the stages room, then magnifying; zoom 1 is the fit', () => {
    const tree = modelTree(segments, new Set(['customers']));
    for (const width of [300, 461, 621, 900, 1600]) {
      assert.deepEqual(zoomedMetrics(tree, width, 1), fitMetrics(tree, width));
      let shown = 0;
      for (let zoom = 1; zoom <= 8; zoom *= 1.25) {
        const { metrics, scale } = zoomedMetrics(tree, width, zoom);
        const drawn = layoutWidth(tree, metrics) * scale;
        assert.ok(drawn >= shown - 1e-6, `at ${width}, zoom ${zoom.toFixed(2)} shows no less than the step before`);
        assert.ok(scale <= zoom + 1e-9);
        shown = drawn;
      }
    }
    // Below fit there is nothing to see: zoom is clamped to it.
    assert.deepEqual(zoomedMetrics(tree, 461, 0.2), fitMetrics(tree, 461));
  });

  it('places nodes and boxes without overlaps, the box lines facing the source columns they are', () => {
    for (const expanded of [[], ['customers'], ['customers', 'stg_orders', 'stg_payments']]) {
      const tree = modelTree(segments, new Set(expanded));
      for (const metrics of [COMPACT, ROOMY]) {
        const placed = layout(tree, metrics);
        const label = `${expanded.join('+') || 'collapsed'} ${metrics.nodeWidth}`;
        assertSound(placed, label);
        assert.equal(placed.width, layoutWidth(tree, metrics));
        // Each upstream column used links to the source column of the model reading it, left to right.
        for (const link of placed.links)
          assert.ok(link.from.x <= link.to.x, `${label}: ${link.from.id} runs rightwards`);
      }
    }
    const placed = layout(modelTree(segments, new Set()), COMPACT);
    assert.equal(placed.boxes.length, 1);
    assert.deepEqual(
      placed.links.map((link) => [link.from.model, link.from.id, link.to.model, link.to.id]),
      ['customer_id', 'first_name', 'last_name', 'customer_lifetime_value', 'number_of_orders'].map((column) => [
        'customers',
        column,
        undefined,
        `main.customers.${column}`,
      ]),
    );
    for (const link of placed.links) assert.equal(link.from.y, link.to.y, `${link.from.id}'s line faces its node`);
    // Expanded, the customers model's outputs link to the explored model's sources; its stg boxes to its own.
    const wide = layout(modelTree(segments, new Set(['customers'])), COMPACT);
    assert.deepEqual(
      wide.links.filter((link) => link.from.model === 'customers').map((link) => [link.from.id, link.to.id]),
      ['customer_id', 'first_name', 'last_name', 'customer_lifetime_value', 'number_of_orders'].map((column) => [
        column,
        `main.customers.${column}`,
      ]),
    );
    assert.deepEqual(
      wide.boxes.map((box) => [box.model, box.parent]),
      [
        ['stg_customers', 'customers'],
        ['stg_orders', 'customers'],
        ['stg_payments', 'customers'],
      ],
    );
  });

  it('cuts text to a width with an ellipsis, never inside a character', () => {
    const mono = (text: string) => [...text].length * 7;
    assert.equal(fitText('customer_id', 77, mono), 'customer_id');
    assert.equal(fitText('customer_lifetime_value', 70, mono), 'customer_…');
    assert.equal(mono(fitText('customer_lifetime_value', 70, mono)), 70);
    assert.equal(fitText('customer_lifetime_value', 13, mono), '');
    assert.equal(fitText('😀😀😀😀 region', 35, mono), '😀😀😀😀…');
    assert.equal(fitText('', 0, mono), '');
  });
});
