// The model's documentation (src/shared/describe.ts) and the CLI's `describe`: for the bundled sample, every table,
// column, CTE, threshold, aggregate, ordering and the grain that /work/shared/model-spec.md states (written below
// by hand from the spec) appears in its section of the generated Markdown.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { modelLineage } from '../../src/engine/index';
import { buildLineage } from '../../src/engine/sql/lineage';
import { renderModel } from '../../src/engine/model/jinja';
import { aggregateWords, code, describeModel } from '../../src/shared/describe';
import { assets, cliPath, hashTree, jinja, tempWorkspace, write } from './helpers';

/** The text of the `## title` section, up to the next `## ` heading. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `the document has a "${title}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The numbered step of the Logic explanation whose title contains `title`, with its bullets. */
function step(markdown: string, title: string): string {
  const logic = section(markdown, 'Logic explanation');
  const steps = logic.split(/\n(?=\d+\. )/);
  const found = steps.find((candidate) => /^\d+\. /.test(candidate) && candidate.split('\n')[0].includes(title));
  assert.ok(found, `a step titled ${title} in:\n${logic}`);
  return found;
}

async function sampleDescription(): Promise<string> {
  const outcome = await modelLineage({ workspaceDir: tempWorkspace(), settings: {}, env: {} }, assets);
  assert.ok(outcome.ok);
  return describeModel({ model: 'customer_segments', lineage: outcome.result.lineage });
}

describe('describe: the model documentation', () => {
  let markdown: string;
  before(async () => {
    markdown = await sampleDescription();
  });

  it('has the sections of a model doc, in order', () => {
    const headings = markdown.split('\n').filter((line) => line.startsWith('#'));
    assert.deepEqual(headings, [
      '# customer_segments',
      '## Overview',
      '## Tables involved',
      '## Columns used',
      '## Logic explanation',
      '## Grain of data',
    ]);
  });

  it('the overview: what it reads and what it produces', () => {
    const overview = section(markdown, 'Overview');
    for (const fact of ['`base`', '`customer_count`', '`avg_ltv`', '`avg_orders`', '`region` × `customer_segment`'])
      assert.ok(overview.includes(fact), fact);
    for (const segment of ['Platinum', 'Gold', 'Silver', 'Bronze']) assert.ok(overview.includes(segment), segment);
  });

  it('every table of the spec', () => {
    const tables = section(markdown, 'Tables involved');
    for (const table of ['intermediate.int_customer_metrics', 'staging.stg_customers'])
      assert.match(tables, new RegExp(`^- \`${table.replace('.', '\\.')}\``, 'm'), table);
  });

  it('every column of the spec, with what it is used for', () => {
    const columns = section(markdown, 'Columns used');
    const spec = [
      'intermediate.int_customer_metrics.customer_id',
      'intermediate.int_customer_metrics.total_spent',
      'intermediate.int_customer_metrics.total_orders',
      'intermediate.int_customer_metrics.avg_order_value',
      'staging.stg_customers.customer_id',
      'staging.stg_customers.first_name',
      'staging.stg_customers.last_name',
      'staging.stg_customers.region',
    ];
    for (const column of spec) assert.match(columns, new RegExp(`^- \`${column.replaceAll('.', '\\.')}\` — .+`, 'm'));
    const line = (column: string) => columns.split('\n').find((text) => text.startsWith(`- \`${column}\``))!;
    assert.match(line('intermediate.int_customer_metrics.total_spent'), /CASE.*customer_segment/);
    assert.match(line('intermediate.int_customer_metrics.total_spent'), /AVG\(total_spent\)/);
    assert.match(line('staging.stg_customers.customer_id'), /join key of `base`/);
    assert.match(line('staging.stg_customers.region'), /groups the rows of the final select/);
  });

  it('the CTE base: its join on customer_id and the CASE with each threshold', () => {
    const base = step(markdown, 'CTE `base`');
    assert.match(base, /^1\. \*\*CTE `base`\*\*/);
    assert.ok(base.includes('INNER JOIN on `customer_id`'), base);
    assert.ok(base.includes('`intermediate.int_customer_metrics`') && base.includes('`staging.stg_customers`'));
    assert.ok(base.includes('`customer_segment`') && base.includes('`total_spent`'));
    const branch = (segment: string) => base.split('\n').find((text) => text.includes(`\`${segment}\``)) ?? '';
    assert.match(branch('Platinum'), /total_spent >= 10000/);
    assert.match(branch('Gold'), /total_spent >= 5000/);
    assert.match(branch('Silver'), /total_spent >= 1000/);
    assert.match(branch('Bronze'), /ELSE/);
    // What each segment really takes, after the branches above it.
    assert.match(branch('Gold'), /5000 ≤ total_spent < 10000/);
    assert.match(branch('Bronze'), /total_spent < 1000/);
  });

  it('the final select: the aggregates, rounded to two decimal places', () => {
    const final = step(markdown, 'Final select');
    assert.ok(final.includes('Reads `base`'));
    for (const aggregate of ['COUNT(DISTINCT customer_id)', 'AVG(total_spent)', 'AVG(total_orders)'])
      assert.ok(final.includes(aggregate), aggregate);
    assert.equal(final.match(/rounded to 2 decimal places/g)?.length, 2);
    assert.ok(final.includes('Groups by `region` and `customer_segment`'));
  });

  it('the ordering: region ascending, then avg_ltv descending', () => {
    assert.ok(step(markdown, 'Ordering').includes('`region` ascending, then `avg_ltv` descending'));
  });

  it('the grain: region × customer_segment', () => {
    assert.ok(section(markdown, 'Grain of data').includes('**`region` × `customer_segment`**'));
  });

  it('is deterministic', async () => {
    assert.equal(await sampleDescription(), markdown);
  });
});

