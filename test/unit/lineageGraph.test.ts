// The walks over a model's lineage (src/shared/lineageGraph.ts), on lineages built from real SQL and on small
// hand-written ones. Every expected value is stated by hand from the SQL (line and column numbers are those of
// sample/models/customer_segments.sql).
import assert from 'node:assert/strict';
import { buildLineage, type Catalog } from '../../src/engine/sql/lineage';
import { renderModel } from '../../src/engine/model/jinja';
import {
  drillDownSource,
  joinKeys,
  LineageGraph,
  numericSources,
  segmentation,
  spanOf,
  upstream,
  type SourceColumn,
} from '../../src/shared/lineageGraph';
import {
  FINAL_SELECT,
  type CaseDetail,
  type EdgeKind,
  type LineageEdge,
  type LineageNode,
} from '../../src/shared/lineageModel';
import { jinja, sampleModel } from './helpers';

const M = 'intermediate.int_customer_metrics';
const C = 'staging.stg_customers';
const SEGMENTED = 'analytics.segmented_customers';

const tables: Record<string, string[]> = {
  [M]: ['customer_id', 'total_orders', 'total_spent', 'avg_order_value', 'first_order_date'],
  [C]: ['customer_id', 'first_name', 'last_name', 'email', 'region'],
  [SEGMENTED]: ['customer_id', 'region', 'customer_segment'],
};
const catalog: Catalog = (table) => tables[table.toLowerCase()];

/** The graph of a model's lineage, built as the engine builds it: rendered, then walked. */
function graphOf(sql: string): LineageGraph {
  const rendered = renderModel(sql, 'model.sql', {
    jinja,
    target: { name: 'dev', schema: 'main', type: 'sqlite' },
    env: {},
  });
  return new LineageGraph(buildLineage({ sql: rendered.sql, sourceMap: rendered.sourceMap, catalog }));
}

/** Edges as "kind from -> to", sorted: what a list of edges says, whatever order the walk met them in. */
function described(edges: readonly LineageEdge[]): string[] {
  return edges.map((edge) => `${edge.kind} ${edge.from} -> ${edge.to}`).sort();
}

const byName = (a: SourceColumn, b: SourceColumn) => `${a.table}.${a.column}`.localeCompare(`${b.table}.${b.column}`);

/** A hand-written node: `schema.table.column` or `cte.column`; a bare name is an output of the final select. */
function node(id: string, kind: LineageNode['kind']): LineageNode {
  const dot = id.lastIndexOf('.');
  return { id, kind, relation: dot < 0 ? FINAL_SELECT : id.slice(0, dot), column: id.slice(dot + 1) };
}

function edge(kind: EdgeKind, from: string, to: string, detail?: string): LineageEdge {
  return detail === undefined ? { kind, from, to } : { kind, from, to, detail };
}

/** Two CTEs, the region from one and the segment from the other, joined in the final select. */
const twoCtes = [
  'WITH regions AS (',
  '    SELECT customer_id, region FROM staging.stg_customers',
  '),',
  'segments AS (',
  "    SELECT customer_id, CASE WHEN total_spent >= 1000 THEN 'High' ELSE 'Low' END AS customer_segment",
  '    FROM intermediate.int_customer_metrics',
  ')',
  'SELECT r.region, s.customer_segment, COUNT(*) AS customer_count',
  'FROM regions AS r',
  'JOIN segments AS s ON r.customer_id = s.customer_id',
  'GROUP BY r.region, s.customer_segment',
].join('\n');

/** No CTE: region and segment straight from a table that already has them. */
const noCte = `SELECT region, customer_segment, COUNT(*) AS customer_count FROM ${SEGMENTED} GROUP BY region, customer_segment`;

