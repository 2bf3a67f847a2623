// The lineage of the seed model and its variants, each stated by hand.
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import type { Database as SqlJsDatabase } from 'sql.js';
import { buildLineage, type Catalog, type Lineage } from '../../src/engine/sql/lineage';
import { renderModel } from '../../src/engine/model/jinja';
import type { FileLocation } from '../../src/engine/errors';
import { SourceMap } from '../../src/engine/model/sourceMap';
import { loadSqlJs } from '../../src/engine/data/sqljs';
import type { DbtProject } from '../../src/engine/model/dbtProject';
import { assets, dbtProject, jinja, sampleModel } from './helpers';

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
    const { literals, ...conditions } = segment!.case!;
    assert.deepEqual(
      literals?.map((literal) => [literal.when, literal.text]),
      [
        [0, '10000'],
        [1, '5000'],
        [2, '1000'],
      ],
    );
    assert.deepEqual(
      conditions.whens.map((branch) => textAt(sampleModel, branch.span)),
      [
        "WHEN i.total_spent >= 10000 THEN 'Platinum'",
        "WHEN i.total_spent >= 5000  THEN 'Gold'",
        "WHEN i.total_spent >= 1000  THEN 'Silver'",
      ],
    );
    assert.deepEqual(
      { ...conditions, whens: conditions.whens.map(({ when, then }) => ({ when, then })) },
      {
        whens: [
          { when: 'i.total_spent >= 10000', then: "'Platinum'" },
          { when: 'i.total_spent >= 5000', then: "'Gold'" },
          { when: 'i.total_spent >= 1000', then: "'Silver'" },
        ],
        else: "'Bronze'",
      },
    );
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

/**
 * Native SQLite (better-sqlite3) prepares the same SQL on a small database made here: `statement.columns()` gives the
 * names SQLite gives the result's columns and, for a plain column, the table column it comes from. The lineage must
 * name its output columns the same, and trace each such column to that table column.
 */
