// SQLite's own word on a query (src/engine/run/readOnly.ts): one statement, that only reads and returns rows.
import assert from 'node:assert/strict';
import type { Database } from 'sql.js';
import { loadSqlJs } from '../../src/engine/data/sqljs';
import { isQueryOnly, readOnlyProblem } from '../../src/engine/run/readOnly';
import { assets } from './helpers';

let db: Database;

before(async () => {
  const SQL = await loadSqlJs(assets.wasmPath);
  db = new SQL.Database();
  db.run('CREATE TABLE t (a INTEGER, b TEXT)');
  db.run("INSERT INTO t VALUES (1, 'x'), (2, 'y'), (2, 'z')");
  db.run('PRAGMA query_only = ON');
});

after(() => db.close());

describe('readOnly: SQLite itself says whether a query only reads', () => {
  for (const sql of [
    'SELECT * FROM t',
    'SELECT b, count(DISTINCT a) FROM t GROUP BY b ORDER BY 2 DESC',
    'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r',
    'SELECT a FROM t UNION SELECT a FROM t',
    'VALUES (1), (2)',
    'SELECT * FROM t; -- a comment after the statement',
  ]) {
    it(`reads: ${sql}`, () => assert.equal(readOnlyProblem(db, sql), undefined));
  }

  for (const [sql, problem] of [
    ['SELECT 1; SELECT 2', /more than one statement/],
    ['SELECT 1; PRAGMA query_only = 0', /more than one statement/],
    ['PRAGMA query_only = 0', /a PRAGMA statement/],
    ["ATTACH ':memory:' AS aux", /an? ATTACH statement|a ATTACH/],
    ['/* hidden */ DELETE FROM t', /DELETE statement/],
    ['WITH x AS (SELECT 1) DELETE FROM t', /write transaction|change/],
    ['WITH x AS (SELECT 1) INSERT INTO t SELECT 3, 4 FROM x RETURNING a', /change/],
    ['SELECT 1;\n-- then\n;; DELETE FROM t', /more than one statement/],
    ['-- nothing but a comment', /no statement/],
  ] as const) {
    it(`refuses: ${sql}`, () => assert.match(readOnlyProblem(db, sql) ?? '', problem));
  }

  it('the data is read-only, and refusing changed nothing', () => {
    assert.equal(isQueryOnly(db), true);
    assert.deepEqual(db.exec('SELECT count(*) FROM t')[0].values, [[3]]);
  });
});
