// The engine's worker thread: sql.js runs here, so the extension host never waits on a query. It keeps the loaded
// data between runs (while the files are unchanged) and the last model, for drill-downs.
import { parentPort } from 'node:worker_threads';
import { DataCache, LensError, modelLineage, ModelSession, warmUp, type Lineage } from '../index';
import { buildGrid, segmentOrder } from '../../shared/grid';
import { drillDownSource, LineageGraph, segmentation } from '../../shared/lineageGraph';
import type { RunPayload, WorkerRequest, WorkerResponse } from './protocol';

const cache = new DataCache();
let current: ModelSession | undefined;

/** Requests with an id up to this were dropped by the extension (a newer run replaced them). */
let droppedUpTo = 0;
/** One request at a time, in order: a run and a drill-down never interleave on the same data. */
let queue: Promise<unknown> = Promise.resolve();

/** A run's answer: the result, its lineage (or why there is none), and the grid the panel and the tree show. */
function runPayload(session: ModelSession): RunPayload {
  const result = session.run();
  let lineage: Lineage | undefined;
  let lineageError: string | undefined;
  try {
    lineage = session.lineage();
  } catch (error) {
    if (!(error instanceof LensError)) throw error;
    lineageError = error.value.message;
  }
  const graph = lineage && new LineageGraph(lineage);
  // Segments in the order the model's CASE lists them (Platinum first).
  const grid = buildGrid(result.columns, result.rows, segmentOrder(graph && segmentation(graph)));
  const drillDown =
    graph && grid.ok ? drillDownSource(graph, grid.grid.regionColumn, grid.grid.segmentColumn) : undefined;
  return { result, lineage, lineageError, grid, drillDown, ctes: session.ctes };
}

async function handle(message: WorkerRequest): Promise<unknown> {
  if (message.id <= droppedUpTo) return undefined;
  switch (message.type) {
    case 'drop':
      return undefined;
    case 'warm':
      await warmUp(message.assets);
      return true;
    case 'run': {
      current?.close();
      current = undefined;
      const session = await ModelSession.open(message.request, message.assets, cache);
      const payload = runPayload(session);
      current = session;
      return payload;
    }
    case 'lineage': {
      const outcome = await modelLineage(message.request, message.assets);
      if (!outcome.ok) throw new LensError(outcome.error);
      return outcome.result;
    }
    case 'cteRows':
      if (!current)
        throw new LensError({ code: 'sql', message: 'No model has run yet.', hint: 'Run the model first.' });
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
    (error: unknown) =>
      parentPort!.postMessage(
        error instanceof LensError
          ? ({ id: message.id, ok: false, error: error.value } satisfies WorkerResponse)
          : ({
              id: message.id,
              ok: false,
              internal: error instanceof Error ? (error.stack ?? error.message) : String(error),
            } satisfies WorkerResponse),
      ),
  );
});
