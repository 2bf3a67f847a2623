// A model on a PostgreSQL connection renders as dbt-postgres compiles it: target.type is 'postgres', adapter.dispatch
// looks for postgres__ then default__, and dbt's cross-database macros give dbt-postgres's SQL. The expected SQL is
// written here by hand from dbt-adapters' and dbt-postgres's macro source (compared without layout: dbt's macros
// spread their SQL over lines); each model then runs on a real throwaway PostgreSQL server and gives what psql gives
// for SQL written here by hand, independently of the macros.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runModel, type ModelResult } from '../../src/engine/index';
import { CROSS_DB_MACRO_NAMES, DEFAULT_AND_POSTGRES_CROSS_DB_MACROS } from '../../src/engine/model/dbtBuiltins';
import { loadDbtProject } from '../../src/engine/model/dbtProject';
import { renderModel, withGeneratedSchemas, type RenderContext } from '../../src/engine/model/jinja';
import { loadMacroLibrary, type DbtAdapter } from '../../src/engine/model/macroLibrary';
import type { RawSettings } from '../../src/engine/settings';
import { assets, jinja, repoRoot, tempWorkspace, write } from './helpers';
import { startTestServer, type ServerModule, type TestServer } from '../postgresServer';

/** SQL without its layout: runs of whitespace as one space, none just inside parentheses or before a comma. */
const squash = (sql: string) =>
  sql
    .replace(/\s+/g, ' ')
    .replace(/\( /g, '(')
    .replace(/ ([),])/g, '$1')
    .trim();

/** A project macro dispatched by adapter: dbt-postgres's compile takes the postgres__ variant. */
const SPEND_BAND_MACRO = `{% macro spend_band(column) %}{{ return(adapter.dispatch('spend_band')(column)) }}{% endmacro %}

{% macro default__spend_band(column) %}
    case when {{ column }} >= 1000 then 'High' else 'Low' end
{% endmacro %}

{% macro postgres__spend_band(column) %}
    case when {{ column }}::numeric >= 500 then 'High' else 'Low' end
{% endmacro %}
`;

/** The grid's shape around one segment expression, reading the two shop tables. */
function segmentModel(segment: string): string {
  return `with base as (
    select c.customer_id, c.region, c.order_date, c.shipped_at, m.total_spent,
        ${segment} as customer_segment
    from staging.stg_customers c
    join intermediate.int_customer_metrics m on m.customer_id = c.customer_id
)
select region, customer_segment, count(*) as customer_count, sum(total_spent) as total_ltv
from base
group by region, customer_segment
order by region, customer_segment
`;
}

/** Each model: its segment in Jinja, dbt-postgres's compiled segment (by hand), and the same segment in plain SQL. */
const MODELS: { name: string; jinja: string; compiled: string; handWritten: string }[] = [
  {
    name: 'dbt.dateadd',
    jinja: `case when {{ dbt.dateadd('day', 7, 'order_date') }} >= '2024-03-01' then 'Late' else 'Early' end`,
    compiled: `case when order_date + ((interval '1 day') * (7)) >= '2024-03-01' then 'Late' else 'Early' end`,
    handWritten: `case when c.order_date + 7 >= date '2024-03-01' then 'Late' else 'Early' end`,
  },
  {
    name: 'dbt.datediff by day',
    jinja: `case when {{ dbt.datediff('order_date', 'shipped_at', 'day') }} >= 3 then 'Slow' else 'Fast' end`,
    compiled: `case when ((shipped_at)::date - (order_date)::date) >= 3 then 'Slow' else 'Fast' end`,
    handWritten: `case when extract(day from date_trunc('day', c.shipped_at) - c.order_date) >= 3 then 'Slow' else 'Fast' end`,
  },
  {
    // dbt-postgres counts months from the years' difference: a nested datediff.
    name: 'dbt.datediff by month',
    jinja: `'M' || {{ dbt.datediff("'2024-01-01'", 'order_date', 'month') }}`,
    compiled: `'M' || ((date_part('year', (order_date)::date) - date_part('year', ('2024-01-01')::date)) * 12 + date_part('month', (order_date)::date) - date_part('month', ('2024-01-01')::date))`,
    handWritten: `'M' || (extract(month from c.order_date)::int - 1)`,
  },
  {
    name: 'dbt.date_trunc',
    jinja: `to_char({{ dbt.date_trunc('month', 'order_date') }}, 'YYYY-MM')`,
    compiled: `to_char(date_trunc('month', order_date), 'YYYY-MM')`,
    handWritten: `substr(c.order_date::text, 1, 7)`,
  },
  {
    // Nothing PostgreSQL-only: pulled into sql.js and run there.
    name: 'target.type',
    jinja: `{% if target.type == 'postgres' %}'On ' || region{% else %}'Elsewhere'{% endif %}`,
    compiled: `'On ' || region`,
    handWritten: `'On ' || c.region`,
  },
  {
    name: 'a project macro with postgres__ and default__ variants',
    jinja: `{{ spend_band('total_spent') }}`,
    compiled: `case when total_spent::numeric >= 500 then 'High' else 'Low' end`,
    handWritten: `case when m.total_spent >= 500 then 'High' else 'Low' end`,
  },
];

