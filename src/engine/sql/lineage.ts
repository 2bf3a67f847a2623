// Column-level lineage of a model: which source columns feed each output column, through which CTEs, by what kind
// of step, and which columns shape rows without flowing into values. sql-parser-cst parses the SQL (SQLite
// dialect, or PostgreSQL's for a model on a PostgreSQL server; a range on every node); the walk over its tree is
// ours. Names resolve the way SQLite resolves them (USING and NATURAL columns, parenthesised joins,
// `schema.table.column`, CTEs seen from every part of a compound select, result aliases in WHERE / GROUP BY /
// HAVING / ORDER BY), and output columns are named the way the engine that runs the model names them (SQLite, or
// PostgreSQL in pushdown), so the lineage's columns line up with the result's. Every node and edge carries a span
// in the user's file.
import { LensError, type FileLocation } from '../errors';
import type { SourceMap } from '../model/sourceMap';
import { LineageGraph, upstream } from '../../shared/lineageGraph';
import { FINAL_SELECT, VALUE_KINDS } from '../../shared/lineageModel';
import type {
  CaseDetail,
  CaseLiteral,
  Lineage,
  LineageEdge,
  LineageNode,
  LineageRelation,
  RowKind,
  UnresolvedReference,
  ValueKind,
} from '../../shared/lineageModel';
import {
  clause,
  isNode,
  leadingSelect,
  listItems,
  parseSql,
  statements,
  type CstNode,
  type ParsedSql,
  type SqlDialectName,
} from './syntax';

export type * from '../../shared/lineageModel';

/** Column names of a table as the model writes it (`schema.table` or `table`); undefined when unknown. */
export type Catalog = (table: string) => string[] | undefined;

const AGGREGATES = new Set([
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'total',
  'group_concat',
  'string_agg',
  'array_agg',
  'median',
  'stddev',
  'variance',
  // PostgreSQL's
  'bool_and',
  'bool_or',
  'every',
  'stddev_samp',
  'stddev_pop',
  'var_samp',
  'var_pop',
  'percentile_cont',
  'percentile_disc',
  'mode',
  'json_agg',
  'jsonb_agg',
  'json_object_agg',
  'jsonb_object_agg',
  'bit_and',
  'bit_or',
]);
const QUERIES = new Set(['select_stmt', 'compound_select_stmt']);
/** SQLite's names for a table's row id, when no column has the name. */
const ROWID = /^(rowid|oid|_rowid_)$/i;
/** SQLite's table-valued JSON functions and their columns. */
const JSON_TABLE_COLUMNS = ['key', 'value', 'type', 'atom', 'id', 'parent', 'fullkey', 'path'];
const JSON_TABLE_FUNCTIONS = new Set(['json_each', 'json_tree', 'jsonb_each', 'jsonb_tree']);

const lower = (name: string) => name.toLowerCase();

/** One name against another as SQLite compares them, ignoring the `:N` SQLite adds to tell equal names apart. */
const sameName = (a: string, b: string) => lower(a.replace(/:\d+$/, '')) === lower(b.replace(/:\d+$/, ''));

/**
 * `name`, or `name:1`, `name:2`, … when `taken` has it (case-insensitively): how SQLite names the columns of a
 * subquery, a CTE or a parenthesised join (sqlite3ColumnsFromExprList). Adds the result to `taken`.
 */
function distinctName(name: string, taken: Set<string>): string {
  const base = name.replace(/:\d+$/, '');
  let candidate = name;
  for (let count = 1; taken.has(lower(candidate)); count++) candidate = `${base}:${count}`;
  taken.add(lower(candidate));
  return candidate;
}

interface Relation {
  /** Prefix of its columns' ids: `schema.table`, a CTE's name or a subquery's alias. */
  name: string;
  kind: 'source' | 'cte' | 'subquery';
  /** Known columns, in order; undefined when the data does not say (a source table we have no schema for). */
  columns?: string[];
}

/** A column as a reference resolves to it: the lineage node its value comes from. */
interface Resolved {
  id: string;
  relation: string;
  column: string;
  kind: LineageNode['kind'];
}

/** A table, CTE or subquery in a FROM clause, with the names that qualify its columns. */
interface FromTable {
  relation: Relation;
  /** `alias.column`, else `table.column`; empty for a subquery without an alias. */
  qualifier: string;
  /** The schema written before an unaliased table: `schema.table.column` names it. */
  schema?: string;
  aliased: boolean;
}

/** A column a FROM item offers to `*` and to unqualified references. */
interface FromColumn {
  /** As SQLite names it: the table's column, or `name:N` when a parenthesised join has it twice. */
  name: string;
  table: FromTable;
  /** Its name in its table. */
  column: string;
  /** Where its value comes from: its own column, or both sides of a FULL JOIN's USING column. */
  values: Resolved[];
}

type JoinType = 'inner' | 'left' | 'right' | 'full';

interface Join {
  type: JoinType;
  /** `INNER JOIN`, `LEFT JOIN`, `NATURAL JOIN`, `CROSS JOIN`, … for the join keys' detail. */
  detail: string;
  /** The USING columns (a NATURAL join's common ones), lower case; undefined when a NATURAL join's are unknown. */
  using?: Set<string>;
  usingKeys: CstNode[];
  natural: boolean;
  on?: CstNode;
  node: CstNode;
}

/** One item of a FROM list: a table, or a parenthesised join that SQLite treats as one subquery. */
interface FromItem {
  tables: FromTable[];
  /** What `*` lists, in order; undefined when some table's columns are unknown. */
  columns?: FromColumn[];
  /** A parenthesised join's alias. */
  alias?: string;
  /** How it joins the items before it. */
  join?: Join;
}

/** A join where it is written, with the items its keys resolve against. */
interface JoinSite {
  join: Join;
  items: FromItem[];
  index: number;
  outer?: Scope;
}

interface Scope {
  items: FromItem[];
  outer?: Scope;
  /** The select's `AS` names: WHERE, GROUP BY, HAVING and ORDER BY fall back to them when no column has the name. */
  aliases: Map<string, Resolved>;
  /** The select's named windows (`WINDOW w AS (…)`). */
  windows: Map<string, CstNode>;
}

interface ColumnRef {
  schema?: string;
  table?: string;
  column: string;
  /** Written in double quotes: SQLite reads it as a string when no column has the name. */
  quoted: boolean;
  range?: [number, number];
}

interface FoundRef {
  ref: ColumnRef;
  /** Empty when it does not resolve (reported in `unresolved`) or is a string after all. */
  values: Resolved[];
  /** The column's name as SQLite reports it when the reference is one plain column. */
  name?: string;
}

interface CteEntry {
  relation: Relation;
  node: CstNode;
  state: 'pending' | 'walking' | 'done';
  /** The CTEs its body sees: the ones around, all of its own WITH clause, itself included (recursion). */
  visible: Map<string, CteEntry>;
}

type Ctes = Map<string, CteEntry>;

