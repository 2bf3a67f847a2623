import { readFileSync } from 'node:fs';
import initSqlJs, { type Database, type SqlJsStatic } from 'sql.js';

/** What is used of the WebAssembly API (the project's TypeScript libraries do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
const { WebAssembly: wasm } = globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => object;
    Instance: new (module: object, imports: object) => WasmInstance;
    Memory: abstract new (...args: never[]) => WasmMemory;
  };
};

let loading: Promise<SqlJsStatic> | undefined;
let memory: WasmMemory | undefined;

/**
 * sql.js is initialised once per process; its wasm comes from the extension's own files, never the network. It is
 * instantiated here (emscripten's instantiateWasm hook) to keep hold of its memory, which the CSV loader writes
 * rows into directly (sqlJsMemory). Synchronously: an error then rejects initSqlJs's promise instead of hanging it.
 */
export function loadSqlJs(wasmPath: string): Promise<SqlJsStatic> {
  loading ??= initSqlJs({
    locateFile: () => wasmPath,
    instantiateWasm(imports: object, receive: (instance: WasmInstance) => void) {
      const instance = new wasm.Instance(new wasm.Module(readFileSync(wasmPath)), imports);
      memory = Object.values(instance.exports).find((value): value is WasmMemory => value instanceof wasm.Memory);
      receive(instance);
      return {};
    },
  } as Parameters<typeof initSqlJs>[0])
    .then((sqlJs) => {
      warmInterpreter(sqlJs);
      return sqlJs;
    })
    .catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
  return loading;
}

/**
 * V8 runs new WebAssembly on its baseline compiler and uses a function's optimised code only from its next call on,
 * once it has run a while. SQLite runs a whole GROUP BY or sort inside one call of its bytecode interpreter, so the
 * first big query of a fresh worker (the first run after a restart, restoring saved data) ran to its end on baseline
 * code: its interpreter took 850 ms of a 3.3 s query at 1M rows against 350 ms in later ones (CPU profile). One small
 * query right after the compile (~30 ms; sessions load sql.js before rendering) makes V8 optimise the interpreter in
 * the background while the model renders and parses.
 */
function warmInterpreter(sqlJs: SqlJsStatic): void {
  const db = new sqlJs.Database();
  try {
    db.exec(
      'WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000) ' +
        'SELECT x % 7, count(DISTINCT x % 97), sum(x) FROM n GROUP BY 1 ORDER BY 2',
    );
  } finally {
    db.close();
  }
}

/** The low-level part of sql.js's module (its C API, as emscripten exports it) and its memory. */
export interface SqlJsInternals {
  memory: WasmMemory;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  stringToNewUTF8(text: string): number;
  UTF8ToString(pointer: number): string;
  _sqlite3_prepare_v2(db: number, sql: number, bytes: number, statement: number, tail: number): number;
  _sqlite3_bind_text(statement: number, index: number, text: number, bytes: number, destructor: number): number;
  _sqlite3_bind_int(statement: number, index: number, value: number): number;
  _sqlite3_step(statement: number): number;
  _sqlite3_reset(statement: number): number;
  _sqlite3_finalize(statement: number): number;
  _sqlite3_errmsg(db: number): number;
}

/** sql.js's internals once loadSqlJs has loaded it, checked to be all there (a newer sql.js could differ). */
export async function sqlJsInternals(): Promise<SqlJsInternals> {
  const module = (await loading) as unknown as Record<string, unknown> | undefined;
  const needed = [
    '_malloc',
    '_free',
    'stringToNewUTF8',
    'UTF8ToString',
    '_sqlite3_prepare_v2',
    '_sqlite3_bind_text',
    '_sqlite3_bind_int',
    '_sqlite3_step',
    '_sqlite3_reset',
    '_sqlite3_finalize',
    '_sqlite3_errmsg',
  ];
  const missing = needed.filter((name) => typeof module?.[name] !== 'function');
  if (!module || !memory || missing.length > 0) {
    throw new Error(`sql.js is not loaded, or lacks ${missing.join(', ') || 'its memory'}`);
  }
  return Object.assign(Object.create(module) as SqlJsInternals, { memory });
}

/** The sqlite3* of a sql.js Database (its `db` property). */
export function databaseHandle(db: Database): number {
  const handle = (db as unknown as { db: unknown }).db;
  if (typeof handle !== 'number' || handle === 0)
    throw new Error('the sql.js database is closed, or not a sql.js database');
  return handle;
}
