// The user's data, opened into sql.js: an in-memory copy (source files are only ever read), the schemas in it and
// how a name the model writes finds its table.
import path from 'node:path';
import type { Database, Statement } from 'sql.js';
import { LensError } from '../errors';
import { quoteIdentifier, quoteString } from '../sql/names';
import type { QueryExecutor } from './executor';
import { registerSqlFunctions } from './sqlFunctions';

/** What was opened, as reported to the user. */
export interface SourceInfo {
  type: 'sample' | 'sqlite' | 'dbt' | 'csv' | 'postgres';
  /** One line for a status bar, e.g. "SQLite warehouse.db + staging". */
  description: string;
  /** Files read, absolute. */
  files: string[];
  /** Each schema and the file or folder behind it. */
  schemas: Record<string, string>;
  profile?: string;
  target?: string;
}

/**
 * sql.js holds the whole database in memory, as JavaScript buffers (about twice its size while loading), and Node
 * reads no file over 2 GiB at once: past these sizes Segment Lens says so instead of running out of memory.
 */
export const MAX_SQLITE_BYTES = 2 * 1024 ** 3 - 1;
export const MAX_CSV_BYTES = 1.5 * 1024 ** 3;

export function tooLarge(files: string[], bytes: number, limit: number): LensError {
  const gib = (value: number) => `${(value / 1024 ** 3).toFixed(1)} GiB`;
  return new LensError({
    code: 'too-large',
    message: `The data is ${gib(bytes)} (${files.map((file) => path.basename(file)).join(', ')}), more than Segment Lens can hold in memory (${gib(limit)}).`,
    hint: 'Point segmentLens.connection at a smaller extract (a sample, or fewer columns), or run the model in your warehouse.',
  });
}

/** A database file to open as a schema. */
export interface SchemaFile {
  schema: string;
  file: string;
}

/** sql.js keeps each database in its in-memory file system under this name. */
export function memfsPath(db: Database): string {
  return `/${(db as unknown as { filename: string }).filename}`;
}

export class LoadedData {
  private readonly databases: Database[] = [];
  /** `schema.table.column` (lower case) of keys the layout proved unique. */
  readonly uniqueKeys = new Set<string>();
  /** What the user should know about how the data was read (e.g. a WAL file it could not include). */
  readonly notes: string[] = [];
  /** Results of the data checks (checks.ts), by check and column: each is computed once per load. */
  readonly checks = new Map<string, string | undefined>();
  /** The layout step ran on this data (once per load). */
  laidOut = false;
  /**
   * Relations built from the project's upstream models (upstream.ts), by `schema.identifier` in lower case: how
   * each was created and a hash of what it was created from (rebuilt only when that changes).
   */
  readonly built = new Map<string, { schema: string; identifier: string; kind: 'view' | 'table'; hash: string }>();
  /** Row counts of the upstream relations, by `schema.identifier` in lower case, with the hash they were counted at. */
  readonly relationRows = new Map<string, { hash: string; rows: number }>();
  /** How many relations were built or rebuilt on this data, over all runs. */
  buildCount = 0;
  /** Lineages of upstream models read on this data, by build count, file and SQL (session.ts). */
  readonly upstreamLineages = new Map<string, unknown>();
  /** Set when the model runs where the data lives (pushdown): the tables here are then empty, for the lineage. */
  executor?: QueryExecutor;
  constructor(
    readonly main: Database,
    readonly source: SourceInfo,
  ) {
    this.databases.push(main);
    registerSqlFunctions(main);
  }

  /** Attaches a database held by another sql.js connection (the file lives in sql.js's memory) as `schema`. */
  attach(schema: string, db: Database): void {
    this.databases.push(db);
    try {
      this.main.run(`ATTACH ${quoteString(memfsPath(db))} AS ${quoteIdentifier(schema)}`);
    } catch (error) {
      // The settings refuse main, temp and names differing in case; what is left is SQLite's own limit (10).
      const message = (error as Error).message;
      throw new LensError({
        code: 'settings',
        message: `Schema "${schema}" cannot be attached to ${this.source.description}: ${message}.`,
        hint: /too many attached/.test(message)
          ? 'SQLite attaches at most 10 schemas besides the main one: point the model at fewer schemas.'
          : 'Give the schema another name.',
      });
    }
  }

