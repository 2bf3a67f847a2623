// Column-level lineage of a model: which source columns feed each output column, through which CTEs, by what kind
// of step, and which columns shape rows without flowing into values. sql-parser-cst parses the SQL (SQLite
// dialect, a range on every node); the walk over its tree is ours. Every node and edge carries a span in the
// user's file.
import { LensError, type FileLocation } from '../errors';
import type { SourceMap } from '../model/sourceMap';
import { LineageGraph, upstream } from '../../shared/lineageGraph';
import { FINAL_SELECT, VALUE_KINDS } from '../../shared/lineageModel';
import type {
  CaseDetail,
  Lineage,
  LineageEdge,
  LineageNode,
  LineageRelation,
  RowKind,
  UnresolvedReference,
  ValueKind,
} from '../../shared/lineageModel';
import { clause, isNode, listItems, parseSql, statements, type CstNode, type ParsedSql } from './syntax';

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
]);
const QUERIES = new Set(['select_stmt', 'compound_select_stmt']);

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
  range?: [number, number];
}

/** What a query's columns are named as: `cte.column` for a CTE or subquery, bare names for the final select. */
interface QueryTarget {
  /** Names its columns (`cte.column`); undefined for the final select. */
  relationName?: string;
  kind: 'cte' | 'subquery' | 'final';
  /** The scope of the query around it (a correlated subquery sees its columns). */
  outer?: Scope;
  /** Column names given from outside (`WITH t(a, b) AS …`, a compound select's later parts). */
  names?: string[];
}

interface OutputColumn {
  name: string;
  id: string;
}

/** `a`, `t.a` or `s.t.a` as a column reference; undefined for anything else. */
function columnRef(node: CstNode): ColumnRef | undefined {
  if (node.type === 'identifier') return { column: node.name as string, range: node.range };
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
  return { table: parts.join('.'), column: node.property.name as string, range: node.range };
}

/** The query inside `(SELECT …)`, if that is what the node is. */
function subquery(node: CstNode): CstNode | undefined {
  if (QUERIES.has(node.type)) return node;
  if (node.type === 'paren_expr' && isNode(node.expr)) return subquery(node.expr);
  return undefined;
}

class LineageBuilder {
  readonly edges: LineageEdge[] = [];
  readonly nodes = new Map<string, LineageNode>();
  readonly relations: LineageRelation[] = [];
  readonly unresolved: UnresolvedReference[] = [];
  private readonly edgeKeys = new Set<string>();
  private subqueries = 0;

