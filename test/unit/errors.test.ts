import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { runModel } from '../../src/engine/index';
import type { LensErrorValue } from '../../src/engine/errors';
import type { RawSettings } from '../../src/engine/settings';
import {
  assets,
  corruptTablePages,
  customerColumns,
  hashTree,
  makeShop,
  seedModel,
  tempWorkspace,
  write,
  writeShopSqlite,
  writeSqlite,
} from './helpers';

const shop = makeShop(200, 3);

/** A workspace with one SQLite file holding both tables and the seed model using them. */
function warehouse(model = seedModel('int_customer_metrics', 'stg_customers')): string {
  const dir = tempWorkspace();
  writeShopSqlite(path.join(dir, 'warehouse.db'), shop);
  write(dir, 'models/segments.sql', model);
  return dir;
}

/** Runs and expects an error; also proves the user's files are byte-identical afterwards. */
async function failure(dir: string, settings: RawSettings): Promise<LensErrorValue> {
  const before = hashTree(dir);
  const outcome = await runModel({ workspaceDir: dir, settings, env: {}, homeDir: dir }, assets);
  assert.deepEqual(hashTree(dir), before, "the user's files are unchanged");
  if (outcome.ok) return assert.fail('expected an error');
  assert.ok(outcome.error.hint, `says what to do: ${outcome.error.message}`);
  return outcome.error;
}

const sqliteSettings = (file = 'warehouse.db'): RawSettings => ({
  model: 'models/segments.sql',
  connection: { type: 'sqlite', path: file },
});

