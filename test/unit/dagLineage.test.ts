// Lineage across the DAG: the explored model's source columns that are other models' outputs continue into those
// models' SQL, down to the seeds. Expected paths are read off the fixture's SQL by hand; every step's span is
// checked against the text of its own file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { modelLineage, type Lineage } from '../../src/engine/index';
import { columnPaths, pathText, upstreamModelOf } from '../../src/shared/dagLineage';
import type { FileLocation } from '../../src/shared/problem';
import { assets, cliPath, jaffleShopWorkspace, write, seedsLineage as lineageOf } from './helpers';

/** The text at a span's line and column in its own file. */
function textAt(span: FileLocation): string {
  const line = readFileSync(span.file, 'utf8').split('\n')[span.line - 1];
  return line.slice(span.column - 1);
}

describe('lineage across the DAG', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => {
    dir = jaffleShopWorkspace();
  });

  it('customers.customer_lifetime_value reaches raw_payments.amount through stg_payments', async () => {
    const lineage = await lineageOf(dir, 'models/customers.sql');
    assert.deepEqual(
      lineage.upstreamModels?.map((model) => [model.model, model.relation]),
      [
        ['stg_customers', 'staging.stg_customers'],
        ['stg_orders', 'staging.stg_orders'],
        ['stg_payments', 'finance.stg_payments'],
      ],
    );
    const paths = columnPaths(lineage, 'customers', 'customer_lifetime_value').map(pathText);
    assert.deepEqual(paths, ['customers.customer_lifetime_value ← stg_payments.amount ← raw_payments.amount']);
    // stg_payments divides the seed's cents by 100 (the cents_to_dollars macro): an expression, in its own file.
    const [found] = columnPaths(lineage, 'customers', 'customer_lifetime_value');
    const payments = found.steps[1];
    assert.equal(payments.model, 'stg_payments');
    assert.deepEqual(payments.kinds, ['expression']);
    assert.ok(payments.span?.file.endsWith(path.join('models', 'staging', 'stg_payments.sql')));
    assert.match(textAt(payments.span!), /^\{\{ cents_to_dollars\('amount'\) \}\} as amount/);
    assert.ok(found.steps[0].kinds.includes('aggregate'), 'the lifetime value is a sum in customers.sql');
  });

  it('every upstream model carries its nodes and edges, each span in its own file at its column name', async () => {
    const lineage = await lineageOf(dir, 'models/marts/customer_segments.sql');
    const models = lineage.upstreamModels ?? [];
    assert.deepEqual(models.map((model) => model.model).sort(), [
      'customers',
      'stg_customers',
      'stg_orders',
      'stg_payments',
    ]);
    for (const model of models) {
      assert.equal(model.error, undefined);
      const own = path.resolve(dir, model.file);
      for (const node of model.lineage!.nodes.filter((candidate) => candidate.kind === 'output')) {
        assert.equal(path.resolve(dir, node.span!.file), own, `${model.model}.${node.column}`);
        assert.ok(
          textAt(node.span!).toLowerCase().includes(node.column.toLowerCase()) || /^\{\{/.test(textAt(node.span!)),
          `${model.model}.${node.column} at ${node.span!.line}:${node.span!.column}`,
        );
      }
      assert.ok(model.lineage!.edges.length > 0);
    }
    // The explored model's own source columns resolve to the model that builds them.
    assert.equal(upstreamModelOf(lineage, 'main.customers')?.model, 'customers');
    assert.deepEqual(columnPaths(lineage, 'customer_segments', 'avg_ltv').map(pathText), [
      'customer_segments.avg_ltv ← customers.customer_lifetime_value ← stg_payments.amount ← raw_payments.amount',
    ]);
    // The region is cut from customer_id, which stg_customers renames from the seed's id.
    assert.deepEqual(columnPaths(lineage, 'customer_segments', 'region').map(pathText), [
      'customer_segments.region ← customers.customer_id ← stg_customers.customer_id ← raw_customers.id',
    ]);
  });

  it('an ephemeral model is a CTE of the models on it: the path goes through it to the seed, its span in its file', async () => {
    const ephemeral = jaffleShopWorkspace();
    const file = path.join(ephemeral, 'models', 'staging', 'stg_payments.sql');
    write(
      ephemeral,
      'models/staging/stg_payments.sql',
      `{{ config(materialized='ephemeral') }}\n${readFileSync(file, 'utf8')}`,
    );
    const lineage = await lineageOf(ephemeral, 'models/marts/customer_segments.sql');
    assert.deepEqual(lineage.upstreamModels?.map((model) => model.model).sort(), [
      'customers',
      'stg_customers',
      'stg_orders',
    ]);
    assert.deepEqual(columnPaths(lineage, 'customer_segments', 'avg_ltv').map(pathText), [
      'customer_segments.avg_ltv ← customers.customer_lifetime_value ← raw_payments.amount',
    ]);
    const customers = lineage.upstreamModels!.find((model) => model.model === 'customers')!;
    const injected = customers.lineage!.nodes.find(
      (node) => node.relation === '__dbt__cte__stg_payments' && node.column === 'amount',
    );
    assert.equal(path.resolve(ephemeral, injected!.span!.file), file);
    assert.match(textAt(injected!.span!), /^\{\{ cents_to_dollars\('amount'\) \}\} as amount/);
  });

  it('depth limits the paths: 1 stops at the model’s own sources', async () => {
    const lineage = await lineageOf(dir, 'models/marts/customer_segments.sql');
    const [one] = columnPaths(lineage, 'customer_segments', 'avg_ltv', 1);
    assert.equal(pathText(one), 'customer_segments.avg_ltv ← customers.customer_lifetime_value ← …');
    assert.equal(one.truncated, true);
    const [two] = columnPaths(lineage, 'customer_segments', 'avg_ltv', 2);
    assert.equal(
      pathText(two),
      'customer_segments.avg_ltv ← customers.customer_lifetime_value ← stg_payments.amount ← …',
    );
  });

  it('an upstream model read from the data whose SQL cannot be read stops its paths there and says why; the rest continue', async () => {
    const broken = jaffleShopWorkspace();
    // The data holds stg_orders (a warehouse built before the edit), so the run reads it; its file no longer parses.
    write(broken, 'seeds/staging/stg_orders.csv', 'order_id,customer_id,order_date,status\n1,1,2018-01-01,placed\n');
    write(broken, 'models/staging/stg_orders.sql', "select id as order_id from {{ ref('raw_orders') }} where (\n");
    const outcome = await modelLineage(
      {
        workspaceDir: broken,
        settings: { model: 'models/customers.sql', connection: { type: 'csv', directory: 'seeds' } },
        env: {},
      },
      assets,
    );
    if (!outcome.ok) assert.fail(JSON.stringify(outcome.error));
    const lineage = outcome.result.lineage;
    const orders = lineage.upstreamModels?.find((model) => model.model === 'stg_orders');
    assert.match(orders?.error ?? '', /stg_orders\.sql/);
    assert.equal(orders?.lineage, undefined);
    assert.deepEqual(columnPaths(lineage, 'customers', 'customer_lifetime_value').map(pathText), [
      'customers.customer_lifetime_value ← stg_payments.amount ← raw_payments.amount',
    ]);
  });

  it('CLI: full paths by default, --depth limits them, JSON carries each model with its file', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [cliPath, 'lineage', '--workspace', dir, '--model', ...args], {
        encoding: 'utf8',
        env: { ...process.env, HOME: dir },
      });
    write(
      dir,
      '.vscode/settings.json',
      JSON.stringify({ 'segmentLens.connection': { type: 'csv', directory: 'seeds' } }),
    );
    const table = cli('models/customers.sql', '--format', 'table');
    assert.equal(table.status, 0, table.stderr);
    assert.match(
      table.stdout,
      /^customers\.customer_lifetime_value ← stg_payments\.amount ← raw_payments\.amount {2}\(expression → .*aggregate.*\)$/m,
    );
    const shallow = cli('models/customers.sql', '--format', 'table', '--depth', '1');
    assert.match(shallow.stdout, /^customers\.customer_lifetime_value ← stg_payments\.amount ← … /m);
    const json = JSON.parse(cli('models/customers.sql').stdout) as Lineage & {
      paths: { column: string; path: string[]; truncated: boolean }[];
    };
    assert.deepEqual(json.paths.find((found) => found.column === 'customer_lifetime_value')?.path, [
      'customers.customer_lifetime_value',
      'stg_payments.amount',
      'raw_payments.amount',
    ]);
    const payments = json.upstreamModels?.find((model) => model.model === 'stg_payments');
    assert.ok(payments?.file.endsWith(path.join('staging', 'stg_payments.sql')));
    assert.ok(payments?.lineage?.edges.every((edge) => !edge.span || edge.span.file === payments.file));
    for (const bad of ['0', 'two', '1.5']) {
      const refused = cli('models/customers.sql', '--depth', bad);
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /--depth/);
    }
  });
});