describe('lineageGraph: nodes and edges of the seed model', () => {
  let graph: LineageGraph;
  before(() => {
    graph = graphOf(sampleModel);
  });

  it('finds a source, a CTE and an output column by id, and nothing for a relation or an unknown id', () => {
    const { id, kind, relation, column } = graph.node(`${M}.total_spent`) ?? assert.fail('the source column is a node');
    assert.deepEqual(
      { id, kind, relation, column },
      { id: `${M}.total_spent`, kind: 'source', relation: M, column: 'total_spent' },
    );
    const segment = graph.node('base.customer_segment');
    assert.deepEqual([segment?.kind, segment?.relation, segment?.column], ['cte', 'base', 'customer_segment']);
    const output = graph.node('avg_ltv');
    assert.deepEqual([output?.kind, output?.relation, output?.column], ['output', FINAL_SELECT, 'avg_ltv']);
    assert.equal(graph.node('base'), undefined, 'a relation is not a node');
    assert.equal(graph.node(M), undefined, 'a source table is not a node');
    assert.equal(graph.node('base.nowhere'), undefined);
  });

  it('edges into a column: the step that computes it', () => {
    assert.deepEqual(described(graph.edgesInto('base.customer_segment')), [
      `case ${M}.total_spent -> base.customer_segment`,
    ]);
    assert.deepEqual(described(graph.edgesInto('avg_ltv')), ['aggregate base.total_spent -> avg_ltv']);
    assert.deepEqual(described(graph.edgesInto(`${M}.total_spent`)), [], 'a source column has nothing upstream');
  });

  it('edges into a relation: the columns that shape its rows', () => {
    assert.deepEqual(described(graph.edgesInto('base')), [
      `join_key ${M}.customer_id -> base`,
      `join_key ${C}.customer_id -> base`,
    ]);
    assert.deepEqual(described(graph.edgesInto(FINAL_SELECT)), [
      'group_key base.customer_segment -> (final select)',
      'group_key base.region -> (final select)',
      'order_key avg_ltv -> (final select)',
      'order_key region -> (final select)',
    ]);
  });

  it('edges out of a column: where its value goes and which rows it shapes', () => {
    assert.deepEqual(described(graph.edgesFrom(`${M}.total_spent`)), [
      `case ${M}.total_spent -> base.customer_segment`,
      `passthrough ${M}.total_spent -> base.total_spent`,
    ]);
    assert.deepEqual(described(graph.edgesFrom(`${M}.customer_id`)), [
      `join_key ${M}.customer_id -> base`,
      `passthrough ${M}.customer_id -> base.customer_id`,
    ]);
    assert.deepEqual(described(graph.edgesFrom('base.region')), [
      'group_key base.region -> (final select)',
      'passthrough base.region -> region',
    ]);
    assert.deepEqual(described(graph.edgesFrom('avg_ltv')), ['order_key avg_ltv -> (final select)']);
    assert.deepEqual(described(graph.edgesFrom('base.first_name')), [], 'an unused column leads nowhere');
    assert.deepEqual(described(graph.edgesFrom('nowhere')), []);
  });
});

describe('lineageGraph: upstream', () => {
  let graph: LineageGraph;
  before(() => {
    graph = graphOf(sampleModel);
  });

  it('the segment: its source, kinds upstream first, every node reached', () => {
    assert.deepEqual(upstream(graph, 'customer_segment'), {
      sources: [`${M}.total_spent`],
      kinds: ['case', 'passthrough'],
      reached: new Set(['customer_segment', 'base.customer_segment', `${M}.total_spent`]),
    });
  });

  it('two passthrough steps in a row read as one', () => {
    assert.deepEqual(upstream(graph, 'region'), {
      sources: [`${C}.region`],
      kinds: ['passthrough'],
      reached: new Set(['region', 'base.region', `${C}.region`]),
    });
  });

  it('from several columns at once; a string and a one-item list are the same start', () => {
    assert.deepEqual(upstream(graph, ['region', 'customer_count']), {
      sources: [`${C}.region`, `${M}.customer_id`],
      // aggregate and passthrough at the output, passthrough below both: the repeat collapses.
      kinds: ['passthrough', 'aggregate'],
      reached: new Set([
        'region',
        'customer_count',
        'base.region',
        'base.customer_id',
        `${C}.region`,
        `${M}.customer_id`,
      ]),
    });
    assert.deepEqual(upstream(graph, ['avg_ltv']), upstream(graph, 'avg_ltv'));
  });

  it('follows value edges only: join, group and order keys are not upstream', () => {
    assert.deepEqual(upstream(graph, FINAL_SELECT), { sources: [], kinds: [], reached: new Set([FINAL_SELECT]) });
    assert.deepEqual(upstream(graph, 'base'), { sources: [], kinds: [], reached: new Set(['base']) });
  });

  it('hand-written: sources nearest first, each once though two paths reach it; the kinds met at one distance all count', () => {
    const hand = new LineageGraph({
      nodes: [
        node('src.t.w', 'source'),
        node('src.t.a', 'source'),
        node('src.t.z', 'source'),
        node('c1.a', 'cte'),
        node('c1.b', 'cte'),
        node('c2.total', 'cte'),
        node('score', 'output'),
      ],
      edges: [
        edge('aggregate', 'src.t.w', 'score', 'SUM(total * w)'),
        edge('aggregate', 'c2.total', 'score', 'SUM(total * w)'),
        edge('expression', 'c1.a', 'c2.total', 'a + b'),
        edge('expression', 'c1.b', 'c2.total', 'a + b'),
        edge('passthrough', 'src.t.a', 'c1.a'),
        edge('rename', 'src.t.a', 'c1.b', 'a AS b'),
        edge('filter', 'src.t.z', 'c1'),
      ],
    });
    assert.deepEqual(upstream(hand, 'score'), {
      sources: ['src.t.w', 'src.t.a'],
      kinds: ['passthrough', 'rename', 'expression', 'aggregate'],
      reached: new Set(['score', 'src.t.w', 'c2.total', 'c1.a', 'c1.b', 'src.t.a']),
    });
  });

  it('hand-written: the same kind again after another one is a step of its own', () => {
    const hand = new LineageGraph({
      nodes: [
        node('s.x', 'source'),
        node('c1.x', 'cte'),
        node('c2.x', 'cte'),
        node('c3.seg', 'cte'),
        node('seg', 'output'),
      ],
      edges: [
        edge('passthrough', 's.x', 'c1.x'),
        edge('passthrough', 'c1.x', 'c2.x'),
        edge('case', 'c2.x', 'c3.seg', "CASE WHEN x > 1 THEN 'a' END"),
        edge('passthrough', 'c3.seg', 'seg'),
      ],
    });
    assert.deepEqual(upstream(hand, 'seg').kinds, ['passthrough', 'case', 'passthrough']);
    assert.deepEqual(upstream(hand, 'seg').sources, ['s.x']);
  });

  it('hand-written: a column that feeds itself (a recursive CTE) ends the walk; a CTE column with nothing upstream is no source', () => {
    const hand = new LineageGraph({
      nodes: [node('r.n', 'cte'), node('n', 'output')],
      edges: [edge('passthrough', 'r.n', 'n'), edge('expression', 'r.n', 'r.n', 'n + 1')],
    });
    assert.deepEqual(upstream(hand, 'n'), {
      sources: [],
      kinds: ['expression', 'passthrough'],
      reached: new Set(['n', 'r.n']),
    });
  });
});

