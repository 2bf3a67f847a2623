import initSqlJs, { type SqlJsStatic } from 'sql.js';

let loading: Promise<SqlJsStatic> | undefined;

/** sql.js is initialised once per process; its wasm comes from the extension's own files, never the network. */
export function loadSqlJs(wasmPath: string): Promise<SqlJsStatic> {
  loading ??= initSqlJs({ locateFile: () => wasmPath }).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
