// Loads CSV seeds into sql.js as dbt seeds are loaded: a header row, UTF-8 with or without BOM, CRLF or LF,
// RFC 4180 quoting, empty cell = NULL, and one type per column: the type dbt's column_types declares, or else
// inferred from its values.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import type { Database, Statement } from 'sql.js';
import { LensError, oneLine } from '../errors';
import type { SeedColumnType, SeedConfig } from '../model/seedConfig';
import { quoteIdentifier } from '../sql/names';

export type ColumnType = 'INTEGER' | 'REAL' | 'TEXT';

const INTEGER = /^[+-]?\d+$/;
const REAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** Columns a table may have: SQLITE_MAX_COLUMN as sql.js builds SQLite (2000, SQLite's default). */
export const MAX_CSV_COLUMNS = 2000;
/** The longest header line read: past it, the file is refused before it is parsed (1 MiB: 2000 long names fit). */
export const MAX_HEADER_BYTES = 1024 ** 2;
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

/** Records, or (`info`) records with the line each ends on. */
function records(file: string, delimiter: string, info: boolean): AsyncIterable<string[] | ParsedRecord> {
  const parser = parse({ bom: true, skip_empty_lines: true, delimiter, info });
  const decoder = utf8Decoder(file);
  // pipe() does not forward errors; without this an unreadable file would be an uncaught error.
  decoder.on('error', (error) => parser.destroy(error));
  return createReadStream(file)
    .on('error', (error) => decoder.destroy(error))
    .pipe(decoder)
    .pipe(parser);
}

/**
 * Refuses a file whose first line is longer than MAX_HEADER_BYTES, reading only that much: parsing a header of
 * hundreds of megabytes as one record takes minutes and gigabytes before anything could be said about it.
 */
async function checkHeaderLength(file: string): Promise<void> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return; // the read that follows says why
  try {
    const start = Buffer.alloc(MAX_HEADER_BYTES + 1);
    const { bytesRead } = await handle.read(start, 0, start.length, 0);
    if (bytesRead <= MAX_HEADER_BYTES) return;
    const head = start.subarray(0, MAX_HEADER_BYTES + 1);
    if (head.includes(0x0a) || head.includes(0x0d)) return;
  } finally {
    await handle.close();
  }
  throw new LensError({
    code: 'csv',
    message: `${file} has no line break in its first ${(MAX_HEADER_BYTES / 1024 ** 2).toLocaleString('en')} MiB: its header line is longer than Segment Lens reads (a seed's first line names its columns).`,
    hint: `Check that it is a CSV file with one line per row and a header of at most ${MAX_CSV_COLUMNS.toLocaleString('en')} columns.`,
    location: { file, line: 1, column: 1 },
  });
}

