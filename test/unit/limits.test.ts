// The engine's bounds on what a run holds in memory (src/engine/limits.ts): a result over the row cap or the memory
// budget is refused as it is read, a page of a CTE's rows is at most MAX_PAGE_ROWS. Small limits are injected here
// so the tests run fast; the CLI's suite checks the real row cap once.
import assert from 'node:assert/strict';
import { ModelSession, runModel } from '../../src/engine/index';
import { DEFAULT_LIMITS, MAX_PAGE_ROWS } from '../../src/engine/limits';
import { assets, tempWorkspace, write } from './helpers';

/** n rows: 1..n, and a text column of `width` characters. */
const counting = (rows: number, width = 1) =>
  `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < ${rows}) SELECT n, substr(printf('%0${width}d', n), 1, ${width}) AS label FROM r`;

async function run(model: string, limits: { maxResultRows?: number; maxResultBytes?: number }) {
  const dir = tempWorkspace();
  write(dir, 'model.sql', model);
  return runModel({ workspaceDir: dir, settings: { model: 'model.sql' }, env: {}, limits }, assets);
}

describe('limits: what one run may hold', () => {
  it('the defaults: 1,000,000 rows, 256 MiB, pages of at most 1,000 rows', () => {
    assert.deepEqual(DEFAULT_LIMITS, { maxResultRows: 1_000_000, maxResultBytes: 256 * 1024 ** 2 });
    assert.equal(MAX_PAGE_ROWS, 1000);
  });

  it('a result of exactly the row cap is returned whole; one row more is refused, naming the model and the cap', async () => {
    const exact = await run(counting(500), { maxResultRows: 500 });
    assert.ok(exact.ok);
    // Independently: 1..500, in order.
    assert.deepEqual(
      exact.result.rows.map((row) => row[0]),
      Array.from({ length: 500 }, (_, index) => index + 1),
    );
    assert.equal(exact.result.cteRowCounts['(final select)'], 500);

    const over = await run(counting(501), { maxResultRows: 500 });
    assert.ok(!over.ok);
    assert.equal(over.error.code, 'too-large');
    assert.match(
      over.error.message,
      /^The result of .*model\.sql has more than 500 rows; Segment Lens holds at most 500\.$/,
    );
    assert.match(over.error.hint ?? '', /Aggregate or filter in the model.*LIMIT/);
  });

  it('an endless result is refused at the cap, not run until killed', async () => {
    const endless = await run('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r', {
      maxResultRows: 10_000,
    });
    assert.ok(!endless.ok);
    assert.match(endless.error.message, /more than 10,000 rows/);
  });

  it('a result over the memory budget is refused as it is read', async () => {
    // 200 rows of 1,000 characters: about 200 KB; the budget 50 KB.
    const over = await run(counting(200, 1000), { maxResultBytes: 50_000 });
    assert.ok(!over.ok);
    assert.equal(over.error.code, 'too-large');
    assert.match(
      over.error.message,
      /^The result of .*model\.sql is more than Segment Lens holds in memory \(over 49 KiB after \d+ rows\)\.$/,
    );
    const under = await run(counting(20, 1000), { maxResultBytes: 50_000 });
    assert.ok(under.ok);
    assert.equal(under.result.rows.length, 20);
    assert.equal((under.result.rows[19][1] as string).length, 1000);
  });

  it('a CTE page asks for at most MAX_PAGE_ROWS rows, whatever the caller asks', async () => {
    const dir = tempWorkspace();
    write(
      dir,
      'model.sql',
      'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5000), base AS (SELECT n FROM r) SELECT count(*) AS rows FROM base',
    );
    const session = await ModelSession.open({ workspaceDir: dir, settings: { model: 'model.sql' }, env: {} }, assets);
    try {
      assert.equal((await session.run()).rows[0][0], 5000);
      const page = await session.cteRows('base', [], 10, 1_000_000);
      assert.equal(page.total, 5000);
      assert.equal(page.rows.length, MAX_PAGE_ROWS);
      assert.deepEqual(page.rows[0], [11]);
    } finally {
      session.close();
    }
  });
});
