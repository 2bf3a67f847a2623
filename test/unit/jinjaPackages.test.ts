// What installed dbt packages do with Jinja, in our own templates: Python's string escapes, conditional expressions
// without else, None printed, lists and dicts changed in place (also dicts keyed by relations), return() of values
// that keep their methods, and the parts of dbt's context packages read (flags, api.Column, model, project_name).
// Expected text is what Python's Jinja2 3.1.6 renders for the same template (dbt's setup: the do extension, the
// default Undefined), written here by hand from its output.
import assert from 'node:assert/strict';
import path from 'node:path';
import { renderModel, type RenderContext } from '../../src/engine/model/jinja';
import { loadDbtProject } from '../../src/engine/model/dbtProject';
import { loadMacroLibrary } from '../../src/engine/model/macroLibrary';
import type { LensError } from '../../src/engine/errors';
import { jinja, tempWorkspace, thrownLensError, write } from './helpers';

const context: RenderContext = {
  jinja,
  target: { name: 'dev', schema: 'main', type: 'sqlite' },
  env: {},
  execute: true,
  columnsOf: (_schema, identifier) =>
    identifier === 'orders'
      ? [
          { name: 'order_id', type: 'integer' },
          { name: 'status', type: 'varchar(20)' },
          { name: 'amount', type: 'numeric(10,2)' },
        ]
      : undefined,
};

/** A dbt project in a temp folder with `files` (relative path → text), its library loaded, and a renderer for it. */
async function projectWith(files: Record<string, string>) {
  const dir = tempWorkspace();
  write(dir, 'dbt_project.yml', 'name: shop\n');
  for (const [file, text] of Object.entries(files)) write(dir, file, text);
  const project = await loadDbtProject(dir);
  const { library, text } = await loadMacroLibrary(project);
  return {
    dir,
    render: (template: string) =>
      renderModel(template, path.join(dir, 'models', 'model.sql'), {
        ...context,
        project,
        library,
        macroText: text,
      }).sql,
  };
}

const render = (template: string) => renderModel(template, 'model.sql', context).sql;

describe('jinja: string literals read as Jinja2 (Python) reads them', () => {
  it("\\d in a pattern, \\t, a backslash before a line break, \\x41 \\101 \\u0041, an unknown escape, \\\\ in a default, \\'", () => {
    const template = [
      "{{ modules.re.sub('\\d+', '#', 'a1b22') }}",
      "{{ 'tab\\there' }}",
      "{{ 'one \\\ntwo' }}",
      "{{ '\\x41\\101\\u0041' }}",
      "{{ 'a\\.b' }}",
      "{% macro m(sep='\\\\') %}{{ sep }}{% endmacro %}{{ m() }}",
      '{{ "it\\\'s" }}',
    ].join('|');
    assert.equal(render(template), "a#b#|tab\there|one two|AAA|a\\.b|\\|it's");
  });

  it('a package macro MiniJinja could not read before (a message over two lines) no longer breaks every model', async () => {
    const { render: renderIn } = await projectWith({
      'dbt_packages/kit/dbt_project.yml': 'name: kit\n',
      'dbt_packages/kit/macros/warn.sql':
        "{% macro warn_me(x) %}{% set message = 'one \\\ntwo {}'.format(x) %}{{ message }}{% endmacro %}\n",
    });
    assert.equal(renderIn('select 1'), 'select 1');
  });
});

describe('jinja: what prints as nothing, and None', () => {
  it('a conditional expression without else prints nothing when false, as in dbt', () => {
    assert.equal(
      render(
        "{% for i in [1, 2, 3] %}{{ i }}{{ ',' if not loop.last }}{% endfor %}|{{ 'x' if false }}|{{ 'a' if false else 'b' if false }}|",
      ),
      '1,2,3|||',
    );
  });

  it('None prints as None (a var defaulting to none, the value of list.append)', () => {
    assert.equal(
      render("{{ none }}|{{ var('missing', none) }}|{% set x = [] %}{% set y = x.append(1) %}{{ y }}|{{ [none, 1] }}"),
      'None|None|None|[None, 1]',
    );
  });

  it('a name that is not defined is still an error naming it (dbt would print nothing)', () => {
    const error: LensError = thrownLensError(() => render('select {{ no_such_name }}'), 'an undefined name');
    assert.match(error.value.message, /no_such_name is undefined/);
  });
});

describe('jinja: lists and dicts changed in place', () => {
  it('append, insert, extend, update (with keywords), through subscripts and attributes, in a namespace', () => {
    const template = [
      "{% set d = {} %}{% set r = 'rel' %}{% do d.update({r: []}) %}{% do d[r].append('x') %}{% do d[r].append('y') %}{{ d[r] }}|{{ 'x' in d[r] }}",
      '{% set ns = namespace(items=[]) %}{% for i in range(3) %}{% do ns.items.append(i) %}{% endfor %}{{ ns.items }}',
      '{% set cols = [] %}{% set _ = cols.append(1) %}{% do cols.insert(0, 9) %}{% do cols.extend([5, 6]) %}{{ cols }}|{{ _ }}',
      "{% set m = {'a': {'b': [1]}} %}{% do m['a']['b'].append(2) %}{% do m.a.update({'c': 3}) %}{% do m.update(z=1) %}{{ m['a'] }}|{{ m['z'] }}",
      '{% set l = [[1], [2]] %}{% do l[1].append(3) %}{{ l }}',
      '{% macro add(xs) %}{% do xs.append(4) %}{{ xs }}{% endmacro %}{{ add([1]) }}',
    ].join('\n');
    assert.equal(
      render(template),
      "['x', 'y']|True\n[0, 1, 2]\n[9, 1, 5, 6]|None\n{'b': [1, 2], 'c': 3}|1\n[[1], [2, 3]]\n[1, 4]",
    );
  });

  it('a dict keyed by relations: looked up with another ref() to the same model', () => {
    const template =
      "{% set by = {} %}{% for r in [ref('a'), ref('b')] %}{% do by.update({r: []}) %}{% do by[r].append(r.identifier) %}{% endfor %}{{ by[ref('b')] }}";
    assert.equal(render(template), "['b']");
  });
});

