import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { truncateSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import {
  cliPath,
  customerColumns,
  hashTree,
  makeShop,
  metricColumns,
  nativeQuery,
  seedModel,
  tempWorkspace,
  write,
  writeShopSeeds,
  writeShopSqlite,
  writeSqlite,
} from './helpers';

function cli(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, HOME: cwd },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function jsonRun(workspace: string, extra: string[] = []) {
  const result = cli(['run', '--workspace', workspace, '--format', 'json', ...extra], path.dirname(workspace));
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as {
    columns: string[];
    rows: Record<string, unknown>[];
    cteRowCounts: Record<string, number>;
    source: { type: string };
    timings: Record<string, number>;
  };
}

const shop = makeShop(300, 11);

/** A dbt project as dbt-sqlite lays it out: one file per schema, models using ref(). */
function dbtWorkspace(): string {
  const dir = tempWorkspace();
  writeSqlite(path.join(dir, 'data/main.db'), { placeholder: { columns: ['x'], rows: [{ x: 1 }] } });
  writeSqlite(path.join(dir, 'data/staging.db'), { stg_customers: { columns: customerColumns, rows: shop.customers } });
  writeSqlite(path.join(dir, 'data/intermediate.db'), {
    int_customer_metrics: { columns: metricColumns, rows: shop.metrics },
  });
  write(
    dir,
    'dbt_project.yml',
    'name: jaffle\nprofile: jaffle\nmodels:\n  jaffle:\n    staging:\n      +schema: staging\n    intermediate:\n      +schema: intermediate\n',
  );
  write(
    dir,
    'profiles.yml',
    'jaffle:\n  target: dev\n  outputs:\n    dev:\n      type: sqlite\n      threads: 1\n      database: x\n      schema: main\n      schemas_and_paths:\n        main: data/main.db\n        staging: data/staging.db\n        intermediate: data/intermediate.db\n',
  );
  write(dir, 'models/staging/stg_customers.sql', 'select 1');
  write(dir, 'models/intermediate/int_customer_metrics.sql', 'select 1');
  write(
    dir,
    'models/marts/customer_segments.sql',
    seedModel("{{ ref('int_customer_metrics') }}", "{{ ref('stg_customers') }}"),
  );
  write(
    dir,
    '.vscode/settings.json',
    '{\n  // dbt-sqlite project\n  "segmentLens.model": "models/marts/customer_segments.sql",\n  "segmentLens.connection": { "type": "dbt" },\n}\n',
  );
  return dir;
}

describe('cli', () => {
  it('a dbt-sqlite project: JSON equals native SQLite on the same files', () => {
    const dir = dbtWorkspace();
    const before = hashTree(dir);
    const output = jsonRun(dir);
    const expected = nativeQuery(
      path.join(dir, 'data/main.db'),
      { staging: path.join(dir, 'data/staging.db'), intermediate: path.join(dir, 'data/intermediate.db') },
      seedModel('intermediate.int_customer_metrics', 'staging.stg_customers'),
    );
    assert.deepEqual(output.rows, expected);
    assert.deepEqual(output.columns, ['region', 'customer_segment', 'customer_count', 'avg_ltv', 'avg_orders']);
    assert.equal(output.source.type, 'dbt');
    assert.equal(output.cteRowCounts['(final select)'], expected.length);
    assert.equal(
      output.cteRowCounts.base,
      nativeQuery(
        path.join(dir, 'data/staging.db'),
        { i: path.join(dir, 'data/intermediate.db') },
        'SELECT count(*) AS n FROM i.int_customer_metrics m JOIN stg_customers c USING (customer_id)',
      )[0].n,
    );
    for (const key of ['loadMs', 'queryMs', 'totalMs']) assert.equal(typeof output.timings[key], 'number');
    assert.deepEqual(hashTree(dir), before);
  });

  it('CSV seeds with awkward content equal native SQLite on the same rows', () => {
    const dir = tempWorkspace();
    writeShopSeeds(path.join(dir, 'seeds'), shop, { metrics: { lineEnd: '\r\n' }, customers: { bom: true } });
    write(dir, 'models/customer_segments.sql', seedModel('intermediate.int_customer_metrics', 'staging.stg_customers'));
    write(dir, '.vscode/settings.json', '{ "segmentLens.connection": { "type": "csv", "directory": "seeds" } }');
    const output = jsonRun(dir, ['--model', 'models/customer_segments.sql']);
    const native = writeShopSqlite(path.join(tempWorkspace(), 'n.db'), shop);
    assert.deepEqual(output.rows, nativeQuery(native, {}, seedModel('int_customer_metrics', 'stg_customers')));
  });

  it('csv output is RFC 4180 and table output is aligned', () => {
    const dir = dbtWorkspace();
    const csv = cli(['run', '--workspace', dir, '--format', 'csv'], dir);
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(csv.stdout, /\r\n$/);
    const records = parse(csv.stdout) as string[][];
    const json = jsonRun(dir);
    assert.deepEqual(records[0], json.columns);
    assert.deepEqual(
      records.slice(1),
      json.rows.map((row) => json.columns.map((column) => (row[column] === null ? '' : String(row[column])))),
    );
    const table = cli(['run'], dir);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.split('\n');
    assert.match(lines[0], /^region\s+customer_segment\s+customer_count\s+avg_ltv\s+avg_orders$/);
    assert.equal(lines[2 + json.rows.length], '', 'one line per row, then a blank line');
  });

  it('no settings at all runs the bundled sample', () => {
    const output = jsonRun(tempWorkspace());
    assert.equal(output.source.type, 'sample');
    assert.ok(output.rows.length >= 20);
  });

  it('a user error exits 2 with one line on stderr; bad usage exits 2', () => {
    const dir = dbtWorkspace();
    const missing = cli(['run', '--model', 'models/absent.sql'], dir);
    assert.equal(missing.code, 2);
    assert.equal(missing.stdout, '');
    assert.equal(missing.stderr.trim().split('\n').length, 1);
    assert.match(missing.stderr, /absent\.sql/);
    assert.equal(cli(['run', '--format', 'xml'], dir).code, 2);
    assert.equal(cli(['explode'], dir).code, 2);
    assert.equal(cli(['--help'], dir).code, 0);
  });

  it('lineage: JSON names sources as the model names them after ref() resolution', () => {
    const dir = dbtWorkspace();
    const result = cli(['lineage', '--workspace', dir], dir);
    assert.equal(result.code, 0, result.stderr);
    const lineage = JSON.parse(result.stdout) as {
      columns: { name: string; sources: string[]; kinds: string[] }[];
      edges: { from: string; to: string; kind: string; span?: { line: number } }[];
      unused: { name: string }[];
      unresolved: unknown[];
    };
    assert.deepEqual(
      lineage.columns.map((column) => [column.name, column.sources, column.kinds]),
      [
        ['region', ['staging.stg_customers.region'], ['passthrough']],
        ['customer_segment', ['intermediate.int_customer_metrics.total_spent'], ['case', 'passthrough']],
        ['customer_count', ['intermediate.int_customer_metrics.customer_id'], ['passthrough', 'aggregate']],
        ['avg_ltv', ['intermediate.int_customer_metrics.total_spent'], ['passthrough', 'aggregate']],
        ['avg_orders', ['intermediate.int_customer_metrics.total_orders'], ['passthrough', 'aggregate']],
      ],
    );
    assert.deepEqual(
      lineage.unused.map((column) => column.name),
      ['first_name', 'last_name', 'avg_order_value'],
    );
    assert.deepEqual(lineage.unresolved, []);
    assert.ok(
      lineage.edges.every((edge) => edge.span && edge.span.line > 0),
      'every edge has a span',
    );
    assert.ok(
      lineage.edges.some((edge) => edge.kind === 'join_key' && edge.from === 'staging.stg_customers.customer_id'),
    );
  });

  it('lineage: table format, and errors exit 2', () => {
    const dir = dbtWorkspace();
    const table = cli(['lineage', '--format', 'table'], dir);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      /^customer_segment\s+intermediate\.int_customer_metrics\.total_spent\s+case → passthrough$/m,
    );
    assert.match(table.stdout, /Unused:\n {2}base\.first_name/);
    assert.equal(cli(['lineage', '--format', 'csv'], dir).code, 2);
    write(dir, 'models/broken.sql', 'SELECT a,\nFROM');
    const broken = cli(['lineage', '--model', 'models/broken.sql'], dir);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /broken\.sql:2:/);
  });

  it('output piped into a reader that closes early (| head -1) ends quietly with status 0', async () => {
    const dir = dbtWorkspace();
    for (const format of ['table', 'json', 'csv']) {
      // The reading end is closed before the CLI writes: its first write fails with EPIPE, every time.
      const child = spawn(process.execPath, [cliPath, 'run', '--workspace', dir, '--format', format], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(stderr, '', `--format ${format}: nothing on stderr`);
      assert.equal(code, 0, `--format ${format}: exit status`);
    }
  });

  it('--vars sets dbt vars over segmentLens.vars, and --verbose prints what the Jinja logs on stderr', () => {
    const dir = dbtWorkspace();
    const model = seedModel("{{ ref('int_customer_metrics') }}", "{{ ref('stg_customers') }}")
      .replace('>= 10000', ">= {{ var('platinum_floor') }}")
      .replace('WITH base AS', "{{ log('floor is ' ~ var('platinum_floor')) }}WITH base AS");
    write(dir, 'models/marts/customer_segments.sql', model);
    const settings = JSON.parse(
      '{"segmentLens.model": "models/marts/customer_segments.sql", "segmentLens.connection": { "type": "dbt" }, "segmentLens.vars": { "platinum_floor": 1 }}',
    );
    write(dir, '.vscode/settings.json', JSON.stringify(settings));
    const platinum = (rows: Record<string, unknown>[]) =>
      rows
        .filter((row) => row.customer_segment === 'Platinum')
        .reduce((sum, row) => sum + Number(row.customer_count), 0);
    const fromSetting = jsonRun(dir);
    const fromFlag = cli(
      ['run', '--workspace', dir, '--format', 'json', '--vars', '{platinum_floor: 1000000}', '--verbose'],
      dir,
    );
    assert.equal(fromFlag.code, 0, fromFlag.stderr);
    const expectedAboveOne = shop.metrics.filter(
      (metric) =>
        shop.customers.some((customer) => customer.customer_id === metric.customer_id) &&
        (metric.total_spent ?? -1) >= 1,
    ).length;
    assert.equal(platinum(fromSetting.rows), expectedAboveOne);
    assert.equal(platinum(JSON.parse(fromFlag.stdout).rows), 0);
    assert.match(fromFlag.stderr, /^floor is 1000000$/m);
    const bad = cli(['run', '--workspace', dir, '--vars', '[1, 2]'], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--vars must be a YAML or JSON mapping/);
  });

  it('--verbose prints where the run is (each upstream model built) and what the layout did on stderr; without it, stderr is empty', () => {
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: p\nprofile: p\n');
    write(dir, 'seeds/a.csv', 'id,name\n1,one\n2,two\n3,three\n');
    write(dir, 'seeds/b.csv', 'id,a_id\n10,1\n11,1\n12,3\n');
    write(
      dir,
      'models/stg_a.sql',
      "{{ config(materialized='table') }} select id, upper(name) as name from {{ ref('a') }}",
    );
    write(
      dir,
      'models/explore.sql',
      "select a.name, count(b.id) as n from {{ ref('stg_a') }} a left join {{ ref('b') }} b on b.a_id = a.id group by a.name order by a.name",
    );
    write(
      dir,
      '.vscode/settings.json',
      '{ "segmentLens.model": "models/explore.sql", "segmentLens.connection": { "type": "csv", "directory": "seeds" } }',
    );
    const quiet = cli(['run', '--workspace', dir, '--format', 'json'], dir);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
    const verbose = cli(['run', '--workspace', dir, '--format', 'json', '--verbose'], dir);
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.deepEqual(JSON.parse(verbose.stdout).rows, [
      { name: 'ONE', n: 2 },
      { name: 'THREE', n: 1 },
      { name: 'TWO', n: 0 },
    ]);
    assert.deepEqual(verbose.stderr.split('\n').filter(Boolean), [
      'Loading the data',
      'Building stg_a (1/1)',
      'Running the query',
      'layout: main.b: index on a_id',
      'layout: main.stg_a: id as INTEGER PRIMARY KEY',
    ]);

    // A table the layout cannot index is left as loaded, and --verbose says why.
    const fts = tempWorkspace();
    const db = new BetterSqlite3(path.join(fts, 'w.db'));
    db.exec(`CREATE TABLE customers (id INTEGER, name TEXT); INSERT INTO customers VALUES (1, 'a'), (2, 'b');
      CREATE VIRTUAL TABLE notes USING fts3(customer_id, body); INSERT INTO notes VALUES (1, 'late'), (2, 'fine');`);
    db.close();
    write(
      fts,
      'model.sql',
      "select c.name from customers c join notes n on n.customer_id = c.id where n.body match 'late'",
    );
    write(fts, '.vscode/settings.json', '{ "segmentLens.connection": { "type": "sqlite", "path": "w.db" } }');
    const left = cli(['run', '--workspace', fts, '--model', 'model.sql', '--format', 'csv', '--verbose'], fts);
    assert.equal(left.code, 0, left.stderr);
    assert.equal(left.stdout, 'name\r\na\r\n');
    assert.match(
      left.stderr,
      /^layout: main\.notes: left as loaded \(no key or index on customer_id\): .*virtual tables may not be indexed/m,
    );
  });

  it('a statement that is not one read-only SELECT exits 2 with one line, stray character after it or not', () => {
    const dir = dbtWorkspace();
    const before = hashTree(dir);
    for (const attack of [
      'PRAGMA query_only = 0; ~',
      "ATTACH ':memory:' AS aux; ~",
      'DELETE FROM staging.stg_customers; ~',
      'INSERT INTO staging.stg_customers (customer_id) VALUES (-1); ~',
      'WITH x AS (SELECT 1) DELETE FROM staging.stg_customers',
    ]) {
      write(dir, 'models/attack.sql', attack);
      const result = cli(['run', '--workspace', dir, '--model', 'models/attack.sql'], dir);
      assert.equal(result.code, 2, attack);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.doesNotMatch(result.stderr, /is a WITH /);
    }
    write(dir, 'models/attack.sql', '');
    const after = hashTree(dir);
    delete after['models/attack.sql'];
    delete before['models/attack.sql'];
    assert.deepEqual(after, before, 'no file changed');
  });
});

