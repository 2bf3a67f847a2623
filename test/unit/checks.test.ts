// The checks (src/engine/run/checks.ts): data and segment logic that make the model's numbers mislead without any
// error, found by a real run on a real SQLite file and reported in the result's warnings, each at its place in the
// model. The rows behind each are counted again here with native SQLite (better-sqlite3) on the same file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { runModel } from '../../src/engine/index';
import type { RawSettings } from '../../src/engine/settings';
import type { LensWarning } from '../../src/shared/problem';
import {
  assets,
  cliPath,
  makeShop,
  nativeQuery,
  sampleModel,
  seedModel,
  tempWorkspace,
  write,
  writeShopSqlite,
  type MetricRow,
} from './helpers';

const shop = makeShop(200, 3);

const sqliteSettings: RawSettings = {
  model: 'models/segments.sql',
  connection: { type: 'sqlite', path: 'warehouse.db' },
};

/** The seed model on the test's unqualified tables, its CASE's branches replaced by `branches` when given. */
function modelWith(branches?: string[]): string {
  const model = seedModel('int_customer_metrics', 'stg_customers');
  if (!branches) return model;
  return model.replace(/( +)WHEN i\.total_spent >= 10000[\s\S]*?ELSE 'Bronze'/, (_, indent: string) =>
    branches.map((line) => `${indent}${line}`).join('\n'),
  );
}

