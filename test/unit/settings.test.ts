import assert from 'node:assert/strict';
import { resolveSettings, type RawSettings } from '../../src/engine/settings';
import { LensError } from '../../src/engine/errors';
import { thrownLensError } from './helpers';

function settingError(raw: RawSettings): LensError {
  return thrownLensError(() => resolveSettings(raw), 'a settings error');
}

describe('settings', () => {
  it('nothing set means the bundled sample model and data', () => {
    assert.deepEqual(resolveSettings({}), { model: undefined, connection: { type: 'sample' } });
  });

  it('reads each connection shape', () => {
    assert.deepEqual(resolveSettings({ connection: { type: 'sqlite', path: 'w.db' } }).connection, {
      type: 'sqlite',
      path: 'w.db',
      attach: {},
    });
    assert.deepEqual(
      resolveSettings({ connection: { type: 'sqlite', path: 'w.db', attach: { staging: 's.db' } } }).connection,
      { type: 'sqlite', path: 'w.db', attach: { staging: 's.db' } },
    );
    assert.deepEqual(resolveSettings({ connection: { type: 'dbt', profile: 'shop' } }).connection, {
      type: 'dbt',
      profilesDir: undefined,
      profile: 'shop',
      target: undefined,
    });
    assert.deepEqual(resolveSettings({ connection: { type: 'csv', directory: 'seeds' } }).connection, {
      type: 'csv',
      directory: 'seeds',
    });
  });

  const wrong: [string, RawSettings, string][] = [
    ['model is a number', { model: 42 }, 'segmentLens.model'],
    ['connection is a string', { connection: 'warehouse.db' }, 'segmentLens.connection'],
    ['unknown type', { connection: { type: 'postgres' } }, 'segmentLens.connection.type'],
    ['sqlite without path', { connection: { type: 'sqlite' } }, 'segmentLens.connection.path'],
    ['path is a number', { connection: { type: 'sqlite', path: 3 } }, 'segmentLens.connection.path'],
    [
      'attach is a list',
      { connection: { type: 'sqlite', path: 'a.db', attach: ['b.db'] } },
      'segmentLens.connection.attach',
    ],
    [
      'attach value not a string',
      { connection: { type: 'sqlite', path: 'a.db', attach: { staging: 1 } } },
      'segmentLens.connection.attach.staging',
    ],
    ['csv without directory', { connection: { type: 'csv' } }, 'segmentLens.connection.directory'],
    ['dbt target is a number', { connection: { type: 'dbt', target: 1 } }, 'segmentLens.connection.target'],
    [
      'a key the type does not use',
      { connection: { type: 'csv', directory: 'seeds', path: 'x.db' } },
      'segmentLens.connection',
    ],
  ];
  for (const [name, raw, setting] of wrong) {
    it(`names the setting when ${name}`, () => {
      const error = settingError(raw);
      assert.equal(error.value.code, 'settings');
      assert.equal(error.value.setting, setting);
      assert.ok(error.value.message.includes(setting), error.value.message);
      assert.ok(error.value.hint, 'says what to do');
    });
  }
});
