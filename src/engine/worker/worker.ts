// The engine's worker thread: sql.js runs here, so the extension host never waits on a query. It keeps the loaded
// data between runs (while the files are unchanged), saved to the caller's cache folder when it gives one, and the
// last model, for drill-downs.
import { parentPort, workerData } from 'node:worker_threads';
import {
  DataCache,
  LensError,
  modelLineage,
  ModelSession,
  resolveCacheMaxBytes,
  RunCancelled,
  warmUp,
  type Lineage,
  type ModelResult,
  type OpenOptions,
} from '../index';
import { buildGrid, gridDimensions, type GridOutcome } from '../../shared/grid';
import { annotateThresholdVars, substituteLiterals, type LiteralOverride } from '../run/whatIf';
import { drillDownSource, LineageGraph } from '../../shared/lineageGraph';
import type { RunPayload, WhatIfPayload, WorkerData, WorkerRequest, WorkerResponse } from './protocol';

const cache = new DataCache();
let current: ModelSession | undefined;

/** [0]: requests with an id up to this were dropped by the caller (a newer run replaced them, or a cancel). */
const dropped = new Int32Array((workerData as WorkerData).dropped);
const isDropped = (id: number) => id <= Atomics.load(dropped, 0);
/** One request at a time, in order: a run and a drill-down never interleave on the same data. */
let queue: Promise<unknown> = Promise.resolve();

/** The result as the grid, segments in the order the model's CASE lists them (Platinum first). */
/** The grid's dimensions are the final select's GROUP BY keys; a CASE-fed key's values in the CASE's order. */
function gridOf(result: ModelResult, graph: LineageGraph | undefined): GridOutcome {
  return buildGrid(result.columns, result.rows, gridDimensions(graph, result.columns));
}

/** The last what-if's variant of the model, kept for its moved rows (the SQL is parsed once). */
let variant: { sql: string; session: ModelSession } | undefined;

function variantOf(session: ModelSession, overrides: readonly LiteralOverride[]): ModelSession {
  const sql = substituteLiterals(session.sql, overrides, session.model.file);
  if (variant?.sql !== sql) variant = { sql, session: session.variant(sql) };
  return variant.session;
}

function lastSession(): ModelSession {
  if (!current) throw new LensError({ code: 'sql', message: 'No model has run yet.', hint: 'Run the model first.' });
  return current;
}

/** A run's answer: the result, its lineage (or why there is none), and the grid the panel and the tree show. */
async function runPayload(session: ModelSession): Promise<RunPayload> {
  const result = await session.run();
  let lineage: Lineage | undefined;
  let lineageError: string | undefined;
  try {
    lineage = session.lineage();
  } catch (error) {
    if (!(error instanceof LensError)) throw error;
    lineageError = error.value.message;
  }
  if (lineage) annotateThresholdVars(lineage, session.varSources);
  const graph = lineage && new LineageGraph(lineage);
  const grid = gridOf(result, graph);
  const drillDown =
    graph && grid.ok && grid.grid.segmentColumn !== undefined
      ? drillDownSource(graph, grid.grid.regionColumn, grid.grid.segmentColumn)
      : undefined;
  return { result, lineage, lineageError, grid, drillDown, ctes: session.ctes };
}

/** The request's progress goes to the caller; a request dropped meanwhile stops between two steps. */
function optionsFor(id: number): Required<OpenOptions> {
  return {
    onProgress: (progress) => parentPort!.postMessage({ id, type: 'progress', progress } satisfies WorkerResponse),
    cancelled: () => isDropped(id),
  };
}

async function handle(message: WorkerRequest): Promise<unknown> {
  if (isDropped(message.id)) return undefined;
  switch (message.type) {
    case 'warm':
      await warmUp(message.assets);
      return true;
    case 'idle':
      return true;
    case 'run': {
      current?.close();
      current = undefined;
      variant = undefined;
      cache.useDisk(
        message.cacheDir === undefined
          ? undefined
          : { dir: message.cacheDir, maxBytes: resolveCacheMaxBytes(message.request.settings.cacheMaxSizeMB) },
        message.assets.wasmPath,
      );
      const options = optionsFor(message.id);
      const session = await ModelSession.open(message.request, message.assets, cache, options);
      if (options.cancelled()) {
        session.close();
        throw new RunCancelled();
      }
      options.onProgress({ stage: 'query' });
      const payload = await runPayload(session);
      current = session;
      return payload;
    }
    case 'lineage': {
      const outcome = await modelLineage(message.request, message.assets, optionsFor(message.id));
      if (!outcome.ok) throw new LensError(outcome.error);
      return outcome.result;
    }
    case 'cteRows':
      return lastSession().cteRows(message.cte, message.filters, message.offset, message.limit);
    case 'whatIf': {
      const session = lastSession();
      const result = await variantOf(session, message.overrides).run({ rowCounts: false, warnings: false });
      let graph: LineageGraph | undefined;
      try {
        graph = new LineageGraph(session.lineage());
      } catch (error) {
        if (!(error instanceof LensError)) throw error;
      }
      return { result, grid: gridOf(result, graph) } satisfies WhatIfPayload;
    }
    case 'whatIfMoved': {
      const session = lastSession();
      const moved = variantOf(session, message.overrides);
      return session.movedRows(moved, message.cte, message.filters, message.offset, message.limit);
    }
  }
}

parentPort!.on('message', (message: WorkerRequest) => {
  const done = queue.then(() => handle(message));
  const id = message.id;
  const answered = done.then(
    (value) => parentPort!.postMessage({ id, type: 'answer', ok: true, value } satisfies WorkerResponse),
    (error: unknown) =>
      parentPort!.postMessage(
        error instanceof LensError
          ? ({ id, type: 'answer', ok: false, error: error.value } satisfies WorkerResponse)
          : ({
              id,
              type: 'answer',
              ok: false,
              internal: error instanceof Error ? (error.stack ?? error.message) : String(error),
            } satisfies WorkerResponse),
      ),
  );
  // Once a run has answered, its data is saved for the next start (diskCache.ts): off the answer's path, before
  // the next request. Saving only ever saves time: a failure is no one's error.
  queue = (message.type === 'run' ? answered.then(() => cache.persist()) : answered).catch(() => undefined);
});
