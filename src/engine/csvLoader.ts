// Loads CSV seeds into sql.js as dbt seeds are loaded: a header row, UTF-8 with or without BOM, CRLF or LF,
// RFC 4180 quoting, empty cell = NULL, and one type per column inferred from its values.
import { createReadStream } from 'node:fs';
import { parse, CsvError } from 'csv-parse';
import type { Database } from 'sql.js';
import { LensError } from './errors';
import { quoteIdentifier } from './sqlNames';

export type ColumnType = 'INTEGER' | 'REAL' | 'TEXT';

const INTEGER = /^[+-]?\d+$/;
const REAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** SQLite binds at most 32766 parameters in one statement. */
const MAX_PARAMETERS = 32766;
const ROWS_PER_INSERT = 500;

function records(file: string): AsyncIterable<string[]> {
  const parser = parse({ bom: true, skip_empty_lines: true });
  // pipe() does not forward read errors; without this an unreadable file would be an uncaught error.
  return createReadStream(file).on('error', (error) => parser.destroy(error)).pipe(parser);
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
  return error instanceof LensError ? error : new LensError({ code: 'csv', message: `Could not read ${file}: ${(error as Error).message}`, hint: 'Check that the file exists and can be read.' });
}

/** First pass: the header and each column's type. */
async function inferColumns(file: string): Promise<{ header: string[]; types: ColumnType[] }> {
  let header: string[] | undefined;
  let types: ColumnType[] = [];
  try {
    for await (const record of records(file)) {
      if (!header) {
        header = record;
        types = record.map(() => 'INTEGER');
        continue;
      }
      for (let column = 0; column < record.length; column++) {
        const value = record[column];
        if (value === '' || types[column] === 'TEXT') continue;
        if (types[column] === 'INTEGER' && INTEGER.test(value) && Number.isSafeInteger(Number(value))) continue;
        types[column] = REAL.test(value) ? 'REAL' : 'TEXT';
      }
    }
  } catch (error) {
    throw csvError(file, error);
  }
  if (!header) {
    throw new LensError({ code: 'csv', message: `${file} is empty: a seed needs a header row.`, hint: 'Add a header row naming the columns, or remove the file.' });
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
  return { header, types };
}

/** Loads `file` into a new table; returns the number of rows. */
export async function loadCsvTable(db: Database, table: string, file: string): Promise<number> {
  const { header, types } = await inferColumns(file);
  const columns = header.map((name, index) => `${quoteIdentifier(name)} ${types[index]}`).join(', ');
  db.run(`CREATE TABLE ${quoteIdentifier(table)} (${columns})`);
  const rowsPerInsert = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(MAX_PARAMETERS / header.length)));
  const tuple = `(${header.map(() => '?').join(',')})`;
  const insertSql = (rows: number) => `INSERT INTO ${quoteIdentifier(table)} VALUES ${Array(rows).fill(tuple).join(',')}`;
  const batchInsert = db.prepare(insertSql(rowsPerInsert));
  const batch: (string | number | null)[] = [];
  let rows = 0;
  const flush = (count: number) => {
    if (count === 0) return;
    if (count === rowsPerInsert) batchInsert.run(batch);
    else {
      const tail = db.prepare(insertSql(count));
      try {
        tail.run(batch);
      } finally {
        tail.free();
      }
    }
    batch.length = 0;
  };
  db.run('BEGIN');
  try {
    let first = true;
    for await (const record of records(file)) {
      if (first) {
        first = false;
        continue;
      }
      for (let column = 0; column < header.length; column++) {
        const value = record[column];
        batch.push(value === '' ? null : types[column] === 'TEXT' ? value : Number(value));
      }
      rows++;
      if (rows % rowsPerInsert === 0) flush(rowsPerInsert);
    }
    flush(rows % rowsPerInsert);
    db.run('COMMIT');
  } catch (error) {
    db.run('ROLLBACK');
    throw csvError(file, error);
  } finally {
    batchInsert.free();
  }
  return rows;
}
