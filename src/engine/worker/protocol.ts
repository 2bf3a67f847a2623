// Messages between the extension host and the engine's worker thread.
import type { EngineAssets, FileLocation, LensErrorValue, Lineage, ModelResult, RunRequest } from '../index';
import type { GridOutcome } from '../../shared/grid';
import type { DrillDownSource } from '../../shared/lineageGraph';
import type { RunProgress } from '../../shared/progress';
import type { SqlValue } from '../../shared/rows';
import type { LiteralOverride } from '../run/whatIf';

export interface RunPayload {
  result: ModelResult;
  lineage?: Lineage;
  lineageError?: string;
  /** The result as the region × segment grid, segments in the order the model's CASE lists them. */
  grid: GridOutcome;
  /** Where a grid cell's customers can be listed from, when the model's cells trace back to one CTE. */
  drillDown?: DrillDownSource;
  ctes: { name: string; location: FileLocation }[];
}

/** A what-if's answer: the model's result with the thresholds changed, and its grid (segments in the CASE's order). */
export interface WhatIfPayload {
  result: ModelResult;
  grid: GridOutcome;
}

export type WorkerRequest =
  | { id: number; type: 'warm'; assets: EngineAssets }
  /** Answers once every request before it is done, the save of a run's data included (the CLI waits on it). */
  | { id: number; type: 'idle' }
  /**
   * `cacheDir`: the folder the loaded data is saved in between restarts (the extension's storage, the CLI's --cache),
   * bounded by the request's segmentLens.cache.maxSizeMB; none, nothing is saved.
   */
  | { id: number; type: 'run'; request: RunRequest; assets: EngineAssets; cacheDir?: string }
  /** The model's lineage (the CLI's `lineage`); the data it loads is freed after. */
  | { id: number; type: 'lineage'; request: RunRequest; assets: EngineAssets }
  | {
      id: number;
      type: 'cteRows';
      cte: string;
      filters: { column: string; value: SqlValue }[];
      offset: number;
      limit: number;
    }
  /** The last model run again with numbers of its rendered SQL changed (what-if thresholds), on the same data. */
  | { id: number; type: 'whatIf'; overrides: LiteralOverride[] }
  /** A page of a CTE's rows that differ between the last run and the what-if (ModelSession.movedRows). */
  | {
      id: number;
      type: 'whatIfMoved';
      overrides: LiteralOverride[];
      cte: string;
      filters: { column: string; value: SqlValue }[];
      offset: number;
      limit: number;
    };

/** What the worker says about a request: where it is while it runs (any number of times), then its answer. */
export type WorkerResponse =
  | { id: number; type: 'progress'; progress: RunProgress }
  | { id: number; type: 'answer'; ok: true; value: unknown }
  | { id: number; type: 'answer'; ok: false; error: LensErrorValue }
  | { id: number; type: 'answer'; ok: false; internal: string };

/**
 * Given to the worker when it starts: a shared Int32Array whose first element is the highest request id the caller
 * no longer wants. The worker reads it between steps, even while it is busy (a message would wait until it is not).
 */
export interface WorkerData {
  dropped: SharedArrayBuffer;
}
