// SQL functions SQLite lacks that dbt's cross-database macros (model/dbtBuiltins.ts) render to. Each is
// deterministic, linear in its input (no loop a user's data can stretch beyond one pass) and NULL in → NULL out.
// Names other than md5 start with segment_lens_ so they cannot clash with a user's.
import { createHash } from 'node:crypto';
import type { Database, SqlValue } from 'sql.js';

/** Registers the functions on `db`; databases attached to it share them. */
export function registerSqlFunctions(db: Database): void {
  // sql.js takes each function's arity from its declared parameters.
  db.create_function('md5', md5);
  db.create_function('segment_lens_split_part', splitPart);
  db.create_function('segment_lens_is_number', isNumber);
}

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
