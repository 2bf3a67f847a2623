// A PostgreSQL warehouse, read in pull mode: the model's lineage says which relations and columns it reads; exactly
// those are fetched (a server-side cursor, in batches) into sql.js tables in the same schemas, and the model then
// runs in sql.js as on any other data. Past segmentLens.pull.maxRows, for a model in PostgreSQL syntax sql.js cannot
// run (`::`, `ILIKE`, …), or with segmentLens.postgres.mode "pushdown", nothing is pulled: the tables are made empty, with the server's columns, for the lineage, and the model's queries
// run on the server (PostgresExecutor, the QueryExecutor of executor.ts). Every session is read-only and bounded by statement_timeout; a cancelled run
// sends the server a cancel request; the connection is closed when the pull ends, however it ends. The password is
// never part of a message: errors are rebuilt from the server's SQLSTATE, not passed through.
import { connect as connectSocket } from 'node:net';
import { userInfo } from 'node:os';
import type { Client, ClientConfig, QueryArrayResult } from 'pg';
import type { Database, SqlJsStatic, SqlValue } from 'sql.js';
import { LensError, oneLine, type FileLocation } from '../errors';
import { estimatedBytes } from '../limits';
import type { SourceMap } from '../model/sourceMap';
import type { PostgresMode, PostgresSslMode } from '../settings';
import type { SqlValue as RowValue } from '../../shared/rows';
import { ServerSqlError, type QueryExecutor, type RowBound, type SqlDialect } from './executor';
import { buildLineage, type Lineage } from '../sql/lineage';
import { quoteIdentifier } from '../sql/names';
import { postgresOnlySyntax, type PostgresOnlySyntax } from '../sql/postgresSyntax';
import { parseSql } from '../sql/syntax';
import { LoadedData, type SourceInfo } from './loadedData';

/** A server to read, resolved from the connection setting or a dbt-postgres profile. */
export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  user?: string;
  /**
   * Resolved from an environment variable or the profile, else the password the user stored (withStoredPassword);
   * undefined lets pg read ~/.pgpass. Never shown.
   */
  password?: string;
  /** The password is the one stored with the Set PostgreSQL Password command (the refusal's hint says so). */
  passwordStored?: boolean;
  sslmode?: PostgresSslMode;
  /** dbt's target.schema: the first schema of the search path unless `searchPath` says otherwise. */
  schema: string;
  searchPath?: string;
  /** What named the server, for messages: a setting or a profile's target in its file. */
  origin: string;
}

/** What the pull needs from the run: the rendered model, and the run's cancel and progress. */
export interface PullRequest {
  sql: string;
  sourceMap: SourceMap;
  /**
   * The dbt models upstream of the model (not seeds): one the server holds is pulled like a source, by the columns
   * read from it; one it lacks is built in sql.js afterwards (upstream.ts), so what its own SQL reads is pulled.
   */
  upstream?: PullUpstream[];
  cancelled?: () => boolean;
  onProgress?: (progress: { stage: 'pull'; relation: string; rows: number }) => void;
}

/** An upstream model, as the pull looks for it on the server. */
export interface PullUpstream {
  /** `schema.identifier` as ref() renders it in the SQL: the table it becomes in sql.js. */
  written: string;
  /** Its relation on the server, quoted, in the order tried (dbt-postgres's schema naming first); none: ephemeral. */
  serverNames: string[];
  /** Its SQL, rendered before any data (undefined when it cannot render so): what it reads, if it must be built. */
  sql?: { sql: string; sourceMap: SourceMap };
}

/** Rows fetched per round trip: enough to keep the wire busy, few enough to stay responsive to cancel. */
const FETCH_ROWS = 5000;
/** How often a query in flight looks at the run's cancel flag. */
const CANCEL_POLL_MS = 50;

/** `postgres://host:port/database`: how the server is named to the user (never with the user's password). */
export function postgresUrl(target: Pick<PostgresTarget, 'host' | 'port' | 'database'>): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `postgres://${host}:${target.port}/${target.database}`;
}

/** The command that stores a password in VS Code's SecretStorage, as the palette lists it. */
export const SET_PASSWORD_COMMAND = 'Segment Lens: Set PostgreSQL Password…';

/**
 * `user@host:port/database`: what a stored password is kept under, and how the command names the connection. The
 * user is the one pg connects as: the connection's, else PGUSER, else the login name (as libpq does).
 */
