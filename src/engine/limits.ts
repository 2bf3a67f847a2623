// What one run may hold in memory, so that no result or page of rows can exhaust the heap of the engine's worker
// (and, copied, of the extension host or the CLI). Data files have their own limits (data/loadedData.ts, CSV headers
// in data/csvLoader.ts); the time a run may take is the caller's deadline (worker/client.ts).
import type { SqlValue } from '../shared/rows';

export interface EngineLimits {
  /** Rows of a model's result: a result with more is refused (stepping stops at one more). */
  maxResultRows: number;
  /** A model's result, estimated as JavaScript values: a result larger is refused as it is read. */
  maxResultBytes: number;
}

export const DEFAULT_LIMITS: EngineLimits = {
  maxResultRows: 1_000_000,
  maxResultBytes: 256 * 1024 ** 2,
};

/** Rows of one page of a CTE's preview or of a cell's customers (the panel asks for 50). */
export const MAX_PAGE_ROWS = 1000;

/** About what a row takes as JavaScript values: the array, and each value (text by its length). */
export function estimatedBytes(row: readonly SqlValue[]): number {
  let bytes = 16 + 8 * row.length;
  for (const value of row) {
    if (typeof value === 'string') bytes += 16 + value.length;
    else if (typeof value === 'number') bytes += 8;
    else if (value !== null && typeof value === 'object') bytes += 64 + (value as Uint8Array).byteLength;
  }
  return bytes;
}

/** A size as people read it: MiB, or KiB below one MiB. */
export function mib(bytes: number): string {
  return bytes < 1024 ** 2
    ? `${Math.round(bytes / 1024).toLocaleString('en')} KiB`
    : `${Math.round(bytes / 1024 ** 2).toLocaleString('en')} MiB`;
}
