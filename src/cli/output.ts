// The CLI's JSON: the run's result and the model's lineage, for programs.
import type { LineageOfModel, ModelResult } from '../engine/index';
import { rowObjects } from '../shared/rows';

export function toJson(result: ModelResult): string {
  return (
    JSON.stringify(
      {
        columns: result.columns,
        rows: rowObjects(result.columns, result.rows),
        cteRowCounts: result.cteRowCounts,
        source: result.source,
        model: { file: result.model.file, sample: result.model.sample },
        timings: result.timings,
      },
      null,
      2,
    ) + '\n'
  );
}

export function lineageJson(result: LineageOfModel): string {
  return JSON.stringify({ model: result.model, source: result.source, ...result.lineage }, null, 2) + '\n';
}
