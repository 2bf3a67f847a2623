// Opens the user's data into sql.js. Everything is an in-memory copy: source files are only ever read.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import { LensError } from './errors';
import { loadCsvTable } from './csvLoader';
import { quoteIdentifier, quoteString } from './sqlNames';

/** What was opened, as reported to the user. */
export interface SourceInfo {
  type: 'sample' | 'sqlite' | 'dbt' | 'csv';
  /** One line for a status bar, e.g. "SQLite warehouse.db + staging". */
  description: string;
  /** Files read, absolute. */
  files: string[];
  /** Each schema and the file or folder behind it. */
  schemas: Record<string, string>;
  profile?: string;
  target?: string;
}

/**
 * sql.js holds the whole database in memory, as JavaScript buffers (about twice its size while loading), and Node
 * reads no file over 2 GiB at once: past these sizes Segment Lens says so instead of running out of memory.
 */
export const MAX_SQLITE_BYTES = 2 * 1024 ** 3 - 1;
export const MAX_CSV_BYTES = 1.5 * 1024 ** 3;

function tooLarge(files: string[], bytes: number, limit: number): LensError {
  const gib = (value: number) => `${(value / 1024 ** 3).toFixed(1)} GiB`;
  return new LensError({
    code: 'too-large',
    message: `The data is ${gib(bytes)} (${files.map((file) => path.basename(file)).join(', ')}), more than Segment Lens can hold in memory (${gib(limit)}).`,
    hint: 'Point segmentLens.connection at a smaller extract (a sample, or fewer columns), or run the model in your warehouse.',
  });
}

/** A database file to open as a schema. */
export interface SchemaFile {
  schema: string;
  file: string;
}

const SQLITE_HEADER = 'SQLite format 3\0';

/** sql.js keeps each database in its in-memory file system under this name. */
function memfsPath(db: Database): string {
  return `/${(db as unknown as { filename: string }).filename}`;
}

async function readDataFile(file: string, what: string, hint: string): Promise<Buffer> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new LensError({ code: 'file-not-found', message: `${what} ${file} does not exist.`, hint });
  if (!info.isFile()) throw new LensError({ code: 'not-a-file', message: `${what} ${file} is a folder, not a file.`, hint });
  return readFile(file);
}

export class LoadedData {
  private readonly databases: Database[] = [];
  /** `schema.table.column` (lower case) of keys the layout proved unique. */
  readonly uniqueKeys = new Set<string>();
  /** What the user should know about how the data was read (e.g. a WAL file it could not include). */
  readonly notes: string[] = [];
  /** Results of the data checks (checks.ts), by check and column: each is computed once per load. */
  readonly checks = new Map<string, string | undefined>();
  constructor(readonly main: Database, readonly source: SourceInfo) {
    this.databases.push(main);
  }

  /** Attaches a database held by another sql.js connection (the file lives in sql.js's memory) as `schema`. */
  attach(schema: string, db: Database): void {
    this.databases.push(db);
    this.main.run(`ATTACH ${quoteString(memfsPath(db))} AS ${quoteIdentifier(schema)}`);
  }

  schemaNames(): string[] {
    const rows = this.main.exec('PRAGMA database_list')[0]?.values ?? [];
    return rows.map((row) => String(row[1])).filter((name) => name !== 'temp');
  }

  tablesOf(schema: string): string[] {
    const rows = this.main.exec(`SELECT name FROM ${quoteIdentifier(schema)}.sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`)[0]?.values ?? [];
    return rows.map((row) => String(row[0]));
  }

  /** Every table as `schema.table`. */
  allTables(): string[] {
    return this.schemaNames().flatMap((schema) => this.tablesOf(schema).map((table) => `${schema}.${table}`));
  }

  columnsOf(schema: string, table: string): string[] {
    const rows = this.main.exec(`SELECT name FROM pragma_table_info(${quoteString(table)}, ${quoteString(schema)})`)[0]?.values ?? [];
    return rows.map((row) => String(row[0]));
  }

  /**
   * Columns of a table as a model writes it: `schema.table` is that schema's table, or else (as `aliasSchema` does)
   * the table in whichever database has it; `table` is found as SQLite finds it (main first). Undefined if none has it.
   */
  columnsOfWritten(written: string): string[] | undefined {
    const located = this.locate(written);
    return located && this.columnsOf(located.schema, located.table);
  }

  /** The schema and table a name as written in the model resolves to (see `columnsOfWritten`). */
  locate(written: string): { schema: string; table: string } | undefined {
    const dot = written.indexOf('.');
    const schema = dot === -1 ? undefined : written.slice(0, dot);
    const table = dot === -1 ? written : written.slice(dot + 1);
    const schemas = this.schemaNames();
    const attached = schema && schemas.find((name) => name.toLowerCase() === schema.toLowerCase());
    for (const candidate of attached ? [attached] : schemas) {
      const found = this.tablesOf(candidate).find((name) => name.toLowerCase() === table.toLowerCase());
      if (found) return { schema: candidate, table: found };
    }
    return undefined;
  }

  /**
   * The model names `schema.table` but no such schema was opened: let `schema` stand for the database that has
   * `table` (the main database first), so one SQLite file works with a model that qualifies its names.
   */
  aliasSchema(schema: string, table: string): boolean {
    if (this.schemaNames().some((name) => name.toLowerCase() === schema.toLowerCase())) return false;
    const rows = this.main.exec('PRAGMA database_list')[0]?.values ?? [];
    for (const [, name, file] of rows) {
      if (name === 'temp' || !file) continue;
      if (this.tablesOf(String(name)).some((found) => found.toLowerCase() === table.toLowerCase())) {
        this.main.run(`ATTACH ${quoteString(String(file))} AS ${quoteIdentifier(schema)}`);
        return true;
      }
    }
    return false;
  }

