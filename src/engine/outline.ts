// What the editor needs to know about a model file as it is typed: is it a segment model, and where are its CTEs.
import type { FileLocation } from './errors';
import { renderModel } from './jinja';
import { parseSql, topLevelWith } from './sqlSyntax';

/**
 * A cheap test, run on every SQL file the editor shows: a CASE (the segmentation), a region and a GROUP BY.
 * Files that fail it cost nothing more.
 */
export function looksLikeSegmentModel(text: string): boolean {
  return /\bgroup\s+by\b/i.test(text) && /\bregion\b/i.test(text) && /\bcase\b[\s\S]*?\bend\b/i.test(text);
}

/** The model's top-level CTEs and where their names are written; undefined when the text cannot be rendered yet. */
export function outlineModel(text: string, file: string): { name: string; location: FileLocation }[] | undefined {
  let rendered;
  try {
    rendered = renderModel(text, file, { target: { name: 'dev', schema: 'main', type: 'sqlite' }, env: {}, lenient: true });
  } catch {
    return undefined;
  }
  const parsed = parseSql(rendered.sql);
  const withClause = parsed.ok ? topLevelWith(parsed.program) : undefined;
  return (withClause?.ctes ?? []).map((cte) => ({ name: cte.name, location: rendered.sourceMap.location(cte.nameStart, cte.nameEnd) }));
}
