// A problem with the user's input as a value: what the engine reports, the host shows and the webview renders.

/** Where in a user's file something went wrong; 1-based, as editors show it. */
export interface FileLocation {
  file: string;
  line: number;
  column: number;
  endLine?: number;
  endColumn?: number;
}

export type LensErrorCode =
  | 'settings'
  | 'file-not-found'
  | 'not-a-file'
  | 'not-sqlite'
  | 'too-large'
  | 'timeout'
  | 'unreadable'
  | 'busy'
  | 'outside-workspace'
  | 'corrupt-database'
  | 'csv'
  | 'yaml'
  | 'dbt-profile'
  | 'jinja'
  | 'sql-syntax'
  | 'missing-table'
  | 'missing-column'
  /** A PostgreSQL server refused or failed (its password, its database, reaching it, a permission). */
  | 'postgres'
  | 'sql';

/** A problem with the user's input: shown to the user, never a crash. */
export interface LensErrorValue {
  code: LensErrorCode;
  /** One line saying what is wrong, naming the file, table, column or setting at fault. */
  message: string;
  /** What the user can do about it. */
  hint?: string;
  location?: FileLocation;
  /** The `segmentLens.*` setting at fault, when a setting is. */
  setting?: string;
}

export function describeError(error: LensErrorValue): string {
  const where = error.location ? `${error.location.file}:${error.location.line}:${error.location.column}: ` : '';
  return `${where}${error.message}${error.hint ? ` ${error.hint}` : ''}`;
}

/** An answer that may be a problem with the user's input instead: problems travel as values, never as exceptions. */
export type Outcome<T> = { ok: true; result: T } | { ok: false; error: LensErrorValue };
