// Pull mode against a real PostgreSQL server: a throwaway cluster (scripts/postgres-server.mjs) started for this
// suite, loaded with the shop, and compared with the same shop loaded from CSV seeds and computed in plain JavaScript.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  connectionServer,
  DataCache,
  ModelSession,
  runModel,
  type ModelResult,
  type OpenOptions,
  type RunResult,
} from '../../src/engine/index';
import type { RawSettings } from '../../src/engine/settings';
import { resolveSettings } from '../../src/engine/settings';
import type { RunProgress } from '../../src/shared/progress';
import { rowObjects, type SqlValue } from '../../src/shared/rows';
import {
  assets,
  expectedSegments,
  jaffleSeeds,
  makeShop,
  repoRoot,
  sampleModel,
  tempWorkspace,
  write,
  writeShopSeeds,
  type Customer,
  type Metric,
} from './helpers';
import { startTestServer, type ServerModule, type TestServer } from '../postgresServer';

const READER = 'lens_reader';
const READER_PASSWORD = 'reader-s3cret-pw';
const DATABASE = 'warehouse';

const literal = (value: string | number | null) =>
  value === null ? 'NULL' : typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "''")}'`;

function shopSql(customers: Customer[], metrics: Metric[]): string {
  const customerRows = customers.map(
    (row) =>
      `(${[row.customer_id, row.first_name, row.last_name, row.region, `user${row.customer_id}@example.com`].map(literal).join(', ')})`,
  );
  const metricRows = metrics.map(
    (row) => `(${[row.customer_id, row.total_spent, row.total_orders, row.avg_order_value].map(literal).join(', ')})`,
  );
  return `
    CREATE SCHEMA staging;
    CREATE SCHEMA intermediate;
    CREATE TABLE staging.stg_customers (customer_id integer PRIMARY KEY, first_name text, last_name text, region text, email text);
    CREATE TABLE intermediate.int_customer_metrics (customer_id integer, total_spent numeric(12, 2), total_orders integer, avg_order_value numeric(12, 2));
    INSERT INTO staging.stg_customers VALUES ${customerRows.join(',\n')};
    INSERT INTO intermediate.int_customer_metrics VALUES ${metricRows.join(',\n')};
    -- Reading it takes 3 s (an InitPlan that sleeps once): longer than a 1 s statement_timeout.
    CREATE VIEW staging.slow_customers AS
      SELECT * FROM staging.stg_customers WHERE (SELECT pg_sleep(3)::text) IS NOT NULL;
    CREATE TABLE staging.payroll (customer_id integer, salary numeric);
    -- Analyzed at 10 rows, then grown to 1,010: its estimate is stale.
    CREATE TABLE staging.grown AS SELECT g AS customer_id FROM generate_series(1, 10) g;
    ANALYZE;
    INSERT INTO staging.grown SELECT g FROM generate_series(11, 1010) g;
    CREATE ROLE ${READER} LOGIN PASSWORD '${READER_PASSWORD}';
    GRANT USAGE ON SCHEMA staging, intermediate TO ${READER};
    GRANT SELECT ON staging.stg_customers, staging.slow_customers, staging.grown, intermediate.int_customer_metrics TO ${READER};
  `;
}

/** The catalog and every table's content, as one text: equal before and after, nothing was written. */
function snapshot(server: ServerModule, running: TestServer): string {
  return server.psql(
    running,
    DATABASE,
    `\\pset format unaligned
     \\pset tuples_only on
     SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' || c.relfilenode::text, ',' ORDER BY n.nspname, c.relname)
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema';
     SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM staging.stg_customers t;
     SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM intermediate.int_customer_metrics t;
     SELECT count(*) FROM staging.payroll;`,
  );
}

