// `npm run bench -- --dag [--orders 100000,1000000] [--runs N] [--json]`: a jaffle-shop-shaped dbt project
// (dagData.ts) generated in a temp folder at each size, measured side by side in one run, median of N:
// - Segment Lens through the engine worker the CLI and the extension use, `upstream: build`: every model built cold
//   (a fresh worker, the seeds loaded from CSV), then warm after editing a leaf (stg_orders: it and its downstream
//   rebuilt, checked), then warm after editing the explored model's threshold (nothing rebuilt, checked); peak RSS
//   and this thread's longest event-loop stall for each step;
// - the sqlite3 shell building the same rendered SQL (compiled by our engine): `.import --csv` of the seeds into
//   typed tables, then CREATE VIEW/TABLE … AS for each model in DAG order, then the explored model's query — as one
//   in-memory run from the CSVs, and in two stages (import into a SQLite file; build from that file);
// - DuckDB building the same models from the same CSVs (read_csv_auto), the SQL adapted where dialects differ.
// The final grid of all three is compared; a mismatch is printed loudly and the exit code is 1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DataCache, EngineClient, ModelSession, type EngineAssets, type RunPayload } from '../src/engine/index';
import type { SqlValue } from '../src/shared/rows';
import { downstreamOf, exploredSql, EXPLORED_THRESHOLD, writeDagProject, type DagProject } from './dagData';
import { median, watched } from './benchStats';
import { summarizeProfile, WorkerProfiler } from './workerProfile';

const SQLITE3 = '/usr/bin/sqlite3';
const root = path.resolve(__dirname, '..', '..');
const assets: EngineAssets = {
  wasmPath: path.join(root, 'dist', 'sql-wasm.wasm'),
  sampleDir: path.join(root, 'sample'),
  jinjaDir: path.join(root, 'dist', 'minijinja'),
};

/** Each model's SQL as our engine renders it, and how it is created; the explored model's query last. */
interface Compiled {
  models: { name: string; materialized: 'view' | 'table'; sql: string }[];
  explored: string;
}

type Grid = { columns: string[]; rows: SqlValue[][] };

/** Wall time, and CPU time where it is known. */
type Timed = { ms: number; cpuMs: number | null };

function medians(times: Timed[]): Timed {
  const cpu = times.map((time) => time.cpuMs).filter((ms): ms is number => ms !== null);
  return { ms: median(times.map((time) => time.ms)), cpuMs: cpu.length ? median(cpu) : null };
}

const stripSemicolon = (sql: string) => sql.replace(/[\s;]+$/, '');

/**
 * Renders every model with our engine (ModelSession, as the worker does) on a small copy of the project: the models
 * read no data while they render (no run_query), so their SQL is the same at every size.
 */
