// SQLite's errors, and a server's (pushdown), turned into ones that point at the model file and say what to do.
import { LensError, oneLine } from '../errors';
import type { ServerSqlError } from '../data/executor';
import type { LoadedData } from '../data/loadedData';
import { quoteIdentifier } from '../sql/names';
import { clause, findName, isNode, topLevelWith, type CstNode } from '../sql/syntax';
import type { PreparedQuery } from './prepare';

/**
 * A failure of SQLite while Segment Lens reads a table of the data for itself (the layout, the data checks): a
 * LensError naming the table and the file it comes from.
 */
export function tableError(error: unknown, data: LoadedData, schema: string, table: string): LensError {
  if (error instanceof LensError) return error;
  const message = oneLine(error instanceof Error ? error.message : String(error));
  const file = Object.hasOwn(data.source.schemas, schema) ? data.source.schemas[schema] : undefined;
  const where = `Table ${schema}.${table}${file ? ` (${file})` : ` in ${data.source.description}`}`;
  if (/malformed|not a database|disk I\/O error/i.test(message)) {
    return new LensError({
      code: 'corrupt-database',
      message: `${where} cannot be read: ${message}.`,
      hint: 'The file may be corrupt or truncated; restore it or rebuild it with dbt (sqlite3 "PRAGMA integrity_check" shows the damage).',
    });
  }
  if (/out of memory|too big/i.test(message)) {
    return new LensError({
      code: 'too-large',
      message: `${where} is more than Segment Lens can hold in memory: ${message}.`,
      hint: 'Point segmentLens.connection at a smaller extract (a sample, or fewer columns).',
    });
  }
  return new LensError({
    code: 'sql',
    message: `${where} could not be read: ${message}.`,
    hint: 'Check the table with sqlite3; if it reads there, please report this.',
  });
}

