import path from 'node:path';
import { pathExists, readTextFile } from '../files';
import type { FileLocation } from '../errors';
import { readYamlFile, readYamlSource, type YamlSource } from '../yamlFile';
import { Workspace } from '../workspace';
import type { ModelFile } from './modelFile';
import { folderKey, readSeedConfigs, type DbtSeeds } from './seedConfig';
import { isRecord } from '../../shared/json';

export interface DbtSource {
  schema: string;
  /** Table name in the source → identifier in the database. */
  identifiers: Map<string, string>;
  /** Table name in the source → where its entry (`- name: t`) is written in the properties file. */
  tables?: Map<string, FileLocation>;
}

/** What the dbt project says about where models and sources live, as far as rendering a model needs. */
export interface DbtProject {
  dir: string;
  name?: string;
  profile?: string;
  vars: Record<string, unknown>;
  /** Custom schema of each model (dbt_project.yml `+schema` by folder, overridden by properties `config: {schema}`). */
  modelSchemas: Map<string, string>;
  /**
   * On a PostgreSQL target: the schema dbt-postgres builds each model (and seed) in, as its generate_schema_name
   * gives it (jinja.ts withGeneratedSchemas). Absent on SQLite, where a custom schema is the attached database.
   */
  generatedSchemas?: Map<string, string>;
  /** Model and seed names that exist in the project. */
  nodes: Set<string>;
  /** Each seed's CSV file, by seed name (the first of a name). */
  seedFiles: Map<string, string>;
  sources: Map<string, DbtSource>;
  /** `alias` of each model that has one (in-file `config(alias=…)` or a properties file). */
  modelAliases: Map<string, string>;
  /**
   * Each model's file, text and the `materialized` / `enabled` configs dbt_project.yml (by folder) and properties
   * files give it (a model's own config() overrides them: the project graph reads it when rendering).
   */
  models: Map<string, ProjectModel>;
  /** Every model file of a name more than one file has (the first of them is in `models`). */
  sameNamedModels: Map<string, ProjectModel[]>;
  /** Where each macro lives: the root project's `macro-paths`, then each installed package's. */
  macroFiles: MacroFile[];
  /** Installed packages (under `packages-install-path`), by their own project name. */
  packages: { name: string; dir: string }[];
  /** Packages packages.yml lists that are not installed: `dbt deps` has not run. */
  missingPackages: string[];
  /** dbt_project.yml `dispatch:`: the packages searched, in order, for each macro namespace. */
  dispatchOrder: Map<string, string[]>;
  /** How dbt loads each seed (seedConfig.ts). */
  seeds?: DbtSeeds;
}

/** The schema ref() renders a model or seed in: the generated one on PostgreSQL, else its custom schema or the target's. */
export function relationSchemaOf(project: DbtProject | undefined, name: string, targetSchema: string): string {
  return project?.generatedSchemas?.get(name) ?? project?.modelSchemas.get(name) ?? targetSchema;
}

/** A model file of the project. */
export interface ProjectModel {
  name: string;
  file: string;
  text: string;
  materialized?: string;
  enabled?: boolean;
}

/** A file of macros and the namespace its macros belong to (the project or package name). */
export interface MacroFile {
  namespace: string;
  file: string;
}

/** The nearest folder at or above `start` (but not above `workspaceDir`) holding dbt_project.yml. */
export async function findDbtProjectDir(start: string, workspaceDir: string): Promise<string | undefined> {
  let dir = path.resolve(start);
  const root = path.resolve(workspaceDir);
  for (;;) {
    if (await pathExists(path.join(dir, 'dbt_project.yml'))) return dir;
    if (dir === root || !dir.startsWith(root)) return undefined;
    dir = path.dirname(dir);
  }
}

function stringList(value: unknown, fallback: string[]): string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : fallback;
}

/** A config in a dbt_project.yml `models:` level (`+schema`, or `schema` as older projects write it). */
function levelConfig(level: Record<string, unknown>, key: string): unknown {
  return level[`+${key}`] ?? level[key];
}

/** Walks the `models: <project>:` tree down a model's folders; the deepest `+key` wins. */
function folderConfig(
  modelsConfig: unknown,
  projectName: string | undefined,
  folders: string[],
  model: string,
  key: string,
): unknown {
  if (!isRecord(modelsConfig)) return undefined;
  let level: unknown = projectName ? modelsConfig[projectName] : undefined;
  let value: unknown;
  for (const part of [...folders, model]) {
    if (!isRecord(level)) break;
    value = levelConfig(level, key) ?? value;
    level = level[part];
  }
  if (isRecord(level)) value = levelConfig(level, key) ?? value;
  return value;
}

function folderSchema(
  modelsConfig: unknown,
  projectName: string | undefined,
  folders: string[],
  model: string,
): string | undefined {
  const value = folderConfig(modelsConfig, projectName, folders, model, 'schema');
  return typeof value === 'string' ? value : undefined;
}

