// What-if thresholds: the model run again in memory with numbers of its segmentation CASE changed at their spans in
// the rendered SQL. The model file is never touched; the data, its layout and the lineage are the session's own.
import { LensError } from '../errors';
import type { Lineage } from '../sql/lineage';
import type { ModelResult, ModelSession, VarSources } from './session';

/** A number of the rendered SQL to write differently: its span (CaseLiteral's offset and length) and the value. */
export interface LiteralOverride {
  offset: number;
  length: number;
  value: number;
}

/** Overrides one what-if may give at most: more than any CASE a person writes, few enough to check each. */
export const MAX_OVERRIDES = 1000;

/** A numeric literal as SQLite reads one, with the minus sign a CaseLiteral's span may start with. */
const NUMBER_TEXT = /^-?\s*(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A number as SQL text: a negative one in parentheses, so that `x - -5` never becomes the comment `x --5`. */
export function sqlNumber(value: number): string {
  return value < 0 || Object.is(value, -0) ? `(${String(value)})` : String(value);
}

function refuse(message: string, file: string): never {
  throw new LensError({
    code: 'sql',
    message: `What-if on ${file}: ${message}.`,
    hint: 'Run the model again, then change the thresholds in the panel.',
  });
}

/**
 * The SQL with each override's value written at its span. Every span must hold a number in `sql` (the what-if
 * changes numbers, nothing else), lie inside it and overlap no other; every value must be a finite number.
 */
export function substituteLiterals(sql: string, overrides: readonly LiteralOverride[], file: string): string {
  if (overrides.length > MAX_OVERRIDES) refuse(`more than ${MAX_OVERRIDES} numbers to change`, file);
  const sorted = [...overrides].sort((a, b) => b.offset - a.offset);
  let result = sql;
  let limit = sql.length;
  for (const { offset, length, value } of sorted) {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length <= 0 || offset + length > limit)
      refuse(`the span at offset ${offset} is not one number of the model`, file);
    const written = sql.slice(offset, offset + length);
    if (!NUMBER_TEXT.test(written))
      refuse(`the text at offset ${offset} ("${written.slice(0, 40)}") is not a number`, file);
    if (typeof value !== 'number' || !Number.isFinite(value)) refuse(`${String(value)} is not a number`, file);
    result = result.slice(0, offset) + sqlNumber(value) + result.slice(offset + length);
    limit = offset;
  }
  return result;
}

/** The var a Jinja tag reads, e.g. `gold_min` of `{{ var('gold_min') }}` or `{{ var("gold_min", 5000) | int }}`. */
export function varName(template: string): string | undefined {
  return /\bvar\s*\(\s*(['"])([^'"]+)\1/.exec(template)?.[2];
}

const hasKey = (record: unknown, key: string): boolean =>
  typeof record === 'object' && record !== null && !Array.isArray(record) && Object.hasOwn(record, key);

/** Where var() finds `name`, in the order it looks (dbtContext.ts): the one place to change it. */
export function varOrigin(sources: VarSources, name: string): string {
  if (hasKey(sources.given, name)) return 'segmentLens.vars (or the CLI’s --vars)';
  const project = sources.project;
  if (project) {
    const scoped = project.name !== undefined ? project.vars[project.name] : undefined;
    if (hasKey(scoped, name) || hasKey(project.vars, name)) return `vars: in ${project.dir}/dbt_project.yml`;
  }
  return 'the default given to var() in the model';
}

/** Marks each CASE number printed by a var() with the var's name and where it is set. */
export function annotateThresholdVars(lineage: Lineage, sources: VarSources): void {
  for (const edge of lineage.edges) {
    for (const literal of edge.case?.literals ?? []) {
      const name = literal.template === undefined ? undefined : varName(literal.template);
      if (name !== undefined) literal.var = { name, setIn: varOrigin(sources, name) };
    }
  }
}

/** The model's result with the thresholds changed: the query only (no CTE row counts, no data checks). */
export function runWhatIf(session: ModelSession, overrides: readonly LiteralOverride[]): Promise<ModelResult> {
  return session.variant(substituteLiterals(session.sql, overrides, session.model.file)).run({
    rowCounts: false,
    warnings: false,
  });
}
