// Lays the loaded data out for the model's joins: a unique integer join key becomes the table's INTEGER PRIMARY KEY
// (rows stored in key order, so the join is a rowid lookup instead of a temporary index), any other join key gets
// an index. Driven by what the lineage says the model joins on; the data's values never change.
//
// It is only an optimisation, so it never breaks a run: a table is rebuilt only if every view that read it still
// reads it after (else the rebuild is rolled back and an index serves), and any failure leaves the table as loaded,
// with a note — except a corrupt table, which is an error naming it and its file (the query would fail on it too).
import { LensError, oneLine } from '../errors';
import type { LoadedData } from '../data/loadedData';
import type { SourceColumn } from '../../shared/lineageGraph';
import { quoteIdentifier, quoteString } from '../sql/names';
import { tableError } from './sqlErrors';

/** Bumped whenever what the layout does to the data changes: data laid out by another version is not read back. */
export const LAYOUT_VERSION = 1;

/**
 * What was done to which table, or why a table was left as loaded, for the run's notes (the CLI's --verbose).
 * `modelSql` is the query the layout is for.
 */
export function optimizeLayout(data: LoadedData, keys: readonly SourceColumn[], modelSql: string): string[] {
  const done: string[] = [];
  const seen = new Set<string>();
  for (const key of keys) {
    const located = data.locate(key.table);
    if (!located) continue;
    const id = JSON.stringify([located.schema, located.table, key.column.toLowerCase()]);
    if (seen.has(id)) continue;
    seen.add(id);
    try {
      const step = layOutKey(data, located.schema, located.table, key.column, modelSql);
      if (step) done.push(step);
    } catch (error) {
      // A table whose pages are corrupt fails here first: the error names it and its file.
      const problem = tableError(error, data, located.schema, located.table);
      if (problem.value.code === 'corrupt-database') throw problem;
      const message = error instanceof LensError ? error.value.message : String((error as Error)?.message ?? error);
      done.push(
        `${located.schema}.${located.table}: left as loaded (no key or index on ${key.column}): ${oneLine(message)}`,
      );
    }
  }
  return done;
}

/**
 * A copy made of the table's columns and declared types holds what the table holds and reads as it does: not a
 * virtual table (full-text search), no generated column or collation (the copy would lose them), and no rowid read
 * by the model or a view over the table (the key becomes the rowid).
 */
function copiesExactly(data: LoadedData, schema: string, table: string, created: string, readers: string[]): boolean {
  if (/^\s*create\s+virtual\b/i.test(created) || /\bcollate\b/i.test(created)) return false;
  const hidden = data.main.exec(
    `SELECT 1 FROM pragma_table_xinfo(${quoteString(table)}, ${quoteString(schema)}) WHERE hidden != 0 LIMIT 1`,
  );
  return hidden.length === 0 && !readers.some((sql) => /\b(?:rowid|_rowid_|oid)\b/i.test(sql));
}