/** A project with what `given` says and nothing else: no models, macros, packages or sources yet. */
export function dbtProject(given: Partial<DbtProject> & { dir: string }): DbtProject {
  return {
    vars: {},
    modelSchemas: new Map(),
    nodes: new Set(),
    seedFiles: new Map(),
    sources: new Map(),
    modelAliases: new Map(),
    models: new Map(),
    sameNamedModels: new Map(),
    macroFiles: [],
    packages: [],
    missingPackages: [],
    dispatchOrder: new Map(),
    ...given,
  };
}

/** The dbt project a model belongs to (for the bundled sample: one at the workspace's root), if there is one. */
export async function projectOfModel(
  model: Pick<ModelFile, 'file' | 'sample'>,
  workspace: Workspace,
): Promise<DbtProject | undefined> {
  const dir = await findDbtProjectDir(model.sample ? workspace.dir : path.dirname(model.file), workspace.dir);
  return dir ? loadDbtProject(dir, workspace) : undefined;
}

/**
 * Reads the dbt project in `dir`: its dbt_project.yml, and the files in the folders it names, each listed and read
 * through `workspace` (checked to stay inside it when it is not trusted). Without a workspace (the CodeLens of a
 * trusted workspace, tests), the project's folder as a trusted one.
 */
export async function loadDbtProject(
  dir: string,
  workspace = new Workspace({ workspaceDir: dir, settings: {} }),
): Promise<DbtProject> {
  const projectFile = await workspace.resolve(path.join(dir, 'dbt_project.yml'), { what: 'The dbt project file' });
  const source = await readYamlSource(projectFile, 'The dbt project file');
  const project = isRecord(source.value) ? source.value : {};
  const name = typeof project.name === 'string' ? project.name : undefined;
  const result = dbtProject({
    dir,
    name,
    profile: typeof project.profile === 'string' ? project.profile : undefined,
    vars: isRecord(project.vars) ? project.vars : {},
    seeds: await readSeedConfigs(dir, source, workspace),
  });
  for (const entry of Array.isArray(project.dispatch) ? project.dispatch : []) {
    if (isRecord(entry) && typeof entry.macro_namespace === 'string') {
      result.dispatchOrder.set(entry.macro_namespace, stringList(entry.search_order, [entry.macro_namespace]));
    }
  }
  const rootNamespace = name ?? path.basename(dir);
  const folders = (key: string, old: string | undefined, fallback: string) => {
    // The pre-1.0 name when only it is written; the current one otherwise (and for the default).
    const written = project[key] === undefined && old !== undefined && project[old] !== undefined ? old : key;
    return stringList(project[written], [fallback]).map((folder, index) => ({
      folder,
      origin: folderKey(source, written, project[written] === undefined ? `${folder} (the default)` : folder, index),
    }));
  };
  for (const { folder, origin } of folders('macro-paths', undefined, 'macros')) {
    for (const file of await workspace.listFiles(path.join(dir, folder), ['.sql'], origin))
      result.macroFiles.push({ namespace: rootNamespace, file });
  }
  await readPackages(dir, source, workspace, result);
  // A model's own config() wins over properties files, which win over dbt_project.yml: read last.
  const inFile: [text: string, model: string][] = [];
  for (const { folder, origin } of folders('model-paths', 'source-paths', 'models')) {
    const root = path.join(dir, folder);
    const files = await workspace.listFiles(root, ['.sql', '.yml', '.yaml'], origin);
    for (const file of files.filter((item) => path.extname(item).toLowerCase() === '.sql')) {
      const model = path.basename(file, path.extname(file));
      result.nodes.add(model);
      const folders = path.relative(root, path.dirname(file)).split(path.sep).filter(Boolean);
      const schema = folderSchema(project.models, name, folders, model);
      if (schema) result.modelSchemas.set(model, schema);
      const text = await readTextFile(file, 'The model file');
      const materialized = folderConfig(project.models, name, folders, model, 'materialized');
      const enabled = folderConfig(project.models, name, folders, model, 'enabled');
      const found: ProjectModel = {
        name: model,
        file,
        text,
        materialized: typeof materialized === 'string' ? materialized : undefined,
        enabled: typeof enabled === 'boolean' ? enabled : undefined,
      };
      const first = result.models.get(model);
      if (first) result.sameNamedModels.set(model, [...(result.sameNamedModels.get(model) ?? [first]), found]);
      else result.models.set(model, found);
      inFile.push([text, model]);
    }
    for (const file of files.filter((item) => path.extname(item).toLowerCase() !== '.sql'))
      readProperties(await readYamlSource(file, 'The properties file'), result);
  }
  for (const [text, model] of inFile) readInFileConfig(text, model, result);
  for (const { folder, origin } of folders('seed-paths', 'data-paths', 'seeds')) {
    for (const file of await workspace.listFiles(path.join(dir, folder), ['.csv'], origin)) {
      const seed = path.basename(file, path.extname(file));
      result.nodes.add(seed);
      if (!result.seedFiles.has(seed)) result.seedFiles.set(seed, file);
    }
  }
  return result;
}

