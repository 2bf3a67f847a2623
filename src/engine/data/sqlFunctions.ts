// SQL functions SQLite lacks that dbt's cross-database macros (model/dbtBuiltins.ts) render to, and Postgres's
// date_part, which packages' default implementations render to (dbt_date's day_of_week). Each is deterministic,
// linear in its input (no loop a user's data can stretch beyond one pass) and NULL in → NULL out. Names other than
// Postgres's own (md5, date_part) start with segment_lens_ so they cannot clash with a user's.
import { createHash } from 'node:crypto';
import type { Database, SqlValue } from 'sql.js';

/** Registers the functions on `db`; databases attached to it share them. */
export function registerSqlFunctions(db: Database): void {
  // sql.js takes each function's arity from its declared parameters.
  db.create_function('md5', md5);
  db.create_function('segment_lens_split_part', splitPart);
  db.create_function('segment_lens_is_number', isNumber);
  db.create_function('date_part', datePart);
}

// 'YYYY-MM-DD', then optionally ' HH:MM', ':SS', '.fraction' (a 'T' for the space), as SQLite's date functions read.
const TIMESTAMP = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*$/;

/** Days since 1970-01-01 of a proleptic Gregorian date, or undefined when there is no such day (Feb 30). */
function epochDay(year: number, month: number, day: number): number | undefined {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return Math.round(date.getTime() / 86_400_000);
}

/** ISO 8601 week-numbering year and week of the day `days` (since 1970-01-01) of `year`. */
function isoWeek(days: number, year: number): { year: number; week: number } {
  const isoDow = ((((days + 3) % 7) + 7) % 7) + 1; // 1970-01-01 was a Thursday
  // The week belongs to the year its Thursday is in.
  const thursday = days - isoDow + 4;
  const weekYear = thursday < epochDay(year, 1, 1)! ? year - 1 : thursday > epochDay(year, 12, 31)! ? year + 1 : year;
  return { year: weekYear, week: Math.floor((thursday - epochDay(weekYear, 1, 1)!) / 7) + 1 };
}

/**
 * Postgres's date_part(field, timestamp) on a date or timestamp as SQLite keeps it (ISO text), as a number: year,
 * quarter, month, week (ISO), day, hour, minute, second (with its fraction), dow (0 = Sunday; `dayofweek` as
 * Redshift and Snowflake name it), isodow (1 = Monday), doy (`dayofyear`), isoyear, epoch (seconds since 1970, UTC).
 * Text that is not a date gives NULL (Postgres would fail); a field it does not know is an error naming it.
 */
function datePart(field: SqlValue, source: SqlValue): number | null {
  if (field === null || source === null) return null;
  const name = text(field instanceof Uint8Array ? text(field) : field)
    .trim()
    .toLowerCase();
  const parts = TIMESTAMP.exec(typeof source === 'string' ? source : '');
  if (!parts) {
    if (!FIELDS.has(name)) throw new Error(`date_part: the field '${name}' is not one Segment Lens knows`);
    return null;
  }
  const [year, month, day, hour, minute, second] = parts.slice(1, 7).map((part) => Number(part ?? 0));
  const fraction = Number(parts[7] ?? 0);
  const days = epochDay(year, month, day);
  if (days === undefined || hour > 23 || minute > 59 || second > 59) return null;
  const dow = (((days + 4) % 7) + 7) % 7;
  switch (name) {
    case 'year':
      return year;
    case 'quarter':
      return Math.floor((month - 1) / 3) + 1;
    case 'month':
      return month;
    case 'week':
      return isoWeek(days, year).week;
    case 'isoyear':
      return isoWeek(days, year).year;
    case 'day':
      return day;
    case 'hour':
      return hour;
    case 'minute':
      return minute;
    case 'second':
      return second + fraction;
    case 'dow':
    case 'dayofweek':
      return dow;
    case 'isodow':
      return dow === 0 ? 7 : dow;
    case 'doy':
    case 'dayofyear':
      return days - epochDay(year, 1, 1)! + 1;
    case 'epoch':
      return days * 86_400 + hour * 3600 + minute * 60 + second + fraction;
    default:
      throw new Error(`date_part: the field '${name}' is not one Segment Lens knows`);
  }
}

const FIELDS = new Set(
  'year quarter month week isoyear day hour minute second dow dayofweek isodow doy dayofyear epoch'.split(' '),
);

const utf8 = new TextDecoder('utf-8');

/** A value as the text SQLite would make of it (sql.js passes INTEGER and REAL alike as a JavaScript number). */
function text(value: Exclude<SqlValue, null>): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : utf8.decode(value);
}

/** Postgres's md5(): the MD5 of the text's UTF-8 bytes (of a BLOB's bytes), as 32 lowercase hex digits. */
function md5(value: SqlValue): string | null {
  if (value === null) return null;
  return createHash('md5')
    .update(value instanceof Uint8Array ? value : text(value))
    .digest('hex');
}

/**
 * Postgres 14's split_part(text, delimiter, n): the n-th field (1-based), counted from the end when n is negative,
 * '' past either end; an empty delimiter makes the whole text the only field. n = 0 is an error, as in Postgres.
 */
function splitPart(value: SqlValue, delimiter: SqlValue, part: SqlValue): string | null {
  if (value === null || delimiter === null || part === null) return null;
  const n = Number(part instanceof Uint8Array ? text(part) : part);
  if (!Number.isFinite(n)) throw new Error(`split_part: the field position ${text(part)} is not a number`);
  if (Math.trunc(n) === 0) throw new Error('split_part: field position must not be zero');
  const whole = text(value);
  const separator = text(delimiter);
  const fields = separator === '' ? [whole] : whole.split(separator);
  const index = n > 0 ? Math.trunc(n) - 1 : fields.length + Math.trunc(n);
  return index >= 0 && index < fields.length ? fields[index] : '';
}

// Each has one way to match a given text, so a long one costs one pass, never backtracking.
const NUMBER = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
const INTEGER = /^\s*[+-]?\d+\s*$/;

/**
 * 1 when a cast to a number (`integer` ≠ 0: to an integer) would succeed in Postgres, else 0: numbers always, text
 * when it is a decimal literal (an integer one for an integer). safe_cast turns the others into NULL.
 */
function isNumber(value: SqlValue, integer: SqlValue): number | null {
  if (value === null) return null;
  if (typeof value === 'number') return 1;
  if (value instanceof Uint8Array) return 0;
  return (integer ? INTEGER : NUMBER).test(value) ? 1 : 0;
}
