// The lineage of the seed model and its variants, each stated by hand.
import assert from 'node:assert/strict';
import { buildLineage, type Catalog, type Lineage } from '../../src/engine/sql/lineage';
import { renderModel } from '../../src/engine/model/jinja';
import type { FileLocation } from '../../src/engine/errors';
import type { DbtProject } from '../../src/engine/model/dbtProject';
import { dbtProject, jinja, sampleModel } from './helpers';

const tables: Record<string, string[]> = {
  'intermediate.int_customer_metrics': [
    'customer_id',
    'total_orders',
    'total_spent',
    'avg_order_value',
    'first_order_date',
  ],
  'staging.stg_customers': ['customer_id', 'first_name', 'last_name', 'email', 'region'],
};
const catalog: Catalog = (table) =>
  tables[table.toLowerCase()] ??
  tables[`staging.${table.toLowerCase()}`] ??
  tables[`intermediate.${table.toLowerCase()}`];

const project: DbtProject = dbtProject({
  dir: '/p',
  nodes: new Set(['int_customer_metrics', 'stg_customers']),
  modelSchemas: new Map([['int_customer_metrics', 'intermediate']]),
});

function lineageOf(template: string): Lineage {
  const rendered = renderModel(template, 'model.sql', {
    jinja,
    project,
    target: { name: 'dev', schema: 'main', type: 'sqlite' },
    env: {},
  });
  return buildLineage({ sql: rendered.sql, sourceMap: rendered.sourceMap, catalog });
}

/** Edges as "kind from -> to", sorted. */
function edges(lineage: Lineage): string[] {
  return lineage.edges.map((edge) => `${edge.kind} ${edge.from} -> ${edge.to}`).sort();
}

function summary(lineage: Lineage) {
  return lineage.columns.map(({ name, sources, kinds }) => ({ name, sources, kinds }));
}

/** The text of the user's file a location covers. */
function textAt(text: string, location: FileLocation | undefined): string {
  assert.ok(location, 'has a span');
  const lines = text.split('\n');
  const start = lines.slice(0, location.line - 1).join('\n').length + (location.line > 1 ? 1 : 0) + location.column - 1;
  const end =
    lines.slice(0, (location.endLine ?? location.line) - 1).join('\n').length +
    ((location.endLine ?? location.line) > 1 ? 1 : 0) +
    (location.endColumn ?? location.column) -
    1;
  return text.slice(start, end);
}

const M = 'intermediate.int_customer_metrics';
const C = 'staging.stg_customers';

/** Every edge of the seed model, stated by hand. */
const seedEdges = [
  `passthrough ${M}.customer_id -> base.customer_id`,
  `passthrough ${C}.first_name -> base.first_name`,
  `passthrough ${C}.last_name -> base.last_name`,
  `passthrough ${C}.region -> base.region`,
  `passthrough ${M}.total_spent -> base.total_spent`,
  `passthrough ${M}.total_orders -> base.total_orders`,
  `passthrough ${M}.avg_order_value -> base.avg_order_value`,
  `case ${M}.total_spent -> base.customer_segment`,
  `join_key ${M}.customer_id -> base`,
  `join_key ${C}.customer_id -> base`,
  'passthrough base.region -> region',
  'passthrough base.customer_segment -> customer_segment',
  'aggregate base.customer_id -> customer_count',
  'aggregate base.total_spent -> avg_ltv',
  'aggregate base.total_orders -> avg_orders',
  'group_key base.region -> (final select)',
  'group_key base.customer_segment -> (final select)',
  'order_key region -> (final select)',
  'order_key avg_ltv -> (final select)',
].sort();

const seedColumns = [
  { name: 'region', sources: [`${C}.region`], kinds: ['passthrough'] },
  { name: 'customer_segment', sources: [`${M}.total_spent`], kinds: ['case', 'passthrough'] },
  { name: 'customer_count', sources: [`${M}.customer_id`], kinds: ['passthrough', 'aggregate'] },
  { name: 'avg_ltv', sources: [`${M}.total_spent`], kinds: ['passthrough', 'aggregate'] },
  { name: 'avg_orders', sources: [`${M}.total_orders`], kinds: ['passthrough', 'aggregate'] },
];