async function compile(): Promise<Compiled> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'segment-lens-dag-compile-'));
  try {
    const project = await writeDagProject(dir, 200);
    const cache = new DataCache();
    const render = async (file: string) => {
      const session = await ModelSession.open(
        {
          workspaceDir: dir,
          settings: { model: file, connection: { type: 'csv', directory: 'seeds' }, upstream: 'build' },
          env: {},
        },
        assets,
        cache,
      );
      try {
        return stripSemicolon(session.sql);
      } finally {
        session.close();
      }
    };
    const models: Compiled['models'] = [];
    for (const model of project.upstream)
      models.push({ name: model.name, materialized: model.materialized, sql: await render(model.file) });
    const explored = await render(project.explored);
    cache.clear();
    return { models, explored };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface StepFigures {
  ms: number;
  cpuMs: number;
  peakRssMb: number;
  stallMs: number;
}

function summarize(steps: StepFigures[]): StepFigures {
  return {
    ms: median(steps.map((step) => step.ms)),
    cpuMs: median(steps.map((step) => step.cpuMs)),
    peakRssMb: Math.max(...steps.map((step) => step.peakRssMb)),
    stallMs: Math.max(...steps.map((step) => step.stallMs)),
  };
}

/** Threshold edits profiled after the last round (`--profile FILE`). */
const PROFILED_EDITS = 20;

/**
 * Segment Lens: a fresh engine worker per round; cold build, leaf edit, explored-model edit. With `profileFile`, the
 * last round's worker then takes PROFILED_EDITS more threshold edits under V8's CPU profiler: the profile is written
 * there and its largest functions printed.
 */
async function segmentLens(project: DagProject, runs: number, log: (line: string) => void, profileFile?: string) {
  const profiler = profileFile === undefined ? undefined : new WorkerProfiler();
  await profiler?.attach();
  const request = {
    workspaceDir: project.dir,
    settings: {
      model: project.explored,
      connection: { type: 'csv', directory: 'seeds' },
      upstream: 'build',
      timeoutSeconds: 3600,
    },
    env: {},
  };
  const leafFile = path.join(project.dir, project.leaf);
  const leafSql = readFileSync(leafFile, 'utf8');
  const exploredFile = path.join(project.dir, project.explored);
  const leafName = path.basename(project.leaf, '.sql');
  const relation = (name: string) => `main.${name}`;
  const everyModel = project.upstream.map((model) => relation(model.name)).sort();
  const afterLeaf = [...downstreamOf(project.upstream, leafName)].map(relation).sort();
  const cold: StepFigures[] = [];
  const leaf: StepFigures[] = [];
  const explored: StepFigures[] = [];
  let grid: Grid | undefined;
  const baseRssMb = process.memoryUsage().rss / 1048576;
  const built = (payload: RunPayload) => [...payload.result.upstream.built].sort();
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((item, index) => item === b[index]);
  for (let run = 0; run < runs; run++) {
    writeFileSync(leafFile, leafSql);
    writeFileSync(exploredFile, exploredSql(EXPLORED_THRESHOLD));
    const engine = new EngineClient(path.join(root, 'dist', 'worker.js'), assets);
    const step = async (what: string, expectBuilt: string[], warm: boolean) => {
      const measured = await watched(() => engine.request<RunPayload>({ type: 'run', request, assets }));
      if (!measured.value.ok) throw new Error(`${what}: ${measured.value.error.message}`);
      const payload = measured.value.result;
      if (payload.result.timings.dataReused !== warm)
        throw new Error(`${what}: the data was ${warm ? 'loaded again' : 'already loaded'}`);
      if (!same(built(payload), expectBuilt))
        throw new Error(`${what} built [${built(payload).join(', ')}], expected [${expectBuilt.join(', ')}]`);
      const builds = payload.result.upstream.relations
        .filter((relation) => relation.from === 'built')
        .map((relation) => `${relation.name.replace(/^main\./, '')} ${Math.round(relation.ms)}`);
      const { loadMs, queryMs, countMs } = payload.result.timings;
      log(
        `    ${what}: ${Math.round(measured.ms)} ms (load and build ${Math.round(loadMs)}, query ${Math.round(queryMs)}, counts ${Math.round(countMs)}; built ms: ${builds.join(', ') || 'none'})`,
      );
      return { measured, payload };
    };
    try {
      const first = await step(`run ${run + 1} cold build`, everyModel, false);
      grid = { columns: first.payload.result.columns, rows: first.payload.result.rows };
      cold.push(first.measured);
      // A leaf edit the user saves: a comment changes stg_orders' SQL, so it and what stands on it are rebuilt.
      writeFileSync(leafFile, `${leafSql}-- edited ${run}\n`);
      leaf.push((await step(`run ${run + 1} leaf edit`, afterLeaf, true)).measured);
      // A threshold edit in the explored model: nothing upstream is rebuilt.
      writeFileSync(exploredFile, exploredSql(EXPLORED_THRESHOLD + 1 + run));
      explored.push((await step(`run ${run + 1} explored edit`, [], true)).measured);
      if (profiler && run === runs - 1) {
        const times: number[] = [];
        const profile = await profiler.profile(async () => {
          for (let edit = 0; edit < PROFILED_EDITS; edit++) {
            writeFileSync(exploredFile, exploredSql(EXPLORED_THRESHOLD + 100 + edit));
            times.push((await step(`profiled edit ${edit + 1}`, [], true)).measured.ms);
          }
        });
        writeFileSync(profileFile!, JSON.stringify(profile));
        const summary = summarizeProfile(profile);
        const per = (ms: number) => (ms / PROFILED_EDITS).toFixed(2).padStart(7);
        log(
          `  profile of ${PROFILED_EDITS} threshold edits in the worker (${profileFile}): median ${Math.round(median(times))} ms an edit`,
        );
        log(`  per edit, inclusive:`);
        for (const [name, ms] of summary.inclusive) log(`    ${per(ms)} ms  ${name}`);
        log(`  per edit, self:`);
        for (const [name, ms] of summary.self.slice(0, 25)) log(`    ${per(ms)} ms  ${name}`);
      }
    } finally {
      engine.dispose();
    }
  }
  profiler?.detach();
  writeFileSync(leafFile, leafSql);
  writeFileSync(exploredFile, exploredSql(EXPLORED_THRESHOLD));
  return {
    cold: summarize(cold),
    leaf: summarize(leaf),
    explored: summarize(explored),
    baseRssMb,
    grid: grid!,
  };
}

const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;
const quoteName = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The shell's script: typed tables for the seeds (the shell alone would keep every value as text), then .import. */
function importScript(project: DagProject): string {
  return project.seeds
    .map(
      (seed) =>
        `CREATE TABLE ${quoteName(seed.name)} (${seed.columns.map(([name, type]) => `${quoteName(name)} ${type}`).join(', ')});\n` +
        `.import --csv --skip 1 ${JSON.stringify(path.join(project.seedsDir, `${seed.name}.csv`))} ${seed.name}\n`,
    )
    .join('');
}

function buildScript(compiled: Compiled): string {
  return [
    ...compiled.models.map(
      (model) => `CREATE ${model.materialized === 'view' ? 'VIEW' : 'TABLE'} main.${model.name} AS ${model.sql};`,
    ),
    '.mode json',
    `${compiled.explored};`,
    '',
  ].join('\n');
}

/** GNU time, when the machine has it: the shell's CPU time (user + system) beside its wall time. */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

function shell(
  database: string,
  script: string,
  scratch: string,
): { ms: number; cpuMs: number | null; stdout: string } {
  const timeFile = path.join(scratch, 'sqlite3.time');
  const command = TIME
    ? ([TIME, ['-f', '%U %S', '-o', timeFile, SQLITE3, '-bail', database]] as const)
    : ([SQLITE3, ['-bail', database]] as const);
  const started = performance.now();
  const result = spawnSync(command[0], command[1], { input: script, encoding: 'utf8', maxBuffer: 64 * 1048576 });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`sqlite3 failed: ${result.stderr}`);
  if (result.stderr.trim()) throw new Error(`sqlite3 said: ${result.stderr}`);
  const cpuMs = TIME
    ? readFileSync(timeFile, 'utf8')
        .trim()
        .split(/\s+/)
        .reduce((sum, seconds) => sum + Number(seconds) * 1000, 0)
    : null;
  return { ms, cpuMs, stdout: result.stdout };
}

