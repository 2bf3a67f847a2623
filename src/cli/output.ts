// The CLI's JSON: the run's result and the model's lineage, for programs.
import path from 'node:path';
import type { LineageOfModel, ModelResult } from '../engine/index';
import { columnPaths, pathKinds, pathText, type DagPath } from '../shared/dagLineage';
import { lineageTable } from '../shared/format';
import { rowObjects } from '../shared/rows';

export function toJson(result: ModelResult): string {
  return (
    JSON.stringify(
      {
        columns: result.columns,
        rows: rowObjects(result.columns, result.rows),
        cteRowCounts: result.cteRowCounts,
        warnings: result.warnings,
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

/** Each output column's paths across the models it stands on, `depth` models deep at most. */
function pathsOf(result: LineageOfModel, depth: number): { column: string; paths: DagPath[] }[] {
  const name = path.basename(result.model.file, path.extname(result.model.file));
  return result.lineage.columns.map((column) => ({
    column: column.name,
    paths: columnPaths(result.lineage, name, column.name, depth),
  }));
}

/** The lineage for programs: the model's own, every upstream model's (`upstreamModels`), and the paths across. */
export function lineageJson(result: LineageOfModel, depth = Infinity): string {
  const paths = pathsOf(result, depth).flatMap(({ column, paths: found }) =>
    found.map((found) => ({
      column,
      path: found.steps.map((step) => step.label),
      steps: found.steps,
      truncated: found.truncated,
    })),
  );
  return JSON.stringify({ model: result.model, source: result.source, ...result.lineage, paths }, null, 2) + '\n';
}

/** The lineage for people: the paths across models first, then the model's own table. */
export function lineageText(result: LineageOfModel, depth = Infinity): string {
  const lines: string[] = [];
  for (const { paths } of pathsOf(result, depth))
    for (const found of paths) {
      // Upstream first, as the model's own table lists them.
      const kinds = pathKinds(found);
      lines.push(`${pathText(found)}${kinds.length ? `  (${kinds.join(' → ')})` : ''}`);
    }
  const broken = (result.lineage.upstreamModels ?? []).filter((model) => model.error);
  for (const model of broken) lines.push(`(${model.model}: lineage stops here: ${model.error})`);
  return `${lines.length ? `${lines.join('\n')}\n\n` : ''}${lineageTable(result.lineage)}`;
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
