// Renders every model of the fixture dbt projects (test/fixtures/<project>/models) and compares it, up to whitespace,
// with the SQL Python's Jinja2 rendered for it (test/fixtures/<project>/expected, see the README there).
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { loadDbtProject } from '../../src/engine/model/dbtProject';
import { renderModel, type RenderContext } from '../../src/engine/model/jinja';
import { loadMacroLibrary } from '../../src/engine/model/macroLibrary';
import { jaffleSeeds, jinja, repoRoot, tempWorkspace } from './helpers';

const fixtures = path.join(repoRoot, 'test', 'fixtures');

/** Models that run_query() reads, created from their expected SQL (all in `main`). */
const queried: Record<string, string[]> = { jaffle_shop: [], dispatch_project: ['stg_payments'] };

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
  if (project === 'jaffle_shop') {
    for (const seed of ['raw_customers.csv', 'raw_orders.csv', 'raw_payments.csv'])
      cpSync(path.join(jaffleSeeds(), seed), path.join(dir, 'seeds', seed));
  }
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
  for (const project of ['jaffle_shop', 'dispatch_project']) {
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
          columnsOf: (_schema: string, identifier: string) => db.prepare(columnsSql).all(identifier) as Column[],
        };
        const copy = path.join(dir, path.relative(path.join(fixtures, project), file));
        const { sql } = renderModel(readFileSync(copy, 'utf8'), copy, context);
        db.close();
        assert.equal(squash(sql), squash(expected(project, model)));
      });
    }
  }
});
