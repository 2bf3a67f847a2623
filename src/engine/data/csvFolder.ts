// Opens a folder of CSV seeds: each file a table, each subfolder a schema (or the schema a dbt seed config names).
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { SqlJsStatic } from 'sql.js';
import { LensError } from '../errors';
import { checkRegularFile } from '../files';
import type { Workspace } from '../workspace';
import type { DbtSeeds, SeedConfig } from '../model/seedConfig';
import { loadCsvTable } from './csvLoader';
import { LoadedData, MAX_CSV_BYTES, tooLarge, type SourceInfo } from './loadedData';

function tableName(file: string): string {
  return path.basename(file, path.extname(file));
}

/** The deepest folder holding all of `files`. */
function commonFolder(files: string[]): string {
  let folder = path.dirname(files[0]);
  while (!files.every((file) => file.startsWith(folder + path.sep)) && path.dirname(folder) !== folder)
    folder = path.dirname(folder);
  return folder;
}

/**
 * Every `*.csv` in `directory` is a table named after the file; a subfolder's name is the schema of its files. When
 * the folder holds a dbt project's seeds, their configs say how each loads: column types, delimiter, enabled, schema.
 * The files are listed through `workspace` (which checks, untrusted, where each link leads), and each must be a
 * regular file: a FIFO or a device is refused before it is opened.
 */
export async function openCsvDirectory(
  sql: SqlJsStatic,
  { directory, setting, workspace }: { directory: string; setting: string; workspace: Workspace },
  source: Omit<SourceInfo, 'files' | 'schemas'>,
  seeds?: DbtSeeds,
): Promise<LoadedData> {
  const info = await stat(directory).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new LensError({
      code: info ? 'not-a-file' : 'file-not-found',
      setting,
      message: info
        ? `${directory} (${setting}) is a file, not a folder of CSV files.`
        : `The CSV folder ${directory} (${setting}) does not exist.`,
      hint: 'Set it to the folder that holds your CSV seeds, relative to the workspace.',
    });
  }
  // The tables: CSV files at the top (schema main) and one folder down (the folder names the schema).
  const byFolder = new Map<string, string[]>([[directory, []]]);
  for (const file of await workspace.listFiles(directory, ['.csv'], setting, 1)) {
    const folder = path.dirname(file);
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), file]);
  }
  const groups = [...byFolder]
    .map(([folder, files]) => ({
      schema: folder === directory ? 'main' : path.basename(folder),
      files,
      top: folder === directory,
    }))
    .sort((a, b) => (a.top ? -1 : b.top ? 1 : a.schema < b.schema ? -1 : a.schema > b.schema ? 1 : 0));
  // Each file is a table in its folder's schema, or in the schema its dbt seed config names; a disabled seed is no table.
  const tables: { file: string; schema: string; config?: SeedConfig }[] = [];
  const disabled: string[] = [];
  for (const group of groups) {
    for (const file of group.files) {
      const config = seeds?.configs.get(file);
      if (config && !config.enabled) disabled.push(file);
      else tables.push({ file, schema: config?.schema ?? group.schema, config });
    }
  }
  const files = tables.map((table) => table.file);
  const sizes = await Promise.all(
    files.map((file) => checkRegularFile(file, { what: 'The CSV file', limit: Infinity }).then((it) => it.size)),
  );
  const bytes = sizes.reduce((sum, size) => sum + size, 0);
  if (bytes > MAX_CSV_BYTES) throw tooLarge(files, bytes, MAX_CSV_BYTES);
  // Schemas as SQLite names them (case-insensitively), main first, then in the order the files come.
  const schemas = new Map<string, { name: string; tables: typeof tables }>([['main', { name: 'main', tables: [] }]]);
  for (const table of tables) {
    const key = table.schema.toLowerCase();
    if (key === 'temp') {
      throw new LensError({
        code: 'csv',
        setting,
        message: `${table.file} would be a table in schema "${table.schema}", a name SQLite keeps for its temporary tables.`,
        hint: table.config?.schema
          ? 'Give the seed another schema in its dbt config.'
          : 'Rename the folder (its name is the schema of its files).',
        location: { file: table.file, line: 1, column: 1 },
      });
    }
    if (!schemas.has(key)) schemas.set(key, { name: table.schema, tables: [] });
    const schema = schemas.get(key)!;
    const name = tableName(table.file);
    const twin = schema.tables.find((other) => tableName(other.file).toLowerCase() === name.toLowerCase());
    if (twin) {
      throw new LensError({
        code: 'csv',
        setting,
        message: `${twin.file} and ${table.file} would both be table ${name} in schema ${schema.name}.`,
        hint: 'Give one of them another name, or another schema (dbt needs seed names to be unique too).',
        location: { file: table.file, line: 1, column: 1 },
      });
    }
    schema.tables.push(table);
  }
  const data = new LoadedData(new sql.Database(), { ...source, files: [], schemas: { main: directory } });
  try {
    for (const schema of [...schemas.values()].filter((item) => item.tables.length > 0)) {
      let db = data.main;
      if (schema.name.toLowerCase() !== 'main') {
        db = new sql.Database();
        data.attach(schema.name, db);
        data.source.schemas[schema.name] = commonFolder(schema.tables.map((table) => table.file));
      }
      for (const { file, config } of schema.tables) {
        if (config?.problem) throw new LensError(config.problem);
        await loadCsvTable(db, tableName(file), file, config);
        data.source.files.push(file);
      }
    }
  } catch (error) {
    data.close();
    throw error;
  }
  if (data.source.files.length === 0) {
    data.close();
    throw new LensError({
      code: 'file-not-found',
      setting,
      message: disabled.length
        ? `The CSV folder ${directory} (${setting}) has no enabled seeds: dbt's config disables ${disabled.map((file) => path.basename(file)).join(', ')} (enabled: false).`
        : `The CSV folder ${directory} (${setting}) has no .csv files.`,
      hint: disabled.length
        ? 'Enable a seed in dbt_project.yml or its properties file, or point the setting at another folder.'
        : "Put one CSV file per table in it; a subfolder's name becomes the schema of its files.",
    });
  }
  if (seeds) {
    data.source.files.push(...seeds.files);
    data.notes.push(...seeds.notes);
  }
  return data;
}
