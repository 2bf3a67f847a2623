// SQLite's errors, turned into ones that point at the model file and say what to do.
import { LensError, oneLine } from '../errors';
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
