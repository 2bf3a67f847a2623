// The rendered SQL's syntax tree, from sql-parser-cst (SQLite dialect, or PostgreSQL's when the data is a PostgreSQL
// server; every node carries its range), and the facts the engine reads off it: the top-level CTEs, extra
// statements, where a name is written.
import { parse } from 'sql-parser-cst';
import { lineStarts } from '../textPosition';

/** A CST node, read loosely: the walkers look at `type` and the few fields they need. */
export interface CstNode {
  type: string;
  range?: [number, number];
  [field: string]: unknown;
}

/** The SQL dialects the model is read in: SQLite's (sql.js runs it), or PostgreSQL's (the data is on a server). */
export type SqlDialectName = 'sqlite' | 'postgresql';

export type ParsedSql =
  { ok: true; program: CstNode; dialect: SqlDialectName } | { ok: false; message: string; offset: number };

export function isNode(value: unknown): value is CstNode {
  return typeof value === 'object' && value !== null && typeof (value as CstNode).type === 'string';
}

function parseIn(sql: string, dialect: SqlDialectName): ParsedSql {
  try {
    return {
      ok: true,
      program: parse(sql, { dialect, includeRange: true, filename: 'model' }) as unknown as CstNode,
      dialect,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // The parser reports "--> model:LINE:COLUMN" (1-based) in its message.
    const where = /--> model:(\d+):(\d+)/.exec(message);
    const starts = lineStarts(sql);
    const offset = where ? (starts[Number(where[1]) - 1] ?? 0) + Number(where[2]) - 1 : 0;
    return { ok: false, message: message.split('\n')[0].replace(/^Syntax Error: /, ''), offset };
  }
}

/**
 * Parses the model in `dialect`; a syntax error comes back with its offset (UTF-16, like every range). SQL that
 * PostgreSQL's grammar refuses but SQLite's reads (what the SQLite macros render, run in sql.js after a pull) is
 * read as SQLite's; its error is PostgreSQL's otherwise.
 */
export function parseSql(sql: string, dialect: SqlDialectName = 'sqlite'): ParsedSql {
  const parsed = parseIn(sql, dialect);
  if (parsed.ok || dialect === 'sqlite') return parsed;
  const asSqlite = parseIn(sql, 'sqlite');
  return asSqlite.ok ? asSqlite : parsed;
}

/** Statements other than empty ones (`;;`). */
export function statements(program: CstNode): CstNode[] {
  return (program.statements as CstNode[]).filter((statement) => statement.type !== 'empty');
}

export interface CteSpan {
  name: string;
  nameStart: number;
  nameEnd: number;
  /** Offset just past its definition: `sql.slice(0, end)` is a WITH clause of it and the CTEs before it. */
  end: number;
}

export interface TopLevelWith {
  ctes: CteSpan[];
  /** Offset just past the WITH clause: `sql.slice(0, end)` is the whole clause. */
  end: number;
}

/** The select of a statement that carries its WITH clause (a compound select keeps it on its first part). */
export function leadingSelect(statement: CstNode): CstNode | undefined {
  let current: CstNode | undefined = statement;
  while (current?.type === 'compound_select_stmt') current = current.left as CstNode;
  return current?.type === 'select_stmt' ? current : undefined;
}

export function clause(select: CstNode, type: string): CstNode | undefined {
  return (select.clauses as CstNode[] | undefined)?.find((item) => item.type === type);
}

export function listItems(list: unknown): CstNode[] {
  if (!isNode(list)) return [];
  return list.type === 'list_expr' ? (list.items as CstNode[]) : [list];
}

/** The CTEs of the first statement's top-level WITH clause, in order. */
export function topLevelWith(program: CstNode): TopLevelWith | undefined {
  const [first] = statements(program);
  const withClause = first && leadingSelect(first) && clause(leadingSelect(first)!, 'with_clause');
  if (!withClause?.range) return undefined;
  const ctes = listItems(withClause.tables).map((cte) => {
    const table = cte.table as CstNode;
    return { name: table.name as string, nameStart: table.range![0], nameEnd: table.range![1], end: cte.range![1] };
  });
  return { ctes, end: withClause.range[1] };
}

/** Where a possibly qualified name (`schema.table`, `alias.column`, `column`) is written, matching case-insensitively. */
export function findName(program: CstNode, dotted: string): { start: number; end: number } | undefined {
  const wanted = dotted.toLowerCase();
  const path = (node: CstNode): string | undefined => {
    if (node.type === 'identifier') return String(node.name).toLowerCase();
    if (
      node.type === 'member_expr' &&
      isNode(node.object) &&
      isNode(node.property) &&
      node.property.type === 'identifier'
    ) {
      const object = path(node.object);
      return object === undefined ? undefined : `${object}.${String(node.property.name).toLowerCase()}`;
    }
    return undefined;
  };
  let found: { start: number; end: number } | undefined;
  const visit = (value: unknown): void => {
    if (found) return;
    if (Array.isArray(value)) return value.forEach(visit);
    if (!isNode(value)) return;
    if ((value.type === 'identifier' || value.type === 'member_expr') && value.range && path(value) === wanted) {
      found = { start: value.range[0], end: value.range[1] };
      return;
    }
    for (const [key, child] of Object.entries(value)) if (key !== 'range') visit(child);
  };
  visit(program);
  return found;
}