/** A failure loading `file` into `table`, said in the user's terms (never naming the staging table). */
function csvError(file: string, error: unknown, table: string, staging: string): LensError {
  if (error instanceof CsvError) {
    const line = (error as CsvError & { lines?: number }).lines;
    return new LensError({
      code: 'csv',
      message: `${file} is not a valid CSV file${line ? ` at line ${line}` : ''}: ${error.message}`,
      hint: 'Fix the file: every row needs as many fields as the header, and quotes must be closed.',
      location: line ? { file, line, column: 1 } : undefined,
    });
  }
  if (error instanceof LensError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // The file system's errors carry a code (ENOENT, EACCES, EISDIR…); SQLite's do not.
  if (typeof (error as NodeJS.ErrnoException).code === 'string') {
    return new LensError({
      code: 'unreadable',
      message: `Could not read ${file}: ${oneLine(message)}`,
      hint: 'Check that the file exists and can be read.',
    });
  }
  const said = oneLine(message.replaceAll(staging, table));
  if (/out of memory|too big/i.test(said)) {
    return new LensError({
      code: 'too-large',
      message: `${file} could not be loaded as table ${table}: ${said}.`,
      hint: 'Point segmentLens.connection at a smaller extract (a sample, or fewer columns).',
    });
  }
  return new LensError({
    code: 'csv',
    message: `${file} could not be loaded as table ${table}: ${said}.`,
    hint: 'Check the file; if it is a plain CSV file, please report this.',
  });
}

/** A record with `info`: the line the record ends on. */
interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

/** What a type dbt's column_types declares means in SQLite. */
type Kind = 'text' | 'integer' | 'real' | 'boolean' | 'date' | 'timestamp' | 'time';

/**
 * Type names by kind, as warehouses write them (lower case; a size or precision in parentheses is dropped first, so
 * `varchar(10)`, `decimal(12, 2)` and `timestamp(6) with time zone` are found).
 */
const TYPE_NAMES: Record<Kind, string[]> = {
  text: [
    'varchar',
    'text',
    'char',
    'character',
    'character varying',
    'string',
    'nvarchar',
    'nchar',
    'varchar2',
    'nvarchar2',
    'bpchar',
    'citext',
    'clob',
    'tinytext',
    'mediumtext',
    'longtext',
  ],
  integer: [
    'int',
    'integer',
    'bigint',
    'smallint',
    'tinyint',
    'mediumint',
    'byteint',
    'int2',
    'int4',
    'int8',
    'int64',
    'hugeint',
  ],
  real: [
    'float',
    'real',
    'double',
    'double precision',
    'numeric',
    'decimal',
    'dec',
    'number',
    'float4',
    'float8',
    'float64',
    'bignumeric',
  ],
  boolean: ['boolean', 'bool'],
  date: ['date'],
  timestamp: [
    'timestamp',
    'datetime',
    'timestamp_ntz',
    'timestamp_ltz',
    'timestamp_tz',
    'timestamptz',
    'timestamp with time zone',
    'timestamp without time zone',
    'datetime2',
    'smalldatetime',
    'datetimeoffset',
  ],
  time: ['time', 'time with time zone', 'time without time zone', 'timetz'],
};
const KIND_OF_TYPE = new Map(
  Object.entries(TYPE_NAMES).flatMap(([kind, names]) => names.map((name) => [name, kind as Kind])),
);

/**
 * How each kind is stored: text kinds (dates and times too, as SQLite's date functions read them) keep the text as
 * written; integers and reals are numbers; booleans are 1 and 0, as SQLite's own TRUE and FALSE.
 */
const STORED_AS: Record<Kind, ColumnType> = {
  text: 'TEXT',
  integer: 'INTEGER',
  real: 'REAL',
  boolean: 'INTEGER',
  date: 'TEXT',
  timestamp: 'TEXT',
  time: 'TEXT',
};

const TRUE_VALUES = ['true', 't', 'yes', 'y', 'on', '1'];
const FALSE_VALUES = ['false', 'f', 'no', 'n', 'off', '0'];
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

function kindOf(type: string): Kind | undefined {
  return KIND_OF_TYPE.get(
    type
      .toLowerCase()
      .replace(/\([^)]*\)/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

function isDate(year: string, month: string, day: string): boolean {
  const m = Number(month);
  const d = Number(day);
  return m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(Number(year), m, 0)).getUTCDate();
}

function isTime(hours: string, minutes: string, seconds = '00'): boolean {
  return Number(hours) <= 23 && Number(minutes) <= 59 && Number(seconds) <= 59;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(?: ?(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?$/;

/** Whether a (non-empty) CSV value is a value of the kind. */
const ACCEPTS: Record<Kind, (value: string) => boolean> = {
  text: () => true,
  integer: (value) => {
    if (!INTEGER.test(value.trim())) return false;
    const number = BigInt(value.trim());
    return number >= INT64.min && number <= INT64.max;
  },
  real: (value) => REAL.test(value.trim()) && Number.isFinite(Number(value)),
  // Spaces only, as SQLite's trim() in storedValue strips.
  boolean: (value) => [...TRUE_VALUES, ...FALSE_VALUES].includes(value.replace(/^ +| +$/g, '').toLowerCase()),
  date: (value) => {
    const match = DATE.exec(value);
    return !!match && isDate(match[1], match[2], match[3]);
  },
  timestamp: (value) => {
    const match = TIMESTAMP.exec(value);
    return !!match && isDate(match[1], match[2], match[3]) && (!match[4] || isTime(match[4], match[5], match[6]));
  },
  time: (value) => {
    const match = TIME.exec(value);
    return !!match && isTime(match[1], match[2], match[3]);
  },
};

const DESCRIBED: Record<Kind, string> = {
  text: 'text',
  integer: 'an integer',
  real: 'a number',
  boolean: `a boolean (${TRUE_VALUES.join('/')} or ${FALSE_VALUES.join('/')})`,
  date: 'a date written YYYY-MM-DD',
  timestamp: 'a timestamp written YYYY-MM-DD HH:MM:SS',
  time: 'a time written HH:MM:SS',
};

/** A column whose type dbt's column_types declares. */
interface DeclaredColumn extends SeedColumnType {
  kind: Kind;
}

/**
 * Each header column's declared type (undefined: inferred). An unknown type is an error, and so is a column the file
 * lacks when the type is declared for this seed by name (a folder's column_types may name columns other seeds have).
 */
function declaredColumns(file: string, header: string[], seed: SeedConfig | undefined): (DeclaredColumn | undefined)[] {
  const declared: (DeclaredColumn | undefined)[] = header.map(() => undefined);
  for (const [column, declaration] of seed?.columnTypes ?? []) {
    const where = `${declaration.at.file}:${declaration.at.line}`;
    const index = header.indexOf(column);
    if (index === -1 && !declaration.own) continue;
    if (index === -1) {
      const near = header.find((name) => name.toLowerCase() === column.toLowerCase());
      throw new LensError({
        code: 'yaml',
        message: `column_types in ${where} declares column "${column}" of seed ${file}, which has no such column (it has ${header.map((name) => `"${name}"`).join(', ')}).`,
        hint: near
          ? `dbt matches column names exactly: write "${near}" as the header does.`
          : 'Fix the column name in column_types, or remove the entry.',
        location: declaration.at,
      });
    }
    const kind = kindOf(declaration.type);
    if (!kind) {
      throw new LensError({
        code: 'yaml',
        message: `column_types in ${where} declares column "${column}" of seed ${file} as ${JSON.stringify(declaration.type)}, a type Segment Lens does not know.`,
        hint: 'Use a type such as varchar, text, integer, bigint, numeric, decimal(10,2), float, boolean, date or timestamp.',
        location: declaration.at,
      });
    }
    declared[index] = { ...declaration, kind };
  }
  return declared;
}

function newlines(fields: string[]): number {
  let count = 0;
  for (const field of fields) for (let at = field.indexOf('\n'); at !== -1; at = field.indexOf('\n', at + 1)) count++;
  return count;
}

function badValue(
  file: string,
  header: string[],
  column: number,
  parsed: ParsedRecord,
  declared: DeclaredColumn,
): LensError {
  // The record ends on `info.lines`; the value starts that many lines up as there are line breaks from it on.
  const line = parsed.info.lines - newlines(parsed.record.slice(column));
  const value = parsed.record[column];
  const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return new LensError({
    code: 'csv',
    message: `${file} line ${line}, column "${header[column]}": ${shown} is not ${DESCRIBED[declared.kind]}, as column_types declares it (${declared.type}, in ${declared.at.file}:${declared.at.line}).`,
    hint: `Fix the value in the CSV, or declare the column as text (varchar) in ${declared.at.file}.`,
    location: { file, line, column: 1 },
  });
}

/** SQL turning the staged text of column `index` into its stored value. */
function storedValue(index: number, type: ColumnType, declared: DeclaredColumn | undefined): string {
  const staged = `c${index}`;
  if (declared?.kind === 'boolean') {
    const list = (values: string[]) => values.map((value) => `'${value}'`).join(', ');
    return `CASE WHEN lower(trim(${staged})) IN (${list(TRUE_VALUES)}) THEN 1 WHEN lower(trim(${staged})) IN (${list(FALSE_VALUES)}) THEN 0 END`;
  }
  return type === 'TEXT' ? staged : `CAST(${staged} AS ${type})`;
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
  if (header.length > MAX_CSV_COLUMNS) {
    throw new LensError({
      code: 'csv',
      message: `${file} has ${header.length.toLocaleString('en')} columns in its header; a SQLite table holds at most ${MAX_CSV_COLUMNS.toLocaleString('en')}.`,
      hint: 'Split the file, or keep only the columns the model reads.',
      location: { file, line: 1, column: 1 },
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
 * through multi-row inserts while each column's type is inferred (or its declared type checked), then SQLite copies
 * the rows into the typed table (CAST in SQL is far cheaper than a second pass over the file). `seed`: what dbt's
 * configs say about the file (column_types, delimiter).
 */
export async function loadCsvTable(db: Database, table: string, file: string, seed?: SeedConfig): Promise<number> {
  const staging = `segment_lens_loading_${++loads}`;
  let header: string[] | undefined;
  let seen: Seen[] = [];
  let declared: (DeclaredColumn | undefined)[] = [];
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
  // Line numbers cost a little per record: only a file with declared types to check reads them.
  const checked = (seed?.columnTypes.size ?? 0) > 0;
  await checkHeaderLength(file);
  db.run('BEGIN');
  try {
    for await (const item of records(file, seed?.delimiter ?? ',', checked)) {
      const record = checked ? (item as ParsedRecord).record : (item as string[]);
      if (!header) {
        header = checkHeader(file, record);
        seen = header.map(() => 'none');
        declared = declaredColumns(file, header, seed);
        db.run(`CREATE TEMP TABLE ${quoteIdentifier(staging)} (${header.map((_, index) => `c${index}`).join(', ')})`);
        rowsPerInsert = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(MAX_PARAMETERS / header.length)));
        batchInsert = db.prepare(insertSql(rowsPerInsert));
        continue;
      }
      for (let column = 0; column < header.length; column++) {
        const value = record[column];
        const type = declared[column];
        if (value === '') batch.push(null);
        else if (type) {
          if (!ACCEPTS[type.kind](value)) throw badValue(file, header, column, item as ParsedRecord, type);
          batch.push(value);
        } else {
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
    const types = seen.map((type, index) =>
      declared[index] ? STORED_AS[declared[index].kind] : type === 'none' ? 'TEXT' : type,
    );
    const columns = header!.map((name, index) => `${quoteIdentifier(name)} ${types[index]}`).join(', ');
    db.run(`CREATE TABLE ${quoteIdentifier(table)} (${columns})`);
    const values = types.map((type, index) => storedValue(index, type, declared[index])).join(', ');
    db.run(`INSERT INTO ${quoteIdentifier(table)} SELECT ${values} FROM ${quoteIdentifier(staging)}`);
    db.run(`DROP TABLE ${quoteIdentifier(staging)}`);
    db.run('COMMIT');
  } catch (error) {
    try {
      db.run('ROLLBACK');
    } catch {
      // SQLite ended the transaction itself (out of memory): nothing to roll back
    }
    throw csvError(file, error, table, staging);
  } finally {
    batchInsert?.free();
  }
  return rows;
}