/** 1-based line and column of the first occurrence of `text` in `model`, as an editor shows them. */
function positionOf(model: string, text: string): { line: number; column: number } {
  const index = model.indexOf(text);
  assert.ok(index >= 0, `${text} is in the model`);
  const before = model.slice(0, index).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

const JOINED = 'FROM int_customer_metrics i JOIN stg_customers c ON i.customer_id = c.customer_id';

async function runOn(metrics: readonly MetricRow[], model = modelWith()) {
  const dir = tempWorkspace();
  const database = writeShopSqlite(path.join(dir, 'warehouse.db'), { metrics, customers: shop.customers });
  const file = write(dir, 'models/segments.sql', model);
  const outcome = await runModel({ workspaceDir: dir, settings: sqliteSettings, env: {}, homeDir: dir }, assets);
  assert.ok(outcome.ok, JSON.stringify(!outcome.ok && outcome.error));
  /** Rows of the joined base (the CTE) matching `where`, counted by native SQLite. */
  const nativeCount = (where: string) =>
    Number(Object.values(nativeQuery(database, {}, `SELECT count(*) ${JOINED} WHERE ${where}`)[0])[0]);
  return { result: outcome.result, file, model, nativeCount };
}

function only(warnings: readonly LensWarning[], code: LensWarning['code']): LensWarning {
  const found = warnings.filter((warning) => warning.code === code);
  assert.equal(found.length, 1, JSON.stringify(warnings, null, 2));
  return found[0];
}

describe('checks: data and segment logic that make the numbers mislead', () => {
  it('a clean shop has none', async () => {
    assert.deepEqual((await runOn(shop.metrics)).result.warnings, []);
  });

  it('duplicate customer ids in the metrics: the join fans out, warned at the ON clause', async () => {
    const { result, file, model } = await runOn([...shop.metrics, shop.metrics[0], shop.metrics[1]]);
    assert.equal(result.warnings.length, 1);
    const warning = only(result.warnings, 'join-fan-out');
    assert.equal(warning.severity, 'warning');
    assert.match(
      warning.message,
      /^customer_id repeats in int_customer_metrics \(2 extra rows\): the join matches those rows more than once/,
    );
    assert.deepEqual(
      { file: warning.location?.file, line: warning.location?.line, column: warning.location?.column },
      { file, ...positionOf(model, 'i.customer_id = c.customer_id') },
    );
  });

  it('spend stored as text like "1,234.50": warned where the CASE compares it', async () => {
    const metrics = shop.metrics.map((metric, index) => (index < 3 ? { ...metric, total_spent: '1,234.50' } : metric));
    const { result, model } = await runOn(metrics);
    assert.equal(result.warnings.length, 1);
    const warning = only(result.warnings, 'text-as-number');
    assert.match(warning.message, /^total_spent in int_customer_metrics holds text in 3 rows \(e\.g\. "1,234\.50"\)/);
    assert.deepEqual(
      { line: warning.location?.line, column: warning.location?.column },
      positionOf(model, 'i.total_spent >= 10000'),
    );
  });

  it('empty tables give an empty result and no warning, not an error', async () => {
    const { result } = await runOn([]);
    assert.deepEqual(result.rows, []);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.cteRowCounts.base, 0);
  });

  it('a WHEN that can never match (>= 1000 before >= 5000): a warning at that WHEN with the rows behind it', async () => {
    const run = await runOn(
      shop.metrics,
      modelWith([
        "WHEN i.total_spent >= 10000 THEN 'Platinum'",
        "WHEN i.total_spent >= 1000  THEN 'Silver'",
        "WHEN i.total_spent >= 5000  THEN 'Gold'",
        "ELSE 'Bronze'",
      ]),
    );
    const warning = only(run.result.warnings, 'unreachable-branch');
    assert.equal(run.result.warnings.length, 1, JSON.stringify(run.result.warnings));
    assert.equal(warning.severity, 'warning');
    assert.deepEqual(
      {
        file: warning.location?.file,
        line: warning.location?.line,
        column: warning.location?.column,
        endColumn: warning.location?.endColumn,
      },
      {
        file: run.file,
        ...positionOf(run.model, "WHEN i.total_spent >= 5000  THEN 'Gold'"),
        endColumn: positionOf(run.model, "WHEN i.total_spent >= 5000  THEN 'Gold'").column + 39,
      },
    );
    const behind = run.nativeCount('i.total_spent >= 5000');
    assert.ok(behind > 0, 'the shop has customers at 5000 and above');
    assert.equal(
      warning.message,
      `WHEN i.total_spent >= 5000 THEN 'Gold' can never match: the branches above it ('Platinum', 'Silver') take every value it would (total_spent ≥ 5000); ${behind} rows of base are there and land in the branches above. The thresholds are out of order: put the higher threshold first.`,
    );
  });

  it('overlapping thresholds (BETWEEN 1000 AND 5000, then >= 5000): the rows at 5000 counted', async () => {
    const run = await runOn(
      shop.metrics,
      modelWith([
        "WHEN i.total_spent >= 10000 THEN 'Platinum'",
        "WHEN i.total_spent BETWEEN 1000 AND 5000 THEN 'Silver'",
        "WHEN i.total_spent >= 5000 THEN 'Gold'",
        "ELSE 'Bronze'",
      ]),
    );
    const warning = only(run.result.warnings, 'overlapping-branches');
    assert.equal(run.result.warnings.length, 1, JSON.stringify(run.result.warnings));
    const atFiveThousand = run.nativeCount('i.total_spent = 5000');
    assert.ok(atFiveThousand > 0, 'the shop has customers exactly at 5000');
    assert.equal(
      warning.message,
      `WHEN i.total_spent >= 5000 THEN 'Gold' overlaps WHEN i.total_spent BETWEEN 1000 AND 5000 THEN 'Silver' above it at total_spent = 5000, and the first branch that matches wins; ${atFiveThousand} rows of base are there and land in 'Silver', not 'Gold'. Make the bounds meet without overlapping (one side exclusive) so each value has one segment.`,
    );
    assert.deepEqual(
      { line: warning.location?.line, column: warning.location?.column },
      positionOf(run.model, "WHEN i.total_spent >= 5000 THEN 'Gold'"),
    );
  });

  it('rows whose spend is NULL fall into ELSE: warned at the CASE with their count', async () => {
    const metrics = shop.metrics.map((metric, index) => (index % 9 === 0 ? { ...metric, total_spent: null } : metric));
    const run = await runOn(metrics);
    const warning = only(run.result.warnings, 'null-into-else');
    assert.equal(run.result.warnings.length, 1, JSON.stringify(run.result.warnings));
    const nulls = run.nativeCount('i.total_spent IS NULL');
    assert.ok(nulls > 1);
    assert.equal(
      warning.message,
      `${nulls} rows of base have total_spent NULL: they match no WHEN and land in ELSE 'Bronze' without a word. Say where they belong (WHEN i.total_spent IS NULL THEN …) or filter them out.`,
    );
    const at = positionOf(run.model, 'CASE');
    assert.deepEqual(warning.location, {
      file: run.file,
      line: at.line,
      column: at.column,
      endLine: at.line,
      endColumn: at.column + 4,
    });
    // Without ELSE they get no segment at all.
    const noElse = await runOn(
      metrics,
      modelWith(["WHEN i.total_spent >= 5000 THEN 'High'", "WHEN i.total_spent < 5000 THEN 'Low'"]),
    );
    assert.match(
      only(noElse.result.warnings, 'null-into-else').message,
      new RegExp(`^${nulls} rows of base have total_spent NULL: they match no WHEN and get a NULL customer_segment`),
    );
  });

  it('a segment no row reaches: information at its WHEN, with the rows that were there', async () => {
    const run = await runOn(
      shop.metrics,
      modelWith([
        "WHEN i.total_spent >= 1000000 THEN 'Diamond'",
        "WHEN i.total_spent >= 10000 THEN 'Platinum'",
        "ELSE 'Rest'",
      ]),
    );
    const warning = only(run.result.warnings, 'empty-segment');
    assert.equal(run.result.warnings.length, 1, JSON.stringify(run.result.warnings));
    assert.equal(warning.severity, 'information');
    assert.equal(run.nativeCount('i.total_spent >= 1000000'), 0);
    const rows = run.nativeCount('1 = 1');
    assert.equal(
      warning.message,
      `'Diamond' is empty: none of the ${rows} rows of base reaches WHEN i.total_spent >= 1000000 THEN 'Diamond' (total_spent ≥ 1000000). Check its threshold against the data.`,
    );
    assert.deepEqual(
      { line: warning.location?.line, column: warning.location?.column },
      positionOf(run.model, "WHEN i.total_spent >= 1000000 THEN 'Diamond'"),
    );
  });

  it('the CLI: warnings in the JSON, and on stderr after a table, exit 0', async () => {
    const run = await runOn(
      shop.metrics,
      modelWith([
        "WHEN i.total_spent >= 1000 THEN 'Silver'",
        "WHEN i.total_spent >= 5000 THEN 'Gold'",
        "ELSE 'Bronze'",
      ]),
    );
    const workspace = path.dirname(path.dirname(run.file));
    const cli = (format: string) =>
      spawnSync(process.execPath, [cliPath, 'run', '--workspace', workspace, '--format', format], {
        encoding: 'utf8',
        env: { ...process.env, HOME: workspace },
      });
    write(
      workspace,
      '.vscode/settings.json',
      JSON.stringify({
        'segmentLens.model': sqliteSettings.model,
        'segmentLens.connection': sqliteSettings.connection,
      }),
    );
    const json = cli('json');
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).warnings, run.result.warnings);
    const table = cli('table');
    assert.equal(table.status, 0, table.stderr);
    const [warning] = run.result.warnings;
    assert.equal(
      table.stderr,
      `segment-lens: warning: ${run.file}:${warning.location!.line}:${warning.location!.column}: ${warning.message}\n`,
    );
  });

  it('the bundled sample model is consistent: no warning', async () => {
    const outcome = await runModel({ workspaceDir: tempWorkspace(), settings: {}, env: {} }, assets);
    assert.ok(outcome.ok);
    assert.equal(outcome.result.model.file.endsWith('customer_segments.sql'), true);
    assert.ok(sampleModel.includes('>= 10000'));
    assert.deepEqual(outcome.result.warnings, []);
  });
});