describe('lineage: the seed model', () => {
  let lineage: Lineage;
  before(() => {
    lineage = lineageOf(sampleModel);
  });

  it('every output column, its sources and its kinds', () => {
    assert.deepEqual(summary(lineage), seedColumns);
  });

  it('every edge', () => {
    assert.deepEqual(edges(lineage), seedEdges);
  });

  it('the three unused columns, with where they are selected', () => {
    assert.deepEqual(
      lineage.unused.map(({ name, column, sources }) => ({ name, column, sources })),
      [
        { name: 'first_name', column: 'base.first_name', sources: [`${C}.first_name`] },
        { name: 'last_name', column: 'base.last_name', sources: [`${C}.last_name`] },
        { name: 'avg_order_value', column: 'base.avg_order_value', sources: [`${M}.avg_order_value`] },
      ],
    );
    assert.deepEqual(
      lineage.unused.map((column) => textAt(sampleModel, column.span)),
      ['c.first_name', 'c.last_name', 'i.avg_order_value'],
    );
    assert.deepEqual(lineage.unresolved, []);
  });

  it('the CASE carries its thresholds, the aggregates their functions, the join its kind', () => {
    const segment = lineage.edges.find((edge) => edge.kind === 'case');
    assert.deepEqual(segment?.case, {
      whens: [
        { when: 'i.total_spent >= 10000', then: "'Platinum'" },
        { when: 'i.total_spent >= 5000', then: "'Gold'" },
        { when: 'i.total_spent >= 1000', then: "'Silver'" },
      ],
      else: "'Bronze'",
    });
    const detail = (to: string) => lineage.edges.find((edge) => edge.to === to && edge.kind === 'aggregate')?.detail;
    assert.equal(detail('customer_count'), 'COUNT(DISTINCT customer_id)');
    assert.equal(detail('avg_ltv'), 'ROUND(AVG(total_spent), 2)');
    assert.equal(detail('avg_orders'), 'ROUND(AVG(total_orders), 2)');
    assert.ok(lineage.edges.filter((edge) => edge.kind === 'join_key').every((edge) => edge.detail === 'INNER JOIN'));
  });

  it('spans point at the right text in the file', () => {
    const edge = (kind: string, to: string, from?: string) => {
      const found = lineage.edges.find(
        (candidate) => candidate.kind === kind && candidate.to === to && (!from || candidate.from === from),
      );
      assert.ok(found, `${kind} → ${to}`);
      return found;
    };
    assert.match(
      textAt(sampleModel, edge('case', 'base.customer_segment').span),
      /^CASE\s+WHEN i\.total_spent >= 10000 THEN 'Platinum'[\s\S]*ELSE 'Bronze'\s+END$/,
    );
    assert.equal(textAt(sampleModel, edge('case', 'base.customer_segment').refSpan), 'i.total_spent');
    assert.equal(textAt(sampleModel, edge('join_key', 'base', `${M}.customer_id`).span), 'i.customer_id');
    assert.equal(textAt(sampleModel, edge('join_key', 'base', `${C}.customer_id`).span), 'c.customer_id');
    assert.equal(textAt(sampleModel, edge('aggregate', 'avg_ltv').span), 'ROUND(AVG(total_spent), 2)');
    assert.equal(
      textAt(sampleModel, edge('group_key', '(final select)', 'base.customer_segment').span),
      'customer_segment',
    );
    assert.equal(textAt(sampleModel, edge('order_key', '(final select)', 'avg_ltv').span), 'avg_ltv');
    assert.deepEqual(
      lineage.columns.map((column) => textAt(sampleModel, column.span).replace(/\s+/g, ' ')),
      [
        'region',
        'customer_segment',
        'COUNT(DISTINCT customer_id) AS customer_count',
        'ROUND(AVG(total_spent), 2) AS avg_ltv',
        'ROUND(AVG(total_orders), 2) AS avg_orders',
      ],
    );
    const nodes = new Map(lineage.nodes.map((node) => [node.id, node]));
    assert.equal(
      textAt(sampleModel, nodes.get('base.customer_segment')?.span).split('\n').pop()?.trim(),
      'END AS customer_segment',
    );
    assert.equal(textAt(sampleModel, nodes.get(`${C}.region`)?.span), 'c.region');
    assert.deepEqual(
      lineage.relations.map((relation) => [
        relation.name,
        relation.kind,
        relation.span ? textAt(sampleModel, relation.span) : undefined,
      ]),
      [
        ['base', 'cte', 'base'],
        [M, 'source', `${M} AS i`],
        [C, 'source', `${C} AS c`],
        ['(final select)', 'final', undefined],
      ],
    );
  });
});

