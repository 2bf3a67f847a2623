// Renders every model of the fixture dbt projects (test/fixtures/<project>/models) and compares it, up to whitespace,
// with the SQL Python's Jinja2 rendered for it (test/fixtures/<project>/expected, see the README there).
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { loadDbtProject } from '../../src/engine/model/dbtProject';
import { renderModel, type RenderContext } from '../../src/engine/model/jinja';
import { loadMacroLibrary } from '../../src/engine/model/macroLibrary';
import { runModel } from '../../src/engine/index';
import { assets, jaffleSeeds, jinja, repoRoot, tempWorkspace } from './helpers';

const fixtures = path.join(repoRoot, 'test', 'fixtures');

/** Models that run_query() reads, created from their expected SQL (all in `main`). */
const queried: Record<string, string[]> = {
  jaffle_shop: [],
  dispatch_project: ['stg_payments'],
  package_idioms: ['stg_orders', 'stg_payments'],
};

/** The seeds of /work/shared each fixture project needs, copied into its seeds/. */
const sharedSeeds: Record<string, string[]> = {
  jaffle_shop: ['raw_customers.csv', 'raw_orders.csv', 'raw_payments.csv'],
  dispatch_project: [],
  package_idioms: ['raw_orders.csv', 'raw_payments.csv'],
};

type Column = { name: string; type: string };
const columnsSql = 'select name, type from pragma_table_info(?)';
const squash = (sql: string) => sql.replace(/\s+/g, ' ').trim();
const expected = (project: string, model: string) =>
  readFileSync(path.join(fixtures, project, 'expected', `${model}.sql`), 'utf8');

function modelFiles(dir: string): string[] {
  return (readdirSync(path.join(dir, 'models'), { recursive: true }) as string[])
    .filter((file) => file.endsWith('.sql'))
    .map((file) => path.join(dir, 'models', file));
}

/** A copy of the fixture project (without expected/) in a temp workspace, with the shared seeds jaffle_shop needs. */
function workspace(project: string): string {
  const dir = path.join(tempWorkspace(), project);
  cpSync(path.join(fixtures, project), dir, { recursive: true, filter: (src) => path.basename(src) !== 'expected' });
  mkdirSync(path.join(dir, 'seeds'), { recursive: true });
  for (const seed of sharedSeeds[project]) cpSync(path.join(jaffleSeeds(), seed), path.join(dir, 'seeds', seed));
  return dir;
}

/** The project's seeds in an in-memory SQLite database, plus the models run_query() reads. */
function warehouse(project: string, dir: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(':memory:');
  for (const file of readdirSync(path.join(dir, 'seeds')).filter((name) => name.endsWith('.csv'))) {
    const [header, ...rows] = parse(readFileSync(path.join(dir, 'seeds', file), 'utf8')) as string[][];
    const table = path.basename(file, '.csv');
    db.exec(`create table "${table}" (${header.map((column) => `"${column}"`).join(', ')})`);
    const insert = db.prepare(`insert into "${table}" values (${header.map(() => '?').join(', ')})`);
    for (const row of rows) insert.run(row);
  }
  for (const model of queried[project]) db.exec(`create view "${model}" as ${expected(project, model)}`);
  return db;
}

// run_query answers from native SQLite on the same seeds (an independent route to the data).
describe('fixture dbt projects render as Python Jinja2 renders them', () => {
  for (const project of ['jaffle_shop', 'dispatch_project', 'package_idioms']) {
    for (const file of modelFiles(path.join(fixtures, project))) {
      const model = path.basename(file, '.sql');
      it(`${project}: ${path.relative(path.join(fixtures, project), file)}`, async () => {
        const dir = workspace(project);
        const db = warehouse(project, dir);
        const project_ = await loadDbtProject(dir);
        const { library, text } = await loadMacroLibrary(project_);
        const context: RenderContext = {
          jinja,
          library,
          macroText: text,
          project: project_,
          target: { name: 'dev', schema: 'main', type: 'sqlite', database: 'main', threads: 1 },
          env: {},
          execute: true,
          runQuery: (sql: string) => {
            const statement = db.prepare(sql).raw();
            return { columns: statement.columns().map((column) => column.name), rows: statement.all() as unknown[][] };
          },
          // As the engine reads them: a column without a declared type is text (run/session.ts).
          columnsOf: (_schema: string, identifier: string) =>
            (db.prepare(columnsSql).all(identifier) as Column[]).map(({ name, type }) => ({
              name,
              type: (type || 'text').toLowerCase(),
            })),
        };
        const copy = path.join(dir, path.relative(path.join(fixtures, project), file));
        const { sql } = renderModel(readFileSync(copy, 'utf8'), copy, context);
        db.close();
        assert.equal(squash(sql), squash(expected(project, model)));
      });
    }
  }
});

/** Rows as comparable text, in any order; numbers to 6 places. */
function rowSet(rows: unknown[][]): string[] {
  return rows
    .map((row) => JSON.stringify(row.map((value) => (typeof value === 'number' ? Number(value.toFixed(6)) : value))))
    .sort();
}

// The same models run by the engine on the CSV seeds (each upstream model rendered on the data and built), against
// native SQLite running the committed expected SQL of each layer on the same CSVs, loaded with numeric affinity as
// the engine types CSV columns.
describe('fixture package_idioms runs as native SQLite runs its expected SQL', function () {
  this.timeout(60_000);
  const layers = ['stg_orders', 'stg_payments', 'int_order_events', 'order_payments'];
  const files: Record<string, string> = {
    stg_orders: 'models/staging/stg_orders.sql',
    stg_payments: 'models/staging/stg_payments.sql',
    int_order_events: 'models/intermediate/int_order_events.sql',
    order_payments: 'models/marts/order_payments.sql',
  };
  let dir: string;
  let native: BetterSqlite3.Database;
  before(() => {
    dir = workspace('package_idioms');
    native = new BetterSqlite3(':memory:');
    for (const file of readdirSync(path.join(dir, 'seeds')).filter((name) => name.endsWith('.csv'))) {
      const [header, ...rows] = parse(readFileSync(path.join(dir, 'seeds', file), 'utf8')) as string[][];
      const table = path.basename(file, '.csv');
      native.exec(`create table "${table}" (${header.map((column) => `"${column}" numeric`).join(', ')})`);
      const insert = native.prepare(`insert into "${table}" values (${header.map(() => '?').join(', ')})`);
      for (const row of rows) insert.run(row);
    }
    for (const model of layers) native.exec(`create view "${model}" as ${expected('package_idioms', model)}`);
  });
  after(() => native?.close());

  for (const model of layers) {
    it(`${files[model]}`, async () => {
      const outcome = await runModel(
        {
          workspaceDir: dir,
          settings: { model: files[model], connection: { type: 'csv', directory: 'seeds' } },
          env: {},
          homeDir: dir,
        },
        assets,
      );
      if (!outcome.ok) assert.fail(`expected a result, got ${JSON.stringify(outcome.error)}`);
      const want = native.prepare(`select * from "${model}"`).raw();
      assert.deepEqual(
        outcome.result.columns,
        want.columns().map((column) => column.name),
      );
      const rows = want.all() as unknown[][];
      assert.ok(rows.length > 0);
      assert.deepEqual(rowSet(outcome.result.rows), rowSet(rows));
    });
  }
});