describe('jinja: return() hands values back as they are', () => {
  it('columns keep their methods, relations stay dict keys, and a relation still renders', async () => {
    const { render: renderIn } = await projectWith({
      'seeds/orders.csv': 'order_id,status,amount\n',
      'macros/columns.sql': [
        '{% macro columns_of(relation) %}{{ return(adapter.get_columns_in_relation(relation)) }}{% endmacro %}',
        "{% macro keyed(relation) %}{% do return({relation: 'found'}) %}{% endmacro %}",
        '{% macro same(relation) %}text before{{ return(relation) }} text after{% endmacro %}',
      ].join('\n'),
    });
    const sql = renderIn(
      [
        "{% set cols = columns_of(ref('orders')) %}",
        '{% for c in cols %}{{ c.quoted }}:{{ c.is_string() }}:{{ c.is_number() }}:{{ c.data_type }} {% endfor %}',
        "|{{ keyed(ref('orders'))[ref('orders')] }}|{{ same(ref('orders')).render() }}",
      ].join(''),
    );
    assert.equal(
      sql,
      '"order_id":False:True:integer "status":True:False:character varying(20) "amount":False:True:numeric(10,2) |found|main.orders',
    );
  });

  it('only the first return() counts, and what a macro does after it does not run', async () => {
    const { render: renderIn } = await projectWith({
      'macros/first.sql':
        "{% macro first() %}{{ return(1) }}{{ exceptions.raise_compiler_error('after return') }}{{ return(2) }}{% endmacro %}",
    });
    assert.equal(renderIn('{{ first() }}'), '1');
  });

  it('{% do m() %} on a macro that returns throws its value away', async () => {
    const { render: renderIn } = await projectWith({
      'macros/value.sql': '{% macro value() %}{{ return([1, 2]) }}{% endmacro %}',
    });
    assert.equal(renderIn('{% do value() %}select 1'), 'select 1');
  });
});

describe("jinja: what packages read of dbt's context", () => {
  it('flags, api.Column, model, project_name, fromjson/tojson, set, local_md5, invocation_id', async () => {
    const { render: renderIn } = await projectWith({});
    assert.equal(
      renderIn(
        [
          '{{ flags.WHICH }}',
          "{{ api.Column.translate_type('string') }}",
          "{{ api.Column.translate_type('date') }}",
          "{{ api.Column.create('x', 'integer').data_type }}",
          '{{ api.Column.string_type(10) }}',
          '{{ model.name }}',
          '{{ model.unique_id }}',
          '{{ project_name }}',
          '{{ fromjson(\'{"a": [1, 2]}\').a[1] }}',
          "{{ tojson({'a': 1}) }}",
          '{{ set([1, 1, 2]) | length }}',
          "{{ local_md5('x') }}",
          '{{ invocation_id | length }}',
        ].join('|'),
      ),
      'run|TEXT|date|INT|character varying(10)|model|model.shop.model|shop|2|{"a": 1}|2|9dd4e461268c8034f5c8564e155c67a6|36',
    );
  });
});

describe('jinja: a package macro MiniJinja cannot read', () => {
  const files = {
    'dbt_packages/kit/dbt_project.yml': 'name: kit\n',
    'dbt_packages/kit/macros/pairs.sql': [
      '{% macro fine() %}fine{% endmacro %}',
      '',
      '{% macro unpacks() %}',
      '  {% set first, second = 1, 2 %}{{ second }}',
      '{% endmacro %}',
      '',
    ].join('\n'),
  };

  it('does not stop the models that do not call it', async () => {
    const { render: renderIn } = await projectWith(files);
    assert.equal(renderIn('select {{ kit.fine() }}'), 'select fine');
  });

  it('calling it is an error naming the macro, its file and line, and what MiniJinja could not read', async () => {
    const { dir, render: renderIn } = await projectWith(files);
    const error: LensError = thrownLensError(() => renderIn('select {{ kit.unpacks() }}'), 'an unreadable macro');
    assert.match(error.value.message, /cannot read the macro kit\.unpacks/);
    assert.match(error.value.message, /unexpected `,`/);
    assert.equal(error.value.location?.file, path.join(dir, 'dbt_packages', 'kit', 'macros', 'pairs.sql'));
    assert.equal(error.value.location?.line, 4);
    assert.match(error.value.hint ?? '', /sqlite__<name>/);
  });
});

describe('jinja: calls written with spaces', () => {
  it("adapter.dispatch('m', 'pkg') (args) dispatches and hands the value back; keywords before brackets stay keywords", async () => {
    const { render: renderIn } = await projectWith({
      'dbt_packages/kit/dbt_project.yml': 'name: kit\n',
      'dbt_packages/kit/macros/twice.sql': [
        "{% macro twice(x) %}{{ return(adapter.dispatch('twice', 'kit') (x)) }}{% endmacro %}",
        '{% macro default__twice(x) %}{{ return([x, x]) }}{% endmacro %}',
      ].join('\n'),
    });
    assert.equal(
      renderIn("{{ kit.twice(3) | sum }}|{{ [1, 2] [1] }}|{{ 'a' in ('a', 'b') }}|{{ not (1 > 2) }}"),
      '6|2|True|True',
    );
  });
});
