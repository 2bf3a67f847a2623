// What-if thresholds (src/engine/run/whatIf.ts): the CASE's numbers found at their spans, the model run again with
// one changed, checked against native SQLite (better-sqlite3) running the model text with the number changed here.
import assert from 'node:assert/strict';
import path from 'node:path';
import { DataCache, ModelSession } from '../../src/engine/index';
import type { RawSettings } from '../../src/engine/settings';
import { runWhatIf, substituteLiterals, varOrigin, type LiteralOverride } from '../../src/engine/run/whatIf';
import { annotateThresholdVars } from '../../src/engine/run/whatIf';
import type { DbtProject } from '../../src/engine/model/dbtProject';
import { gridColumns } from '../../src/shared/grid';
import { LineageGraph, segmentation } from '../../src/shared/lineageGraph';
import type { CaseLiteral } from '../../src/shared/lineageModel';
import { rowObjects } from '../../src/shared/rows';
import {
  assets,
  hashTree,
  makeShop,
  nativeQuery,
  seedModel,
  tempWorkspace,
  thrownLensError,
  write,
  writeShopSqlite,
} from './helpers';

const SEED = seedModel('int_customer_metrics', 'stg_customers');
const SEED_CASE = /CASE[\s\S]*?END/.exec(SEED)![0];
/** The seed model with its CASE written differently. */
const withCase = (text: string) => SEED.replace(SEED_CASE, text);

const MIXED = withCase(`CASE
            WHEN i.total_spent <= -1 THEN 'Refund'
            WHEN i.total_spent > 10000 THEN 'Platinum'
            WHEN i.total_spent BETWEEN 5000 AND 10000 THEN 'Gold'
            WHEN i.total_spent < 1000 THEN 'Bronze'
            ELSE 'Silver'
        END`);
const VARS = withCase(`CASE
            WHEN i.total_spent >= {{ var('platinum_min') }} THEN 'Platinum'
            WHEN i.total_spent >= {{ var("gold_min", 5000) }} THEN 'Gold'
            WHEN i.total_spent >= 1000 THEN 'Silver'
            ELSE 'Bronze'
        END`);

interface Opened {
  dir: string;
  db: string;
  session: ModelSession;
  literals: CaseLiteral[];
  text: string;
}

const cache = new DataCache();
after(() => cache.clear());

async function open(text: string, settings: RawSettings = {}): Promise<Opened> {
  const dir = tempWorkspace();
  const db = writeShopSqlite(path.join(dir, 'shop.db'), makeShop(400, 11));
  write(dir, 'models/segments.sql', text);
  const session = await ModelSession.open(
    {
      workspaceDir: dir,
      settings: { model: 'models/segments.sql', connection: { type: 'sqlite', path: 'shop.db' }, ...settings },
      env: {},
      homeDir: dir,
    },
    assets,
    cache,
  );
  const lineage = session.lineage();
  annotateThresholdVars(lineage, session.varSources);
  const result = await session.run();
  const literals = segmentation(new LineageGraph(lineage), gridColumns(result.columns).segmentColumn)?.literals ?? [];
  return { dir, db, session, literals, text };
}

