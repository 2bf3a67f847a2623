// dbt's own macros (namespace `dbt`) that templates and packages call: `statement` (with `load_result`), and the
// dispatching front of each cross-database macro, whose implementations are in dbtBuiltins.ts (SQLite's, and dbt's
// default and dbt-postgres's, which the adapter's dispatch chooses between).
import { DEFAULT_AND_POSTGRES_CROSS_DB_MACROS, SQLITE_CROSS_DB_MACROS } from './dbtBuiltins';

/** `{% call statement('name', fetch_result=True) %}select …{% endcall %}` runs the query for `load_result('name')`. */
const STATEMENT = `{% macro statement(name=None, fetch_result=False, auto_begin=True, language='sql') -%}
{%- if execute -%}{%- do __lens_statement(name, caller()) -%}{%- endif -%}
{%- endmacro %}
`;

/** A macro's parameter list split at its top-level commas (defaults may hold quoted commas and brackets). */
function splitParameters(parameters: string): string[] {
  const parts: string[] = [''];
  let quote = '';
  let depth = 0;
  for (const char of parameters) {
    if (quote) quote = char === quote ? '' : quote;
    else if (char === '"' || char === "'") quote = char;
    else if ('([{'.includes(char)) depth++;
    else if (')]}'.includes(char)) depth--;
    else if (char === ',' && depth === 0) {
      parts.push('');
      continue;
    }
    parts[parts.length - 1] += char;
  }
  return parts.filter((part) => part.trim() !== '');
}

/** `dbt.name(…)` dispatches to `<adapter>__name` or `default__name` (a project or package may override it, as in dbt). */
function dispatchingFronts(implementations: string): string {
  const fronts: string[] = [];
  for (const match of implementations.matchAll(/\{%-?\s*macro\s+sqlite__(?!lens_)(\w+)\s*\(([^)]*)\)/g)) {
    const [, name, parameters] = match;
    const names = splitParameters(parameters).map((parameter) => parameter.split('=')[0].trim());
    fronts.push(
      `{% macro ${name}(${parameters}) %}{{ return(adapter.dispatch('${name}', 'dbt')(${names.join(', ')})) }}{% endmacro %}`,
    );
  }
  return fronts.join('\n');
}

export const DBT_INTERNAL_MACROS = `${STATEMENT}${SQLITE_CROSS_DB_MACROS}\n${DEFAULT_AND_POSTGRES_CROSS_DB_MACROS}\n${dispatchingFronts(SQLITE_CROSS_DB_MACROS)}\n`;
