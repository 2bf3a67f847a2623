import assert from 'node:assert/strict';
import { toCsv } from '../../src/shared/format';
import { guardFormula } from '../../src/shared/labels';

describe('CSV for spreadsheets', () => {
  it('guards text a spreadsheet would run as a formula, and leaves numbers alone', () => {
    assert.equal(guardFormula('=HYPERLINK("http://x")'), '\'=HYPERLINK("http://x")');
    for (const text of ['+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) assert.equal(guardFormula(text), `'${text}`);
    assert.equal(guardFormula('North'), 'North');
    const csv = toCsv(
      ['region', 'n'],
      [
        ["=cmd|' /C calc'!A0", -5],
        ['West, Coast', 3],
      ],
      { forSpreadsheets: true },
    );
    assert.equal(csv, "region,n\r\n'=cmd|' /C calc'!A0,-5\r\n\"West, Coast\",3\r\n");
    assert.equal(toCsv(['region'], [['=1']]), 'region\r\n=1\r\n', "the CLI's CSV is data, unguarded");
  });
});
