// The rows of a CTE a threshold edit did not touch are counted once per version of the data: a count (and the segment
// checks' sums with it) depends only on the text of that CTE and of the CTEs it reads, directly or through others,
// the terms and parameters asked, and the data (LoadedData, per build of its upstream models). Which CTEs a CTE reads
// is over-estimated (each CTE whose name appears as a word anywhere in its text, strings and comments included), so a
// count is never answered for SQL it was not made from; a CTE whose name is not a plain word is always counted.
import type { LoadedData } from '../data/loadedData';
import { hashOf } from '../hash';
import type { SqlValue } from '../../shared/rows';
import type { TopLevelWith } from '../sql/syntax';

/** Counts kept per data. */
const MAX_KEPT_COUNTS = 256;

const memos = new WeakMap<LoadedData, { buildCount: number; rows: Map<string, SqlValue[]> }>();
/** Count rows answered from memory, and counted: for the tests to see the memo work. */
export const countReads = { counted: 0, reused: 0 };

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * What the count of CTE `index` (with `tail`: the select after the WITH clause, and its parameters) depends on, as a
 * key; undefined when it cannot be told (a CTE name that is not a plain word).
 */
export function countKey(
  sql: string,
  withClause: TopLevelWith,
  index: number,
  tail: string,
  params: SqlValue[],
): string | undefined {
  const ctes = withClause.ctes;
  if (!ctes.every((cte) => PLAIN_NAME.test(cte.name))) return undefined;
  // Each CTE's text: from its name to the end of its definition.
  const texts = ctes.map((cte) => sql.slice(cte.nameStart, cte.end));
  const words = ctes.map((cte) => new RegExp(`(^|[^A-Za-z0-9_$])${cte.name}($|[^A-Za-z0-9_$])`, 'i'));
  const needed = new Set([index]);
  for (const at of needed) {
    for (const [other, word] of words.entries()) if (!needed.has(other) && word.test(texts[at])) needed.add(other);
  }
  return hashOf([
    // `WITH` or `WITH RECURSIVE`, and whatever comes before it.
    sql.slice(0, ctes[0]?.nameStart ?? withClause.end),
    [...needed].sort((a, b) => a - b).map((at) => texts[at]),
    tail,
    params,
  ]);
}

function memoOf(data: LoadedData) {
  let memo = memos.get(data);
  if (!memo || memo.buildCount !== data.buildCount) {
    memo = { buildCount: data.buildCount, rows: new Map() };
    memos.set(data, memo);
  }
  return memo;
}

/** The row a count query with this key gave on this data, or what `count` gives now (then kept). */
export async function countOnce(
  data: LoadedData,
  key: string | undefined,
  count: () => Promise<SqlValue[]>,
): Promise<SqlValue[]> {
  // On a server (pushdown) the data changes without us knowing: counted each time.
  if (key === undefined || data.executor) return count();
  const memo = memoOf(data);
  const known = memo.rows.get(key);
  if (known) {
    countReads.reused++;
    memo.rows.delete(key);
    memo.rows.set(key, known);
    return known;
  }
  const row = await count();
  countReads.counted++;
  memo.rows.set(key, row);
  if (memo.rows.size > MAX_KEPT_COUNTS) memo.rows.delete(memo.rows.keys().next().value!);
  return row;
}
