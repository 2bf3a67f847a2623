// The lineage of models written in PostgreSQL's dialect (casts, ILIKE, date_trunc, DISTINCT ON, FILTER, interval,
// quoted names, schema.table), against a real PostgreSQL server: the server says what the query's columns are named
// and, for a column that is one table column passed through, which table column it is (RowDescription's table and
// column); what the server cannot say (a column computed from others) is stated by hand from reading the SQL.
import assert from 'node:assert/strict';
import pg from 'pg';
import { buildLineage, type Catalog, type Lineage } from '../../src/engine/sql/lineage';
import { SourceMap } from '../../src/engine/model/sourceMap';
import { repoRoot } from './helpers';
import { startTestServer, type TestServer } from '../postgresServer';

const TABLES = `
  CREATE SCHEMA staging;
  CREATE SCHEMA intermediate;
  CREATE TABLE staging.stg_customers (customer_id integer, first_name text, region text, signup_date text);
  CREATE TABLE intermediate.int_customer_metrics (customer_id integer, total_spent numeric(12, 2), total_orders integer);
  INSERT INTO staging.stg_customers VALUES (1, 'Ann', 'north', '2024-01-15'), (2, 'Bo', 'south', '2024-02-03');
  INSERT INTO intermediate.int_customer_metrics VALUES (1, 120.50, 3), (2, 80, 1);
`;

/** A model as its own file: the rendered SQL is the file's text. */
function plainSourceMap(sql: string): SourceMap {
  return new SourceMap('models/m.sql', sql, [
    { renderedStart: 0, renderedEnd: sql.length, originalStart: 0, originalEnd: sql.length, literal: true },
  ]);
}

/** Value edges and row edges as "kind from -> to", for the ones a test names. */
function edgeList(lineage: Lineage): string[] {
  return lineage.edges.map((edge) => `${edge.kind} ${edge.from} -> ${edge.to}`);
}