describe('lineageGraph: joinKeys', () => {
  it('the seed model joins on customer_id of both tables', () => {
    assert.deepEqual(joinKeys(graphOf(sampleModel)).sort(byName), [
      { table: M, column: 'customer_id' },
      { table: C, column: 'customer_id' },
    ]);
  });

  it('a join of two CTEs names no source column, and a model without a join has no keys', () => {
    assert.deepEqual(joinKeys(graphOf(twoCtes)), []);
    assert.deepEqual(joinKeys(graphOf(noCte)), []);
  });

  it('hand-written: source columns only, each once, however many joins use it and however it is spelled', () => {
    const hand = new LineageGraph({
      nodes: [
        node('src.orders.customer_id', 'source'),
        node('src.customers.id', 'source'),
        node('src.orders.region', 'source'),
        node('SRC.Orders.Customer_ID', 'source'),
        node('c1.customer_id', 'cte'),
      ],
      edges: [
        edge('join_key', 'src.orders.customer_id', 'c1', 'INNER JOIN'),
        edge('join_key', 'src.customers.id', 'c1', 'INNER JOIN'),
        edge('join_key', 'src.orders.customer_id', 'c2', 'LEFT JOIN'),
        edge('join_key', 'SRC.Orders.Customer_ID', 'c3', 'INNER JOIN'),
        edge('join_key', 'c1.customer_id', FINAL_SELECT, 'INNER JOIN'),
        edge('join_key', 'ghost.id', FINAL_SELECT, 'INNER JOIN'),
        edge('group_key', 'src.orders.region', 'c1'),
      ],
    });
    assert.deepEqual(
      joinKeys(hand).map((key) => `${key.table}.${key.column}`.toLowerCase()),
      ['src.orders.customer_id', 'src.customers.id'],
    );
  });
});

