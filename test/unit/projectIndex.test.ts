// Where ref() and source() are defined, for Go to Definition: the call under the cursor, and the project's models,
// seeds and source tables (each table at the line of its name in the properties file), read as a run reads them.
import assert from 'node:assert/strict';
import path from 'node:path';
import { projectDefinitions, referenceAt } from '../../src/engine/index';
import { jaffleShopWorkspace, write } from './helpers';

describe('projectIndex: where ref() and source() are defined', function () {
  this.timeout(30_000);

  it('finds the call under the cursor', () => {
    const line = "from {{ ref('customers') }} join {{ source('shop', \"raw_orders\") }} join {{ ref('pkg', 'm') }}";
    assert.deepEqual(referenceAt(line, line.indexOf('customers')), {
      kind: 'ref',
      name: 'customers',
      start: line.indexOf('ref('),
      end: line.indexOf(') }}') + 1,
    });
    assert.equal(referenceAt(line, line.indexOf('raw_orders'))?.kind, 'source');
    const source = referenceAt(line, line.indexOf('shop'));
    assert.ok(source?.kind === 'source' && source.source === 'shop' && source.table === 'raw_orders');
    const packaged = referenceAt(line, line.lastIndexOf("'m'"));
    assert.ok(packaged?.kind === 'ref' && packaged.name === 'm');
    assert.equal(referenceAt(line, 0), undefined);
  });

  it("lists the project's models, seeds and source tables with the line of each table's name", async () => {
    const dir = jaffleShopWorkspace();
    const properties = write(
      dir,
      'models/staging/sources.yml',
      'version: 2\nsources:\n  - name: shop\n    schema: main\n    tables:\n      - name: raw_orders\n      - name: raw_payments\n        identifier: payments\n',
    );
    const found = await projectDefinitions(dir, { workspaceDir: dir, trusted: true });
    assert.ok(found);
    assert.equal(found.models.get('customers'), path.join(dir, 'models', 'customers.sql'));
    assert.equal(found.models.get('stg_payments'), path.join(dir, 'models', 'staging', 'stg_payments.sql'));
    assert.equal(found.seeds.get('raw_payments'), path.join(dir, 'seeds', 'raw_payments.csv'));
    // `      - name: raw_payments` is line 7; its `name` key starts at column 9.
    assert.deepEqual(found.sources.get('shop')?.get('raw_payments'), { file: properties, line: 7, column: 9 });
    assert.deepEqual(found.sources.get('shop')?.get('raw_orders'), { file: properties, line: 6, column: 9 });
  });

  it('reads nothing a link takes outside an untrusted workspace, and says nothing then', async () => {
    const dir = jaffleShopWorkspace();
    write(dir, 'dbt_project.yml', 'name: outside\nmodel-paths: ["../../"]\n');
    assert.equal(await projectDefinitions(dir, { workspaceDir: dir, trusted: false }), undefined);
  });
});
