import assert from 'node:assert/strict';
import path from 'node:path';
import { loadSqlJs } from '../../src/engine/data/sqljs';
import { loadCsvTable } from '../../src/engine/data/csvLoader';
import { LensError } from '../../src/engine/errors';
import { assets, tempWorkspace, write } from './helpers';

async function load(content: string | Buffer) {
  const SQL = await loadSqlJs(assets.wasmPath);
  const db = new SQL.Database();
  const file = write(tempWorkspace(), 'seed.csv', content);
  const rows = await loadCsvTable(db, 'seed', file);
  const types = db.exec("SELECT name, type FROM pragma_table_info('seed')")[0].values;
  const data = db.exec('SELECT * FROM seed')[0]?.values ?? [];
  const storage =
    db.exec('SELECT ' + types.map(([name]) => `typeof("${name}")`).join(', ') + ' FROM seed')[0]?.values ?? [];
  db.close();
  return { rows, types: Object.fromEntries(types), data, storage, file };
}

async function loadError(content: string | Buffer): Promise<LensError> {
  try {
    await load(content);
  } catch (error) {
    if (error instanceof LensError) return error;
    throw error;
  }
  return assert.fail('expected a CSV error');
}

describe('csv seeds', () => {
  it('infers integer, real and text columns so numbers compare as numbers', async () => {
    const { types, data, storage } = await load('id,spent,label,mixed\n1,10000,a,1\n2,999.5,b,x\n3,1e3,c,2\n');
    assert.deepEqual(types, { id: 'INTEGER', spent: 'REAL', label: 'TEXT', mixed: 'TEXT' });
    assert.deepEqual(data, [
      [1, 10000, 'a', '1'],
      [2, 999.5, 'b', 'x'],
      [3, 1000, 'c', '2'],
    ]);
    assert.deepEqual(storage[0], ['integer', 'real', 'text', 'text']);
    const SQL = await loadSqlJs(assets.wasmPath);
    const db = new SQL.Database();
    const file = write(tempWorkspace(), 'spend.csv', 'spent\n9999\n10000\n200\n');
    await loadCsvTable(db, 'spend', file);
    // As text, '9999' >= 10000 would be true; as numbers only 10000 qualifies.
    assert.deepEqual(db.exec('SELECT spent FROM spend WHERE spent >= 10000')[0].values, [[10000]]);
    db.close();
  });

  it('reads a UTF-8 BOM, CRLF line ends, quoted commas, quotes and line breaks', async () => {
    const { data, types } = await load(
      '\uFEFFid,name,region\r\n1,"Smith, Jr.","Zürich ""Central"""\r\n2,"two\r\nlines",😀 east\r\n',
    );
    assert.deepEqual(types, { id: 'INTEGER', name: 'TEXT', region: 'TEXT' });
    assert.deepEqual(data, [
      [1, 'Smith, Jr.', 'Zürich "Central"'],
      [2, 'two\r\nlines', '😀 east'],
    ]);
  });

  it('an empty cell is NULL, in text and number columns alike', async () => {
    const { data, types } = await load('id,spent,region\n1,,\n2,5.5,North\n,7,""\n');
    assert.deepEqual(types, { id: 'INTEGER', spent: 'REAL', region: 'TEXT' });
    assert.deepEqual(data, [
      [1, null, null],
      [2, 5.5, 'North'],
      [null, 7, null],
    ]);
  });

  it('a header-only file is an empty table; a blank line is skipped', async () => {
    const { rows, data } = await load('id,name\n\n');
    assert.equal(rows, 0);
    assert.deepEqual(data, []);
  });

  it('loads more rows than one multi-row insert holds, and the tail', async () => {
    const lines = ['id,value'];
    for (let id = 1; id <= 1234; id++) lines.push(`${id},${id * 2}`);
    const { rows, data } = await load(lines.join('\n'));
    assert.equal(rows, 1234);
    assert.equal(data.length, 1234);
    assert.deepEqual(data[1233], [1234, 2468]);
  });

  it('a ragged row is an error naming the file and line', async () => {
    const error = await loadError('id,name\n1,a\n2,b,extra\n');
    assert.equal(error.value.code, 'csv');
    assert.match(error.value.message, /seed\.csv/);
    assert.equal(error.value.location?.line, 3);
  });

  it('an unterminated quote is an error naming the file', async () => {
    const error = await loadError('id,name\n1,"open\n2,b\n');
    assert.equal(error.value.code, 'csv');
    assert.match(error.value.message, /seed\.csv/);
  });

  it('bytes that are not UTF-8 are an error naming the file and line, not replacement characters', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('id,name\n1,Ann\n2,'),
      Buffer.from([0x5a, 0xfc, 0x72, 0x69, 0x63, 0x68]),
      Buffer.from('\n'),
    ]);
    const error = await loadError(latin1);
    assert.equal(error.value.code, 'csv');
    assert.match(error.value.message, /seed\.csv is not UTF-8 text: line 3/);
    assert.equal(error.value.location?.line, 3);
  });

  it('an empty file and a duplicate column are errors', async () => {
    assert.match((await loadError('')).value.message, /is empty: a seed needs a header row/);
    assert.match((await loadError('id,ID\n1,2\n')).value.message, /duplicate \("ID"\)/);
  });

  it('a missing file is an error, not an uncaught stream error', async () => {
    const SQL = await loadSqlJs(assets.wasmPath);
    const db = new SQL.Database();
    await assert.rejects(
      loadCsvTable(db, 'x', path.join(tempWorkspace(), 'absent.csv')),
      (error: unknown) => error instanceof LensError && /absent\.csv/.test(error.message),
    );
    db.close();
  });
});