describe("lineage: output names and origins as SQLite's own (better-sqlite3, and sql.js's names)", () => {
  const schema = `
    CREATE TABLE a (id INTEGER, x TEXT, k INTEGER);
    CREATE TABLE b (id INTEGER, y TEXT, k INTEGER);
    CREATE TABLE c (id INTEGER, z TEXT, k INTEGER);
    CREATE TABLE orders (order_id INTEGER, customer_id INTEGER, Amount REAL, status TEXT);
    ATTACH ':memory:' AS staging;
    CREATE TABLE staging.customers (customer_id INTEGER, region TEXT, k INTEGER);
  `;
  let native: BetterSqlite3.Database;
  /** The SQLite the engine runs models on names the result's columns too. */
  let sqlJs: SqlJsDatabase;
  before(async () => {
    native = new BetterSqlite3(':memory:');
    native.exec(schema);
    sqlJs = new (await loadSqlJs(assets.wasmPath)).Database();
    sqlJs.exec(schema);
  });
  after(() => {
    native.close();
    sqlJs.close();
  });

  /** Columns of a table as the model writes it, from SQLite's own schema: `schema.table`, or `table` in any schema. */
  const located = (written: string): { schema: string; table: string } | undefined => {
    const [schema, table] = written.includes('.') ? written.split('.') : [undefined, written];
    for (const candidate of schema ? [schema] : ['main', 'staging']) {
      const found = native
        .prepare(`SELECT name FROM ${candidate}.sqlite_master WHERE type = 'table' AND lower(name) = lower(?)`)
        .get(table) as { name: string } | undefined;
      if (found) return { schema: candidate, table: found.name };
    }
    return undefined;
  };
  const nativeCatalog: Catalog = (written) => {
    const where = located(written);
    return where
      ? (native.pragma(`${where.schema}.table_info("${where.table}")`) as { name: string }[]).map((row) => row.name)
      : undefined;
  };
  const identity = (sql: string) =>
    new SourceMap('model.sql', sql, [
      { renderedStart: 0, renderedEnd: sql.length, originalStart: 0, originalEnd: sql.length, literal: true },
    ]);
  const lineageOfSql = (sql: string) => buildLineage({ sql, sourceMap: identity(sql), catalog: nativeCatalog });
  /** `schema.table.column` of a lineage source (written `table.column` or `schema.table.column`). */
  const origin = (source: string) => {
    const dot = source.lastIndexOf('.');
    const where = located(source.slice(0, dot));
    return where && `${where.schema}.${where.table}.${source.slice(dot + 1)}`.toLowerCase();
  };

  /** Asserts the lineage names every output as SQLite does, and traces each plain column to SQLite's origin. */
  function agreesWithSqlite(sql: string): Lineage {
    const expected = native.prepare(sql).columns();
    const lineage = lineageOfSql(sql);
    assert.deepEqual(
      lineage.columns.map((column) => column.name),
      expected.map((column) => column.name),
      `names of ${sql}`,
    );
    const statement = sqlJs.prepare(sql);
    assert.deepEqual(
      statement.getColumnNames(),
      expected.map((column) => column.name),
      `sql.js's names of ${sql}`,
    );
    statement.free();
    const compound = /\b(UNION|INTERSECT|EXCEPT)\b/i.test(sql);
    expected.forEach((column, index) => {
      if (!column.column || !column.table || !column.database) return;
      const want = `${column.database}.${column.table}.${column.column}`.toLowerCase();
      const sources = lineage.columns[index].sources.map(origin);
      // A compound select's column comes from each part; SQLite names the origin of one of them.
      if (compound) assert.ok(sources.includes(want), `${column.name} of ${sql}: ${sources.join(', ')} has ${want}`);
      else assert.deepEqual(sources, [want], `${column.name} (#${index + 1}) of ${sql}`);
    });
    return lineage;
  }

  const cases: Record<string, string[]> = {
    '* over a join whose tables share column names': [
      'SELECT * FROM a JOIN b ON a.id = b.id',
      'SELECT a.*, b.* FROM a, b',
      'SELECT *, a.id FROM a CROSS JOIN b LEFT JOIN c ON c.k = b.k',
      'SELECT * FROM (SELECT * FROM a JOIN b ON a.id = b.id)',
      'WITH t AS (SELECT a.id, b.id, a.id FROM a JOIN b ON a.id = b.id) SELECT * FROM t',
      'WITH t AS (SELECT a.id, b.id AS "id:1", c.id FROM a, b, c) SELECT * FROM t',
    ],
    'USING and NATURAL joins': [
      'SELECT * FROM a JOIN b USING (k)',
      'SELECT * FROM a LEFT JOIN b USING (k, id)',
      'SELECT * FROM a NATURAL JOIN b',
      'SELECT * FROM a NATURAL LEFT JOIN b NATURAL JOIN c',
      'SELECT * FROM a JOIN b USING (k) JOIN c USING (k)',
      'SELECT * FROM a JOIN b USING (k) NATURAL JOIN c',
      'SELECT k, id FROM a JOIN b USING (k, id)',
      'SELECT k FROM a RIGHT JOIN b USING (k)',
      'SELECT * FROM a RIGHT JOIN b USING (k)',
      'SELECT * FROM a NATURAL RIGHT JOIN b',
      'SELECT * FROM a FULL JOIN b USING (k)',
      'SELECT a.k, b.k, k FROM a FULL JOIN b USING (k)',
      'SELECT * FROM (SELECT * FROM a JOIN b USING (k))',
      'SELECT * FROM (SELECT id FROM a) JOIN (SELECT id FROM b) USING (id)',
      'SELECT * FROM a, b USING (k)',
      'SELECT t1.*, t2.x FROM a AS t1 JOIN a AS t2 USING (id)',
      'SELECT * FROM a LEFT JOIN b USING (k) RIGHT JOIN c USING (k)',
      'SELECT * FROM (SELECT * FROM a LEFT JOIN b USING (k) RIGHT JOIN c USING (k))',
      'SELECT * FROM (SELECT * FROM (SELECT * FROM a JOIN b USING (id)) JOIN c USING (id))',
      'SELECT * FROM staging.customers AS s JOIN orders USING (customer_id)',
      'SELECT * FROM a FULL JOIN b USING (id) FULL JOIN c USING (id)',
      'SELECT * FROM (SELECT * FROM a) AS s1 NATURAL JOIN (SELECT * FROM b) AS s2',
      'SELECT s1.*, s2.* FROM (SELECT * FROM a) AS s1 JOIN (SELECT * FROM b) AS s2 USING (id)',
      'WITH t AS (SELECT * FROM a JOIN b USING (k)) SELECT * FROM t JOIN c USING (k)',
    ],
    'parenthesised joins': [
      'SELECT * FROM (a JOIN b ON a.id = b.id) JOIN c ON c.id = a.id',
      'SELECT * FROM ((a JOIN b ON a.id = b.id) JOIN c ON c.id = b.id)',
      'SELECT * FROM a JOIN (b JOIN c ON b.id = c.id) ON a.id = b.id',
      'SELECT * FROM a JOIN (b JOIN c USING (id)) USING (id)',
      'SELECT * FROM c JOIN (a JOIN b USING (k)) USING (k)',
      'SELECT * FROM a LEFT JOIN (b JOIN c ON b.k = c.k) ON a.k = b.k',
      'SELECT c.*, b.y FROM a JOIN (b JOIN c ON b.id = c.id) ON a.id = b.id',
      'SELECT c.id, b.id, c.k FROM a JOIN (b JOIN c ON b.id = c.id) ON a.id = b.id',
      'SELECT * FROM (a) AS q JOIN (b) ON q.id = b.id',
      'SELECT * FROM (a JOIN b ON a.id = b.id) AS q JOIN c ON c.id = q.id',
      'SELECT q.k, q.y FROM (a JOIN b USING (k)) AS q',
      'SELECT * FROM a NOT INDEXED JOIN (b NOT INDEXED) USING (id)',
      'SELECT * FROM a JOIN ((b JOIN c USING (k))) USING (k)',
      'SELECT * FROM (((a JOIN b USING (k)))) JOIN c USING (k)',
      'SELECT * FROM a, (b JOIN c USING (id))',
      'SELECT * FROM a JOIN (b, c) ON a.id = b.id',
    ],
    'schema.table.column': [
      'SELECT main.a.x, staging.customers.region FROM main.a JOIN staging.customers ON main.a.id = staging.customers.customer_id',
      'SELECT main.a.x, a.id FROM a',
      'SELECT staging.customers.k, main.a.k FROM staging.customers, main.a',
      'WITH a AS (SELECT 1 AS q) SELECT * FROM main.a, a',
    ],
    'CTEs seen from every part of a compound select': [
      'WITH t AS (SELECT x FROM a) SELECT y FROM b UNION ALL SELECT x FROM t',
      'WITH t AS (SELECT x FROM a), u AS (SELECT y FROM b) SELECT * FROM t UNION SELECT * FROM u INTERSECT SELECT z FROM c',
      'WITH t AS (SELECT id, x FROM a) SELECT id FROM b EXCEPT SELECT t.id FROM t ORDER BY 1',
      'SELECT * FROM (WITH q AS (SELECT x FROM a) SELECT * FROM q UNION ALL SELECT * FROM q)',
      'SELECT y FROM b UNION SELECT * FROM (WITH q AS (SELECT x FROM a) SELECT x FROM q)',
      'WITH t AS (SELECT x AS p FROM a UNION SELECT y AS q FROM b) SELECT * FROM t',
    ],
    'VALUES as relations': [
      'WITH v(p, q) AS (VALUES (1, 2)) SELECT * FROM v',
      "SELECT * FROM (VALUES (1, 'x'), (2, 'y')) AS t",
      'WITH v AS (VALUES (1, 2), (3, 4)) SELECT column2, column1 FROM v',
      'VALUES (1, 2)',
      'SELECT t.column1, a.x FROM (VALUES (1)) AS t JOIN a ON a.id = t.column1',
      'SELECT 1 AS one UNION ALL VALUES (2)',
      'SELECT * FROM (VALUES (1, 2) UNION ALL VALUES (3, 4))',
      'WITH v(p) AS (VALUES (1) UNION ALL SELECT p + 1 FROM v WHERE p < 5) SELECT p FROM v',
    ],
    'names SQLite gives': [
      'SELECT ID, A.X, x COLLATE nocase, (x), +x, x+1, CAST(k AS TEXT) FROM a AS A',
      'SELECT * FROM (SELECT ID, A.X, x COLLATE nocase, (x), +x, likely(k) FROM a AS A)',
      'SELECT amount, "AMOUNT", orders.AMOUNT AS amt FROM orders',
      'SELECT x AS k, k FROM a ORDER BY k',
      'SELECT x, (SELECT max(y) FROM b WHERE b.id = a.id), (SELECT y FROM b) AS y1 FROM a',
      'SELECT rowid, * FROM a',
      'SELECT oid, _rowid_, a.rowid FROM a',
      'SELECT * FROM (SELECT oid, a.rowid FROM a)',
      'SELECT * FROM (SELECT 1, 1, 1)',
      'SELECT * FROM (SELECT a.*, a.* FROM a)',
      'SELECT * FROM (SELECT x AS "X", x, x AS "x:1", x FROM a)',
      'SELECT x AS q FROM a ORDER BY a.x',
      'SELECT s.x, t.y FROM (SELECT x, id FROM a) s JOIN (SELECT s.y, s.id FROM (SELECT y, id FROM b) s) t ON s.id = t.id',
      'WITH t AS (SELECT x FROM a) SELECT * FROM (WITH t AS (SELECT y FROM b) SELECT * FROM t) JOIN t',
      'SELECT DISTINCT x, count(*) FROM a GROUP BY x HAVING count(*) > 1',
    ],
    'windows, recursion, forward references': [
      'SELECT id, sum(k) OVER w AS s, row_number() OVER (PARTITION BY k ORDER BY id) FROM a WINDOW w AS (PARTITION BY x)',
      'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r',
      'WITH r AS (SELECT id, k FROM a UNION ALL SELECT r.id + 1, r.k FROM r WHERE r.id < 3) SELECT * FROM r',
      'WITH u AS (SELECT * FROM t), t AS (SELECT x FROM a) SELECT x FROM u',
    ],
  };

  for (const [title, sqls] of Object.entries(cases)) {
    it(title, () => {
      for (const sql of sqls) {
        const lineage = agreesWithSqlite(sql);
        assert.deepEqual(lineage.unresolved, [], `nothing unresolved in ${sql}`);
      }
    });
  }
});