describe('describe: other shapes of model', () => {
  /** The description of `sql`, its lineage built as the engine builds it: rendered, then walked. */
  const describeSql = (sql: string, tables: Record<string, string[]>) => {
    const rendered = renderModel(sql, 'model.sql', {
      jinja,
      target: { name: 'dev', schema: 'main', type: 'sqlite' },
      env: {},
    });
    const lineage = buildLineage({
      sql: rendered.sql,
      sourceMap: rendered.sourceMap,
      catalog: (table) => tables[table.toLowerCase()],
    });
    return describeModel({ model: 'm', lineage });
  };

  it('no GROUP BY, a filter, a LEFT JOIN, ordering in a CTE, an operand CASE without ELSE', () => {
    const markdown = describeSql(
      `with orders as (
         select o.id, o.amount, p.kind, case o.status when 1 then 'open' when 2 then 'closed' end as state
         from shop.orders o left join shop.payments p on p.order_id = o.id
         where o.amount > 0
         order by o.amount desc
       )
       select id, amount * 2 as doubled, state from orders`,
      { 'shop.orders': ['id', 'amount', 'status'], 'shop.payments': ['order_id', 'kind'] },
    );
    const orders = step(markdown, 'CTE `orders`');
    assert.ok(orders.includes('LEFT JOIN on `order_id` and `id`'), orders);
    assert.ok(orders.includes('Keeps only the rows that pass a condition on `amount`'), orders);
    assert.ok(orders.includes('Orders by `amount` descending'), orders);
    assert.ok(orders.includes('`open` when `= 1`'), orders);
    assert.ok(orders.includes('NULL otherwise (no ELSE)'), orders);
    assert.ok(step(markdown, 'Final select').includes('`doubled` = `amount * 2`'));
    assert.ok(!markdown.includes('**Ordering**'));
    assert.match(section(markdown, 'Grain of data'), /no GROUP BY: one output row per row it reads \(`orders`\)/);
  });

  it('an aggregate without GROUP BY is one row', () => {
    const markdown = describeSql('select count(a) as n from t', { t: ['a'] });
    assert.match(section(markdown, 'Grain of data'), /one row\./);
  });

  it('names with backticks stay code', () => {
    assert.equal(code('a`b'), '``a`b``');
    assert.equal(code('`x'), '`` `x ``');
    assert.equal(aggregateWords('SUM(amount)'), 'the sum of amount');
    assert.equal(aggregateWords('COUNT(*)'), 'the number of rows');
    assert.equal(aggregateWords('GROUP_CONCAT(name)'), undefined);
  });
});

describe('describe: the CLI', () => {
  const cli = (args: string[], cwd: string) => {
    const result = spawnSync(process.execPath, [cliPath, ...args], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, HOME: cwd },
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  it('exit 0 and the Markdown on stdout, the same as the module gives', async () => {
    const dir = tempWorkspace();
    const result = cli(['describe', '--workspace', dir], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, await sampleDescription());
    assert.equal(result.stderr, '');
  });

  it('exit 2 naming the file for a model that is not there, and for a model that does not parse; nothing written', () => {
    const dir = tempWorkspace();
    write(dir, 'models/broken.sql', 'select from where');
    const before = hashTree(dir);
    const missing = cli(['describe', '--workspace', dir, '--model', 'models/none.sql'], dir);
    assert.equal(missing.code, 2);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /^segment-lens: .*none\.sql/);
    const broken = cli(['describe', '--workspace', dir, '--model', 'models/broken.sql'], dir);
    assert.equal(broken.code, 2, broken.stderr);
    assert.match(broken.stderr, new RegExp(`${path.join(dir, 'models', 'broken.sql').replaceAll('/', '\\/')}:1:`));
    assert.deepEqual(hashTree(dir), before);
  });

  it('exit 2 for a format describe does not have', () => {
    const dir = tempWorkspace();
    const result = cli(['describe', '--workspace', dir, '--format', 'json'], dir);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--format for describe must be markdown, not "json"/);
  });
});