  close(): void {
    for (const db of this.databases.reverse()) db.close();
    this.databases.length = 0;
  }
}

/** Opens a SQLite file as an in-memory copy, checking that it is one. */
/** Size of a file, or 0 when there is none. */
async function sizeOf(file: string): Promise<number> {
  return stat(file).then((info) => info.size, () => 0);
}

/**
 * A database another process is writing: a rollback journal means a write is under way (the file may be half
 * written), so say so rather than read it; a WAL file holds committed pages the file itself does not have yet.
 */
async function checkWriters(file: string, what: string): Promise<string | undefined> {
  if ((await sizeOf(`${file}-journal`)) > 0) {
    throw new LensError({
      code: 'busy',
      message: `${what} ${file} is being written by another process (${path.basename(file)}-journal exists).`,
      hint: 'Run again when the write is done (dbt or your tool has finished).',
    });
  }
  if ((await sizeOf(`${file}-wal`)) > 0) {
    return `${path.basename(file)} has writes in ${path.basename(file)}-wal that are not yet in the file itself, and Segment Lens reads the file only: the latest writes are missing. Close the other connection or run PRAGMA wal_checkpoint, then run again.`;
  }
  return undefined;
}

async function openSqliteCopy(sql: SqlJsStatic, file: string, what: string, hint: string, notes: string[]): Promise<Database> {
  const note = await checkWriters(file, what);
  if (note) notes.push(note);
  const bytes = await readDataFile(file, what, hint);
  // SQLite itself opens a 0-byte file as an empty database (dbt-sqlite leaves such files behind).
  if (bytes.length === 0) return new sql.Database();
  if (bytes.length < 100 || bytes.subarray(0, 16).toString('latin1') !== SQLITE_HEADER) {
    throw new LensError({ code: 'not-sqlite', message: `${what} ${file} is not a SQLite database (it does not start with the SQLite header).`, hint });
  }
  const db = new sql.Database(bytes);
  try {
    db.exec('SELECT count(*) FROM sqlite_master');
  } catch (error) {
    db.close();
    throw new LensError({ code: 'corrupt-database', message: `${what} ${file} cannot be read: ${(error as Error).message}.`, hint: 'The file may be corrupt or truncated; restore it or rebuild it with dbt.' });
  }
  return db;
}

export async function openSqliteFiles(sql: SqlJsStatic, main: SchemaFile, attached: SchemaFile[], source: Omit<SourceInfo, 'files' | 'schemas'>, hint: string): Promise<LoadedData> {
  const files = [main.file, ...attached.map((item) => item.file)];
  const bytes = (await Promise.all(files.map((file) => stat(file).then((info) => (info.isFile() ? info.size : 0), () => 0)))).reduce((sum, size) => sum + size, 0);
  if (bytes > MAX_SQLITE_BYTES) throw tooLarge(files, bytes, MAX_SQLITE_BYTES);
  const notes: string[] = [];
  const mainDb = await openSqliteCopy(sql, main.file, 'The SQLite file', hint, notes);
  const data = new LoadedData(mainDb, { ...source, files: [main.file], schemas: { main: main.file } });
  data.notes.push(...notes);
  try {
    for (const { schema, file } of attached) {
      data.attach(schema, await openSqliteCopy(sql, file, `The SQLite file for schema "${schema}",`, hint, data.notes));
      data.source.files.push(file);
      data.source.schemas[schema] = file;
    }
  } catch (error) {
    data.close();
    throw error;
  }
  return data;
}

/** Every `*.csv` in `directory` is a table named after the file; a subfolder's name is the schema of its files. */
export async function openCsvDirectory(sql: SqlJsStatic, directory: string, source: Omit<SourceInfo, 'files' | 'schemas'>, setting: string): Promise<LoadedData> {
  const info = await stat(directory).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new LensError({
      code: info ? 'not-a-file' : 'file-not-found',
      setting,
      message: info ? `${directory} (${setting}) is a file, not a folder of CSV files.` : `The CSV folder ${directory} (${setting}) does not exist.`,
      hint: 'Set it to the folder that holds your CSV seeds, relative to the workspace.',
    });
  }
  // The tables: CSV files at the top (schema main) and one folder down (the folder names the schema).
  const csvIn = (dir: string) => readdir(dir).then((names) => names.filter((name) => name.toLowerCase().endsWith('.csv')).sort().map((name) => path.join(dir, name)));
  const folders = (await readdir(directory, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  const groups: { schema: string; folder: string; files: string[] }[] = [{ schema: 'main', folder: directory, files: await csvIn(directory) }];
  for (const folder of folders) groups.push({ schema: folder, folder: path.join(directory, folder), files: await csvIn(path.join(directory, folder)) });
  const files = groups.flatMap((group) => group.files);
  const bytes = (await Promise.all(files.map((file) => stat(file).then((fileInfo) => fileInfo.size)))).reduce((sum, size) => sum + size, 0);
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
    throw new LensError({ code: 'file-not-found', setting, message: `The CSV folder ${directory} (${setting}) has no .csv files.`, hint: 'Put one CSV file per table in it; a subfolder\'s name becomes the schema of its files.' });
  }
  return data;
}
