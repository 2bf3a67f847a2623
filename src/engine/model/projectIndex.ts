// Where the names a model's Jinja uses are defined, for Go to Definition: each model's file, each seed's CSV, each
// source table's entry in its properties file. Read through the run's own project reader, so the folders
// dbt_project.yml names are checked as a run checks them (inside the workspace when it is not trusted).
import path from 'node:path';
import type { FileLocation } from '../errors';
import { Workspace } from '../workspace';
import { findDbtProjectDir, loadDbtProject } from './dbtProject';

export interface ProjectDefinitions {
  /** The dbt project's folder. */
  dir: string;
  /** Each model's SQL file, by model name. */
  models: Map<string, string>;
  /** Each seed's CSV file, by seed name. */
  seeds: Map<string, string>;
  /** Where `source(source, table)` is declared: its table's `name:` in the properties file. */
  sources: Map<string, Map<string, FileLocation>>;
}

/** The dbt project folder a file belongs to (the nearest with dbt_project.yml, not above the workspace). */
export function projectDirOf(file: string, workspaceDir: string): Promise<string | undefined> {
  return findDbtProjectDir(path.dirname(file), workspaceDir);
}

/**
 * What the dbt project in `projectDir` defines, or undefined when it cannot be read (a refused path in an untrusted
 * workspace, a broken dbt_project.yml: the run reports those).
 */
export async function projectDefinitions(
  projectDir: string,
  where: { workspaceDir: string; trusted: boolean },
): Promise<ProjectDefinitions | undefined> {
  try {
    const project = await loadDbtProject(
      projectDir,
      new Workspace({ workspaceDir: where.workspaceDir, settings: {}, trusted: where.trusted }),
    );
    return {
      dir: projectDir,
      models: new Map([...project.models].map(([name, model]) => [name, model.file])),
      seeds: project.seedFiles,
      sources: new Map([...project.sources].map(([name, source]) => [name, source.tables ?? new Map()])),
    };
  } catch {
    return undefined;
  }
}

/** A `ref()` or `source()` call written in a model, and where its arguments are (0-based offsets in the line). */
export type JinjaReference =
  | { kind: 'ref'; name: string; start: number; end: number }
  | { kind: 'source'; source: string; table: string; start: number; end: number };

const REFERENCE =
  /\b(ref|source)\s*\(\s*(?:'([^'\n]*)'|"([^"\n]*)")\s*(?:,\s*(?:'([^'\n]*)'|"([^"\n]*)")\s*)?(?:,[^)\n]*)?\)/g;

/** The `ref('x')`, `ref('package', 'x')` or `source('s', 't')` on `line` that `offset` (0-based) falls in. */
export function referenceAt(line: string, offset: number): JinjaReference | undefined {
  for (const match of line.matchAll(REFERENCE)) {
    const start = match.index;
    const end = start + match[0].length;
    if (offset < start || offset > end) continue;
    const first = match[2] ?? match[3];
    const second = match[4] ?? match[5];
    if (match[1] === 'ref') return { kind: 'ref', name: second ?? first, start, end };
    if (second !== undefined) return { kind: 'source', source: first, table: second, start, end };
  }
  return undefined;
}
