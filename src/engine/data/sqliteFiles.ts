// Opens SQLite files (the main database and attached schemas) as in-memory copies, checking each is one.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import { LensError } from '../errors';
import { readRegularFile } from '../files';
import { quoteIdentifier } from '../sql/names';
import { LoadedData, MAX_SQLITE_BYTES, tooLarge, type SchemaFile, type SourceInfo } from './loadedData';

const SQLITE_HEADER = 'SQLite format 3\0';

/** The file's bytes: a regular file (a FIFO or a device is refused before it is opened) within sql.js's limit. */
function readDataFile(file: string, what: string, hint: string): Promise<Buffer> {
  return readRegularFile(file, { what, hint, limit: MAX_SQLITE_BYTES });
}

/** Size of a file, or 0 when there is none. */
async function sizeOf(file: string): Promise<number> {
  return stat(file).then(
    (info) => info.size,
    () => 0,
  );
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

async function openSqliteCopy(
  sql: SqlJsStatic,
  file: string,
  what: string,
  hint: string,
  notes: string[],
  /** The schema the file will be attached as: its schema is read there (checkSchema), not here. */
  attachedAs?: string,
): Promise<Database> {
  const note = await checkWriters(file, what);
  if (note) notes.push(note);
  const bytes = await readDataFile(file, what, hint);
  // SQLite itself opens a 0-byte file as an empty database (dbt-sqlite leaves such files behind).
  if (bytes.length === 0) return new sql.Database();
  if (bytes.length < 100 || bytes.subarray(0, 16).toString('latin1') !== SQLITE_HEADER) {
    throw new LensError({
      code: 'not-sqlite',
      message: `${what} ${file} is not a SQLite database (it does not start with the SQLite header).`,
      hint,
    });
  }
  const db = new sql.Database(bytes);
  // A file attached as a schema is read where it is attached: its views may name that schema (dbt-sqlite's do).
  if (!attachedAs) {
    try {
      checkSchema(() => db.exec('SELECT count(*) FROM sqlite_master'), what, file);
    } catch (error) {
      db.close();
      throw error;
    }
  }
  return db;
}

/** Reads the file's schema (what SQLite checks first); a file that fails is named. */
function checkSchema(read: () => void, what: string, file: string): void {
  try {
    read();
  } catch (error) {
    throw new LensError({
      code: 'corrupt-database',
      message: `${what} ${file} cannot be read: ${(error as Error).message}.`,
      hint: 'The file may be corrupt or truncated; restore it or rebuild it with dbt.',
    });
  }
}

export async function openSqliteFiles(
  sql: SqlJsStatic,
  main: SchemaFile,
  attached: SchemaFile[],
  source: Omit<SourceInfo, 'files' | 'schemas'>,
  hint: string,
): Promise<LoadedData> {
  const files = [main.file, ...attached.map((item) => item.file)];
  const bytes = (
    await Promise.all(
      files.map((file) =>
        stat(file).then(
          (info) => (info.isFile() ? info.size : 0),
          () => 0,
        ),
      ),
    )
  ).reduce((sum, size) => sum + size, 0);
  if (bytes > MAX_SQLITE_BYTES) throw tooLarge(files, bytes, MAX_SQLITE_BYTES);
  const notes: string[] = [];
  const mainDb = await openSqliteCopy(sql, main.file, 'The SQLite file', hint, notes);
  const data = new LoadedData(mainDb, { ...source, files: [main.file], schemas: { main: main.file } });
  data.notes.push(...notes);
  try {
    for (const { schema, file } of attached) {
      const what = `The SQLite file for schema "${schema}",`;
      const db = await openSqliteCopy(sql, file, what, hint, data.notes, schema);
      data.attach(schema, db);
      checkSchema(() => data.main.exec(`SELECT count(*) FROM ${quoteIdentifier(schema)}.sqlite_master`), what, file);
      data.source.files.push(file);
      data.source.schemas[schema] = file;
    }
  } catch (error) {
    data.close();
    throw error;
  }
  return data;
}