export function postgresPasswordKey(target: Pick<PostgresTarget, 'user' | 'host' | 'port' | 'database'>): string {
  const user = target.user ?? process.env.PGUSER ?? userInfo().username;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${user}@${host}:${target.port}/${target.database}`;
}

/**
 * The target with the password the user stored for it (SecretStorage, sent with the run request) when the
 * connection gives none: passwordEnv or the profile's env_var() first, then the stored one, then ~/.pgpass (pg).
 */
export function withStoredPassword(
  target: PostgresTarget,
  stored: Readonly<Record<string, string>> | undefined,
): PostgresTarget {
  if (target.password !== undefined || !stored) return target;
  const key = postgresPasswordKey(target);
  const password = Object.hasOwn(stored, key) ? stored[key] : undefined;
  return password ? { ...target, password, passwordStored: true } : target;
}

/** The run was cancelled while the pull was on the wire. */
export class PullCancelled extends Error {
  constructor() {
    super('The run was cancelled.');
    this.name = 'RunCancelled';
  }
}

function sslOption(mode: PostgresSslMode | undefined): ClientConfig['ssl'] {
  switch (mode) {
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      // The chain is checked, the host name is not (libpq's verify-ca).
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      // disable, allow, prefer: pg cannot fall back from TLS to plain, so these connect without TLS.
      return false;
  }
}

/** The server's error as a LensError that names what was at fault; pg's own text is used only when it holds no secret. */
export function postgresError(error: unknown, target: PostgresTarget, subject?: string): LensError {
  if (error instanceof LensError) return error;
  const url = postgresUrl(target);
  const failure = error as { code?: string; message?: string; errno?: number };
  const code = failure.code ?? '';
  const user = target.user ?? 'your login name';
  const scrub = (text: string) => (target.password ? text.replaceAll(target.password, '***') : text);
  const detail = oneLine(scrub(String(failure.message ?? error)));
  if (!code && /client password must be a string/.test(detail)) return noPasswordError(target);
  switch (code) {
    case '28P01':
    case '28000':
      return new LensError({
        code: 'postgres',
        message: `${url} refused the password of user "${user}" (${target.origin}).`,
        hint: target.passwordStored
          ? `The password stored for ${postgresPasswordKey(target)} was refused: run "${SET_PASSWORD_COMMAND}" to change it.`
          : target.password
            ? `Check the password in the environment variable the connection names (passwordEnv, or the profile's env_var), or run "${SET_PASSWORD_COMMAND}" and remove passwordEnv.`
            : `No password was given: run "${SET_PASSWORD_COMMAND}" to store one for ${postgresPasswordKey(target)}, set the environment variable the connection names in passwordEnv, or add the server to ~/.pgpass.`,
      });
    case '3D000':
      return new LensError({
        code: 'postgres',
        message: `There is no database "${target.database}" on ${url} (${target.origin}).`,
        hint: 'Check the database name in the connection.',
      });
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
    case 'ENOENT':
      return new LensError({
        code: 'postgres',
        message: `Cannot reach the PostgreSQL server at ${url} (${target.origin}): ${code === 'ENOTFOUND' ? 'no such host' : code === 'ECONNREFUSED' ? 'nothing listens there (is the server running?)' : detail}.`,
        hint: 'Check host and port, and that the server is running and accepts connections from this machine.',
      });
    case '42P01':
      return new LensError({
        code: 'missing-table',
        message: `${subject ?? 'A relation the model reads'} is not on ${url}: ${detail}.`,
        hint: "Check the table name and the schema (the connection's schema is searched for unqualified names).",
      });
    case '42703':
      return new LensError({
        code: 'missing-column',
        message: `${subject ?? 'The model'} reads a column that is not on ${url}: ${detail}.`,
        hint: 'Check the column name against the table on the server.',
      });
    case '42501':
      return new LensError({
        code: 'postgres',
        message: `User "${user}" may not read ${subject ?? 'a relation the model reads'} on ${url}: ${detail}.`,
        hint: 'Ask for SELECT on it (GRANT SELECT), or connect as a user who has it.',
      });
    case '57014':
      return new LensError({
        code: 'timeout',
        setting: 'segmentLens.timeoutSeconds',
        message: `Reading ${subject ?? 'the data'} from ${url} took longer than segmentLens.timeoutSeconds: the server stopped the statement.`,
        hint: 'Raise segmentLens.timeoutSeconds, or point the model at a smaller table.',
      });
    default:
      return new LensError({
        code: 'postgres',
        message: `${subject ? `Reading ${subject} from` : 'Talking to'} ${url} failed (${target.origin}): ${detail}${code ? ` [${code}]` : ''}.`,
        hint: "Check the connection and the server's log.",
      });
  }
}

