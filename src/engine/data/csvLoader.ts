// Loads CSV seeds into sql.js as dbt seeds are loaded: a header row, UTF-8 with or without BOM, CRLF or LF,
// RFC 4180 quoting, empty cell = NULL, and one type per column: the type dbt's column_types declares, or else
// inferred from its values.
import { open } from 'node:fs/promises';
import type { Database } from 'sql.js';
import { LensError, oneLine } from '../errors';
import type { SeedColumnType, SeedConfig } from '../model/seedConfig';
import { quoteIdentifier } from '../sql/names';
import { CsvScanner, CsvSyntaxError, type CsvChunk } from './csvScanner';
import { databaseHandle, sqlJsInternals, type SqlJsInternals } from './sqljs';

export type ColumnType = 'INTEGER' | 'REAL' | 'TEXT';

const INTEGER = /^[+-]?\d+$/;
const REAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** Columns a table may have: SQLITE_MAX_COLUMN as sql.js builds SQLite (2000, SQLite's default). */
export const MAX_CSV_COLUMNS = 2000;
/** The longest header line read: past it, the file is refused before it is parsed (1 MiB: 2000 long names fit). */
export const MAX_HEADER_BYTES = 1024 ** 2;
/** SQLite binds at most 32766 parameters in one statement. */
const MAX_PARAMETERS = 32766;
/** Rows per INSERT: more saves little (measured: 64, 256, 1024 and 8191 rows of 4 columns within noise). */
const ROWS_PER_INSERT = 1024;

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

/** A failure loading `file` into `table`, said in the user's terms. */
function csvError(file: string, error: unknown, table: string): LensError {
  if (error instanceof CsvSyntaxError) {
    return new LensError({
      code: 'csv',
      message:
        error.reason === 'encoding'
          ? `${file} is not UTF-8 text: ${error.message}.`
          : `${file} is not a valid CSV file at line ${error.line}: ${error.message}.`,
      hint:
        error.reason === 'encoding'
          ? 'Save the file as UTF-8 (dbt reads seeds as UTF-8 too).'
          : 'Fix the file: every row needs as many fields as the header, and quotes must be closed.',
      location: { file, line: error.line, column: 1 },
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
  const said = oneLine(message);
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

/** The line where cell `column` of record `record` starts: its record's line, plus the line breaks before it. */
function lineOfCell(chunk: CsvChunk, record: number, column: number): number {
  const first = record === 0 ? 0 : chunk.recordEnds[record - 1];
  let line = chunk.recordLines[record];
  for (let at = chunk.cellStarts[first]; at < chunk.cellStarts[first + column]; at++)
    if (chunk.bytes[at] === 0x0a) line++;
  return line;
}

function badValue(
  file: string,
  header: string[],
  column: number,
  line: number,
  value: string,
  declared: DeclaredColumn,
): LensError {
  const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return new LensError({
    code: 'csv',
    message: `${file} line ${line}, column "${header[column]}": ${shown} is not ${DESCRIBED[declared.kind]}, as column_types declares it (${declared.type}, in ${declared.at.file}:${declared.at.line}).`,
    hint: `Fix the value in the CSV, or declare the column as text (varchar) in ${declared.at.file}.`,
    location: { file, line, column: 1 },
  });
}

/** What a column's non-empty values have all been so far. */
type Seen = 'none' | ColumnType;

const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;

/**
 * The type a column whose values have all been `seen` is after the value `bytes[start, end)`: INTEGER while every
 * value is an integer JavaScript holds exactly (/^[+-]?\d+$/), REAL while every value is a number
 * (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/), else TEXT. Read from the bytes: no string unless 16 digits or more.
 */
function widen(seen: Seen, bytes: Buffer, start: number, end: number): Seen {
  if (seen === 'TEXT') return 'TEXT';
  let at = start;
  if (bytes[at] === PLUS || bytes[at] === MINUS) at++;
  const digitsStart = at;
  while (at < end && isDigit(bytes[at])) at++;
  const digits = at - digitsStart;
  if (at === end) {
    if (digits === 0) return 'TEXT';
    if (seen === 'REAL') return 'REAL';
    // 15 digits are always a safe integer; more may be (leading zeros) or not.
    return digits <= 15 || Number.isSafeInteger(Number(bytes.toString('latin1', start, end))) ? 'INTEGER' : 'REAL';
  }
  let fraction = 0;
  if (bytes[at] === DOT) {
    const fractionStart = ++at;
    while (at < end && isDigit(bytes[at])) at++;
    fraction = at - fractionStart;
  }
  if (digits === 0 && fraction === 0) return 'TEXT';
  if (at < end && (bytes[at] | 0x20) === 0x65) {
    at++;
    if (at < end && (bytes[at] === PLUS || bytes[at] === MINUS)) at++;
    const exponentStart = at;
    while (at < end && isDigit(bytes[at])) at++;
    if (at === exponentStart) return 'TEXT';
  }
  return at === end ? 'REAL' : 'TEXT';
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

const TRUE_SET = new Set(TRUE_VALUES);
function booleanOf(value: string): number {
  return TRUE_SET.has(value.replace(/^ +| +$/g, '').toLowerCase()) ? 1 : 0;
}

const SQLITE_DONE = 101;
const BOOLEAN = 1;
const INTEGER_COLUMN = 2;

/**
 * Inserts rows straight from the file's bytes: each chunk is copied once into sql.js's memory, and each cell is bound
 * to a prepared multi-row INSERT as a pointer into that copy (no string per cell; SQLite copies the bytes into the
 * row, and the column's affinity turns a number's text into the number, as CAST would). The rows a chunk ends with,
 * fewer than one INSERT holds, go through a one-row INSERT before the next chunk replaces the copy.
 */
class RowInserter {
  private readonly handle: number;
  private readonly rowsPerInsert: number;
  private readonly many: number;
  private readonly one: number;
  /** The chunk's copy in sql.js's memory. */
  private base = 0;
  private capacity = 0;
  /** Rows bound to `many` and not yet inserted, from record `firstPending` of the chunk. */
  private pending = 0;
  private firstPending = 0;

  constructor(
    db: Database,
    private readonly table: string,
    private readonly columns: number,
    /** Each column's: booleans are bound as 1/0, integers' digits as numbers, the rest as text. */
    private readonly kinds: Uint8Array,
    private readonly sql: SqlJsInternals,
  ) {
    this.handle = databaseHandle(db);
    this.rowsPerInsert = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(MAX_PARAMETERS / columns)));
    this.many = this.prepare(this.rowsPerInsert);
    try {
      this.one = this.prepare(1);
    } catch (error) {
      sql._sqlite3_finalize(this.many);
      throw error;
    }
  }

  private check(code: number): void {
    if (code !== 0 && code !== SQLITE_DONE)
      throw new Error(this.sql.UTF8ToString(this.sql._sqlite3_errmsg(this.handle)));
  }

  private prepare(rows: number): number {
    const row = `(${Array(this.columns).fill('?').join(',')})`;
    const text = this.sql.stringToNewUTF8(
      `INSERT INTO ${quoteIdentifier(this.table)} VALUES ${Array(rows).fill(row).join(',')}`,
    );
    const out = this.sql._malloc(4);
    try {
      this.check(this.sql._sqlite3_prepare_v2(this.handle, text, -1, out, 0));
      return new DataView(this.sql.memory.buffer).getInt32(out, true);
    } finally {
      this.sql._free(out);
      this.sql._free(text);
    }
  }

  /** Copies the chunk's bytes (up to its last cell's end) into sql.js's memory. */
  begin(chunk: CsvChunk): void {
    const used = chunk.cellEnds[chunk.recordEnds[chunk.records - 1] - 1];
    if (this.capacity < used) {
      if (this.base) this.sql._free(this.base);
      this.capacity = Math.max(used, this.capacity * 2);
      this.base = this.sql._malloc(this.capacity);
      if (!this.base) throw new Error('out of memory');
    }
    new Uint8Array(this.sql.memory.buffer, this.base, used).set(chunk.bytes.subarray(0, used));
  }

  private bind(statement: number, parameter: number, chunk: CsvChunk, record: number): void {
    const bytes = chunk.bytes;
    const first = record === 0 ? 0 : chunk.recordEnds[record - 1];
    for (let column = 0; column < this.columns; column++, parameter++) {
      const start = chunk.cellStarts[first + column];
      const end = chunk.cellEnds[first + column];
      const kind = this.kinds[column];
      if (start !== end && kind === BOOLEAN) {
        this.sql._sqlite3_bind_int(statement, parameter, booleanOf(bytes.toString('utf8', start, end)));
        continue;
      }
      if (kind === INTEGER_COLUMN && end - start <= 10) {
        // Up to 9 digits and a sign: a 32-bit integer, bound as one (what the column's affinity would make of it).
        let at = start;
        const negative = bytes[at] === MINUS;
        if (negative || bytes[at] === PLUS) at++;
        let value = 0;
        while (at < end && at - start < 10 && isDigit(bytes[at])) value = value * 10 + bytes[at++] - 0x30;
        if (at === end && end - start > (negative || bytes[start] === PLUS ? 1 : 0) && value < 2 ** 31) {
          this.sql._sqlite3_bind_int(statement, parameter, negative ? -value : value);
          continue;
        }
      }
      // A null pointer binds NULL: an empty cell.
      this.sql._sqlite3_bind_text(statement, parameter, start === end ? 0 : this.base + start, end - start, 0);
    }
  }

  private run(statement: number): void {
    this.check(this.sql._sqlite3_step(statement));
    this.check(this.sql._sqlite3_reset(statement));
  }

  add(chunk: CsvChunk, record: number): void {
    if (this.pending === 0) this.firstPending = record;
    this.bind(this.many, 1 + this.pending * this.columns, chunk, record);
    if (++this.pending === this.rowsPerInsert) {
      this.run(this.many);
      this.pending = 0;
    }
  }

  end(chunk: CsvChunk): void {
    for (let record = this.firstPending; this.pending > 0; record++, this.pending--) {
      this.bind(this.one, 1, chunk, record);
      this.run(this.one);
    }
  }

  free(): void {
    this.sql._sqlite3_finalize(this.many);
    this.sql._sqlite3_finalize(this.one);
    if (this.base) this.sql._free(this.base);
  }
}

/**
 * Loads `file` into a new table; returns the number of rows. Usually in one pass over the file's bytes: the first
 * chunk's values give each column its type (inferred, or declared and checked), the table is created with those, and
 * each chunk is checked (quoting, UTF-8, cell counts, values) before its rows are inserted. When a later chunk changes
 * a column's type (a column of integers meets "1.5" or "n/a"), the table is dropped, the rest of the file is read for
 * the types, and a second pass inserts the rows. `seed`: what dbt's configs say about the file (column_types,
 * delimiter). `chunkBytes`: how much is read at a time (tests vary it to move the chunks' boundaries).
 */
export async function loadCsvTable(
  db: Database,
  table: string,
  file: string,
  seed?: SeedConfig,
  { chunkBytes }: { chunkBytes?: number } = {},
): Promise<number> {
  let header: string[] | undefined;
  let declared: (DeclaredColumn | undefined)[] = [];
  let seen: Seen[] = [];
  let rows = 0;
  const tooWide = () =>
    new LensError({
      code: 'csv',
      message: `${file} has more than ${MAX_CSV_COLUMNS.toLocaleString('en')} columns in its header; a SQLite table holds at most ${MAX_CSV_COLUMNS.toLocaleString('en')}.`,
      hint: 'Split the file, or keep only the columns the model reads.',
      location: { file, line: 1, column: 1 },
    });
  /** One pass: the header (read by the first pass), then `visit` for each chunk of records after it. */
  async function eachChunk(visit: (chunk: CsvChunk) => void): Promise<void> {
    // A header is kept whole up to MAX_HEADER_BYTES cells (it is at most that long) so that the error can say how wide.
    const scanner = new CsvScanner(file, seed?.delimiter ?? ',', MAX_HEADER_BYTES + 1, chunkBytes);
    let headerSeen = false;
    try {
      for await (const chunk of scanner.chunks()) {
        if (headerSeen) visit(chunk);
        else if (!header) {
          // The first chunk holds the header alone.
          header = checkHeader(
            file,
            Array.from({ length: chunk.recordEnds[0] }, (_, cell) =>
              chunk.bytes.toString('utf8', chunk.cellStarts[cell], chunk.cellEnds[cell]),
            ),
          );
          seen = header.map(() => 'none');
          declared = declaredColumns(file, header, seed);
        }
        headerSeen = true;
      }
    } catch (error) {
      if (error instanceof CsvSyntaxError && error.reason === 'cells' && !headerSeen) throw tooWide();
      throw error;
    }
  }
  /** Widens each column's type by the chunk's values, or checks them against its declared type. */
  const infer = (chunk: CsvChunk) => {
    const columns = seen.length;
    for (let record = 0, first = 0; record < chunk.records; first = chunk.recordEnds[record++]) {
      for (let column = 0; column < columns; column++) {
        const type = declared[column];
        if (!type && seen[column] === 'TEXT') continue;
        const start = chunk.cellStarts[first + column];
        const end = chunk.cellEnds[first + column];
        if (start === end) continue;
        if (type) {
          const value = chunk.bytes.toString('utf8', start, end);
          if (!ACCEPTS[type.kind](value))
            throw badValue(file, header!, column, lineOfCell(chunk, record, column), value, type);
        } else seen[column] = widen(seen[column], chunk.bytes, start, end);
      }
    }
    rows += chunk.records;
  };
  const types = () =>
    seen.map((type, index) => (declared[index] ? STORED_AS[declared[index].kind] : type === 'none' ? 'TEXT' : type));

  await checkHeaderLength(file).catch((error: unknown) => {
    throw csvError(file, error, table);
  });
  const sql = await sqlJsInternals();
  let inserter: RowInserter | undefined;
  const createTable = (columnTypes: ColumnType[]) => {
    const names = checkHeader(file, header);
    db.run(
      `CREATE TABLE ${quoteIdentifier(table)} (${names.map((name, index) => `${quoteIdentifier(name)} ${columnTypes[index]}`).join(', ')})`,
    );
    const kinds = Uint8Array.from(columnTypes, (type, index) =>
      declared[index]?.kind === 'boolean' ? BOOLEAN : type === 'INTEGER' ? INTEGER_COLUMN : 0,
    );
    inserter = new RowInserter(db, table, names.length, kinds, sql);
    return inserter;
  };
  const insert = (chunk: CsvChunk) => {
    inserter!.begin(chunk);
    for (let record = 0; record < chunk.records; record++) inserter!.add(chunk, record);
    inserter!.end(chunk);
  };
  db.run('BEGIN');
  try {
    let created: ColumnType[] | undefined;
    let held = true;
    await eachChunk((chunk) => {
      infer(chunk);
      if (!held) return;
      const now = types();
      created ??= (createTable(now), now);
      if (now.every((type, index) => type === created![index])) insert(chunk);
      else {
        // The first chunk's types did not hold: the rest of this pass only reads the types.
        held = false;
        inserter!.free();
        inserter = undefined;
        db.run(`DROP TABLE ${quoteIdentifier(table)}`);
      }
    });
    if (!held || !created) {
      // Second pass (or a file of a header alone): the table with the file's types, then its rows.
      createTable(types());
      let inserted = 0;
      if (rows > 0) {
        await eachChunk((chunk) => {
          insert(chunk);
          inserted += chunk.records;
        });
      }
      if (inserted !== rows) {
        throw new LensError({
          code: 'csv',
          message: `${file} changed while Segment Lens read it.`,
          hint: 'Run again once the file is saved.',
        });
      }
    }
    db.run('COMMIT');
  } catch (error) {
    try {
      db.run('ROLLBACK');
    } catch {
      // SQLite ended the transaction itself (out of memory): nothing to roll back
    }
    throw csvError(file, error, table);
  } finally {
    inserter?.free();
  }
  return rows;
}
