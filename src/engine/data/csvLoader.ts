// Loads CSV seeds into sql.js as dbt seeds are loaded: a header row, UTF-8 with or without BOM, CRLF or LF,
// RFC 4180 quoting, empty cell = NULL, and one type per column inferred from its values.
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import type { Database, Statement } from 'sql.js';
import { LensError } from '../errors';
import { quoteIdentifier } from '../sql/names';

export type ColumnType = 'INTEGER' | 'REAL' | 'TEXT';

const INTEGER = /^[+-]?\d+$/;
const REAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** SQLite binds at most 32766 parameters in one statement. */
const MAX_PARAMETERS = 32766;
const ROWS_PER_INSERT = 500;

/** Decodes UTF-8 (a BOM is dropped) and refuses anything else, naming the line, instead of guessing. */
function utf8Decoder(file: string): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lines = 1;
  return new Transform({
    readableObjectMode: false,
    decodeStrings: true,
    transform(chunk: Buffer, _encoding, done) {
      try {
        const text = decoder.decode(chunk, { stream: true });
        for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) lines++;
        done(null, text);
      } catch {
        const lenient = new TextDecoder('utf-8').decode(chunk);
        const before = lenient.slice(0, Math.max(0, lenient.indexOf('\uFFFD')));
        const line = lines + (before.match(/\n/g)?.length ?? 0);
        done(
          new LensError({
            code: 'csv',
            message: `${file} is not UTF-8 text: line ${line} has bytes that are not UTF-8 (a file saved as Latin-1 or Windows-1252?).`,
            hint: 'Save the file as UTF-8 (dbt reads seeds as UTF-8 too).',
            location: { file, line, column: 1 },
          }),
        );
      }
    },
    flush(done) {
      try {
        done(null, decoder.decode());
      } catch {
        done(
          new LensError({
            code: 'csv',
            message: `${file} ends in the middle of a UTF-8 character.`,
            hint: 'Save the file as UTF-8.',
            location: { file, line: lines, column: 1 },
          }),
        );
      }
    },
  });
}

function records(file: string): AsyncIterable<string[]> {
  const parser = parse({ bom: true, skip_empty_lines: true });
  const decoder = utf8Decoder(file);
  // pipe() does not forward errors; without this an unreadable file would be an uncaught error.
  decoder.on('error', (error) => parser.destroy(error));
  return createReadStream(file)
    .on('error', (error) => decoder.destroy(error))
    .pipe(decoder)
    .pipe(parser);
}

function csvError(file: string, error: unknown): LensError {
  if (error instanceof CsvError) {
    const line = (error as CsvError & { lines?: number }).lines;
    return new LensError({
      code: 'csv',
      message: `${file} is not a valid CSV file${line ? ` at line ${line}` : ''}: ${error.message}`,
      hint: 'Fix the file: every row needs as many fields as the header, and quotes must be closed.',
      location: line ? { file, line, column: 1 } : undefined,
    });
  }
  return error instanceof LensError
    ? error
    : new LensError({
        code: 'csv',
        message: `Could not read ${file}: ${(error as Error).message}`,
        hint: 'Check that the file exists and can be read.',
      });
}

let loads = 0;

/** What a column's non-empty values have all been so far. */
type Seen = 'none' | ColumnType;

function widen(seen: Seen, value: string): Seen {
  if (seen === 'TEXT') return 'TEXT';
  if (seen !== 'REAL' && INTEGER.test(value) && Number.isSafeInteger(Number(value))) return 'INTEGER';
  return REAL.test(value) ? 'REAL' : 'TEXT';
}

function checkHeader(file: string, header: string[] | undefined): string[] {
  if (!header) {
    throw new LensError({
      code: 'csv',
      message: `${file} is empty: a seed needs a header row.`,
      hint: 'Add a header row naming the columns, or remove the file.',
    });
  }
  const seen = new Set<string>();
  header.forEach((name, index) => {
    const key = name.trim().toLowerCase();
    if (key === '' || seen.has(key)) {
      throw new LensError({
        code: 'csv',
        message: `${file} has ${key === '' ? 'an empty' : `a duplicate ("${name}")`} column name in its header (column ${index + 1}).`,
        hint: 'Give every column a unique name.',
        location: { file, line: 1, column: 1 },
      });
    }
    seen.add(key);
  });
  return header;
}

/**
 * Loads `file` into a new table; returns the number of rows. One pass over the file: every value goes in as text
 * through multi-row inserts while each column's type is inferred, then SQLite copies the rows into the typed table
 * (CAST in SQL is far cheaper than a second pass over the file).
 */
export async function loadCsvTable(db: Database, table: string, file: string): Promise<number> {
  const staging = `segment_lens_loading_${++loads}`;
  let header: string[] | undefined;
  let seen: Seen[] = [];
  let rows = 0;
  let batchInsert: Statement | undefined;
  let rowsPerInsert = 1;
  const batch: (string | null)[] = [];
  const insertSql = (count: number) =>
    `INSERT INTO ${quoteIdentifier(staging)} VALUES ${Array(count)
      .fill(`(${header!.map(() => '?').join(',')})`)
      .join(',')}`;
  const flushTail = () => {
    if (batch.length === 0) return;
    const tail = db.prepare(insertSql(batch.length / header!.length));
    try {
      tail.run(batch);
    } finally {
      tail.free();
    }
    batch.length = 0;
  };
  db.run('BEGIN');
  try {
    for await (const record of records(file)) {
      if (!header) {
        header = checkHeader(file, record);
        seen = header.map(() => 'none');
        db.run(`CREATE TEMP TABLE ${quoteIdentifier(staging)} (${header.map((_, index) => `c${index}`).join(', ')})`);
        rowsPerInsert = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(MAX_PARAMETERS / header.length)));
        batchInsert = db.prepare(insertSql(rowsPerInsert));
        continue;
      }
      for (let column = 0; column < header.length; column++) {
        const value = record[column];
        if (value === '') batch.push(null);
        else {
          batch.push(value);
          seen[column] = widen(seen[column], value);
        }
      }
      if (++rows % rowsPerInsert === 0) {
        batchInsert!.run(batch);
        batch.length = 0;
      }
    }
    checkHeader(file, header);
    flushTail();
    const types = seen.map((type) => (type === 'none' ? 'TEXT' : type));
    const columns = header!.map((name, index) => `${quoteIdentifier(name)} ${types[index]}`).join(', ');
    db.run(`CREATE TABLE ${quoteIdentifier(table)} (${columns})`);
    const values = types
      .map((type, index) => (type === 'TEXT' ? `c${index}` : `CAST(c${index} AS ${type})`))
      .join(', ');
    db.run(`INSERT INTO ${quoteIdentifier(table)} SELECT ${values} FROM ${quoteIdentifier(staging)}`);
    db.run(`DROP TABLE ${quoteIdentifier(staging)}`);
    db.run('COMMIT');
  } catch (error) {
    db.run('ROLLBACK');
    throw csvError(file, error);
  } finally {
    batchInsert?.free();
  }
  return rows;
}