/** What a query's columns are named as: `cte.column` for a CTE or subquery, bare names for the final select. */
interface QueryTarget {
  /** Names its columns (`cte.column`); undefined for the final select. */
  relationName?: string;
  kind: 'cte' | 'subquery' | 'final';
  /** The scope of the query around it (a correlated subquery sees its columns). */
  outer?: Scope;
  /** Column names given from outside (`WITH t(a, b) AS …`). */
  names?: string[];
  /** A later part of a compound select: its columns are the first part's. */
  into?: OutputColumn[];
  /** The CTE being walked: a recursive reference to it sees the first part's columns. */
  cte?: CteEntry;
}

interface OutputColumn {
  name: string;
  id: string;
  /** The column a plain column reference selects (ORDER BY that column means this output). */
  plainSource?: string;
  /** The expression's text, normalised (ORDER BY the same expression means this output). */
  text: string;
}

/** `a`, `t.a` or `s.t.a` as a column reference; undefined for anything else. */
function columnRef(node: CstNode): ColumnRef | undefined {
  const quoted = (identifier: CstNode) => String(identifier.text ?? '').startsWith('"');
  if (node.type === 'identifier') return { column: node.name as string, quoted: quoted(node), range: node.range };
  if (
    node.type !== 'member_expr' ||
    !isNode(node.property) ||
    node.property.type !== 'identifier' ||
    !isNode(node.object)
  )
    return undefined;
  const parts: string[] = [];
  let object: CstNode = node.object;
  while (
    object.type === 'member_expr' &&
    isNode(object.property) &&
    object.property.type === 'identifier' &&
    isNode(object.object)
  ) {
    parts.unshift(object.property.name as string);
    object = object.object;
  }
  if (object.type !== 'identifier') return undefined;
  parts.unshift(object.name as string);
  if (parts.length > 2) return undefined;
  return {
    schema: parts.length === 2 ? parts[0] : undefined,
    table: parts[parts.length - 1],
    column: node.property.name as string,
    quoted: false,
    range: node.range,
  };
}

/** The query inside `(SELECT …)`, if that is what the node is. */
function subquery(node: CstNode): CstNode | undefined {
  if (QUERIES.has(node.type)) return node;
  if (node.type === 'paren_expr' && isNode(node.expr)) return subquery(node.expr);
  return undefined;
}

/** The expression inside parentheses (which SQLite does not keep); a subquery stays as it is. */
function unparenthesised(node: CstNode): CstNode {
  let current = node;
  while (current.type === 'paren_expr' && isNode(current.expr) && !subquery(current.expr)) current = current.expr;
  return current;
}

function keywordNames(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value]).filter(isNode).map((keyword) => String(keyword.name).toUpperCase());
}

function isCollate(node: CstNode): boolean {
  return node.type === 'binary_expr' && keywordNames(node.operator).join(' ') === 'COLLATE';
}

function functionName(node: CstNode): string | undefined {
  return node.type === 'func_call' && isNode(node.name) ? lower(String(node.name.name)) : undefined;
}

function functionArgs(node: CstNode): CstNode[] {
  return isNode(node.args) && isNode(node.args.expr) ? listItems(node.args.expr.args) : [];
}

/** A FROM node that is a join (possibly in parentheses), not a table or a subquery. */
function isJoin(node: CstNode): boolean {
  if (node.type === 'join_expr' || node.type === 'list_expr') return true;
  return node.type === 'paren_expr' && isNode(node.expr) && isJoin(node.expr);
}

const normalised = (text: string) => lower(text.replace(/\s+/g, ' ').trim());

/** A name as PostgreSQL reads it: folded to lower case unless written in double quotes. */
function folded(identifier: CstNode): string {
  const name = String(identifier.name);
  return String(identifier.text ?? '').startsWith('"') ? name : lower(name);
}

/** PostgreSQL's names of the types a constant is cast to (`'1'::int` is named `int4`), where they differ. */
const POSTGRES_TYPE_NAMES: Record<string, string> = {
  int: 'int4',
  integer: 'int4',
  smallint: 'int2',
  bigint: 'int8',
  real: 'float4',
  float: 'float8',
  'double precision': 'float8',
  decimal: 'numeric',
  boolean: 'bool',
  'character varying': 'varchar',
  character: 'bpchar',
  char: 'bpchar',
};

/**
 * The name PostgreSQL gives an unaliased select item (FigureColname in its parser): a column's name, a function's,
 * a cast's operand (else its type), `case`, or `?column?`. `subqueryName`: the name of a scalar subquery's column.
 */
function postgresName(node: CstNode, subqueryName: () => string | undefined): string | undefined {
  const plain = unparenthesised(node);
  if (subquery(plain)) return subqueryName();
  if (plain.type === 'identifier') return folded(plain);
  if (plain.type === 'member_expr' && isNode(plain.property)) {
    // `a[1]` is named after `a`; `t.a` and `(row).a` after `a`.
    if (plain.property.type === 'identifier') return folded(plain.property);
    return isNode(plain.object) ? postgresName(plain.object, subqueryName) : undefined;
  }
  if (plain.type === 'func_call' && isNode(plain.name)) {
    const name = plain.name.type === 'member_expr' && isNode(plain.name.property) ? plain.name.property : plain.name;
    return folded(name);
  }
  const castType = (type: unknown): string | undefined => {
    if (!isNode(type)) return undefined;
    if (type.type === 'modified_data_type') return castType(type.dataType);
    const written = lower(
      (type.type === 'data_type_name' ? keywordNames(type.name).join(' ') : '') || String(type.name ?? ''),
    );
    if (type.type === 'identifier' || type.type === 'member_expr') return postgresName(type, () => undefined);
    return POSTGRES_TYPE_NAMES[written] ?? (written || undefined);
  };
  if (plain.type === 'cast_operator_expr' && isNode(plain.left))
    return postgresName(plain.left, subqueryName) ?? castType(plain.right);
  if (plain.type === 'cast_expr' && isNode(plain.args) && isNode(plain.args.expr)) {
    const cast = plain.args.expr;
    return (isNode(cast.expr) ? postgresName(cast.expr, subqueryName) : undefined) ?? castType(cast.dataType);
  }
  const named: Record<string, string> = {
    case_expr: 'case',
    extract_expr: 'extract',
    array_literal_expr: 'array',
    interval_literal: 'interval',
    date_literal: 'date',
    time_literal: 'time',
    timestamp_literal: 'timestamp',
    exists_expr: 'exists',
    row_constructor: 'row',
  };
  return named[plain.type];
}

class LineageBuilder {
  readonly edges: LineageEdge[] = [];
  readonly nodes = new Map<string, LineageNode>();
  readonly relations: LineageRelation[] = [];
  readonly unresolved: UnresolvedReference[] = [];
  private readonly edgeKeys = new Set<string>();
  /** Names of CTEs and subqueries so far, lower case: a second `s` becomes `s (2)` so their columns stay apart. */
  private readonly relationNames = new Set<string>();
  /** A table-valued function's relation: the references in its arguments, which feed every column read from it. */
  private readonly functionInputs = new Map<string, { found: FoundRef[]; detail: string; span?: FileLocation }>();
  private subqueries = 0;