/** A problem with the user's input: exit 2, nothing on stdout, one line on stderr (returned). */
function userError(result: { code: number | null; stdout: string; stderr: string }): string {
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /internal error|\n\s+at /);
  return lines[0];
}

/** A workspace whose .vscode/settings.json holds `settings` (written as JSON). */
function settingsWorkspace(settings: string): string {
  const dir = tempWorkspace();
  write(dir, '.vscode/settings.json', settings);
  return dir;
}

describe('cli: hostile settings end as one-line errors', () => {
  for (const type of ['__proto__', 'constructor', 'toString']) {
    it(`connection.type "${type}"`, () => {
      const dir = settingsWorkspace(`{ "segmentLens.connection": { "type": "${type}" } }`);
      const line = userError(cli(['run'], dir));
      assert.match(line, /segmentLens\.connection\.type must be "sqlite", "dbt", "csv", "postgres" or "sample"/);
    });
  }

  it('a command named after an object key ("toString") is an unknown command', () => {
    const result = cli(['toString'], tempWorkspace());
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command "toString"/);
  });

  for (const [name, attach, at] of [
    ['main', '{ "main": "b.db" }', 'main'],
    ['temp', '{ "temp": "b.db" }', 'temp'],
    ['two differing only in case', '{ "staging": "b.db", "STAGING": "c.db" }', 'STAGING'],
  ] as const) {
    it(`an attach schema ${name}`, () => {
      const dir = settingsWorkspace(
        `{ "segmentLens.connection": { "type": "sqlite", "path": "a.db", "attach": ${attach} } }`,
      );
      for (const file of ['a.db', 'b.db', 'c.db']) writeSqlite(path.join(dir, file), {});
      const line = userError(cli(['run'], dir));
      assert.ok(line.includes(`segmentLens.connection.attach.${at}`), line);
    });
  }

  it('more schemas than SQLite attaches (10)', () => {
    const attach = Object.fromEntries(Array.from({ length: 11 }, (_, index) => [`s${index}`, 'b.db']));
    const dir = settingsWorkspace(
      JSON.stringify({ 'segmentLens.connection': { type: 'sqlite', path: 'a.db', attach } }),
    );
    for (const file of ['a.db', 'b.db']) writeSqlite(path.join(dir, file), {});
    assert.match(userError(cli(['run'], dir)), /Schema "s10" cannot be attached .*too many attached databases/);
  });

  it('a dbt profile whose schemas_and_paths names temp, or Main beside main', () => {
    for (const [schemas, named] of [
      ['        temp: t.db\n', 'schemas_and_paths.temp'],
      ['        Main: t.db\n', 'schemas_and_paths.Main'],
    ]) {
      const dir = settingsWorkspace('{ "segmentLens.connection": { "type": "dbt", "profile": "p" } }');
      writeSqlite(path.join(dir, 'm.db'), {});
      writeSqlite(path.join(dir, 't.db'), {});
      write(
        dir,
        'profiles.yml',
        `p:\n  target: dev\n  outputs:\n    dev:\n      type: sqlite\n      schemas_and_paths:\n        main: m.db\n${schemas}`,
      );
      const line = userError(cli(['run'], dir));
      assert.ok(line.includes(named) && line.includes('profiles.yml'), line);
    }
  });

  it('a dbt profile or target named after an object key is one profiles.yml does not have', () => {
    for (const [connection, expected] of [
      ['"profile": "__proto__"', /Profile "__proto__" is not in .*profiles\.yml \(it has p\)/],
      ['"profile": "p", "target": "constructor"', /has no target "constructor" \(it has dev\)/],
    ] as const) {
      const dir = settingsWorkspace(`{ "segmentLens.connection": { "type": "dbt", ${connection} } }`);
      writeSqlite(path.join(dir, 'm.db'), {});
      write(
        dir,
        'profiles.yml',
        'p:\n  target: dev\n  outputs:\n    dev:\n      type: sqlite\n      schemas_and_paths:\n        main: m.db\n',
      );
      assert.match(userError(cli(['run'], dir)), expected);
    }
  });

  it('a CSV subfolder named temp', () => {
    const dir = settingsWorkspace('{ "segmentLens.connection": { "type": "csv", "directory": "seeds" } }');
    write(dir, 'seeds/temp/t.csv', 'a\n1\n');
    assert.match(userError(cli(['run'], dir)), /t\.csv would be a table in schema "temp"/);
  });
});