/** 1-based line and column of `needle` in `text`. */
function where(text: string, needle: string) {
  const before = text.slice(0, text.indexOf(needle)).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

describe('errors: data', () => {
  it('a SQLite file that does not exist', async () => {
    const error = await failure(warehouse(), sqliteSettings('nope.db'));
    assert.equal(error.code, 'file-not-found');
    assert.match(error.message, /nope\.db does not exist/);
  });

  it('a folder where the SQLite file should be', async () => {
    const dir = warehouse();
    write(dir, 'folder.db/x', '');
    assert.equal((await failure(dir, sqliteSettings('folder.db'))).code, 'not-a-file');
  });

  it('a CSV renamed .db, and random bytes', async () => {
    const dir = warehouse();
    write(dir, 'renamed.db', 'customer_id,region\n1,North\n'.repeat(20));
    const renamed = await failure(dir, sqliteSettings('renamed.db'));
    assert.equal(renamed.code, 'not-sqlite');
    assert.match(renamed.message, /renamed\.db is not a SQLite database/);
    write(dir, 'random.db', Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 7919) % 256)));
    assert.equal((await failure(dir, sqliteSettings('random.db'))).code, 'not-sqlite');
  });

  it('an empty (0-byte) SQLite file: the tables the model needs are missing, and the error says there are none', async () => {
    const dir = warehouse();
    write(dir, 'empty.db', '');
    const error = await failure(dir, sqliteSettings('empty.db'));
    assert.equal(error.code, 'missing-table');
    assert.match(error.hint ?? '', /no tables at all/);
  });

  it('a corrupt SQLite file (valid header, garbage pages)', async () => {
    const dir = warehouse();
    const bytes = readFileSync(path.join(dir, 'warehouse.db'));
    for (let offset = 100; offset < bytes.length; offset += 1) bytes[offset] = (offset * 31) % 251;
    write(dir, 'corrupt.db', bytes);
    const error = await failure(dir, sqliteSettings('corrupt.db'));
    assert.equal(error.code, 'corrupt-database');
    assert.match(error.message, /corrupt\.db|SQLite/);
  });

  // Page 1 (the header and the schema) intact: the file opens and lists its tables; reading a table fails.
  it('corrupt table pages found by the layout step: an error naming the table and the file', async () => {
    const dir = warehouse();
    corruptTablePages(path.join(dir, 'warehouse.db'), path.join(dir, 'corrupt.db'));
    const error = await failure(dir, sqliteSettings('corrupt.db'));
    assert.equal(error.code, 'corrupt-database');
    assert.match(
      error.message,
      /^Table main\.(int_customer_metrics|stg_customers) \(.*corrupt\.db\) cannot be read: database disk image is malformed\.$/,
    );
  });

  it('corrupt table pages found by the data checks (a query that reads no row): an error naming the table', async () => {
    // No join (no layout); WHERE 0 reads no page; comparing total_spent with numbers makes the checks read it.
    const model =
      "SELECT CASE WHEN total_spent >= 1000 THEN 'Silver' ELSE 'Bronze' END AS segment, count(*) AS n FROM int_customer_metrics WHERE 0 GROUP BY 1";
    const dir = warehouse(model);
    corruptTablePages(path.join(dir, 'warehouse.db'), path.join(dir, 'corrupt.db'));
    const error = await failure(dir, sqliteSettings('corrupt.db'));
    assert.equal(error.code, 'corrupt-database');
    assert.match(error.message, /^Table main\.int_customer_metrics \(.*corrupt\.db\) cannot be read: .*malformed/);
  });

  it('a truncated SQLite file', async () => {
    const dir = warehouse();
    const bytes = readFileSync(path.join(dir, 'warehouse.db'));
    write(dir, 'truncated.db', bytes.subarray(0, Math.floor(bytes.length / 2)));
    const error = await failure(dir, sqliteSettings('truncated.db'));
    assert.equal(error.code, 'corrupt-database');
  });

  it('data larger than sql.js can hold is refused before reading, with a clear word', async () => {
    const dir = warehouse();
    // Sparse files, outside the hashed workspace: their size is what counts, and nothing is read.
    const elsewhere = tempWorkspace();
    truncateSync(write(elsewhere, 'huge.db', ''), 3 * 1024 ** 3);
    const sqlite = await failure(dir, sqliteSettings(path.join(elsewhere, 'huge.db')));
    assert.equal(sqlite.code, 'too-large');
    assert.match(
      sqlite.message,
      /The data is 3\.0 GiB \(huge\.db\), more than Segment Lens can hold in memory \(2\.0 GiB\)/,
    );
    truncateSync(write(elsewhere, 'big/seeds.csv', ''), 2 * 1024 ** 3);
    const csv = await failure(dir, {
      model: 'models/segments.sql',
      connection: { type: 'csv', directory: path.join(elsewhere, 'big') },
    });
    assert.equal(csv.code, 'too-large');
  });

  it('a database another process is writing: a write under way is refused, a WAL file is named', async () => {
    const dir = tempWorkspace();
    write(dir, 'models/segments.sql', seedModel('int_customer_metrics', 'stg_customers'));
    // A transaction still open in another connection: the rollback journal exists.
    const busyFile = writeSqlite(path.join(dir, 'busy.db'), {
      stg_customers: { columns: customerColumns, rows: shop.customers },
    });
    const writer = new BetterSqlite3(busyFile);
    try {
      writer.exec('BEGIN IMMEDIATE');
      writer.exec("UPDATE stg_customers SET region = 'Moved'");
      const busy = await failure(dir, sqliteSettings('busy.db'));
      assert.equal(busy.code, 'busy');
      assert.match(busy.message, /busy\.db is being written by another process \(busy\.db-journal exists\)/);
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
    // WAL mode, the connection still open: the tables are only in the -wal file yet.
    const walFile = path.join(dir, 'wal.db');
    const walWriter = new BetterSqlite3(walFile);
    try {
      walWriter.pragma('journal_mode = WAL');
      walWriter.exec(
        'CREATE TABLE int_customer_metrics (customer_id INTEGER, total_spent REAL, total_orders INTEGER, avg_order_value REAL)',
      );
      walWriter.exec('CREATE TABLE stg_customers (customer_id INTEGER, first_name TEXT, last_name TEXT, region TEXT)');
      const error = await runModel(
        { workspaceDir: dir, settings: sqliteSettings('wal.db'), env: {}, homeDir: dir },
        assets,
      );
      assert.ok(!error.ok);
      assert.equal(error.error.code, 'missing-table');
      assert.match(error.error.hint ?? '', /wal\.db has writes in wal\.db-wal that are not yet in the file itself/);
    } finally {
      walWriter.close();
    }
  });

  it('in an untrusted workspace, no path outside the workspace is read', async () => {
    const dir = warehouse();
    const outside = tempWorkspace();
    writeSqlite(path.join(outside, 'elsewhere.db'), { stg_customers: { columns: customerColumns, rows: [] } });
    const relative = path.relative(dir, path.join(outside, 'elsewhere.db'));
    const untrusted = await runModel(
      { workspaceDir: dir, settings: sqliteSettings(relative), env: {}, homeDir: dir, trusted: false },
      assets,
    );
    assert.ok(!untrusted.ok);
    assert.equal(untrusted.error.code, 'outside-workspace');
    assert.equal(untrusted.error.setting, 'segmentLens.connection.path');
    const csv = await runModel(
      {
        workspaceDir: dir,
        settings: { connection: { type: 'csv', directory: outside } },
        env: {},
        homeDir: dir,
        trusted: false,
      },
      assets,
    );
    assert.ok(!csv.ok);
    assert.equal(csv.error.setting, 'segmentLens.connection.directory');
    // Trusted (and the CLI), the same path is read.
    const trusted = await runModel(
      { workspaceDir: dir, settings: sqliteSettings(relative), env: {}, homeDir: dir },
      assets,
    );
    assert.ok(!trusted.ok);
    assert.equal(trusted.error.code, 'missing-table');
  });

  it('a missing table names it and lists the tables that exist', async () => {
    const model = seedModel('int_customer_metrics', 'staging.stg_customer');
    const error = await failure(warehouse(model), sqliteSettings());
    assert.equal(error.code, 'missing-table');
    assert.match(error.message, /staging\.stg_customer does not exist/);
    assert.match(error.hint ?? '', /main\.int_customer_metrics, main\.stg_customers/);
    assert.deepEqual(
      { line: error.location?.line, column: error.location?.column },
      where(model, 'staging.stg_customer'),
    );
  });

  it('a missing column names it, points at it and lists the columns there are', async () => {
    const model = seedModel('int_customer_metrics', 'stg_customers').replace('i.total_orders,', 'i.total_orderz,');
    const error = await failure(warehouse(model), sqliteSettings());
    assert.equal(error.code, 'missing-column');
    assert.match(error.message, /i\.total_orderz/);
    assert.match(error.hint ?? '', /total_orders/);
    assert.deepEqual({ line: error.location?.line, column: error.location?.column }, where(model, 'i.total_orderz'));
  });
});