/** Lays one table out for one join key; what was done, if anything. */
function layOutKey(
  data: LoadedData,
  schema: string,
  table: string,
  keyColumn: string,
  modelSql: string,
): string | undefined {
  const qualified = `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
  const info =
    data.main.exec(`SELECT name, type, pk FROM pragma_table_info(${quoteString(table)}, ${quoteString(schema)})`)[0]
      ?.values ?? [];
  const column = info.find((row) => String(row[0]).toLowerCase() === keyColumn.toLowerCase());
  const [kind, created] =
    data.main.exec(
      `SELECT type, sql FROM ${quoteIdentifier(schema)}.sqlite_master WHERE name = ${quoteString(table)}`,
    )[0]?.values[0] ?? [];
  if (!column || kind !== 'table') return undefined;
  const name = String(column[0]);
  const primaryKeys = info.filter((row) => Number(row[2]) > 0);
  if (primaryKeys.length === 1 && String(primaryKeys[0][0]) === name && /^integer$/i.test(String(column[1]))) {
    data.uniqueKeys.add(`${schema}.${table}.${name}`.toLowerCase());
    return undefined;
  }
  // Every value an integer (no NULL, no text like '007' that the key would turn into 7): try the primary key,
  // which also proves the values unique (a duplicate fails the insert, and then an index serves instead).
  const notInteger =
    data.main.exec(`SELECT 1 FROM ${qualified} WHERE typeof(${quoteIdentifier(name)}) != 'integer' LIMIT 1`).length > 0;
  const views = notInteger ? [] : readingViews(data, table);
  const copiable =
    !notInteger &&
    copiesExactly(data, schema, table, String(created ?? ''), [modelSql, ...views.map((view) => view.sql)]);
  if (
    copiable &&
    rebuildWithKey(
      data,
      schema,
      table,
      name,
      info.map((row) => [String(row[0]), String(row[1])]),
      views,
    )
  ) {
    data.uniqueKeys.add(`${schema}.${table}.${name}`.toLowerCase());
    return `${schema}.${table}: ${name} as INTEGER PRIMARY KEY`;
  }
  const index = freeName(data, schema, `${table}__segment_lens_${name}`);
  data.main.run(
    `CREATE INDEX ${quoteIdentifier(schema)}.${quoteIdentifier(index)} ON ${quoteIdentifier(table)} (${quoteIdentifier(name)})`,
  );
  data.main.run(`ANALYZE ${qualified}`);
  return `${schema}.${table}: index on ${name}`;
}

/**
 * A name no table, index, view or trigger of `schema` has (SQLite's names ignore case): `base`, else `base_2`, … —
 * a user's own table may be called what the layout would call its copy.
 */
function freeName(data: LoadedData, schema: string, base: string): string {
  // SQLite folds ASCII letters only.
  const fold = (name: string) => name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  const taken = new Set(
    (data.main.exec(`SELECT name FROM ${quoteIdentifier(schema)}.sqlite_master`)[0]?.values ?? []).map((row) =>
      fold(String(row[0])),
    ),
  );
  let name = base;
  for (let suffix = 2; taken.has(fold(name)); suffix++) name = `${base}_${suffix}`;
  return name;
}

interface View {
  schema: string;
  name: string;
  sql: string;
}

/** The views, in every schema, whose SQL names `table` and that can be read now. */
function readingViews(data: LoadedData, table: string): View[] {
  return data
    .schemaNames()
    .flatMap((schema) =>
      (
        data.main.exec(
          `SELECT name, sql FROM ${quoteIdentifier(schema)}.sqlite_master WHERE type = 'view' AND instr(lower(sql), lower(${quoteString(table)})) > 0`,
        )[0]?.values ?? []
      )
        .map((row) => ({ schema, name: String(row[0]), sql: String(row[1]) }))
        .filter((view) => reads(data, view.schema, view.name)),
    );
}

/** SQLite can read the view (its tables and columns bind). */
function reads(data: LoadedData, schema: string, view: string): boolean {
  try {
    data.main.prepare(`SELECT * FROM ${quoteIdentifier(schema)}.${quoteIdentifier(view)} LIMIT 0`).free();
    return true;
  } catch {
    return false;
  }
}

/**
 * Copies the table into one whose `key` is its INTEGER PRIMARY KEY, in the order the rows are stored (data is
 * usually stored in key order, which makes the copy an append). False, and nothing changed, if a key repeats.
 */
function rebuildWithKey(
  data: LoadedData,
  schema: string,
  table: string,
  key: string,
  columns: [string, string][],
  /** The views that read the table: each must read the copy too, or the copy is undone. */
  views: readonly View[],
): boolean {
  const target = `${quoteIdentifier(schema)}.${quoteIdentifier(freeName(data, schema, `${table}__segment_lens_layout`))}`;
  const definitions = columns
    .map(([name, type]) =>
      name === key ? `${quoteIdentifier(name)} INTEGER PRIMARY KEY` : `${quoteIdentifier(name)} ${type}`,
    )
    .join(', ');
  const names = columns.map(([name]) => quoteIdentifier(name)).join(', ');
  data.main.run('BEGIN');
  try {
    data.main.run(`CREATE TABLE ${target} (${definitions})`);
    try {
      data.main.run(
        `INSERT INTO ${target} (${names}) SELECT ${names} FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)}`,
      );
    } catch (error) {
      if (/UNIQUE constraint failed/.test((error as Error).message)) {
        data.main.run('ROLLBACK');
        return false;
      }
      throw error;
    }
    data.main.run(`DROP TABLE ${quoteIdentifier(schema)}.${quoteIdentifier(table)}`);
    // The copy takes the table's name; views over the table keep reading it by that name (legacy: no view is
    // rewritten or checked while the name is briefly free).
    data.main.run('PRAGMA legacy_alter_table = ON');
    try {
      data.main.run(`ALTER TABLE ${target} RENAME TO ${quoteIdentifier(table)}`);
    } finally {
      data.main.run('PRAGMA legacy_alter_table = OFF');
    }
    // A view that read the table and no longer does (SQLite may bind it differently now): keep the table as it was.
    if (views.some((view) => !reads(data, view.schema, view.name))) {
      data.main.run('ROLLBACK');
      return false;
    }
    data.main.run('COMMIT');
    return true;
  } catch (error) {
    // SQLite may have ended the transaction itself (a corrupt page): then there is nothing to roll back.
    try {
      data.main.run('ROLLBACK');
    } catch {
      // no transaction left
    }
    throw error;
  }
}
