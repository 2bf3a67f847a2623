// The CASE's branches as intervals (src/shared/segmentChecks.ts): which conditions are read, what each branch
// really takes, which can never match and which overlap. Expected intervals are written by hand.
import assert from 'node:assert/strict';
import type { CaseDetail } from '../../src/shared/lineageModel';
import {
  analyseCase,
  intervalSql,
  intervalText,
  intervalsText,
  literalValue,
  parseCondition,
  type Interval,
} from '../../src/shared/segmentChecks';

/** An interval as text, for short expectations: `[1000, 5000)`, `(-∞, 1000)`. */
function show(interval: Interval | undefined): string {
  if (!interval) return 'none';
  const low = interval.low ? `${interval.low.inclusive ? '[' : '('}${interval.low.value}` : '(-∞';
  const high = interval.high ? `${interval.high.value}${interval.high.inclusive ? ']' : ')'}` : '∞)';
  return `${low}, ${high}`;
}

const read = (when: string, operand?: string) => {
  const condition = parseCondition(when, operand);
  return condition && `${condition.column.key} ${show(condition.interval)}`;
};

const cascade = (...whens: string[]): CaseDetail => ({
  whens: whens.map((when, index) => ({ when, then: `'S${index + 1}'` })),
  else: "'Rest'",
});

describe('segmentChecks: reading conditions', () => {
  it('a column compared with a number, either way round', () => {
    assert.equal(read('i.total_spent >= 10000'), 'i.total_spent [10000, ∞)');
    assert.equal(read('total_spent > 10000'), 'total_spent (10000, ∞)');
    assert.equal(read('total_spent < 1000.5'), 'total_spent (-∞, 1000.5)');
    assert.equal(read('total_spent <= 1e3'), 'total_spent (-∞, 1000]');
    assert.equal(read('5000 <= total_spent'), 'total_spent [5000, ∞)');
    assert.equal(read('5000 > total_spent'), 'total_spent (-∞, 5000)');
    assert.equal(read('total_spent = 0'), 'total_spent [0, 0]');
    assert.equal(read('total_spent >= -250'), 'total_spent [-250, ∞)');
  });

  it('BETWEEN, AND of two bounds, parentheses, quoted names and comments', () => {
    assert.equal(read('total_spent BETWEEN 1000 AND 4999.99'), 'total_spent [1000, 4999.99]');
    assert.equal(read('total_spent >= 1000 AND total_spent < 5000'), 'total_spent [1000, 5000)');
    assert.equal(read('(m.x > 1) and (M.X <= 2)'), 'm.x (1, 2]');
    assert.equal(read('"Total Spent" < 10 -- under ten'), 'total spent (-∞, 10)');
    assert.equal(read('`t`.[a b] >= 3'), 't.a b [3, ∞)');
    assert.equal(read('x BETWEEN 1 AND 5 AND x < 3'), 'x [1, 3)');
  });

  it('anything else is left alone', () => {
    for (const when of [
      'x >= 1 OR x < 0',
      'x <> 1',
      'x >= y',
      'x >= 1 AND y < 2',
      'lower(x) = 1',
      'x NOT BETWEEN 1 AND 2',
      'x IS NULL',
      "x = 'a'",
      'x - 1 > 0',
      '(x > 1',
      'x >= 1)',
    ])
      assert.equal(read(when), undefined, when);
  });

  it('CASE operand WHEN value: the operand equals the value', () => {
    assert.equal(read('5', 'tier'), 'tier [5, 5]');
    assert.equal(read("'gold'", 'tier'), undefined);
    assert.equal(read('5', 'tier + 1'), undefined);
  });
});

