// The engine's worker thread: sql.js runs here, so the extension host never waits on a query. It keeps the loaded
// data between runs (while the files are unchanged) and the last model, for drill-downs.
import { parentPort } from 'node:worker_threads';
import { LensError } from './errors';
import { DataCache, ModelSession } from './runModel';
import { loadSqlJs } from './sqljs';
import type { RunPayload, WorkerRequest, WorkerResponse } from './workerProtocol';

const cache = new DataCache();
let current: ModelSession | undefined;

async function handle(message: WorkerRequest): Promise<unknown> {
  switch (message.type) {
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
  handle(message).then(
    (value) => parentPort!.postMessage({ id: message.id, ok: true, value } satisfies WorkerResponse),
    (error: unknown) => parentPort!.postMessage(error instanceof LensError
      ? ({ id: message.id, ok: false, error: error.value } satisfies WorkerResponse)
      : ({ id: message.id, ok: false, internal: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies WorkerResponse)),
  );
});
