// Column-level lineage of a model: which source columns feed each output column, through which CTEs, by what kind
// of step, and which columns shape rows without flowing into values. polyglot-sql parses the SQL (SQLite dialect);
// the walk over its AST is ours. Every node and edge carries a span in the user's file.
import * as polyglot from '@polyglot-sql/sdk';
import { LensError, type FileLocation } from './errors';
import type { SourceMap } from './jinja';
import { FINAL_SELECT } from './constants';
import { codePointToUtf16, type SqlToken } from './sqlTokens';

export type ValueKind = 'passthrough' | 'rename' | 'case' | 'aggregate' | 'expression';
export type RowKind = 'join_key' | 'group_key' | 'filter' | 'order_key';
export type EdgeKind = ValueKind | RowKind;

const VALUE_KINDS: ReadonlySet<EdgeKind> = new Set<EdgeKind>(['passthrough', 'rename', 'case', 'aggregate', 'expression']);


export interface CaseDetail {
  /** `CASE operand WHEN …`: the value each `when` is compared with. */
  operand?: string;
  whens: { when: string; then: string }[];
  else?: string;
}

export interface LineageEdge {
  /** `schema.table.column`, `cte.column`, or an output column's name. */
  from: string;
  /** A column as `from`; for row-shaping kinds, the relation whose rows it shapes (a CTE, or `(final select)`). */
  to: string;
  kind: EdgeKind;
  /** The expression, e.g. `ROUND(AVG(total_spent), 2)`, for every kind but passthrough. */
  detail?: string;
  /** The CASE's conditions and results (the segment thresholds). */
  case?: CaseDetail;
  /** Where the step is written: the select item, or the reference in ON / WHERE / GROUP BY / ORDER BY. */
  span?: FileLocation;
  /** The reference to `from` itself. */
  refSpan?: FileLocation;
}

export interface LineageNode {
  id: string;
  kind: 'source' | 'cte' | 'subquery' | 'output';
  relation: string;
  column: string;
  span?: FileLocation;
}

export interface LineageRelation {
  name: string;
  kind: 'source' | 'cte' | 'subquery' | 'final';
  span?: FileLocation;
}

export interface OutputColumnLineage {
  name: string;
  /** Source columns the value comes from, as `schema.table.column`. */
  sources: string[];
  /** Kinds of the steps from the sources to the output, upstream first. */
  kinds: ValueKind[];
  span?: FileLocation;
}

export interface UnusedColumn {
  name: string;
  /** Where it is selected, as `cte.column`. */
  column: string;
  /** Source columns it comes from. */
  sources: string[];
  span?: FileLocation;
}

export interface UnresolvedReference {
  name: string;
  reason: string;
  span?: FileLocation;
}

export interface Lineage {
  columns: OutputColumnLineage[];
  edges: LineageEdge[];
  nodes: LineageNode[];
  relations: LineageRelation[];
  unused: UnusedColumn[];
  unresolved: UnresolvedReference[];
}

/** Column names of a table as the model writes it (`schema.table` or `table`); undefined when unknown. */
export type Catalog = (table: string) => string[] | undefined;

// polyglot's AST is JSON: every node is an object with one key, its type, holding the node's fields.
type AstNode = Record<string, unknown>;
type Fields = Record<string, unknown>;
interface AstSpan {
  start: number;
  end: number;
}

const AGGREGATES = new Set(['count', 'sum', 'avg', 'min', 'max', 'total', 'group_concat', 'string_agg', 'array_agg', 'median', 'stddev', 'variance']);
const QUERY_TYPES = new Set(['select', 'union', 'intersect', 'except']);
const CLAUSE_END = new Set(['FROM', 'WHERE', 'GROUP', 'HAVING', 'ORDER', 'LIMIT', 'WINDOW', 'UNION', 'EXCEPT', 'INTERSECT', 'SEMICOLON']);

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nodeType(node: unknown): [string, Fields] | undefined {
  if (!isObject(node)) return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1 || !isObject(node[keys[0]])) return undefined;
  return [keys[0], node[keys[0]] as Fields];
}

