// Results that repeat are free: the same model inputs and rendered SQL on the same data (undoing a threshold edit,
// switching back to a model, re-opening the panel) answer from memory instead of running the query, its CTE counts
// and checks again. Kept with the data, per build of its upstream models; a few results and bytes at most, least
// recently used first out. Never for a model that runs on a server (pushdown): its data changes without us knowing.
import type { LoadedData } from '../data/loadedData';
import { estimatedBytes } from '../limits';
import type { LensWarning } from '../../shared/problem';
import type { SqlValue } from '../../shared/rows';

/** What a run computes from the data; the rest of a result (timings, logs, upstream) is the run's own. */
export interface RememberedResult {
  columns: string[];
  rows: SqlValue[][];
  cteRowCounts: Record<string, number>;
  warnings: LensWarning[];
}

/** Results kept per data, and their estimated size at most. */
export const MAX_REMEMBERED = 16;
export const MAX_REMEMBERED_BYTES = 64 * 1024 * 1024;

interface Memo {
  /** The data's upstream build this memo is for (LoadedData.buildCount): another build, other data. */
  buildCount: number;
  entries: Map<string, { result: RememberedResult; bytes: number }>;
  bytes: number;
}

const memos = new WeakMap<LoadedData, Memo>();
function memoOf(data: LoadedData): Memo {
  let memo = memos.get(data);
  if (!memo || memo.buildCount !== data.buildCount) {
    memo = { buildCount: data.buildCount, entries: new Map(), bytes: 0 };
    memos.set(data, memo);
  }
  return memo;
}

export function recall(data: LoadedData, key: string): RememberedResult | undefined {
  if (data.executor) return undefined;
  const memo = memoOf(data);
  const hit = memo.entries.get(key);
  if (!hit) return undefined;
  memo.entries.delete(key);
  memo.entries.set(key, hit);
  return hit.result;
}

export function remember(data: LoadedData, key: string, result: RememberedResult): void {
  if (data.executor) return;
  const bytes =
    result.rows.reduce((sum, row) => sum + estimatedBytes(row), 0) + JSON.stringify(result.warnings).length * 2;
  if (bytes > MAX_REMEMBERED_BYTES) return;
  const memo = memoOf(data);
  const old = memo.entries.get(key);
  if (old) {
    memo.entries.delete(key);
    memo.bytes -= old.bytes;
  }
  memo.entries.set(key, { result, bytes });
  memo.bytes += bytes;
  for (const [oldest, entry] of memo.entries) {
    if (memo.entries.size <= MAX_REMEMBERED && memo.bytes <= MAX_REMEMBERED_BYTES) break;
    memo.entries.delete(oldest);
    memo.bytes -= entry.bytes;
  }
}