  constructor(
    private readonly sql: string,
    private readonly sourceMap: SourceMap,
    private readonly catalog: Catalog,
    /** Whose rules name the result's columns: SQLite's (sql.js runs the model) or PostgreSQL's (pushdown). */
    private readonly namedBy: SqlDialectName = 'sqlite',
  ) {}

  location(range: [number, number] | undefined): FileLocation | undefined {
    return range ? this.sourceMap.location(range[0], range[1]) : undefined;
  }

  /** The SQL as the user wrote it (after Jinja), for `detail`. */
  text(node: unknown): string {
    return isNode(node) && node.range ? this.sql.slice(node.range[0], node.range[1]) : '';
  }

  addNode(node: LineageNode): void {
    const known = this.nodes.get(node.id);
    if (!known) this.nodes.set(node.id, node);
    else if (!known.span) known.span = node.span;
  }

  addEdge(edge: LineageEdge): void {
    const key = `${edge.from}\u0000${edge.to}\u0000${edge.kind}`;
    if (this.edgeKeys.has(key)) return;
    this.edgeKeys.add(key);
    this.edges.push(edge);
  }

  /** The node of a resolved column, where it is referenced; a table function's column gets its arguments' edges. */
  touch(value: Resolved, range: [number, number] | undefined): void {
    const fresh = !this.nodes.has(value.id);
    this.addNode({
      id: value.id,
      kind: value.kind,
      relation: value.relation,
      column: value.column,
      span: this.location(range),
    });
    const inputs = fresh ? this.functionInputs.get(value.relation) : undefined;
    for (const found of inputs?.found ?? []) {
      for (const input of found.values) {
        this.touch(input, found.ref.range);
        this.addEdge({
          from: input.id,
          to: value.id,
          kind: 'expression',
          detail: inputs!.detail,
          span: inputs!.span,
          refSpan: this.location(found.ref.range),
        });
      }
    }
  }

  uniqueRelationName(name: string): string {
    let candidate = name;
    for (let count = 2; this.relationNames.has(lower(candidate)); count++) candidate = `${name} (${count})`;
    this.relationNames.add(lower(candidate));
    return candidate;
  }

  // ---- name resolution

  private fail(ref: ColumnRef, reason: string): undefined {
    const name = [ref.schema, ref.table, ref.column].filter((part) => part !== undefined).join('.');
    this.unresolved.push({ name, reason, span: this.location(ref.range) });
    return undefined;
  }

  private static valueOf(table: FromTable, column: string): Resolved {
    const relation = table.relation;
    return { id: `${relation.name}.${column}`, relation: relation.name, column, kind: relation.kind };
  }

  /** The column an item offers under `name`: its own, or a source table's row id. */
  private static columnOfItem(item: FromItem, name: string): FromColumn | undefined {
    const found = item.columns?.find((column) => lower(column.name) === lower(name));
    if (found || !item.columns || !ROWID.test(name) || item.tables.length !== 1) return found;
    const [table] = item.tables;
    if (table.relation.kind !== 'source') return undefined;
    return { name: 'rowid', table, column: 'rowid', values: [LineageBuilder.valueOf(table, 'rowid')] };
  }

  /**
   * Items offering an unqualified name, as SQLite picks among them: a USING column is the left table's in an INNER
   * or LEFT join, the right table's in a RIGHT join, and both (coalesced) in a FULL join.
   */
  private static offering(
    items: FromItem[],
    name: string,
  ): { found: FromColumn[]; ambiguous: boolean; unknown: FromItem[] } {
    let found: FromColumn[] = [];
    let ambiguous = false;
    const unknown: FromItem[] = [];
    items.forEach((item, index) => {
      if (!item.columns) {
        unknown.push(item);
        return;
      }
      const column = LineageBuilder.columnOfItem(item, name);
      if (!column) return;
      if (found.length > 0 && index > 0 && item.join?.using?.has(lower(name))) {
        if (item.join.type === 'right') found = [column];
        else if (item.join.type === 'full') found.push(column);
        return;
      }
      if (found.length > 0) ambiguous = true;
      found.push(column);
    });
    return { found, ambiguous, unknown };
  }

  resolve(scope: Scope, ref: ColumnRef, useAliases: boolean): Omit<FoundRef, 'ref'> | undefined {
    if (ref.table) return this.resolveQualified(scope, ref);
    for (let current: Scope | undefined = scope; current; current = current.outer) {
      const { found, ambiguous, unknown } = LineageBuilder.offering(current.items, ref.column);
      if (ambiguous) {
        const names = [...new Set(found.map((column) => column.table.relation.name))];
        return this.fail(ref, `ambiguous: ${names.join(' and ')} both have ${ref.column}`);
      }
      if (found.length > 0 && unknown.length === 0)
        return {
          values: found.flatMap((column) => column.values),
          name: found.length === 1 ? found[0].name : undefined,
        };
      if (found.length === 0 && unknown.length === 1 && current.items.length === 1 && unknown[0].tables.length === 1)
        return { values: [LineageBuilder.valueOf(unknown[0].tables[0], ref.column)], name: ref.column };
      if (unknown.length > 0) {
        const names = unknown.flatMap((item) =>
          item.tables.filter((table) => !table.relation.columns).map((table) => table.relation.name),
        );
        return this.fail(
          ref,
          `the columns of ${names.join(', ')} are unknown, so ${ref.column} could be in ${names.length > 1 ? 'any of them' : 'it'}`,
        );
      }
      const alias = current === scope && useAliases ? current.aliases.get(lower(ref.column)) : undefined;
      if (alias) return { values: [alias] };
    }
    // SQLite reads a double-quoted name that is no column as a string.
    if (ref.quoted) return { values: [] };
    return this.fail(ref, `no table in scope has a column ${ref.column}`);
  }

  private resolveQualified(scope: Scope, ref: ColumnRef): Omit<FoundRef, 'ref'> | undefined {
    const qualifier = lower(ref.table!);
    for (let current: Scope | undefined = scope; current; current = current.outer) {
      for (const item of current.items) {
        if (!ref.schema && item.alias !== undefined && lower(item.alias) === qualifier) {
          if (!item.columns)
            return this.fail(ref, `the columns of ${item.alias} are unknown, so ${ref.column} cannot be placed`);
          const column = LineageBuilder.columnOfItem(item, ref.column);
          if (!column) return this.fail(ref, `${item.alias} has no column ${ref.column}`);
          return { values: column.values, name: column.name };
        }
        for (const table of item.tables) {
          const matches = ref.schema
            ? !table.aliased &&
              lower(table.qualifier) === qualifier &&
              (table.schema === undefined || lower(table.schema) === lower(ref.schema))
            : lower(table.qualifier) === qualifier;
          if (matches) return this.columnOfTable(item, table, ref);
        }
      }
    }
    return this.fail(ref, `no table or alias ${ref.schema ? `${ref.schema}.` : ''}${ref.table} in scope`);
  }

