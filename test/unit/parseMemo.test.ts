// The tree of a model whose one number changed (parseMemo.ts) is the parser's own tree of the changed SQL: random
// number edits of real models (the bundled sample, the jaffle_shop fixtures, the DAG bench's segment model), in
// SQLite's and PostgreSQL's grammar, each compared with a fresh parse by sql-parser-cst; edits that are not one plain
// number (a sign, an exponent, a number in a name, a string or a comment, two numbers) are parsed in full.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCounts, parseModelSql } from '../../src/engine/run/parseMemo';
import { parseSql, type SqlDialectName } from '../../src/engine/sql/syntax';
import { exploredSql } from '../../scripts/dagData';
import { repoRoot, sampleModel } from './helpers';

/** The bench's segment model as our engine renders it (its refs as relations). */
const explored = (threshold: number) =>
  exploredSql(threshold).replace(/\{\{ ref\('(\w+)'\) \}\}/g, (_, name: string) => `main.${name}`);
const expectedDir = path.join(repoRoot, 'test', 'fixtures', 'jaffle_shop', 'expected');
const corpus = [
  sampleModel,
  explored(600),
  ...readdirSync(expectedDir)
    .filter((name) => name.endsWith('.sql'))
    .map((name) => readFileSync(path.join(expectedDir, name), 'utf8')),
  `-- thresholds 100 and 2.5 in a comment
select id, "col 7" as c7, t2.x, 'band 300' as label,
  case when v between -5 and 10.25 then 'low' when v >= 1e3 then 'high' when v > 0x1F then 'hex' else 'mid' end as band
from t2 where id in (1, 22, 333) limit 50 offset 5`,
];

/** A deterministic generator (mulberry32): the same edits on every machine. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function assertSameTree(sql: string, dialect: SqlDialectName): void {
  const fresh = parseSql(sql, dialect);
  const memo = parseModelSql(sql, dialect);
  assert.deepStrictEqual(memo, fresh, sql);
}

describe('parseMemo: a number edit moves the kept tree', () => {
  it('random plain-number edits give the tree a fresh parse gives, in both dialects', () => {
    const next = random(16);
    let edits = 0;
    const before = { ...parseCounts };
    for (const dialect of ['sqlite', 'postgresql'] as const) {
      for (const original of corpus) {
        if (!parseSql(original, dialect).ok) continue;
        const numbers = [...original.matchAll(/\d+(\.\d+)?/g)];
        if (numbers.length === 0) continue;
        for (let round = 0; round < 30; round++) {
          parseModelSql(original, dialect);
          const { index, 0: text } = numbers[Math.floor(next() * numbers.length)];
          const digits = 1 + Math.floor(next() * 6);
          const value =
            String(Math.floor(next() * 10 ** digits)) + (next() < 0.3 ? `.${Math.floor(next() * 100)}` : '');
          assertSameTree(`${original.slice(0, index)}${value}${original.slice(index! + text.length)}`, dialect);
          edits++;
        }
      }
    }
    assert.ok(edits > 300);
    // Most random picks are literals (patched); the rest (digits in names, strings, comments) were parsed in full.
    assert.ok(parseCounts.patched - before.patched > edits / 3, `${parseCounts.patched - before.patched} of ${edits}`);
  });

  it('an edit that is not one plain number literal is parsed in full, and equals the parse', () => {
    const sql = explored(600);
    assert.ok(parseSql(sql).ok);
    for (const changed of [
      sql.replace('>= 600', '>= -600'),
      sql.replace('>= 600', '>= 6e2'),
      sql.replace('>= 600', '>= 0x258'),
      sql.replace('>= 600', '>= 600.'),
      sql.replace('>= 600', '>= 601').replace('>= 300', '>= 301'),
      sql.replace('-- Customers', '-- 12 Customers'),
      sql.replace("'Platinum'", "'Platinum 2'"),
      sql.replace('>= 600', '>= 600 '),
      sql.replace('>= 600', '>= (600)'),
    ]) {
      parseModelSql(sql, 'sqlite');
      const before = parseCounts.patched;
      assertSameTree(changed, 'sqlite');
      assert.equal(parseCounts.patched, before, changed);
    }
  });

  it('the same SQL again is a copy: changing one tree leaves the next as parsed', () => {
    const sql = explored(700);
    const first = parseModelSql(sql, 'sqlite');
    assert.ok(first.ok);
    (first.program.statements as unknown[]).length = 0;
    assertSameTree(sql, 'sqlite');
  });
});
