// The loaded data, kept in memory between runs while its source files are unchanged.
import type { LoadedData } from './loadedData';
import { fingerprint, type DataPlan } from './plan';

/** Lays freshly loaded data out for the model; runs once per load, before the data turns read-only. */
export type LayoutStep = (data: LoadedData) => void;

/** Loads the data, lays it out for the model, then makes it read-only for the model's query. */
export async function loadData(plan: DataPlan, layout: LayoutStep): Promise<LoadedData> {
  const data = await plan.open();
  try {
    layout(data);
    data.main.run('PRAGMA query_only = ON');
  } catch (error) {
    data.close();
    throw error;
  }
  return data;
}

/**
 * Keeps the last data loaded, in memory, while its source files are unchanged: a model edit re-runs only the query.
 * One entry: a different source replaces (and frees) it.
 */
export class DataCache {
  private entry: { key: string; data: LoadedData } | undefined;

  async get(plan: DataPlan, layout: LayoutStep): Promise<{ data: LoadedData; reused: boolean }> {
    const key = JSON.stringify([plan.target, await fingerprint(plan.sources)]);
    if (this.entry?.key === key) return { data: this.entry.data, reused: true };
    this.clear();
    const data = await loadData(plan, layout);
    this.entry = { key, data };
    return { data, reused: false };
  }

  clear(): void {
    this.entry?.data.close();
    this.entry = undefined;
  }
}
