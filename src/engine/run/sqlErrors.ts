// SQLite's errors, turned into ones that point at the model file and say what to do.
import { LensError } from '../errors';
import type { LoadedData } from '../data/loadedData';
import { findName } from '../sql/syntax';
import type { PreparedQuery } from './prepare';

/** Turns an SQLite error into one that points at the model file and says what to do. */
export function sqlError(message: string, query: PreparedQuery, data: LoadedData): LensError {
  const { sql, sourceMap, file } = query;
  const program = query.parsed.ok ? query.parsed.program : undefined;
  const at = (range: { start: number; end: number } | undefined) =>
    range ? sourceMap.location(range.start, range.end) : undefined;
  let match: RegExpExecArray | null;
  if ((match = /^no such table: (.+)$/.exec(message))) {
    const name = match[1];
    const tables = data.allTables();
    return new LensError({
      code: 'missing-table',
      message: `Table ${name} does not exist in ${data.source.description}.`,
      hint: [
        tables.length ? `Tables that exist: ${tables.join(', ')}.` : 'The data has no tables at all.',
        ...data.notes,
      ].join(' '),
      location: at(program && findName(program, name)),
    });
  }
  if ((match = /^no such column: (.+)$/.exec(message))) {
    const name = match[1];
    const mentioned = data.allTables().filter((qualified) => program && findName(program, qualified.split('.')[1]));
    const columns = mentioned.map((qualified) => {
      const [schema, table] = qualified.split('.');
      return `${qualified} (${data.columnsOf(schema, table).join(', ')})`;
    });
    return new LensError({
      code: 'missing-column',
      message: `Column ${name} does not exist in ${file}.`,
      hint: columns.length
        ? `Columns of the tables the model reads: ${columns.join('; ')}.`
        : 'Check the column name against your data.',
      location: at(program && findName(program, name)),
    });
  }
  if ((match = /^near "(.*)": syntax error$/s.exec(message))) {
    return new LensError({
      code: 'sql-syntax',
      message: `SQL syntax error near "${match[1]}" in ${file}.`,
      hint: 'Fix the SQL at this position.',
      location: at(syntaxErrorRange(message, match[1], sql, data)),
    });
  }
  if (message === 'incomplete input') {
    const end = sql.trimEnd().length;
    return new LensError({
      code: 'sql-syntax',
      message: `The SQL in ${file} ends too early (incomplete input).`,
      hint: 'Close every parenthesis, string and CASE … END.',
      location: at({ start: Math.max(0, end - 1), end }),
    });
  }
  if ((match = /^(?:ambiguous column name|no such function): (.+)$/.exec(message))) {
    return new LensError({
      code: 'sql',
      message: `${message} (in ${file}).`,
      hint: message.startsWith('ambiguous')
        ? 'Qualify the column with its table alias.'
        : 'SQLite has no such function; use one it has.',
      location: at(program && findName(program, match[1])),
    });
  }
  if (/malformed|not a database/.test(message)) {
    return new LensError({
      code: 'corrupt-database',
      message: `The data in ${data.source.description} cannot be read: ${message}.`,
      hint: 'A database file may be corrupt or truncated; restore it or rebuild it with dbt.',
    });
  }
  return new LensError({ code: 'sql', message: `SQLite error in ${file}: ${message}.`, hint: "Fix the model's SQL." });
}

/** SQLite names the token it choked on but not where: the first prefix of the SQL ending with it that fails the same way. */
function syntaxErrorRange(
  message: string,
  near: string,
  sql: string,
  data: LoadedData,
): { start: number; end: number } | undefined {
  const candidates: number[] = [];
  for (let index = sql.indexOf(near); index !== -1 && near !== ''; index = sql.indexOf(near, index + 1))
    candidates.push(index);
  for (const start of candidates.slice(0, 500)) {
    try {
      data.main.prepare(sql.slice(0, start + near.length)).free();
    } catch (error) {
      if ((error as Error).message === message) return { start, end: start + near.length };
    }
  }
  return undefined;
}
