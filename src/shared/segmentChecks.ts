// Reasoning on a CASE's branches as intervals of the one column they compare: which branch can never match (the
// ones above take every value it would), which two claim the same values, where each branch's values really start
// and end. Pure: the engine counts the rows behind each finding (run/checks.ts); the model's documentation states
// the effective ranges (describe.ts).
import type { CaseDetail } from './lineageModel';

/** One end of an interval, with the number as the model writes it. */
export interface Bound {
  value: number;
  text: string;
  inclusive: boolean;
}

/** The values between `low` and `high`; a missing end is unbounded. */
export interface Interval {
  low?: Bound;
  high?: Bound;
}

/** A column as a condition writes it (`i.total_spent`), and its name alone (`total_spent`). */
export interface ComparedColumn {
  text: string;
  name: string;
  /** The written parts unquoted, lower case, joined by dots: what makes two references the same column. */
  key: string;
}

/** A WHEN condition read as "this column lies in this interval". */
export interface BranchCondition {
  column: ComparedColumn;
  interval: Interval;
}

export interface CaseBranch {
  when: string;
  then: string;
  /** Undefined when the condition is not a comparison of one column with numbers (it is then left alone). */
  condition?: BranchCondition;
}

export type SegmentFinding =
  /** `by`: the branches above whose values cover it; `contradictory`: its own bounds leave no value. */
  | { kind: 'unreachable'; branch: number; by: number[]; contradictory: boolean; outOfOrder: boolean }
  /** Branch `branch` claims values that branch `above` (written before it) takes first: `overlap`. */
  | { kind: 'overlap'; branch: number; above: number; overlap: Interval };

export interface CaseAnalysis {
  branches: CaseBranch[];
  /** The column the branches compare: the one most of them compare (the first such on a tie). */
  column?: ComparedColumn;
  /** Every branch compares `column` with numbers: then a row whose column is NULL matches none of them. */
  allOnColumn: boolean;
  findings: SegmentFinding[];
  /**
   * When every branch compares `column`: the values each branch really takes (what the branches above leave of
   * its own), then those ELSE takes (NULL aside).
   */
  reaches?: { branches: Interval[][]; else: Interval[] };
}

// ---- reading a condition

type Token =
  | { type: 'name'; parts: string[]; text: string }
  | { type: 'number'; value: number; text: string }
  | { type: 'op'; text: string }
  | { type: 'paren'; text: '(' | ')' }
  | { type: 'word'; text: 'AND' | 'BETWEEN' };

/** A condition longer than this is not a threshold: it is left alone rather than read. */
const MAX_CONDITION_CHARS = 10_000;

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const BARE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*/;
const QUOTES: Record<string, string> = { '"': '"', '`': '`', '[': ']' };

function tokenize(text: string): Token[] | undefined {
  if (text.length > MAX_CONDITION_CHARS) return undefined;
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const rest = text.slice(at);
    const space = /^(?:\s+|--[^\n]*|\/\*[\s\S]*?\*\/)/.exec(rest);
    if (space) {
      at += space[0].length;
      continue;
    }
    const op = /^(?:>=|<=|<>|!=|==|=|<|>)/.exec(rest);
    if (op) {
      tokens.push({ type: 'op', text: op[0] });
      at += op[0].length;
      continue;
    }
    if (rest[0] === '(' || rest[0] === ')') {
      tokens.push({ type: 'paren', text: rest[0] });
      at += 1;
      continue;
    }
    // A sign belongs to the number after it when no value stands before it.
    const signed = /^[-+]/.test(rest) && !['name', 'number'].includes(tokens.at(-1)?.type ?? '');
    const number = NUMBER.exec(signed ? rest.slice(1) : rest);
    if (number) {
      const written = (signed ? rest[0] : '') + number[0];
      const value = Number(written);
      if (!Number.isFinite(value)) return undefined;
      tokens.push({ type: 'number', value, text: written });
      at += written.length;
      continue;
    }
    const name = readName(text, at);
    if (!name) return undefined;
    const upper = name.parts.length === 1 && !name.quoted ? name.parts[0].toUpperCase() : '';
    if (upper === 'AND' || upper === 'BETWEEN') tokens.push({ type: 'word', text: upper });
    else tokens.push({ type: 'name', parts: name.parts, text: text.slice(at, name.end).trim() });
    at = name.end;
  }
  return tokens;
}

