import assert from 'node:assert/strict';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { loadSqlJs } from '../../src/engine/data/sqljs';
import { loadCsvTable, MAX_CSV_COLUMNS, MAX_HEADER_BYTES } from '../../src/engine/data/csvLoader';
import { LensError } from '../../src/engine/errors';
import type { SeedConfig } from '../../src/engine/model/seedConfig';
import { assets, tempWorkspace, toCsvText, write } from './helpers';

/** A seed config as seedConfig.ts resolves one: `types` declared by dbt_project.yml line 7 (for this seed by name unless `own` is false). */
function seedConfig(types: Record<string, string>, options: { delimiter?: string; own?: boolean } = {}): SeedConfig {
  const at = { file: '/project/dbt_project.yml', line: 7, column: 9 };
  return {
    enabled: true,
    delimiter: options.delimiter ?? ',',
    columnTypes: new Map(
      Object.entries(types).map(([column, type]) => [column, { type, at, own: options.own ?? true }]),
    ),
  };
}

async function load(content: string | Buffer, seed?: SeedConfig) {
  const SQL = await loadSqlJs(assets.wasmPath);
  const db = new SQL.Database();
  const file = write(tempWorkspace(), 'seed.csv', content);
  const rows = await loadCsvTable(db, 'seed', file, seed);
  const types = db.exec("SELECT name, type FROM pragma_table_info('seed')")[0].values;
  const data = db.exec('SELECT * FROM seed')[0]?.values ?? [];
  const storage =
    db.exec('SELECT ' + types.map(([name]) => `typeof("${name}")`).join(', ') + ' FROM seed')[0]?.values ?? [];
  db.close();
  return { rows, types: Object.fromEntries(types), data, storage, file };
}

