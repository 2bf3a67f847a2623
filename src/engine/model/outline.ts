// Where a model's CTEs are, for the CodeLens: rendered leniently as the user types, then parsed.
import type { FileLocation } from '../errors';
import path from 'node:path';
import { findDbtProjectDir, loadDbtProject } from './dbtProject';
import { renderModel } from './jinja';
import { loadMacroLibrary } from './macroLibrary';
import { jinjaRuntime } from './jinjaRuntime';
import { parseSql, topLevelWith } from '../sql/syntax';
import { DEFAULT_TARGET } from './dbtContext';

// The editor's other questions, in this bundle the host loads on first use: where ref() and source() are defined.
export { projectDefinitions, projectDirOf, referenceAt } from './projectIndex';

/**
 * The model's top-level CTEs and where their names are written; undefined when the text cannot be rendered yet.
 * Rendering is sandboxed (jinjaRuntime.ts), so this runs in any workspace; it parses only, as dbt's parse phase:
 * `execute` is false and nothing queries data.
 */
export async function outlineModel(
  text: string,
  file: string,
  where: { jinjaDir: string; workspaceDir: string; trusted: boolean },
): Promise<{ name: string; location: FileLocation }[] | undefined> {
  let rendered;
  try {
    // The model's dbt project and its macros (a model that calls them renders only with them); merely opening a
    // file of a workspace not trusted reads nothing but the file (its dbt_project.yml may point anywhere).
    const projectDir = where.trusted ? await findDbtProjectDir(path.dirname(file), where.workspaceDir) : undefined;
    const project = projectDir ? await loadDbtProject(projectDir) : undefined;
    const { library, text: macroText } = await loadMacroLibrary(project);
    rendered = renderModel(text, file, {
      jinja: jinjaRuntime(where.jinjaDir),
      library,
      macroText,
      project,
      target: DEFAULT_TARGET,
      env: {},
      execute: false,
      lenient: true,
    });
  } catch {
    return undefined;
  }
  // The connection is not known here: PostgreSQL's grammar (a dbt-postgres model's `::`), else SQLite's.
  const parsed = parseSql(rendered.sql, 'postgresql');
  const withClause = parsed.ok ? topLevelWith(parsed.program) : undefined;
  return (withClause?.ctes ?? []).map((cte) => ({
    name: cte.name,
    location: rendered.sourceMap.location(cte.nameStart, cte.nameEnd),
  }));
}
