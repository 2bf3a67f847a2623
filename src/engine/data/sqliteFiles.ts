// Opens SQLite files (the main database and attached schemas) as in-memory copies, checking each is one.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import { LensError } from '../errors';
import { LoadedData, MAX_SQLITE_BYTES, tooLarge, type SchemaFile, type SourceInfo } from './loadedData';

const SQLITE_HEADER = 'SQLite format 3\0';

async function readDataFile(file: string, what: string, hint: string): Promise<Buffer> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new LensError({ code: 'file-not-found', message: `${what} ${file} does not exist.`, hint });
  if (!info.isFile())
    throw new LensError({ code: 'not-a-file', message: `${what} ${file} is a folder, not a file.`, hint });
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new LensError({
      code: 'unreadable',
      message: `${what} ${file} cannot be read: ${error.code ?? error.message}.`,
      hint: 'Check that the file can be read by you (its permissions), then run again.',
    });
  });
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
  try {
    db.exec('SELECT count(*) FROM sqlite_master');
  } catch (error) {
    db.close();
    throw new LensError({
      code: 'corrupt-database',
      message: `${what} ${file} cannot be read: ${(error as Error).message}.`,
      hint: 'The file may be corrupt or truncated; restore it or rebuild it with dbt.',
    });
  }
  return db;
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