/** A dbt project holding the spend_band macro and the model. */
function projectWorkspace(model: string): { dir: string; model: string } {
  const dir = tempWorkspace();
  write(dir, 'dbt_project.yml', 'name: shop\nprofile: shop\nmodel-paths: [models]\nmacro-paths: [macros]\n');
  write(dir, 'macros/spend_band.sql', SPEND_BAND_MACRO);
  write(dir, 'models/segments.sql', model);
  return { dir, model: 'models/segments.sql' };
}

/** The model rendered for an adapter, as a run renders it before any data. */
async function render(text: string, adapter: DbtAdapter, target: Partial<RenderContext['target']> = {}) {
  const { dir, model } = projectWorkspace(text);
  const project = await loadDbtProject(dir);
  const { library, text: macroText } = await loadMacroLibrary(project, adapter);
  return renderModel(text, path.join(dir, model), {
    jinja,
    library,
    macroText,
    project,
    target: { name: 'dev', schema: 'public', type: adapter, ...target },
    env: {},
    execute: true,
  }).sql;
}

describe('postgresRender: a PostgreSQL target renders as dbt-postgres compiles', () => {
  for (const { name, jinja: segment, compiled } of MODELS) {
    it(`renders ${name} as dbt-postgres does`, async () => {
      assert.equal(squash(await render(segmentModel(segment), 'postgres')), squash(segmentModel(compiled)));
    });
  }

  it('renders the rest of the cross-database macros as dbt-postgres does', async () => {
    const cases: [string, string][] = [
      [`{{ dbt.datediff('a', 'b', 'year') }}`, `(date_part('year', (b)::date) - date_part('year', (a)::date))`],
      [
        `{{ dbt.datediff('a', 'b', 'week') }}`,
        `(((b)::date - (a)::date) / 7 + case when date_part('dow', (a)::timestamp) <= date_part('dow', (b)::timestamp) then case when a <= b then 0 else -1 end else case when a <= b then 1 else 0 end end)`,
      ],
      [
        `{{ dbt.datediff('a', 'b', 'hour') }}`,
        `(((b)::date - (a)::date) * 24 + date_part('hour', (b)::timestamp) - date_part('hour', (a)::timestamp))`,
      ],
      [
        `{{ dbt.last_day('d', 'month') }}`,
        `cast(date_trunc('month', d) + ((interval '1 month') * (1)) + ((interval '1 day') * (-1)) as date)`,
      ],
      [
        `{{ dbt.last_day('d', 'quarter') }}`,
        `cast(date_trunc('quarter', d) + ((interval '1 month') * (3)) + ((interval '1 day') * (-1)) as date)`,
      ],
      [`{{ dbt.current_timestamp() }}`, `now()`],
      [`{{ dbt.safe_cast('x', dbt.type_int()) }}`, `cast(x as INT)`],
      [`{{ dbt.cast('x', dbt.type_numeric()) }}`, `cast(x as numeric(28,6))`],
      [`{{ dbt.type_string() }} {{ dbt.type_timestamp() }} {{ dbt.type_bigint() }}`, `TEXT TIMESTAMP bigint`],
      [`{{ dbt.hash('x') }}`, `md5(cast(x as TEXT))`],
      [`{{ dbt.concat(['a', "'-'", 'b']) }}`, `a || '-' || b`],
      [`{{ dbt.split_part('s', "','", 2) }}`, `split_part(s, ',', 2)`],
      [`{{ dbt.split_part('s', "','", -1) }}`, `split_part(s, ',', length(s) - length(replace(s, ',', '')) + 2 + -1)`],
      [`{{ dbt.listagg('x', "', '", 'order by x') }}`, `string_agg(x, ', ' order by x)`],
      [`{{ dbt.listagg('x', "','", 'order by x', 2) }}`, `array_to_string((array_agg(x order by x))[1:2], ',')`],
      [`{{ dbt.any_value('x') }} {{ dbt.bool_or('x') }}`, `min(x) bool_or(x)`],
      [`{{ dbt.position("'a'", 'x') }} {{ dbt.right('x', 2) }}`, `position('a' in x) right(x, 2)`],
      [`{{ dbt.cast_bool_to_text('x') }}`, `cast(x as TEXT)`],
      [`{{ dbt.string_literal(dbt.escape_single_quotes("it's")) }}`, `'it''s'`],
    ];
    for (const [template, expected] of cases) {
      assert.equal(squash(await render(`select ${template}`, 'postgres')), squash(`select ${expected}`), template);
    }
  });

  it('has a dbt-postgres (or dbt default) implementation of every cross-database macro SQLite has', () => {
    for (const name of CROSS_DB_MACRO_NAMES)
      assert.match(DEFAULT_AND_POSTGRES_CROSS_DB_MACROS, new RegExp(`macro (postgres|default)__${name}\\(`), name);
  });

  it("names dbt-postgres's unsupported datepart, as dbt does", async () => {
    await assert.rejects(render(`select {{ dbt.datediff('a', 'b', 'decade') }}`, 'postgres'), (error: Error) => {
      assert.match(error.message, /Unsupported datepart for macro datediff in postgres: 'decade'/);
      return true;
    });
  });

  it("gives templates dbt-postgres's target fields, never a password, and its database to relations", async () => {
    const sql = await render(
      `select '{{ target.type }}|{{ target.name }}|{{ target.schema }}|{{ target.database }}|{{ target.user }}|{{ target.host }}|{{ target.port }}|{{ target.threads }}|{{ target.password is defined }}|{{ this.database }}|{{ source('shop', 'orders').database }}'`,
      'postgres',
      { database: 'warehouse', user: 'reader', host: 'db.internal', port: 5433, threads: 4 },
    );
    assert.equal(sql, `select 'postgres|dev|public|warehouse|reader|db.internal|5433|4|False|warehouse|warehouse'`);
  });

  it('renders SQLite targets as before: sqlite__ first, the default__ variant of a project macro', async () => {
    const sql = await render(
      `select {{ dbt.date_trunc('month', 'd') }}, {{ spend_band('x') }}, '{{ target.type }}', '{{ this.database }}'`,
      'sqlite',
    );
    assert.equal(
      squash(sql),
      squash(`select datetime(d, 'start of month'), case when x >= 1000 then 'High' else 'Low' end, 'sqlite', 'main'`),
    );
  });
});