  private columnOfTable(item: FromItem, table: FromTable, ref: ColumnRef): Omit<FoundRef, 'ref'> | undefined {
    const columns = table.relation.columns;
    if (!columns) return { values: [LineageBuilder.valueOf(table, ref.column)], name: ref.column };
    const column = columns.find((candidate) => lower(candidate) === lower(ref.column));
    if (!column) {
      if (ROWID.test(ref.column) && table.relation.kind === 'source')
        return { values: [LineageBuilder.valueOf(table, 'rowid')], name: 'rowid' };
      return this.fail(ref, `${table.relation.name} has no column ${ref.column}`);
    }
    // Inside a parenthesised join the column may go by `name:N`.
    const offered = item.columns?.find((candidate) => candidate.table === table && candidate.column === column);
    return { values: [LineageBuilder.valueOf(table, column)], name: offered?.name ?? column };
  }

  /**
   * Column references in an expression. Nested queries are walked in their own scope and feed the expression
   * through their outputs (e.g. `x IN (SELECT y …)`). `useAliases`: a name no column has may be a result alias.
   */
  columnRefs(node: unknown, scope: Scope, ctes: Ctes, useAliases: boolean, out: FoundRef[] = []): FoundRef[] {
    if (Array.isArray(node)) {
      for (const item of node) this.columnRefs(item, scope, ctes, useAliases, out);
      return out;
    }
    if (!isNode(node) || node.type === 'keyword' || node.type.endsWith('_literal') || node.type.startsWith('data_type'))
      return out;
    const ref = columnRef(node);
    if (ref) {
      const resolved = this.resolve(scope, ref, useAliases);
      out.push({ ref, values: resolved?.values ?? [], name: resolved?.name });
      return out;
    }
    const query = subquery(node);
    if (query) {
      const name = this.uniqueRelationName(`(subquery ${++this.subqueries})`);
      const nested = this.walkQuery(query, ctes, { relationName: name, kind: 'subquery', outer: scope });
      for (const output of nested.outputs)
        out.push({
          ref: { column: output.name, quoted: false },
          values: [{ id: output.id, relation: name, column: output.name, kind: 'subquery' }],
        });
      return out;
    }
    // `x COLLATE nocase`: the collation is a name, not a column.
    if (isCollate(node)) return this.columnRefs(node.left, scope, ctes, useAliases, out);
    // `x IN table`: the table is no column.
    if (node.type === 'binary_expr' && keywordNames(node.operator).includes('IN') && isNode(node.right)) {
      this.columnRefs(node.left, scope, ctes, useAliases, out);
      if (!columnRef(node.right)) this.columnRefs(node.right, scope, ctes, useAliases, out);
      return out;
    }
    if (node.type === 'over_arg' && isNode(node.window) && node.window.type === 'identifier')
      return this.columnRefs(this.namedWindow(scope, node.window), scope, ctes, useAliases, out);
    if (node.type === 'window_definition' && isNode(node.baseWindowName))
      this.columnRefs(this.namedWindow(scope, node.baseWindowName), scope, ctes, useAliases, out);
    for (const [key, child] of Object.entries(node)) {
      // A function's name, an alias, a type and a window's name are names, not columns.
      if (
        key === 'range' ||
        (node.type === 'func_call' && key === 'name') ||
        key === 'alias' ||
        key === 'dataType' ||
        key === 'baseWindowName' ||
        // `x::date`: PostgreSQL's type after `::` is a name (sometimes parsed as an identifier), not a column.
        (node.type === 'cast_operator_expr' && key === 'right')
      )
        continue;
      this.columnRefs(child, scope, ctes, useAliases, out);
    }
    return out;
  }

  private namedWindow(scope: Scope, name: CstNode): CstNode | undefined {
    for (let current: Scope | undefined = scope; current; current = current.outer) {
      const window = current.windows.get(lower(String(name.name)));
      if (window) return window;
    }
    return undefined;
  }

  // ---- classification of a select item

  classify(
    expression: CstNode,
    outputName: string,
    found: FoundRef[],
  ): { kind: ValueKind; detail?: string; case?: CaseDetail } {
    const plain = unparenthesised(expression);
    const ref = columnRef(plain);
    if (ref) {
      const values = found[0]?.values ?? [];
      // A FULL JOIN's USING column is the first of its sides that is not null.
      if (values.length > 1) return { kind: 'expression', detail: this.text(expression) };
      return sameName(values[0]?.column ?? ref.column, outputName)
        ? { kind: 'passthrough' }
        : { kind: 'rename', detail: `${ref.column} AS ${outputName}` };
    }
    if (plain.type === 'case_expr') {
      const detail: CaseDetail = { whens: [] };
      if (isNode(plain.expr)) detail.operand = this.text(plain.expr);
      for (const item of plain.clauses as CstNode[]) {
        if (item.type === 'case_when') {
          this.caseLiterals(item.condition, detail.whens.length, (detail.literals ??= []));
          detail.whens.push({
            when: this.text(item.condition),
            then: this.text(item.result),
            span: this.location(item.range),
          });
        } else if (item.type === 'case_else') detail.else = this.text(item.result);
      }
      return { kind: 'case', detail: this.text(expression), case: detail };
    }
    return { kind: this.hasAggregate(expression) ? 'aggregate' : 'expression', detail: this.text(expression) };
  }

  /** The numbers in a WHEN's condition (`-5` with its sign), with their spans: the thresholds a what-if changes. */
  private caseLiterals(node: unknown, when: number, into: CaseLiteral[]): void {
    if (Array.isArray(node)) {
      for (const item of node) this.caseLiterals(item, when, into);
      return;
    }
    if (!isNode(node) || subquery(node)) return;
    const negated = node.type === 'prefix_op_expr' && node.operator === '-' && isNode(node.expr);
    const number = negated ? (node.expr as CstNode) : node;
    if (number.type === 'number_literal' && node.range) {
      const [start, end] = node.range;
      const text = this.sql.slice(start, end);
      const value = Number(this.sql.slice(number.range![0], number.range![1])) * (negated ? -1 : 1);
      if (!Number.isFinite(value)) return;
      into.push({
        when,
        text,
        value,
        offset: start,
        length: end - start,
        location: this.location(node.range),
        ...(this.sourceMap.verbatim(start, end) ? {} : { template: this.sourceMap.originalText(start, end) }),
      });
      return;
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'range') this.caseLiterals(value, when, into);
  }

  hasAggregate(node: unknown): boolean {
    if (Array.isArray(node)) return node.some((item) => this.hasAggregate(item));
    if (!isNode(node) || subquery(node)) return false;
    if (node.type === 'func_call' && !node.over && AGGREGATES.has(functionName(node) ?? '')) {
      // min(a, b) and max(a, b) with two arguments are SQLite's scalar functions.
      if (!/^(min|max)$/.test(functionName(node)!) || functionArgs(node).length === 1) return true;
    }
    return Object.entries(node).some(([key, value]) => key !== 'range' && this.hasAggregate(value));
  }