function gridOfJson(stdout: string): Grid {
  const objects = JSON.parse(stdout.trim() || '[]') as Record<string, SqlValue>[];
  const columns = Object.keys(objects[0] ?? {});
  return { columns, rows: objects.map((object) => columns.map((column) => object[column])) };
}

/** The sqlite3 shell: all in memory from the CSVs; and in two stages through a SQLite file of the seeds. */
function sqliteShell(project: DagProject, compiled: Compiled, runs: number, scratch: string) {
  const fromCsv: Timed[] = [];
  const importing: Timed[] = [];
  const building: Timed[] = [];
  let grid: Grid | undefined;
  const seedsDb = path.join(scratch, 'seeds.db');
  for (let run = 0; run < runs; run++) {
    const whole = shell(':memory:', `${importScript(project)}${buildScript(compiled)}`, scratch);
    fromCsv.push(whole);
    grid = gridOfJson(whole.stdout);
    rmSync(seedsDb, { force: true });
    importing.push(
      shell(seedsDb, `PRAGMA journal_mode = OFF;\nPRAGMA synchronous = OFF;\n${importScript(project)}`, scratch),
    );
    // The prepared file is read into memory (.restore), so the file stays as prepared and the build runs in memory.
    building.push(shell(':memory:', `.restore ${JSON.stringify(seedsDb)}\n${buildScript(compiled)}`, scratch));
  }
  rmSync(seedsDb, { force: true });
  return { fromCsv: medians(fromCsv), importing: medians(importing), building: medians(building), grid: grid! };
}

