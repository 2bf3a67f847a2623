// PostgreSQL syntax sql.js cannot run: each construct found at the place written by hand below, and sql.js itself
// (the real engine) failing on every one of them and running every PostgreSQL-dialect query said to be fine.
import assert from 'node:assert/strict';
import type { Database } from 'sql.js';
import { LoadedData } from '../../src/engine/data/loadedData';
import { loadSqlJs } from '../../src/engine/data/sqljs';
import { postgresOnlySyntax, SQLITE_FUNCTIONS } from '../../src/engine/sql/postgresSyntax';
import { parseSql } from '../../src/engine/sql/syntax';
import { assets } from './helpers';

describe('postgresSyntax: PostgreSQL constructs sql.js cannot run', () => {
  let data: LoadedData;
  let db: Database;

  before(async () => {
    const SQL = await loadSqlJs(assets.wasmPath);
    data = new LoadedData(new SQL.Database(), { type: 'postgres', description: 'test', files: [], schemas: {} });
    db = data.main;
    db.run('CREATE TABLE t (a INTEGER, b TEXT, d TEXT)');
    db.run("INSERT INTO t VALUES (1, 'Ab', '2024-03-05')");
  });
  after(() => data.close());

  const sqliteRuns = (sql: string): string | undefined => {
    try {
      db.exec(sql);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('knows the functions sql.js has, as sql.js lists them (with those the engine registers)', () => {
    const listed = db
      .exec('SELECT DISTINCT name FROM pragma_function_list')[0]
      .values.map(([name]) => String(name))
      .filter((name) => /^[a-z_][a-z0-9_]*$/i.test(name));
    const tableValued = ['json_each', 'json_tree', 'jsonb_each', 'jsonb_tree'];
    assert.deepEqual([...SQLITE_FUNCTIONS].sort(), [...listed, ...tableValued].sort());
    for (const name of tableValued) assert.equal(sqliteRuns(`SELECT * FROM ${name}('[1]')`), undefined, name);
  });

  // [SQL, the construct as the message quotes it, the text its range covers]
  const cases: [string, string, string][] = [
    ['SELECT a::numeric FROM t', '::numeric', '::numeric'],
    ['SELECT a FROM t WHERE b::text = d', '::text', '::text'],
    ['SELECT CAST(a AS int), a :: numeric(10, 2) FROM t', ':: numeric(10, 2)', ':: numeric(10, 2)'],
    ["SELECT a FROM t WHERE b ILIKE 'a%'", 'ILIKE', 'ILIKE'],
    ["SELECT a FROM t WHERE b NOT ILIKE 'a%'", 'NOT ILIKE', 'NOT ILIKE'],
    ["SELECT a FROM t WHERE b ~ '^A'", '~', '~'],
    ["SELECT a FROM t WHERE b !~* '^A'", '!~*', '!~*'],
    ["SELECT date_trunc('month', d) FROM t", 'date_trunc()', 'date_trunc'],
    ['SELECT now() FROM t', 'now()', 'now'],
    ['SELECT DISTINCT ON (b) a, b FROM t ORDER BY b, a', 'DISTINCT ON', 'DISTINCT ON'],
    ["SELECT a FROM t WHERE d > '2024-01-01' - interval '1 day'", "interval '1 day'", "interval '1 day'"],
    ["SELECT date '2024-01-01' FROM t", "date '2024-01-01'", "date '2024-01-01'"],
    ['SELECT extract(year FROM d) FROM t', 'extract(year FROM d)', 'extract(year FROM d)'],
    ['SELECT a FROM t WHERE a = ANY(ARRAY[1, 2])', 'ANY', 'ANY'],
    ['SELECT a ^ 2 FROM t', '^', '^'],
    ['SELECT a FROM t FETCH FIRST 1 ROWS ONLY', 'FETCH FIRST 1 ROWS ONLY', 'FETCH FIRST 1 ROWS ONLY'],
    ['SELECT greatest(a, 2) FROM t', 'greatest()', 'greatest'],
  ];

  for (const [sql, construct, text] of cases) {
    it(`finds ${construct} in ${sql}, and sql.js cannot run it`, () => {
      const parsed = parseSql(sql, 'postgresql');
      assert.ok(parsed.ok && parsed.dialect === 'postgresql');
      const found = postgresOnlySyntax(parsed.program, sql);
      assert.ok(found, 'found');
      assert.equal(found.construct, construct);
      assert.equal(sql.slice(found.start, found.end), text);
      assert.ok(found.message.startsWith(`\`${construct}\` `), found.message);
      assert.notEqual(sqliteRuns(sql), undefined, 'sql.js refuses it');
    });
  }

  it('finds the first construct when there are several', () => {
    const sql = "SELECT a::text, date_trunc('day', d) FROM t WHERE b ILIKE 'x'";
    const parsed = parseSql(sql, 'postgresql');
    assert.ok(parsed.ok);
    assert.equal(postgresOnlySyntax(parsed.program, sql)?.construct, '::text');
  });

  it('finds nothing in PostgreSQL SQL that sql.js runs as it is', () => {
    for (const sql of [
      'SELECT CAST(a AS numeric), coalesce(b, d), a IS NOT DISTINCT FROM 1 FROM t',
      "SELECT count(*) FILTER (WHERE b LIKE 'A%'), sum(a) FROM t GROUP BY d ORDER BY 1 NULLS LAST",
      "SELECT b || '-' || d, upper(b), substr(d, 1, 7), round(avg(a), 2), current_date FROM t GROUP BY b, d",
      "SELECT a FROM t WHERE b IN ('Ab', 'x') AND d BETWEEN '2024-01-01' AND '2024-12-31'",
      "SELECT row_number() OVER (PARTITION BY b ORDER BY a DESC) AS rn, md5(b), date_part('year', d) FROM t",
      'WITH x AS (SELECT a FROM t) SELECT * FROM x UNION ALL SELECT a FROM t',
    ]) {
      const parsed = parseSql(sql, 'postgresql');
      assert.ok(parsed.ok && parsed.dialect === 'postgresql', sql);
      assert.equal(postgresOnlySyntax(parsed.program, sql), undefined, sql);
      assert.equal(sqliteRuns(sql), undefined, sql);
    }
  });

  it("reads SQL PostgreSQL's grammar refuses but SQLite's reads (what the SQLite macros render) as SQLite", () => {
    const sql = "SELECT a FROM t WHERE b GLOB 'A*'";
    const parsed = parseSql(sql, 'postgresql');
    assert.ok(parsed.ok);
    assert.equal(parsed.dialect, 'sqlite');
    assert.equal(sqliteRuns(sql), undefined);
    // SQL neither reads keeps PostgreSQL's message.
    const broken = parseSql('SELECT a FROM t WHERE', 'postgresql');
    assert.ok(!broken.ok);
  });
});