describe('lineageGraph: numericSources', () => {
  it('the seed model: spend (CASE and AVG) and orders (AVG), not the customer id it only COUNTs', () => {
    assert.deepEqual(numericSources(graphOf(sampleModel)).sort(byName), [
      { table: M, column: 'total_orders' },
      { table: M, column: 'total_spent' },
    ]);
  });

  it('two CTEs: the spend the CASE compares; COUNT(*) and a model without CASE or aggregate over a column add nothing', () => {
    assert.deepEqual(numericSources(graphOf(twoCtes)), [{ table: M, column: 'total_spent' }]);
    assert.deepEqual(numericSources(graphOf(noCte)), []);
  });

  it('hand-written: COUNT in any spelling is excluded, SUM and CASE reach their sources through CTEs', () => {
    const hand = new LineageGraph({
      nodes: [
        node('s.t.k', 'source'),
        node('s.t.j', 'source'),
        node('s.t.v', 'source'),
        node('s.t.x', 'source'),
        node('c.v', 'cte'),
        node('c.band', 'cte'),
        node('n', 'output'),
        node('m', 'output'),
        node('total', 'output'),
      ],
      edges: [
        edge('aggregate', 's.t.k', 'n', 'count (DISTINCT k)'),
        edge('aggregate', 's.t.j', 'm', '  COUNT(j)'),
        edge('expression', 's.t.v', 'c.v', 'v * 1.0'),
        edge('aggregate', 'c.v', 'total', 'SUM(v)'),
        edge('case', 's.t.x', 'c.band', "CASE WHEN x > 0 THEN 'up' END"),
      ],
    });
    assert.deepEqual(numericSources(hand).sort(byName), [
      { table: 's.t', column: 'v' },
      { table: 's.t', column: 'x' },
    ]);
  });
});

/** A CASE's conditions and results, without where each branch is written. */
describe('lineageGraph: segmentation', () => {
  /** The CASE's conditions and results (its numbers' spans are whatIf.test's, its branches' lineage.test's). */
  const conditionsOf = (detail: CaseDetail | undefined) => {
    if (!detail) return undefined;
    const { literals, ...conditions } = detail;
    assert.ok(literals?.length, 'its numbers are listed');
    return { ...conditions, whens: conditions.whens.map(({ when, then }) => ({ when, then })) };
  };
  it('the seed model: the CASE with its thresholds', () => {
    assert.deepEqual(conditionsOf(segmentation(graphOf(sampleModel))), {
      whens: [
        { when: 'i.total_spent >= 10000', then: "'Platinum'" },
        { when: 'i.total_spent >= 5000', then: "'Gold'" },
        { when: 'i.total_spent >= 1000', then: "'Silver'" },
      ],
      else: "'Bronze'",
    });
  });

  it('a CASE in another CTE, and no CASE at all', () => {
    assert.deepEqual(conditionsOf(segmentation(graphOf(twoCtes))), {
      whens: [{ when: 'total_spent >= 1000', then: "'High'" }],
      else: "'Low'",
    });
    assert.equal(segmentation(graphOf(noCte)), undefined);
  });

  it('the CASE on the way to the segment column, when the region is cut by a CASE written first', () => {
    const regionFirst = `
      with base as (
        select case customer_id % 2 when 0 then 'North' else 'South' end as region,
               case when total_spent >= 100 then 'Gold' else 'Bronze' end as customer_segment,
               customer_id
        from ${M}
      )
      select region, customer_segment, count(*) as customer_count from base group by region, customer_segment`;
    const graph = graphOf(regionFirst);
    assert.deepEqual(conditionsOf(segmentation(graph, 'customer_segment')), {
      whens: [{ when: 'total_spent >= 100', then: "'Gold'" }],
      else: "'Bronze'",
    });
    // Without the column, the first CASE; a column no CASE feeds falls back to it too.
    assert.equal(segmentation(graph)?.operand, 'customer_id % 2');
    assert.equal(segmentation(graph, 'customer_count')?.operand, 'customer_id % 2');
  });

  it('hand-written: the first CASE of the model when there are two', () => {
    const first: CaseDetail = { whens: [{ when: 'x >= 10', then: "'High'" }], else: "'Low'" };
    const second: CaseDetail = { operand: 'y', whens: [{ when: '1', then: "'one'" }] };
    const hand = new LineageGraph({
      nodes: [
        node('s.t.x', 'source'),
        node('s.t.y', 'source'),
        node('c.y', 'cte'),
        node('c.band', 'cte'),
        node('c.label', 'cte'),
      ],
      edges: [
        edge('passthrough', 's.t.y', 'c.y'),
        { ...edge('case', 's.t.x', 'c.band'), case: first },
        { ...edge('case', 's.t.y', 'c.label'), case: second },
      ],
    });
    assert.deepEqual(segmentation(hand), first);
  });
});

