// Lexical facts about the rendered SQL, from polyglot-sql's tokenizer (SQLite dialect): where the top-level CTEs
// are, how many statements there are, and where a name SQLite complains about appears.
import * as polyglot from '@polyglot-sql/sdk';

export interface SqlToken {
  type: string;
  /** The token's text as written (quotes included). */
  raw: string;
  /** The token's value (quotes removed from identifiers and strings). */
  text: string;
  /** UTF-16 offsets into the SQL. */
  start: number;
  end: number;
}

let ready: Promise<void> | undefined;

/** Loads polyglot-sql's wasm (tokenizer and parser) once per process. */
export function loadSqlParser(): Promise<void> {
  ready ??= polyglot.init();
  return ready;
}

/** polyglot counts Unicode code points; JavaScript strings count UTF-16 units. */
export function codePointToUtf16(sql: string): (offset: number) => number {
  if (!/[\uD800-\uDFFF]/.test(sql)) return (offset) => offset;
  const units: number[] = [];
  let unit = 0;
  for (const char of sql) {
    units.push(unit);
    unit += char.length;
  }
  units.push(unit);
  return (offset) => units[Math.min(offset, units.length - 1)];
}

interface RawToken {
  token_type?: string;
  tokenType?: string;
  text: string;
  span: { start: number; end: number };
}

/** Tokens of `sql`, or undefined when it cannot be tokenized (SQLite will report why). */
export function tokenizeSql(sql: string): SqlToken[] | undefined {
  const result = polyglot.tokenize(sql, polyglot.Dialect.SQLite);
  if (!result.success || !result.tokens) return undefined;
  const toUtf16 = codePointToUtf16(sql);
  return (result.tokens as unknown as RawToken[]).map((token) => {
    const start = toUtf16(token.span.start);
    const end = toUtf16(token.span.end);
    return { type: token.token_type ?? token.tokenType ?? '', raw: sql.slice(start, end), text: token.text, start, end };
  });
}

export interface CteSpan {
  name: string;
  nameStart: number;
  nameEnd: number;
}

export interface TopLevelWith {
  ctes: CteSpan[];
  /** Offset just past the closing parenthesis of the last CTE: `sql.slice(0, end)` is the whole WITH clause. */
  end: number;
}

const isName = (token: SqlToken | undefined) => !!token && (token.type === 'VAR' || token.type === 'QUOTED_IDENTIFIER' || /^[A-Za-z_]\w*$/.test(token.raw));

/** The CTEs of the statement's top-level WITH clause, in order. */
export function topLevelWith(tokens: readonly SqlToken[]): TopLevelWith | undefined {
  let index = 0;
  if (tokens[index]?.type !== 'WITH') return undefined;
  index++;
  if (tokens[index]?.type === 'RECURSIVE') index++;
  const ctes: CteSpan[] = [];
  let end = 0;
  for (;;) {
    const name = tokens[index];
    if (!isName(name)) return undefined;
    index++;
    // Skip an optional column list, AS, and [NOT] MATERIALIZED, up to the body's opening parenthesis.
    let depth = 0;
    while (index < tokens.length) {
      const token = tokens[index];
      if (token.type === 'L_PAREN') depth++;
      if (token.type === 'R_PAREN') depth--;
      index++;
      if (token.type === 'AS' && depth === 0) break;
    }
    while (index < tokens.length && tokens[index].type !== 'L_PAREN') index++;
    depth = 0;
    for (; index < tokens.length; index++) {
      if (tokens[index].type === 'L_PAREN') depth++;
      if (tokens[index].type === 'R_PAREN' && --depth === 0) break;
    }
    if (index >= tokens.length) return undefined;
    end = tokens[index].end;
    ctes.push({ name: name.text, nameStart: name.start, nameEnd: name.end });
    index++;
    if (tokens[index]?.type !== 'COMMA') break;
    index++;
  }
  return { ctes, end };
}

/** Start offsets of statements after the first (empty statements between semicolons do not count). */
export function extraStatementStarts(tokens: readonly SqlToken[]): number[] {
  const starts: number[] = [];
  let afterSemicolon = false;
  for (const token of tokens) {
    if (token.type === 'SEMICOLON') afterSemicolon = true;
    else if (afterSemicolon) {
      starts.push(token.start);
      afterSemicolon = false;
    }
  }
  return starts;
}

/** Where a possibly qualified name (`schema.table`, `alias.column`, `column`) is written, matching case-insensitively. */
export function findName(tokens: readonly SqlToken[], dotted: string): { start: number; end: number } | undefined {
  const parts = dotted.split('.').map((part) => part.toLowerCase());
  for (let index = 0; index + (parts.length - 1) * 2 < tokens.length; index++) {
    let matches = true;
    for (let part = 0; part < parts.length && matches; part++) {
      const token = tokens[index + part * 2];
      matches = token.text.toLowerCase() === parts[part] && (part === parts.length - 1 || tokens[index + part * 2 + 1].type === 'DOT');
    }
    if (matches) return { start: tokens[index].start, end: tokens[index + (parts.length - 1) * 2].end };
  }
  return undefined;
}
