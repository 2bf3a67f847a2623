// The second guard, independent of our SQL parser: SQLite itself must find exactly one statement, and its compiled
// program must only read (as sqlite3_stmt_readonly would say) and return rows. The first guard is the parse in
// prepare.ts; the third, `PRAGMA query_only`, is asserted before every query.
import type { Database } from 'sql.js';

/**
 * Opcodes of a program that changes a database, its schema, the connection or the transaction state. (Insert and
 * Delete also fill the temporary tables a GROUP BY or DISTINCT sorts in: a real table needs OpenWrite or Clear.)
 */
const WRITING = new Set([
  'OpenWrite',
  'Clear',
  'Destroy',
  'CreateBtree',
  'SetCookie',
  'ParseSchema',
  'DropTable',
  'DropIndex',
  'DropTrigger',
  'Vacuum',
  'VUpdate',
  'VCreate',
  'VDestroy',
  'Expire',
  'AutoCommit',
  'Savepoint',
  'JournalMode',
  'LoadAnalysis',
  'IncrVacuum',
  'Checkpoint',
]);

/** `sql` without its leading white space and comments: what SQLite's tokenizer reads first. */
function code(sql: string): string {
  let rest = sql;
  for (;;) {
    const trimmed = rest.replace(/^\s+/, '');
    if (trimmed.startsWith('--'))
      rest = trimmed.slice(trimmed.indexOf('\n') === -1 ? trimmed.length : trimmed.indexOf('\n'));
    else if (trimmed.startsWith('/*'))
      rest = trimmed.slice(trimmed.indexOf('*/') === -1 ? trimmed.length : trimmed.indexOf('*/') + 2);
    else return trimmed;
  }
}

/**
 * Why `sql` cannot be a query, from its first word alone. Some statements (PRAGMA query_only among them) take
 * effect while SQLite compiles them: only a statement that starts as a query may be compiled at all.
 */
export function statementProblem(sql: string): string | undefined {
  const first = /^(\w+|\()/.exec(code(sql))?.[1]?.toUpperCase();
  if (first === undefined) return 'it holds no statement';
  if (!['SELECT', 'WITH', 'VALUES', '('].includes(first)) return `it is a ${first} statement`;
  return undefined;
}

/** Why `sql` is not one read-only query, or undefined when it is one. */
export function readOnlyProblem(db: Database, sql: string): string | undefined {
  const early = statementProblem(sql);
  if (early) return early;
  // Only the first statement is compiled; anything after it is refused unread.
  const statements = db.iterateStatements(sql);
  const statement = statements.next();
  const remaining = statements.getRemainingSQL();
  if (!statement.done) statement.value.free();
  if (code(remaining.replace(/^\s*;/, '')).replace(/^;+/, '') !== '')
    return 'SQLite reads more than one statement in it';
  const program = db.exec(`EXPLAIN ${sql}`)[0]?.values ?? [];
  let returnsRows = false;
  for (const [, opcode, , p2] of program) {
    if (WRITING.has(String(opcode))) return `it would change the data or the connection (${String(opcode)})`;
    if (opcode === 'Transaction' && Number(p2) !== 0) return 'it would open a write transaction';
    if (opcode === 'ResultRow') returnsRows = true;
  }
  return returnsRows ? undefined : 'it returns no rows';
}

/** `PRAGMA query_only` is on: nothing run on this connection can write. */
export function isQueryOnly(db: Database): boolean {
  return Number(db.exec('PRAGMA query_only')[0]?.values[0]?.[0]) === 1;
}
