// Lays the loaded data out for the model's joins: a unique integer join key becomes the table's INTEGER PRIMARY KEY
// (rows stored in key order, so the join is a rowid lookup instead of a temporary index), any other join key gets
// an index. Driven by what the lineage says the model joins on; the data's values never change.
import type { LoadedData } from '../data/loadedData';
import type { SourceColumn } from '../../shared/lineageGraph';
import { quoteIdentifier, quoteString } from '../sql/names';

/** What was done to which table, for the run's notes. */
export function optimizeLayout(data: LoadedData, keys: readonly SourceColumn[]): string[] {
  const done: string[] = [];
  for (const key of keys) {
    const located = data.locate(key.table);
    if (!located) continue;
    const { schema, table } = located;
    const qualified = `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
    const info =
      data.main.exec(`SELECT name, type, pk FROM pragma_table_info(${quoteString(table)}, ${quoteString(schema)})`)[0]
        ?.values ?? [];
    const column = info.find((row) => String(row[0]).toLowerCase() === key.column.toLowerCase());
    const kind = data.main.exec(
      `SELECT type FROM ${quoteIdentifier(schema)}.sqlite_master WHERE name = ${quoteString(table)}`,
    )[0]?.values[0]?.[0];
    if (!column || kind !== 'table') continue;
    const name = String(column[0]);
    const primaryKeys = info.filter((row) => Number(row[2]) > 0);
    if (primaryKeys.length === 1 && String(primaryKeys[0][0]) === name && /^integer$/i.test(String(column[1]))) {
      data.uniqueKeys.add(`${schema}.${table}.${name}`.toLowerCase());
      continue;
    }
    // Every value an integer (no NULL, no text like '007' that the key would turn into 7): try the primary key,
    // which also proves the values unique (a duplicate fails the insert, and then an index serves instead).
    const notInteger =
      data.main.exec(`SELECT 1 FROM ${qualified} WHERE typeof(${quoteIdentifier(name)}) != 'integer' LIMIT 1`).length >
      0;
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
      done.push(`${schema}.${table}: ${name} as INTEGER PRIMARY KEY`);
      continue;
    }
    data.main.run(
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(schema)}.${quoteIdentifier(`${table}__segment_lens_${name}`)} ON ${quoteIdentifier(table)} (${quoteIdentifier(name)})`,
    );
    data.main.run(`ANALYZE ${qualified}`);
    done.push(`${schema}.${table}: index on ${name}`);
  }
  return done;
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
  const target = `${quoteIdentifier(schema)}.${quoteIdentifier(`${table}__segment_lens_layout`)}`;
  const definitions = columns
    .map(([name, type]) =>
      name === key ? `${quoteIdentifier(name)} INTEGER PRIMARY KEY` : `${quoteIdentifier(name)} ${type}`,
    )
    .join(', ');
  const names = columns.map(([name]) => quoteIdentifier(name)).join(', ');
  data.main.run('BEGIN');
  try {
    data.main.run(`CREATE TABLE ${target} (${definitions})`);
    data.main.run(
      `INSERT INTO ${target} (${names}) SELECT ${names} FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)}`,
    );
  } catch (error) {
    data.main.run('ROLLBACK');
    if (/UNIQUE constraint failed/.test((error as Error).message)) return false;
    throw error;
  }
  data.main.run(`DROP TABLE ${quoteIdentifier(schema)}.${quoteIdentifier(table)}`);
  data.main.run(`ALTER TABLE ${target} RENAME TO ${quoteIdentifier(table)}`);
  data.main.run('COMMIT');
  return true;
}
