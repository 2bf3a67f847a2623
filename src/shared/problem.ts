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

/** `file:line:column: `, as compilers prefix what they say; empty without a location. */
export function describeLocation(location: FileLocation | undefined): string {
  return location ? `${location.file}:${location.line}:${location.column}: ` : '';
}

export function describeError(error: LensErrorValue): string {
  return `${describeLocation(error.location)}${error.message}${error.hint ? ` ${error.hint}` : ''}`;
}

/** An answer that may be a problem with the user's input instead: problems travel as values, never as exceptions. */
export type Outcome<T> = { ok: true; result: T } | { ok: false; error: LensErrorValue };

export type LensWarningCode =
  /** A CASE branch no value can reach: the branches above it take every value it would. */
  | 'unreachable-branch'
  /** Two branches claim the same values: the first takes them. */
  | 'overlapping-branches'
  /** A branch the logic allows but no row of the data reaches. */
  | 'empty-segment'
  /** Rows whose compared column is NULL match no branch. */
  | 'null-into-else'
  /** A join key repeats, so the join matches rows more than once. */
  | 'join-fan-out'
  /** Text in a column the model compares or averages as numbers. */
  | 'text-as-number'
  /** Something about the data as it was read (a seed config dbt would ignore, a file being written to). */
  | 'data-note';

/** Something that makes the model's numbers mislead without any error: shown in Problems and in the panel. */
export interface LensWarning {
  code: LensWarningCode;
  severity: 'warning' | 'information';
  /** One or two sentences: what is wrong, how many rows it concerns, what to do. */
  message: string;
  /** Where in the model (or the file at fault) it is written. */
  location?: FileLocation;
}