describe('lineageGraph: drillDownSource', () => {
  it('region and segment both pass straight through from base: base and its columns', () => {
    assert.deepEqual(drillDownSource(graphOf(sampleModel), 'region', 'customer_segment'), {
      cte: 'base',
      regionColumn: 'region',
      segmentColumn: 'customer_segment',
    });
  });

  it('from two different CTEs: none', () => {
    assert.equal(drillDownSource(graphOf(twoCtes), 'region', 'customer_segment'), undefined);
  });

  it('straight from a source table, with no CTE: none', () => {
    assert.equal(drillDownSource(graphOf(noCte), 'region', 'customer_segment'), undefined);
  });

  it('an output column the model does not have: none', () => {
    assert.equal(drillDownSource(graphOf(sampleModel), 'area', 'customer_segment'), undefined);
  });

  it("hand-written: the CTE's own column names; a rename or a subquery is no passthrough from a CTE", () => {
    const hand = new LineageGraph({
      nodes: [
        node('base.Region', 'cte'),
        node('base.seg', 'cte'),
        node('base.area', 'cte'),
        node('(subquery 1).seg', 'subquery'),
        node('region', 'output'),
        node('segment', 'output'),
        node('renamed_region', 'output'),
        node('sub_segment', 'output'),
      ],
      edges: [
        edge('passthrough', 'base.Region', 'region'),
        edge('passthrough', 'base.seg', 'segment'),
        edge('rename', 'base.area', 'renamed_region', 'area AS renamed_region'),
        edge('passthrough', '(subquery 1).seg', 'sub_segment'),
      ],
    });
    assert.deepEqual(drillDownSource(hand, 'region', 'segment'), {
      cte: 'base',
      regionColumn: 'Region',
      segmentColumn: 'seg',
    });
    assert.equal(drillDownSource(hand, 'renamed_region', 'segment'), undefined);
    assert.equal(drillDownSource(hand, 'region', 'sub_segment'), undefined);
  });
});

describe('lineageGraph: spanOf', () => {
  let graph: LineageGraph;
  before(() => {
    graph = graphOf(sampleModel);
  });

  it('a column: where the model first names it', () => {
    // `        c.region,` on line 7: the reference in base's select list.
    assert.deepEqual(spanOf(graph, `${C}.region`), {
      file: 'model.sql',
      line: 7,
      column: 9,
      endLine: 7,
      endColumn: 17,
    });
    // `    ROUND(AVG(total_spent), 2)  AS avg_ltv,` on line 25: the whole select item.
    assert.deepEqual(spanOf(graph, 'avg_ltv'), { file: 'model.sql', line: 25, column: 5, endLine: 25, endColumn: 43 });
  });

  it("a relation: the CTE's name, or the table with its alias", () => {
    // `WITH base AS (` on line 2.
    assert.deepEqual(spanOf(graph, 'base'), { file: 'model.sql', line: 2, column: 6, endLine: 2, endColumn: 10 });
    // `    FROM intermediate.int_customer_metrics AS i` on line 17.
    assert.deepEqual(spanOf(graph, M), { file: 'model.sql', line: 17, column: 10, endLine: 17, endColumn: 48 });
    // `    JOIN staging.stg_customers AS c` on line 18.
    assert.deepEqual(spanOf(graph, C), { file: 'model.sql', line: 18, column: 10, endLine: 18, endColumn: 36 });
  });

  it('the final select and an unknown id have none', () => {
    assert.equal(spanOf(graph, FINAL_SELECT), undefined);
    assert.equal(spanOf(graph, 'nowhere'), undefined);
  });

  it("hand-written: a node's own span; without relations in the lineage, a relation has none", () => {
    const span = { file: 'm.sql', line: 3, column: 5, endLine: 3, endColumn: 12 };
    const hand = new LineageGraph({
      nodes: [{ ...node('base.region', 'cte'), span }, node('region', 'output')],
      edges: [edge('passthrough', 'base.region', 'region')],
    });
    assert.deepEqual(spanOf(hand, 'base.region'), span);
    assert.equal(spanOf(hand, 'region'), undefined, 'a node without a span');
    assert.equal(spanOf(hand, 'base'), undefined);
    assert.equal(spanOf(hand, FINAL_SELECT), undefined);
  });

  it("hand-written: a relation's span from the lineage's relations, and never one for the final select", () => {
    const base = { file: 'm.sql', line: 1, column: 6, endLine: 1, endColumn: 10 };
    const whole = { file: 'm.sql', line: 1, column: 1, endLine: 9, endColumn: 1 };
    const hand = new LineageGraph({
      nodes: [node('base.region', 'cte'), node('region', 'output')],
      edges: [edge('passthrough', 'base.region', 'region')],
      relations: [
        { name: 'base', kind: 'cte', span: base },
        { name: FINAL_SELECT, kind: 'final', span: whole },
      ],
    });
    assert.deepEqual(spanOf(hand, 'base'), base);
    assert.equal(spanOf(hand, FINAL_SELECT), undefined);
  });
});