function identifier(value: unknown): { name: string; span?: AstSpan } | undefined {
  if (!isObject(value) || typeof value.name !== 'string') return undefined;
  return { name: value.name, span: isObject(value.span) ? (value.span as unknown as AstSpan) : undefined };
}

const lower = (name: string) => name.toLowerCase();

interface Relation {
  /** Prefix of its columns' ids: `schema.table`, a CTE's name or a subquery's alias. */
  name: string;
  kind: 'source' | 'cte' | 'subquery';
  /** Known columns, in order; undefined when the data does not say (a source table we have no schema for). */
  columns?: string[];
}

interface Scope {
  aliases: Map<string, Relation>;
  relations: Relation[];
  outer?: Scope;
}

interface ColumnRef {
  table?: string;
  column: string;
  span?: AstSpan;
}

interface OutputColumn {
  name: string;
  id: string;
}

class LineageBuilder {
  readonly edges: LineageEdge[] = [];
  readonly nodes = new Map<string, LineageNode>();
  readonly relations: LineageRelation[] = [];
  readonly unresolved: UnresolvedReference[] = [];
  private readonly edgeKeys = new Set<string>();
  private subqueries = 0;
  private readonly toUtf16: (offset: number) => number;
  private readonly depth: number[] = [];

  constructor(
    private readonly sql: string,
    private readonly sourceMap: SourceMap,
    private readonly tokens: readonly SqlToken[],
    private readonly catalog: Catalog,
  ) {
    this.toUtf16 = codePointToUtf16(sql);
    // Paren depth of each token: an opening parenthesis counts outside, a closing one after it closes.
    let depth = 0;
    for (const token of tokens) {
      if (token.type === 'R_PAREN') depth--;
      this.depth.push(depth);
      if (token.type === 'L_PAREN') depth++;
    }
  }

  /** A span of the rendered SQL (UTF-16 offsets) as a location in the user's file. */
  location(start: number, end: number): FileLocation {
    return this.sourceMap.location(start, end);
  }

  astLocation(span: AstSpan | undefined): FileLocation | undefined {
    return span ? this.location(this.toUtf16(span.start), this.toUtf16(span.end)) : undefined;
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

  /** Generated SQL for an expression: used for `detail`. */
  text(node: unknown): string {
    const result = polyglot.generate([node as never], polyglot.Dialect.SQLite);
    return result.success && result.sql ? result.sql[0] : '';
  }

  // ---- spans of select items, from the token stream (polyglot gives spans to identifiers, not to expressions)

  /** Smallest identifier span inside a node, not looking into nested queries. */
  private firstSpan(node: unknown, best: AstSpan | undefined = undefined): AstSpan | undefined {
    if (Array.isArray(node)) {
      for (const item of node) best = this.firstSpan(item, best);
      return best;
    }
    if (!isObject(node)) return best;
    if (isObject(node.span) && typeof (node.span as Fields).start === 'number') {
      const span = node.span as unknown as AstSpan;
      if (!best || span.start < best.start) best = span;
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === 'span' || key === 'with' || QUERY_TYPES.has(key) || key === 'subquery' || key === 'query') continue;
      best = this.firstSpan(value, best);
    }
    return best;
  }