/** The server asks for a password and none was given: not by the connection, not stored, not in ~/.pgpass. */
function noPasswordError(target: PostgresTarget): LensError {
  return new LensError({
    code: 'postgres',
    message: `${postgresUrl(target)} asks for the password of user "${target.user ?? 'your login name'}", and none was given (${target.origin}).`,
    hint: `Run "${SET_PASSWORD_COMMAND}" to store it for ${postgresPasswordKey(target)}, set the environment variable the connection names in passwordEnv (or the profile's env_var()), or add the server to ~/.pgpass.`,
  });
}

/** UTF-16 offset of PostgreSQL's `position` (1-based, in characters: a character outside the BMP counts one). */
function offsetOfPosition(text: string, position: number): number {
  let offset = 0;
  for (let characters = 1; characters < position && offset < text.length; characters++) {
    offset += (text.codePointAt(offset) ?? 0) > 0xffff ? 2 : 1;
  }
  return offset;
}

/** The server's error in `sql`, with its SQLSTATE and where in `sql` the server found it (when it says). */
function withServerPosition(lensError: LensError, error: unknown, sql: string, password?: string): LensError {
  const failure = error as { code?: unknown; position?: unknown; hint?: unknown; message?: unknown };
  const scrub = (text: string) => (password ? text.replaceAll(password, '***') : text);
  // Only the server's own errors (a SQLSTATE of five characters), not the socket's (ECONNREFUSED).
  if (typeof failure.code !== 'string' || !/^[0-9A-Z]{5}$/.test(failure.code)) return lensError;
  const position = Number(failure.position);
  return new ServerSqlError(
    lensError.value,
    failure.code,
    Number.isInteger(position) && position > 0 ? offsetOfPosition(sql, position) : undefined,
    typeof failure.hint === 'string' ? oneLine(scrub(failure.hint)) : undefined,
    typeof failure.message === 'string' ? oneLine(scrub(failure.message)) : undefined,
  );
}

/** Sends the server a cancel request for the backend `pid` (the protocol's CancelRequest, on a fresh socket). */
function sendCancel(target: PostgresTarget, processId: number, secretKey: number): void {
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(80877102, 4);
  message.writeInt32BE(processId, 8);
  message.writeInt32BE(secretKey, 12);
  const socket = target.host.startsWith('/')
    ? connectSocket(`${target.host}/.s.PGSQL.${target.port}`)
    : connectSocket(target.port, target.host);
  socket.on('error', () => socket.destroy());
  socket.on('connect', () => socket.end(message));
}

/** pg hands every value over as the server's text; turned here into what SQLite stores, by the column's type. */
function sqliteValue(text: string | null, typeOid: number): SqlValue {
  if (text === null) return null;
  switch (typeOid) {
    case 16: // bool
      return text === 't' ? 1 : 0;
    case 20: // int8: a number when it fits one exactly, else its digits
    case 21:
    case 23:
    case 26: {
      const value = Number(text);
      return Number.isSafeInteger(value) ? value : text;
    }
    case 700:
    case 701:
    case 1700: // numeric: sql.js stores doubles
      return Number(text);
    case 17: // bytea, hex format
      return text.startsWith('\\x') ? Uint8Array.from(Buffer.from(text.slice(2), 'hex')) : text;
    default:
      return text;
  }
}

function sqliteType(typeOid: number): string {
  if ([16, 20, 21, 23, 26].includes(typeOid)) return 'INTEGER';
  if ([700, 701, 1700].includes(typeOid)) return 'REAL';
  if (typeOid === 17) return 'BLOB';
  return 'TEXT';
}

interface RemoteColumn {
  name: string;
  typeOid: number;
}

interface RemoteRelation {
  /** As the model writes it. */
  written: string;
  schema: string;
  name: string;
  estimatedRows: number;
  columns: RemoteColumn[];
}