  /**
   * The name SQLite gives an unaliased select item. In the final select a column is named as its table declares
   * it; in a subquery or CTE, as the reference writes it (looking through COLLATE); anything else by
   * its text.
   */
  private naturalName(expression: CstNode, found: FoundRef[], inRelation: boolean): string {
    if (this.namedBy === 'postgresql')
      return postgresName(expression, () => (found.length === 1 ? found[0].ref.column : undefined)) ?? '?column?';
    let plain = unparenthesised(expression);
    if (inRelation) {
      while (isCollate(plain) && isNode(plain.left)) plain = unparenthesised(plain.left);
      return columnRef(plain)?.column ?? this.text(expression);
    }
    const ref = columnRef(plain);
    if (!ref) return this.text(expression);
    return (found[0]?.values.length === 1 ? found[0].name : undefined) ?? ref.column;
  }

  /** An `AS` name as the result names it: PostgreSQL folds one written without quotes to lower case. */
  private aliasName(alias: CstNode): string {
    return this.namedBy === 'postgresql' ? folded(alias) : String(alias.name);
  }

  // ---- FROM and JOIN

  private tableItem(
    node: CstNode,
    alias: string | undefined,
    ctes: Ctes,
    range?: [number, number],
  ): FromItem | undefined {
    const ref = columnRef(node);
    if (!ref) {
      this.unresolved.push({
        name: this.text(node),
        reason: 'this FROM item is not a table, a CTE, a subquery or a join, so its columns are unknown',
        span: this.location(node.range),
      });
      return undefined;
    }
    // `schema.table` parses as a column `table` of `schema`.
    const schema = ref.table;
    const tableName = ref.column;
    const written = schema ? `${schema}.${tableName}` : tableName;
    const cte = !schema ? ctes.get(lower(tableName)) : undefined;
    let relation: Relation;
    if (cte) {
      // A CTE defined later in the same WITH clause is walked when first met.
      this.walkCte(cte);
      relation = cte.relation;
    } else {
      if (!this.relations.some((known) => known.name === written))
        this.relations.push({ name: written, kind: 'source', span: this.location(range) });
      this.relationNames.add(lower(written));
      relation = { name: written, kind: 'source', columns: this.catalog(written) };
      if (!relation.columns)
        this.unresolved.push({
          name: written,
          reason: `the columns of ${written} are unknown (no such table in the data)`,
          span: this.location(range),
        });
    }
    return LineageBuilder.singleItem({
      relation,
      qualifier: alias ?? tableName,
      schema: alias ? undefined : schema,
      aliased: alias !== undefined,
    });
  }

  private static singleItem(table: FromTable): FromItem {
    return {
      tables: [table],
      columns: table.relation.columns?.map((column) => ({
        name: column,
        table,
        column,
        values: [LineageBuilder.valueOf(table, column)],
      })),
    };
  }

  /** `json_each(x)`: its columns come from its arguments. */
  private functionItem(node: CstNode, alias: string | undefined, scope: Scope, ctes: Ctes): FromItem {
    const functionText = functionName(node) ?? 'function';
    const name = this.uniqueRelationName(alias ?? functionText);
    const known = JSON_TABLE_FUNCTIONS.has(functionText);
    if (!known)
      this.unresolved.push({
        name: this.text(node),
        reason: `the columns of the table-valued function ${functionText} are unknown`,
        span: this.location(node.range),
      });
    this.functionInputs.set(name, {
      found: this.columnRefs(functionArgs(node), scope, ctes, false),
      detail: this.text(node),
      span: this.location(node.range),
    });
    const relation: Relation = { name, kind: 'subquery', columns: known ? JSON_TABLE_COLUMNS : undefined };
    return LineageBuilder.singleItem({ relation, qualifier: alias ?? functionText, aliased: alias !== undefined });
  }

  /** One FROM item: a table, CTE, subquery, table-valued function, or a parenthesised join. */
  private fromItem(node: CstNode, scope: Scope, ctes: Ctes, joins: JoinSite[]): FromItem | undefined {
    // `t INDEXED BY i`, `t NOT INDEXED`: hints about the table, not another one.
    if ((node.type === 'indexed_table' || node.type === 'not_indexed_table') && isNode(node.table))
      return this.fromItem(node.table, scope, ctes, joins);
    const alias = node.type === 'alias' && isNode(node.alias) ? String(node.alias.name) : undefined;
    let target = node.type === 'alias' && isNode(node.expr) ? node.expr : node;
    if (target.type === 'indexed_table' && isNode(target.table)) target = target.table;
    // PostgreSQL's `LATERAL (SELECT …)` sees the FROM items before it.
    const lateral = target.type === 'lateral_derived_table' && isNode(target.expr);
    const query = subquery(lateral ? (target.expr as CstNode) : target);
    if (query) {
      const name = this.uniqueRelationName(alias ?? `(subquery ${++this.subqueries})`);
      const nested = this.walkQuery(query, ctes, {
        relationName: name,
        kind: 'subquery',
        outer: lateral ? scope : scope.outer,
      });
      const relation: Relation = { name, kind: 'subquery', columns: nested.outputs.map((output) => output.name) };
      return LineageBuilder.singleItem({ relation, qualifier: alias ?? '', aliased: alias !== undefined });
    }
    if (target.type === 'paren_expr' && isNode(target.expr)) {
      if (isJoin(target.expr)) return this.groupItem(target.expr, alias, scope, ctes, joins);
      const inner = this.fromItem(target.expr, scope, ctes, joins);
      if (!inner || alias === undefined || inner.tables.length !== 1) return inner;
      return LineageBuilder.singleItem({ ...inner.tables[0], qualifier: alias, schema: undefined, aliased: true });
    }
    if (target.type === 'func_call') return this.functionItem(target, alias, scope, ctes);
    return this.tableItem(target, alias, ctes, node.range);
  }

  /** `(a JOIN b …)` after the first place, or with an alias: SQLite makes it a subquery, naming its columns apart. */
  private groupItem(node: CstNode, alias: string | undefined, scope: Scope, ctes: Ctes, joins: JoinSite[]): FromItem {
    const items: FromItem[] = [];
    this.flattenFrom(node, items, scope, ctes, joins);
    const expanded = LineageBuilder.expandStar(items);
    const taken = new Set<string>();
    return {
      tables: items.flatMap((item) => item.tables),
      columns: expanded?.map((column) => ({ ...column, name: distinctName(column.name, taken) })),
      alias,
    };
  }

