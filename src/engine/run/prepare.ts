// The rendered model made ready to run: parsed, and checked to be one read-only SELECT before SQLite sees it.
import { LensError } from '../errors';
import type { RenderedModel } from '../model/jinja';
import type { SourceMap } from '../model/sourceMap';
import { parseModelSql } from './parseMemo';
import { statements, topLevelWith, type ParsedSql, type SqlDialectName, type TopLevelWith } from '../sql/syntax';

export interface PreparedQuery {
  file: string;
  sql: string;
  sourceMap: SourceMap;
  parsed: ParsedSql;
  /** The dialect it was read in: PostgreSQL's when the data is on a PostgreSQL server. */
  dialect: SqlDialectName;
  /** The first statement's top-level WITH clause: the CTEs the row counts and previews read. */
  withClause: TopLevelWith | undefined;
}

/** A message's first line, cut to a readable length. */
function firstLine(message: string): string {
  const line = message.split('\n')[0].trim().replace(/\.$/, '');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

export function prepareQuery(
  rendered: Pick<RenderedModel, 'sql' | 'sourceMap'>,
  file: string,
  dialect: SqlDialectName = 'sqlite',
): PreparedQuery {
  const { sql, sourceMap } = rendered;
  // The parse is the first guard: SQL it cannot read is never run (SQLite's own check is the second, readOnly.ts).
  // A threshold edit moves the tree of the SQL parsed before (parseMemo.ts).
  const parsed = parseModelSql(sql, dialect);
  if (!parsed.ok && sql.trim() !== '') {
    const near = /^Unexpected "(.*)"/.exec(parsed.message)?.[1];
    throw new LensError({
      code: 'sql-syntax',
      message:
        near === undefined
          ? `SQL syntax error in ${file}: ${firstLine(parsed.message)}.`
          : `SQL syntax error near "${firstLine(near)}" in ${file}.`,
      hint: 'Fix the SQL at this position.',
      location: sourceMap.location(parsed.offset),
    });
  }
  const found = parsed.ok ? statements(parsed.program) : undefined;
  if (found?.length === 0 || sql.trim() === '') {
    throw new LensError({
      code: 'sql',
      message: `The model ${file} has no SQL to run.`,
      hint: "Write the model's SELECT statement in the file.",
      location: { file, line: 1, column: 1 },
    });
  }
  // One read-only query: anything else is refused before it reaches SQLite (query_only is the second guard).
  const first = found?.[0];
  if (first && first.type !== 'select_stmt' && first.type !== 'compound_select_stmt') {
    const written = sql
      .slice(first.range?.[0] ?? 0)
      .match(/^\s*([A-Za-z]+(?:\s+[A-Za-z]+)?)/)?.[1]
      ?.toUpperCase();
    // `WITH x AS (…) DELETE …` is a DELETE statement, whatever its first words.
    const keyword = !written || written.startsWith('WITH') ? first.type.replace(/_stmt$/, '').toUpperCase() : written;
    throw new LensError({
      code: 'sql',
      message: `The model ${file} is a ${keyword} statement; Segment Lens runs one read-only SELECT.`,
      hint: 'A model is one SELECT (with CTEs); it never changes the data.',
      location: sourceMap.location(first.range?.[0] ?? 0),
    });
  }
  if (found && found.length > 1) {
    throw new LensError({
      code: 'sql',
      message: `The model ${file} holds more than one SQL statement.`,
      hint: "A model is one SELECT; remove everything after the first statement's semicolon.",
      location: sourceMap.location(found[1].range?.[0] ?? 0),
    });
  }
  return { file, sql, sourceMap, parsed, dialect, withClause: parsed.ok ? topLevelWith(parsed.program) : undefined };
}