/** A name, perhaps quoted, perhaps dotted (`i."total spent"`), from `start`. */
function readName(text: string, start: number): { parts: string[]; end: number; quoted: boolean } | undefined {
  const parts: string[] = [];
  let at = start;
  let quoted = false;
  for (;;) {
    const close = QUOTES[text[at]];
    if (close) {
      let part = '';
      let end = at + 1;
      for (;;) {
        const next = text.indexOf(close, end);
        if (next < 0) return undefined;
        part += text.slice(end, next);
        // A doubled closing quote is the quote itself.
        if (close !== ']' && text[next + 1] === close) {
          part += close;
          end = next + 2;
          continue;
        }
        end = next + 1;
        break;
      }
      parts.push(part);
      quoted = true;
      at = end;
    } else {
      const bare = BARE_NAME.exec(text.slice(at));
      if (!bare) return undefined;
      parts.push(bare[0]);
      at += bare[0].length;
    }
    if (text[at] !== '.') return { parts, end: at, quoted };
    at += 1;
  }
}

const FLIP: Record<string, string> = { '>=': '<=', '<=': '>=', '>': '<', '<': '>', '=': '=', '==': '=' };

function columnOf(token: Extract<Token, { type: 'name' }>): ComparedColumn {
  return {
    text: token.text,
    name: token.parts[token.parts.length - 1],
    key: token.parts.map((part) => part.toLowerCase()).join('.'),
  };
}

/** `column op value` as an interval; undefined for `<>`/`!=` (two intervals: not a threshold). */
function comparison(op: string, value: Extract<Token, { type: 'number' }>): Interval | undefined {
  const bound = (inclusive: boolean): Bound => ({ value: value.value, text: value.text, inclusive });
  switch (op) {
    case '>=':
      return { low: bound(true) };
    case '>':
      return { low: bound(false) };
    case '<=':
      return { high: bound(true) };
    case '<':
      return { high: bound(false) };
    case '=':
    case '==':
      return { low: bound(true), high: bound(true) };
    default:
      return undefined;
  }
}

/** Reads `tokens` as terms joined by AND, all on one column: `x >= 1`, `1 <= x`, `x BETWEEN 1 AND 2`, `(…)`. */
class ConditionReader {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  read(): BranchCondition | undefined {
    const condition = this.conjunction();
    return condition && this.at === this.tokens.length ? condition : undefined;
  }

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private next(): Token | undefined {
    return this.tokens[this.at++];
  }

  private conjunction(): BranchCondition | undefined {
    let condition = this.term();
    while (condition && this.peek()?.type === 'word' && this.peek()?.text === 'AND') {
      this.at++;
      const more = this.term();
      if (!more || more.column.key !== condition.column.key) return undefined;
      condition = { column: condition.column, interval: intersect(condition.interval, more.interval) };
    }
    return condition;
  }

  private term(): BranchCondition | undefined {
    const first = this.next();
    if (!first) return undefined;
    if (first.type === 'paren' && first.text === '(') {
      const inner = this.conjunction();
      const close = this.next();
      return close?.type === 'paren' && close.text === ')' ? inner : undefined;
    }
    const second = this.next();
    if (first.type === 'name' && second?.type === 'word' && second.text === 'BETWEEN') {
      const low = this.next();
      const and = this.next();
      const high = this.next();
      if (low?.type !== 'number' || and?.type !== 'word' || and.text !== 'AND' || high?.type !== 'number')
        return undefined;
      return {
        column: columnOf(first),
        interval: {
          low: { value: low.value, text: low.text, inclusive: true },
          high: { value: high.value, text: high.text, inclusive: true },
        },
      };
    }
    const third = this.next();
    if (second?.type !== 'op') return undefined;
    if (first.type === 'name' && third?.type === 'number') {
      const interval = comparison(second.text, third);
      return interval && { column: columnOf(first), interval };
    }
    if (first.type === 'number' && third?.type === 'name') {
      const flipped = FLIP[second.text] as string | undefined;
      const interval = flipped === undefined ? undefined : comparison(flipped, first);
      return interval && { column: columnOf(third), interval };
    }
    return undefined;
  }
}