describe('lineage: joins, compound selects, VALUES and windows, edge by edge', () => {
  const handTables: Record<string, string[]> = {
    a: ['id', 'x', 'k'],
    b: ['id', 'y', 'k'],
    c: ['id', 'z', 'k'],
    'main.a': ['id', 'x', 'k'],
    'staging.customers': ['customer_id', 'region'],
  };
  const of = (sql: string) =>
    buildLineage({
      sql,
      sourceMap: new SourceMap('model.sql', sql, [
        { renderedStart: 0, renderedEnd: sql.length, originalStart: 0, originalEnd: sql.length, literal: true },
      ]),
      catalog: (table) => handTables[table.toLowerCase()],
    });

  it('* over tables sharing a name: an output each, with its own source, told apart by id', () => {
    const lineage = of('SELECT * FROM a JOIN b ON a.id = b.id');
    assert.deepEqual(summary(lineage), [
      { name: 'id', sources: ['a.id'], kinds: ['passthrough'] },
      { name: 'x', sources: ['a.x'], kinds: ['passthrough'] },
      { name: 'k', sources: ['a.k'], kinds: ['passthrough'] },
      { name: 'id', sources: ['b.id'], kinds: ['passthrough'] },
      { name: 'y', sources: ['b.y'], kinds: ['passthrough'] },
      { name: 'k', sources: ['b.k'], kinds: ['passthrough'] },
    ]);
    const outputs = lineage.nodes.filter((node) => node.kind === 'output');
    assert.deepEqual(
      outputs.map((node) => [node.id, node.column]),
      [
        ['id', 'id'],
        ['x', 'x'],
        ['k', 'k'],
        ['id:1', 'id'],
        ['y', 'y'],
        ['k:1', 'k'],
      ],
    );
    // In a CTE SQLite names the second one id:1, and that is still a passthrough, not a rename.
    const cte = of('WITH t AS (SELECT * FROM a JOIN b ON a.id = b.id) SELECT t."id:1" AS right_id FROM t');
    assert.ok(edges(cte).includes('passthrough b.id -> t.id:1'));
    assert.deepEqual(summary(cte), [{ name: 'right_id', sources: ['b.id'], kinds: ['passthrough', 'rename'] }]);
  });

  it('USING: the key listed once, both sides as join keys; a bare key is the left one, the right one in a RIGHT JOIN, both in a FULL JOIN', () => {
    const inner = of('SELECT *, k AS key FROM a JOIN b USING (k)');
    assert.deepEqual(
      inner.columns.map((column) => column.name),
      ['id', 'x', 'k', 'id', 'y', 'key'],
    );
    assert.deepEqual(inner.columns[5].sources, ['a.k']);
    assert.deepEqual(
      edges(inner).filter((edge) => edge.startsWith('join_key')),
      ['join_key a.k -> (final select)', 'join_key b.k -> (final select)'],
    );
    assert.ok(
      inner.edges.filter((edge) => edge.kind === 'join_key').every((edge) => edge.detail === 'INNER JOIN USING'),
    );
    assert.deepEqual(of('SELECT k FROM a RIGHT JOIN b USING (k)').columns[0].sources, ['b.k']);
    assert.deepEqual(of('SELECT * FROM a RIGHT JOIN b USING (k)').columns[2], {
      name: 'k',
      sources: ['b.k'],
      kinds: ['passthrough'],
      span: of('SELECT * FROM a RIGHT JOIN b USING (k)').columns[2].span,
    });
    const full = of('SELECT k FROM a FULL JOIN b USING (k)');
    assert.deepEqual(summary(full), [{ name: 'k', sources: ['a.k', 'b.k'], kinds: ['expression'] }]);
    // Three tables: the key is still the first table's.
    assert.deepEqual(of('SELECT k FROM a JOIN b USING (k) JOIN c USING (k)').columns[0].sources, ['a.k']);
  });

  it('NATURAL JOIN joins on the shared columns; with a table of unknown columns it says so', () => {
    const lineage = of('SELECT * FROM a NATURAL JOIN b');
    assert.deepEqual(
      lineage.columns.map((column) => `${column.name} ${column.sources.join()}`),
      ['id a.id', 'x a.x', 'k a.k', 'y b.y'],
    );
    assert.deepEqual(
      edges(lineage).filter((edge) => edge.startsWith('join_key')),
      [
        'join_key a.id -> (final select)',
        'join_key a.k -> (final select)',
        'join_key b.id -> (final select)',
        'join_key b.k -> (final select)',
      ],
    );
    const unknown = of('SELECT a.x FROM a NATURAL JOIN mystery');
    assert.ok(unknown.unresolved.some((item) => /NATURAL JOIN joins on is unknown/.test(item.reason)));
    assert.deepEqual(unknown.columns[0].sources, ['a.x']);
  });

  it('parenthesised joins: keys inside and outside, names as SQLite gives them, qualified names reach inside', () => {
    const lineage = of('SELECT c.id, c.z, b.y FROM a JOIN (b JOIN c ON b.k = c.k) ON a.id = b.id');
    assert.deepEqual(summary(lineage), [
      { name: 'id:1', sources: ['c.id'], kinds: ['passthrough'] },
      { name: 'z', sources: ['c.z'], kinds: ['passthrough'] },
      { name: 'y', sources: ['b.y'], kinds: ['passthrough'] },
    ]);
    assert.deepEqual(
      edges(lineage).filter((edge) => edge.startsWith('join_key')),
      [
        'join_key a.id -> (final select)',
        'join_key b.id -> (final select)',
        'join_key b.k -> (final select)',
        'join_key c.k -> (final select)',
      ],
    );
    const first = of('SELECT * FROM (a JOIN b ON a.id = b.id) JOIN c USING (id)');
    assert.deepEqual(
      first.columns.map((column) => column.name),
      ['id', 'x', 'k', 'id', 'y', 'k', 'z', 'k'],
    );
    assert.deepEqual(first.unresolved, []);
  });

  it('schema.table.column names the source column; a wrong schema or an aliased table does not', () => {
    const lineage = of(
      'SELECT staging.customers.region, main.a.x FROM staging.customers JOIN main.a ON main.a.id = staging.customers.customer_id',
    );
    assert.deepEqual(summary(lineage), [
      { name: 'region', sources: ['staging.customers.region'], kinds: ['passthrough'] },
      { name: 'x', sources: ['main.a.x'], kinds: ['passthrough'] },
    ]);
    assert.ok(edges(lineage).includes('join_key staging.customers.customer_id -> (final select)'));
    const wrong = of('SELECT other.a.x, main.a.id FROM main.a AS t');
    assert.deepEqual(
      wrong.unresolved.map((item) => item.name),
      ['other.a.x', 'main.a.id'],
    );
  });

  it('a CTE defined at the top feeds the second part of a UNION, and a WITH inside a subquery its own parts', () => {
    const lineage = of(
      'WITH t AS (SELECT x FROM a), u AS (SELECT z FROM c) SELECT y AS v FROM b UNION ALL SELECT x FROM t EXCEPT SELECT * FROM u',
    );
    assert.deepEqual(summary(lineage), [
      { name: 'v', sources: ['b.y', 'a.x', 'c.z'], kinds: ['passthrough', 'rename'] },
    ]);
    assert.ok(edges(lineage).includes('rename t.x -> v'));
    assert.deepEqual(lineage.unresolved, []);
    const nested = of('SELECT w FROM (WITH q AS (SELECT k FROM a) SELECT k AS w FROM b UNION SELECT k FROM q)');
    assert.deepEqual(nested.columns[0].sources.sort(), ['a.k', 'b.k']);
    assert.deepEqual(nested.unresolved, []);
  });

  it('VALUES: columns column1, column2, … (or as the CTE names them), with no sources but what they select', () => {
    const lineage = of("WITH v(p, q) AS (VALUES (1, 'a'), (2, 'b')) SELECT p + 1 AS r, q FROM v");
    assert.deepEqual(summary(lineage), [
      { name: 'r', sources: [], kinds: ['expression'] },
      { name: 'q', sources: [], kinds: ['passthrough'] },
    ]);
    assert.ok(lineage.nodes.some((node) => node.id === 'v.p' && node.kind === 'cte'));
    const inFrom = of('SELECT t.column2, t.column1 FROM (VALUES (1, 2)) AS t');
    assert.deepEqual(
      inFrom.columns.map((column) => column.name),
      ['column2', 'column1'],
    );
    assert.deepEqual(inFrom.unresolved, []);
    const selecting = of('SELECT * FROM (VALUES ((SELECT max(x) FROM a), 0))');
    assert.deepEqual(summary(selecting)[0], {
      name: 'column1',
      sources: ['a.x'],
      kinds: ['aggregate', 'expression', 'passthrough'],
    });
  });

  it('names: an alias shadows no column in the select list; WHERE, GROUP BY and HAVING fall back to aliases; ORDER BY prefers them', () => {
    const lineage = of('SELECT x AS k, k AS kk, x * 2 AS dbl FROM a WHERE dbl > 3 GROUP BY k ORDER BY k');
    assert.deepEqual(summary(lineage), [
      { name: 'k', sources: ['a.x'], kinds: ['rename'] },
      { name: 'kk', sources: ['a.k'], kinds: ['rename'] },
      { name: 'dbl', sources: ['a.x'], kinds: ['expression'] },
    ]);
    assert.deepEqual(
      edges(lineage).filter((edge) => !/^(rename|expression)/.test(edge)),
      ['filter dbl -> (final select)', 'group_key a.k -> (final select)', 'order_key k -> (final select)'],
    );
    assert.deepEqual(lineage.unresolved, []);
  });

  it('a second subquery named like the first keeps its columns apart', () => {
    const lineage = of('SELECT s.x, t.y FROM (SELECT x FROM a) s, (SELECT s.y FROM (SELECT y FROM b) s) t');
    assert.deepEqual(summary(lineage), [
      { name: 'x', sources: ['a.x'], kinds: ['passthrough'] },
      { name: 'y', sources: ['b.y'], kinds: ['passthrough'] },
    ]);
    assert.ok(edges(lineage).includes('passthrough b.y -> s (2).y'));
  });

  it('windows (named too), COLLATE, a recursive CTE, a CTE used before it is defined, json_each: nothing left unresolved', () => {
    const window = of(
      'SELECT sum(k) OVER w AS s, row_number() OVER (w ORDER BY id) AS n FROM a WINDOW w AS (PARTITION BY x)',
    );
    assert.deepEqual(window.unresolved, []);
    assert.deepEqual(
      window.columns.map((column) => column.sources.sort()),
      [
        ['a.k', 'a.x'],
        ['a.id', 'a.x'],
      ],
    );
    assert.deepEqual(of('SELECT x COLLATE nocase AS x FROM a ORDER BY x COLLATE nocase').unresolved, []);
    const recursive = of(
      'WITH RECURSIVE r(n, label) AS (SELECT id, x FROM a UNION ALL SELECT n + 1, label FROM r WHERE n < 3) SELECT label FROM r',
    );
    assert.deepEqual(recursive.unresolved, []);
    assert.deepEqual(recursive.columns[0].sources, ['a.x']);
    const forward = of('WITH u AS (SELECT * FROM t), t AS (SELECT x FROM a) SELECT x FROM u');
    assert.deepEqual(summary(forward), [{ name: 'x', sources: ['a.x'], kinds: ['passthrough'] }]);
    const json = of('SELECT j.value AS tag, a.id FROM a, json_each(a.x) AS j');
    assert.deepEqual(summary(json)[0], { name: 'tag', sources: ['a.x'], kinds: ['expression', 'rename'] });
    assert.deepEqual(json.unresolved, []);
  });
});
