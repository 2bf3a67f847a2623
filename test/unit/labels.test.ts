import assert from 'node:assert/strict';
import { formatMetric, metricLabel, regionLabel } from '../../src/shared/labels';

describe('labels', () => {
  it("labels and formats for the user's locale", () => {
    assert.equal(regionLabel(null), '(no region)');
    assert.equal(metricLabel('avg_ltv'), 'Average LTV');
    assert.equal(formatMetric(1234567, 'customer_count', 'en'), '1,234,567');
    assert.equal(formatMetric(1234.5, 'avg_ltv', 'de'), '1.234,50');
    assert.equal(formatMetric(null, 'avg_ltv', 'en'), '—');
  });
});