/**
 * A WHEN condition as an interval of one column, or undefined when it is anything else. With `operand`
 * (`CASE x WHEN 5 THEN …`), `when` is the value the operand equals.
 */
export function parseCondition(when: string, operand?: string): BranchCondition | undefined {
  if (operand !== undefined) {
    const column = tokenize(operand);
    const value = tokenize(when);
    if (column?.length !== 1 || column[0].type !== 'name' || value?.length !== 1 || value[0].type !== 'number')
      return undefined;
    return { column: columnOf(column[0]), interval: comparison('=', value[0])! };
  }
  const tokens = tokenize(when);
  return tokens && new ConditionReader(tokens).read();
}

// ---- intervals

/** The tighter of two lower bounds (`pick` 1) or upper bounds (`pick` -1). */
function tighter(a: Bound | undefined, b: Bound | undefined, pick: 1 | -1): Bound | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.value !== b.value) return (a.value - b.value) * pick > 0 ? a : b;
  return a.inclusive ? b : a;
}

export function intersect(a: Interval, b: Interval): Interval {
  return { low: tighter(a.low, b.low, 1), high: tighter(a.high, b.high, -1) };
}

export function isEmpty(interval: Interval): boolean {
  const { low, high } = interval;
  if (!low || !high) return false;
  return low.value > high.value || (low.value === high.value && !(low.inclusive && high.inclusive));
}

/** What is left of `a` once `b` is taken away: none, one or two intervals. */
export function subtract(a: Interval, b: Interval): Interval[] {
  if (isEmpty(intersect(a, b))) return isEmpty(a) ? [] : [a];
  const pieces: Interval[] = [];
  if (b.low) pieces.push(intersect(a, { high: { ...b.low, inclusive: !b.low.inclusive } }));
  if (b.high) pieces.push(intersect(a, { low: { ...b.high, inclusive: !b.high.inclusive } }));
  return pieces.filter((piece) => !isEmpty(piece));
}

/** What is left of `pieces` once every interval of `taken` is taken away. */
export function subtractAll(pieces: Interval[], taken: readonly Interval[]): Interval[] {
  return taken.reduce((left, interval) => left.flatMap((piece) => subtract(piece, interval)), pieces);
}

export function contains(outer: Interval, inner: Interval): boolean {
  return subtract(inner, outer).length === 0;
}

/** One-sided in the same direction (`>= 10000` and `>= 5000`): a cascade, where the first match is meant to win. */
function sameDirection(a: Interval, b: Interval): boolean {
  return (!!a.low && !a.high && !!b.low && !b.high) || (!a.low && !!a.high && !b.low && !!b.high);
}

// ---- the analysis