  constructor(
    private readonly sql: string,
    private readonly sourceMap: SourceMap,
    private readonly catalog: Catalog,
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

  // ---- name resolution

  resolve(scope: Scope, ref: ColumnRef): string | undefined {
    const name = ref.table ? `${ref.table}.${ref.column}` : ref.column;
    const fail = (reason: string) => {
      this.unresolved.push({ name, reason, span: this.location(ref.range) });
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
      if (having.length === 0 && unknown.length === 1 && current.relations.length === 1)
        return `${unknown[0].name}.${ref.column}`;
      if (having.length > 1)
        return fail(`ambiguous: ${having.map((relation) => relation.name).join(' and ')} both have ${ref.column}`);
      if (unknown.length > 0)
        return fail(
          `the columns of ${unknown.map((relation) => relation.name).join(', ')} are unknown, so ${ref.column} could be in ${unknown.length > 1 ? 'any of them' : 'it'}`,
        );
    }
    return fail(`no table in scope has a column ${ref.column}`);
  }

  /**
   * Column references in an expression. Nested queries are walked in their own scope and feed the expression
   * through their outputs (e.g. `x IN (SELECT y …)`).
   */
  columnRefs(
    node: unknown,
    scope: Scope,
    ctes: Map<string, Relation>,
    out: { ref: ColumnRef; id?: string }[] = [],
  ): { ref: ColumnRef; id?: string }[] {
    if (Array.isArray(node)) {
      for (const item of node) this.columnRefs(item, scope, ctes, out);
      return out;
    }
    if (!isNode(node) || node.type === 'keyword' || node.type.endsWith('_literal') || node.type.startsWith('data_type'))
      return out;
    const ref = columnRef(node);
    if (ref) {
      out.push({ ref, id: this.resolve(scope, ref) });
      return out;
    }
    const query = subquery(node);
    if (query) {
      const nested = this.walkQuery(query, ctes, {
        relationName: `(subquery ${++this.subqueries})`,
        kind: 'subquery',
        outer: scope,
      });
      for (const output of nested.outputs) out.push({ ref: { column: output.name }, id: output.id });
      return out;
    }
    for (const [key, child] of Object.entries(node)) {
      // A function's name and an alias are names, not columns.
      if (key === 'range' || (node.type === 'func_call' && key === 'name') || key === 'alias' || key === 'dataType')
        continue;
      this.columnRefs(child, scope, ctes, out);
    }
    return out;
  }

  // ---- classification of a select item

  classify(expression: CstNode, outputName: string): { kind: ValueKind; detail?: string; case?: CaseDetail } {
    const ref = columnRef(expression);
    if (ref)
      return lower(ref.column) === lower(outputName)
        ? { kind: 'passthrough' }
        : { kind: 'rename', detail: `${ref.column} AS ${outputName}` };
    if (expression.type === 'case_expr') {
      const detail: CaseDetail = { whens: [] };
      if (isNode(expression.expr)) detail.operand = this.text(expression.expr);
      for (const item of expression.clauses as CstNode[]) {
        if (item.type === 'case_when')
          detail.whens.push({ when: this.text(item.condition), then: this.text(item.result) });
        else if (item.type === 'case_else') detail.else = this.text(item.result);
      }
      return { kind: 'case', detail: this.text(expression), case: detail };
    }
    return { kind: this.hasAggregate(expression) ? 'aggregate' : 'expression', detail: this.text(expression) };
  }

  hasAggregate(node: unknown): boolean {
    if (Array.isArray(node)) return node.some((item) => this.hasAggregate(item));
    if (!isNode(node) || subquery(node)) return false;
    if (node.type === 'func_call' && !node.over && isNode(node.name) && AGGREGATES.has(lower(String(node.name.name)))) {
      // min(a, b) and max(a, b) with two arguments are SQLite's scalar functions.
      const args = isNode(node.args) && isNode(node.args.expr) ? listItems(node.args.expr.args) : [];
      if (!/^(min|max)$/i.test(String(node.name.name)) || args.length === 1) return true;
    }
    return Object.entries(node).some(([key, value]) => key !== 'range' && this.hasAggregate(value));
  }

  // ---- FROM and JOIN

  private tableRelation(
    node: CstNode,
    alias: CstNode | undefined,
    ctes: Map<string, Relation>,
  ): { relation: Relation; alias: string } | undefined {
    const ref = columnRef(node);
    if (!ref) return undefined;
    const written = ref.table ? `${ref.table}.${ref.column}` : ref.column;
    const aliasName = (alias?.name as string | undefined) ?? ref.column;
    const cte = !ref.table ? ctes.get(lower(ref.column)) : undefined;
    if (cte) return { relation: cte, alias: aliasName };
    const range: [number, number] | undefined = node.range && [node.range[0], alias?.range?.[1] ?? node.range[1]];
    if (!this.relations.some((known) => known.name === written))
      this.relations.push({ name: written, kind: 'source', span: this.location(range) });
    const relation: Relation = { name: written, kind: 'source', columns: this.catalog(written) };
    if (!relation.columns)
      this.unresolved.push({
        name: written,
        reason: `the columns of ${written} are unknown (no such table in the data)`,
        span: this.location(range),
      });
    return { relation, alias: aliasName };
  }

  /** Adds a FROM item (table, subquery, or a join of them) to the scope; returns the joins met, for their keys. */
  private fromItem(item: CstNode, scope: Scope, ctes: Map<string, Relation>, joins: CstNode[]): void {
    if (item.type === 'join_expr') {
      this.fromItem(item.left as CstNode, scope, ctes, joins);
      this.fromItem(item.right as CstNode, scope, ctes, joins);
      joins.push(item);
      return;
    }
    if (item.type === 'list_expr') {
      for (const part of item.items as CstNode[]) this.fromItem(part, scope, ctes, joins);
      return;
    }
    const alias = item.type === 'alias' && isNode(item.alias) ? item.alias : undefined;
    const target = item.type === 'alias' && isNode(item.expr) ? item.expr : item;
    let entry: { relation: Relation; alias: string } | undefined;
    const query = subquery(target);
    if (query) {
      const name = (alias?.name as string | undefined) ?? `(subquery ${++this.subqueries})`;
      const nested = this.walkQuery(query, ctes, { relationName: name, kind: 'subquery', outer: scope.outer });
      entry = {
        relation: { name, kind: 'subquery', columns: nested.outputs.map((output) => output.name) },
        alias: name,
      };
    } else entry = this.tableRelation(target, alias, ctes);
    if (!entry) return;
    scope.aliases.set(lower(entry.alias), entry.relation);
    scope.relations.push(entry.relation);
  }

  // ---- queries

  /** Walks a query: its CTEs, then its select (a compound select's parts name their columns after the first's). */
  walkQuery(node: CstNode, ctes: Map<string, Relation>, target: QueryTarget): { outputs: OutputColumn[] } {
    if (node.type === 'compound_select_stmt') {
      const left = this.walkQuery(node.left as CstNode, ctes, target);
      this.walkQuery(node.right as CstNode, ctes, { ...target, names: left.outputs.map((output) => output.name) });
      return left;
    }
    if (node.type !== 'select_stmt') return { outputs: [] };
    const visible = new Map(ctes);
    const withClause = clause(node, 'with_clause');
    for (const cte of listItems(withClause?.tables)) {
      const table = cte.table as CstNode;
      const name = table.name as string;
      const columnNames =
        isNode(cte.columns) && isNode(cte.columns.expr)
          ? listItems(cte.columns.expr).map((column) => column.name as string)
          : undefined;
      this.relations.push({ name, kind: 'cte', span: this.location(table.range) });
      const query = subquery(cte.expr as CstNode);
      const walked = query
        ? this.walkQuery(query, visible, { relationName: name, kind: 'cte', names: columnNames })
        : { outputs: [] };
      visible.set(lower(name), { name, kind: 'cte', columns: walked.outputs.map((output) => output.name) });
    }
    return this.walkSelect(node, visible, target);
  }

  private walkSelect(select: CstNode, ctes: Map<string, Relation>, target: QueryTarget) {
    const { relationName, kind, outer, names } = target;
    const scope: Scope = { aliases: new Map(), relations: [], outer };
    const joins: CstNode[] = [];
    const from = clause(select, 'from_clause');
    if (isNode(from?.expr)) this.fromItem(from.expr, scope, ctes, joins);

    const label = relationName ?? FINAL_SELECT;
    const nodeKind: LineageNode['kind'] = kind === 'final' ? 'output' : kind;
    const idOf = (name: string) => (relationName ? `${relationName}.${name}` : name);
    const outputs: OutputColumn[] = [];
    const addOutput = (name: string, span: FileLocation | undefined) => {
      const outputName = names?.[outputs.length] ?? name;
      const id = idOf(outputName);
      outputs.push({ name: outputName, id });
      this.addNode({ id, kind: nodeKind, relation: label, column: outputName, span });
      return outputs[outputs.length - 1];
    };
    const nodeFor = (id: string, ref: ColumnRef) => {
      const relation = id.slice(0, id.length - ref.column.length - 1);
      this.addNode({
        id,
        kind: this.kindOfRelation(relation, scope),
        relation,
        column: id.slice(relation.length + 1),
        span: this.location(ref.range),
      });
    };

    for (const item of listItems(clause(select, 'select_clause')?.columns)) {
      const span = this.location(item.range);
      const star =
        item.type === 'all_columns'
          ? { table: undefined }
          : item.type === 'member_expr' && isNode(item.property) && item.property.type === 'all_columns'
            ? { table: isNode(item.object) ? (item.object.name as string) : undefined }
            : undefined;
      if (star) {
        const relations = star.table ? [scope.aliases.get(lower(star.table))] : scope.relations;
        for (const relation of relations) {
          if (!relation) {
            this.unresolved.push({ name: `${star.table}.*`, reason: `no table or alias ${star.table} in scope`, span });
            continue;
          }
          if (!relation.columns) {
            this.unresolved.push({
              name: `${star.table ? `${star.table}.` : ''}*`,
              reason: `cannot expand * without the columns of ${relation.name}`,
              span,
            });
            continue;
          }
          for (const column of relation.columns) {
            const from = `${relation.name}.${column}`;
            const output = addOutput(column, span);
            this.addNode({ id: from, kind: relation.kind, relation: relation.name, column, span });
            this.addEdge({
              from,
              to: output.id,
              kind: lower(output.name) === lower(column) ? 'passthrough' : 'rename',
              span,
              refSpan: span,
            });
          }
        }
        continue;
      }
      const aliased = item.type === 'alias' && isNode(item.alias) && isNode(item.expr);
      const expression = aliased ? (item.expr as CstNode) : item;
      // SQLite names an unaliased column by its name, and any other expression by its text.
      const name = aliased
        ? ((item.alias as CstNode).name as string)
        : (columnRef(expression)?.column ?? this.text(expression));
      const output = addOutput(name, span);
      const step = this.classify(expression, output.name);
      for (const { ref, id } of this.columnRefs(expression, scope, ctes)) {
        if (!id) continue;
        nodeFor(id, ref);
        this.addEdge({
          from: id,
          to: output.id,
          kind: step.kind,
          detail: step.detail,
          case: step.case,
          span: this.location(expression.range),
          refSpan: this.location(ref.range),
        });
      }
    }

    const rowEdges = (items: CstNode[], edgeKind: RowKind, outputsFirst: boolean, detail?: string) => {
      for (const item of items) {
        // GROUP BY / ORDER BY 2 name the second output column.
        if (item.type === 'number_literal') {
          const output = outputs[Number(item.value) - 1];
          if (output) this.addEdge({ from: output.id, to: label, kind: edgeKind, span: this.location(item.range) });
          continue;
        }
        const ref = columnRef(item);
        const output =
          outputsFirst && ref && !ref.table
            ? outputs.find((candidate) => lower(candidate.name) === lower(ref.column))
            : undefined;
        if (output) {
          this.addEdge({
            from: output.id,
            to: label,
            kind: edgeKind,
            span: this.location(item.range),
            refSpan: this.location(item.range),
          });
          continue;
        }
        for (const found of this.columnRefs(item, scope, ctes)) {
          if (!found.id) continue;
          nodeFor(found.id, found.ref);
          this.addEdge({
            from: found.id,
            to: label,
            kind: edgeKind,
            detail,
            span: this.location(found.ref.range),
            refSpan: this.location(found.ref.range),
          });
        }
      }
    };
    for (const join of joins) {
      const operator = (Array.isArray(join.operator) ? join.operator : [join.operator])
        .filter(isNode)
        .map((keyword) => String(keyword.name))
        .join(' ');
      const joinKind = operator === 'JOIN' ? 'INNER JOIN' : operator === ',' ? 'CROSS JOIN' : operator;
      const specification = isNode(join.specification) ? join.specification : undefined;
      if (specification?.type === 'join_on_specification' && isNode(specification.expr))
        rowEdges([specification.expr], 'join_key', false, joinKind);
      if (specification?.type === 'join_using_specification' && isNode(specification.expr)) {
        for (const key of listItems(specification.expr.expr)) {
          for (const relation of scope.relations) {
            const column = relation.columns?.find((candidate) => lower(candidate) === lower(String(key.name)));
            if (!column) continue;
            const id = `${relation.name}.${column}`;
            this.addNode({ id, kind: relation.kind, relation: relation.name, column, span: this.location(key.range) });
            this.addEdge({
              from: id,
              to: label,
              kind: 'join_key',
              detail: `${joinKind} USING`,
              span: this.location(key.range),
            });
          }
        }
      }
    }
    const where = clause(select, 'where_clause');
    if (isNode(where?.expr)) rowEdges([where.expr], 'filter', false);
    rowEdges(listItems(clause(select, 'group_by_clause')?.columns), 'group_key', false);
    const having = clause(select, 'having_clause');
    if (isNode(having?.expr)) rowEdges([having.expr], 'filter', true);
    rowEdges(
      listItems(clause(select, 'order_by_clause')?.specifications).map((specification) =>
        specification.type === 'sort_specification' ? (specification.expr as CstNode) : specification,
      ),
      'order_key',
      true,
    );
    return { outputs };
  }

  private kindOfRelation(relation: string, scope: Scope): LineageNode['kind'] {
    for (let current: Scope | undefined = scope; current; current = current.outer) {
      const found = current.relations.find((candidate) => candidate.name === relation);
      if (found) return found.kind;
    }
    return [...this.nodes.values()].find((node) => node.relation === relation)?.kind ?? 'source';
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
}): Lineage {
  const parsed = input.parsed ?? parseSql(input.sql);
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
  const builder = new LineageBuilder(input.sql, input.sourceMap, input.catalog);
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
