// The engine's worker thread: sql.js runs here, so the extension host never waits on a query. It keeps the loaded
// data between runs (while the files are unchanged) and the last model, for drill-downs.
import { parentPort } from 'node:worker_threads';
import { LensError } from '../errors';
import { DataCache, ModelSession } from '../index';
import { loadSqlJs } from '../data/sqljs';
import type { RunPayload, WorkerRequest, WorkerResponse } from './protocol';

const cache = new DataCache();
let current: ModelSession | undefined;

/** Requests with an id up to this were dropped by the extension (a newer run replaced them). */
let droppedUpTo = 0;
/** One request at a time, in order: a run and a drill-down never interleave on the same data. */
let queue: Promise<unknown> = Promise.resolve();

async function handle(message: WorkerRequest): Promise<unknown> {
  if (message.id <= droppedUpTo) return undefined;
  switch (message.type) {
    case 'drop':
      return undefined;
    case 'warm':
      await loadSqlJs(message.assets.wasmPath);
      return true;
    case 'run': {
      current?.close();
      current = undefined;
      const session = await ModelSession.open(message.request, message.assets, cache);
      const result = session.run();
      const payload: RunPayload = { result, ctes: session.ctes };
      try {
        payload.lineage = session.lineage();
      } catch (error) {
        if (!(error instanceof LensError)) throw error;
        payload.lineageError = error.value.message;
      }
      current = session;
      return payload;
    }
    case 'cteRows':
      if (!current) throw new LensError({ code: 'sql', message: 'No model has run yet.', hint: 'Run the model first.' });
      return current.cteRows(message.cte, message.filters, message.offset, message.limit);
  }
}

parentPort!.on('message', (message: WorkerRequest) => {
  if (message.type === 'drop') {
    droppedUpTo = Math.max(droppedUpTo, message.upTo);
    return;
  }
  const done = queue.then(() => handle(message));
  queue = done.catch(() => undefined);
  done.then(
    (value) => parentPort!.postMessage({ id: message.id, ok: true, value } satisfies WorkerResponse),
    (error: unknown) => parentPort!.postMessage(error instanceof LensError
      ? ({ id: message.id, ok: false, error: error.value } satisfies WorkerResponse)
      : ({ id: message.id, ok: false, internal: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies WorkerResponse)),
  );
});