  /** Adds the items of a FROM clause (a table, or joins of them) to `items`, joins flattened as SQLite does. */
  private flattenFrom(node: CstNode, items: FromItem[], scope: Scope, ctes: Ctes, joins: JoinSite[]): void {
    if (node.type === 'join_expr' && isNode(node.left) && isNode(node.right)) {
      this.flattenFrom(node.left, items, scope, ctes, joins);
      const right = this.fromItem(node.right, scope, ctes, joins);
      if (!right) return;
      right.join = this.joinOf(node, items, right);
      joins.push({ join: right.join, items, index: items.length, outer: scope.outer });
      items.push(right);
      return;
    }
    if (node.type === 'list_expr') {
      for (const part of node.items as CstNode[]) {
        const before = items.length;
        this.flattenFrom(part, items, scope, ctes, joins);
        if (before > 0 && items[before] && !items[before].join)
          items[before].join = { type: 'inner', detail: 'CROSS JOIN', usingKeys: [], natural: false, node: part };
      }
      return;
    }
    // `FROM (a JOIN b) JOIN c`: a parenthesised join in the first place, without alias, is no subquery to SQLite.
    if (node.type === 'paren_expr' && isNode(node.expr) && items.length === 0 && isJoin(node.expr)) {
      this.flattenFrom(node.expr, items, scope, ctes, joins);
      return;
    }
    const item = this.fromItem(node, scope, ctes, joins);
    if (item) items.push(item);
  }

  private joinOf(node: CstNode, left: FromItem[], right: FromItem): Join {
    const words = keywordNames(node.operator);
    const operator = node.operator === ',' ? ',' : words.join(' ');
    const detail = operator === 'JOIN' ? 'INNER JOIN' : operator === ',' ? 'CROSS JOIN' : operator;
    const type: JoinType = words.includes('FULL')
      ? 'full'
      : words.includes('RIGHT')
        ? 'right'
        : words.includes('LEFT')
          ? 'left'
          : 'inner';
    const natural = words.includes('NATURAL');
    const specification = isNode(node.specification) ? node.specification : undefined;
    const join: Join = { type, detail, natural, usingKeys: [], node };
    if (specification?.type === 'join_on_specification' && isNode(specification.expr)) join.on = specification.expr;
    if (specification?.type === 'join_using_specification' && isNode(specification.expr)) {
      const inner = isNode(specification.expr.expr) ? specification.expr.expr : specification.expr;
      join.usingKeys = listItems(inner);
      join.using = new Set(join.usingKeys.map((key) => lower(String(key.name))));
    }
    if (natural) {
      // The columns the right side shares with any table before it.
      const unknown = [right, ...left].filter((item) => !item.columns);
      if (unknown.length === 0) {
        const before = new Set(left.flatMap((item) => item.columns!.map((column) => lower(column.name))));
        join.using = new Set(right.columns!.map((column) => lower(column.name)).filter((name) => before.has(name)));
      } else
        this.unresolved.push({
          name: this.text(node),
          reason: `the columns of ${unknown
            .flatMap((item) => item.tables.map((table) => table.relation.name))
            .join(', ')} are unknown, so what the NATURAL JOIN joins on is unknown`,
          span: this.location(node.range),
        });
    }
    return join;
  }

  /**
   * What `*` lists over some FROM items, as SQLite expands it: every column, but a USING (or NATURAL) column only
   * from its left side; when a RIGHT or FULL join follows, such a column is the joined one. Undefined when some
   * item's columns are unknown.
   */
  private static expandStar(items: FromItem[]): FromColumn[] | undefined {
    if (items.some((item) => !item.columns)) return undefined;
    const columns: FromColumn[] = [];
    items.forEach((item, index) => {
      const later = items.slice(index + 1);
      const rightJoinLater = later.some((next) => next.join?.type === 'right' || next.join?.type === 'full');
      for (const column of item.columns!) {
        if (index > 0 && item.join?.using?.has(lower(column.name))) continue;
        const joined = rightJoinLater && later.some((next) => next.join?.using?.has(lower(column.name)));
        columns.push(
          joined
            ? {
                ...column,
                values: LineageBuilder.offering(items, column.name).found.flatMap((found) => found.values),
              }
            : column,
        );
      }
    });
    return columns;
  }

  /** The columns `*` or `table.*` stands for; reports what cannot be expanded. */
  private starColumns(scope: Scope, qualifier: string | undefined, span: FileLocation | undefined): FromColumn[] {
    const cannot = (name: string, relation: string) =>
      this.unresolved.push({ name, reason: `cannot expand * without the columns of ${relation}`, span });
    if (qualifier === undefined) {
      const all = LineageBuilder.expandStar(scope.items);
      if (all) return all;
      for (const item of scope.items)
        for (const table of item.tables) if (!table.relation.columns) cannot('*', table.relation.name);
      return [];
    }
    for (const item of scope.items) {
      if (item.alias !== undefined && lower(item.alias) === lower(qualifier)) {
        if (!item.columns) cannot(`${qualifier}.*`, item.alias);
        return item.columns ?? [];
      }
      const table = item.tables.find((candidate) => lower(candidate.qualifier) === lower(qualifier));
      if (!table) continue;
      if (item.columns) return item.columns.filter((column) => column.table === table);
      if (table.relation.columns) return LineageBuilder.singleItem(table).columns!;
      cannot(`${qualifier}.*`, table.relation.name);
      return [];
    }
    this.unresolved.push({ name: `${qualifier}.*`, reason: `no table or alias ${qualifier} in scope`, span });
    return [];
  }

  // ---- queries

  /** Defines a WITH clause's CTEs (each sees all of them, itself too) and walks them in order. */
  private withCtes(withClause: CstNode | undefined, ctes: Ctes): Ctes {
    if (!withClause) return ctes;
    const visible: Ctes = new Map(ctes);
    const entries: CteEntry[] = [];
    for (const cte of listItems(withClause.tables)) {
      const table = cte.table as CstNode;
      const columnNames =
        isNode(cte.columns) && isNode(cte.columns.expr)
          ? listItems(cte.columns.expr).map((column) => column.name as string)
          : undefined;
      const name = this.uniqueRelationName(table.name as string);
      this.relations.push({ name, kind: 'cte', span: this.location(table.range) });
      const entry: CteEntry = {
        relation: { name, kind: 'cte', columns: columnNames },
        node: cte,
        state: 'pending',
        visible,
      };
      visible.set(lower(table.name as string), entry);
      entries.push(entry);
    }
    for (const entry of entries) this.walkCte(entry);
    return visible;
  }

  private walkCte(entry: CteEntry): void {
    if (entry.state !== 'pending') return;
    entry.state = 'walking';
    const query = isNode(entry.node.expr) ? subquery(entry.node.expr) : undefined;
    const walked = query
      ? this.walkQuery(query, entry.visible, {
          relationName: entry.relation.name,
          kind: 'cte',
          names: entry.relation.columns,
          cte: entry,
        })
      : { outputs: [] };
    entry.relation.columns = walked.outputs.map((output) => output.name);
    entry.state = 'done';
  }

  /** Walks a query: its CTEs (seen by every part of a compound select), then its select or selects. */
  walkQuery(node: CstNode, ctes: Ctes, target: QueryTarget): { outputs: OutputColumn[] } {
    const leading = leadingSelect(node);
    const visible = this.withCtes(leading && clause(leading, 'with_clause'), ctes);
    return this.walkParts(node, visible, target, leading);
  }

