import assert from 'node:assert/strict';
import { renderModel, type RenderContext } from '../../src/engine/model/jinja';
import type { LensError } from '../../src/engine/errors';
import path from 'node:path';
import { loadDbtProject } from '../../src/engine/model/dbtProject';
import { loadMacroLibrary } from '../../src/engine/model/macroLibrary';
import { dbtProject, jinja, tempWorkspace, thrownLensError, write } from './helpers';
import type { DbtProject } from '../../src/engine/model/dbtProject';

const project: DbtProject = dbtProject({
  dir: '/project',
  name: 'shop',
  profile: 'shop',
  vars: { platinum_floor: 12000, regions: ['North', 'South'] },
  modelSchemas: new Map([
    ['stg_customers', 'staging'],
    ['int_customer_metrics', 'intermediate'],
  ]),
  nodes: new Set(['stg_customers', 'int_customer_metrics', 'plain_model']),
  sources: new Map([['shop_raw', { schema: 'raw', identifiers: new Map([['customers', 'raw_customers']]) }]]),
});
const context: RenderContext = {
  jinja,
  project,
  target: { name: 'dev', schema: 'main', type: 'sqlite' },
  env: { SEGMENT_FLOOR: '900' },
};

function render(template: string) {
  return renderModel(template, 'model.sql', context);
}

function renderError(template: string): LensError {
  return thrownLensError(() => render(template), 'a Jinja error');
}