/** Reads `models:` schema configs and `sources:` (with where each table is written) from a properties file. */
function readProperties(source: YamlSource, project: DbtProject): void {
  const properties = source.value;
  if (!isRecord(properties)) return;
  for (const model of Array.isArray(properties.models) ? properties.models : []) {
    if (!isRecord(model) || typeof model.name !== 'string') continue;
    const schema = isRecord(model.config) ? model.config.schema : undefined;
    if (typeof schema === 'string') project.modelSchemas.set(model.name, schema);
    const alias = isRecord(model.config) ? model.config.alias : undefined;
    if (typeof alias === 'string') project.modelAliases.set(model.name, alias);
    // Properties files are read after every model file of their folder was listed: the model is known by then.
    const known = project.models.get(model.name);
    const materialized = isRecord(model.config) ? model.config.materialized : undefined;
    if (known && typeof materialized === 'string') known.materialized = materialized;
    const enabled = isRecord(model.config) ? model.config.enabled : undefined;
    if (known && typeof enabled === 'boolean') known.enabled = enabled;
  }
  const sources = Array.isArray(properties.sources) ? properties.sources : [];
  for (const [sourceIndex, dbtSource] of sources.entries()) {
    if (!isRecord(dbtSource) || typeof dbtSource.name !== 'string') continue;
    const identifiers = new Map<string, string>();
    const tables = new Map<string, FileLocation>();
    for (const [tableIndex, table] of (Array.isArray(dbtSource.tables) ? dbtSource.tables : []).entries()) {
      if (!isRecord(table) || typeof table.name !== 'string') continue;
      identifiers.set(table.name, typeof table.identifier === 'string' ? table.identifier : table.name);
      tables.set(table.name, source.locate(['sources', sourceIndex, 'tables', tableIndex, 'name']));
    }
    project.sources.set(dbtSource.name, {
      schema: typeof dbtSource.schema === 'string' ? dbtSource.schema : dbtSource.name,
      identifiers,
      tables,
    });
  }
}

/** `schema=` and `alias=` given as string literals in a model's own `{{ config(…) }}`: they win over every file. */
function readInFileConfig(text: string, model: string, project: DbtProject): void {
  for (const call of text.matchAll(/\{\{-?\s*config\s*\(([^)]*)\)/g)) {
    for (const match of call[1].matchAll(/\b(schema|alias)\s*=\s*(?:'([^']*)'|"([^"]*)")/g)) {
      const value = match[2] ?? match[3];
      if (match[1] === 'schema') project.modelSchemas.set(model, value);
      else project.modelAliases.set(model, value);
    }
  }
}

/** The packages `dbt deps` installed (each folder with a dbt_project.yml), and those packages.yml lists but lacks. */
async function readPackages(dir: string, source: YamlSource, workspace: Workspace, result: DbtProject): Promise<void> {
  const project = isRecord(source.value) ? source.value : {};
  const written = project['packages-install-path'];
  const installPath = path.join(dir, typeof written === 'string' ? written : 'dbt_packages');
  const origin = folderKey(
    source,
    'packages-install-path',
    typeof written === 'string' ? written : 'dbt_packages (the default)',
  );
  // `dbt deps` links a local package in: a link to a folder is a package folder too.
  const folders = await workspace.listFolders(installPath, origin);
  for (const packageDir of folders.sort((a, b) => path.basename(a).localeCompare(path.basename(b)))) {
    const packageFile = await workspace.resolve(path.join(packageDir, 'dbt_project.yml'), {
      what: "The package's dbt project file",
    });
    if (!(await pathExists(packageFile))) continue;
    const packageSource = await readYamlSource(packageFile, "The package's dbt project file");
    const packageConfig = isRecord(packageSource.value) ? packageSource.value : {};
    const name = typeof packageConfig.name === 'string' ? packageConfig.name : path.basename(packageDir);
    result.packages.push({ name, dir: packageDir });
    const macroPaths = packageConfig['macro-paths'];
    for (const [index, macroPath] of stringList(macroPaths, ['macros']).entries()) {
      const macroOrigin = folderKey(
        packageSource,
        'macro-paths',
        macroPaths === undefined ? `${macroPath} (the default)` : macroPath,
        index,
      );
      for (const file of await workspace.listFiles(path.join(packageDir, macroPath), ['.sql'], macroOrigin))
        result.macroFiles.push({ namespace: name, file });
    }
  }
  for (const listing of ['packages.yml', 'dependencies.yml']) {
    const listingFile = await workspace.resolve(path.join(dir, listing), { what: `The dbt ${listing} file` });
    if (!(await pathExists(listingFile))) continue;
    const listed = await readYamlFile(listingFile, `The dbt ${listing} file`);
    const entries = isRecord(listed) && Array.isArray(listed.packages) ? listed.packages : [];
    const installed = new Set([
      ...result.packages.map((item) => item.name),
      ...folders.map((item) => path.basename(item)),
    ]);
    for (const entry of entries) {
      if (!isRecord(entry)) continue;
      // The hub's `org/name` and a git URL's last part are the folder `dbt deps` installs into.
      const source =
        typeof entry.package === 'string' ? entry.package : typeof entry.git === 'string' ? entry.git : undefined;
      const expected = source
        ?.split('/')
        .pop()
        ?.replace(/\.git$/, '');
      if (expected && !installed.has(expected)) result.missingPackages.push(source!);
    }
  }
}
