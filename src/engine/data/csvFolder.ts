// Opens a folder of CSV seeds: each file a table, each subfolder a schema.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SqlJsStatic } from 'sql.js';
import { LensError } from '../errors';
import { loadCsvTable } from './csvLoader';
import { LoadedData, MAX_CSV_BYTES, tooLarge, type SourceInfo } from './loadedData';

/** Every `*.csv` in `directory` is a table named after the file; a subfolder's name is the schema of its files. */
export async function openCsvDirectory(
  sql: SqlJsStatic,
  directory: string,
  source: Omit<SourceInfo, 'files' | 'schemas'>,
  setting: string,
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
  const csvIn = (dir: string) =>
    readdir(dir).then((names) =>
      names
        .filter((name) => name.toLowerCase().endsWith('.csv'))
        .sort()
        .map((name) => path.join(dir, name)),
    );
  const folders = (await readdir(directory, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const groups: { schema: string; folder: string; files: string[] }[] = [
    { schema: 'main', folder: directory, files: await csvIn(directory) },
  ];
  for (const folder of folders)
    groups.push({
      schema: folder,
      folder: path.join(directory, folder),
      files: await csvIn(path.join(directory, folder)),
    });
  const files = groups.flatMap((group) => group.files);
  const bytes = (await Promise.all(files.map((file) => stat(file).then((fileInfo) => fileInfo.size)))).reduce(
    (sum, size) => sum + size,
    0,
  );
  if (bytes > MAX_CSV_BYTES) throw tooLarge(files, bytes, MAX_CSV_BYTES);
  const data = new LoadedData(new sql.Database(), { ...source, files: [], schemas: { main: directory } });
  try {
    for (const group of groups.filter((item) => item.files.length > 0)) {
      let db = data.main;
      if (group.schema !== 'main') {
        db = new sql.Database();
        data.attach(group.schema, db);
        data.source.schemas[group.schema] = group.folder;
      }
      for (const file of group.files) {
        await loadCsvTable(db, path.basename(file, path.extname(file)), file);
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
      message: `The CSV folder ${directory} (${setting}) has no .csv files.`,
      hint: "Put one CSV file per table in it; a subfolder's name becomes the schema of its files.",
    });
  }
  return data;
}