  /** A compound select's parts name their columns after the first's; each part sees the same CTEs. */
  private walkParts(
    node: CstNode,
    ctes: Ctes,
    target: QueryTarget,
    leading: CstNode | undefined,
  ): { outputs: OutputColumn[] } {
    if (node.type === 'compound_select_stmt' && isNode(node.left) && isNode(node.right)) {
      const left = this.walkParts(node.left, ctes, target, leading);
      // A recursive CTE's later parts read it with the first part's columns.
      if (target.cte && !target.cte.relation.columns)
        target.cte.relation.columns = left.outputs.map((output) => output.name);
      this.walkParts(node.right, ctes, { ...target, names: undefined, into: left.outputs }, leading);
      return left;
    }
    if (node.type !== 'select_stmt') {
      const query = subquery(node);
      return query ? this.walkQuery(query, ctes, target) : { outputs: [] };
    }
    const own = node !== leading ? clause(node, 'with_clause') : undefined;
    return this.walkSelect(node, this.withCtes(own, ctes), target);
  }

  private walkSelect(select: CstNode, ctes: Ctes, target: QueryTarget): { outputs: OutputColumn[] } {
    const { relationName, kind, outer, names, into } = target;
    const windows = new Map<string, CstNode>();
    for (const named of listItems(clause(select, 'window_clause')?.namedWindows))
      if (isNode(named.name) && isNode(named.window)) windows.set(lower(String(named.name.name)), named.window);
    const scope: Scope = { items: [], outer, aliases: new Map(), windows };
    const joins: JoinSite[] = [];
    const from = clause(select, 'from_clause');
    if (isNode(from?.expr)) this.flattenFrom(from.expr, scope.items, scope, ctes, joins);

    const label = relationName ?? FINAL_SELECT;
    const nodeKind: LineageNode['kind'] = kind === 'final' ? 'output' : kind;
    const outputs: OutputColumn[] = [];
    const takenNames = new Set<string>();
    const takenIds = new Set<string>();
    const addOutput = (natural: string, span: FileLocation | undefined, text: string, plainSource?: string) => {
      let output: OutputColumn | undefined = into?.[outputs.length];
      if (!output) {
        const given = names?.[outputs.length];
        // A subquery's or CTE's columns get distinct names; the final select's keep SQLite's, ids kept apart.
        const name = given ?? (relationName ? distinctName(natural, takenNames) : natural);
        const id = relationName ? `${relationName}.${name}` : distinctName(name, takenIds);
        output = { name, id, text, plainSource };
      }
      outputs.push(output);
      this.addNode({ id: output.id, kind: nodeKind, relation: label, column: output.name, span });
      return output;
    };
    const valueEdges = (
      found: FoundRef[],
      output: OutputColumn,
      step: { kind: ValueKind; detail?: string; case?: CaseDetail },
      span: FileLocation | undefined,
    ) => {
      for (const { ref, values } of found) {
        for (const value of values) {
          this.touch(value, ref.range);
          this.addEdge({
            from: value.id,
            to: output.id,
            kind: step.kind,
            detail: step.detail,
            case: step.case,
            span,
            refSpan: this.location(ref.range),
          });
        }
      }
    };

    const values = clause(select, 'values_clause');
    if (values) this.walkValues(values, scope, ctes, addOutput, valueEdges);

    for (const item of listItems(clause(select, 'select_clause')?.columns)) {
      const span = this.location(item.range);
      const star =
        item.type === 'all_columns'
          ? { table: undefined }
          : item.type === 'member_expr' && isNode(item.property) && item.property.type === 'all_columns'
            ? { table: isNode(item.object) ? (item.object.name as string) : undefined }
            : undefined;
      if (star) {
        for (const column of this.starColumns(scope, star.table, span)) {
          const plain = column.values.length === 1 ? column.values[0].id : undefined;
          const output = addOutput(column.name, span, normalised(column.name), plain);
          const step: { kind: ValueKind; detail?: string } =
            column.values.length > 1
              ? { kind: 'expression', detail: column.name }
              : { kind: sameName(output.name, column.column) ? 'passthrough' : 'rename' };
          for (const value of column.values) {
            this.addNode({ id: value.id, kind: value.kind, relation: value.relation, column: value.column, span });
            this.addEdge({ from: value.id, to: output.id, ...step, span, refSpan: span });
          }
        }
        continue;
      }
      const aliased = item.type === 'alias' && isNode(item.alias) && isNode(item.expr);
      const expression = aliased ? (item.expr as CstNode) : item;
      const found = this.columnRefs(expression, scope, ctes, false);
      const alias = aliased ? this.aliasName(item.alias as CstNode) : undefined;
      const plainRef = columnRef(unparenthesised(expression)) && found[0]?.values.length === 1;
      const output = addOutput(
        alias ?? this.naturalName(expression, found, relationName !== undefined),
        span,
        normalised(this.text(expression)),
        plainRef ? found[0].values[0].id : undefined,
      );
      if (alias && !scope.aliases.has(lower(alias)))
        scope.aliases.set(lower(alias), { id: output.id, relation: label, column: output.name, kind: nodeKind });
      valueEdges(found, output, this.classify(expression, output.name, found), this.location(expression.range));
    }

    const rowEdge = (
      from: string,
      edgeKind: RowKind,
      range: [number, number] | undefined,
      refRange?: typeof range,
      detail?: string,
    ) =>
      this.addEdge({
        from,
        to: label,
        kind: edgeKind,
        detail,
        span: this.location(range),
        refSpan: refRange && this.location(refRange),
      });
    const refEdges = (found: FoundRef[], edgeKind: RowKind, detail?: string) => {
      for (const { ref, values: refValues } of found) {
        for (const value of refValues) {
          this.touch(value, ref.range);
          this.addEdge({
            from: value.id,
            to: label,
            kind: edgeKind,
            detail,
            span: this.location(ref.range),
            refSpan: this.location(ref.range),
          });
        }
      }
    };
    /** GROUP BY and ORDER BY terms: `2` names the second output, ORDER BY an alias or a selected expression that output. */
    /** `details`: each ORDER BY term's whole sort specification (`avg_ltv DESC`), for the direction. */
    const termEdges = (terms: CstNode[], edgeKind: 'group_key' | 'order_key', details: string[] = []) => {
      for (const [index, term] of terms.entries()) {
        const detail = details[index];
        const plain = unparenthesised(term);
        if (plain.type === 'number_literal') {
          const output = outputs[Number(plain.value) - 1];
          if (output) rowEdge(output.id, edgeKind, term.range, undefined, detail);
          continue;
        }
        const ref = columnRef(plain);
        if (edgeKind === 'order_key' && ref && !ref.table) {
          const byName = into
            ? outputs.find((output) => lower(output.name) === lower(ref.column))
            : scope.aliases.get(lower(ref.column));
          if (byName) {
            rowEdge(byName.id, edgeKind, term.range, term.range, detail);
            continue;
          }
        }
        const found = this.columnRefs(term, scope, ctes, true);
        if (edgeKind === 'order_key') {
          const single = ref && found[0]?.values.length === 1 ? found[0].values[0].id : undefined;
          const same = outputs.find((output) =>
            single ? output.plainSource === single : output.text === normalised(this.text(term)),
          );
          if (same) {
            rowEdge(same.id, edgeKind, term.range, term.range, detail);
            continue;
          }
        }
        refEdges(found, edgeKind, detail);
      }
    };

    for (const site of joins) this.joinEdges(site, label, scope.windows, ctes);
    const where = clause(select, 'where_clause');
    if (isNode(where?.expr)) refEdges(this.columnRefs(where.expr, scope, ctes, true), 'filter');
    termEdges(listItems(clause(select, 'group_by_clause')?.columns), 'group_key');
    // PostgreSQL's `DISTINCT ON (a, b)` keeps one row per key, as a GROUP BY would.
    const distinctOn = (clause(select, 'select_clause')?.modifiers as CstNode[] | undefined)?.find(
      (modifier) => modifier.type === 'select_distinct_on',
    );
    if (isNode(distinctOn?.columns)) {
      const terms = listItems(isNode(distinctOn.columns.expr) ? distinctOn.columns.expr : distinctOn.columns);
      termEdges(
        terms,
        'group_key',
        terms.map(() => 'DISTINCT ON'),
      );
    }
    const having = clause(select, 'having_clause');
    if (isNode(having?.expr)) refEdges(this.columnRefs(having.expr, scope, ctes, true), 'filter');
    const sorts = listItems(clause(select, 'order_by_clause')?.specifications);
    termEdges(
      sorts.map((specification) =>
        specification.type === 'sort_specification' ? (specification.expr as CstNode) : specification,
      ),
      'order_key',
      sorts.map((specification) => this.text(specification)),
    );
    return { outputs };
  }

