// Lays the loaded data out for the model's joins: a unique integer join key becomes the table's INTEGER PRIMARY KEY
// (rows stored in key order, so the join is a rowid lookup instead of a temporary index), any other join key gets
// an index. Driven by what the lineage says the model joins on; the data's values never change.
import type { LoadedData } from '../data/loadedData';
import type { SourceColumn } from '../../shared/lineageGraph';
import { quoteIdentifier, quoteString } from '../sql/names';
import { tableError } from './sqlErrors';

/** What was done to which table, for the run's notes. */
export function optimizeLayout(data: LoadedData, keys: readonly SourceColumn[]): string[] {
  const done: string[] = [];
  const seen = new Set<string>();
  for (const key of keys) {
    const located = data.locate(key.table);
    if (!located) continue;
    const id = JSON.stringify([located.schema, located.table, key.column.toLowerCase()]);
    if (seen.has(id)) continue;
    seen.add(id);
    // A table whose pages are corrupt (or too large to copy) fails here first: the error names it and its file.
    try {
      const step = layOutKey(data, located.schema, located.table, key.column);
      if (step) done.push(step);
    } catch (error) {
      throw tableError(error, data, located.schema, located.table);
    }
  }
  return done;
}

/** Lays one table out for one join key; what was done, if anything. */
function layOutKey(data: LoadedData, schema: string, table: string, keyColumn: string): string | undefined {
  const qualified = `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
  const info =
    data.main.exec(`SELECT name, type, pk FROM pragma_table_info(${quoteString(table)}, ${quoteString(schema)})`)[0]
      ?.values ?? [];
  const column = info.find((row) => String(row[0]).toLowerCase() === keyColumn.toLowerCase());
  const kind = data.main.exec(
    `SELECT type FROM ${quoteIdentifier(schema)}.sqlite_master WHERE name = ${quoteString(table)}`,
  )[0]?.values[0]?.[0];
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
  if (
    !notInteger &&
    rebuildWithKey(
      data,
      schema,
      table,
      name,
      info.map((row) => [String(row[0]), String(row[1])]),
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
