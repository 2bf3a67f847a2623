// Ephemeral models, as dbt compiles them: `ref('eph')` renders `__dbt__cte__eph`, and the SQL of every model that
// stands on ephemeral models gets one CTE per ephemeral model, `__dbt__cte__eph as (<its SQL>)`, each once, those an
// ephemeral model refs before it — prepended as a WITH clause, or merged into the model's own WITH (after WITH, or
// WITH RECURSIVE), as dbt's compiler injects them. The source map follows: the model's own text maps where it did,
// each injected model's SQL maps to that model's file, and the words around them to where they were inserted.
import type { RenderedModel } from './jinja';
import { SourceMap, type Segment } from './sourceMap';

/** An ephemeral model rendered for injection (its refs to other ephemeral models already render as their CTEs). */
export interface EphemeralModel {
  name: string;
  rendered: RenderedModel;
}

/** The CTE dbt names an ephemeral model by. */
export function ephemeralCteName(model: string): string {
  return `__dbt__cte__${model}`;
}

/** The ephemeral models `refs` stand on, directly or through each other: each after those it refs, each once. */
function ephemeralClosure(refs: readonly string[], ephemerals: ReadonlyMap<string, EphemeralModel>): EphemeralModel[] {
  const order: EphemeralModel[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    const model = ephemerals.get(name);
    if (!model || seen.has(name)) return;
    // Marked before its refs are visited: a cycle (the project graph refuses them) cannot loop here.
    seen.add(name);
    for (const ref of model.rendered.refs) visit(ref);
    order.push(model);
  };
  for (const ref of refs) visit(ref);
  return order;
}

/** The offset of the first token of `sql` at or after `from`: whitespace and comments skipped. */
function tokenStart(sql: string, from: number): number {
  let at = from;
  for (;;) {
    while (at < sql.length && /\s/.test(sql[at])) at++;
    if (sql.startsWith('--', at)) {
      const end = sql.indexOf('\n', at);
      at = end === -1 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', at)) {
      const end = sql.indexOf('*/', at + 2);
      at = end === -1 ? sql.length : end + 2;
    } else return at;
  }
}

/** The keyword at `at` (case-insensitive, a whole word), if it is `word`. */
function keywordAt(sql: string, at: number, word: string): boolean {
  return sql.slice(at, at + word.length).toLowerCase() === word && !/[\w$]/.test(sql[at + word.length] ?? '');
}

/**
 * `rendered` with the ephemeral models it stands on injected as CTEs; unchanged when it stands on none. `refs` are
 * the models it ref()s.
 */
export function injectEphemerals(
  rendered: RenderedModel,
  ephemerals: ReadonlyMap<string, EphemeralModel>,
): RenderedModel {
  const ctes = ephemeralClosure(rendered.refs, ephemerals);
  if (ctes.length === 0) return rendered;
  const { sql, sourceMap } = rendered;
  const first = tokenStart(sql, 0);
  let insertAt = first;
  let merge = false;
  if (keywordAt(sql, first, 'with')) {
    merge = true;
    insertAt = first + 'with'.length;
    const next = tokenStart(sql, insertAt);
    if (keywordAt(sql, next, 'recursive')) insertAt = next + 'recursive'.length;
  }

  const segments: Segment[] = [];
  let text = '';
  /** Words of our own, mapped (as nothing of their own) to a point of a file. */
  const glue = (words: string, source: { file: string; original: string }, offset: number) => {
    segments.push({
      renderedStart: text.length,
      renderedEnd: text.length + words.length,
      originalStart: offset,
      originalEnd: offset,
      literal: false,
      source,
    });
    text += words;
  };
  const copy = (map: SourceMap, from: string, start: number, end: number) => {
    segments.push(...map.slice(start, end, text.length));
    text += from.slice(start, end);
  };
  // The words inserted into the model's text map to where it was cut.
  const { source: own, offset: cutOffset } = sourceMap.origin(insertAt);

  copy(sourceMap, sql, 0, insertAt);
  if (!merge) glue('with', own, cutOffset);
  ctes.forEach((cte, index) => {
    const model = { file: cte.rendered.sourceMap.file, original: cte.rendered.sourceMap.original };
    glue(`${index === 0 ? ' ' : ', '}${ephemeralCteName(cte.name)} as (\n`, model, 0);
    const body = cte.rendered.sql.replace(/[\s;]+$/, '');
    copy(cte.rendered.sourceMap, body, 0, body.length);
    glue('\n)', model, 0);
  });
  glue(merge ? ',' : '\n', own, cutOffset);
  copy(sourceMap, sql, insertAt, sql.length);
  return { ...rendered, sql: text, sourceMap: new SourceMap(sourceMap.file, sourceMap.original, segments) };
}