/**
 * The rendered SQLite SQL as DuckDB takes it. Only what differs is changed: dbt.date_trunc('day', …) renders for
 * SQLite as datetime(x, 'start of day') (text); DuckDB gets the same text from strftime of the timestamp.
 */
export const DUCKDB_ADAPTATIONS = ["datetime(x, 'start of day') → strftime(CAST(x AS TIMESTAMP), '%Y-%m-%d 00:00:00')"];
function forDuckdb(sql: string): string {
  return sql.replace(
    /datetime\(([^()]+?), 'start of day'\)/g,
    (_, column: string) => `strftime(CAST(${column} AS TIMESTAMP), '%Y-%m-%d 00:00:00')`,
  );
}

async function duckdb(project: DagProject, compiled: Compiled, runs: number) {
  const times: Timed[] = [];
  let grid: Grid | undefined;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      for (const seed of project.seeds)
        await connection.run(
          `CREATE TABLE ${quoteName(seed.name)} AS SELECT * FROM read_csv_auto(${sqlString(path.join(project.seedsDir, `${seed.name}.csv`))})`,
        );
      for (const model of compiled.models)
        await connection.run(
          `CREATE ${model.materialized === 'view' ? 'VIEW' : 'TABLE'} main.${model.name} AS ${forDuckdb(model.sql)}`,
        );
      const reader = await connection.runAndReadAll(forDuckdb(compiled.explored));
      const used = process.cpuUsage(cpu);
      times.push({ ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 });
      grid = {
        columns: reader.columnNames(),
        rows: reader
          .getRowsJS()
          .map((row) => row.map((value) => (typeof value === 'bigint' ? Number(value) : (value as SqlValue)))),
      };
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }
  return { ...medians(times), grid: grid! };
}

/**
 * Differences between two grids, row order aside (engines order NULL apart), numbers within a cent (engines round
 * averages of floating-point sums summed in different orders).
 */
function gridDifferences(expected: Grid, actual: Grid): string[] {
  if (expected.columns.join() !== actual.columns.join())
    return [`columns ${actual.columns.join(', ')} instead of ${expected.columns.join(', ')}`];
  const keyed = (grid: Grid) =>
    [...grid.rows].sort((a, b) => JSON.stringify(a.slice(0, 2)).localeCompare(JSON.stringify(b.slice(0, 2))));
  const left = keyed(expected);
  const right = keyed(actual);
  if (left.length !== right.length) return [`${right.length} rows instead of ${left.length}`];
  const problems: string[] = [];
  left.forEach((row, index) => {
    const other = right[index];
    const equal = row.every((value, column) =>
      typeof value === 'number' && typeof other[column] === 'number'
        ? Math.abs(value - (other[column] as number)) <= 0.0100001
        : value === other[column],
    );
    if (!equal) problems.push(`${JSON.stringify(other)} instead of ${JSON.stringify(row)}`);
  });
  return problems;
}

interface Machine {
  date: string;
  node: string;
  cpus: number;
  cpu: string | undefined;
  memoryGb: number;
  sqlite3: string;
  duckdbAdaptations: string[];
}

interface DagResult {
  orders: number;
  customers: number;
  items: number;
  csvMb: number;
  runs: number;
  /** os.loadavg() when the size started. */
  loadAverage: number[];
  gridRows: number;
  segmentLens: {
    cold: Timed;
    leafEdit: Timed;
    exploredEdit: Timed;
    peakRssMb: { before: number; cold: number; leafEdit: number; exploredEdit: number };
    longestStallMs: { cold: number; leafEdit: number; exploredEdit: number };
  };
  sqlite3Shell: { fromCsv: Timed; importToFile: Timed; buildFromFile: Timed };
  duckdb: Timed;
  gridsMatch: { sqlite3: boolean; duckdb: boolean };
  ratios: { coldVsSqlite3Shell: number; coldVsSqlite3ShellCpu: number | null; coldVsDuckdb: number };
}