async function loadError(content: string | Buffer, seed?: SeedConfig): Promise<LensError> {
  try {
    await load(content, seed);
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

describe('csv seeds with dbt column_types and delimiter', () => {
  // Awkward values for every declared type, as a dbt seed would hold them.
  const rows = [
    {
      zip: '02134',
      code: '007',
      qty: '42',
      big: '9007199254740993',
      price: '19.90',
      flag: 'true',
      day: '2024-02-29',
      at: '2024-02-29 23:59:59',
      note: 'plain',
    },
    {
      zip: '00501',
      code: '1e3',
      qty: '-3',
      big: '-12',
      price: '7',
      flag: 'F',
      day: '1999-12-31',
      at: '1999-12-31T00:00:00Z',
      note: ' spaced ',
    },
    { zip: '', code: '', qty: '', big: '', price: '', flag: '', day: '', at: '', note: '' },
    {
      zip: '99950',
      code: '0',
      qty: '+8',
      big: '0',
      price: '-0.5e2',
      flag: 'Yes',
      day: '2000-01-01',
      at: '2000-01-01 12:00',
      note: 'x,y',
    },
  ];
  const columns = ['zip', 'code', 'qty', 'big', 'price', 'flag', 'day', 'at', 'note'] as const;
  const declared = {
    zip: 'varchar(5)',
    code: 'TEXT',
    qty: 'integer',
    big: 'bigint',
    price: 'decimal(10, 2)',
    flag: 'boolean',
    day: 'date',
    at: 'timestamp',
  };

  it('stores each declared type as its SQLite type: text as written, numbers as numbers, booleans as 1/0', async () => {
    const { types, data, storage } = await load(toCsvText(rows, columns), seedConfig(declared));
    assert.deepEqual(types, {
      zip: 'TEXT',
      code: 'TEXT',
      qty: 'INTEGER',
      big: 'INTEGER',
      price: 'REAL',
      flag: 'INTEGER',
      day: 'TEXT',
      at: 'TEXT',
      note: 'TEXT',
    });
    // Expected values computed here: text kept verbatim, empty cells NULL, numbers parsed, booleans as SQLite's 1/0.
    const truthy = (value: string) => ['true', 't', 'yes', 'y', 'on', '1'].includes(value.toLowerCase());
    const expected = rows.map((row) =>
      columns.map((column) => {
        const value = row[column];
        if (value === '') return null;
        if (column === 'qty' || column === 'big') return Number(value);
        if (column === 'price') return Number(value);
        if (column === 'flag') return truthy(value) ? 1 : 0;
        return value;
      }),
    );
    // 9007199254740993 is past 2^53: JavaScript reads it back rounded, SQLite holds it exactly (checked below).
    assert.deepEqual(data, expected);
    assert.deepEqual(storage[0], ['text', 'text', 'integer', 'integer', 'real', 'integer', 'text', 'text', 'text']);
    assert.deepEqual(storage[2], ['null', 'null', 'null', 'null', 'null', 'null', 'null', 'null', 'null']);
  });

  it('declared text keeps what inference would have turned into numbers; other columns are still inferred', async () => {
    const csv = 'zip,id,amount\n02134,1,10\n00501,2,2.5\n';
    const inferred = await load(csv);
    assert.deepEqual(inferred.data, [
      [2134, 1, 10],
      [501, 2, 2.5],
    ]);
    const typed = await load(csv, seedConfig({ zip: 'varchar' }));
    assert.deepEqual(typed.types, { zip: 'TEXT', id: 'INTEGER', amount: 'REAL' });
    assert.deepEqual(typed.data, [
      ['02134', 1, 10],
      ['00501', 2, 2.5],
    ]);
  });

  it('numbers and text equal native SQLite inserting the same cells into columns of the same types', async () => {
    const numeric = rows.map(({ zip, code, qty, big, price, note }) => ({ zip, code, qty, big, price, note }));
    const numericColumns = ['zip', 'code', 'qty', 'big', 'price', 'note'] as const;
    const sqliteTypes = ['TEXT', 'TEXT', 'INTEGER', 'INTEGER', 'REAL', 'TEXT'];
    const SQL = await loadSqlJs(assets.wasmPath);
    const db = new SQL.Database();
    const file = write(tempWorkspace(), 'typed.csv', toCsvText(numeric, numericColumns));
    await loadCsvTable(db, 'typed', file, seedConfig(declared, { own: false }));
    const query = `SELECT ${numericColumns.map((column) => `${column}, typeof(${column})`).join(', ')}, CAST(big AS TEXT) FROM typed`;
    const ours = db.exec(query)[0].values;
    db.close();
    const native = new BetterSqlite3(':memory:');
    native.exec(
      `CREATE TABLE typed (${numericColumns.map((column, index) => `${column} ${sqliteTypes[index]}`).join(', ')})`,
    );
    const insert = native.prepare(`INSERT INTO typed VALUES (${numericColumns.map(() => '?').join(', ')})`);
    for (const row of numeric) insert.run(...numericColumns.map((column) => (row[column] === '' ? null : row[column])));
    const theirs = native.prepare(query).raw().all();
    native.close();
    assert.deepEqual(ours, theirs);
    assert.equal(ours[0].at(-1), '9007199254740993');
  });

  it('a value that cannot be the declared type is an error naming the file, line and column', async () => {
    // Line 3 holds a quoted line break, so the bad value on the next record starts on line 5.
    const error = await loadError('id,name,qty\n1,a,1\n2,"two\nlines",2\n3,c,abc\n', seedConfig({ qty: 'integer' }));
    assert.equal(error.value.code, 'csv');
    assert.match(error.value.message, /seed\.csv line 5, column "qty": "abc" is not an integer/);
    assert.match(error.value.message, /integer, in \/project\/dbt_project\.yml:7/);
    assert.equal(error.value.location?.line, 5);
    assert.match(error.value.location?.file ?? '', /seed\.csv$/);
    const cases: [string, string, RegExp][] = [
      ['1.5', 'int', /is not an integer/],
      ['9223372036854775808', 'bigint', /is not an integer/],
      ['1,5', 'numeric', /is not a number/],
      ['maybe', 'boolean', /is not a boolean/],
      ['2023-02-29', 'date', /is not a date written YYYY-MM-DD/],
      ['01/02/2024', 'date', /is not a date/],
      ['2024-01-01 25:00', 'timestamp', /is not a timestamp/],
    ];
    for (const [value, type, message] of cases) {
      const bad = await loadError(`id,v\n1,"${value}"\n`, seedConfig({ v: type }));
      assert.match(bad.value.message, message, `${value} as ${type}`);
      assert.equal(bad.value.location?.line, 2);
    }
  });

  it('an unknown type name, and a column the file lacks, are errors naming the seed, the column and the config', async () => {
    const unknown = await loadError('id,zip\n1,02134\n', seedConfig({ zip: 'varchr(5)' }));
    assert.equal(unknown.value.code, 'yaml');
    assert.match(
      unknown.value.message,
      /dbt_project\.yml:7 declares column "zip" of seed .*seed\.csv as "varchr\(5\)"/,
    );
    assert.deepEqual(unknown.value.location, { file: '/project/dbt_project.yml', line: 7, column: 9 });
    const missing = await loadError('id,Zip\n1,02134\n', seedConfig({ zip: 'varchar' }));
    assert.match(
      missing.value.message,
      /declares column "zip" of seed .*seed\.csv, which has no such column \(it has "id", "Zip"\)/,
    );
    assert.match(missing.value.hint ?? '', /write "Zip"/);
    assert.equal(missing.value.location?.line, 7);
    // Declared for a folder, not for this seed: a column this seed lacks belongs to another seed.
    const { types } = await load(
      'id,zip\n1,02134\n',
      seedConfig({ zip: 'varchar', country: 'char(2)' }, { own: false }),
    );
    assert.deepEqual(types, { id: 'INTEGER', zip: 'TEXT' });
  });

  for (const delimiter of [';', '|', '\t']) {
    it(`reads a seed delimited by ${JSON.stringify(delimiter)}, quoting included`, async () => {
      const csv =
        ['id|name|amount', '1|"Smith| Jr; ""x"""|1,5', '2|plain|3'].join('\n').replaceAll('|', delimiter) + '\n';
      const { data, types } = await load(csv, seedConfig({}, { delimiter }));
      assert.deepEqual(types, { id: 'INTEGER', name: 'TEXT', amount: 'TEXT' });
      assert.deepEqual(data, [
        [1, `Smith${delimiter} Jr; "x"`, '1,5'],
        [2, 'plain', '3'],
      ]);
    });
  }

  it(`a header of ${MAX_CSV_COLUMNS} columns (SQLite's limit) loads; one more is refused before any table is built`, async () => {
    const header = (count: number) => Array.from({ length: count }, (_, index) => `c${index + 1}`);
    const widest = header(MAX_CSV_COLUMNS);
    const row = widest.map((_, index) => index);
    const { types, data } = await load(`${widest.join(',')}\n${row.join(',')}\n`);
    assert.equal(Object.keys(types).length, MAX_CSV_COLUMNS);
    assert.deepEqual(data, [row]);

    const SQL = await loadSqlJs(assets.wasmPath);
    const db = new SQL.Database();
    const file = write(tempWorkspace(), 'wide.csv', `${header(MAX_CSV_COLUMNS + 1).join(',')}\n`);
    const error = await loadCsvTable(db, 'wide', file).then(
      () => assert.fail('expected an error'),
      (thrown: unknown) => thrown as LensError,
    );
    assert.ok(error instanceof LensError);
    assert.equal(error.value.message, `${file} has 2,001 columns in its header; a SQLite table holds at most 2,000.`);
    assert.deepEqual(db.exec('SELECT name FROM sqlite_master UNION ALL SELECT name FROM temp.sqlite_master'), []);
    db.close();
  });

  it('a header line longer than the bound is refused after reading only the bound', async () => {
    const long = `${'x'.repeat(MAX_HEADER_BYTES + 10)}\n1\n`;
    const error = await loadError(long);
    assert.match(error.value.message, /seed\.csv has no line break in its first 1 MiB: its header line is longer/);
    // Just under the bound, a header is read (one column with a long name).
    const { types } = await load(`${'y'.repeat(MAX_HEADER_BYTES - 10)}\n1\n`);
    assert.deepEqual(Object.values(types), ['INTEGER']);
  });

  it('a SQLite failure while loading names the file and table, never the staging table', async () => {
    const SQL = await loadSqlJs(assets.wasmPath);
    const db = new SQL.Database();
    db.run('CREATE TABLE taken (a)');
    const file = write(tempWorkspace(), 'taken.csv', 'a\n1\n');
    const error = await loadCsvTable(db, 'taken', file).then(
      () => assert.fail('expected an error'),
      (thrown: unknown) => thrown as LensError,
    );
    assert.ok(error instanceof LensError);
    assert.equal(error.value.message, `${file} could not be loaded as table taken: table "taken" already exists.`);
    assert.doesNotMatch(
      `${error.value.message} ${error.value.hint}`,
      /segment_lens_loading|check that the file exists/i,
    );
    db.close();
  });
});

describe('csv seeds on random files, against native SQLite', () => {
  /** A small deterministic generator (mulberry32): a failing case is reproduced from its seed. */
  function random(seed: number) {
    let state = seed >>> 0;
    const next = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] };
  }
  const INTEGERS = ['0', '7', '-12', '+8', '007', '-0', '123456789012345', '9007199254740991', '0000000000000000042'];
  // Past 2^53, or not integers: a column holding one is REAL.
  const REALS = ['1.5', '.5', '5.', '1e3', '-0.0', '1E+2', '-2.5e-3', '9007199254740993', '99999999999999999999'];
  const TEXTS = [
    'plain',
    'Smith, Jr.',
    'say "hi"',
    "O'Brien",
    'two\nlines',
    'crlf\r\nlines',
    'cr\ronly',
    ' padded ',
    'Zürich',
    '東京',
    '😀 east',
    'x;y|z\tw§v',
    '1,5',
    '0x1A',
    '1e',
    '+',
    '.',
    'NULL',
    '""',
  ];
  const INTEGER = /^[+-]?\d+$/;
  const REAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

  /** The type a column's cells give it, as the loader documents it, worked out here from the cells themselves. */
  function typeOf(cells: string[]): string {
    const values = cells.filter((cell) => cell !== '');
    if (values.every((value) => INTEGER.test(value) && Number.isSafeInteger(Number(value))) && values.length)
      return 'INTEGER';
    if (values.every((value) => REAL.test(value)) && values.length) return 'REAL';
    return 'TEXT';
  }

  interface Case {
    header: string[];
    rows: string[][];
    text: Buffer;
    delimiter: string;
  }

  /** Rows of cells (known here, not parsed back), written as CSV with random quoting, line ends, BOM and delimiter. */
  function randomCase(seed: number): Case {
    const { next, pick } = random(seed);
    const delimiter = pick([',', ',', ';', '|', '\t', '§']);
    const lineEnd = pick(['\n', '\r\n']);
    const columns = 1 + Math.floor(next() * 5);
    const kinds = Array.from({ length: columns }, () => pick(['integer', 'real', 'text', 'mixed', 'empty'] as const));
    const header = Array.from(
      { length: columns },
      (_, index) => pick(['id', 'naïve "name"', 'a,b', 'x\ny', 'col']) + index,
    );
    const rows = Array.from({ length: Math.floor(next() * 40) }, () =>
      kinds.map((kind) => {
        if (kind === 'empty' || next() < 0.1) return '';
        if (kind === 'integer') return pick(INTEGERS);
        if (kind === 'real') return pick(next() < 0.3 ? INTEGERS : REALS);
        if (kind === 'text') return pick(TEXTS);
        return pick([...INTEGERS, ...REALS, ...TEXTS]);
      }),
    );
    const field = (cell: string) => {
      const needs = /["\r\n]/.test(cell) || cell.includes(delimiter);
      // An empty row of one column would be an empty line, which CSV readers skip: quote it.
      return needs || next() < 0.2 || (columns === 1 && cell === '') ? `"${cell.replaceAll('"', '""')}"` : cell;
    };
    const lines = [header, ...rows].map((cells) => cells.map(field).join(delimiter));
    const body = lines.join(lineEnd) + (next() < 0.8 ? lineEnd : '');
    return { header, rows, text: Buffer.from((next() < 0.3 ? '\uFEFF' : '') + body, 'utf8'), delimiter };
  }

  /** The table native SQLite holds for the case: the cells as text, then CAST to the column's type. */
  function nativeTable(testCase: Case) {
    const types = testCase.header.map((_, index) => typeOf(testCase.rows.map((row) => row[index])));
    const native = new BetterSqlite3(':memory:');
    const columns = testCase.header.map((_, index) => `c${index}`);
    native.exec(`CREATE TABLE staged (${columns.join(', ')})`);
    native.exec(`CREATE TABLE typed (${columns.map((column, index) => `${column} ${types[index]}`).join(', ')})`);
    const insert = native.prepare(`INSERT INTO staged VALUES (${columns.map(() => '?').join(', ')})`);
    for (const row of testCase.rows) insert.run(...row.map((cell) => (cell === '' ? null : cell)));
    const cast = columns.map((column, index) =>
      types[index] === 'TEXT' ? column : `CAST(${column} AS ${types[index]})`,
    );
    native.exec(`INSERT INTO typed SELECT ${cast.join(', ')} FROM staged`);
    const rows = native
      .prepare(`SELECT ${columns.map((column) => `${column}, typeof(${column})`).join(', ')} FROM typed`)
      .raw()
      .all();
    native.close();
    return { types, rows };
  }

  it('loads 150 random files cell by cell as native SQLite does, wherever the chunks break', async () => {
    const SQL = await loadSqlJs(assets.wasmPath);
    const dir = tempWorkspace();
    for (let seed = 1; seed <= 150; seed++) {
      const testCase = randomCase(seed);
      const file = write(dir, `case${seed}.csv`, testCase.text);
      const expected = nativeTable(testCase);
      // Chunks of 1 and 2 bytes split every multi-byte character, delimiter, CRLF and "" somewhere.
      for (const chunkBytes of [1, 2, 3, 7, 64, 4096]) {
        const db = new SQL.Database();
        try {
          const rows = await loadCsvTable(db, 't', file, seedConfig({}, { delimiter: testCase.delimiter }), {
            chunkBytes,
          });
          const info = db.exec("SELECT name, type FROM pragma_table_info('t')")[0].values;
          const where = `seed ${seed}, chunks of ${chunkBytes} bytes`;
          assert.equal(rows, testCase.rows.length, where);
          assert.deepEqual(
            info.map(([name]) => name),
            testCase.header,
            where,
          );
          assert.deepEqual(
            info.map(([, type]) => type),
            expected.types,
            where,
          );
          const names = testCase.header.map((name) => `"${name.replaceAll('"', '""')}"`);
          const ours = db.exec(`SELECT ${names.map((name) => `${name}, typeof(${name})`).join(', ')} FROM t`)[0];
          assert.deepStrictEqual(ours?.values ?? [], expected.rows, where);
        } finally {
          db.close();
        }
      }
    }
  });
});

describe('csv seeds: the first problem in the file is the one named, wherever the chunks break', () => {
  // Each file's first problem is on line 4, after a quoted line break on lines 2-3; a second problem follows.
  const cases: [string, string | Buffer, RegExp, SeedConfig?][] = [
    [
      'a ragged row',
      'id,name\n1,"two\nlines"\n2,b,extra\n3,"open\n',
      /line 4: the row has more than 2 cells, the header 2/,
    ],
    ['a short row', 'id,name\n1,"two\nlines"\n2\n3,b,c\n', /line 4: the row has 1 cell, the header 2/],
    ['a quote inside a plain cell', 'id,name\n1,"two\nlines"\n2,b"c\n3,b,c\n', /line 4: .*a quote inside a cell/],
    ['text after a closing quote', 'id,name\n1,"two\nlines"\n2,"b"c\n3,b,c\n', /line 4: .*after the closing quote/],
    [
      'an unclosed quote',
      'id,name\n1,"two\nlines"\n2,"open\n3,c\n',
      /line 4: the quote opened on line 4 is never closed/,
    ],
    [
      'bytes that are not UTF-8',
      Buffer.concat([Buffer.from('id,name\n1,"two\nlines"\n2,Z'), Buffer.from([0xfc]), Buffer.from('rich\n3,b,c\n')]),
      /is not UTF-8 text: line 4 has bytes that are not UTF-8/,
    ],
    [
      'a value not of its declared type',
      'id,qty\n1,"2\n"\n2,x\n3,b,c\n',
      /line 4, column "qty": "x" is not an integer/,
    ],
  ];
  cases[6][3] = seedConfig({ qty: 'integer' });
  for (const [what, content, message, seed] of cases) {
    it(`${what}`, async () => {
      const SQL = await loadSqlJs(assets.wasmPath);
      const file = write(tempWorkspace(), 'seed.csv', content);
      for (const chunkBytes of [1, 2, 3, 5, 8, 13, 1 << 20]) {
        const db = new SQL.Database();
        const error = await loadCsvTable(db, 'seed', file, seed, { chunkBytes }).then(
          () => assert.fail(`expected an error (chunks of ${chunkBytes} bytes)`),
          (thrown: unknown) => thrown as LensError,
        );
        assert.ok(error instanceof LensError, String(error));
        assert.match(error.value.message, message, `chunks of ${chunkBytes} bytes`);
        assert.equal(error.value.location?.line, 4, `chunks of ${chunkBytes} bytes`);
        // The transaction was rolled back: no table is left behind.
        assert.deepEqual(db.exec("SELECT name FROM sqlite_master WHERE type = 'table'"), []);
        db.close();
      }
    });
  }
});

describe('csv seeds: a file cut in the middle of a character', () => {
  it('is an error saying so, whatever the chunk size', async () => {
    const SQL = await loadSqlJs(assets.wasmPath);
    const file = write(tempWorkspace(), 'seed.csv', Buffer.concat([Buffer.from('id,name\n1,Z'), Buffer.from([0xc3])]));
    for (const chunkBytes of [1, 2, 5, 1 << 20]) {
      const db = new SQL.Database();
      const error = await loadCsvTable(db, 'seed', file, undefined, { chunkBytes }).then(
        () => assert.fail('expected an error'),
        (thrown: unknown) => thrown as LensError,
      );
      assert.match(error.value.message, /seed\.csv is not UTF-8 text: it ends in the middle of a UTF-8 character\./);
      assert.equal(error.value.location?.line, 2);
      db.close();
    }
  });
});
