// The loaded data, kept in memory between runs while its source files are unchanged. Data is read-only from the
// moment it is loaded (templates' run_query reads it too); the layout step, once per load, and the upstream models'
// CREATE statements (upstream.ts) are the engine's own writes. With a folder to save in (diskCache.ts), data loaded
// from files is saved after its first run and read back by the first run after a restart.
import { DiskCache, snapshotOf, type DiskCacheOptions } from './diskCache';
import type { LoadedData } from './loadedData';
import { fingerprint, type DataPlan } from './plan';
import type { PullRequest } from './postgres';
import { loadSqlJs } from './sqljs';

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
 * One entry: a different source replaces (and frees) it. With a disk cache, data not in memory is first looked for
 * there, and data loaded from files is saved there after a run (`persist`).
 */
export class DataCache {
  /** `savable`: the data was read from files (a warehouse pull is never saved); `savedBuild`: its build count when last saved. */
  private entry: { key: string; data: LoadedData; savable: boolean; savedBuild?: number } | undefined;
  private disk: { cache: DiskCache; wasmPath: string } | undefined;
  /** A saved file being read ahead of `get` (readAhead). */
  private ahead: { key: Promise<string | undefined>; bytes: Promise<Buffer | undefined> } | undefined;

  /** Where data is saved between restarts, or nowhere (undefined: the CLI without --cache, a size of 0). */
  useDisk(options: DiskCacheOptions | undefined, wasmPath: string): void {
    const current = this.disk?.cache.options;
    if (current?.dir === options?.dir && current?.maxBytes === options?.maxBytes && this.disk?.wasmPath === wasmPath)
      return;
    this.disk = options && options.maxBytes > 0 ? { cache: new DiskCache(options), wasmPath } : undefined;
  }

  /**
   * Starts reading the data's saved file, when it is not in memory and may be on disk, so that the read overlaps what
   * comes before `get` (rendering the model's Jinja). One read ahead is held at most; the next `get` takes or drops it.
   */
  readAhead(plan: DataPlan, variant = ''): void {
    // Only a worker with nothing in memory (just started) reads ahead: a warm one's next run mostly reuses its data.
    const disk = plan.modelKey || this.entry ? undefined : this.disk;
    if (!disk) return;
    const key = this.keyOf(plan, variant);
    const bytes = key.then((key) => disk.cache.readBytes(key));
    this.ahead = { key: key.catch(() => undefined), bytes: bytes.catch(() => undefined) };
  }

  private async keyOf(plan: DataPlan, variant: string, request?: PullRequest): Promise<string> {
    // Data pulled from a warehouse holds what this model reads: a model that reads other columns pulls again (a
    // threshold edit does not).
    const model = plan.modelKey && request ? plan.modelKey(request) : '';
    return JSON.stringify([plan.target, await fingerprint(plan.sources), variant, model]);
  }

  /** `variant` tells apart data that is loaded the same way but then built on differently (the upstream mode). */
  async get(
    plan: DataPlan,
    variant = '',
    request?: PullRequest,
  ): Promise<{ data: LoadedData; reused: boolean; restored: boolean }> {
    const ahead = this.ahead;
    this.ahead = undefined;
    const key = await this.keyOf(plan, variant, request);
    const bytes = ahead && (await ahead.key) === key ? ahead.bytes : undefined;
    if (this.entry?.key === key) return { data: this.entry.data, reused: true, restored: false };
    this.clear();
    // Only data read from files is saved: a warehouse's is its own (and no file says when it changed).
    const disk = plan.modelKey ? undefined : this.disk;
    const restored = disk && (await disk.cache.read(await loadSqlJs(disk.wasmPath), key, bytes));
    if (restored) {
      this.entry = { key, data: restored, savable: true, savedBuild: restored.buildCount };
      return { data: restored, reused: false, restored: true };
    }
    const data = await loadData(plan, request);
    this.entry = { key, data, savable: !plan.modelKey };
    return { data, reused: false, restored: false };
  }

  /**
   * Saves the data kept to the disk cache when it was laid out and is not saved as it is now (loaded, or its upstream
   * models rebuilt, since): called after a run has answered. The copy is taken now; the file is written after.
   */
  async persist(): Promise<boolean> {
    const entry = this.entry;
    const disk = this.disk;
    if (!entry?.savable || !disk || !entry.data.laidOut || entry.data.executor) return false;
    if (entry.savedBuild === entry.data.buildCount) return false;
    const snapshot = snapshotOf(await loadSqlJs(disk.wasmPath), entry.data);
    entry.savedBuild = entry.data.buildCount;
    return disk.cache.write(entry.key, snapshot);
  }

  clear(): void {
    this.ahead = undefined;
    this.entry?.data.close();
    this.entry = undefined;
  }
}
