// segment-lens: the headless CLI, on the same engine as the extension and through the same worker: a query runs in
// the worker thread, so the deadline (--timeout) can stop it, which no timer on a thread running sql.js could.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  describeError,
  EngineClient,
  LensError,
  resolveTimeout,
  type Deadline,
  type LineageOfModel,
  type RunPayload,
} from '../engine/index';
import { toCsv, toTable } from '../shared/format';
import { progressText, type RunProgress } from '../shared/progress';
import { lineageJson, lineageText, toJson, upstreamLine } from './output';
import { readWorkspaceSettings } from './workspaceSettings';
import { parse as parseYaml } from 'yaml';
import { isRecord } from '../shared/json';
import { relationLabel } from '../shared/labels';
import { describeModel } from '../shared/describe';
import { describeLocation } from '../shared/problem';

const USAGE = `Usage: segment-lens run [--workspace DIR] [--model FILE] [--format table|json|csv] [--vars YAML] [--timeout SECONDS] [--cache DIR] [--verbose]
       segment-lens lineage [--workspace DIR] [--model FILE] [--format json|table] [--depth N] [--vars YAML] [--timeout SECONDS] [--verbose]
       segment-lens describe [--workspace DIR] [--model FILE] [--vars YAML] [--timeout SECONDS] [--verbose]

  run               run the model on the data and print its result
  lineage           print the model's column lineage, across the models it ref()s down to seeds and sources
  describe          print the model's documentation as Markdown (overview, tables, columns, logic, grain)
  --workspace DIR   the workspace folder (default: the current folder); its .vscode/settings.json is read
  --model FILE      the model's SQL file (overrides segmentLens.model)
  --format FORMAT   table (default), json or csv for run; json (default) or table for lineage; markdown for describe
  --depth N         lineage paths through at most N models (default: all the way)
  --vars YAML       dbt vars, as dbt run --vars takes them (e.g. '{start_date: 2024-01-01}'); over segmentLens.vars
  --timeout SECONDS stop a run that takes longer (default: segmentLens.timeoutSeconds, else 60); exit 2
  --cache DIR       save the loaded data in DIR and read it back on the next run while the sources are unchanged
                    (at most segmentLens.cache.maxSizeMB, default 1024, least recently used first out); off without it
  --verbose         print on stderr where the run is (loading, building each upstream model, the query), notes on
                    how the data was laid out, and what the model's Jinja logs (log(), print())`;

const FORMATS: Record<string, string[]> = {
  run: ['table', 'json', 'csv'],
  lineage: ['json', 'table'],
  describe: ['markdown'],
};

