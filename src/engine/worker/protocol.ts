// Messages between the extension host and the engine's worker thread.
import type { EngineAssets, FileLocation, LensErrorValue, Lineage, ModelResult, RunRequest } from '../index';
import type { GridOutcome } from '../../shared/grid';
import type { DrillDownSource } from '../../shared/lineageGraph';
import type { SqlValue } from '../../shared/rows';

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

export type WorkerRequest =
  | { id: number; type: 'warm'; assets: EngineAssets }
  /** Requests up to this id are no longer wanted: skip those not started (answered at once, out of turn). */
  | { id: number; type: 'drop'; upTo: number }
  | { id: number; type: 'run'; request: RunRequest; assets: EngineAssets }
  /** The model's lineage (the CLI's `lineage`); the data it loads is freed after. */
  | { id: number; type: 'lineage'; request: RunRequest; assets: EngineAssets }
  | {
      id: number;
      type: 'cteRows';
      cte: string;
      filters: { column: string; value: SqlValue }[];
      offset: number;
      limit: number;
    };

export type WorkerResponse =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: LensErrorValue }
  | { id: number; ok: false; internal: string };