describe('errors: a missing column names what is in scope there', () => {
  /** The columns of `base`, as native SQLite (better-sqlite3) makes them from the model's own WITH clause. */
  function baseColumns(dir: string, model: string): string[] {
    const withClause = model.slice(0, model.indexOf(')\nSELECT') + 1);
    const db = new BetterSqlite3(path.join(dir, 'warehouse.db'), { readonly: true });
    try {
      return db
        .prepare(`${withClause} SELECT * FROM base`)
        .columns()
        .map((column) => column.name);
    } finally {
      db.close();
    }
  }

  it("a typo in the final SELECT lists the CTE's columns, not the source tables'; the file is named once", async () => {
    const model = seedModel('int_customer_metrics', 'stg_customers').replace(
      '    customer_segment,\n    COUNT',
      '    customer_segmnt,\n    COUNT',
    );
    const dir = warehouse(model);
    const error = await failure(dir, sqliteSettings());
    assert.equal(error.code, 'missing-column');
    assert.equal(error.message, 'Column customer_segmnt does not exist in base.');
    assert.equal(error.hint, `Columns of base: ${baseColumns(dir, model).join(', ')}.`);
    assert.ok(!error.hint?.includes('first_order_date'), "not the source tables' columns");
    assert.deepEqual({ line: error.location?.line, column: error.location?.column }, where(model, 'customer_segmnt'));
  });

  it('inside a CTE that joins two tables, each table is listed under its alias', async () => {
    const model = seedModel('int_customer_metrics', 'stg_customers').replace('c.region,', 'regoin,');
    const error = await failure(warehouse(model), sqliteSettings());
    assert.equal(error.code, 'missing-column');
    assert.equal(error.message, 'Column regoin does not exist in i (int_customer_metrics) or c (stg_customers).');
    assert.match(
      error.hint ?? '',
      /^Columns there: i \(int_customer_metrics\): customer_id, .*; c \(stg_customers\): customer_id, .*region/,
    );
  });
});

