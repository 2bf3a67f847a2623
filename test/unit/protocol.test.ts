import assert from 'node:assert/strict';
import { parseWebviewMessage } from '../../src/shared/protocol';

describe('messages from the webview', () => {
  it('accepts each message of the protocol', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'drillDown', region: null, segment: 'Gold', offset: 50 }), {
      type: 'drillDown',
      region: null,
      segment: 'Gold',
      offset: 50,
    });
    assert.deepEqual(parseWebviewMessage({ type: 'cteRows', cte: 'base', offset: 0 }), {
      type: 'cteRows',
      cte: 'base',
      offset: 0,
    });
    assert.deepEqual(parseWebviewMessage({ type: 'revealNode', id: 'base.region' }), {
      type: 'revealNode',
      id: 'base.region',
    });
    assert.deepEqual(parseWebviewMessage({ type: 'revealNode', id: 'customer_id', model: 'customers' }), {
      type: 'revealNode',
      id: 'customer_id',
      model: 'customers',
    });
    assert.deepEqual(parseWebviewMessage({ type: 'revealNode', id: 'base.region', model: undefined }), {
      type: 'revealNode',
      id: 'base.region',
    });
    assert.deepEqual(parseWebviewMessage({ type: 'copy', text: 'a\tb' }), { type: 'copy', text: 'a\tb' });
  });

  it('what-if messages carry finite numbers only, at most a thousand of them', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'whatIf', values: [10000, 4000.5, -1] }), {
      type: 'whatIf',
      values: [10000, 4000.5, -1],
    });
    assert.deepEqual(parseWebviewMessage({ type: 'applyWhatIf', values: [1], extra: 'x' }), {
      type: 'applyWhatIf',
      values: [1],
    });
    assert.deepEqual(
      parseWebviewMessage({ type: 'whatIfMoved', values: [1], region: 'North', segment: null, offset: 50 }),
      { type: 'whatIfMoved', values: [1], region: 'North', segment: null, offset: 50 },
    );
    for (const values of [[NaN], [Infinity], ['5000'], [null], 5000, new Array(1001).fill(1)])
      assert.equal(parseWebviewMessage({ type: 'whatIf', values }), undefined, JSON.stringify(values).slice(0, 40));
    assert.equal(parseWebviewMessage({ type: 'whatIfMoved', values: [1], region: 'North', offset: 0 }), undefined);
  });

  it('ignores anything else: unknown types, wrong shapes, extra power', () => {
    const rejected: unknown[] = [
      null,
      'ready',
      42,
      [],
      {},
      { type: 'readFile', path: '/etc/passwd' },
      { type: 'setting', key: 'segmentLens.connection' },
      { type: 'drillDown', region: 1, segment: 'Gold', offset: 0 },
      { type: 'drillDown', region: 'N', segment: 'G', offset: -1 },
      { type: 'drillDown', region: 'N', segment: 'G', offset: 1.5 },
      { type: 'cteRows', cte: '', offset: 0 },
      { type: 'revealNode', id: 7 },
      { type: 'copy', text: 'x'.repeat(10_000_001) },
      { type: 'revealNode' },
      { type: 'revealNode', id: 'customer_id', model: '' },
      { type: 'revealNode', id: 'customer_id', model: 7 },
      { type: 'revealNode', id: 'customer_id', model: null },
      { type: 'revealNode', id: 'customer_id', model: 'm'.repeat(1001) },
    ];
    for (const message of rejected)
      assert.equal(parseWebviewMessage(message), undefined, JSON.stringify(message)?.slice(0, 80));
  });

  it('drops fields the protocol does not define', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'run', file: '/etc/shadow' }), { type: 'run' });
    assert.deepEqual(parseWebviewMessage({ type: 'resized', width: 1e9 }), { type: 'resized' });
    assert.deepEqual(
      parseWebviewMessage({
        type: 'gridView',
        view: { metric: 'avg_ltv', filter: 'eu', sortBy: 'total', descending: true, path: '/etc' },
      }),
      { type: 'gridView', view: { metric: 'avg_ltv', filter: 'eu', sortBy: 'total', descending: true } },
    );
  });

  it('refuses a grid view of the wrong shape', () => {
    for (const view of [
      undefined,
      { filter: 'x', sortBy: 'region' },
      { filter: 1, sortBy: 'region', descending: false },
      { filter: 'x'.repeat(10_001), sortBy: 'region', descending: false },
      { metric: '', filter: '', sortBy: 'region', descending: false },
    ])
      assert.equal(parseWebviewMessage({ type: 'gridView', view }), undefined, JSON.stringify(view)?.slice(0, 80));
  });
});