  /** The database opened here whose file (in sql.js's memory) is `file`, as `PRAGMA database_list` names it. */
  databaseOf(file: string): Database | undefined {
    return this.databases.find((db) => memfsPath(db) === file);
  }

  schemaNames(): string[] {
    const rows = this.main.exec('PRAGMA database_list')[0]?.values ?? [];
    return rows.map((row) => String(row[1])).filter((name) => name !== 'temp');
  }

  tablesOf(schema: string): string[] {
    const rows =
      this.main.exec(
        `SELECT name FROM ${quoteIdentifier(schema)}.sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`,
      )[0]?.values ?? [];
    return rows.map((row) => String(row[0]));
  }

  /** Every table as `schema.table`. */
  allTables(): string[] {
    return this.schemaNames().flatMap((schema) => this.tablesOf(schema).map((table) => `${schema}.${table}`));
  }

  columnsOf(schema: string, table: string): string[] {
    const rows =
      this.main.exec(`SELECT name FROM pragma_table_info(${quoteString(table)}, ${quoteString(schema)})`)[0]?.values ??
      [];
    return rows.map((row) => String(row[0]));
  }

  /**
   * Columns of a table as a model writes it: `schema.table` is that schema's table, or else (as `aliasSchema` does)
   * the table in whichever database has it; `table` is found as SQLite finds it (main first). Undefined if none has it.
   */
  columnsOfWritten(written: string): string[] | undefined {
    const located = this.locate(written);
    return located && this.columnsOf(located.schema, located.table);
  }

  /** The schema and table a name as written in the model resolves to (see `columnsOfWritten`). */
  locate(written: string): { schema: string; table: string } | undefined {
    const dot = written.indexOf('.');
    const schema = dot === -1 ? undefined : written.slice(0, dot);
    const table = dot === -1 ? written : written.slice(dot + 1);
    const schemas = this.schemaNames();
    const attached = schema && schemas.find((name) => name.toLowerCase() === schema.toLowerCase());
    for (const candidate of attached ? [attached] : schemas) {
      const found = this.tablesOf(candidate).find((name) => name.toLowerCase() === table.toLowerCase());
      if (found) return { schema: candidate, table: found };
    }
    return undefined;
  }

  /** Prepares `sql`; a `schema.table` whose schema was not opened is served by the database that has the table. */
  prepare(sql: string): Statement {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.main.prepare(sql);
      } catch (error) {
        const missing = /^no such table: ([^.]+)\.(.+)$/.exec((error as Error).message);
        if (!missing || attempt > 10 || !this.aliasSchema(missing[1], missing[2])) throw error;
      }
    }
  }

  /**
   * The model names `schema.table` but no such schema was opened: let `schema` stand for the database that has
   * `table` (the main database first), so one SQLite file works with a model that qualifies its names.
   */
  aliasSchema(schema: string, table: string): boolean {
    if (this.schemaNames().some((name) => name.toLowerCase() === schema.toLowerCase())) return false;
    const rows = this.main.exec('PRAGMA database_list')[0]?.values ?? [];
    for (const [, name, file] of rows) {
      if (name === 'temp' || !file) continue;
      if (this.tablesOf(String(name)).some((found) => found.toLowerCase() === table.toLowerCase())) {
        this.main.run(`ATTACH ${quoteString(String(file))} AS ${quoteIdentifier(schema)}`);
        return true;
      }
    }
    return false;
  }

  close(): void {
    this.executor?.close();
    this.executor = undefined;
    for (const db of this.databases.reverse()) db.close();
    this.databases.length = 0;
  }
}