/** Line and column (1-based) of `needle` in `text`, found by hand. */
function where(text: string, needle: string, occurrence = 0) {
  let offset = -1;
  for (let i = 0; i <= occurrence; i++) offset = text.indexOf(needle, offset + 1);
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

describe('jinja: dbt functions', () => {
  it('ref() with and without a package resolves to the schema the project gives, else the target schema', () => {
    const { sql } = render(
      "select * from {{ ref('stg_customers') }} join {{ ref('shop', 'int_customer_metrics') }} join {{ ref('plain_model') }}",
    );
    assert.equal(
      sql,
      'select * from staging.stg_customers join intermediate.int_customer_metrics join main.plain_model',
    );
  });

  it('source(), var() with and without default, env_var(), config(), comments, target and is_incremental()', () => {
    const { sql } = render(
      [
        "{{ config(materialized='table', schema='marts') }}",
        '{# a comment that renders to nothing #}',
        "select * from {{ source('shop_raw', 'customers') }}, {{ source('other', 'orders') }}",
        "where spent >= {{ var('platinum_floor') }} and x = {{ var('missing', 7) }} and y = {{ env_var('SEGMENT_FLOOR') }}",
        "and t = '{{ target.name }}'{% if is_incremental() %} and never{% endif %}",
      ].join('\n'),
    );
    assert.equal(
      sql,
      "\n\nselect * from raw.raw_customers, other.orders\nwhere spent >= 12000 and x = 7 and y = 900\nand t = 'dev'",
    );
  });

  it('loops, macros and whitespace control render exactly as Jinja2 renders them', () => {
    const template = [
      '{% macro seg(col, floor) -%}',
      "  CASE WHEN {{ col }} >= {{ floor }} THEN 'hi' ELSE 'lo' END",
      '{%- endmacro %}',
      'select',
      "{%- for region in var('regions') %}",
      "  {{ seg('spent', 10) }} as s_{{ region | lower }}{% if not loop.last %},{% endif %}",
      '{%- endfor %}',
      'from t',
    ].join('\n');
    // Rendered once by Python's Jinja2 3.1.6 (var('regions') = ['North', 'South']).
    const jinja2 =
      "\nselect\n  CASE WHEN spent >= 10 THEN 'hi' ELSE 'lo' END as s_north,\n  CASE WHEN spent >= 10 THEN 'hi' ELSE 'lo' END as s_south\nfrom t";
    assert.equal(render(template).sql, jinja2);
  });
});

describe('jinja: positions in the rendered SQL map back to the file', () => {
  const template = [
    "{{ config(materialized='view') }}",
    'with base as (',
    "    select i.customer_id from {{ ref('int_customer_metrics') }} as i",
    "    join {{ ref('stg_customers') }} as c on i.customer_id = c.customer_id",
    ')',
    'select * from base',
  ].join('\n');

  it('literal text maps offset by offset', () => {
    const { sql, sourceMap } = render(template);
    for (const needle of ['with base', 'as i', 'join', 'on i.customer_id', 'select * from base']) {
      const location = sourceMap.location(sql.indexOf(needle));
      assert.deepEqual({ line: location.line, column: location.column }, where(template, needle), needle);
    }
  });

  it('text a {{ }} produced maps to the whole tag', () => {
    const { sql, sourceMap } = render(template);
    const start = sql.indexOf('staging.stg_customers');
    const location = sourceMap.location(start, start + 'staging.stg_customers'.length);
    const tag = "{{ ref('stg_customers') }}";
    const tagStart = where(template, tag);
    assert.deepEqual(
      [location.line, location.column, location.endLine, location.endColumn],
      [tagStart.line, tagStart.column, tagStart.line, tagStart.column + tag.length],
    );
  });

  it('positions after whitespace control and loops stay exact', () => {
    const looped = 'select{%- for n in [1, 2] %}\n  {{ n }} as c{{ n }},{%- endfor %}\n  last_column\nfrom t';
    const { sql, sourceMap } = render(looped);
    assert.equal(sql, 'select\n  1 as c1,\n  2 as c2,\n  last_column\nfrom t');
    assert.deepEqual(
      {
        line: sourceMap.location(sql.indexOf('last_column')).line,
        column: sourceMap.location(sql.indexOf('last_column')).column,
      },
      where(looped, 'last_column'),
    );
    assert.deepEqual(
      {
        line: sourceMap.location(sql.indexOf('from t')).line,
        column: sourceMap.location(sql.indexOf('from t')).column,
      },
      where(looped, 'from t'),
    );
    // Both loop iterations' " as c" come from the same place in the file.
    const second = sql.indexOf(' as c', sql.indexOf(' as c') + 1);
    assert.deepEqual(
      { line: sourceMap.location(second).line, column: sourceMap.location(second).column },
      where(looped, ' as c'),
    );
  });
});

describe('jinja: errors name the line in the file', () => {
  it('a syntax error', () => {
    const error = renderError('select 1\nfrom t\n{% if %}\n');
    assert.equal(error.value.code, 'jinja');
    assert.equal(error.value.location?.line, 3);
    assert.equal(error.value.location?.file, 'model.sql');
  });

  it('an unknown macro', () => {
    const error = renderError("select\n  a,\n  {{ dbt_utils.star(ref('stg_customers')) }}\nfrom t");
    assert.equal(error.value.location?.line, 3);
    assert.match(error.value.message, /dbt_utils/);
  });

  it('an undefined variable', () => {
    const error = renderError('select\n  {{ not_defined_anywhere }}\nfrom t');
    assert.equal(error.value.location?.line, 2);
    assert.match(error.value.message, /not_defined_anywhere is undefined/);
  });

  it('a var() that is not set and has no default', () => {
    const error = renderError("select 1\nwhere x > {{ var('gold_floor') }}");
    assert.equal(error.value.location?.line, 2);
    assert.match(error.value.message, /gold_floor/);
    assert.match(error.value.hint ?? '', /vars:/);
  });

  it('ref() to a model that is nowhere in the project', () => {
    const error = renderError("select *\nfrom {{ ref('stg_customerz') }}");
    assert.equal(error.value.location?.line, 2);
    assert.match(
      error.value.message,
      /ref\('stg_customerz'\): the dbt project has no model or seed named stg_customerz/,
    );
  });

  it('ref() with a wrong argument', () => {
    const error = renderError('select 1\n\nfrom {{ ref(42) }}');
    assert.equal(error.value.location?.line, 3);
    assert.match(error.value.message, /ref\(\) takes a model name/);
  });
});

describe('jinja: modules.re and modules.datetime', () => {
  it('re: match, search, findall, sub and split as Python gives them; a pathological pattern stays linear', () => {
    const { sql } = render(
      [
        "{{ modules.re.match('(\\\\d{4})-(\\\\d\\\\d)', '2024-03-15').group(2) }}",
        "{{ modules.re.search('o+', 'foo').group() }}",
        "{{ modules.re.findall('[a-z]+', 'a1bc2d') }}",
        "{{ modules.re.sub('(\\\\w)(\\\\d)', '\\\\2\\\\1', 'a1 b2') }}",
        "{{ modules.re.split(',\\\\s*', 'x, y,z') }}",
        "{{ modules.re.match('x', 'abc') is none }}",
        "{{ modules.re.match('(a+)+$', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab') is none }}",
      ].join('\n'),
    );
    assert.equal(sql, "03\noo\n['a', 'bc', 'd']\n1a 2b\n['x', 'y', 'z']\nTrue\nTrue");
  });

  it('datetime: today and now, formatted with strftime', () => {
    const { sql } = render(
      "{{ modules.datetime.date.today().strftime('%Y') }}|{{ modules.datetime.datetime.now().year }}",
    );
    const year = String(new Date().getUTCFullYear());
    assert.equal(sql, `${year}|${year}`);
  });

  it('a bad pattern is an error naming the file, not a crash', () => {
    const error = renderError("select\n{{ modules.re.match('(', 'x') }}");
    assert.match(error.message, /failed|parenthesis|missing/i);
  });
});

describe('jinja: project macros', () => {
  it('an error inside a macro names the macro file and its line', async () => {
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: shop\n');
    write(dir, 'macros/broken.sql', '{% macro broken() %}\n  select\n  {{ no_such_variable_here }}\n{% endmacro %}\n');
    const project_ = await loadDbtProject(dir);
    const { library, text } = await loadMacroLibrary(project_);
    const error = thrownLensError(
      () =>
        renderModel('select\n{{ broken() }}', 'model.sql', { ...context, project: project_, library, macroText: text }),
      'an error in the macro',
    );
    assert.equal(error.value.location?.file, path.join(dir, 'macros', 'broken.sql'));
    assert.equal(error.value.location?.line, 3);
  });
});

describe('jinja: dbt functions, more', () => {
  it('var() reads vars scoped to the project before its global ones', () => {
    const scoped = dbtProject({ dir: '/project', name: 'shop', vars: { floor: 1, shop: { floor: 2 } } });
    assert.equal(renderModel("{{ var('floor') }}", 'model.sql', { ...context, project: scoped }).sql, '2');
  });

  it("dbt's cross-database macros dispatch to their SQLite implementations", async () => {
    const { library, text } = await loadMacroLibrary(undefined);
    const { sql } = renderModel(
      "{{ dbt.date_trunc('month', \"'2024-03-15'\") }} | {{ dbt.concat(['a', 'b']) }} | {{ dbt.type_string() }}",
      'model.sql',
      { ...context, library, macroText: text },
    );
    assert.equal(sql, "datetime('2024-03-15', 'start of month') | a || b | text");
  });

  it('a package packages.yml lists but dbt_packages/ lacks says to run dbt deps', async () => {
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: shop\n');
    write(dir, 'packages.yml', 'packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.1.1\n');
    const error = await loadMacroLibrary(await loadDbtProject(dir)).then(
      () => assert.fail('expected an error'),
      (caught: LensError) => caught,
    );
    assert.match(error.value.message, /dbt-labs\/dbt_utils/);
    assert.match(error.value.hint ?? '', /dbt deps/);
  });

  it('a syntax error in a macro file names that file and line', async () => {
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: shop\n');
    write(dir, 'macros/bad.sql', '{% macro fine() %}ok{% endmacro %}\n\n{% macro bad() %}{{ oops {% endmacro %}\n');
    const error = await loadMacroLibrary(await loadDbtProject(dir)).then(
      () => assert.fail('expected an error'),
      (caught: LensError) => caught,
    );
    assert.equal(error.value.location?.file, path.join(dir, 'macros', 'bad.sql'));
    assert.equal(error.value.location?.line, 3);
  });
});

describe('jinja: tags left open', () => {
  for (const [template, tag] of [
    ['select 1\n{# a comment never closed\nfrom t', '{#'],
    ['select 1\nfrom {{ ref("t")', '{{'],
    ['select 1\n{% if true\nfrom t', '{%'],
    ['select 1\n{% raw %}{{ not a tag\n', 'raw'],
  ] as const) {
    it(`${JSON.stringify(template.split('\n')[1])} is an error at its line, not a crash`, () => {
      const error = renderError(template);
      assert.equal(error.value.code, 'jinja');
      assert.equal(error.value.location?.line, 2, tag);
      assert.doesNotMatch(error.value.message, /\n/);
    });
  }
});

describe('jinja: a project named oddly', () => {
  it('a project or package name that is not an identifier does not break its macros', async () => {
    const dir = tempWorkspace();
    write(dir, 'dbt_project.yml', 'name: "my shop"\n');
    write(dir, 'macros/m.sql', '{% macro twice(x) %}{{ x }} * 2{% endmacro %}');
    const project_ = await loadDbtProject(dir);
    const { library, text } = await loadMacroLibrary(project_);
    const { sql } = renderModel('select {{ twice(3) }} as n', 'model.sql', {
      ...context,
      project: project_,
      library,
      macroText: text,
    });
    assert.equal(sql, 'select 3 * 2 as n');
  });
});
