// dbt's seed configs, resolved as dbt resolves them. dbt_project.yml's `seeds:` tree is walked down the seed's fully
// qualified name (the root, the project's name, the seed's folders below its seed path, the seed's name): at each
// level a key is a config when it starts with `+`, or when its value is not a mapping (a mapping without `+` is a
// folder). Deeper levels win; then the seed's `config:` in a properties file wins over all of them. `column_types`
// merges column by column (dbt's MergeBehavior.Update); every other config is replaced.
import path from 'node:path';
import { isRecord } from '../../shared/json';
import type { FileLocation, LensErrorValue } from '../errors';
import type { PathOrigin, Workspace } from '../workspace';
import { readYamlSource, type YamlSource } from '../yamlFile';

/** A type dbt's `column_types` declares for a column, and where. */
export interface SeedColumnType {
  type: string;
  at: FileLocation;
  /**
   * Declared for this seed by name (its own level of dbt_project.yml, or its properties entry), not for a folder or
   * the project: a column the file lacks is an error then, and skipped otherwise (the config serves other seeds).
   */
  own: boolean;
}

/** What dbt's configs say about loading one seed. */
export interface SeedConfig {
  enabled: boolean;
  /** The seed's custom schema (`+schema`); unset, the folder decides. */
  schema?: string;
  delimiter: string;
  /** dbt quotes column names when true; Segment Lens always uses the names exactly as the header writes them. */
  quoteColumns?: boolean;
  /** By column name, exactly as the header writes it (dbt matches names exactly). */
  columnTypes: Map<string, SeedColumnType>;
  /** A config Segment Lens cannot use (a delimiter of two characters, Jinja, …): loading this seed fails with it. */
  problem?: LensErrorValue;
}

/** The seed configs of a dbt project. */
export interface DbtSeeds {
  /** The project's seed folders (`seed-paths`), absolute. */
  paths: string[];
  /** dbt_project.yml and the properties files that configure seeds: a change to one changes the loaded data. */
  files: string[];
  /** Each seed's resolved config, by its CSV file (absolute). */
  configs: Map<string, SeedConfig>;
  /** Configs dbt reads differently from how they look (column_types without `+`), to tell the user. */
  notes: string[];
  /** Each seed a properties file names (`seeds: - name: …`), and that file: a seed the project expects. */
  declared: Map<string, string>;
}

const SEED_PATHS = ['seed-paths', 'data-paths', 'seeds'] as const;
/** Where dbt looks for properties files (its `all_source_paths`): the key, its pre-1.0 name, the default. */
const PROPERTY_PATHS = [
  ['model-paths', 'source-paths', 'models'],
  SEED_PATHS,
  ['snapshot-paths', undefined, 'snapshots'],
  ['analysis-paths', undefined, 'analyses'],
  ['macro-paths', undefined, 'macros'],
] as const;

/** A folder a dbt_project.yml names under `key` (its `index`th entry), as a message refusing it names it. */
export function folderKey(
  source: YamlSource,
  key: string,
  written: string,
  index?: number,
): Extract<PathOrigin, { key: string }> {
  return { file: source.file, key, written, location: source.locate(index === undefined ? [key] : [key, index]) };
}

function folders(
  project: YamlSource,
  dir: string,
  [key, old, fallback]: readonly [string, string | undefined, string],
): { folder: string; origin: PathOrigin }[] {
  const settings = isRecord(project.value) ? project.value : {};
  const name = settings[key] === undefined && old && settings[old] !== undefined ? old : key;
  const value = settings[name];
  const list = Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : [fallback];
  // Only folders inside the project: dbt resolves them from there, and nothing outside is read.
  return list
    .map((item, index) => ({
      folder: path.resolve(dir, item),
      origin: folderKey(project, name, value === list ? item : `${item} (the default)`, index),
    }))
    .filter(({ folder }) => isInside(dir, folder));
}

function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative === '' || (relative.split(path.sep)[0] !== '..' && !path.isAbsolute(relative));
}

/** One level of config: its values, and where each is written. */
interface ConfigLevel {
  /** The seed's own level (its name in dbt_project.yml, or its properties entry). */
  own: boolean;
  values: [key: string, value: unknown][];
  locate(key: string, ...below: string[]): FileLocation;
}