/** Exit codes: 0 success, 2 a problem with the user's input (one line on stderr), 1 an internal error. */
async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        workspace: { type: 'string' },
        model: { type: 'string' },
        format: { type: 'string' },
        vars: { type: 'string' },
        timeout: { type: 'string' },
        cache: { type: 'string' },
        depth: { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    process.stderr.write(`segment-lens: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command] = positionals;
  if (!Object.hasOwn(FORMATS, command ?? '') || positionals.length > 1) {
    process.stderr.write(
      `segment-lens: ${command ? `unknown command "${positionals.join(' ')}"` : 'missing command'}\n${USAGE}\n`,
    );
    return 2;
  }
  const format = values.format ?? FORMATS[command][0];
  if (!FORMATS[command].includes(format)) {
    process.stderr.write(
      `segment-lens: --format for ${command} must be ${FORMATS[command].join(', ')}, not "${format}"\n`,
    );
    return 2;
  }
  const depth = values.depth === undefined ? Infinity : Number(values.depth);
  if (!Number.isInteger(depth) && depth !== Infinity) {
    process.stderr.write(`segment-lens: --depth must be a whole number of models (1 or more), not "${values.depth}"\n`);
    return 2;
  }
  if (depth < 1) {
    process.stderr.write(
      `segment-lens: --depth must be 1 or more (1: the model's own sources), not "${values.depth}"\n`,
    );
    return 2;
  }
  const workspaceDir = path.resolve(values.workspace ?? '.');
  const root = path.dirname(__dirname);
  const assets = {
    wasmPath: path.join(__dirname, 'sql-wasm.wasm'),
    sampleDir: path.join(root, 'sample'),
    jinjaDir: path.join(__dirname, 'minijinja'),
  };
  let settings;
  let seconds: number;
  try {
    settings = await readWorkspaceSettings(workspaceDir);
    const flag = values.timeout;
    seconds =
      flag === undefined
        ? resolveTimeout(settings.timeoutSeconds)
        : resolveTimeout(flag.trim() !== '' && !Number.isNaN(Number(flag)) ? Number(flag) : flag, '--timeout');
  } catch (error) {
    if (!(error instanceof LensError)) throw error;
    process.stderr.write(`segment-lens: ${describeError(error.value)}\n`);
    return 2;
  }
  if (values.vars !== undefined) {
    let vars: unknown;
    try {
      vars = parseYaml(values.vars);
    } catch (error) {
      vars = error;
    }
    if (!isRecord(vars)) {
      process.stderr.write(
        `segment-lens: --vars must be a YAML or JSON mapping of var names to values, e.g. '{start_date: 2024-01-01}'.\n`,
      );
      return 2;
    }
    settings.vars = { ...(isRecord(settings.vars) ? settings.vars : {}), ...vars };
  }
  // --model is taken relative to the workspace, as the setting is, or else to the current folder.
  if (values.model !== undefined) {
    settings.model =
      path.isAbsolute(values.model) || existsSync(path.join(workspaceDir, values.model))
        ? values.model
        : path.resolve(values.model);
  }
  const modelName = path.basename(
    typeof settings.model === 'string' && settings.model !== ''
      ? settings.model
      : path.join(assets.sampleDir, 'models', 'customer_segments.sql'),
  );
  const deadline: Deadline = {
    seconds,
    setting: values.timeout === undefined ? 'segmentLens.timeoutSeconds' : '--timeout',
    subject: command === 'run' ? `The model ${modelName}` : `The lineage of ${modelName}`,
  };
  const request = { workspaceDir, settings, env: { ...process.env } };
  const engine = new EngineClient(path.join(__dirname, 'worker.js'), assets);
  const onProgress = values.verbose
    ? (progress: RunProgress) => process.stderr.write(`${progressText(progress)}\n`)
    : undefined;
  try {
    if (command === 'lineage' || command === 'describe') {
      const outcome = await engine.request<LineageOfModel>({ type: 'lineage', request, assets }, deadline, onProgress);
      if (!outcome.ok) {
        process.stderr.write(`segment-lens: ${describeError(outcome.error)}\n`);
        return 2;
      }
      const { model, lineage } = outcome.result;
      if (command === 'describe')
        process.stdout.write(describeModel({ model: path.basename(model.file, path.extname(model.file)), lineage }));
      else
        process.stdout.write(
          format === 'json' ? lineageJson(outcome.result, depth) : lineageText(outcome.result, depth),
        );
      return 0;
    }
    // Resolved against the current folder, as a path on the command line is.
    const cacheDir = values.cache === undefined ? undefined : path.resolve(values.cache);
    const outcome = await engine.request<RunPayload>({ type: 'run', request, assets, cacheDir }, deadline, onProgress);
    if (!outcome.ok) {
      process.stderr.write(`segment-lens: ${describeError(outcome.error)}\n`);
      return 2;
    }
    printResult(outcome.result.result, format, values.verbose === true);
    // The worker saves the data after it has answered: wait for that before stopping it.
    if (cacheDir !== undefined) await engine.request({ type: 'idle' });
    return 0;
  } finally {
    engine.dispose();
  }
}

function printResult(result: RunPayload['result'], format: string, verbose: boolean): void {
  if (verbose) {
    for (const note of result.layout) process.stderr.write(`layout: ${note}\n`);
    for (const line of result.logs) process.stderr.write(`${line}\n`);
  }
  // JSON carries the warnings; the other formats keep stdout for the result and say them on stderr, as a compiler.
  if (format !== 'json')
    for (const warning of result.warnings)
      process.stderr.write(
        `segment-lens: ${warning.severity}: ${describeLocation(warning.location)}${warning.message}\n`,
      );
  if (format === 'json') process.stdout.write(toJson(result));
  else if (format === 'csv') process.stdout.write(toCsv(result.columns, result.rows));
  else {
    process.stdout.write(toTable(result.columns, result.rows));
    const counts = Object.entries(result.cteRowCounts)
      .map(([name, rows]) => `${relationLabel(name)} ${rows}`)
      .join(', ');
    process.stdout.write(
      `\n${result.model.file}\n${result.source.description} · rows: ${counts} · load ${result.timings.loadMs} ms · query ${result.timings.queryMs} ms\n`,
    );
    for (const relation of result.upstream.relations) process.stdout.write(`upstream ${upstreamLine(relation)}\n`);
  }
}

// A reader that stops early (`segment-lens run | head -1`) closes the pipe: that is the reader's choice, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `segment-lens: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