  /** `VALUES (…), (…)`: columns `column1`, `column2`, …, fed by whatever the values reference (usually nothing). */
  private walkValues(
    values: CstNode,
    scope: Scope,
    ctes: Ctes,
    addOutput: (natural: string, span: FileLocation | undefined, text: string) => OutputColumn,
    valueEdges: (
      found: FoundRef[],
      output: OutputColumn,
      step: { kind: ValueKind; detail?: string; case?: CaseDetail },
      span: FileLocation | undefined,
    ) => void,
  ): void {
    const rows = listItems(values.values).map((row) =>
      row.type === 'paren_expr' && isNode(row.expr) ? listItems(row.expr) : [row],
    );
    const outputs = (rows[0] ?? []).map((first, index) =>
      addOutput(`column${index + 1}`, this.location(first.range), `column${index + 1}`),
    );
    for (const row of rows) {
      row.forEach((value, index) => {
        const output = outputs[index];
        if (!output) return;
        const found = this.columnRefs(value, scope, ctes, false);
        if (found.length > 0)
          valueEdges(found, output, this.classify(value, output.name, found), this.location(value.range));
      });
    }
  }

  /** A join's keys: the columns of its ON condition, or both sides of each USING (or NATURAL) column. */
  private joinEdges(site: JoinSite, label: string, windows: Map<string, CstNode>, ctes: Ctes): void {
    const { join, items, index } = site;
    const edge = (value: Resolved, range: [number, number] | undefined, detail: string) => {
      this.touch(value, range);
      this.addEdge({
        from: value.id,
        to: label,
        kind: 'join_key',
        detail,
        span: this.location(range),
        refSpan: this.location(range),
      });
    };
    if (join.on) {
      const scope: Scope = { items, outer: site.outer, aliases: new Map(), windows };
      for (const { ref, values } of this.columnRefs(join.on, scope, ctes, false))
        for (const value of values) edge(value, ref.range, join.detail);
    }
    const keys = join.natural
      ? [...(join.using ?? [])].map((name) => ({
          name,
          range: (isNode(join.node.right) ? join.node.right : join.node).range,
        }))
      : join.usingKeys.map((key) => ({ name: String(key.name), range: key.range }));
    for (const key of keys) {
      const left = LineageBuilder.offering(items.slice(0, index), key.name).found.flatMap((column) => column.values);
      const right = LineageBuilder.columnOfItem(items[index], key.name)?.values ?? [];
      for (const value of [...left, ...right])
        edge(value, key.range, join.natural ? join.detail : `${join.detail} USING`);
    }
  }
}

/**
 * Builds the lineage of a rendered model (parsing it, unless given the parse). Throws a LensError pointing into the
 * user's file when the SQL cannot be parsed or is not a query.
 */
export function buildLineage(input: {
  sql: string;
  sourceMap: SourceMap;
  catalog: Catalog;
  parsed?: ParsedSql;
  /** The dialect to parse in (unless given the parse): PostgreSQL's for a model whose data is on a server. */
  dialect?: SqlDialectName;
  /** Whose rules name the result's columns: SQLite's (the default), or PostgreSQL's when the model runs there. */
  namedBy?: SqlDialectName;
}): Lineage {
  const parsed = input.parsed ?? parseSql(input.sql, input.dialect);
  if (!parsed.ok) {
    throw new LensError({
      code: 'sql-syntax',
      message: `Cannot parse the model for lineage: ${parsed.message}`,
      hint: 'Fix the SQL at this position.',
      location: input.sourceMap.location(parsed.offset),
    });
  }
  const [statement] = statements(parsed.program);
  if (!statement || !QUERIES.has(statement.type)) {
    throw new LensError({
      code: 'sql',
      message: 'The model is not a SELECT, so it has no column lineage.',
      hint: 'A model is one SELECT statement.',
      location: input.sourceMap.location(statement?.range?.[0] ?? 0),
    });
  }
  const builder = new LineageBuilder(input.sql, input.sourceMap, input.catalog, input.namedBy);
  const { outputs } = builder.walkQuery(statement, new Map(), { kind: 'final' });
  builder.relations.push({ name: FINAL_SELECT, kind: 'final' });

  const graph = new LineageGraph({ nodes: [...builder.nodes.values()], edges: builder.edges });
  const columns = outputs.map((output) => {
    const { sources, kinds } = upstream(graph, output.id);
    return { name: output.name, sources, kinds, span: graph.node(output.id)?.span };
  });

  // A column is used when its value reaches an output, or it shapes rows; anything upstream of those is used too.
  const rowShapers = builder.edges.filter((edge) => !VALUE_KINDS.has(edge.kind)).map((edge) => edge.from);
  const used = upstream(graph, [...outputs.map((output) => output.id), ...rowShapers]).reached;
  const unused = [...builder.nodes.values()]
    .filter((node) => (node.kind === 'cte' || node.kind === 'subquery') && !used.has(node.id))
    .map((node) => ({
      name: node.column,
      column: node.id,
      sources: upstream(graph, node.id).sources,
      span: node.span,
    }));

  return {
    columns,
    edges: builder.edges,
    nodes: [...builder.nodes.values()],
    relations: builder.relations,
    unused,
    unresolved: builder.unresolved,
  };
}
