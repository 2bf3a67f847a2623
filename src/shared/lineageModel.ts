// The column lineage of a model as data: what the engine's walker builds (src/engine/sql/lineage.ts), the CLI prints
// and the panel draws. Plain types, so both sides of the webview can use them.
import type { FileLocation } from './problem';

/** The final select's name where CTEs are named: its row count in `cteRowCounts`, its relation in the lineage. */
export const FINAL_SELECT = '(final select)';

export type ValueKind = 'passthrough' | 'rename' | 'case' | 'aggregate' | 'expression';
export type RowKind = 'join_key' | 'group_key' | 'filter' | 'order_key';
export type EdgeKind = ValueKind | RowKind;

/** Kinds of the steps that carry a value from one column to the next (the others shape rows). */
export const VALUE_KINDS: ReadonlySet<EdgeKind> = new Set<EdgeKind>([
  'passthrough',
  'rename',
  'case',
  'aggregate',
  'expression',
]);

export interface CaseDetail {
  /** `CASE operand WHEN …`: the value each `when` is compared with. */
  operand?: string;
  /** `span`: where the branch (`WHEN … THEN …`) is written. */
  whens: { when: string; then: string; span?: FileLocation }[];
  else?: string;
  /** Each number written in a WHEN's condition (a threshold), in the order written: what a what-if changes. */
  literals?: CaseLiteral[];
}

/** A number in a CASE's condition, e.g. the `5000` of `WHEN total_spent >= 5000`, and where it is. */
export interface CaseLiteral {
  /** Which of the CASE's `whens` it is in. */
  when: number;
  /** As rendered, e.g. `5000`, `-2.5`. */
  text: string;
  value: number;
  /** Where it is in the rendered SQL (a leading minus sign included). */
  offset: number;
  length: number;
  /** Where it is in the file: the number itself, or the Jinja tag that printed it. */
  location?: FileLocation;
  /** The Jinja tag the number comes from (e.g. `{{ var('gold_min') }}`) when the file does not hold it as written. */
  template?: string;
  /** When the tag is a var(): its name and where it is set (the file's text cannot be edited there). */
  var?: { name: string; setIn: string };
}

export interface LineageEdge {
  /** `schema.table.column`, `cte.column`, or an output column's name. */
  from: string;
  /** A column as `from`; for row-shaping kinds, the relation whose rows it shapes (a CTE, or `(final select)`). */
  to: string;
  kind: EdgeKind;
  /**
   * The expression, e.g. `ROUND(AVG(total_spent), 2)`, for every value kind but passthrough; a join's kind
   * (`INNER JOIN`); an ORDER BY term's whole sort specification (`avg_ltv DESC`).
   */
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
  /**
   * The explored model's lineage only: every project model it stands on through ref(), directly or not, in
   * dependency order (a model after those it reads), each with its own lineage and spans in its own file.
   */
  upstreamModels?: UpstreamModelLineage[];
}

/** A model upstream of the explored one: where its lineage continues when a source column is this model's. */
export interface UpstreamModelLineage {
  /** The dbt model's name, e.g. `stg_payments`. */
  model: string;
  /** Its SQL file, relative to the workspace. */
  file: string;
  /** The relation the models downstream read it as (`schema.identifier`), as their source columns name it. */
  relation: string;
  /** Its lineage (its own `upstreamModels` unset); absent when its SQL could not be read. */
  lineage?: Omit<Lineage, 'upstreamModels'>;
  /** Why it has no lineage. */
  error?: string;
}