describe('errors: model', () => {
  it("a SQL syntax error points at the line and column in the user's file, past Jinja that changed lengths", async () => {
    const model =
      "{{ config(materialized='table') }}\n{# the seed model #}\n" +
      seedModel("{{ ref('int_customer_metrics') }}", "{{ ref('stg_customers') }}").replace(
        'GROUP BY region, customer_segment',
        'GROUP BY region customer_segment',
      );
    const error = await failure(warehouse(model), sqliteSettings());
    assert.equal(error.code, 'sql-syntax');
    assert.match(error.message, /near "customer_segment"/);
    assert.deepEqual(
      { line: error.location?.line, column: error.location?.column },
      where(model, 'customer_segment\nORDER'),
    );
  });

  it('a string never closed (the rest of the file) is one line pointing at the quote', async () => {
    const model = `SELECT region, 'Platinum AS tier\nFROM stg_customers\n${'-- a long comment line\n'.repeat(40)}`;
    const error = await failure(warehouse(model), sqliteSettings());
    assert.equal(error.code, 'sql-syntax');
    // The parser (the first guard) reads it before SQLite ever does.
    assert.equal(error.message, `SQL syntax error near "'" in ${error.location?.file}.`);
    assert.ok(!`${error.message} ${error.hint}`.includes('\n'), 'one line');
    assert.ok(error.message.length < 300);
    assert.deepEqual({ line: error.location?.line, column: error.location?.column }, where(model, "'Platinum"));
    assert.equal(error.location?.endLine, 1, 'marked on its first line');
  });

  it('a long multi-line quoted name is one short line pointing at its quote', async () => {
    const model = `SELECT region AS "r" "x\n${'y'.repeat(500)}\n"\nFROM stg_customers`;
    const error = await failure(warehouse(model), sqliteSettings());
    assert.equal(error.code, 'sql-syntax');
    assert.equal(error.message, `SQL syntax error near "\\"" in ${error.location?.file}.`);
    assert.ok(!`${error.message} ${error.hint}`.includes('\n') && error.message.length < 300, 'one short line');
    assert.deepEqual({ line: error.location?.line, column: error.location?.column }, where(model, '"x'));
  });

  it('SQL that ends too early', async () => {
    const error = await failure(warehouse('SELECT region FROM (SELECT region FROM stg_customers'), sqliteSettings());
    assert.equal(error.code, 'sql-syntax');
    assert.equal(error.location?.line, 1);
  });

  it('a Jinja error names the line in the file', async () => {
    const model = 'SELECT region\nFROM stg_customers\nWHERE {% if %}\n';
    const error = await failure(warehouse(model), sqliteSettings());
    assert.equal(error.code, 'jinja');
    assert.equal(error.location?.line, 3);
    assert.match(error.location?.file ?? '', /segments\.sql$/);
    // The model renders before any data loads: its error wins over a data file that is not there.
    assert.equal((await failure(warehouse(model), sqliteSettings('absent.db'))).code, 'jinja');
  });

  it('an empty model and a model with two statements', async () => {
    assert.match((await failure(warehouse('  \n-- nothing here\n'), sqliteSettings())).message, /has no SQL to run/);
    const two = await failure(warehouse('SELECT 1;\nSELECT 2;'), sqliteSettings());
    assert.match(two.message, /more than one SQL statement/);
    assert.equal(two.location?.line, 2);
  });

  it('a model file that does not exist names the setting', async () => {
    const error = await failure(warehouse(), { model: 'models/absent.sql' });
    assert.equal(error.setting, 'segmentLens.model');
    assert.match(error.message, /absent\.sql/);
  });
});

describe('errors: statements that are not one read-only query', () => {
  for (const statement of [
    'DROP TABLE stg_customers',
    "ATTACH 'other.db' AS other",
    'PRAGMA writable_schema = ON',
    'INSERT INTO stg_customers (customer_id) VALUES (1)',
    'DELETE FROM stg_customers',
    'CREATE TABLE x (a)',
  ]) {
    it(`refuses ${statement.split(' ').slice(0, 2).join(' ')} before running it`, async () => {
      const error = await failure(warehouse(`-- not a model\n${statement}`), sqliteSettings());
      assert.equal(error.code, 'sql');
      assert.match(error.message, /statement; Segment Lens runs one read-only SELECT/);
      assert.equal(error.location?.line, 2);
    });
  }
});

describe('errors: settings and profiles', () => {
  it('a connection of the wrong shape names the setting', async () => {
    const error = await failure(warehouse(), { connection: { type: 'sqlite', path: 5 } });
    assert.equal(error.setting, 'segmentLens.connection.path');
  });

  it('profiles.yml that is not YAML, a missing profile and a missing target', async () => {
    const dir = warehouse();
    write(dir, 'dbt_project.yml', 'name: shop\nprofile: shop\n');
    write(dir, 'profiles.yml', 'shop:\n  target: dev\n  outputs:\n    dev: [unclosed\n');
    const yaml = await failure(dir, { model: 'models/segments.sql', connection: { type: 'dbt' } });
    assert.equal(yaml.code, 'yaml');
    assert.match(yaml.message, /profiles\.yml/);
    assert.ok(yaml.location?.line);
    writeFileSync(
      path.join(dir, 'profiles.yml'),
      'shop:\n  target: dev\n  outputs:\n    dev:\n      type: sqlite\n      schemas_and_paths:\n        main: warehouse.db\n',
    );
    const profile = await failure(dir, { model: 'models/segments.sql', connection: { type: 'dbt', profile: 'other' } });
    assert.match(profile.message, /Profile "other" is not in .*profiles\.yml \(it has shop\)/);
    const target = await failure(dir, { model: 'models/segments.sql', connection: { type: 'dbt', target: 'prod' } });
    assert.match(target.message, /no target "prod" \(it has dev\)/);
  });
});