/** Turns an SQLite error into one that points at the model file and says what to do. */
export function sqlError(fullMessage: string, query: PreparedQuery, data: LoadedData): LensError {
  const message = oneLine(fullMessage);
  const { sql, sourceMap, file } = query;
  const program = query.parsed.ok ? query.parsed.program : undefined;
  const at = (range: { start: number; end: number } | undefined) =>
    range ? sourceMap.location(range.start, range.end) : undefined;
  let match: RegExpExecArray | null;
  if ((match = /^no such table: (.+)$/s.exec(fullMessage))) {
    const name = match[1];
    const tables = data.allTables();
    return new LensError({
      code: 'missing-table',
      message: `Table ${oneLine(name)} does not exist in ${data.source.description}.`,
      hint: [
        tables.length ? `Tables that exist: ${listed(tables)}.` : 'The data has no tables at all.',
        ...data.notes,
      ].join(' '),
      location: at(program && findName(program, name)),
    });
  }
  if ((match = /^no such column: (.+)$/s.exec(fullMessage))) {
    const name = match[1];
    const range = program && findName(program, name);
    const inScope = program && range ? columnsInScope(program, range.start, name, sql, data) : [];
    if (inScope.length) {
      // The relations the SELECT around the name reads: for a typo in the final SELECT, the CTE it reads.
      const single = inScope.length === 1;
      const described = inScope.map(({ relation, columns }) => `${single ? '' : `${relation}: `}${listed(columns)}`);
      const relations = inScope.map(({ relation }) => relation).join(' or ');
      return new LensError({
        code: 'missing-column',
        message: `Column ${oneLine(name)} does not exist in ${relations}${range ? '' : ` (${file})`}.`,
        hint: single ? `Columns of ${relations}: ${described[0]}.` : `Columns there: ${described.join('; ')}.`,
        location: at(range),
      });
    }
    const mentioned = data.allTables().filter((qualified) => program && findName(program, qualified.split('.')[1]));
    const columns = mentioned.map((qualified) => {
      const [schema, table] = qualified.split('.');
      return `${qualified} (${listed(data.columnsOf(schema, table))})`;
    });
    return new LensError({
      code: 'missing-column',
      message: `Column ${oneLine(name)} does not exist in ${file}.`,
      hint: columns.length
        ? `Columns of the tables the model reads: ${listed(columns, 10, '; ')}.`
        : 'Check the column name against your data.',
      location: at(range),
    });
  }
  // SQLite quotes the whole token: for a string never closed, the rest of the file. One line of it is shown.
  if ((match = /^near "(.*)": syntax error$/s.exec(fullMessage))) {
    return new LensError({
      code: 'sql-syntax',
      message: `SQL syntax error near "${oneLine(match[1], 60)}" in ${file}.`,
      hint: 'Fix the SQL at this position.',
      location: at(syntaxErrorRange(fullMessage, match[1], sql, data)),
    });
  }
  if ((match = /^unrecognized token: "(.*)"$/s.exec(fullMessage))) {
    const token = match[1];
    const unclosed = /^['"`[]/.test(token) && token.length > 1;
    return new LensError({
      code: 'sql-syntax',
      message: `SQL syntax error in ${file}: unrecognized token "${oneLine(token, 60)}".`,
      hint: unclosed
        ? `A quote or bracket opened here is never closed: close it (${token[0] === "'" ? "a ' inside a string is written ''" : 'check the quoting'}).`
        : 'Fix the SQL at this position: SQLite does not know this character here.',
      location: at(syntaxErrorRange(fullMessage, token, sql, data)),
    });
  }
  if (message === 'incomplete input') {
    const end = sql.trimEnd().length;
    return new LensError({
      code: 'sql-syntax',
      message: `The SQL in ${file} ends too early (incomplete input).`,
      hint: 'Close every parenthesis, string and CASE … END.',
      location: at({ start: Math.max(0, end - 1), end }),
    });
  }
  if ((match = /^(?:ambiguous column name|no such function): (.+)$/s.exec(fullMessage))) {
    return new LensError({
      code: 'sql',
      message: `${message} (in ${file}).`,
      hint: message.startsWith('ambiguous')
        ? 'Qualify the column with its table alias.'
        : 'SQLite has no such function; use one it has.',
      location: at(program && findName(program, match[1])),
    });
  }
  if (/malformed|not a database/.test(message)) {
    return new LensError({
      code: 'corrupt-database',
      message: `The data in ${data.source.description} cannot be read: ${message}.`,
      hint: 'A database file may be corrupt or truncated; restore it or rebuild it with dbt.',
    });
  }
  return new LensError({ code: 'sql', message: `SQLite error in ${file}: ${message}.`, hint: "Fix the model's SQL." });
}

/** At most `max` items, then how many more there are: a hint stays readable with thousands of tables. */
function listed(items: readonly string[], max = 50, separator = ', '): string {
  const shown = items.slice(0, max).join(separator);
  return items.length > max ? `${shown}${separator}… (${items.length - max} more)` : shown;
}

/** SQLite names the token it choked on but not where: the first prefix of the SQL ending with it that fails the same way. */
function syntaxErrorRange(
  message: string,
  near: string,
  sql: string,
  data: LoadedData,
): { start: number; end: number } | undefined {
  const candidates: number[] = [];
  for (let index = sql.indexOf(near); index !== -1 && near !== ''; index = sql.indexOf(near, index + 1))
    candidates.push(index);
  for (const start of candidates.slice(0, 500)) {
    try {
      data.main.prepare(sql.slice(0, start + near.length)).free();
    } catch (error) {
      // A token over several lines (a string never closed) is marked on its first line.
      const firstLine = near.search(/\r?\n|\r/);
      if ((error as Error).message === message)
        return { start, end: start + (firstLine === -1 ? near.length : Math.max(1, firstLine)) };
    }
  }
  return undefined;
}

/** The innermost SELECT whose text holds `offset`. */
function selectAt(program: CstNode, offset: number): CstNode | undefined {
  let found: CstNode | undefined;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!isNode(value)) return;
    if (value.range && (offset < value.range[0] || offset >= value.range[1])) return;
    if (value.type === 'select_stmt') found = value;
    for (const [key, child] of Object.entries(value)) if (key !== 'range') visit(child);
  };
  visit(program);
  return found;
}

/** A name as written (`base`, `staging.stg_customers`), or undefined for anything else (a subquery). */
function writtenName(node: CstNode): string | undefined {
  if (node.type === 'identifier') return String(node.name);
  if (node.type === 'member_expr' && isNode(node.object) && isNode(node.property)) {
    const object = writtenName(node.object);
    const property = writtenName(node.property);
    return object && property ? `${object}.${property}` : undefined;
  }
  return undefined;
}

/** The relations a SELECT's FROM clause reads, each as written and with its alias. */
function relationsRead(select: CstNode): { name: string; alias?: string }[] {
  const found: { name: string; alias?: string }[] = [];
  const visit = (node: unknown, alias?: string): void => {
    if (!isNode(node) || found.length >= 50) return;
    if (node.type === 'join_expr') {
      visit(node.left);
      visit(node.right);
    } else if (node.type === 'alias') {
      visit(node.expr, isNode(node.alias) ? writtenName(node.alias) : undefined);
    } else if (node.type === 'paren_expr') {
      visit(node.expr, alias);
    } else {
      const name = writtenName(node);
      if (name) found.push({ name, alias });
    }
  };
  visit(clause(select, 'from_clause')?.expr);
  return found;
}

