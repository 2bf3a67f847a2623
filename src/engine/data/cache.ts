// The loaded data, kept in memory between runs while its source files are unchanged. Data is read-only from the
// moment it is loaded (templates' run_query reads it too); the layout step, once per load, and the upstream models'
// CREATE statements (upstream.ts) are the engine's own writes.
import type { LoadedData } from './loadedData';
import { fingerprint, type DataPlan } from './plan';
import type { PullRequest } from './postgres';

/** Lays freshly loaded data out for the model; runs once per load. */
export type LayoutStep = (data: LoadedData) => void;

/** Loads the data and makes it read-only. */
export async function loadData(plan: DataPlan, request?: PullRequest): Promise<LoadedData> {
  const data = await plan.open(request);
  try {
    data.main.run('PRAGMA query_only = ON');
  } catch (error) {
    data.close();
    throw error;
  }
  return data;
}

/** Runs the layout step on data not yet laid out: the only writes Segment Lens makes, to its in-memory copy. */
export function layOut(data: LoadedData, layout: LayoutStep): void {
  if (data.laidOut) return;
  data.laidOut = true;
  writeStep(data, () => layout(data));
}

/**
 * Runs `write` with writes allowed (the upstream models' CREATE statements, our own SQL around SELECTs that passed
 * the read-only guard), then makes the data read-only again.
 */
export function writeStep<T>(data: LoadedData, write: () => T): T {
  data.main.run('PRAGMA query_only = OFF');
  try {
    return write();
  } finally {
    data.main.run('PRAGMA query_only = ON');
  }
}

/**
 * Keeps the last data loaded, in memory, while its source files are unchanged: a model edit re-runs only the query.
 * One entry: a different source replaces (and frees) it.
 */
export class DataCache {
  private entry: { key: string; data: LoadedData } | undefined;

  /** `variant` tells apart data that is loaded the same way but then built on differently (the upstream mode). */
  async get(plan: DataPlan, variant = '', request?: PullRequest): Promise<{ data: LoadedData; reused: boolean }> {
    // Data pulled from a warehouse holds what this model reads: a model that reads other columns pulls again (a
    // threshold edit does not).
    const model = plan.modelKey && request ? plan.modelKey(request) : '';
    const key = JSON.stringify([plan.target, await fingerprint(plan.sources), variant, model]);
    if (this.entry?.key === key) return { data: this.entry.data, reused: true };
    this.clear();
    const data = await loadData(plan, request);
    this.entry = { key, data };
    return { data, reused: false };
  }

  clear(): void {
    this.entry?.data.close();
    this.entry = undefined;
  }
}