describe('cli: hostile CSV seeds are refused quickly, in one line', () => {
  it('a header of 100,000 columns names the file and the count', () => {
    const dir = settingsWorkspace('{ "segmentLens.connection": { "type": "csv", "directory": "seeds" } }');
    const header = Array.from({ length: 100_000 }, (_, index) => `c${index}`).join(',');
    write(dir, 'seeds/wide.csv', `${header}\n${header.replace(/c\d+/g, '1')}\n`);
    const line = userError(cli(['run'], dir));
    assert.match(
      line,
      /wide\.csv:1:1: .*wide\.csv has 100,000 columns in its header; a SQLite table holds at most 2,000\./,
    );
    assert.doesNotMatch(line, /segment_lens|check that the file exists/i);
  });

  it('a 300 MB header line (a sparse file with no line break) is refused without being parsed', () => {
    const dir = settingsWorkspace('{ "segmentLens.connection": { "type": "csv", "directory": "seeds" } }');
    truncateSync(write(dir, 'seeds/huge.csv', 'a,b,c'), 300 * 1024 ** 2);
    const started = performance.now();
    const line = userError(cli(['run'], dir));
    assert.ok(performance.now() - started < 5000, 'refused without parsing the 300 MB');
    assert.match(line, /huge\.csv has no line break in its first 1 MiB/);
  });
});