/** The seed model with one edit: `replace` pairs of (text in the seed model, new text). */
function variant(...replace: [string, string][]): string {
  let model = sampleModel;
  for (const [from, to] of replace) {
    assert.ok(model.includes(from), `the seed model contains ${from}`);
    model = model.replace(from, to);
  }
  return model;
}

describe('lineage: variants of the seed model', () => {
  it('renamed columns', () => {
    const lineage = lineageOf(
      variant(
        ['i.total_spent,\n', 'i.total_spent AS lifetime_value,\n'],
        ['ROUND(AVG(total_spent), 2)', 'ROUND(AVG(lifetime_value), 2)'],
        ['c.region,', 'c.region AS area,'],
        ['SELECT\n    region,', 'SELECT\n    area AS region,'],
        ['GROUP BY region', 'GROUP BY area'],
      ),
    );
    assert.deepEqual(summary(lineage)[0], { name: 'region', sources: [`${C}.region`], kinds: ['rename'] });
    assert.deepEqual(summary(lineage)[3], {
      name: 'avg_ltv',
      sources: [`${M}.total_spent`],
      kinds: ['rename', 'aggregate'],
    });
    assert.ok(edges(lineage).includes(`rename ${M}.total_spent -> base.lifetime_value`));
    assert.ok(edges(lineage).includes('rename base.area -> region'));
    assert.ok(edges(lineage).includes('group_key base.area -> (final select)'));
    assert.equal(lineage.edges.find((edge) => edge.to === 'region')?.detail, 'area AS region');
  });

  it('a second CTE on top of base', () => {
    const lineage = lineageOf(
      variant(
        [
          ')\nSELECT',
          '),\nranked AS (\n    SELECT region, customer_segment, customer_id, total_spent * 1.0 AS spend, total_orders FROM base\n)\nSELECT',
        ],
        ['ROUND(AVG(total_spent), 2)', 'ROUND(AVG(spend), 2)'],
        ['FROM base\nGROUP', 'FROM ranked\nGROUP'],
      ),
    );
    assert.deepEqual(summary(lineage), [
      { name: 'region', sources: [`${C}.region`], kinds: ['passthrough'] },
      { name: 'customer_segment', sources: [`${M}.total_spent`], kinds: ['case', 'passthrough'] },
      { name: 'customer_count', sources: [`${M}.customer_id`], kinds: ['passthrough', 'aggregate'] },
      { name: 'avg_ltv', sources: [`${M}.total_spent`], kinds: ['passthrough', 'expression', 'aggregate'] },
      { name: 'avg_orders', sources: [`${M}.total_orders`], kinds: ['passthrough', 'aggregate'] },
    ]);
    assert.ok(edges(lineage).includes('expression base.total_spent -> ranked.spend'));
    assert.ok(edges(lineage).includes('group_key ranked.region -> (final select)'));
    assert.deepEqual(
      lineage.unused.map((column) => column.column),
      ['base.first_name', 'base.last_name', 'base.avg_order_value'],
    );
  });

  it("SELECT * in a CTE and alias.* in base, expanded from the data's schemas", () => {
    const lineage = lineageOf(
      variant(
        ['WITH base AS (', 'WITH metrics AS (SELECT * FROM intermediate.int_customer_metrics),\nbase AS ('],
        ['        i.customer_id,\n', '        i.*,\n'],
        ['        i.total_spent,\n        i.total_orders,\n        i.avg_order_value,\n', ''],
        ['FROM intermediate.int_customer_metrics AS i', 'FROM metrics AS i'],
      ),
    );
    assert.deepEqual(
      summary(lineage),
      seedColumns.map((column) =>
        column.name === 'customer_segment' ? { ...column, kinds: ['passthrough', 'case', 'passthrough'] } : column,
      ),
    );
    for (const column of tables[M]) {
      assert.ok(edges(lineage).includes(`passthrough ${M}.${column} -> metrics.${column}`), column);
      assert.ok(edges(lineage).includes(`passthrough metrics.${column} -> base.${column}`), column);
    }
    assert.deepEqual(
      lineage.unused.map((column) => column.column).sort(),
      [
        'base.avg_order_value',
        'base.first_name',
        'base.first_order_date',
        'base.last_name',
        'metrics.avg_order_value',
        'metrics.first_order_date',
      ].sort(),
    );
  });

  it('an extra Diamond segment', () => {
    const lineage = lineageOf(
      variant([
        "WHEN i.total_spent >= 10000 THEN 'Platinum'",
        "WHEN i.total_spent >= 20000 THEN 'Diamond'\n            WHEN i.total_spent >= 10000 THEN 'Platinum'",
      ]),
    );
    assert.deepEqual(edges(lineage), seedEdges);
    assert.deepEqual(
      lineage.edges.find((edge) => edge.kind === 'case')?.case?.whens.map((when) => when.then),
      ["'Diamond'", "'Platinum'", "'Gold'", "'Silver'"],
    );
    assert.equal(lineage.edges.find((edge) => edge.kind === 'case')?.case?.whens[0].when, 'i.total_spent >= 20000');
  });

  it('COALESCE on spend', () => {
    const lineage = lineageOf(
      variant(['        i.total_spent,\n', '        COALESCE(i.total_spent, 0) AS total_spent,\n']),
    );
    assert.deepEqual(summary(lineage)[3], {
      name: 'avg_ltv',
      sources: [`${M}.total_spent`],
      kinds: ['expression', 'aggregate'],
    });
    const coalesce = lineage.edges.find((edge) => edge.to === 'base.total_spent');
    assert.equal(coalesce?.kind, 'expression');
    assert.equal(coalesce?.detail, 'COALESCE(i.total_spent, 0)');
  });

  it('a WHERE filter', () => {
    const lineage = lineageOf(
      variant([
        '        ON i.customer_id = c.customer_id\n',
        "        ON i.customer_id = c.customer_id\n    WHERE c.email NOT LIKE '%@test.invalid' AND i.total_orders > 0\n",
      ]),
    );
    assert.deepEqual(summary(lineage), seedColumns);
    assert.deepEqual(
      edges(lineage),
      [...seedEdges, `filter ${C}.email -> base`, `filter ${M}.total_orders -> base`].sort(),
    );
  });

  it('a LEFT JOIN', () => {
    const lineage = lineageOf(
      variant([
        'FROM intermediate.int_customer_metrics AS i\n    JOIN staging.stg_customers AS c',
        'FROM staging.stg_customers AS c\n    LEFT JOIN intermediate.int_customer_metrics AS i',
      ]),
    );
    assert.deepEqual(summary(lineage), seedColumns);
    assert.deepEqual(edges(lineage), seedEdges);
    assert.ok(lineage.edges.filter((edge) => edge.kind === 'join_key').every((edge) => edge.detail === 'LEFT JOIN'));
  });

  it('ref() in the FROM: a model with a configured schema and one without (then the target schema, main)', () => {
    const model = variant(
      ['intermediate.int_customer_metrics AS i', "{{ ref('int_customer_metrics') }} AS i"],
      ['staging.stg_customers AS c', "{{ ref('stg_customers') }} AS c"],
    );
    const lineage = lineageOf(model);
    assert.deepEqual(
      summary(lineage),
      seedColumns.map((column) => ({
        ...column,
        sources: column.sources.map((source) => source.replace(`${C}.`, 'main.stg_customers.')),
      })),
    );
    const ref = lineage.relations.find((relation) => relation.name === 'main.stg_customers');
    assert.equal(textAt(model, ref?.span), "{{ ref('stg_customers') }} AS c");
  });
});