describe('postgres: pull and pushdown modes on a real PostgreSQL server', function () {
  // Installing PostgreSQL (when missing) and initdb take a while on a busy machine.
  this.timeout(600_000);
  let server: ServerModule;
  let running: TestServer | undefined;
  let before_: string;
  const shop = makeShop();

  before(async function () {
    ({ server, running } = await startTestServer(this, repoRoot));
    server.psql(running, 'postgres', `CREATE DATABASE ${DATABASE};`);
    server.psql(running, DATABASE, shopSql(shop.customers, shop.metrics));
    before_ = snapshot(server, running);
  });

  after(() => {
    if (!running) return;
    try {
      // The server is never written to: the catalog and the tables are as loaded, after every test.
      assert.equal(snapshot(server, running), before_);
    } finally {
      running.stop();
    }
  });

  /** The server's log (pg_ctl -l), beside its data folder. */
  const serverLog = () => path.join(path.dirname(running!.dataDir), 'server.log');

  const connection = (extra: Record<string, unknown> = {}) => ({
    type: 'postgres',
    host: running!.host,
    port: running!.port,
    database: DATABASE,
    user: READER,
    passwordEnv: 'SHOP_PG_PASSWORD',
    ...extra,
  });

  function run(
    settings: RawSettings,
    env: Record<string, string> = { SHOP_PG_PASSWORD: READER_PASSWORD },
    workspaceDir = tempWorkspace(),
  ): Promise<RunResult> {
    return runModel({ workspaceDir, settings, env, homeDir: workspaceDir }, assets);
  }

  async function ok(settings: RawSettings, env?: Record<string, string>, dir?: string): Promise<ModelResult> {
    const outcome = await run(settings, env, dir);
    if (!outcome.ok) assert.fail(`expected a result, got: ${JSON.stringify(outcome.error)}`);
    return outcome.result;
  }

  async function fails(settings: RawSettings, env?: Record<string, string>, dir?: string) {
    const outcome = await run(settings, env, dir);
    if (outcome.ok) assert.fail('expected an error, got a result');
    assert.ok(!JSON.stringify(outcome.error).includes(READER_PASSWORD), 'the password is never in a message');
    return outcome.error;
  }

  /** No ~/.pgpass (PGPASSFILE names no file) and no PGPASSWORD until the returned function restores them. */
  function withoutPgpass(dir: string): () => void {
    const saved = { PGPASSFILE: process.env.PGPASSFILE, PGPASSWORD: process.env.PGPASSWORD };
    process.env.PGPASSFILE = path.join(dir, 'no-pgpass');
    delete process.env.PGPASSWORD;
    return () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    };
  }

  function modelWorkspace(sql: string): { dir: string; model: string } {
    const dir = tempWorkspace();
    write(dir, 'models/segments.sql', sql);
    return { dir, model: 'models/segments.sql' };
  }

  it('pulls the columns the model reads and gives the grid sql.js gives on the same data from CSV', async () => {
    const { dir, model } = modelWorkspace(sampleModel);
    const pulled = await ok({ model, connection: connection() }, undefined, dir);
    writeShopSeeds(path.join(dir, 'seeds'), shop, { schemaFolders: true });
    const fromCsv = await ok({ model, connection: { type: 'csv', directory: 'seeds' } }, undefined, dir);
    assert.deepEqual(pulled.columns, fromCsv.columns);
    assert.deepEqual(pulled.rows, fromCsv.rows);
    // And both are the model computed in plain JavaScript.
    const rows = rowObjects(pulled.columns, pulled.rows);
    const expected = expectedSegments(shop);
    assert.equal(rows.length, expected.length);
    rows.forEach((row, index) => {
      assert.equal(row.region, expected[index].region);
      assert.equal(row.customer_segment, expected[index].customer_segment);
      assert.equal(row.customer_count, expected[index].customer_count);
      assert.ok(Math.abs((row.avg_ltv as number) - expected[index].avg_ltv) <= 0.01);
    });
    // Four columns of each table (email is never read), every row of both.
    const rowCount = shop.customers.length + shop.metrics.length;
    assert.equal(
      pulled.source.description.replace(/ in [\d.]+ s$/, ''),
      `pulled ${rowCount.toLocaleString('en')} rows × 8 columns from postgres://127.0.0.1:${running!.port}/${DATABASE}`,
    );
    assert.equal(pulled.source.type, 'postgres');
    // The session made itself read-only and bounded before it read anything (the server's statement log).
    const log = readFileSync(serverLog(), 'utf8');
    assert.match(log, /statement: SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY/);
    assert.match(log, /set_config\('statement_timeout', \$1, false\)/);
    assert.match(
      log,
      /DECLARE segment_lens_pull NO SCROLL CURSOR FOR SELECT "customer_id", "first_name", "last_name", "region" FROM "staging"\."stg_customers"/,
    );
  });

  it('pulls what subqueries read too: EXISTS, a scalar subquery, IN', async () => {
    const sql = `SELECT c.region, COUNT(*) AS customers,
        (SELECT MAX(m2.total_orders) FROM intermediate.int_customer_metrics m2) AS most_orders
      FROM staging.stg_customers c
      WHERE EXISTS (SELECT 1 FROM intermediate.int_customer_metrics m WHERE m.customer_id = c.customer_id AND m.total_spent > 100)
        AND c.customer_id IN (SELECT customer_id FROM intermediate.int_customer_metrics WHERE avg_order_value IS NOT NULL)
      GROUP BY c.region ORDER BY c.region`;
    const { dir, model } = modelWorkspace(sql);
    const pulled = await ok({ model, connection: connection() }, undefined, dir);
    writeShopSeeds(path.join(dir, 'seeds'), shop, { schemaFolders: true });
    const fromCsv = await ok({ model, connection: { type: 'csv', directory: 'seeds' } }, undefined, dir);
    assert.deepEqual(pulled.rows, fromCsv.rows);
    assert.ok(pulled.rows.length > 1);
  });

  it('keeps the pulled copy for a threshold edit, and pulls again for a model that reads another column', async () => {
    const { dir, model } = modelWorkspace(sampleModel);
    const cache = new DataCache();
    const request = {
      workspaceDir: dir,
      settings: { model, connection: connection() },
      env: { SHOP_PG_PASSWORD: READER_PASSWORD },
      homeDir: dir,
    };
    const run = async (sql: string) => {
      write(dir, model, sql);
      const session = await ModelSession.open(request, assets, cache);
      try {
        return await session.run();
      } finally {
        session.close();
      }
    };
    try {
      assert.equal((await run(sampleModel)).timings.dataReused, false);
      const edited = await run(sampleModel.replace('>= 10000', '>= 12000'));
      assert.equal(edited.timings.dataReused, true);
      assert.deepEqual(
        rowObjects(edited.columns, edited.rows).length,
        expectedSegments(shop, { Platinum: 12000, Gold: 5000, Silver: 1000 }).length,
      );
      const more = await run(sampleModel.replace('c.first_name,', 'c.first_name, c.email,'));
      assert.equal(more.timings.dataReused, false);
      assert.match(more.source.description, /× 9 columns/);
      // Another user on the same server: another copy, even for the same model.
      request.settings.connection = connection({ user: 'lens_admin', passwordEnv: 'ADMIN_PG_PASSWORD' });
      Object.assign(request.env, { ADMIN_PG_PASSWORD: running!.adminPassword });
      const otherUser = await run(sampleModel.replace('c.first_name,', 'c.first_name, c.email,'));
      assert.equal(otherUser.timings.dataReused, false);
    } finally {
      cache.clear();
    }
  });

  it('expands SELECT * with the columns the server has', async () => {
    const { dir, model } = modelWorkspace('SELECT * FROM staging.stg_customers ORDER BY customer_id');
    const pulled = await ok({ model, connection: connection() }, undefined, dir);
    assert.deepEqual(pulled.columns, ['customer_id', 'first_name', 'last_name', 'region', 'email']);
    assert.equal(pulled.rows.length, shop.customers.length);
    assert.deepEqual(pulled.rows[0], [
      1,
      shop.customers[0].first_name,
      shop.customers[0].last_name,
      shop.customers[0].region,
      'user1@example.com',
    ]);
    assert.match(pulled.source.description, /× 5 columns/);
  });

  it('reads a dbt-postgres profile, its password from env_var()', async () => {
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: shop\nprofile: shop\nmodel-paths: [models]\n');
    write(
      dir,
      'profiles.yml',
      [
        'shop:',
        '  target: dev',
        '  outputs:',
        '    dev:',
        '      type: postgres',
        `      host: ${running!.host}`,
        `      port: ${running!.port}`,
        `      user: ${READER}`,
        '      password: "{{ env_var(\'SHOP_PG_PASSWORD\') }}"',
        `      dbname: ${DATABASE}`,
        '      schema: analytics',
        '      threads: 4',
        '      sslmode: disable',
        '',
      ].join('\n'),
    );
    write(dir, 'models/segments.sql', sampleModel);
    const result = await ok({ model: 'models/segments.sql', connection: { type: 'dbt' } }, undefined, dir);
    assert.equal(result.rows.length, expectedSegments(shop).length);
    assert.equal(result.source.type, 'dbt');
    assert.match(result.source.description, /^pulled .* from postgres:\/\/127\.0\.0\.1:\d+\/warehouse in /);
    // Not trusted: the profile is the workspace's file, and no connection is made to the server it names.
    const outcome = await runModel(
      {
        workspaceDir: dir,
        settings: { model: 'models/segments.sql', connection: { type: 'dbt' } },
        homeDir: dir,
        trusted: false,
      },
      assets,
    );
    assert.ok(!outcome.ok);
    assert.match(outcome.error.message, /names a PostgreSQL server, and the workspace is not trusted/);
  });

  it('reads the password from ~/.pgpass (PGPASSFILE) when the connection names no variable', async () => {
    const { dir, model } = modelWorkspace(sampleModel);
    const passfile = write(dir, 'pgpass', `127.0.0.1:${running!.port}:${DATABASE}:${READER}:${READER_PASSWORD}\n`);
    chmodSync(passfile, 0o600);
    const saved = { PGPASSFILE: process.env.PGPASSFILE, PGPASSWORD: process.env.PGPASSWORD };
    process.env.PGPASSFILE = passfile;
    delete process.env.PGPASSWORD;
    try {
      const result = await ok({ model, connection: connection({ passwordEnv: undefined }) }, {}, dir);
      assert.equal(result.rows.length, expectedSegments(shop).length);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('uses the password stored with Set PostgreSQL Password when the connection gives none: after passwordEnv, before ~/.pgpass', async () => {
    const { dir, model } = modelWorkspace(sampleModel);
    const key = `${READER}@127.0.0.1:${running!.port}/${DATABASE}`;
    const restore = withoutPgpass(dir);
    const stored = (passwords: Record<string, string> | undefined, extra: Record<string, unknown> = {}, env = {}) =>
      runModel(
        {
          workspaceDir: dir,
          settings: { model, connection: connection({ passwordEnv: undefined, ...extra }) },
          env,
          homeDir: dir,
          ...(passwords ? { passwords } : {}),
        },
        assets,
      );
    try {
      const pulled = await stored({ [key]: READER_PASSWORD });
      if (!pulled.ok) assert.fail(JSON.stringify(pulled.error));
      assert.deepEqual(pulled.result.rows.length, expectedSegments(shop).length);
      // Another server's password is not this one's.
      const none = await stored({ [`${READER}@127.0.0.1:${running!.port}/postgres`]: READER_PASSWORD });
      assert.ok(!none.ok);
      assert.match(none.error.message, /asks for the password of user "lens_reader", and none was given/);
      assert.match(
        none.error.hint!,
        /Set PostgreSQL Password…" to store it for lens_reader@127\.0\.0\.1:\d+\/warehouse/,
      );
      // A stored password the server refuses: the hint says it was the stored one, and how to change it.
      const wrong = await stored({ [key]: 'stored-but-wrong' });
      assert.ok(!wrong.ok);
      assert.match(wrong.error.message, /refused the password of user "lens_reader"/);
      assert.match(
        wrong.error.hint!,
        /The password stored for lens_reader@127\.0\.0\.1:\d+\/warehouse was refused: run "Segment Lens: Set PostgreSQL Password…"/,
      );
      assert.ok(!JSON.stringify(wrong.error).includes('stored-but-wrong'));
      // passwordEnv comes first: a right one in the variable wins over a wrong stored one; an unset one gives way.
      const fromEnv = await stored(
        { [key]: 'stored-but-wrong' },
        { passwordEnv: 'SHOP_PG_PASSWORD' },
        {
          SHOP_PG_PASSWORD: READER_PASSWORD,
        },
      );
      assert.ok(fromEnv.ok);
      const unsetEnv = await stored({ [key]: READER_PASSWORD }, { passwordEnv: 'SHOP_PG_PASSWORD' }, {});
      assert.ok(unsetEnv.ok);
      // Not trusted: no stored password is used (and no connection is made for the workspace's files).
      const untrusted = await runModel(
        {
          workspaceDir: dir,
          settings: { model, connection: connection({ passwordEnv: undefined }) },
          homeDir: dir,
          trusted: false,
          passwords: { [key]: READER_PASSWORD },
        },
        assets,
      );
      assert.ok(!untrusted.ok);
    } finally {
      restore();
    }
  });

  it('finds the server a dbt-postgres profile without a password names, and uses the password stored for it', async () => {
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: shop\nprofile: shop\nmodel-paths: [models]\n');
    write(
      dir,
      'profiles.yml',
      `shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: ${running!.host}\n      port: ${running!.port}\n      user: ${READER}\n      dbname: ${DATABASE}\n      schema: analytics\n`,
    );
    write(dir, 'models/segments.sql', sampleModel);
    const settings = { model: 'models/segments.sql', connection: { type: 'dbt' } };
    const key = `${READER}@127.0.0.1:${running!.port}/${DATABASE}`;
    assert.deepEqual(await connectionServer({ workspaceDir: dir, settings, homeDir: dir }, assets), {
      key,
      url: `postgres://127.0.0.1:${running!.port}/${DATABASE}`,
      origin: `target "dev" of profile "shop" in ${path.join(dir, 'profiles.yml')}`,
      password: 'none',
    });
    assert.equal(
      (await connectionServer({ workspaceDir: dir, settings, homeDir: dir, passwords: { [key]: 'x' } }, assets))
        ?.password,
      'stored',
    );
    assert.equal(await connectionServer({ workspaceDir: dir, settings: {}, homeDir: dir }, assets), undefined);
    const restore = withoutPgpass(dir);
    try {
      const without = await runModel({ workspaceDir: dir, settings, env: {}, homeDir: dir }, assets);
      assert.ok(!without.ok);
      assert.match(without.error.message, /asks for the password of user "lens_reader", and none was given/);
      const outcome = await runModel(
        { workspaceDir: dir, settings, env: {}, homeDir: dir, passwords: { [key]: READER_PASSWORD } },
        assets,
      );
      if (!outcome.ok) assert.fail(JSON.stringify(outcome.error));
      assert.equal(outcome.result.rows.length, expectedSegments(shop).length);
    } finally {
      restore();
    }
  });

  /**
   * The jaffle_postgres fixture (test/fixtures) in a workspace, with its seeds and a profile for `database`, which
   * gets the seeds and, built as dbt-postgres builds them (in <target schema>_staging for the staging models), the
   * models named in `built`: each model's SQL with its ref()s as the server's relations.
   */
  function jaffleWarehouse(database: string, built: string[], stagingSchema = 'analytics_staging'): string {
    const dir = path.join(tempWorkspace(), 'jaffle_postgres');
    cpSync(path.join(repoRoot, 'test', 'fixtures', 'jaffle_postgres'), dir, { recursive: true });
    const seeds = jaffleSeeds();
    for (const seed of ['raw_customers', 'raw_orders', 'raw_payments'])
      cpSync(path.join(seeds, `${seed}.csv`), path.join(dir, 'seeds', `${seed}.csv`));
    write(
      dir,
      'profiles.yml',
      `jaffle_postgres:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: ${running!.host}\n      port: ${running!.port}\n      user: ${running!.adminUser}\n      password: "{{ env_var('JAFFLE_PG_PASSWORD') }}"\n      dbname: ${database}\n      schema: analytics\n      threads: 1\n`,
    );
    const serverSql = (model: string) =>
      readFileSync(path.join(dir, 'models', model), 'utf8')
        .replace(/\{\{ config\([^)]*\) \}\}/g, '')
        .replace(/\{\{ ref\('(\w+)'\) \}\}/g, (_, name: string) =>
          name.startsWith('stg_') ? `${stagingSchema}.${name}` : `analytics.${name}`,
        );
    const files = {
      stg_customers: 'staging/stg_customers.sql',
      stg_orders: 'staging/stg_orders.sql',
      stg_payments: 'staging/stg_payments.sql',
      customers: 'customers.sql',
    };
    server.psql(running!, 'postgres', `CREATE DATABASE ${database};`);
    server.psql(
      running!,
      database,
      `CREATE SCHEMA analytics; CREATE SCHEMA ${stagingSchema};
       CREATE TABLE analytics.raw_customers (id integer, first_name text, last_name text);
       CREATE TABLE analytics.raw_orders (id integer, user_id integer, order_date date, status text);
       CREATE TABLE analytics.raw_payments (id integer, order_id integer, payment_method text, amount integer);
       ${['raw_customers', 'raw_orders', 'raw_payments'].map((seed) => `\\copy analytics.${seed} FROM '${path.join(seeds, `${seed}.csv`)}' WITH (FORMAT csv, HEADER true)`).join('\n')}
       ${built
         .map((name) =>
           name === 'customers'
             ? `CREATE TABLE analytics.customers AS ${serverSql(files.customers)};`
             : `CREATE VIEW ${stagingSchema}.${name} AS ${serverSql(files[name as keyof typeof files])};`,
         )
         .join('\n')}
       ANALYZE;`,
    );
    return dir;
  }

  /** customer_segments computed by PostgreSQL itself on `database`, which holds every model. */
  function segmentsOnServer(dir: string, database: string): SqlValue[][] {
    const sql = readFileSync(path.join(dir, 'models', 'customer_segments.sql'), 'utf8').replace(
      "{{ ref('customers') }}",
      'analytics.customers',
    );
    return server
      .psql(running!, database, `\\pset format unaligned\n\\pset tuples_only on\n\\pset fieldsep ','\n${sql};`)
      .trim()
      .split('\n')
      .map((line) => line.split(',').map((value, index) => (index < 2 ? value : Number(value))));
  }

  it('pulls an upstream model the warehouse holds, by the columns read, and builds one it lacks from its pulled inputs', async () => {
    const env = { JAFFLE_PG_PASSWORD: running!.adminPassword };
    const settings = { model: 'models/customer_segments.sql', connection: { type: 'dbt' } };
    const full = jaffleWarehouse('jaffle_full', ['stg_customers', 'stg_orders', 'stg_payments', 'customers']);
    const expected = segmentsOnServer(full, 'jaffle_full');
    assert.ok(expected.length >= 8, `PostgreSQL's grid has ${expected.length} rows`);
    const asNumbers = (rows: SqlValue[][]) =>
      rows.map((row) => row.map((value, index) => (index < 2 ? value : Number(value))));

    // The warehouse holds customers: it is pulled like a source, the three columns the model reads, nothing else.
    const pulled = await ok(settings, env, full);
    assert.deepEqual(asNumbers(pulled.rows), expected);
    assert.match(
      pulled.source.description,
      /^pulled 100 rows × 3 columns from postgres:\/\/127\.0\.0\.1:\d+\/jaffle_full in /,
    );
    assert.deepEqual(
      pulled.upstream.relations.map((relation) => [relation.name, relation.from]),
      [['analytics.customers', 'data']],
    );
    assert.deepEqual(pulled.upstream.built, []);

    // The warehouse lacks customers and stg_payments (never built there): both are built in memory from what their
    // SQL reads on the server (stg_customers and stg_orders as dbt-postgres built them, raw_payments).
    const partial = jaffleWarehouse('jaffle_partial', ['stg_customers', 'stg_orders']);
    const built = await ok(settings, env, partial);
    assert.deepEqual(asNumbers(built.rows), expected);
    assert.match(built.source.description, /^pulled 312 rows × /);
    // dbt-postgres's default generate_schema_name: ref() names the staging models where dbt built them.
    assert.deepEqual(built.upstream.built, ['analytics_staging.stg_payments', 'analytics.customers']);
    assert.deepEqual(
      built.upstream.relations
        .filter((relation) => relation.from === 'data')
        .map((relation) => relation.name)
        .sort(),
      ['analytics_staging.stg_customers', 'analytics_staging.stg_orders'],
    );
    // A project whose generate_schema_name keeps the custom schema as is: the staging models are found in "staging".
    const verbatim = jaffleWarehouse('jaffle_verbatim', ['stg_customers', 'stg_orders', 'stg_payments'], 'staging');
    const fromStaging = await ok(settings, env, verbatim);
    assert.deepEqual(asNumbers(fromStaging.rows), expected);
    assert.deepEqual(fromStaging.upstream.built, ['analytics.customers']);
    // Pushdown runs the model where its upstream models are: a missing one is named.
    const pushed = await run({ ...settings, postgresMode: 'pushdown' }, env, partial);
    assert.ok(!pushed.ok);
    assert.match(
      pushed.error.message,
      /does not hold the upstream models analytics\.customers, analytics_staging\.stg_payments it stands on/,
    );
  });

  it('says the password was refused, naming the user and the server, never the password', async () => {
    const { dir, model } = modelWorkspace(sampleModel);
    const error = await fails({ model, connection: connection() }, { SHOP_PG_PASSWORD: 'wrong-password' }, dir);
    assert.equal(error.code, 'postgres');
    assert.match(error.message, /postgres:\/\/127\.0\.0\.1:\d+\/warehouse refused the password of user "lens_reader"/);
    assert.ok(!JSON.stringify(error).includes('wrong-password'));
  });

  it('says the server cannot be reached when nothing listens on the port', async () => {
    const { dir, model } = modelWorkspace(sampleModel);
    const error = await fails({ model, connection: connection({ port: 1 }) }, undefined, dir);
    assert.match(error.message, /Cannot reach the PostgreSQL server at postgres:\/\/127\.0\.0\.1:1\/warehouse/);
  });

  it('names a missing table and a missing column, at their place in the model', async () => {
    const table = modelWorkspace(sampleModel.replace('staging.stg_customers', 'staging.no_such_customers'));
    const tableError = await fails({ model: table.model, connection: connection() }, undefined, table.dir);
    assert.equal(tableError.code, 'missing-table');
    assert.match(tableError.message, /reads staging\.no_such_customers, which is not on postgres:/);
    assert.equal(tableError.location?.line, 18);

    const column = modelWorkspace(sampleModel.replace('c.region', 'c.territory'));
    const columnError = await fails({ model: column.model, connection: connection() }, undefined, column.dir);
    assert.equal(columnError.code, 'missing-column');
    // The pull reads the columns that are there; the model then fails in sql.js where it names the one that is not.
    assert.match(columnError.message, /Column c\.territory does not exist in c \(staging\.stg_customers\)/);
    assert.equal(columnError.location?.line, 7);
  });

  it('says a relation the user may not read is not granted', async () => {
    const { dir, model } = modelWorkspace('SELECT customer_id, salary FROM staging.payroll');
    const error = await fails({ model, connection: connection() }, undefined, dir);
    assert.match(error.message, /may not read staging\.payroll/);
  });

  it('stops a pull past segmentLens.timeoutSeconds with statement_timeout, naming the setting', async () => {
    const { dir, model } = modelWorkspace(sampleModel.replace('staging.stg_customers', 'staging.slow_customers'));
    const started = performance.now();
    const error = await fails({ model, connection: connection(), timeoutSeconds: 1 }, undefined, dir);
    assert.equal(error.code, 'timeout');
    assert.equal(error.setting, 'segmentLens.timeoutSeconds');
    assert.match(error.message, /staging\.slow_customers/);
    assert.ok(performance.now() - started < 2900, 'stopped before the 3 s sleep ends');
  });

  it('sends the server a cancel request when the run is cancelled mid-query', async () => {
    const { dir, model } = modelWorkspace(sampleModel.replace('staging.stg_customers', 'staging.slow_customers'));
    // Cancelled 300 ms after the first table is in: the second (the 3 s view) is on the wire then.
    let firstPulled: number | undefined;
    const cancelled = () => firstPulled !== undefined && performance.now() - firstPulled > 300;
    const onProgress = (progress: RunProgress) => {
      if (progress.stage === 'pull' && progress.relation === 'intermediate.int_customer_metrics')
        firstPulled ??= performance.now();
    };
    const logBefore = readFileSync(serverLog(), 'utf8');
    await assert.rejects(
      ModelSession.open(
        {
          workspaceDir: dir,
          settings: { model, connection: connection() },
          env: { SHOP_PG_PASSWORD: READER_PASSWORD },
          homeDir: dir,
        },
        assets,
        undefined,
        { cancelled, onProgress },
      ),
      /cancelled/,
    );
    assert.ok(firstPulled !== undefined, 'the first table was pulled');
    assert.ok(performance.now() - firstPulled < 2500, 'stopped before the 3 s sleep ends');
    // The server's own word: the statement was cancelled by a cancel request, not dropped with its connection.
    const logAfter = readFileSync(serverLog(), 'utf8').slice(logBefore.length);
    assert.match(logAfter, /canceling statement due to user request/);
  });

  it('stops a pull (mode "pull") past segmentLens.pull.maxRows: by the estimate first, else by the rows as they come', async () => {
    const { dir, model } = modelWorkspace(sampleModel);
    const estimated = await fails(
      { model, connection: connection(), pullMaxRows: 300, postgresMode: 'pull' },
      undefined,
      dir,
    );
    assert.equal(estimated.code, 'too-large');
    assert.equal(estimated.setting, 'segmentLens.pull.maxRows');
    const rows = shop.customers.length + shop.metrics.length;
    assert.match(estimated.message, new RegExp(`reads about ${rows} rows \\(intermediate\\.int_customer_metrics ~`));

    const grown = modelWorkspace('SELECT customer_id FROM staging.grown');
    const counted = await fails(
      { model: grown.model, connection: connection(), pullMaxRows: 500 },
      undefined,
      grown.dir,
    );
    assert.equal(counted.setting, 'segmentLens.pull.maxRows');
    assert.match(
      counted.message,
      /Pulling staging\.grown passed 1,010 rows, more than segmentLens\.pull\.maxRows \(500\)/,
    );
  });

  /** Opens a session on the server with `settings`, hands it to `use`, and closes it. */
  async function withServerSession<T>(
    dir: string,
    settings: RawSettings,
    use: (session: ModelSession) => Promise<T>,
    options: OpenOptions = {},
  ): Promise<T> {
    const session = await ModelSession.open(
      { workspaceDir: dir, settings, env: { SHOP_PG_PASSWORD: READER_PASSWORD }, homeDir: dir },
      assets,
      undefined,
      options,
    );
    try {
      return await use(session);
    } finally {
      session.close();
    }
  }

  /** Every row of a CTE's cell, page by page as the drill-down asks for them, and each page's size. */
  async function drillDown(session: ModelSession, filters: { column: string; value: SqlValue }[]) {
    const pages: number[] = [];
    const rows: string[] = [];
    let total = 0;
    for (let offset = 0; offset === 0 || offset < total; offset += 7) {
      const page = await session.cteRows('base', filters, offset, 7);
      total = page.total;
      pages.push(page.rows.length);
      for (const row of page.rows) rows.push(JSON.stringify(rowObjects(page.columns, [row])[0]));
    }
    // A CTE has no order of its own: the engines may page the same rows in another order.
    return { total, pages, rows: rows.sort() };
  }

  it('runs the model on the server past segmentLens.pull.maxRows (pushdown): the grid, CTE counts and drill-down of a pull', async () => {
    const { dir, model } = modelWorkspace(sampleModel);
    const pulledSettings = { model, connection: connection() };
    const pushedSettings = { model, connection: connection(), pullMaxRows: 300 };
    const answer = async (session: ModelSession) => {
      const result = await session.run();
      // The cell of customers without a region: NULL must match NULL on both engines.
      const [region, segment] = result.rows.find((row) => row[0] === null) ?? result.rows[0];
      const cell = [
        { column: 'region', value: region },
        { column: 'customer_segment', value: segment },
      ];
      return { result, cell: await drillDown(session, cell), all: await drillDown(session, []) };
    };
    const pulled = await withServerSession(dir, pulledSettings, answer);
    const logBefore = readFileSync(serverLog(), 'utf8');
    const pushed = await withServerSession(dir, pushedSettings, answer);
    assert.match(pulled.result.source.description, /^pulled /);
    const estimate = (shop.customers.length + shop.metrics.length).toLocaleString('en');
    assert.equal(
      pushed.result.source.description,
      `ran on postgres://127.0.0.1:${running!.port}/${DATABASE} (pushdown: ~${estimate} rows estimated)`,
    );
    assert.deepEqual(pushed.result.columns, pulled.result.columns);
    // The same rows; ORDER BY region puts NULL last on PostgreSQL and first on SQLite (each engine's own rule).
    const sorted = (rows: SqlValue[][]) => rows.map((row) => JSON.stringify(row)).sort();
    assert.deepEqual(sorted(pushed.result.rows), sorted(pulled.result.rows));
    assert.deepEqual(
      pushed.result.rows.filter((row) => row[0] !== null),
      pulled.result.rows.filter((row) => row[0] !== null),
    );
    assert.deepEqual(pushed.result.cteRowCounts, pulled.result.cteRowCounts);
    // base joins the metrics to their customers: the metrics whose customer exists, counted here.
    const customerIds = new Set(shop.customers.map((customer) => customer.customer_id));
    assert.equal(
      pushed.result.cteRowCounts.base,
      shop.metrics.filter((metric) => customerIds.has(metric.customer_id)).length,
    );
    // The cell's customers, counted in plain JavaScript, and paged alike by both.
    const cellRow = pulled.result.rows.find((row) => row[0] === null) ?? pulled.result.rows[0];
    const expectedCell = expectedSegments(shop).find(
      (row) => row.region === cellRow[0] && row.customer_segment === cellRow[1],
    )!;
    assert.equal(pushed.cell.total, expectedCell.customer_count);
    assert.deepEqual(pushed.cell, pulled.cell);
    assert.deepEqual(pushed.all, pulled.all);
    assert.ok(pushed.all.pages.length > 3, 'the drill-down paged');
    // The model ran on the server, read-only, through a cursor; nothing was pulled.
    const log = readFileSync(serverLog(), 'utf8').slice(logBefore.length);
    assert.match(log, /statement: SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY/);
    assert.match(log, /DECLARE segment_lens_select NO SCROLL CURSOR FOR -- Customers segmented/);
    assert.match(log, /SELECT count\(\*\) FROM "base" WHERE "region" IS NOT DISTINCT FROM \$1/);
    assert.doesNotMatch(log, /segment_lens_pull/);
    // The lineage is local, as always: the server's columns in empty tables.
    const lineage = await withServerSession(dir, pushedSettings, async (session) => session.lineage());
    assert.ok(lineage.nodes.some((node) => node.kind === 'source' && node.column === 'total_spent'));

    // A what-if's moved customers (the variant's CTE against the model's), on the server as in sql.js.
    const movedOf = async (session: ModelSession) => {
      const variant = session.variant(session.sql.replace('>= 10000', '>= 12000'));
      const page = await session.movedRows(variant, 'base', [], 0, 1000);
      return { total: page.total, rows: page.rows.map((row) => JSON.stringify(row)).sort() };
    };
    const movedPulled = await withServerSession(dir, pulledSettings, movedOf);
    const movedPushed = await withServerSession(dir, pushedSettings, movedOf);
    assert.ok(movedPulled.total > 0);
    assert.deepEqual(movedPushed, movedPulled);

    // A CTE named in quotes keeps its case on the server; one unquoted is folded, as PostgreSQL does.
    const cased = modelWorkspace(
      'WITH "Recent" AS (SELECT customer_id FROM staging.stg_customers), Later AS (SELECT * FROM "Recent") SELECT count(*) AS n FROM Later',
    );
    const casedCounts = await withServerSession(
      cased.dir,
      { model: cased.model, connection: connection(), postgresMode: 'pushdown' },
      async (session) => ({
        counts: (await session.run()).cteRowCounts,
        page: await session.cteRows('Later', [], 0, 3),
      }),
    );
    assert.equal(casedCounts.counts.Recent, shop.customers.length);
    assert.equal(casedCounts.counts.Later, shop.customers.length);
    assert.equal(casedCounts.page.total, shop.customers.length);

    // The mode setting forces either way, whatever the bound.
    const forced = await ok({ model, connection: connection(), postgresMode: 'pushdown' }, undefined, dir);
    assert.match(forced.source.description, /^ran on .* \(pushdown: /);
    assert.deepEqual(forced.rows, pushed.result.rows);
    const refused = await fails(
      { model, connection: connection(), pullMaxRows: 300, postgresMode: 'pull' },
      undefined,
      dir,
    );
    assert.equal(refused.setting, 'segmentLens.pull.maxRows');
    assert.throws(
      () => resolveSettings({ postgresMode: 'push' }),
      /segmentLens\.postgres\.mode must be "auto", "pull" or "pushdown"/,
    );
  });

  it('bounds a pushed-down result as its rows arrive, and stops it past segmentLens.timeoutSeconds', async () => {
    const { dir, model } = modelWorkspace('SELECT customer_id, region FROM staging.stg_customers');
    const bounded = await runModel(
      {
        workspaceDir: dir,
        settings: { model, connection: connection(), postgresMode: 'pushdown' },
        env: { SHOP_PG_PASSWORD: READER_PASSWORD },
        homeDir: dir,
        limits: { maxResultRows: 50 },
      },
      assets,
    );
    assert.ok(!bounded.ok);
    assert.equal(bounded.error.code, 'too-large');
    assert.match(bounded.error.message, /has more than 50 rows/);

    const slow = modelWorkspace(sampleModel.replace('staging.stg_customers', 'staging.slow_customers'));
    const started = performance.now();
    const error = await fails(
      { model: slow.model, connection: connection(), postgresMode: 'pushdown', timeoutSeconds: 1 },
      undefined,
      slow.dir,
    );
    assert.equal(error.code, 'timeout');
    assert.equal(error.setting, 'segmentLens.timeoutSeconds');
    assert.ok(performance.now() - started < 2900, 'stopped before the 3 s sleep ends');
  });

  it('sends the server a cancel request when a pushed-down run is cancelled mid-query', async () => {
    const { dir, model } = modelWorkspace(sampleModel.replace('staging.stg_customers', 'staging.slow_customers'));
    let queryStarted: number | undefined;
    const cancelled = () => queryStarted !== undefined && performance.now() - queryStarted > 300;
    const logBefore = readFileSync(serverLog(), 'utf8');
    await withServerSession(
      dir,
      { model, connection: connection(), postgresMode: 'pushdown' },
      async (session) => {
        queryStarted = performance.now();
        await assert.rejects(session.run(), /cancelled/);
        assert.ok(performance.now() - queryStarted < 2500, 'stopped before the 3 s sleep ends');
      },
      { cancelled },
    );
    const logAfter = readFileSync(serverLog(), 'utf8').slice(logBefore.length);
    assert.match(logAfter, /canceling statement due to user request/);
  });

  it('keeps passwords out of settings.json, and checks the connection setting', () => {
    const settings = (raw: Record<string, unknown>) => () =>
      resolveSettings({ connection: { type: 'postgres', ...raw } });
    assert.throws(settings({ host: 'h', database: 'd', password: 'hunter2' }), (error: Error) => {
      assert.match(error.message, /segmentLens\.connection\.password is not read/);
      assert.ok(!error.message.includes('hunter2'));
      return true;
    });
    assert.throws(settings({ database: 'd' }), /segmentLens\.connection\.host is missing/);
    assert.throws(() => resolveSettings({ pullMaxRows: 0 }), /segmentLens\.pull\.maxRows must be a whole number/);
    assert.throws(settings({ host: 'h', database: 'd', port: 70000 }), /segmentLens\.connection\.port must be a port/);
    assert.throws(settings({ host: 'h', database: 'd', sslmode: 'sometimes' }), /sslmode must be one of/);
    assert.throws(settings({ host: 'h', database: 'd', passwordEnv: 'not a name' }), /passwordEnv must be the name/);
    assert.deepEqual(resolveSettings({ connection: { type: 'postgres', host: 'h', database: 'd' } }).connection, {
      type: 'postgres',
      host: 'h',
      port: 5432,
      database: 'd',
      schema: 'public',
    });
  });

  // ---- The model in PostgreSQL's dialect, and the server's errors at their line.

  /** A dbt-postgres model; the Jinja comment shifts the file's lines past the rendered SQL's. */
  const postgresModel = `-- A dbt-postgres model: PostgreSQL's own syntax.
{# a Jinja comment
   over two lines #}
with base as (
    select c.customer_id, c.region, m.total_spent::numeric as ltv
    from staging.stg_customers c
    join intermediate.int_customer_metrics m on m.customer_id = c.customer_id
    where c.email ilike '%@EXAMPLE.com'
)
select region,
    case when ltv >= 1000 then 'Gold' else 'Silver' end as customer_segment,
    count(*) as customer_count,
    round(avg(ltv), 2) as avg_ltv
from base
group by 1, 2
order by 1, 2
`;

  /** 1-based line and column of the first `needle` in `text`. */
  function placeOf(text: string, needle: string): { line: number; column: number } {
    const lines = text.split('\n');
    const line = lines.findIndex((candidate) => candidate.includes(needle));
    assert.ok(line >= 0, `${needle} is in the model`);
    return { line: line + 1, column: lines[line].indexOf(needle) + 1 };
  }

  /** psql's answer to `sql` on the server, row by row, each value as psql prints it. */
  function psqlRows(sql: string): string[][] {
    const out = server.psql(running!, DATABASE, `\\pset format unaligned\n\\pset tuples_only on\n${sql};`);
    return out
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('|'));
  }

  it('runs a model in PostgreSQL syntax on the server in auto mode, saying why, with the grid psql gives', async () => {
    const { dir, model } = modelWorkspace(postgresModel);
    const result = await ok({ model, connection: connection() }, undefined, dir);
    const cast = placeOf(postgresModel, '::numeric');
    assert.equal(
      result.source.description,
      `ran on postgres://127.0.0.1:${running!.port}/${DATABASE} (pushdown: the model uses PostgreSQL syntax — \`::\` at line ${cast.line})`,
    );
    assert.deepEqual(result.columns, ['region', 'customer_segment', 'customer_count', 'avg_ltv']);
    const expected = psqlRows(result.model.renderedSql);
    assert.ok(expected.length >= 4, 'several cells');
    assert.deepEqual(
      result.rows.map((row) => row.map((value) => (value === null ? '' : String(value)))),
      // psql prints numeric with its scale (120.50); the engine holds numbers.
      expected.map((row) => row.map((value, index) => (index >= 2 ? String(Number(value)) : value))),
    );
    // The lineage was read in PostgreSQL's dialect: through the cast to the source column.
    const lineage = (
      await withServerSession(dir, { model, connection: connection() }, async (session) => session.lineage())
    ).columns.find((column) => column.name === 'avg_ltv');
    assert.deepEqual(lineage?.sources, ['intermediate.int_customer_metrics.total_spent']);
  });

  it('names PostgreSQL syntax at its place in the model file in pull mode, and offers pushdown', async () => {
    const cases: [string, string, string][] = [
      [postgresModel, '::numeric', "`::numeric` is PostgreSQL's cast syntax; SQLite cannot run it"],
      [
        postgresModel.replace('m.total_spent::numeric', 'm.total_spent'),
        'ilike',
        "`ILIKE` is PostgreSQL's case-insensitive LIKE; SQLite cannot run it",
      ],
      [
        postgresModel.replace('m.total_spent::numeric', "date_trunc('month', now()) as cohort, m.total_spent"),
        'date_trunc',
        '`date_trunc()` is a PostgreSQL function',
      ],
      [
        postgresModel
          .replace('m.total_spent::numeric', 'm.total_spent')
          .replace("ilike '%@EXAMPLE.com'", "like '%@example.com'")
          .replace('select c.customer_id', 'select distinct on (c.customer_id) c.customer_id'),
        'distinct on',
        "`DISTINCT ON` is PostgreSQL's; SQLite cannot run it",
      ],
    ];
    for (const [text, needle, message] of cases) {
      const { dir, model } = modelWorkspace(text);
      const error = await fails({ model, connection: connection(), postgresMode: 'pull' }, undefined, dir);
      assert.equal(error.code, 'sql');
      assert.equal(error.setting, 'segmentLens.postgres.mode');
      assert.ok(error.message.startsWith(message), error.message);
      assert.match(error.message, /segmentLens\.postgres\.mode "pull" runs the model in sql\.js/);
      assert.match(error.hint ?? '', /segmentLens\.postgres\.mode: "pushdown"/);
      const place = placeOf(text, needle);
      assert.equal(error.location?.file, path.join(dir, model));
      assert.equal(error.location?.line, place.line, needle);
      assert.equal(error.location?.column, place.column, needle);
    }
  });

  it('names the line of the model file where the server fails a pushed-down model', async () => {
    const failing = (expression: string) =>
      postgresModel.replace('m.total_spent::numeric as ltv', `${expression} as ltv`);
    const cases: [string, string, RegExp][] = [
      // The server says where: at its position, mapped through the DECLARE around the model and the Jinja.
      ['no_such_function(m.total_spent)', 'no_such_function', /function no_such_function\(numeric\) does not exist/],
      ["m.total_spent + 'abc'::integer", "'abc'", /invalid input syntax for type integer: "abc"/],
      // Runtime errors the server does not locate: at the model's only division, its only cast to integer.
      ['m.total_spent / (m.total_orders - m.total_orders)', 'm.total_spent /', /division by zero/],
      ['c.last_name::integer', 'c.last_name::integer', /invalid input syntax for type integer/],
    ];
    for (const [expression, needle, message] of cases) {
      const text = failing(expression);
      const { dir, model } = modelWorkspace(text);
      const error = await fails({ model, connection: connection(), postgresMode: 'pushdown' }, undefined, dir);
      assert.match(error.message, message);
      const place = placeOf(text, needle);
      assert.equal(error.location?.file, path.join(dir, model), expression);
      assert.equal(error.location?.line, place.line, expression);
      assert.equal(error.location?.column, place.column, expression);
      assert.ok(error.message.includes(`line ${place.line} of ${path.join(dir, model)}`), error.message);
      // The model's SQL is at fault, not the connection.
      assert.equal(error.code, 'sql');
      assert.ok(error.message.startsWith(`PostgreSQL cannot run ${path.join(dir, model)}: `), error.message);
    }

    // Two divisions: the server does not say which failed; both lines are named, the first is marked.
    const twice = failing('m.total_spent / (m.total_orders - m.total_orders)').replace(
      'count(*) as customer_count',
      'count(*) / 1 as customer_count',
    );
    const { dir, model } = modelWorkspace(twice);
    const error = await fails({ model, connection: connection(), postgresMode: 'pushdown' }, undefined, dir);
    const first = placeOf(twice, 'm.total_spent /');
    const second = placeOf(twice, 'count(*) / 1');
    assert.equal(error.location?.line, first.line);
    assert.ok(error.message.includes(`on lines ${first.line}, ${second.line} of`), error.message);
    assert.match(error.hint ?? '', /NULLIF/);
  });

  it("reads the lineage of the models upstream in PostgreSQL's dialect too", async () => {
    // A database of its own (the warehouse's catalog stays as the after hook checks it): a model dbt built there.
    server.psql(running!, 'postgres', 'CREATE DATABASE dialect_upstream;');
    server.psql(
      running!,
      'dialect_upstream',
      `CREATE TABLE public.raw_customers (id integer, region text, signup text);
       INSERT INTO public.raw_customers VALUES (1, 'north', '2024-01-05'), (2, 'south', '2024-02-07'), (3, 'north', '2024-03-01');
       CREATE VIEW public.customers_clean AS
         SELECT id AS customer_id, region::text AS region, signup::date AS signed_up FROM public.raw_customers;
       GRANT SELECT ON public.customers_clean TO ${READER};`,
    );
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: shop\nmodel-paths: [models]\n');
    write(
      dir,
      'models/customers_clean.sql',
      'select id as customer_id, region::text as region, signup::date as signed_up\nfrom public.raw_customers\n',
    );
    write(
      dir,
      'models/segments.sql',
      "select region, count(*) as customers\nfrom {{ ref('customers_clean') }}\ngroup by region\norder by region\n",
    );
    const settings = { model: 'models/segments.sql', connection: connection({ database: 'dialect_upstream' }) };
    const upstream = await withServerSession(dir, settings, async (session) => {
      const result = await session.run();
      // Pulled and run in sql.js: the model itself is SQLite's too.
      assert.deepEqual(result.rows, [
        ['north', 2],
        ['south', 1],
      ]);
      return session.lineage().upstreamModels;
    });
    const clean = upstream?.find((model) => model.model === 'customers_clean');
    assert.ok(clean?.lineage, `the upstream model's lineage: ${clean?.error}`);
    assert.deepEqual(
      clean.lineage.columns.map(({ name, sources }) => ({ name, sources })),
      [
        { name: 'customer_id', sources: ['public.raw_customers.id'] },
        { name: 'region', sources: ['public.raw_customers.region'] },
        { name: 'signed_up', sources: ['public.raw_customers.signup'] },
      ],
    );
  });
  it("names the staging models where dbt-postgres's generate_schema_name puts them, in pushdown as in the rendered SQL", async () => {
    const env = { JAFFLE_PG_PASSWORD: running!.adminPassword };
    const staging = ['stg_customers', 'stg_orders', 'stg_payments'];
    /** The fixture's segment model, reading the staging models itself (customers' SQL inlined as a subquery). */
    const segmentsOnStaging = (dir: string) => {
      const customers = readFileSync(path.join(dir, 'models', 'customers.sql'), 'utf8').replace(
        /\{\{ config\([^)]*\) \}\}/,
        '',
      );
      const segments = readFileSync(path.join(dir, 'models', 'customer_segments.sql'), 'utf8');
      write(dir, 'models/segments_on_staging.sql', segments.replace("{{ ref('customers') }}", `(\n${customers}\n)`));
      return segments.replace("{{ ref('customers') }}", `(\n${customers}\n)`);
    };
    /** The model as dbt-postgres compiles it, written by hand: each ref() replaced by its schema and name. */
    // (Jinja drops the file's last newline, as dbt's does.)
    const compiledByHand = (text: string, schema: string) =>
      text.replace(/\{\{ ref\('(stg_\w+)'\) \}\}/g, (_, name: string) => `${schema}.${name}`).replace(/\n$/, '');
    const settings = { model: 'models/segments_on_staging.sql', connection: { type: 'dbt' }, postgresMode: 'pushdown' };
    const asText = (rows: SqlValue[][]) => rows.map((row) => row.map((value) => (value === null ? '' : String(value))));

    // Default naming: dbt-postgres built the staging models in analytics_staging; the model runs there as written.
    const byDefault = jaffleWarehouse('jaffle_schema_default', staging);
    const defaultText = segmentsOnStaging(byDefault);
    const expectedDefault = compiledByHand(defaultText, 'analytics_staging');
    const pushed = await ok(settings, env, byDefault);
    assert.equal(pushed.model.renderedSql, expectedDefault);
    assert.match(pushed.source.description, /^ran on postgres:\/\/127\.0\.0\.1:\d+\/jaffle_schema_default \(pushdown/);
    const psqlDefault = server
      .psql(running!, 'jaffle_schema_default', `\\pset format unaligned\n\\pset tuples_only on\n${expectedDefault};`)
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('|').map((value, index) => (index >= 2 ? String(Number(value)) : value)));
    assert.ok(psqlDefault.length >= 8, `psql's grid has ${psqlDefault.length} rows`);
    assert.deepEqual(asText(pushed.rows), psqlDefault);
    // Pulled, the same names: the rendered relation is the one looked for first.
    const pulled = await ok({ ...settings, postgresMode: 'pull' }, env, byDefault);
    assert.deepEqual(asText(pulled.rows), psqlDefault);

    // A project overriding generate_schema_name (the custom schema as is, for its staging folder): staging.stg_*.
    const verbatim = jaffleWarehouse('jaffle_schema_verbatim', staging, 'staging');
    write(
      verbatim,
      'macros/generate_schema_name.sql',
      `{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- elif node.resource_type == 'model' and node.fqn[1] == 'staging' and node.config.schema == custom_schema_name -%}
        {{ custom_schema_name | trim }}
    {%- else -%}{{ target.schema }}_{{ node.name }}{%- endif -%}
{%- endmacro %}
`,
    );
    const verbatimText = segmentsOnStaging(verbatim);
    const expectedVerbatim = compiledByHand(verbatimText, 'staging');
    const onStaging = await ok(settings, env, verbatim);
    assert.equal(onStaging.model.renderedSql, expectedVerbatim);
    const psqlVerbatim = server
      .psql(running!, 'jaffle_schema_verbatim', `\\pset format unaligned\n\\pset tuples_only on\n${expectedVerbatim};`)
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('|').map((value, index) => (index >= 2 ? String(Number(value)) : value)));
    assert.deepEqual(psqlVerbatim, psqlDefault, 'the same data in the other schema');
    assert.deepEqual(asText(onStaging.rows), psqlVerbatim);
  });
});
