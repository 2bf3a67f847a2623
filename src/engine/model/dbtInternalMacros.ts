// dbt's own macros (namespace `dbt`) that templates and packages call: `statement` (with `load_result`), and the
// dispatching front of each cross-database macro, whose SQLite implementations are in dbtBuiltins.ts.

/** `{% call statement('name', fetch_result=True) %}select …{% endcall %}` runs the query for `load_result('name')`. */
const STATEMENT = `{% macro statement(name=None, fetch_result=False, auto_begin=True, language='sql') -%}
{%- if execute -%}{%- do __lens_statement(name, caller()) -%}{%- endif -%}
{%- endmacro %}
`;

/** `dbt.name(…)` dispatches to `sqlite__name` (a project or package may override it, as in dbt). */
function dispatchingFronts(implementations: string): string {
  const fronts: string[] = [];
  for (const match of implementations.matchAll(/\{%-?\s*macro\s+sqlite__(?!lens_)(\w+)\s*\(([^)]*)\)/g)) {
    const [, name, parameters] = match;
    const names = parameters
      .split(',')
      .map((parameter) => parameter.split('=')[0].trim())
      .filter(Boolean);
    fronts.push(
      `{% macro ${name}(${parameters}) %}{{ return(adapter.dispatch('${name}', 'dbt')(${names.join(', ')})) }}{% endmacro %}`,
    );
  }
  return fronts.join('\n');
}

export const SQLITE_CROSS_DB_MACROS_PLACEHOLDER = '';

export const DBT_INTERNAL_MACROS = `${STATEMENT}${SQLITE_CROSS_DB_MACROS_PLACEHOLDER}\n${dispatchingFronts(SQLITE_CROSS_DB_MACROS_PLACEHOLDER)}\n`;