/** Line and column (1-based) of the `nth` occurrence of `needle` in `text`. */
function positionOf(text: string, needle: string, nth = 0): { line: number; column: number } {
  let at = -1;
  for (let index = 0; index <= nth; index++) at = text.indexOf(needle, at + 1);
  assert.ok(at >= 0, `${needle} is in the text`);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

/** The model's rows as native SQLite computes them from `sql`. */
const native = (opened: Opened, sql: string) => nativeQuery(opened.db, {}, sql);
const engineRows = (result: { columns: string[]; rows: unknown[][] }) =>
  rowObjects(result.columns, result.rows as never) as Record<string, unknown>[];

describe('whatIf', () => {
  it('finds each threshold of >= at its span in the rendered SQL and in the file', async () => {
    const opened = await open(SEED);
    assert.deepEqual(
      opened.literals.map((literal) => [literal.when, literal.text, literal.value]),
      [
        [0, '10000', 10000],
        [1, '5000', 5000],
        [2, '1000', 1000],
      ],
    );
    for (const literal of opened.literals) {
      assert.equal(opened.session.sql.slice(literal.offset, literal.offset + literal.length), literal.text);
      const at = positionOf(SEED, `>= ${literal.text} `);
      assert.deepEqual(
        { line: literal.location?.line, column: literal.location?.column },
        { line: at.line, column: at.column + 3 },
      );
      assert.equal(literal.location?.endColumn, at.column + 3 + literal.text.length);
      assert.equal(literal.template, undefined);
      assert.equal(literal.var, undefined);
    }
  });

  it('finds the numbers of >, <, <=, BETWEEN and a negative one, sign included', async () => {
    const opened = await open(MIXED);
    assert.deepEqual(
      opened.literals.map((literal) => [literal.when, literal.text, literal.value]),
      [
        [0, '-1', -1],
        [1, '10000', 10000],
        [2, '5000', 5000],
        [2, '10000', 10000],
        [3, '1000', 1000],
      ],
    );
    for (const literal of opened.literals)
      assert.equal(opened.session.sql.slice(literal.offset, literal.offset + literal.length), literal.text);
    assert.deepEqual(
      opened.literals.map((literal) => literal.location?.line),
      [2, 3, 4, 4, 5].map((line) => positionOf(MIXED, 'WHEN i.total_spent <= -1').line + line - 2),
    );
  });

  it('a number printed by var() carries its tag, its var and where the var is set', async () => {
    const opened = await open(VARS, { vars: { platinum_min: 12000 } });
    const [platinum, gold, silver] = opened.literals;
    assert.deepEqual([platinum.value, gold.value, silver.value], [12000, 5000, 1000]);
    assert.equal(platinum.template, "{{ var('platinum_min') }}");
    assert.deepEqual(platinum.var, { name: 'platinum_min', setIn: 'segmentLens.vars (or the CLI’s --vars)' });
    assert.deepEqual(gold.var, { name: 'gold_min', setIn: 'the default given to var() in the model' });
    assert.equal(silver.var, undefined);
    // The location is the tag the user wrote, which printed the number.
    assert.deepEqual(
      { line: platinum.location?.line, column: platinum.location?.column },
      positionOf(VARS, "{{ var('platinum_min') }}"),
    );
    const project = { dir: '/shop', name: 'shop', vars: { shop: { gold_min: 4000 } } } as unknown as DbtProject;
    assert.equal(varOrigin({ project }, 'gold_min'), 'vars: in /shop/dbt_project.yml');
    assert.equal(varOrigin({ project, given: { gold_min: 1 } }, 'gold_min'), 'segmentLens.vars (or the CLI’s --vars)');
  });

  const cases: { name: string; text: string; pick: number; value: number; written: (text: string) => string }[] = [
    { name: '>=', text: SEED, pick: 1, value: 4000, written: (text) => text.replace('>= 5000', '>= 4000') },
    { name: '> ', text: MIXED, pick: 1, value: 15000, written: (text) => text.replace('> 10000', '> 15000') },
    {
      name: 'BETWEEN (its lower bound)',
      text: MIXED,
      pick: 2,
      value: 6000,
      written: (text) => text.replace('BETWEEN 5000', 'BETWEEN 6000'),
    },
    { name: '< ', text: MIXED, pick: 4, value: 2500.5, written: (text) => text.replace('< 1000', '< 2500.5') },
    {
      name: '<= (negative, sign and all)',
      text: MIXED,
      pick: 0,
      value: 500,
      written: (text) => text.replace('<= -1', '<= 500'),
    },
  ];
  for (const { name, text, pick, value, written } of cases) {
    it(`a changed ${name} threshold gives the rows native SQLite gives for the model with the number changed`, async () => {
      const opened = await open(text);
      const before = hashTree(opened.dir);
      const literal = opened.literals[pick];
      const result = await runWhatIf(opened.session, [{ offset: literal.offset, length: literal.length, value }]);
      const expected = native(opened, written(text));
      assert.deepEqual(engineRows(result), expected);
      assert.notDeepEqual(expected, native(opened, text), 'the change moves customers');
      // The file's own run is unchanged, and so is the file.
      assert.deepEqual(engineRows(await opened.session.run()), native(opened, text));
      assert.deepEqual(hashTree(opened.dir), before);
    });
  }

  it('a var() threshold is overridden at its printed value', async () => {
    const opened = await open(VARS, { vars: { platinum_min: 12000 } });
    const [platinum] = opened.literals;
    const result = await runWhatIf(opened.session, [{ offset: platinum.offset, length: platinum.length, value: 8000 }]);
    const rendered = (platinumMin: number) =>
      VARS.replace("{{ var('platinum_min') }}", String(platinumMin)).replace('{{ var("gold_min", 5000) }}', '5000');
    assert.deepEqual(engineRows(result), native(opened, rendered(8000)));
    assert.notDeepEqual(native(opened, rendered(8000)), native(opened, rendered(12000)));
  });

  it('lists the customers that moved, each out of its old segment and into its new one', async () => {
    const opened = await open(SEED);
    const gold = opened.literals[1];
    const overrides: LiteralOverride[] = [{ offset: gold.offset, length: gold.length, value: 3000 }];
    const segmentsOf = (text: string) =>
      new Map(
        native(opened, `${/^[\s\S]*?\n\)/.exec(text)![0]} SELECT customer_id, region, customer_segment FROM base`).map(
          (row) => [row.customer_id as number, row],
        ),
      );
    const old = segmentsOf(SEED);
    const now = segmentsOf(SEED.replace('>= 5000', '>= 3000'));
    const moved = [...now.keys()].filter((id) => now.get(id)!.customer_segment !== old.get(id)!.customer_segment);
    assert.ok(moved.length > 5, 'some customers move');
    const variant = opened.session.variant(substituteLiterals(opened.session.sql, overrides, 'segments.sql'));
    const page = await opened.session.movedRows(variant, 'base', [], 0, 1000);
    assert.equal(page.total, moved.length * 2);
    const rows = rowObjects(page.columns, page.rows);
    assert.deepEqual(
      rows.filter((row) => row.moved === 'in').map((row) => [row.customer_id, row.customer_segment]),
      moved.sort((a, b) => a - b).map((id) => [id, now.get(id)!.customer_segment]),
    );
    assert.deepEqual(
      rows.filter((row) => row.moved === 'out').map((row) => [row.customer_id, row.customer_segment]),
      moved.map((id) => [id, old.get(id)!.customer_segment]),
    );
    // One cell: the customers that came into it, and those that left it.
    const region = now.get(moved[0])!.region as string;
    const cell = await opened.session.movedRows(
      variant,
      'base',
      [
        { column: 'region', value: region },
        { column: 'customer_segment', value: 'Gold' },
      ],
      0,
      1000,
    );
    const into = moved.filter((id) => now.get(id)!.region === region && now.get(id)!.customer_segment === 'Gold');
    const left = moved.filter((id) => old.get(id)!.region === region && old.get(id)!.customer_segment === 'Gold');
    assert.equal(cell.total, into.length + left.length);
    assert.ok(into.length > 0);
  });

  it('refuses a span that is not a number, spans that overlap, and values that are not numbers', () => {
    const sql = 'SELECT CASE WHEN x >= 10 THEN 1 END FROM t';
    const at = sql.indexOf('10');
    assert.equal(substituteLiterals(sql, [{ offset: at, length: 2, value: 12.5 }], 'm.sql'), sql.replace('10', '12.5'));
    // A negative value keeps its own parentheses: `x - -5` never becomes a comment.
    assert.equal(substituteLiterals(sql, [{ offset: at, length: 2, value: -5 }], 'm.sql'), sql.replace('10', '(-5)'));
    const refused = (overrides: LiteralOverride[], expected: RegExp) =>
      assert.match(
        thrownLensError(() => substituteLiterals(sql, overrides, 'm.sql'), String(expected)).message,
        expected,
      );
    refused(
      [{ offset: 0, length: 6, value: 1 }],
      /What-if on m\.sql: the text at offset 0 \("SELECT"\) is not a number/,
    );
    refused(
      [
        { offset: at, length: 2, value: 1 },
        { offset: at + 1, length: 1, value: 1 },
      ],
      /is not one number of the model/,
    );
    refused([{ offset: at, length: 2, value: NaN }], /NaN is not a number/);
    refused([{ offset: 999, length: 2, value: 1 }], /the span at offset 999/);
  });
});