const DATABASE = 'render_shop';
const READER = 'render_reader';
const READER_PASSWORD = 'render-reader-pw';

/** 48 customers with an order date, a ship time and what they spent, made on the server. */
const SHOP_SQL = `
  CREATE SCHEMA staging;
  CREATE SCHEMA intermediate;
  CREATE TABLE staging.stg_customers AS
    SELECT g AS customer_id,
        (ARRAY['East', 'North', 'South', 'West'])[g % 4 + 1] AS region,
        date '2024-01-01' + (g * 5 % 120) AS order_date,
        (date '2024-01-01' + (g * 5 % 120)) + make_interval(days => g * 7 % 6, hours => g % 24) AS shipped_at
    FROM generate_series(1, 48) g;
  CREATE TABLE intermediate.int_customer_metrics AS
    SELECT g AS customer_id, g * 37 % 900 + 100 AS total_spent FROM generate_series(1, 48) g;
  ANALYZE;
  CREATE ROLE ${READER} LOGIN PASSWORD '${READER_PASSWORD}';
  GRANT USAGE ON SCHEMA staging, intermediate TO ${READER};
  GRANT SELECT ON ALL TABLES IN SCHEMA staging, intermediate TO ${READER};
`;

describe('postgresRender: rendered models run on a real PostgreSQL server as psql runs the same by hand', function () {
  this.timeout(600_000);
  let server: ServerModule;
  let running: TestServer | undefined;

  before(async function () {
    ({ server, running } = await startTestServer(this, repoRoot));
    server.psql(running, 'postgres', `CREATE DATABASE ${DATABASE};`);
    server.psql(running, DATABASE, SHOP_SQL);
  });

  after(() => running?.stop());

  const connection = () => ({
    type: 'postgres',
    host: running!.host,
    port: running!.port,
    database: DATABASE,
    user: READER,
    passwordEnv: 'RENDER_PG_PASSWORD',
  });

  async function ok(settings: RawSettings, dir: string): Promise<ModelResult> {
    const outcome = await runModel(
      { workspaceDir: dir, settings, env: { RENDER_PG_PASSWORD: READER_PASSWORD }, homeDir: dir },
      assets,
    );
    if (!outcome.ok) assert.fail(`expected a result, got: ${JSON.stringify(outcome.error)}`);
    return outcome.result;
  }

  /** psql's rows for `sql`, each value as text; numbers as the engine holds them. */
  function psqlRows(sql: string): string[][] {
    const out = server.psql(running!, DATABASE, `\\pset format unaligned\n\\pset tuples_only on\n${sql};`);
    return out
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('|').map((value, index) => (index >= 2 ? String(Number(value)) : value)));
  }

  const textRows = (result: ModelResult) =>
    result.rows.map((row) => row.map((value) => (value === null ? '' : String(value))));

  for (const { name, jinja: segment, compiled, handWritten } of MODELS) {
    it(`runs ${name} rendered for postgres, with psql's result for the same by hand`, async () => {
      const { dir, model } = projectWorkspace(segmentModel(segment));
      const result = await ok({ model, connection: connection() }, dir);
      assert.equal(squash(result.model.renderedSql), squash(segmentModel(compiled)));
      const expected = psqlRows(segmentModel(handWritten));
      assert.ok(expected.length >= 4, `several cells (${expected.length})`);
      assert.deepEqual(textRows(result), expected);
      // PostgreSQL-only SQL the macros render is pushed down; the rest is pulled and runs in sql.js.
      const pushedDown = /^ran on postgres:/.test(result.source.description);
      assert.equal(pushedDown, name !== 'target.type', result.source.description);
    });
  }

  it('names the macro call whose PostgreSQL SQL sql.js cannot run in pull mode, at its place in the model file', async () => {
    const text = segmentModel(MODELS[0].jinja);
    const { dir, model } = projectWorkspace(text);
    const outcome = await runModel(
      {
        workspaceDir: dir,
        settings: { model, connection: connection(), postgresMode: 'pull' },
        env: { RENDER_PG_PASSWORD: READER_PASSWORD },
        homeDir: dir,
      },
      assets,
    );
    assert.ok(!outcome.ok, 'an error');
    const error = outcome.error;
    assert.equal(error.code, 'sql');
    assert.equal(error.setting, 'segmentLens.postgres.mode');
    assert.ok(error.message.startsWith("`interval '1 day'` is PostgreSQL's interval literal; SQLite cannot run it"));
    // The whole {{ }} that rendered it, found here by hand.
    const call = "{{ dbt.dateadd('day', 7, 'order_date') }}";
    const lines = text.split('\n');
    const line = lines.findIndex((candidate) => candidate.includes(call));
    const column = lines[line].indexOf(call) + 1;
    assert.deepEqual(error.location, {
      file: path.join(dir, model),
      line: line + 1,
      column,
      endLine: line + 1,
      endColumn: column + call.length,
    });
  });

  it("gives a dbt-postgres profile's target to the model: type, name, schema, database, user, host, port, threads", async () => {
    const { dir, model } = projectWorkspace(
      segmentModel(`'{{ target.type }}/{{ target.name }}/{{ target.schema }}/{{ target.threads }}'`).replace(
        'select region,',
        `select '{{ target.database }}@{{ target.host }}:{{ target.port }} as {{ target.user }}' || region as region,`,
      ),
    );
    write(
      dir,
      'profiles.yml',
      [
        'shop:',
        '  target: ci',
        '  outputs:',
        '    ci:',
        '      type: postgres',
        `      host: ${running!.host}`,
        `      port: ${running!.port}`,
        `      user: ${READER}`,
        '      password: "{{ env_var(\'RENDER_PG_PASSWORD\') }}"',
        `      dbname: ${DATABASE}`,
        '      schema: analytics',
        '      threads: 4',
        '',
      ].join('\n'),
    );
    const result = await ok({ model, connection: { type: 'dbt' } }, dir);
    const prefix = `${DATABASE}@${running!.host}:${running!.port} as ${READER}`;
    assert.deepEqual(
      [...new Set(result.rows.map((row) => `${String(row[0])} ${String(row[1])}`))],
      ['East', 'North', 'South', 'West'].map((region) => `${prefix}${region} postgres/ci/analytics/4`),
    );
  });
});