  private tokenIndexAt(offset: number): number {
    let low = 0;
    let high = this.tokens.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.tokens[middle].start <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /** Token ranges [first, last] of each item in a select list, found from the SELECT keyword. */
  selectItemRanges(select: Fields): [number, number][] | undefined {
    const anchor = this.firstSpan(select.expressions) ?? this.firstSpan(select.from);
    if (!anchor || this.tokens.length === 0) return undefined;
    let index = this.tokenIndexAt(this.toUtf16(anchor.start));
    let minimum = this.depth[index];
    for (; index >= 0; index--) {
      minimum = Math.min(minimum, this.depth[index]);
      if (this.tokens[index].type === 'SELECT' && this.depth[index] <= minimum) break;
    }
    if (index < 0) return undefined;
    const level = this.depth[index];
    let cursor = index + 1;
    while (cursor < this.tokens.length && (this.tokens[cursor].type === 'DISTINCT' || this.tokens[cursor].type === 'ALL')) cursor++;
    const ranges: [number, number][] = [];
    let start = cursor;
    for (; cursor < this.tokens.length; cursor++) {
      const token = this.tokens[cursor];
      if (this.depth[cursor] < level || (this.depth[cursor] === level && CLAUSE_END.has(token.type))) break;
      if (this.depth[cursor] === level && token.type === 'COMMA') {
        ranges.push([start, cursor - 1]);
        start = cursor + 1;
      }
    }
    if (cursor > start) ranges.push([start, cursor - 1]);
    return ranges.length === (select.expressions as unknown[]).length ? ranges : undefined;
  }

  itemSpan(range: [number, number] | undefined, fallback: () => AstSpan | undefined): FileLocation | undefined {
    if (range) return this.location(this.tokens[range[0]].start, this.tokens[range[1]].end);
    return this.astLocation(fallback());
  }

  /** The expression part of a select item (without `AS alias`). */
  expressionSpan(range: [number, number] | undefined, alias: AstSpan | undefined): FileLocation | undefined {
    if (!range) return undefined;
    let last = range[1];
    if (alias) {
      const aliasStart = this.toUtf16(alias.start);
      while (last > range[0] && this.tokens[last].start >= aliasStart) last--;
      if (this.tokens[last].type === 'AS' && last > range[0]) last--;
    }
    return this.location(this.tokens[range[0]].start, this.tokens[last].end);
  }

  // ---- scopes and name resolution

  resolve(scope: Scope, ref: ColumnRef): string | undefined {
    const name = ref.table ? `${ref.table}.${ref.column}` : ref.column;
    const fail = (reason: string) => {
      this.unresolved.push({ name, reason, span: this.astLocation(ref.span) });
      return undefined;
    };
    const columnIn = (relation: Relation) => relation.columns?.find((column) => lower(column) === lower(ref.column));
    if (ref.table) {
      for (let current: Scope | undefined = scope; current; current = current.outer) {
        const relation = current.aliases.get(lower(ref.table));
        if (!relation) continue;
        if (relation.columns && !columnIn(relation)) return fail(`${relation.name} has no column ${ref.column}`);
        return `${relation.name}.${columnIn(relation) ?? ref.column}`;
      }
      return fail(`no table or alias ${ref.table} in scope`);
    }
    for (let current: Scope | undefined = scope; current; current = current.outer) {
      const having = current.relations.filter((relation) => columnIn(relation));
      const unknown = current.relations.filter((relation) => !relation.columns);
      if (having.length === 1 && unknown.length === 0) return `${having[0].name}.${columnIn(having[0])}`;
      if (having.length === 0 && unknown.length === 1 && current.relations.length === 1) return `${unknown[0].name}.${ref.column}`;
      if (having.length > 1) return fail(`ambiguous: ${having.map((relation) => relation.name).join(' and ')} both have ${ref.column}`);
      if (unknown.length > 0) return fail(`the columns of ${unknown.map((relation) => relation.name).join(', ')} are unknown, so ${ref.column} could be in ${unknown.length > 1 ? 'any of them' : 'it'}`);
    }
    return fail(`no table in scope has a column ${ref.column}`);
  }

  /** Column references in an expression, with nested queries walked in their own scope (their columns count too). */
  columnRefs(node: unknown, scope: Scope, ctes: Map<string, Relation>, out: { ref: ColumnRef; id?: string }[] = []): { ref: ColumnRef; id?: string }[] {
    if (Array.isArray(node)) {
      for (const item of node) this.columnRefs(item, scope, ctes, out);
      return out;
    }
    const typed = nodeType(node);
    if (typed) {
      const [type, fields] = typed;
      if (type === 'column') {
        const name = identifier(fields.name);
        if (name) {
          const table = identifier(fields.table)?.name;
          const span = (isObject(fields.span) ? fields.span : name.span) as AstSpan | undefined;
          const ref = { table, column: name.name, span };
          out.push({ ref, id: this.resolve(scope, ref) });
          return out;
        }
      }
      if (QUERY_TYPES.has(type)) {
        // A nested query's columns feed the expression through its outputs (e.g. `x IN (SELECT y …)`).
        const nested = this.walkQuery(node as AstNode, ctes, `(subquery ${++this.subqueries})`, 'subquery', scope);
        for (const output of nested.outputs) out.push({ ref: { column: output.name }, id: output.id });
        return out;
      }
    }
    if (isObject(node)) for (const [key, value] of Object.entries(node)) if (key !== 'span') this.columnRefs(value, scope, ctes, out);
    return out;
  }

  // ---- classification of a select item

  classify(expression: unknown, outputName: string): { kind: ValueKind; detail?: string; case?: CaseDetail } {
    const typed = nodeType(expression);
    if (!typed) return { kind: 'expression' };
    const [type, fields] = typed;
    if (type === 'column') {
      const name = identifier(fields.name)?.name ?? '';
      return lower(name) === lower(outputName) ? { kind: 'passthrough' } : { kind: 'rename', detail: `${name} AS ${outputName}` };
    }
    if (type === 'case') {
      const whens = (Array.isArray(fields.whens) ? fields.whens : []).map((pair) => {
        const [when, then] = pair as unknown[];
        return { when: this.text(when), then: this.text(then) };
      });
      const detail: CaseDetail = { whens };
      if (fields.operand) detail.operand = this.text(fields.operand);
      if (fields.else_) detail.else = this.text(fields.else_);
      return { kind: 'case', detail: this.text(expression), case: detail };
    }
    if (this.hasAggregate(expression)) return { kind: 'aggregate', detail: this.text(expression) };
    return { kind: 'expression', detail: this.text(expression) };
  }

  hasAggregate(node: unknown): boolean {
    if (Array.isArray(node)) return node.some((item) => this.hasAggregate(item));
    const typed = nodeType(node);
    if (typed) {
      const [type, fields] = typed;
      if (type === 'window_function' || QUERY_TYPES.has(type)) return false;
      if (AGGREGATES.has(type)) return true;
      if (type === 'function' && typeof fields.name === 'string' && AGGREGATES.has(lower(fields.name)) && (fields.args as unknown[] | undefined)?.length === 1) return true;
    }
    return isObject(node) && Object.entries(node).some(([key, value]) => key !== 'span' && this.hasAggregate(value));
  }

  // ---- FROM and JOIN

  private tableRelation(fields: Fields, ctes: Map<string, Relation>): { relation: Relation; alias: string; span?: AstSpan } | undefined {
    const name = identifier(fields.name);
    if (!name) return undefined;
    const schema = identifier(fields.schema);
    const alias = identifier(fields.alias);
    const spans = [schema?.span, name.span, alias?.span].filter((span): span is AstSpan => !!span);
    const span = spans.length ? { start: Math.min(...spans.map((item) => item.start)), end: Math.max(...spans.map((item) => item.end)) } : undefined;
    const cte = !schema ? ctes.get(lower(name.name)) : undefined;
    if (cte) return { relation: cte, alias: alias?.name ?? name.name, span };
    const written = schema ? `${schema.name}.${name.name}` : name.name;
    const relation: Relation = { name: written, kind: 'source', columns: this.catalog(written) };
    if (!this.relations.some((known) => known.name === written)) this.relations.push({ name: written, kind: 'source', span: this.astLocation(span) });
    if (!relation.columns) this.unresolved.push({ name: written, reason: `the columns of ${written} are unknown (no such table in the data)`, span: this.astLocation(span) });
    return { relation, alias: alias?.name ?? name.name, span };
  }

  private fromItem(item: unknown, scope: Scope, ctes: Map<string, Relation>): void {
    const typed = nodeType(item);
    if (!typed) return;
    const [type, fields] = typed;
    let entry: { relation: Relation; alias: string } | undefined;
    if (type === 'table') entry = this.tableRelation(fields, ctes);
    else if (type === 'subquery') {
      const alias = identifier(fields.alias)?.name ?? `(subquery ${scope.relations.length + 1})`;
      const nested = this.walkQuery(fields.this as AstNode, ctes, alias, 'subquery', scope.outer);
      entry = { relation: { name: alias, kind: 'subquery', columns: nested.outputs.map((output) => output.name) }, alias };
    }
    if (!entry) return;
    scope.aliases.set(lower(entry.alias), entry.relation);
    scope.relations.push(entry.relation);
  }

  // ---- queries

  /**
   * Walks a query; `relationName` names its columns (`cte.column`); undefined means the final select (bare names).
   * Returns its output columns.
   */
  walkQuery(node: AstNode, ctes: Map<string, Relation>, relationName: string | undefined, kind: 'cte' | 'subquery' | 'final', outer?: Scope, names?: string[]): { outputs: OutputColumn[] } {
    const typed = nodeType(node);
    if (!typed) return { outputs: [] };
    const [type, fields] = typed;
    if (type !== 'select') {
      const left = this.walkQuery(fields.left as AstNode, ctes, relationName, kind, outer, names);
      this.walkQuery(fields.right as AstNode, ctes, relationName, kind, outer, left.outputs.map((output) => output.name));
      return { outputs: left.outputs };
    }
    const visible = new Map(ctes);
    const withClause = isObject(fields.with) ? fields.with : undefined;
    for (const cte of (withClause?.ctes as Fields[] | undefined) ?? []) {
      const alias = identifier(cte.alias);
      if (!alias) continue;
      const columnNames = Array.isArray(cte.columns) ? cte.columns.map((column) => identifier(column)?.name ?? '') : undefined;
      this.relations.push({ name: alias.name, kind: 'cte', span: this.astLocation(alias.span) });
      const walked = this.walkQuery(cte.this as AstNode, visible, alias.name, 'cte', undefined, columnNames?.length ? columnNames : undefined);
      visible.set(lower(alias.name), { name: alias.name, kind: 'cte', columns: walked.outputs.map((output) => output.name) });
    }
    return this.walkSelect(fields, visible, relationName, kind, outer, names);
  }

  private walkSelect(select: Fields, ctes: Map<string, Relation>, relationName: string | undefined, kind: 'cte' | 'subquery' | 'final', outer?: Scope, names?: string[]) {
    const scope: Scope = { aliases: new Map(), relations: [], outer };
    const from = isObject(select.from) ? (select.from.expressions as unknown[]) : [];
    for (const item of from ?? []) this.fromItem(item, scope, ctes);
    const joins = (Array.isArray(select.joins) ? select.joins : []) as Fields[];
    for (const join of joins) this.fromItem(join.this, scope, ctes);

    const label = relationName ?? FINAL_SELECT;
    const nodeKind: LineageNode['kind'] = kind === 'final' ? 'output' : kind;
    const idOf = (name: string) => (relationName ? `${relationName}.${name}` : name);
    const outputs: OutputColumn[] = [];
    const expressions = (Array.isArray(select.expressions) ? select.expressions : []) as unknown[];
    const ranges = this.selectItemRanges(select);

    const addOutput = (name: string, span: FileLocation | undefined) => {
      const outputName = names?.[outputs.length] ?? name;
      const id = idOf(outputName);
      outputs.push({ name: outputName, id });
      this.addNode({ id, kind: nodeKind, relation: label, column: outputName, span });
      return id;
    };

    expressions.forEach((item, index) => {
      const typed = nodeType(item);
      const range = ranges?.[index];
      if (typed?.[0] === 'star') {
        const table = identifier(typed[1].table);
        const relations = table ? [scope.aliases.get(lower(table.name))] : scope.relations;
        const span = this.itemSpan(range, () => table?.span);
        for (const relation of relations) {
          if (!relation) {
            this.unresolved.push({ name: `${table?.name}.*`, reason: `no table or alias ${table?.name} in scope`, span });
            continue;
          }
          if (!relation.columns) {
            this.unresolved.push({ name: `${table ? `${table.name}.` : ''}*`, reason: `cannot expand * without the columns of ${relation.name}`, span });
            continue;
          }
          for (const column of relation.columns) {
            const from = `${relation.name}.${column}`;
            const to = addOutput(column, span);
            const renamed = lower(outputs[outputs.length - 1].name) !== lower(column);
            this.addNode({ id: from, kind: relation.kind, relation: relation.name, column, span });
            this.addEdge({ from, to, kind: renamed ? 'rename' : 'passthrough', span, refSpan: span });
          }
        }
        return;
      }
      let expression: unknown = item;
      let name: string | undefined;
      let aliasSpan: AstSpan | undefined;
      if (typed?.[0] === 'alias') {
        const alias = identifier(typed[1].alias);
        expression = typed[1].this;
        name = alias?.name;
        aliasSpan = alias?.span;
      }
      const expressionType = nodeType(expression);
      if (!name && expressionType?.[0] === 'column') name = identifier(expressionType[1].name)?.name;
      const span = this.itemSpan(range, () => aliasSpan ?? this.firstSpan(expression));
      if (!name) {
        // SQLite names an unaliased expression by its text.
        name = range ? this.sql.slice(this.tokens[range[0]].start, this.tokens[range[1]].end) : this.text(expression);
      }
      const to = addOutput(name, span);
      const step = this.classify(expression, names?.[outputs.length - 1] ?? name);
      const refs = this.columnRefs(expression, scope, ctes);
      const expressionLocation = this.expressionSpan(range, aliasSpan) ?? span;
      for (const { ref, id } of refs) {
        if (!id) continue;
        const relation = id.slice(0, id.length - ref.column.length - 1);
        this.addNode({ id, kind: this.kindOfRelation(relation, scope), relation, column: id.slice(relation.length + 1), span: this.astLocation(ref.span) });
        this.addEdge({ from: id, to, kind: step.kind, detail: step.detail, case: step.case, span: expressionLocation, refSpan: this.astLocation(ref.span) });
      }
    });

    const rowEdges = (node: unknown, edgeKind: RowKind, resolveOutputs: boolean, detail?: string) => {
      const items = Array.isArray(node) ? node : [node];
      for (const item of items) {
        // ORDER BY / GROUP BY 2 name the second output column.
        const literal = nodeType(item);
        if (literal?.[0] === 'literal' && literal[1].literal_type === 'number') {
          const output = outputs[Number(literal[1].value) - 1];
          if (output) this.addEdge({ from: output.id, to: label, kind: edgeKind });
          continue;
        }
        if (resolveOutputs && literal?.[0] === 'column' && !identifier(literal[1].table)) {
          const name = identifier(literal[1].name);
          const output = outputs.find((candidate) => lower(candidate.name) === lower(name?.name ?? ''));
          if (output && name) {
            this.addEdge({ from: output.id, to: label, kind: edgeKind, span: this.astLocation(name.span), refSpan: this.astLocation(name.span) });
            continue;
          }
        }
        for (const { ref, id } of this.columnRefs(item, scope, ctes)) {
          if (!id) continue;
          const relation = id.slice(0, id.length - ref.column.length - 1);
          this.addNode({ id, kind: this.kindOfRelation(relation, scope), relation, column: id.slice(relation.length + 1), span: this.astLocation(ref.span) });
          this.addEdge({ from: id, to: label, kind: edgeKind, detail, span: this.astLocation(ref.span), refSpan: this.astLocation(ref.span) });
        }
      }
    };
    for (const join of joins) {
      const joinKind = `${typeof join.kind === 'string' ? join.kind.toUpperCase() : 'INNER'} JOIN`;
      if (join.on) rowEdges(join.on, 'join_key', false, joinKind);
      if (Array.isArray(join.using)) {
        for (const key of join.using) {
          const name = identifier(key);
          if (!name) continue;
          for (const relation of scope.relations) {
            const column = relation.columns?.find((candidate) => lower(candidate) === lower(name.name));
            if (!column) continue;
            const id = `${relation.name}.${column}`;
            this.addNode({ id, kind: relation.kind, relation: relation.name, column, span: this.astLocation(name.span) });
            this.addEdge({ from: id, to: label, kind: 'join_key', detail: `${joinKind} USING`, span: this.astLocation(name.span) });
          }
        }
      }
    }
    if (isObject(select.where_clause)) rowEdges(select.where_clause.this, 'filter', false);
    if (isObject(select.group_by)) rowEdges(select.group_by.expressions, 'group_key', false);
    if (isObject(select.having)) rowEdges(select.having.this, 'filter', true);
    if (isObject(select.order_by)) rowEdges((select.order_by.expressions as Fields[]).map((order) => order.this), 'order_key', true);
    return { outputs };
  }

  private kindOfRelation(relation: string, scope: Scope): LineageNode['kind'] {
    for (let current: Scope | undefined = scope; current; current = current.outer) {
      const found = current.relations.find((candidate) => candidate.name === relation);
      if (found) return found.kind;
    }
    return 'source';
  }
}

/** Builds the lineage of a rendered model. Throws a LensError (pointing into the user's file) if it cannot be parsed. */
export function buildLineage(input: { sql: string; sourceMap: SourceMap; tokens: readonly SqlToken[]; catalog: Catalog }): Lineage {
  const parsed = polyglot.parse(input.sql, polyglot.Dialect.SQLite);
  const toUtf16 = codePointToUtf16(input.sql);
  if (!parsed.success || !parsed.ast || parsed.ast.length === 0) {
    const start = parsed.errorStart === undefined ? 0 : toUtf16(parsed.errorStart);
    throw new LensError({
      code: 'sql-syntax',
      message: `Cannot parse the model for lineage: ${parsed.error ?? 'no statement'}.`,
      hint: 'Fix the SQL at this position.',
      location: input.sourceMap.location(start, parsed.errorEnd === undefined ? start : toUtf16(parsed.errorEnd)),
    });
  }
  const builder = new LineageBuilder(input.sql, input.sourceMap, input.tokens, input.catalog);
  const { outputs } = builder.walkQuery(parsed.ast[0] as AstNode, new Map(), undefined, 'final');
  builder.relations.push({ name: FINAL_SELECT, kind: 'final' });

  const valueEdgesInto = new Map<string, LineageEdge[]>();
  for (const edge of builder.edges) {
    if (!VALUE_KINDS.has(edge.kind)) continue;
    const list = valueEdgesInto.get(edge.to) ?? [];
    list.push(edge);
    valueEdgesInto.set(edge.to, list);
  }
  const nodes = builder.nodes;
  /** Walks value edges upstream from `id`: the source columns reached and the kinds on the way, by distance. */
  const upstream = (id: string) => {
    const sources: string[] = [];
    const kindsByDistance: ValueKind[][] = [];
    const seen = new Set<string>([id]);
    let frontier = [id];
    for (let distance = 0; frontier.length > 0; distance++) {
      const next: string[] = [];
      for (const current of frontier) {
        for (const edge of valueEdgesInto.get(current) ?? []) {
          (kindsByDistance[distance] ??= []).push(edge.kind as ValueKind);
          if (seen.has(edge.from)) continue;
          seen.add(edge.from);
          if (nodes.get(edge.from)?.kind === 'source') sources.push(edge.from);
          next.push(edge.from);
        }
      }
      frontier = next;
    }
    // Upstream first; the same kind twice in a row (passthrough after passthrough) reads as one step.
    const kinds = kindsByDistance.reverse().flatMap((atDistance) => [...new Set(atDistance)]).filter((kind, index, all) => kind !== all[index - 1]);
    return { sources, kinds, seen };
  };

  const columns = outputs.map((output) => {
    const { sources, kinds } = upstream(output.id);
    return { name: output.name, sources, kinds, span: nodes.get(output.id)?.span };
  });

  // A column is used when its value reaches an output, or it shapes rows; anything upstream of those is used too.
  const used = new Set<string>();
  for (const output of outputs) for (const id of upstream(output.id).seen) used.add(id);
  for (const edge of builder.edges) if (!VALUE_KINDS.has(edge.kind)) for (const id of upstream(edge.from).seen) used.add(id);
  const unused = [...nodes.values()]
    .filter((node) => (node.kind === 'cte' || node.kind === 'subquery') && !used.has(node.id))
    .map((node) => ({ name: node.column, column: node.id, sources: upstream(node.id).sources, span: node.span }));

  return { columns, edges: builder.edges, nodes: [...nodes.values()], relations: builder.relations, unused, unresolved: builder.unresolved };
}
