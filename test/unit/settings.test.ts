import assert from 'node:assert/strict';
import { resolveSettings, resolveTimeout, type RawSettings } from '../../src/engine/settings';
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
    ['unknown type', { connection: { type: 'snowflake' } }, 'segmentLens.connection.type'],
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

  // Keys every plain object inherits are no connection types (a lookup with `in` would take them for one).
  for (const type of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    it(`connection.type "${type}" is a settings error, not a crash`, () => {
      const error = settingError(JSON.parse(`{"connection": {"type": ${JSON.stringify(type)}}}`) as RawSettings);
      assert.equal(error.value.setting, 'segmentLens.connection.type');
      assert.match(error.value.message, /must be "sqlite", "dbt", "csv", "postgres" or "sample", not "/);
    });
  }

  it('an attach schema named "__proto__" stays a schema (an own key), as JSON writes it', () => {
    const raw = JSON.parse('{"connection": {"type": "sqlite", "path": "a.db", "attach": {"__proto__": "p.db"}}}');
    const connection = resolveSettings(raw as RawSettings).connection;
    assert.equal(connection.type, 'sqlite');
    assert.deepEqual(connection.type === 'sqlite' && Object.entries(connection.attach), [['__proto__', 'p.db']]);
  });

  for (const [name, attach, at] of [
    ['main', { main: 'm.db' }, 'main'],
    ['MAIN in another case', { MAIN: 'm.db' }, 'MAIN'],
    ['temp', { temp: 't.db' }, 'temp'],
    ['Temp in another case', { staging: 's.db', Temp: 't.db' }, 'Temp'],
    ['two names differing only in case', { staging: 's.db', Staging: 'S.db' }, 'Staging'],
  ] as const) {
    it(`an attach schema ${name} is refused, naming segmentLens.connection.attach.${at}`, () => {
      const error = settingError({ connection: { type: 'sqlite', path: 'a.db', attach } });
      assert.equal(error.value.code, 'settings');
      assert.equal(error.value.setting, `segmentLens.connection.attach.${at}`);
      assert.ok(error.value.message.includes(`segmentLens.connection.attach.${at}`), error.value.message);
      assert.ok(error.value.hint);
    });
  }

  it('timeoutSeconds: unset is 60, a number of seconds (at least 1) is taken, anything else names the setting', () => {
    assert.equal(resolveTimeout(undefined), 60);
    assert.equal(resolveTimeout(null), 60);
    assert.equal(resolveTimeout(1), 1);
    assert.equal(resolveTimeout(2.5), 2.5);
    for (const bad of [0, 0.5, -3, Number.NaN, Number.POSITIVE_INFINITY, '60', true, {}]) {
      const error = thrownLensError(() => resolveTimeout(bad), `an error for ${String(bad)}`);
      assert.equal(error.value.setting, 'segmentLens.timeoutSeconds');
      assert.match(error.value.message, /segmentLens\.timeoutSeconds must be a number of seconds, at least 1/);
    }
    assert.match(
      thrownLensError(() => resolveTimeout(0, '--timeout'), 'a flag error').value.message,
      /^--timeout must be a number of seconds, at least 1, not 0\.$/,
    );
  });
});
