// A threshold edit changes one number of the model's SQL, and parsing the whole model again (sql-parser-cst, a PEG
// parser) was the largest cost of the edit after the query. The SQL parsed last is kept; SQL that differs from it in
// one plain number only (`>= 600` → `>= 1000`, the same place) gets the kept tree with that literal's text, value
// and every range after it moved — exactly the tree the parser gives (checked against it in the tests on random
// edits). Anything else (two changes, a sign, a number inside a name, a string or a comment) is parsed in full.
import { parseSql, isNode, type CstNode, type ParsedSql, type SqlDialectName } from '../sql/syntax';

/** Parses kept (the model, its what-if variants). */
const MAX_KEPT_PARSES = 8;
/** Beyond this the copy costs about what the parse does. */
const MAX_KEPT_SQL_CHARS = 1024 ** 2;

const kept: { sql: string; dialect: SqlDialectName; program: CstNode }[] = [];
/** Parses answered by moving a kept tree, and parsed in full: for the tests to see the memo work. */
export const parseCounts = { patched: 0, parsed: 0 };

const PLAIN_NUMBER = /^\d+(\.\d+)?$/;
const isNumberChar = (char: string | undefined) => char !== undefined && /[0-9.]/.test(char);

/** The model's SQL parsed in `dialect`; from a kept tree when only one plain number changed. */
export function parseModelSql(sql: string, dialect: SqlDialectName): ParsedSql {
  for (const entry of kept) {
    if (entry.dialect !== dialect) continue;
    const program = patched(entry.sql, entry.program, sql);
    if (program) {
      parseCounts.patched++;
      return { ok: true, program, dialect };
    }
  }
  const parsed = parseSql(sql, dialect);
  parseCounts.parsed++;
  // A parse that fell back to SQLite's grammar is not kept as the dialect asked for.
  if (parsed.ok && parsed.dialect === dialect && sql.length <= MAX_KEPT_SQL_CHARS) {
    kept.unshift({ sql, dialect, program: copyMoved(parsed.program, 0, 0, 0, undefined)! });
    kept.length = Math.min(kept.length, MAX_KEPT_PARSES);
  }
  return parsed;
}

/** The tree of `after`, when it is `before` with one plain number literal changed; else undefined. */
function patched(before: string, program: CstNode, after: string): CstNode | undefined {
  if (before === after) return copyMoved(program, 0, 0, 0, undefined);
  let start = 0;
  const shortest = Math.min(before.length, after.length);
  while (start < shortest && before[start] === after[start]) start++;
  let tail = 0;
  while (tail < shortest - start && before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail++;
  // The whole number around the change (the text on both sides is the same in both).
  while (start > 0 && isNumberChar(before[start - 1])) start--;
  while (tail > 0 && isNumberChar(before[before.length - tail])) tail--;
  const oldEnd = before.length - tail;
  const newText = after.slice(start, after.length - tail);
  if (!PLAIN_NUMBER.test(before.slice(start, oldEnd)) || !PLAIN_NUMBER.test(newText)) return undefined;
  const literal = { start, oldEnd, text: newText };
  return copyMoved(program, start, oldEnd, newText.length - (oldEnd - start), literal);
}

/**
 * A copy of the tree with the ranges after `oldEnd` moved by `delta`, the ranges around the literal stretched, and
 * the literal at [start, oldEnd) given its new text and value. Undefined when the tree has no number literal exactly
 * there, or a node that ends inside it (the change is not that literal).
 */
function copyMoved(
  program: CstNode,
  start: number,
  oldEnd: number,
  delta: number,
  literal: { start: number; oldEnd: number; text: string } | undefined,
): CstNode | undefined {
  let found = literal === undefined;
  let broken = false;
  const copy = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(copy);
    if (!isNode(value)) return value;
    const node: CstNode = { ...value };
    for (const [field, item] of Object.entries(value))
      if (typeof item === 'object' && item !== null) node[field] = copy(item);
    const range = value.range;
    if (range && literal) {
      const [from, to] = range;
      if (from === start && to === oldEnd && value.type === 'number_literal') {
        found = true;
        node.text = literal.text;
        node.value = Number(literal.text);
        node.range = [from, to + delta];
      } else if (to <= start) {
        node.range = [from, to];
      } else if (from >= oldEnd) {
        node.range = [from + delta, to + delta];
      } else if (from <= start && to >= oldEnd) {
        node.range = [from, to + delta];
      } else {
        broken = true;
      }
    } else if (range) {
      node.range = [range[0], range[1]];
    }
    return node;
  };
  const result = copy(program) as CstNode;
  return found && !broken ? result : undefined;
}
