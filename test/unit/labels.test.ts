import assert from 'node:assert/strict';
import {
  formatMetric,
  formatSeconds,
  formatValue,
  isKeyColumn,
  metricLabel,
  regionLabel,
  relationLabel,
  segmentLabel,
} from '../../src/shared/labels';

describe('labels', () => {
  it("labels and formats for the user's locale", () => {
    assert.equal(regionLabel(null), '(no region)');
    assert.equal(metricLabel('avg_ltv'), 'Average LTV');
    assert.equal(formatMetric(1234567, 'customer_count', 'en'), '1,234,567');
    assert.equal(formatMetric(1234.5, 'avg_ltv', 'de'), '1.234,50');
    assert.equal(formatMetric(null, 'avg_ltv', 'en'), '—');
  });

  it('tells NULL from an empty text', () => {
    assert.equal(regionLabel(''), '(empty region)');
    assert.notEqual(regionLabel(''), regionLabel(null));
    assert.equal(segmentLabel(''), '(empty segment)');
    assert.equal(segmentLabel(null), '(no segment)');
  });

  it('says "result" for the final select and "< 0.1 s" for a short run', () => {
    assert.equal(relationLabel('(final select)'), 'result');
    assert.equal(relationLabel('base'), 'base');
    assert.equal(formatSeconds(0), '< 0.1 s');
    assert.equal(formatSeconds(99), '< 0.1 s');
    assert.equal(formatSeconds(1260), '1.3 s');
  });

  it('shows the integers of key columns as written, other numbers grouped, NULL as the grid does', () => {
    for (const column of ['id', 'customer_id', 'customerId', 'order_key', 'zip_code', 'invoice_no', 'year'])
      assert.ok(isKeyColumn(column), column);
    for (const column of ['paid', 'valid', 'total_orders', 'monkey', 'avg_ltv'])
      assert.ok(!isKeyColumn(column), column);
    assert.equal(formatValue(1026, 'customer_id', 'en'), '1026');
    assert.equal(formatValue(1026, 'total_orders', 'en'), '1,026');
    assert.equal(formatValue(5284.04, 'total_spent', 'en'), '5,284.04');
    assert.equal(formatValue(700, 'total_spent', 'en', 2), '700.00');
    assert.equal(formatValue(1026.5, 'customer_id', 'en'), '1,026.5');
    assert.equal(formatValue(null, 'region', 'en'), formatMetric(null, 'avg_ltv', 'en'));
    assert.equal(formatValue('Americas', 'region', 'en'), 'Americas');
    assert.equal(formatValue(new Uint8Array(3), 'blob', 'en'), '(3 bytes)');
  });
});