describe("postgresRender: ref() and this name the schema dbt-postgres's generate_schema_name gives", () => {
  const MART = "select * from {{ ref('stg_orders') }} join {{ ref('raw_orders') }} using (id) -- {{ this }}";

  /** A project: staging models with `+schema: staging`, a mart with config(schema='marts'), a seed. */
  async function schemaProject(macro?: string) {
    const dir = tempWorkspace();
    write(
      dir,
      'dbt_project.yml',
      'name: shop\nmodel-paths: [models]\nmacro-paths: [macros]\nmodels:\n  shop:\n    staging:\n      +schema: staging\n',
    );
    write(dir, 'models/staging/stg_orders.sql', 'select 1 as id -- {{ this }}');
    write(dir, 'models/marts/orders.sql', `{{ config(schema='marts') }}\n${MART}`);
    write(dir, 'seeds/raw_orders.csv', 'id\n1\n');
    if (macro) write(dir, 'macros/generate_schema_name.sql', macro);
    return { dir, project: await loadDbtProject(dir) };
  }

  async function renderIn(dir: string, project: Awaited<ReturnType<typeof loadDbtProject>>, adapter: DbtAdapter) {
    const { library } = await loadMacroLibrary(project, adapter);
    const context: RenderContext = {
      jinja,
      library,
      project,
      target: { name: 'dev', schema: adapter === 'postgres' ? 'analytics' : 'main', type: adapter },
      env: {},
      execute: true,
    };
    const generated = adapter === 'postgres' ? withGeneratedSchemas(project, context) : project;
    const renderOne = (file: string) =>
      renderModel(readFileSync(path.join(dir, file), 'utf8'), path.join(dir, file), {
        ...context,
        project: generated,
      }).sql;
    return { mart: renderOne('models/marts/orders.sql'), staging: renderOne('models/staging/stg_orders.sql') };
  }

  it("puts a custom schema under the target's by dbt's default: <target schema>_<custom>", async () => {
    const { dir, project } = await schemaProject();
    const { mart, staging } = await renderIn(dir, project, 'postgres');
    assert.equal(
      mart,
      '\nselect * from analytics_staging.stg_orders join analytics.raw_orders using (id) -- analytics_marts.orders',
    );
    assert.equal(staging, 'select 1 as id -- analytics_staging.stg_orders');
  });

  it("calls the project's generate_schema_name with the custom schema and the node", async () => {
    const { dir, project } = await schemaProject(
      `{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}{{ target.schema }}
  {%- else -%}{{ node.fqn | join('.') }}/{{ node.resource_type }}/{{ node.config.schema }}/{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}`,
    );
    const { mart } = await renderIn(dir, project, 'postgres');
    // A name that needs quoting is quoted, as dbt-postgres quotes it.
    assert.equal(
      mart,
      '\nselect * from "shop.staging.stg_orders/model/staging/staging".stg_orders join analytics.raw_orders using (id) -- "shop.marts.orders/model/marts/marts".orders',
    );
  });

  it('renders SQLite targets as before: the custom schema is the attached database', async () => {
    const { dir, project } = await schemaProject('{% macro generate_schema_name(c, n) %}never{% endmacro %}');
    const { mart, staging } = await renderIn(dir, project, 'sqlite');
    assert.equal(mart, '\nselect * from staging.stg_orders join main.raw_orders using (id) -- main.orders');
    assert.equal(staging, 'select 1 as id -- main.stg_orders');
  });

  it('names generate_schema_name when it fails, runs past its fuel, or gives no schema', async () => {
    const cases: [string, RegExp][] = [
      [
        "{% macro generate_schema_name(c, n) %}{{ exceptions.raise_compiler_error('no schema for ' ~ n.name) }}{% endmacro %}",
        /^The project's generate_schema_name failed for \w+ \(dbt calls it to name the schema each model is built in\): .*no schema for/,
      ],
      [
        '{% macro generate_schema_name(c, n) %}{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}{% endmacro %}',
        /^The project's generate_schema_name failed for \w+ .*took more than the 3,000,000 steps/,
      ],
      [
        '{% macro generate_schema_name(c, n) %}  {% endmacro %}',
        /^The project's generate_schema_name gives an empty schema for \w+/,
      ],
    ];
    for (const [macro, message] of cases) {
      const { dir, project } = await schemaProject(macro);
      await assert.rejects(renderIn(dir, project, 'postgres'), (error: Error) => {
        assert.match(error.message, message);
        return true;
      });
    }
  });
});