const mb = (bytes: number) => Math.round(bytes / 1048576);

export async function benchDag(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const option = (name: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const runs = Number(option('--runs') ?? 5);
  // --profile FILE: a CPU profile of the worker over threshold edits (see segmentLens); --lens-only: no shell, no DuckDB.
  const profileFile = option('--profile');
  const lensOnly = args.includes('--lens-only');
  const sizes = (option('--orders') ?? '100000,1000000').split(',').map(Number);
  // Progress goes to stderr in both modes: stdout carries only the table or the JSON.
  const log = (line: string) => console.error(line);
  log('compiling the models with our engine…');
  const compiled = await compile();
  const results: DagResult[] = [];
  let mismatch = false;
  for (const orders of sizes) {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'segment-lens-dag-'));
    try {
      // Fewer rounds at 1M and over: each takes a while, and the spread is small next to it.
      const sizeRuns = orders >= 1_000_000 ? Math.min(runs, 3) : runs;
      log(`\n${orders.toLocaleString('en')} orders: writing the project in ${scratch}`);
      // Others may share the machine: its load when the size starts is part of the figures.
      const loadAverage = os.loadavg();
      const project = await writeDagProject(path.join(scratch, 'project'), orders);
      log(
        `  ${project.customers.toLocaleString('en')} customers, ${project.items.toLocaleString('en')} items, ${mb(project.csvBytes)} MB of CSV; median of ${sizeRuns}`,
      );
      log('  Segment Lens (engine worker, upstream: build)…');
      const lens = await segmentLens(
        project,
        sizeRuns,
        log,
        profileFile && sizes.length > 1 ? profileFile.replace(/(\.cpuprofile)?$/, `-${orders}$1`) : profileFile,
      );
      if (lensOnly) continue;
      log('  sqlite3 shell…');
      const sqlite = sqliteShell(project, compiled, sizeRuns, scratch);
      log('  DuckDB…');
      const duck = await duckdb(project, compiled, sizeRuns);
      const differences = {
        sqlite3: gridDifferences(sqlite.grid, lens.grid),
        duckdb: gridDifferences(sqlite.grid, duck.grid),
      };
      for (const [engine, problems] of Object.entries(differences)) {
        if (!problems.length) continue;
        mismatch = true;
        console.error(
          `\n!!! MISMATCH at ${orders.toLocaleString('en')} orders: ${engine === 'sqlite3' ? 'Segment Lens' : 'DuckDB'} vs the sqlite3 shell`,
        );
        for (const problem of problems.slice(0, 10)) console.error(`!!!   ${problem}`);
      }
      const time = (timed: Timed) => ({
        ms: Math.round(timed.ms),
        cpuMs: timed.cpuMs === null ? null : Math.round(timed.cpuMs),
      });
      results.push({
        orders,
        customers: project.customers,
        items: project.items,
        csvMb: mb(project.csvBytes),
        runs: sizeRuns,
        loadAverage: loadAverage.map((load) => +load.toFixed(1)),
        gridRows: lens.grid.rows.length,
        segmentLens: {
          cold: time(lens.cold),
          leafEdit: time(lens.leaf),
          exploredEdit: time(lens.explored),
          peakRssMb: {
            before: Math.round(lens.baseRssMb),
            cold: Math.round(lens.cold.peakRssMb),
            leafEdit: Math.round(lens.leaf.peakRssMb),
            exploredEdit: Math.round(lens.explored.peakRssMb),
          },
          longestStallMs: {
            cold: Math.round(lens.cold.stallMs),
            leafEdit: Math.round(lens.leaf.stallMs),
            exploredEdit: Math.round(lens.explored.stallMs),
          },
        },
        sqlite3Shell: {
          fromCsv: time(sqlite.fromCsv),
          importToFile: time(sqlite.importing),
          buildFromFile: time(sqlite.building),
        },
        duckdb: time(duck),
        gridsMatch: { sqlite3: differences.sqlite3.length === 0, duckdb: differences.duckdb.length === 0 },
        ratios: {
          coldVsSqlite3Shell: +(lens.cold.ms / sqlite.fromCsv.ms).toFixed(2),
          coldVsSqlite3ShellCpu:
            sqlite.fromCsv.cpuMs === null ? null : +(lens.cold.cpuMs / sqlite.fromCsv.cpuMs).toFixed(2),
          coldVsDuckdb: +(lens.cold.ms / duck.ms).toFixed(2),
        },
      });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const machine: Machine = {
    date: new Date().toISOString().slice(0, 10),
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    sqlite3: spawnSync(SQLITE3, ['-version'], { encoding: 'utf8' }).stdout.split(' ')[0],
    duckdbAdaptations: DUCKDB_ADAPTATIONS,
  };
  if (json) console.log(JSON.stringify({ machine, results }, null, 2));
  else printTable(machine, results);
  if (mismatch) process.exitCode = 1;
}

const cell = (timed: Timed) => (timed.cpuMs === null ? `${timed.ms} ms` : `${timed.ms} ms (cpu ${timed.cpuMs})`);

function printTable(machine: Machine, results: DagResult[]): void {
  const measures: [string, (row: DagResult) => string][] = [
    ['customers · CSV', (row) => `${row.customers.toLocaleString('en')} · ${row.csvMb} MB`],
    ['median of · load average', (row) => `${row.runs} · ${row.loadAverage[0]}`],
    ['SL cold build (CSV)', (row) => cell(row.segmentLens.cold)],
    ['SL warm, leaf edited', (row) => cell(row.segmentLens.leafEdit)],
    ['SL warm, explored edited', (row) => cell(row.segmentLens.exploredEdit)],
    ['sqlite3 shell from CSV', (row) => cell(row.sqlite3Shell.fromCsv)],
    ['  .import to a file', (row) => cell(row.sqlite3Shell.importToFile)],
    ['  build from the file', (row) => cell(row.sqlite3Shell.buildFromFile)],
    ['DuckDB from CSV', (row) => cell(row.duckdb)],
    [
      'SL cold ÷ sqlite3 shell',
      (row) =>
        `${row.ratios.coldVsSqlite3Shell}×${row.ratios.coldVsSqlite3ShellCpu === null ? '' : ` (cpu ${row.ratios.coldVsSqlite3ShellCpu}×)`}`,
    ],
    ['SL cold ÷ DuckDB', (row) => `${row.ratios.coldVsDuckdb}×`],
    [
      'SL peak RSS cold/leaf/expl.',
      (row) =>
        `${row.segmentLens.peakRssMb.cold}/${row.segmentLens.peakRssMb.leafEdit}/${row.segmentLens.peakRssMb.exploredEdit} MB`,
    ],
    [
      'SL max stall cold/leaf/expl.',
      (row) =>
        `${row.segmentLens.longestStallMs.cold}/${row.segmentLens.longestStallMs.leafEdit}/${row.segmentLens.longestStallMs.exploredEdit} ms`,
    ],
    [
      'grid = sqlite3 / DuckDB',
      (row) => `${row.gridsMatch.sqlite3 ? 'yes' : 'NO'} / ${row.gridsMatch.duckdb ? 'yes' : 'NO'}`,
    ],
  ];
  const header = ['orders', ...results.map((row) => row.orders.toLocaleString('en'))];
  const lines = measures.map(([name, value]) => [name, ...results.map(value)]);
  const widths = header.map((title, index) => Math.max(title.length, ...lines.map((line) => line[index].length)));
  const format = (cells: string[]) =>
    `| ${cells.map((text, index) => (index === 0 ? text.padEnd(widths[index]) : text.padStart(widths[index]))).join(' | ')} |`;
  console.log(
    `\n${machine.date} · Node ${machine.node} · ${machine.cpus} × ${machine.cpu} · ${machine.memoryGb} GiB · sqlite3 ${machine.sqlite3}`,
  );
  console.log(format(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const line of lines) console.log(format(line));
  console.log(
    'cpu: CPU time in ms (user + system) of the process doing the work (SL: the whole process, worker included).',
  );
  console.log(`DuckDB runs the SQL as rendered for SQLite, except: ${DUCKDB_ADAPTATIONS.join('; ')}.`);
}