function jinja(value: unknown): boolean {
  return typeof value === 'string' && /\{\{|\{%/.test(value);
}

function flag(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return undefined;
}

/** Applies one level's configs to `config`; `problems` holds, by config key, a value that cannot be used. */
function apply(config: SeedConfig, problems: Map<string, LensErrorValue>, level: ConfigLevel, seedFile: string): void {
  for (const [key, value] of level.values) {
    const at = level.locate(key);
    const where = `${at.file}:${at.line}`;
    const problem = (message: string, hint: string, location = at) =>
      problems.set(key, { code: 'yaml', message: `${message} (${where}, for seed ${seedFile}).`, hint, location });
    if (!['enabled', 'schema', 'delimiter', 'quote_columns', 'column_types'].includes(key)) continue;
    problems.delete(key);
    if (value === null || value === undefined) {
      // A null config is dbt's default again.
      if (key === 'schema') config.schema = undefined;
      if (key === 'delimiter') config.delimiter = ',';
      if (key === 'quote_columns') config.quoteColumns = undefined;
      continue;
    }
    if (jinja(value)) {
      problem(
        `The seed config ${key} is Jinja (${JSON.stringify(value)}), which Segment Lens does not render in dbt configs`,
        `Write the value itself for ${key}.`,
      );
      continue;
    }
    switch (key) {
      case 'enabled':
      case 'quote_columns': {
        const parsed = flag(value);
        if (parsed === undefined)
          problem(
            `The seed config ${key} is ${JSON.stringify(value)}, not true or false`,
            `Set ${key} to true or false.`,
          );
        else if (key === 'enabled') config.enabled = parsed;
        else config.quoteColumns = parsed;
        break;
      }
      case 'schema':
        if (typeof value === 'string' && value.trim() !== '') config.schema = value;
        else problem(`The seed config schema is ${JSON.stringify(value)}, not a schema name`, 'Set schema to a name.');
        break;
      case 'delimiter':
        if (typeof value === 'string' && [...value].length === 1) config.delimiter = value;
        else
          problem(
            `The seed config delimiter is ${JSON.stringify(value)}, not one character`,
            'dbt reads seeds with a one-character delimiter, such as "," ";" "|" or "\\t".',
          );
        break;
      case 'column_types':
        if (!isRecord(value)) {
          problem(
            `The seed config column_types is ${JSON.stringify(value)}, not a mapping of column names to types`,
            'Write column_types as a mapping, e.g. column_types: {zip_code: varchar}.',
          );
          break;
        }
        for (const [column, type] of Object.entries(value)) {
          const columnKey = `column_types.${column}`;
          const columnAt = level.locate(key, column);
          problems.delete(columnKey);
          if (typeof type === 'string' && type.trim() !== '' && !jinja(type)) {
            config.columnTypes.set(column, { type: type.trim(), at: columnAt, own: level.own });
            continue;
          }
          config.columnTypes.delete(column);
          problems.set(columnKey, {
            code: 'yaml',
            message: `column_types gives column "${column}" of seed ${seedFile} the type ${JSON.stringify(type)}, which is not a type name (${columnAt.file}:${columnAt.line}).`,
            hint: jinja(type)
              ? 'Segment Lens does not render Jinja in dbt configs: write the type itself, e.g. varchar.'
              : 'Write a type name, e.g. varchar, integer, numeric, date or boolean.',
            location: columnAt,
          });
        }
        break;
    }
  }
}

/** The levels of dbt_project.yml's `seeds:` tree that apply to a seed with this fully qualified name. */
function projectLevels(project: YamlSource, tree: unknown, fqn: string[]): ConfigLevel[] {
  const levels: ConfigLevel[] = [];
  let level = tree;
  const at: string[] = ['seeds'];
  for (let depth = 0; isRecord(level); depth++) {
    const here = [...at];
    const values = level;
    levels.push({
      own: fqn.length > 0 && depth === fqn.length,
      values: Object.entries(values)
        .filter(([key, value]) => key.startsWith('+') || !isRecord(value))
        .map(([key, value]) => [key.startsWith('+') ? key.slice(1).trim() : key, value]),
      locate: (key, ...below) => {
        const written = Object.hasOwn(values, `+${key}`) ? `+${key}` : key;
        return project.locate([...here, written, ...below]);
      },
    });
    if (depth === fqn.length) break;
    at.push(fqn[depth]);
    level = level[fqn[depth]];
  }
  return levels;
}

/** Mappings named column_types without `+` anywhere in the `seeds:` tree: dbt reads each as a folder. */
function unprefixedColumnTypes(project: YamlSource, tree: unknown, at: string[] = ['seeds']): string[] {
  if (!isRecord(tree)) return [];
  return Object.entries(tree).flatMap(([key, value]) => {
    if (!isRecord(value)) return [];
    if (key !== 'column_types') return unprefixedColumnTypes(project, value, [...at, key]);
    const where = project.locate([...at, key]);
    return [
      `${where.file}:${where.line}: ${[...at, key].join('.')} has no "+", so dbt reads it as a folder named column_types, not as a config, and does not apply these types; neither does Segment Lens. Write +column_types.`,
    ];
  });
}

/**
 * Reads the seed configs of the dbt project in `dir`: dbt_project.yml's `seeds:` (`project`, read) and properties
 * files' `seeds:`, each listed and read through `workspace`.
 */
export async function readSeedConfigs(dir: string, project: YamlSource, workspace: Workspace): Promise<DbtSeeds> {
  const settings = isRecord(project.value) ? project.value : {};
  const name = typeof settings.name === 'string' ? settings.name : undefined;
  const seedPaths = folders(project, dir, SEED_PATHS);
  const files = [project.file];

  // The `seeds:` entries of properties files, by seed name (a later file's entry for the same seed wins).
  const patches = new Map<string, ConfigLevel>();
  const declared = new Map<string, string>();
  const propertyFiles = new Set(
    (
      await Promise.all(
        PROPERTY_PATHS.flatMap((keys) => folders(project, dir, keys)).map(({ folder, origin }) =>
          workspace.listFiles(folder, ['.yml', '.yaml'], origin),
        ),
      )
    ).flat(),
  );
  for (const file of [...propertyFiles].sort()) {
    const properties = await readYamlSource(file, 'The properties file');
    const seeds = isRecord(properties.value) && Array.isArray(properties.value.seeds) ? properties.value.seeds : [];
    let configures = false;
    seeds.forEach((seed: unknown, index: number) => {
      if (isRecord(seed) && typeof seed.name === 'string' && !declared.has(seed.name)) declared.set(seed.name, file);
      if (!isRecord(seed) || typeof seed.name !== 'string' || !isRecord(seed.config)) return;
      configures = true;
      patches.set(seed.name, {
        own: true,
        values: Object.entries(seed.config),
        locate: (key, ...below) => properties.locate(['seeds', index, 'config', key, ...below]),
      });
    });
    if (configures) files.push(file);
  }

  const configs = new Map<string, SeedConfig>();
  for (const { folder: root, origin } of seedPaths) {
    for (const file of await workspace.listFiles(root, ['.csv'], origin)) {
      if (configs.has(file)) continue;
      const seed = path.basename(file, path.extname(file));
      // Without a project name only the root of `seeds:` can apply: every deeper level starts with the name.
      const fqn = name ? [name, ...path.relative(root, path.dirname(file)).split(path.sep).filter(Boolean), seed] : [];
      const config: SeedConfig = { enabled: true, delimiter: ',', columnTypes: new Map() };
      const problems = new Map<string, LensErrorValue>();
      const seedFile = path.relative(dir, file);
      for (const level of projectLevels(project, settings.seeds, fqn)) apply(config, problems, level, seedFile);
      const patch = patches.get(seed);
      if (patch) apply(config, problems, patch, seedFile);
      config.problem = problems.values().next().value;
      configs.set(file, config);
    }
  }
  return {
    paths: seedPaths.map(({ folder }) => folder),
    files,
    configs,
    notes: unprefixedColumnTypes(project, settings.seeds),
    declared,
  };
}

/** The project's seed configs when `directory` is one of its seed folders or inside one; else dbt would not load it. */
export function seedsOfFolder(seeds: DbtSeeds | undefined, directory: string): DbtSeeds | undefined {
  return seeds?.paths.some((root) => isInside(root, path.resolve(directory))) ? seeds : undefined;
}
