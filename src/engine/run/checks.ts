// Things in the data that make the model's numbers mislead without any error: join keys that repeat (the join
// fans out, so COUNT(DISTINCT …) and AVG(…) count different rows) and text in columns the model compares or
// averages as numbers (SQLite orders every text above every number). Checked once per loaded data.
import type { LoadedData } from '../data/loadedData';
import { joinKeys, numericSources, type LineageGraph } from '../../shared/lineageGraph';
import { quoteIdentifier } from '../sql/names';
import { tableError } from './sqlErrors';

const plural = (count: number, noun: string) => `${count.toLocaleString('en')} ${noun}${count === 1 ? '' : 's'}`;

export function dataWarnings(data: LoadedData, graph: LineageGraph): string[] {
  const count = (sql: string) => Number(data.main.exec(sql)[0]?.values[0]?.[0] ?? 0);
  /** Runs a check once per loaded data and column; later runs (a model edit) reuse the answer. */
  const check = (
    name: string,
    located: { schema: string; table: string },
    column: string,
    compute: (table: string, column: string) => string | undefined,
  ) => {
    const key = `${name}:${located.schema}.${located.table}.${column}`.toLowerCase();
    if (!data.checks.has(key)) {
      let found: string | undefined;
      try {
        found = compute(
          `${quoteIdentifier(located.schema)}.${quoteIdentifier(located.table)}`,
          quoteIdentifier(column),
        );
      } catch (error) {
        // A corrupt page the model's own query never reached: an error naming the table, not a crash.
        throw tableError(error, data, located.schema, located.table);
      }
      data.checks.set(key, found);
    }
    return data.checks.get(key);
  };
  const warnings: (string | undefined)[] = [];
  for (const key of joinKeys(graph)) {
    const located = data.locate(key.table);
    if (!located || data.uniqueKeys.has(`${located.schema}.${located.table}.${key.column}`.toLowerCase())) continue;
    warnings.push(
      check('repeats', located, key.column, (table, column) => {
        const repeats = count(`SELECT count(${column}) - count(DISTINCT ${column}) FROM ${table}`);
        return repeats > 0
          ? `${key.column} repeats in ${key.table} (${plural(repeats, 'extra row')}): the join matches those rows more than once, so COUNT(DISTINCT …) and AVG(…) count different rows. Deduplicate ${key.table} if each ${key.column} should appear once.`
          : undefined;
      }),
    );
  }
  for (const use of numericSources(graph)) {
    const located = data.locate(use.table);
    if (!located) continue;
    warnings.push(
      check('text', located, use.column, (table, column) => {
        const texts = count(`SELECT count(*) FROM ${table} WHERE typeof(${column}) = 'text'`);
        if (texts === 0) return undefined;
        const example = String(
          data.main.exec(`SELECT ${column} FROM ${table} WHERE typeof(${column}) = 'text' LIMIT 1`)[0].values[0][0],
        );
        return `${use.column} in ${use.table} holds text in ${plural(texts, 'row')} (e.g. ${JSON.stringify(example.slice(0, 40))}): SQLite compares text above every number, so those rows land in the wrong segment. Store the column as numbers (no thousands separators or currency signs).`;
      }),
    );
  }
  return warnings.filter((warning): warning is string => warning !== undefined);
}