describe('lineage: harder SQL', () => {
  it('a subquery in FROM, nested functions, ORDER BY an alias and by position', () => {
    const lineage = lineageOf(
      [
        'SELECT s.region, UPPER(TRIM(s.region)) AS label, ROUND(SUM(s.spent) / COUNT(*), 1) AS per_head',
        'FROM (SELECT c.region, i.total_spent AS spent FROM intermediate.int_customer_metrics i JOIN staging.stg_customers c USING (customer_id)) AS s',
        'GROUP BY 1 ORDER BY per_head DESC, 2',
      ].join('\n'),
    );
    assert.deepEqual(summary(lineage), [
      { name: 'region', sources: [`${C}.region`], kinds: ['passthrough'] },
      { name: 'label', sources: [`${C}.region`], kinds: ['passthrough', 'expression'] },
      { name: 'per_head', sources: [`${M}.total_spent`], kinds: ['rename', 'aggregate'] },
    ]);
    assert.deepEqual(
      edges(lineage).filter(
        (edge) =>
          !edge.startsWith('passthrough') &&
          !edge.startsWith('rename') &&
          !edge.startsWith('expression') &&
          !edge.startsWith('aggregate'),
      ),
      [
        `join_key ${C}.customer_id -> s`,
        `join_key ${M}.customer_id -> s`,
        'group_key region -> (final select)',
        'order_key label -> (final select)',
        'order_key per_head -> (final select)',
      ].sort(),
    );
  });

  it('reports what it cannot resolve, with where, and never guesses', () => {
    const model =
      'SELECT customer_id, x.region, mystery FROM intermediate.int_customer_metrics i JOIN staging.stg_customers c ON i.customer_id = c.customer_id JOIN nowhere n ON n.id = i.customer_id';
    const lineage = lineageOf(model);
    const unresolved = new Map(lineage.unresolved.map((item) => [item.name, item]));
    assert.match(unresolved.get('nowhere')?.reason ?? '', /unknown/);
    assert.match(
      unresolved.get('customer_id')?.reason ?? '',
      /intermediate\.int_customer_metrics and staging\.stg_customers|unknown/,
    );
    assert.equal(textAt(model, unresolved.get('customer_id')?.span), 'customer_id');
    assert.match(unresolved.get('x.region')?.reason ?? '', /no table or alias x/);
    assert.ok(unresolved.has('mystery'));
    assert.ok(!lineage.edges.some((edge) => edge.to === 'customer_id'), 'no edge was guessed');
  });

  it('an ambiguous unqualified column when both tables are known', () => {
    const lineage = lineageOf(
      'SELECT customer_id FROM intermediate.int_customer_metrics i JOIN staging.stg_customers c ON i.customer_id = c.customer_id',
    );
    assert.match(lineage.unresolved[0]?.reason ?? '', /ambiguous/);
  });

  it('a model that does not parse is an error pointing into the file', () => {
    assert.throws(
      () => lineageOf('SELECT a,\nFROM WHERE'),
      (error: Error & { value?: { location?: FileLocation } }) => error.value?.location?.line === 2,
    );
  });
});