/**
 * The columns of the relations in scope where a missing column is written: those the SELECT around it reads (only the
 * one its qualifier names, for `alias.column`), a CTE's as SQLite makes them, a table's from the data. Empty when
 * they cannot be told (a subquery, a CTE that does not compile either).
 */
function columnsInScope(
  program: CstNode,
  offset: number,
  missing: string,
  sql: string,
  data: LoadedData,
): { relation: string; columns: string[] }[] {
  const select = selectAt(program, offset);
  if (!select) return [];
  const qualifier = missing.includes('.') ? missing.slice(0, missing.lastIndexOf('.')).toLowerCase() : undefined;
  const relations = relationsRead(select).filter(
    ({ name, alias }) => !qualifier || (alias ?? name).toLowerCase() === qualifier || name.toLowerCase() === qualifier,
  );
  const ctes = topLevelWith(program)?.ctes ?? [];
  const described: { relation: string; columns: string[] }[] = [];
  for (const { name, alias } of relations) {
    const cte = name.includes('.') ? undefined : ctes.find((item) => item.name.toLowerCase() === name.toLowerCase());
    const columns = cte ? cteColumns(sql.slice(0, cte.end), cte.name, data) : data.columnsOfWritten(name);
    if (!columns) return [];
    described.push({ relation: alias && alias !== name ? `${alias} (${name})` : name, columns });
  }
  return described;
}

/** A CTE's columns, from SQLite: `withClause` is the WITH clause up to and including it. */
function cteColumns(withClause: string, cte: string, data: LoadedData): string[] | undefined {
  try {
    const statement = data.prepare(`${withClause} SELECT * FROM ${quoteIdentifier(cte)}`);
    try {
      return statement.getColumnNames();
    } finally {
      statement.free();
    }
  } catch {
    return undefined;
  }
}

/** Where `offset` of `sent` (SQL the session built around the model's) falls in the model's SQL, if it is the model's. */
function modelOffset(sent: string, offset: number, sql: string): number | undefined {
  if (offset < 0 || offset >= sent.length) return undefined;
  // The session sends the model's SQL (or its WITH clause) as it is, alone or inside a query of its own.
  const head = sql.slice(0, Math.min(sql.length, 64));
  if (head === '') return undefined;
  let found: number | undefined;
  let tries = 0;
  for (let start = sent.indexOf(head); start !== -1 && start <= offset && tries < 16; tries++) {
    if (sent.slice(start, offset + 1) === sql.slice(0, offset - start + 1)) found = offset - start;
    start = sent.indexOf(head, start + 1);
  }
  return found;
}

/** The token at `offset` (a name, a number, a quoted string, an operator), for the error's range. */
function tokenAt(sql: string, offset: number): { start: number; end: number } {
  const token = /^(?:[\p{L}\p{N}_$]+|'(?:[^']|'')*'|"(?:[^"]|"")*"|::|[^\s\p{L}\p{N}_$'"]{1,3})/u.exec(
    sql.slice(offset, offset + 1000),
  );
  return { start: offset, end: offset + Math.max(1, token?.[0].length ?? 1) };
}

/** PostgreSQL's name of a type, as its messages name it (`integer` for `int4` and `int`). */
const POSTGRES_TYPES: Record<string, string> = {
  int: 'integer',
  int4: 'integer',
  int8: 'bigint',
  int2: 'smallint',
  decimal: 'numeric',
  float: 'double precision',
  float8: 'double precision',
  float4: 'real',
  bool: 'boolean',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  varchar: 'character varying',
};

/**
 * Where in the model a runtime error the server does not locate can come from: each division for a division by
 * zero, each cast to the type the message names for a value that does not convert.
 */
