// Measures rendering a 300-line model that calls twenty project macros, after warm-up. Prints; asserts nothing.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDbtProject } from '../src/engine/model/dbtProject';
import { renderModel } from '../src/engine/model/jinja';
import { jinjaRuntime } from '../src/engine/model/jinjaRuntime';
import { loadMacroLibrary } from '../src/engine/model/macroLibrary';

const RUNS = 100;

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'segment-lens-bench-jinja-'));
  try {
    mkdirSync(path.join(dir, 'macros'));
    writeFileSync(path.join(dir, 'dbt_project.yml'), 'name: bench\nvars:\n  floor: 100\n');
    // Twenty macros: some dispatch, some return values, some loop.
    const macros: string[] = [];
    for (let index = 0; index < 20; index++) {
      macros.push(
        index % 3 === 0
          ? `{% macro m${index}(col) %}{{ return(adapter.dispatch('m${index}', 'bench')(col)) }}{% endmacro %}\n{% macro default__m${index}(col) %}round({{ col }} * ${index}, 2){% endmacro %}`
          : index % 3 === 1
            ? `{% macro m${index}(col) %}{% set parts = [] %}{% for i in range(3) %}{% do parts.append(col ~ ' + ' ~ i) %}{% endfor %}({{ parts | join(' * ') }}){% endmacro %}`
            : `{% macro m${index}(col) -%}\n  case when {{ col }} >= {{ var('floor') }} then 'high' else 'low' end\n{%- endmacro %}`,
      );
    }
    writeFileSync(path.join(dir, 'macros', 'bench.sql'), macros.join('\n'));
    const lines = ['with base as (', "  select * from {{ ref('orders') }}", '),', 'calculated as (', '  select'];
    for (let line = 0; lines.length < 296; line++) lines.push(`    {{ m${line % 20}('amount_${line}') }} as c${line},`);
    lines.push('    1 as last_column', '  from base', ')', 'select * from calculated');
    const model = lines.join('\n');
    const project = await loadDbtProject(dir);
    project.nodes.add('orders');
    const { library, text } = await loadMacroLibrary(project);
    const jinja = jinjaRuntime(path.join(__dirname, '..', '..', 'dist', 'minijinja'));
    const context = {
      jinja,
      library,
      macroText: text,
      project,
      target: { name: 'dev', schema: 'main', type: 'sqlite' },
      env: {},
      execute: true,
    };
    const render = () => renderModel(model, path.join(dir, 'models', 'wide.sql'), context);
    const firstStart = performance.now();
    const first = render();
    const firstMs = performance.now() - firstStart;
    for (let index = 0; index < 20; index++) render();
    const times: number[] = [];
    for (let index = 0; index < RUNS; index++) {
      const start = performance.now();
      render();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
    console.log(
      `Rendering a ${model.split('\n').length}-line model calling 20 macros (${first.sql.length.toLocaleString('en')} characters of SQL), ${RUNS} runs after 20 warm-up runs, Node ${process.version}`,
    );
    console.log(`first render ${firstMs.toFixed(1)} ms · median ${at(0.5)} ms · p95 ${at(0.95)} ms · max ${at(1)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