export function analyseCase(detail: CaseDetail): CaseAnalysis {
  const branches: CaseBranch[] = detail.whens.map(({ when, then }) => ({
    when,
    then,
    condition: parseCondition(when, detail.operand),
  }));
  const votes = new Map<string, { column: ComparedColumn; count: number }>();
  for (const { condition } of branches) {
    if (!condition) continue;
    const vote = votes.get(condition.column.key);
    if (vote) vote.count++;
    else votes.set(condition.column.key, { column: condition.column, count: 1 });
  }
  let column: ComparedColumn | undefined;
  let most = 0;
  for (const vote of votes.values()) {
    if (vote.count > most) {
      column = vote.column;
      most = vote.count;
    }
  }
  const on = branches.map((branch) =>
    branch.condition && branch.condition.column.key === column?.key ? branch.condition.interval : undefined,
  );
  const findings: SegmentFinding[] = [];
  on.forEach((interval, index) => {
    if (!interval) return;
    const above = on
      .slice(0, index)
      .map((other, at) => ({ other, at }))
      .filter((item): item is { other: Interval; at: number } => item.other !== undefined);
    if (isEmpty(interval)) {
      findings.push({ kind: 'unreachable', branch: index, by: [], contradictory: true, outOfOrder: false });
      return;
    }
    const by = above.filter(({ other }) => !isEmpty(intersect(other, interval)));
    if (
      subtractAll(
        [interval],
        by.map(({ other }) => other),
      ).length === 0
    ) {
      findings.push({
        kind: 'unreachable',
        branch: index,
        by: by.map(({ at }) => at),
        contradictory: false,
        outOfOrder: by.some(({ other }) => sameDirection(other, interval)),
      });
      return;
    }
    // An earlier branch inside this one is a carve-out or a cascade (`>= 10000` before `>= 5000`): meant. One that
    // reaches past its edge moves where this branch really starts or ends.
    for (const { other, at } of by) {
      if (!contains(interval, other))
        findings.push({ kind: 'overlap', branch: index, above: at, overlap: intersect(other, interval) });
    }
  });
  const allOnColumn = branches.length > 0 && on.every((interval) => interval !== undefined);
  let reaches: CaseAnalysis['reaches'];
  if (allOnColumn) {
    const intervals = on as Interval[];
    reaches = {
      branches: intervals.map((interval, index) => subtractAll([interval], intervals.slice(0, index))),
      else: subtractAll([{}], intervals),
    };
  }
  return { branches, column, allOnColumn, findings, reaches };
}

// ---- words and SQL

const number = (bound: Bound) => bound.text.replace(/^\+/, '');

/** `total_spent ≥ 5000`, `1000 ≤ total_spent < 5000`, `total_spent = 0`, `any total_spent`. */
export function intervalText(name: string, interval: Interval): string {
  const { low, high } = interval;
  if (low && high && low.value === high.value && low.inclusive && high.inclusive) return `${name} = ${number(low)}`;
  const lowText = low && `${number(low)} ${low.inclusive ? '≤' : '<'} `;
  const highText = high && ` ${high.inclusive ? '≤' : '<'} ${number(high)}`;
  if (lowText && !highText) return `${name} ${low!.inclusive ? '≥' : '>'} ${number(low!)}`;
  if (!lowText && !highText) return `any ${name}`;
  return `${lowText ?? ''}${name}${highText ?? ''}`;
}

/** The same words for a list of intervals (what a branch really takes). */
export function intervalsText(name: string, intervals: readonly Interval[]): string {
  return intervals.length === 0 ? 'no value' : intervals.map((interval) => intervalText(name, interval)).join(' or ');
}

/** The interval as a SQL condition on `column` (already quoted); its numbers are the tokens read, nothing else. */
export function intervalSql(column: string, interval: Interval): string {
  const parts = [`${column} IS NOT NULL`];
  if (interval.low) parts.push(`${column} ${interval.low.inclusive ? '>=' : '>'} ${number(interval.low)}`);
  if (interval.high) parts.push(`${column} ${interval.high.inclusive ? '<=' : '<'} ${number(interval.high)}`);
  return `(${parts.join(' AND ')})`;
}

/** A THEN that is a string or number literal, as its value (`'Gold'` → `Gold`); undefined for anything else. */
export function literalValue(text: string): string | number | undefined {
  const trimmed = text.trim();
  const string = /^'((?:[^']|'')*)'$/.exec(trimmed);
  if (string) return string[1].replaceAll("''", "'");
  const numeric = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.exec(trimmed);
  return numeric ? Number(trimmed) : undefined;
}