function runtimeCandidates(
  error: ServerSqlError,
  query: PreparedQuery,
): { what: string; ranges: { start: number; end: number }[] } | undefined {
  const program = query.parsed.ok ? query.parsed.program : undefined;
  if (!program) return undefined;
  const divisions = error.sqlState === '22012';
  const casts = /^22(P02|003|007|008)$/.test(error.sqlState);
  if (!divisions && !casts) return undefined;
  const typeOf = (node: unknown) => {
    const text = isNode(node) && node.range ? query.sql.slice(node.range[0], node.range[1]) : '';
    const name = text.toLowerCase().replace(/\(.*$/s, '').replace(/\s+/g, ' ').trim();
    return POSTGRES_TYPES[name] ?? name;
  };
  const wanted = /type ([a-z ]+?)(?::|$)/.exec(error.message)?.[1];
  const ranges: { start: number; end: number }[] = [];
  const visit = (value: unknown): void => {
    if (ranges.length >= 50) return;
    if (Array.isArray(value)) return value.forEach(visit);
    if (!isNode(value)) return;
    if (divisions) {
      if (value.type === 'binary_expr' && (value.operator === '/' || value.operator === '%') && value.range)
        ranges.push({ start: value.range[0], end: value.range[1] });
      if (value.type === 'func_call' && isNode(value.name) && /^(div|mod)$/i.test(String(value.name.name)))
        ranges.push({ start: value.range![0], end: value.range![1] });
    } else if (value.type === 'cast_operator_expr' || value.type === 'cast_expr') {
      const type =
        value.type === 'cast_operator_expr'
          ? typeOf(value.right)
          : isNode(value.args) && isNode(value.args.expr)
            ? typeOf(value.args.expr.dataType)
            : '';
      if (value.range && (!wanted || type === wanted)) ranges.push({ start: value.range[0], end: value.range[1] });
    }
    for (const [key, child] of Object.entries(value)) if (key !== 'range') visit(child);
  };
  visit(program);
  return ranges.length ? { what: divisions ? 'division' : 'cast', ranges } : undefined;
}

/** SQLSTATEs of a fault in the model's SQL or in the data it meets (not the connection, the login or the server). */
const MODEL_FAULT = /^(21|22|42|2F|0A)/;

/** What to do about a fault the server found in the model, by its SQLSTATE. */
function modelFaultHint(sqlState: string): string {
  if (sqlState === '22012')
    return 'A divisor is zero for some rows: guard it (x / NULLIF(y, 0)) or filter those rows out.';
  if (/^22(P02|003|007|008)$/.test(sqlState))
    return 'A value in the data does not convert to the type: clean or filter it before the cast.';
  return "Fix the model's SQL here; it runs on PostgreSQL (pushdown), in PostgreSQL's dialect.";
}

/**
 * The server's error in a query the session sent (`sent`: the model's SQL, or SQL built around it), located in the
 * model file: at the position the server gives, mapped through what wraps the model's SQL and the source map; or,
 * for a runtime error the server does not locate (a division by zero, a value that does not cast), at the model's
 * only division or cast of that type (or the first of them, saying which lines hold the others).
 */
export function serverSqlError(error: ServerSqlError, sent: string, query: PreparedQuery): LensError {
  const { sourceMap, file, sql } = query;
  // A fault of the model's own SQL is said as one (what the connection's messages say fits only the connection).
  const fault = error.value.code === 'postgres' && error.sqlState !== '42501' && MODEL_FAULT.test(error.sqlState);
  const said = fault
    ? `PostgreSQL cannot run ${file}: ${(error.serverMessage ?? error.value.message).replace(/\.$/, '')} [${error.sqlState}]`
    : error.value.message.replace(/\.$/, '');
  const hint = [
    error.serverHint && `PostgreSQL: ${error.serverHint.replace(/\.?$/, '.')}`,
    fault ? modelFaultHint(error.sqlState) : error.value.hint,
  ]
    .filter(Boolean)
    .join(' ');
  const value = { ...error.value, ...(fault ? { code: 'sql' as const } : {}), hint };
  const at = error.offset === undefined ? undefined : modelOffset(sent, error.offset, sql);
  if (at !== undefined) {
    const range = tokenAt(sql, at);
    const location = sourceMap.location(range.start, range.end);
    return new LensError({ ...value, message: `${said} — at line ${location.line} of ${location.file}.`, location });
  }
  const candidates = runtimeCandidates(error, query);
  if (!candidates) return new LensError({ ...value, message: fault ? `${said}.` : `${said} (in ${file}).` });
  const [first] = candidates.ranges;
  const location = sourceMap.location(first.start, first.end);
  const lines = [...new Set(candidates.ranges.map((range) => sourceMap.location(range.start).line))];
  const where =
    candidates.ranges.length === 1
      ? `at line ${location.line} of ${location.file}, the model's only ${candidates.what} that can fail so (the server does not say where)`
      : `at one of the model's ${candidates.what}s, on line${lines.length > 1 ? 's' : ''} ${lines.join(', ')} of ${location.file} (the server does not say which; the first is marked)`;
  return new LensError({ ...value, message: `${said} — ${where}.`, location });
}
