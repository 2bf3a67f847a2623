// Where a model's CTEs are, for the CodeLens: rendered leniently as the user types, then parsed.
import type { FileLocation } from '../errors';
import { renderModel } from './jinja';
import { jinjaRuntime } from './jinjaRuntime';
import { parseSql, topLevelWith } from '../sql/syntax';

/**
 * The model's top-level CTEs and where their names are written; undefined when the text cannot be rendered yet.
 * Rendering is sandboxed (jinjaRuntime.ts), so this runs in any workspace; it parses only, as dbt's parse phase:
 * `execute` is false and nothing queries data.
 */
export function outlineModel(
  text: string,
  file: string,
  jinjaDir: string,
): { name: string; location: FileLocation }[] | undefined {
  let rendered;
  try {
    rendered = renderModel(text, file, {
      jinja: jinjaRuntime(jinjaDir),
      target: { name: 'dev', schema: 'main', type: 'sqlite' },
      env: {},
      execute: false,
      lenient: true,
    });
  } catch {
    return undefined;
  }
  const parsed = parseSql(rendered.sql);
  const withClause = parsed.ok ? topLevelWith(parsed.program) : undefined;
  return (withClause?.ctes ?? []).map((cte) => ({
    name: cte.name,
    location: rendered.sourceMap.location(cte.nameStart, cte.nameEnd),
  }));
}