/** One read-only session on the server; every query can be cancelled by the run. */
class PostgresSession {
  private constructor(
    private readonly client: Client,
    private readonly target: PostgresTarget,
    /** Asked while a query runs; the executor points it at the run or drill-down in hand. */
    public cancelled: () => boolean,
  ) {}

  static async open(target: PostgresTarget, timeoutMs: number, cancelled: () => boolean): Promise<PostgresSession> {
    // pg loads with the first session, not with the worker: most workspaces never connect (~25 ms of each start).
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      host: target.host,
      port: target.port,
      database: target.database,
      user: target.user,
      password: target.password,
      ssl: sslOption(target.sslmode),
      application_name: 'segment-lens',
      connectionTimeoutMillis: Math.min(timeoutMs, 30_000),
      // Every value as the server's text: sqliteValue decides what SQLite stores (no Date objects, no lost digits).
      types: { getTypeParser: () => (value: string) => value },
    });
    // A connection that dies later (the server restarts) surfaces on the query in flight, not as an uncaught event.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw postgresError(error, target);
    }
    const session = new PostgresSession(client, target, cancelled);
    try {
      await session.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
      await session.query("SELECT set_config('statement_timeout', $1, false)", [String(Math.round(timeoutMs))]);
      await session.query("SELECT set_config('search_path', $1, false)", [
        target.searchPath ?? `${quoteIdentifier(target.schema)}, public`,
      ]);
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  /** Runs `sql`; while it runs, a cancelled run sends the server a cancel request. */
  async query(sql: string, params: unknown[] = [], subject?: string): Promise<QueryArrayResult> {
    if (this.cancelled()) throw new PullCancelled();
    const { processID, secretKey } = this.client as unknown as { processID: number; secretKey: number };
    let cancelSent = false;
    const poll = setInterval(() => {
      if (!cancelSent && this.cancelled()) {
        cancelSent = true;
        sendCancel(this.target, processID, secretKey);
      }
    }, CANCEL_POLL_MS);
    try {
      return await this.client.query({ text: sql, values: params, rowMode: 'array' });
    } catch (error) {
      if (cancelSent) throw new PullCancelled();
      throw withServerPosition(postgresError(error, this.target, subject), error, sql, this.target.password);
    } finally {
      clearInterval(poll);
    }
  }

  /** The relation a name the model writes stands for on the server (as PostgreSQL resolves it), with its columns. */
  async describe(written: string): Promise<RemoteRelation | undefined> {
    const result = await this.query(
      `SELECT n.nspname, c.relname, c.reltuples::float8, a.attname, a.atttypid::int, pg_relation_size(c.oid)::float8
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.oid = to_regclass($1)
        ORDER BY a.attnum`,
      [written],
      written,
    );
    const [first] = result.rows;
    if (!first) return undefined;
    // A table never analyzed has no estimate (-1): its size over a narrow row's 64 bytes errs on the high side.
    const estimatedRows = Number(first[2]) >= 0 ? Number(first[2]) : Number(first[5]) / 64;
    return {
      written,
      schema: String(first[0]),
      name: String(first[1]),
      estimatedRows,
      columns: result.rows.map((row) => ({ name: String(row[3]), typeOid: Number(row[4]) })),
    };
  }

  /** Streams `columns` of `relation` into `table` of `db` through a server-side cursor, `FETCH_ROWS` at a time. */
  async pull(
    relation: RemoteRelation,
    columns: RemoteColumn[],
    db: Database,
    table: string,
    onRows: (rows: number) => void,
  ): Promise<number> {
    const subject = `${relation.schema}.${relation.name}`;
    db.run(
      `CREATE TABLE ${quoteIdentifier(table)} (${columns.map((column) => `${quoteIdentifier(column.name)} ${sqliteType(column.typeOid)}`).join(', ')})`,
    );
    const insert = db.prepare(`INSERT INTO ${quoteIdentifier(table)} VALUES (${columns.map(() => '?').join(', ')})`);
    let rows = 0;
    await this.query('BEGIN READ ONLY');
    try {
      await this.query(
        `DECLARE segment_lens_pull NO SCROLL CURSOR FOR SELECT ${columns.map((column) => quoteIdentifier(column.name)).join(', ')} FROM ${quoteIdentifier(relation.schema)}.${quoteIdentifier(relation.name)}`,
        [],
        subject,
      );
      db.run('BEGIN');
      for (;;) {
        const batch = await this.query(`FETCH FORWARD ${FETCH_ROWS} FROM segment_lens_pull`, [], subject);
        for (const row of batch.rows) {
          insert.run(row.map((value, index) => sqliteValue(value as string | null, columns[index].typeOid)));
        }
        rows += batch.rows.length;
        // The empty batch that ends an exact multiple of FETCH_ROWS says nothing new.
        if (batch.rows.length > 0 || rows === 0) onRows(rows);
        if (batch.rows.length < FETCH_ROWS) break;
      }
      db.run('COMMIT');
    } finally {
      insert.free();
      // Ends the transaction and its cursor; after an error the transaction is aborted and this rolls it back.
      await this.client.query('ROLLBACK').catch(() => undefined);
    }
    return rows;
  }

  /**
   * Runs one SELECT through a server-side cursor in a read-only transaction, `FETCH_ROWS` at a time: with a bound,
   * a result past it is refused before more of it crosses the wire.
   */
  async select(
    sql: string,
    params: RowValue[],
    bound: RowBound | undefined,
    subject: string,
  ): Promise<{ columns: string[]; rows: RowValue[][] }> {
    const rows: RowValue[][] = [];
    let columns: string[];
    let bytes = 0;
    await this.query('BEGIN READ ONLY');
    try {
      const declare = 'DECLARE segment_lens_select NO SCROLL CURSOR FOR ';
      /** The error with its offset counted in `sql` (past the DECLARE), or none for a statement that is not it. */
      const inSql = (by: number | undefined) => (error: unknown) => {
        if (!(error instanceof ServerSqlError) || error.offset === undefined) throw error;
        const offset = by === undefined ? -1 : error.offset - by;
        throw new ServerSqlError(
          error.value,
          error.sqlState,
          offset >= 0 ? offset : undefined,
          error.serverHint,
          error.serverMessage,
        );
      };
      await this.query(`${declare}${sql}`, params, subject).catch(inSql(declare.length));
      for (;;) {
        const batch = await this.query(`FETCH FORWARD ${FETCH_ROWS} FROM segment_lens_select`, [], subject).catch(
          inSql(undefined),
        );
        columns = batch.fields.map((field) => field.name);
        for (const raw of batch.rows) {
          if (bound?.maxRows !== undefined && rows.length >= bound.maxRows) throw bound.tooMany!();
          const row = raw.map((value, index) => sqliteValue(value as string | null, batch.fields[index].dataTypeID));
          if (bound) {
            bytes += estimatedBytes(row);
            if (bytes > bound.maxBytes) throw bound.tooLarge(rows.length + 1);
          }
          rows.push(row);
        }
        if (batch.rows.length < FETCH_ROWS) break;
      }
    } finally {
      await this.client.query('ROLLBACK').catch(() => undefined);
    }
    return { columns, rows };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

const POSTGRES_DIALECT: SqlDialect = {
  parameter: (index) => `$${index}`,
  nullSafeEquals: (left, right) => `${left} IS NOT DISTINCT FROM ${right}`,
  // PostgreSQL folds a name the model wrote unquoted to lower case.
  cteReference: (name, quoted) => quoteIdentifier(quoted ? name : name.toLowerCase()),
};

/** Pushdown: the model's queries run on the server, one read-only session kept open while the data is. */
class PostgresExecutor implements QueryExecutor {
  readonly dialect = POSTGRES_DIALECT;
  private session: Promise<PostgresSession> | undefined;
  /** One query at a time on the session (a drill-down waits for the run). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly target: PostgresTarget,
    private readonly timeoutMs: number,
  ) {}

  select(
    sql: string,
    params: RowValue[],
    bound?: RowBound,
    cancelled: () => boolean = () => false,
  ): Promise<{ columns: string[]; rows: RowValue[][] }> {
    const next = this.queue.then(async () => {
      this.session ??= PostgresSession.open(this.target, this.timeoutMs, cancelled);
      let session: PostgresSession;
      try {
        session = await this.session;
      } catch (error) {
        this.session = undefined;
        throw error;
      }
      session.cancelled = cancelled;
      return session.select(sql, params, bound, 'the model');
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    const session = this.session;
    this.session = undefined;
    void session?.then((open) => open.close()).catch(() => undefined);
  }
}

/** The source relations of the model and the columns of each it reads, as the lineage finds them. */
function sourcesOf(lineage: Lineage): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const relation of lineage.relations) if (relation.kind === 'source') found.set(relation.name, new Set());
  for (const node of lineage.nodes) {
    if (node.kind === 'source') found.get(node.relation)?.add(node.column.toLowerCase());
  }
  return found;
}

/**
 * What a pull for `request` reads, as the SQL names it (no catalog: `*` is not expanded, so a model that starts
 * reading another column of a `*` pulls again only when its text names it): equal keys, the same pull.
 */
export function pullKey(request: PullRequest): string {
  const reads = (sql: { sql: string; sourceMap: SourceMap }) =>
    [...sourcesOf(lineageFor(sql, () => undefined))]
      .map(([relation, columns]) => [relation.toLowerCase(), [...columns].sort()])
      .sort();
  try {
    // The upstream models too: what one the server lacks reads is pulled for it.
    const upstream = (request.upstream ?? []).map((model) => [
      model.written.toLowerCase(),
      model.serverNames,
      model.sql ? reads(model.sql) : null,
    ]);
    return JSON.stringify(upstream.length ? [reads(request), upstream] : reads(request));
  } catch {
    // SQL the lineage cannot read is pulled by its text (and fails the same way when it is pulled).
    return request.sql;
  }
}

function lineageFor(request: PullRequest, catalog: (table: string) => string[] | undefined): Lineage {
  return buildLineage({ sql: request.sql, sourceMap: request.sourceMap, catalog, dialect: 'postgresql' });
}

/** PostgreSQL syntax in the model that sql.js cannot run (`::`, `ILIKE`, `date_trunc()`, …), where its file has it. */
export function sqliteCannotRun(request: PullRequest): (PostgresOnlySyntax & { location: FileLocation }) | undefined {
  const parsed = parseSql(request.sql, 'postgresql');
  // SQL only SQLite's grammar reads is SQLite's: sql.js runs it (or says why not).
  if (!parsed.ok || parsed.dialect !== 'postgresql') return undefined;
  const found = postgresOnlySyntax(parsed.program, request.sql);
  return found && { ...found, location: request.sourceMap.location(found.start, found.end) };
}

/**
 * Whether the model must run on the server for its syntax: in auto mode, one sql.js cannot run is pushed down (the
 * reason, for the run's source); in pull mode it is an error at the construct, offering pushdown.
 */
function pushdownForSyntax(request: PullRequest, mode: PostgresMode): string | undefined {
  if (mode === 'pushdown') return undefined;
  const found = sqliteCannotRun(request);
  if (!found) return undefined;
  const { location } = found;
  const where =
    location.file === request.sourceMap.file ? `line ${location.line}` : `${location.file}:${location.line}`;
  if (mode === 'auto') {
    const shown = found.construct.startsWith('::') ? '::' : found.construct;
    return `the model uses PostgreSQL syntax — \`${shown}\` at ${where}`;
  }
  throw new LensError({
    code: 'sql',
    setting: 'segmentLens.postgres.mode',
    message: `${found.message}, and segmentLens.postgres.mode "pull" runs the model in sql.js (${location.file}).`,
    hint: `Run it on the server: set segmentLens.postgres.mode: "pushdown" (or "auto", which does so for such models)${found.instead ? `, or write ${found.instead} instead` : ''}.`,
    location,
  });
}

/**
 * The relations the model reads, found on the server: each source and seed as written; each upstream model under
 * the names dbt-postgres gives it. An upstream model the server lacks (or an ephemeral one) is built in sql.js after
 * the pull: what its SQL reads is looked for in turn (`readers`), each model once. Keys: the written name, lower case.
 */
async function findRelations(
  session: PostgresSession,
  request: PullRequest,
  target: PostgresTarget,
): Promise<{
  remote: Map<string, RemoteRelation>;
  readers: NonNullable<PullUpstream['sql']>[];
  builtLocally: string[];
}> {
  const upstream = new Map((request.upstream ?? []).map((model) => [model.written.toLowerCase(), model]));
  const remote = new Map<string, RemoteRelation>();
  const readers: NonNullable<PullUpstream['sql']>[] = [];
  const builtLocally: string[] = [];
  // Each upstream model joins the queue at most once (builtLocally): the loop ends with the project's models.
  const queue: { sql: string; sourceMap: SourceMap }[] = [request];
  for (let reader = queue.shift(); reader; reader = queue.shift()) {
    for (const written of sourcesOf(lineageFor(reader, () => undefined)).keys()) {
      const key = written.toLowerCase();
      if (remote.has(key) || builtLocally.some((name) => name.toLowerCase() === key)) continue;
      const model = upstream.get(key);
      let found: RemoteRelation | undefined;
      for (const name of model?.serverNames ?? [written]) {
        found = await session.describe(name);
        if (found) break;
      }
      if (found) {
        remote.set(key, { ...found, written });
        continue;
      }
      if (model?.sql) {
        builtLocally.push(model.written);
        readers.push(model.sql);
        queue.push(model.sql);
        continue;
      }
      const span =
        reader === request
          ? lineageFor(request, () => undefined).relations.find((item) => item.name === written)?.span
          : undefined;
      const url = postgresUrl(target);
      throw new LensError({
        code: 'missing-table',
        message: `The model reads ${written}, which is not on ${url} (searched ${model ? model.serverNames.join(', ') : (target.searchPath ?? `${target.schema}, public`)}).`,
        hint: model
          ? `Build it on the server (dbt run --select ${written.slice(written.lastIndexOf('.') + 1)}), or check that the user may see it.`
          : 'Check the table name and its schema, or that the user may see it.',
        ...(span ? { location: span } : {}),
      });
    }
  }
  return { remote, readers, builtLocally };
}

/** The columns pulled of each relation: every column any of the lineages (the model's, the upstream models') reads. */
function neededColumns(lineages: Lineage[], remote: Map<string, RemoteRelation>): Map<string, Set<string>> {
  const needed = new Map<string, Set<string>>();
  for (const lineage of lineages) {
    for (const [written, columns] of sourcesOf(lineage)) {
      const relation = remote.get(written.toLowerCase());
      if (!relation) continue;
      const known = needed.get(relation.written) ?? new Set<string>();
      for (const column of columns) known.add(column);
      needed.set(relation.written, known);
    }
  }
  return needed;
}

/** Pushdown runs the model where its upstream models are: on the server, which lacks these. */
function upstreamNotOnServer(models: string[], url: string): LensError {
  return new LensError({
    code: 'missing-table',
    message: `The model runs on ${url} (pushdown), which does not hold the upstream model${models.length > 1 ? 's' : ''} ${models.join(', ')} it stands on.`,
    hint: 'Build them on the server first (dbt run), or pull the data (segmentLens.postgres.mode "pull") so they are built in memory.',
  });
}

/**
 * Pulls the columns the model reads from the server into a fresh sql.js database: a relation written `schema.table`
 * becomes that table in an attached database named after the schema, an unqualified one a table of `main`.
 */
export async function pullPostgres(
  SQL: SqlJsStatic,
  target: PostgresTarget,
  request: PullRequest,
  options: {
    timeoutMs: number;
    maxRows: number;
    /** segmentLens.postgres.mode: auto (the default) runs the model on the server past maxRows. */
    mode?: PostgresMode;
    source: Omit<SourceInfo, 'description' | 'schemas' | 'files'>;
    files?: string[];
  },
): Promise<LoadedData> {
  const started = performance.now();
  const url = postgresUrl(target);
  const mode = options.mode ?? 'auto';
  // Before any connection: a model sql.js cannot run is not pulled.
  const syntaxReason = pushdownForSyntax(request, mode);
  // The relations first (no catalog needed to find them), then the lineage again with their columns (SELECT *).
  const session = await PostgresSession.open(target, options.timeoutMs, request.cancelled ?? (() => false));
  const data = new LoadedData(new SQL.Database(), {
    ...options.source,
    description: url,
    files: options.files ?? [],
    schemas: { main: url },
  });
  const databases = new Map<string, Database>([['main', data.main]]);
  /** Where a relation the model writes `schema.table` lives in sql.js: that table of a database named after the schema. */
  const tableFor = (written: string, relation: RemoteRelation): { db: Database; table: string } => {
    const dot = written.indexOf('.');
    const schema = dot === -1 || written.slice(0, dot).toLowerCase() === 'main' ? 'main' : written.slice(0, dot);
    const table = dot === -1 ? written : written.slice(dot + 1);
    let db = databases.get(schema.toLowerCase());
    if (!db) {
      db = new SQL.Database();
      data.attach(schema, db);
      databases.set(schema.toLowerCase(), db);
      data.source.schemas[schema] = `${url} (${relation.schema})`;
    }
    return { db, table };
  };
  try {
    const { remote, readers, builtLocally } = await findRelations(session, request, target);
    const catalog = (table: string) => remote.get(table.toLowerCase())?.columns.map((column) => column.name);
    const lineage = lineageFor(request, catalog);
    const needed = neededColumns([lineage, ...readers.map((reader) => lineageFor(reader, catalog))], remote);
    const tooMany = (what: string) =>
      new LensError({
        code: 'too-large',
        setting: 'segmentLens.pull.maxRows',
        message: `${what}, more than segmentLens.pull.maxRows (${options.maxRows.toLocaleString('en')}) allows to pull from ${url} into memory.`,
        hint: 'Raise segmentLens.pull.maxRows if this machine has the memory, or run the model on the server: set segmentLens.postgres.mode to "pushdown" (or "auto").',
      });
    const estimated = [...remote.values()].reduce((sum, relation) => sum + relation.estimatedRows, 0);
    if (mode === 'pushdown' || syntaxReason || (mode === 'auto' && estimated > options.maxRows)) {
      if (builtLocally.length) throw upstreamNotOnServer(builtLocally, url);
      // Every column of every relation the model reads, as empty tables: the lineage (SELECT * included) and the
      // layout read them locally; the rows stay on the server.
      for (const relation of remote.values()) {
        const { db, table } = tableFor(relation.written, relation);
        db.run(
          `CREATE TABLE ${quoteIdentifier(table)} (${relation.columns.map((column) => `${quoteIdentifier(column.name)} ${sqliteType(column.typeOid)}`).join(', ')})`,
        );
      }
      data.executor = new PostgresExecutor(target, options.timeoutMs);
      data.source.description = `ran on ${url} (pushdown: ${syntaxReason ?? `~${Math.round(estimated).toLocaleString('en')} rows estimated`})`;
      return data;
    }
    if (estimated > options.maxRows) {
      const each = [...remote.values()].map(
        (relation) => `${relation.schema}.${relation.name} ~${Math.round(relation.estimatedRows).toLocaleString('en')}`,
      );
      throw tooMany(
        `The model reads about ${Math.round(estimated).toLocaleString('en')} rows (${each.join(', ')}; PostgreSQL's estimate)`,
      );
    }
    let totalRows = 0;
    let totalColumns = 0;
    for (const [written, names] of needed) {
      const relation = remote.get(written.toLowerCase())!;
      const columns = relation.columns.filter((column) => names.has(column.name.toLowerCase()));
      for (const name of names) {
        if (!relation.columns.some((column) => column.name.toLowerCase() === name)) {
          const node = lineage.nodes.find((item) => item.relation === written && item.column.toLowerCase() === name);
          throw new LensError({
            code: 'missing-column',
            message: `The model reads column ${name} of ${written}, which ${relation.schema}.${relation.name} on ${url} does not have (it has ${relation.columns.map((column) => column.name).join(', ')}).`,
            hint: 'Check the column name against the table on the server.',
            ...(node?.span ? { location: node.span } : {}),
          });
        }
      }
      // A relation read only for its row count (count(*)) still needs its rows: its first column carries them.
      if (columns.length === 0) columns.push(relation.columns[0]);
      const { db, table } = tableFor(written, relation);
      const rows = await session.pull(relation, columns, db, table, (count) => {
        // The estimate may be stale (or absent): the rows themselves are the bound.
        if (totalRows + count > options.maxRows)
          throw tooMany(
            `Pulling ${relation.schema}.${relation.name} passed ${(totalRows + count).toLocaleString('en')} rows`,
          );
        request.onProgress?.({ stage: 'pull', relation: written, rows: count });
      });
      totalRows += rows;
      totalColumns += columns.length;
    }
    const seconds = (performance.now() - started) / 1000;
    data.source.description = `pulled ${totalRows.toLocaleString('en')} rows × ${totalColumns} columns from ${url} in ${seconds.toFixed(1)} s`;
    return data;
  } catch (error) {
    data.close();
    throw error;
  } finally {
    await session.close();
  }
}