describe('segmentChecks: the analysis', () => {
  it('a descending cascade is consistent; each branch takes what the ones above leave', () => {
    const analysis = analyseCase(cascade('x >= 10000', 'x >= 5000', 'x >= 1000'));
    assert.deepEqual(analysis.findings, []);
    assert.equal(analysis.allOnColumn, true);
    assert.deepEqual(
      analysis.reaches?.branches.map((pieces) => pieces.map(show)),
      [['[10000, ∞)'], ['[5000, 10000)'], ['[1000, 5000)']],
    );
    assert.deepEqual(analysis.reaches?.else.map(show), ['(-∞, 1000)']);
    assert.equal(intervalsText('x', analysis.reaches!.branches[1]), '5000 ≤ x < 10000');
  });

  it('>= 1000 before >= 5000: the later branch can never match, and the thresholds are out of order', () => {
    const analysis = analyseCase(cascade('x >= 10000', 'x >= 1000', 'x >= 5000'));
    assert.deepEqual(analysis.findings, [
      { kind: 'unreachable', branch: 2, by: [0, 1], contradictory: false, outOfOrder: true },
    ]);
  });

  it('< 5000 before < 1000: the same, for an ascending cascade; < 1000 before < 5000 is fine', () => {
    assert.deepEqual(analyseCase(cascade('x < 5000', 'x < 1000')).findings, [
      { kind: 'unreachable', branch: 1, by: [0], contradictory: false, outOfOrder: true },
    ]);
    assert.deepEqual(analyseCase(cascade('x < 1000', 'x < 5000')).findings, []);
  });

  it('a range covered by two ranges above it, and a branch whose own bounds leave nothing', () => {
    assert.deepEqual(analyseCase(cascade('x < 100', 'x >= 200', 'x BETWEEN 0 AND 99')).findings, [
      { kind: 'unreachable', branch: 2, by: [0], contradictory: false, outOfOrder: false },
    ]);
    assert.deepEqual(analyseCase(cascade('x <= 100', 'x > 100', 'x = 7')).findings, [
      { kind: 'unreachable', branch: 2, by: [0], contradictory: false, outOfOrder: false },
    ]);
    assert.deepEqual(analyseCase(cascade('x BETWEEN 5000 AND 1000')).findings, [
      { kind: 'unreachable', branch: 0, by: [], contradictory: true, outOfOrder: false },
    ]);
  });

  it('overlapping ranges: BETWEEN shares its upper bound with the next branch', () => {
    const analysis = analyseCase(cascade('x BETWEEN 1000 AND 5000', 'x BETWEEN 5000 AND 10000', 'x >= 10000'));
    assert.deepEqual(
      analysis.findings.map(
        (finding) => finding.kind === 'overlap' && [finding.branch, finding.above, show(finding.overlap)],
      ),
      [
        [1, 0, '[5000, 5000]'],
        [2, 1, '[10000, 10000]'],
      ],
    );
    assert.equal(intervalText('x', (analysis.findings[0] as { overlap: Interval }).overlap), 'x = 5000');
  });

  it('a carve-out above a wider branch is meant, not an overlap', () => {
    assert.deepEqual(analyseCase(cascade('x = 0', 'x < 1000', 'x >= 1000')).findings, []);
  });

  it('branches on other columns or not read are left out; NULLs reach ELSE only when every branch compares one column', () => {
    const mixed = analyseCase(cascade('x IS NULL', 'x >= 10', 'x >= 20'));
    assert.equal(mixed.column?.key, 'x');
    assert.equal(mixed.allOnColumn, false);
    assert.equal(mixed.reaches, undefined);
    assert.deepEqual(mixed.findings, [
      { kind: 'unreachable', branch: 2, by: [1], contradictory: false, outOfOrder: true },
    ]);
    assert.equal(analyseCase(cascade('y > 1', 'x >= 10', 'x >= 20')).allOnColumn, false);
  });
});

describe('segmentChecks: words and SQL', () => {
  it('intervals as words and as SQL with the numbers as written', () => {
    const [between] = analyseCase(cascade('x BETWEEN 1000 AND 4999.99')).branches;
    assert.equal(intervalText('total_spent', between.condition!.interval), '1000 ≤ total_spent ≤ 4999.99');
    assert.equal(intervalText('v', {}), 'any v');
    assert.equal(intervalText('v', parseCondition('v > 3')!.interval), 'v > 3');
    assert.equal(intervalText('v', parseCondition('v < 3')!.interval), 'v < 3');
    assert.equal(
      intervalSql('"total_spent"', between.condition!.interval),
      '("total_spent" IS NOT NULL AND "total_spent" >= 1000 AND "total_spent" <= 4999.99)',
    );
  });

  it('a THEN that is a literal, as its value', () => {
    assert.equal(literalValue("'Gold'"), 'Gold');
    assert.equal(literalValue(" 'O''Neil' "), "O'Neil");
    assert.equal(literalValue('3'), 3);
    assert.equal(literalValue('upper(x)'), undefined);
    assert.equal(literalValue("'a' || 'b'"), undefined);
  });
});
