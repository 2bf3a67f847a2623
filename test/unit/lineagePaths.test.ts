// What a hovered column lights across models (webview/lineagePaths.ts), on the jaffle_shop fixture's lineage as the
// engine builds it. Expected nodes are read off the fixture's SQL by hand.
import assert from 'node:assert/strict';
import { modelLineage, type Lineage } from '../../src/engine/index';
import { DagReach, EXPLORED, type Lit } from '../../webview/lineagePaths';
import { assets, jaffleShopWorkspace } from './helpers';

/** A Lit as plain sorted lists, for comparing. */
const plain = (lit: Lit) =>
  Object.fromEntries([...lit].map(([model, ids]) => [model, [...ids].sort()]).sort(([a], [b]) => (a < b ? -1 : 1)));

describe('lineage paths across models', function () {
  this.timeout(30_000);
  let lineage: Lineage;
  before(async () => {
    const outcome = await modelLineage(
      {
        workspaceDir: jaffleShopWorkspace(),
        settings: { model: 'models/marts/customer_segments.sql', connection: { type: 'csv', directory: 'seeds' } },
        env: {},
      },
      assets,
    );
    if (!outcome.ok) assert.fail(JSON.stringify(outcome.error));
    lineage = outcome.result.lineage;
  });

  it('avg_ltv lights its path through customers and stg_payments down to the seed', () => {
    // avg_ltv = round(avg(total_spent)); total_spent = c.customer_lifetime_value; in customers.sql that is
    // coalesce(lifetime_value.total_paid, 0), total_paid = sum(payments.amount), payments = select * from
    // stg_payments, whose amount is the seed's amount in dollars.
    assert.deepEqual(plain(new DagReach(lineage).fromOutputs(['avg_ltv'])), {
      [EXPLORED]: ['avg_ltv', 'base.total_spent', 'main.customers.customer_lifetime_value'],
      customers: [
        'customer_lifetime_value',
        'finance.stg_payments.amount',
        'lifetime_value.total_paid',
        'payments.amount',
      ],
      stg_payments: ['amount', 'main.raw_payments.amount'],
    });
  });

  it('region lights customer_id up through customers and stg_customers to raw_customers.id', () => {
    assert.deepEqual(plain(new DagReach(lineage).fromOutputs(['region'])), {
      [EXPLORED]: ['base.region', 'main.customers.customer_id', 'region'],
      customers: ['customer_id', 'customers.customer_id', 'staging.stg_customers.customer_id'],
      stg_customers: ['customer_id', 'main.raw_customers.id'],
    });
  });

  it('starts from a node of an upstream model as well, and lights nothing downstream of it', () => {
    // order_history.first_order = min(order_date) from orders = select * from stg_orders, order_date as the seed has it.
    assert.deepEqual(plain(new DagReach(lineage).from('customers', ['order_history.first_order'])), {
      customers: ['order_history.first_order', 'orders.order_date', 'staging.stg_orders.order_date'],
      stg_orders: ['main.raw_orders.order_date', 'order_date'],
    });
    // number_of_orders is count(*): it comes from no column.
    assert.deepEqual(plain(new DagReach(lineage).from('customers', ['order_history.number_of_orders'])), {
      customers: ['order_history.number_of_orders'],
    });
  });

  it('lights nothing for a column or a model it does not know', () => {
    const reach = new DagReach(lineage);
    assert.equal(reach.fromOutputs([]).size, 0);
    assert.equal(reach.fromOutputs(['no_such_column']).size, 0);
    assert.equal(reach.from('no_such_model', ['x']).size, 0);
  });
});
