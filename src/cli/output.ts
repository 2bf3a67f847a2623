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
        upstream: result.upstream.relations,
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

/** One upstream relation for people: where its rows came from. */
export function upstreamLine(relation: ModelResult['upstream']['relations'][number]): string {
  const from = {
    data: 'read from the data',
    built: `built from SQL in ${relation.ms} ms`,
    kept: 'built before, unchanged',
  }[relation.from];
  return `${relation.name}: ${from}, ${relation.rows.toLocaleString('en')} rows`;
}