describe('cli: a result over the row cap', () => {
  it('1,000,001 rows are refused with exit 2 and one line (the real cap, stepped to one row past it)', () => {
    const dir = tempWorkspace();
    write(
      dir,
      'big.sql',
      'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000001) SELECT n FROM r',
    );
    const line = userError(cli(['run', '--model', 'big.sql', '--format', 'csv'], dir));
    assert.match(line, /The result of .*big\.sql has more than 1,000,000 rows; Segment Lens holds at most 1,000,000\./);
  });
});

describe('cli: the deadline (--timeout, segmentLens.timeoutSeconds)', () => {
  const endless = 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT count(*) FROM r';
  const crossJoin =
    'SELECT count(*) AS n FROM staging.stg_customers a, staging.stg_customers b, staging.stg_customers c';

  for (const [name, model] of [
    ['an endless recursive CTE', endless],
    ['a three-way cross join of the sample (1.25e11 rows)', crossJoin],
  ]) {
    it(`${name} is stopped at --timeout 2: exit 2, one line naming the model and the flag`, () => {
      const dir = tempWorkspace();
      write(dir, 'models/slow.sql', model);
      const started = performance.now();
      const line = userError(cli(['run', '--model', 'models/slow.sql', '--timeout', '2'], dir));
      const seconds = (performance.now() - started) / 1000;
      assert.ok(seconds >= 2 && seconds < 6, `stopped after ${seconds.toFixed(1)} s`);
      assert.equal(
        line,
        'segment-lens: The model slow.sql ran longer than 2 s (--timeout) and was stopped. A recursive CTE that never ends or a join without a condition can do this: fix the model, or raise --timeout if the data is that large.',
      );
    });
  }

  it('segmentLens.timeoutSeconds in settings.json sets it too, and is named', () => {
    const dir = settingsWorkspace('{ "segmentLens.model": "slow.sql", "segmentLens.timeoutSeconds": 1 }');
    write(dir, 'slow.sql', endless);
    const line = userError(cli(['run', '--format', 'json'], dir));
    assert.match(line, /The model slow\.sql ran longer than 1 s \(segmentLens\.timeoutSeconds\) and was stopped\./);
  });

  it('a model within the deadline runs as before (the timer never fires): the sample under --timeout 30', () => {
    const output = jsonRun(tempWorkspace(), ['--timeout', '30']);
    assert.equal(output.source.type, 'sample');
    assert.equal(output.cteRowCounts.base, 4801);
  });

  it('a --timeout or timeoutSeconds that is not a number of seconds, at least 1, is a one-line error', () => {
    const dir = tempWorkspace();
    for (const value of ['0', 'abc', '-5', '', '0.5']) {
      const line = userError(cli(['run', `--timeout=${value}`], dir));
      assert.match(line, /^segment-lens: --timeout must be a number of seconds, at least 1, not /);
    }
    const fromSettings = settingsWorkspace('{ "segmentLens.timeoutSeconds": "soon" }');
    assert.match(
      userError(cli(['run'], fromSettings)),
      /Setting segmentLens\.timeoutSeconds must be a number of seconds, at least 1, not "soon"\./,
    );
  });
});