describe('lineage of PostgreSQL models, checked against a real PostgreSQL server', function () {
  this.timeout(600_000);
  let running: TestServer | undefined;
  let client: pg.Client;
  let catalog: Catalog;

  before(async function () {
    const started = await startTestServer(this, repoRoot);
    const server = started.server;
    running = started.running;
    server.psql(running, 'postgres', TABLES);
    client = new pg.Client({
      host: running.socketDir,
      port: running.port,
      user: running.adminUser,
      database: 'postgres',
    });
    await client.connect();
    // The lineage's catalog is the server's.
    const columns = await client.query<{ relation: string; column_name: string }>(
      `SELECT table_schema || '.' || table_name AS relation, column_name FROM information_schema.columns
        WHERE table_schema IN ('staging', 'intermediate') ORDER BY relation, ordinal_position`,
    );
    const tables = new Map<string, string[]>();
    for (const row of columns.rows) tables.set(row.relation, [...(tables.get(row.relation) ?? []), row.column_name]);
    catalog = (table) => tables.get(table.toLowerCase());
  });

  after(async () => {
    await client?.end().catch(() => undefined);
    running?.stop();
  });

  /** What the server says of the query's columns: their names, and the table column a passed-through one is. */
  async function serverColumns(sql: string): Promise<{ name: string; origin?: string }[]> {
    const result = await client.query(`SELECT * FROM (${sql}) AS model LIMIT 0`);
    const origins = new Map<string, string>();
    for (const field of result.fields.filter((item) => item.tableID !== 0)) {
      const found = await client.query<{ origin: string }>(
        `SELECT n.nspname || '.' || c.relname || '.' || a.attname AS origin
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE a.attrelid = $1 AND a.attnum = $2`,
        [field.tableID, field.columnID],
      );
      origins.set(`${field.tableID}.${field.columnID}`, found.rows[0].origin);
    }
    return result.fields.map((field) => ({
      name: field.name,
      ...(field.tableID !== 0 ? { origin: origins.get(`${field.tableID}.${field.columnID}`) } : {}),
    }));
  }

  function lineageOf(sql: string): Lineage {
    return buildLineage({
      sql,
      sourceMap: plainSourceMap(sql),
      catalog,
      dialect: 'postgresql',
      namedBy: 'postgresql',
    });
  }

  /** The server's names, in order, and each passed-through column's one source as the server says it. */
  async function assertAgreesWithServer(sql: string, lineage: Lineage): Promise<void> {
    const server = await serverColumns(sql);
    assert.deepEqual(
      lineage.columns.map((column) => column.name),
      server.map((column) => column.name),
    );
    server.forEach((column, index) => {
      if (column.origin) assert.deepEqual(lineage.columns[index].sources, [column.origin], column.name);
    });
    assert.deepEqual(lineage.unresolved, [], 'every name resolves');
  }

  it('follows columns through casts, date_trunc, DISTINCT ON, ILIKE, interval and FILTER, named as the server names them', async () => {
    const sql = `with customers as (
    select customer_id, region, signup_date::date as signed_up
    from staging.stg_customers
),
metrics as (
    select customer_id, total_spent::numeric(12, 2) as ltv, total_orders
    from intermediate.int_customer_metrics
    where total_orders > 0
),
base as (
    select distinct on (c.customer_id)
        c.customer_id, c.region, date_trunc('month', c.signed_up) as cohort_month, m.ltv
    from customers c
    join metrics m on m.customer_id = c.customer_id
    where c.region ilike 'n%' or c.signed_up > date '2024-01-01' - interval '1 day'
    order by c.customer_id, m.ltv desc
)
select
    region,
    cohort_month,
    count(*) filter (where ltv >= 100) as big_spenders,
    sum(ltv)::float8,
    case when avg(ltv) >= 100 then 'Gold' else 'Silver' end,
    max(customer_id)
from base
group by region, cohort_month`;
    const lineage = lineageOf(sql);
    await assertAgreesWithServer(sql, lineage);
    // Stated by hand from the SQL: what each output is computed from.
    const summary = lineage.columns.map(({ name, sources }) => ({ name, sources: [...sources].sort() }));
    assert.deepEqual(summary, [
      { name: 'region', sources: ['staging.stg_customers.region'] },
      { name: 'cohort_month', sources: ['staging.stg_customers.signup_date'] },
      { name: 'big_spenders', sources: ['intermediate.int_customer_metrics.total_spent'] },
      { name: 'sum', sources: ['intermediate.int_customer_metrics.total_spent'] },
      { name: 'case', sources: ['intermediate.int_customer_metrics.total_spent'] },
      { name: 'max', sources: ['staging.stg_customers.customer_id'] },
    ]);
    const edges = edgeList(lineage);
    for (const expected of [
      // `::date` and `::numeric(12, 2)` are casts of the column before them, not columns named date or numeric.
      'expression staging.stg_customers.signup_date -> customers.signed_up',
      'expression intermediate.int_customer_metrics.total_spent -> metrics.ltv',
      'expression customers.signed_up -> base.cohort_month',
      'aggregate base.ltv -> big_spenders',
      // DISTINCT ON keeps one row per customer: a key of base's rows.
      'group_key customers.customer_id -> base',
      'join_key customers.customer_id -> base',
      'join_key metrics.customer_id -> base',
      // ILIKE and the interval comparison filter base's rows.
      'filter customers.region -> base',
      'filter customers.signed_up -> base',
      'filter intermediate.int_customer_metrics.total_orders -> metrics',
      // ORDER BY a selected column is that output of base.
      'order_key base.ltv -> base',
      'group_key base.region -> (final select)',
      'group_key base.cohort_month -> (final select)',
    ])
      assert.ok(edges.includes(expected), `${expected} in\n${edges.join('\n')}`);
    // FILTER's condition reads ltv, as the aggregate's argument does.
    assert.ok(lineage.edges.some((edge) => edge.from === 'base.ltv' && edge.to === 'big_spenders'));
  });

  it('reads quoted names, schema.table and case folding as PostgreSQL does', async () => {
    const sql = `SELECT "C".Region AS "Region Name", "C".customer_id, M.TOTAL_SPENT AS Spent, upper(first_name),
       'x'::text, 1 + 1, (SELECT max(total_orders) FROM intermediate.int_customer_metrics)
  FROM staging."stg_customers" AS "C"
  JOIN intermediate.int_customer_metrics M ON M.customer_id = "C".customer_id`;
    const lineage = lineageOf(sql);
    await assertAgreesWithServer(sql, lineage);
    assert.deepEqual(
      lineage.columns.map(({ name, sources }) => ({ name, sources })),
      [
        { name: 'Region Name', sources: ['staging.stg_customers.region'] },
        { name: 'customer_id', sources: ['staging.stg_customers.customer_id'] },
        { name: 'spent', sources: ['intermediate.int_customer_metrics.total_spent'] },
        { name: 'upper', sources: ['staging.stg_customers.first_name'] },
        { name: 'text', sources: [] },
        { name: '?column?', sources: [] },
        { name: 'max', sources: ['intermediate.int_customer_metrics.total_orders'] },
      ],
    );
    assert.deepEqual(
      lineage.relations.filter((relation) => relation.kind === 'source').map((relation) => relation.name),
      ['staging.stg_customers', 'intermediate.int_customer_metrics'],
    );
  });

  it('sees the FROM items before a LATERAL subquery', async () => {
    const sql = `SELECT c.region, recent.spent
  FROM staging.stg_customers c,
  LATERAL (SELECT m.total_spent AS spent FROM intermediate.int_customer_metrics m
            WHERE m.customer_id = c.customer_id) AS recent`;
    const lineage = lineageOf(sql);
    await assertAgreesWithServer(sql, lineage);
    assert.deepEqual(lineage.columns[1].sources, ['intermediate.int_customer_metrics.total_spent']);
    assert.ok(edgeList(lineage).includes('filter staging.stg_customers.customer_id -> recent'));
  });
});
