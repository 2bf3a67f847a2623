// Where a model's queries run once its data is known: in sql.js on the loaded data (the default), or on the server
// the data lives on (pushdown: postgres.ts). The session asks its questions — the model's result, a CTE's row count,
// a page of a CTE's rows filtered by a cell — through this one interface; an adapter for another warehouse (Trino,
// Snowflake, …) implements it and nothing else.
import { LensError, type LensErrorValue } from '../errors';
import { quoteIdentifier } from '../sql/names';
import type { SqlValue } from '../../shared/rows';

/** Bounds on the rows one SELECT may return, and what to say when it returns more. */
export interface RowBound {
  maxBytes: number;
  tooLarge: (rows: number) => LensError;
  /** At most this many rows (unset: the SQL's own LIMIT bounds them). */
  maxRows?: number;
  tooMany?: () => LensError;
}

/** How the session writes the few pieces of SQL it adds around the model's own, in the executor's dialect. */
export interface SqlDialect {
  /** The placeholder of the `index`-th parameter (from 1). */
  parameter(index: number): string;
  /** `left` equals `right`, NULL equal to NULL. */
  nullSafeEquals(left: string, right: string): string;
  /** A CTE the model names, referred to from SQL the session adds; `quoted`: the model wrote its name in quotes. */
  cteReference(name: string, quoted: boolean): string;
}

export const SQLITE_DIALECT: SqlDialect = {
  parameter: () => '?',
  nullSafeEquals: (left, right) => `${left} IS ${right}`,
  cteReference: (name) => quoteIdentifier(name),
};

/**
 * The server refused or failed a query the session sent: a LensError as the executor phrased it, with the error's
 * SQLSTATE and, when the server says, where in the SQL given to `select` it found the fault (sqlErrors.ts maps that
 * to the model file).
 */
export class ServerSqlError extends LensError {
  constructor(
    value: LensErrorValue,
    readonly sqlState: string,
    /** 0-based UTF-16 offset into the SQL text; undefined when the server does not say (a runtime error). */
    readonly offset?: number,
    /** The server's own hint, when it gave one (no secret is in it: it is about the SQL). */
    readonly serverHint?: string,
    /** The server's message, one line, without the password. */
    readonly serverMessage?: string,
  ) {
    super(value);
  }
}

/** Runs read-only SELECTs where the data lives; values come back as SQLite would hold them (numbers, text, NULL). */
export interface QueryExecutor {
  readonly dialect: SqlDialect;
  /**
   * Runs one SELECT with positional `params`; with a bound, the rows are fetched in batches and refused as soon as
   * they pass it (memory stays bounded whatever the table size). `cancelled` is asked while the query runs.
   */
  select(
    sql: string,
    params: SqlValue[],
    bound?: RowBound,
    cancelled?: () => boolean,
  ): Promise<{ columns: string[]; rows: SqlValue[][] }>;
  /** Frees the connection; the data it belongs to is closed. */
  close(): void;
}
