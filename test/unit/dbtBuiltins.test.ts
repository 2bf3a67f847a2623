// dbt's cross-database macros for SQLite: each is rendered with MiniJinja (minijinja-js), run in sql.js with the
// registered SQL functions, and compared with the value Postgres gives, computed here in plain JavaScript (UTC Date
// arithmetic, string operations, node:crypto) or, for a few calendar facts, written out by hand.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Environment } from 'minijinja-js';
import type { Database, SqlValue } from 'sql.js';
import { LoadedData } from '../../src/engine/data/loadedData';
import { registerSqlFunctions } from '../../src/engine/data/sqlFunctions';
import { loadSqlJs } from '../../src/engine/data/sqljs';
import { CROSS_DB_MACRO_NAMES, SQLITE_CROSS_DB_MACROS } from '../../src/engine/model/dbtBuiltins';
import { assets } from './helpers';

const env = new Environment();
env.enablePyCompat();

/** Renders `sqlite__<name>(…)` with the macros defined before it; arguments (and keyword arguments) go through the context. */
function render(name: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): string {
  const context: Record<string, unknown> = {};
  const list = args.map((arg, index) => {
    context[`arg${index}`] = arg;
    return `arg${index}`;
  });
  for (const [key, arg] of Object.entries(kwargs)) {
    context[`kw_${key}`] = arg;
    list.push(`${key}=kw_${key}`);
  }
  return env.renderStr(`${SQLITE_CROSS_DB_MACROS}{{ sqlite__${name}(${list.join(', ')}) }}`, context);
}

/** A SQL string literal. */
function lit(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

let db: Database;

before(async () => {
  const SQL = await loadSqlJs(assets.wasmPath);
  db = new SQL.Database();
  registerSqlFunctions(db);
});

after(() => db.close());

/** The value of one SQL expression. */
function value(sql: string): SqlValue {
  return db.exec(`SELECT ${sql}`)[0].values[0][0];
}

/** A table `name` of untyped columns (values keep their JavaScript type), replaced if it exists. */
function table(name: string, columns: string[], rows: SqlValue[][]): void {
  db.run(`DROP TABLE IF EXISTS ${name}`);
  db.run(`CREATE TABLE ${name} (${columns.join(', ')})`);
  for (const row of rows) db.run(`INSERT INTO ${name} VALUES (${row.map(() => '?').join(', ')})`, row);
}

/** `sql` evaluated on each row of `name`, in insertion order. */
function column(sql: string, name: string): SqlValue[] {
  return db.exec(`SELECT ${sql} FROM ${name} ORDER BY rowid`)[0].values.map((row) => row[0]);
}

// ---------------------------------------------------------------- dates, computed with UTC Date arithmetic

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** 'YYYY-MM-DD[ HH:MM[:SS[.fff]]]' (or with 'T') as UTC milliseconds. */
function parse(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$/.exec(text);
  assert.ok(match, text);
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = ''] = match;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), Number(fraction.padEnd(3, '0').slice(0, 3)));
  return date.getTime();
}

function parts(time: number) {
  const date = new Date(time);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth(), day: date.getUTCDate(), weekday: date.getUTCDay() };
}

function utc(year: number, month: number, day: number, timeOfDay = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  return date.getTime() + timeOfDay;
}

/** As Postgres prints a date. */
function formatDate(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** As Postgres prints a timestamp: seconds always, a fraction without its trailing zeros. */
function formatTimestamp(time: number): string {
  const iso = new Date(time).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}`;
}

const floorTo = (time: number, unit: number) => Math.floor(time / unit) * unit;
const timeOfDay = (time: number) => time - floorTo(time, DAY);
const daysInMonth = (year: number, month: number) => parts(utc(year, month + 1, 0)).day;

/** Postgres's date_trunc (weeks start on Monday). */
function truncate(part: string, time: number): number {
  const { year, month, weekday } = parts(time);
  switch (part) {
    case 'second':
      return floorTo(time, SECOND);
    case 'minute':
      return floorTo(time, MINUTE);
    case 'hour':
      return floorTo(time, HOUR);
    case 'day':
      return floorTo(time, DAY);
    case 'week':
      return floorTo(time, DAY) - ((weekday + 6) % 7) * DAY;
    case 'month':
      return utc(year, month, 1);
    case 'quarter':
      return utc(year, month - (month % 3), 1);
    case 'year':
      return utc(year, 0, 1);
  }
  throw new Error(part);
}

/** Postgres's timestamp + n months: the same day, or the month's last if it has fewer days; the time kept. */
function addMonths(time: number, months: number): number {
  const { year, month, day } = parts(time);
  const target = year * 12 + month + months;
  const targetYear = Math.floor(target / 12);
  const targetMonth = target - targetYear * 12;
  return utc(targetYear, targetMonth, Math.min(day, daysInMonth(targetYear, targetMonth)), timeOfDay(time));
}

/** Postgres's timestamp + interval '1 <part>' * n. */
function add(part: string, n: number, time: number): number {
  const units: Record<string, number> = { second: SECOND, minute: MINUTE, hour: HOUR, day: DAY, week: 7 * DAY };
  if (part in units) return time + n * units[part];
  return addMonths(time, n * { month: 1, quarter: 3, year: 12 }[part as 'month' | 'quarter' | 'year']);
}

/** Boundaries of `part` crossed from `first` to `second`; weeks start on Sunday (1970-01-01 was a Thursday). */
function boundaries(part: string, first: number, second: number): number {
  const a = parts(first);
  const b = parts(second);
  const sundayWeek = (time: number) => Math.floor((Math.floor(time / DAY) + 4) / 7);
  const units: Record<string, number> = { millisecond: 1, second: SECOND, minute: MINUTE, hour: HOUR, day: DAY };
  if (part in units) return Math.floor(second / units[part]) - Math.floor(first / units[part]);
  switch (part) {
    case 'week':
      return sundayWeek(second) - sundayWeek(first);
    case 'month':
      return (b.year - a.year) * 12 + b.month - a.month;
    case 'quarter':
      return (b.year - a.year) * 4 + Math.floor(b.month / 3) - Math.floor(a.month / 3);
    case 'year':
      return b.year - a.year;
  }
  throw new Error(part);
}

/** dbt's last_day: the last day of the part's period (weeks start on Monday), as a date. */
function lastDay(part: string, time: number): number {
  const { year, month } = parts(time);
  switch (part) {
    case 'day':
      return floorTo(time, DAY);
    case 'week':
      return truncate('week', time) + 6 * DAY;
    case 'month':
      return utc(year, month + 1, 0);
    case 'quarter':
      return utc(year, month - (month % 3) + 3, 0);
    case 'year':
      return utc(year, 12, 0);
  }
  throw new Error(part);
}

/** Month ends, leap days (2000 was a leap year, 1900 was not), weeks across new year, before 1970, fractions. */
const DATES = [
  '2024-01-31',
  '2024-02-29',
  '2023-02-28',
  '2000-02-29',
  '1900-02-28',
  '2024-03-31',
  '2023-11-30',
  '2020-12-31',
  '2021-01-01',
  '2021-01-03',
  '2021-01-04',
  '2024-12-30',
  '2025-12-31',
  '2026-06-15',
  '1969-12-31 23:59:59',
  '1960-07-04 06:30:00',
  '2024-01-07 00:00:00',
  '2024-01-06 23:59:59.999',
  '2024-05-19 13:45:30.250',
  '2024-08-31T22:10:05',
  '2024-10-01 00:00:00.5',
];
const DATE_PARTS = ['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'];

describe('dbt cross-database macros: dates', () => {
  before(() => table('dates', ['d'], [...DATES.map((date) => [date]), [null]]));

  it('date_trunc renders SQLite SQL for a literal, and gives the period start as a timestamp', () => {
    assert.equal(render('date_trunc', ['month', "'2024-03-15'"]), "datetime('2024-03-15', 'start of month')");
    assert.equal(value(render('date_trunc', ['month', "'2024-03-15'"])), '2024-03-01 00:00:00');
  });

  for (const part of DATE_PARTS) {
    it(`date_trunc('${part}') of each date is Postgres's, NULL for NULL`, () => {
      const expected = [...DATES.map((date) => formatTimestamp(truncate(part, parse(date)))), null];
      assert.deepEqual(column(render('date_trunc', [part, 'd']), 'dates'), expected);
    });
  }

  it('date_trunc week starts on Monday across the new year (calendar facts)', () => {
    // 2021-01-01 was a Friday, 2021-01-03 a Sunday, 2024-12-31 a Tuesday.
    assert.equal(value(render('date_trunc', ['week', "'2021-01-01'"])), '2020-12-28 00:00:00');
    assert.equal(value(render('date_trunc', ['week', "'2021-01-03 23:00:00'"])), '2020-12-28 00:00:00');
    assert.equal(value(render('date_trunc', ['week', "'2024-12-31'"])), '2024-12-30 00:00:00');
    assert.equal(value(render('date_trunc', [' WEEK ', "'2021-01-04'"])), '2021-01-04 00:00:00');
  });

  const intervals = [1, -1, 13, -25, 0];
  for (const part of DATE_PARTS) {
    it(`dateadd('${part}') by ${intervals.join(', ')} is Postgres's timestamp + interval, NULL for NULL`, () => {
      for (const n of intervals) {
        const expected = [...DATES.map((date) => formatTimestamp(add(part, n, parse(date)))), null];
        assert.deepEqual(column(render('dateadd', [part, n, 'd']), 'dates'), expected, `${part} ${n}`);
      }
    });
  }

  it('dateadd keeps to the month end as Postgres does (calendar facts), and takes an interval column', () => {
    assert.equal(value(render('dateadd', ['month', 1, "'2024-01-31'"])), '2024-02-29 00:00:00');
    assert.equal(value(render('dateadd', ['month', 1, "'2023-01-31'"])), '2023-02-28 00:00:00');
    assert.equal(value(render('dateadd', ['month', -1, "'2024-03-31 10:00:00'"])), '2024-02-29 10:00:00');
    assert.equal(value(render('dateadd', ['year', 1, "'2024-02-29'"])), '2025-02-28 00:00:00');
    assert.equal(value(render('dateadd', ['quarter', 1, "'2023-11-30'"])), '2024-02-29 00:00:00');
    assert.equal(value(render('dateadd', ['day', 1.5, "'2024-02-28'"])), '2024-02-29 12:00:00');
    assert.equal(value(render('dateadd', ['day', 1, 'null'])), null);
    assert.equal(value(render('dateadd', ['day', 'null', "'2024-02-28'"])), null);
    table(
      'shifts',
      ['d', 'n'],
      [
        ['2024-01-31', 1],
        ['2024-01-31', -2],
        ['2024-05-31 08:00:00', 3],
      ],
    );
    const expected = [
      ['2024-01-31', 1],
      ['2024-01-31', -2],
      ['2024-05-31 08:00:00', 3],
    ].map(([date, n]) => formatTimestamp(addMonths(parse(date as string), n as number)));
    assert.deepEqual(column(render('dateadd', ['month', 'n', 'd']), 'shifts'), expected);
  });

  for (const part of [...DATE_PARTS, 'millisecond']) {
    it(`datediff('${part}') counts the boundaries crossed between each pair of dates, both ways`, () => {
      const pairs = DATES.flatMap((first) => DATES.map((second) => [first, second]));
      table('pairs', ['a', 'b'], [...pairs, ['2024-01-01', null], [null, '2024-01-01']]);
      const expected = [...pairs.map(([a, b]) => boundaries(part, parse(a), parse(b))), null, null];
      assert.deepEqual(column(render('datediff', ['a', 'b', part]), 'pairs'), expected);
    });
  }

  it('datediff week: Sunday starts a week, and an earlier date on the same weekday is -1 (calendar facts)', () => {
    // 2024-01-06 was a Saturday, 2024-01-07 a Sunday.
    const weeks = (a: string, b: string) => value(render('datediff', [lit(a), lit(b), 'week']));
    assert.equal(weeks('2024-01-06', '2024-01-07'), 1);
    assert.equal(weeks('2024-01-07', '2024-01-13'), 0);
    assert.equal(weeks('2024-01-07', '2024-01-06'), -1);
    // dbt's Postgres macro gives -2 and -1 for these two (see the macro's comment); boundaries crossed are -1 and 0.
    assert.equal(weeks('2024-01-14', '2024-01-07'), -1);
    assert.equal(weeks('2024-01-07 10:00:00', '2024-01-07 09:00:00'), 0);
    assert.equal(value(render('datediff', ["'2023-12-31 23:59:59'", "'2024-01-01'", 'year'])), 1);
    assert.equal(value(render('datediff', ["'2024-01-31'", "'2024-02-01'", 'month'])), 1);
    assert.equal(value(render('datediff', ["'2024-02-01'", "'2024-01-31'", 'day'])), -1);
  });

  for (const part of ['day', 'week', 'month', 'quarter', 'year']) {
    it(`last_day('${part}') is the period's last day, as a date`, () => {
      const expected = [...DATES.map((date) => formatDate(lastDay(part, parse(date)))), null];
      assert.deepEqual(column(render('last_day', ['d', part]), 'dates'), expected);
    });
  }

  it('last_day of February follows leap years (calendar facts)', () => {
    assert.equal(value(render('last_day', ["'2024-02-10'", 'month'])), '2024-02-29');
    assert.equal(value(render('last_day', ["'1900-02-10'", 'month'])), '1900-02-28');
    assert.equal(value(render('last_day', ["'2000-02-10'", 'month'])), '2000-02-29');
    assert.equal(value(render('last_day', ["'2024-11-05'", 'quarter'])), '2024-12-31');
    assert.equal(value(render('last_day', ["'2024-05-05 10:00:00'", 'quarter'])), '2024-06-30');
  });

  it('current_timestamp is now, UTC, to the second', () => {
    const before = floorTo(Date.now(), SECOND);
    const now = value(render('current_timestamp'));
    const after = Date.now();
    assert.match(String(now), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    assert.ok(parse(String(now)) >= before && parse(String(now)) <= after, String(now));
  });

  it("a datepart the macros don't know makes SQLite refuse the query, naming it", () => {
    for (const [name, args] of [
      ['date_trunc', ['decade', "'2024-01-01'"]],
      ['dateadd', ['fortnight', 1, "'2024-01-01'"]],
      ['datediff', ["'2024-01-01'", "'2024-02-01'", 'century']],
      ['last_day', ["'2024-01-01'", 'hour']],
    ] as const) {
      const sql = render(name, [...args]);
      assert.throws(
        () => db.exec(`SELECT ${sql} FROM dates WHERE 0`),
        (error: Error) => error.message.includes(`dbt.${name}: datepart`) && error.message.includes('not supported'),
        sql,
      );
    }
  });
});

// ---------------------------------------------------------------- strings

/** Characters as Postgres counts them in UTF-8: code points. */
const chars = (text: string) => [...text];
const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

describe('dbt cross-database macros: strings', () => {
  const texts = ['abc', '', "O'Neil", 'Zürich "Central"', 'naïve 😀 café', 'a,b,,c', 'Multi\nLine'];
  before(() => table('texts', ['s'], [...texts.map((text) => [text]), [null]]));

  it('hash is the md5 of the text (UTF-8) as lowercase hex; numbers hash their text; NULL stays NULL', () => {
    assert.deepEqual(column(render('hash', ['s']), 'texts'), [...texts.map(md5), null]);
    assert.equal(value(render('hash', ['42'])), md5('42'));
    assert.equal(value(render('hash', ['1.5'])), md5('1.5'));
    assert.equal(value(render('hash', ["'abc'"])), '900150983cd24fb0d6963f7d28e17f72'); // RFC 1321's test suite
  });

  it('length counts characters (code points), not UTF-16 units or bytes', () => {
    assert.deepEqual(column(render('length', ['s']), 'texts'), [...texts.map((text) => chars(text).length), null]);
  });

  it('right takes the last n characters; n = 0 gives "", a negative n drops |n| from the start, as Postgres', () => {
    for (const n of [0, 1, 2, 3, 7, 100, -1, -3, -100]) {
      const expected = texts.map((text) => {
        const list = chars(text);
        return (n >= 0 ? list.slice(Math.max(list.length - n, 0)) : list.slice(-n)).join('');
      });
      assert.deepEqual(column(render('right', ['s', n]), 'texts'), [...expected, null], `n = ${n}`);
    }
    assert.equal(value(render('right', ["'abc'", 'null'])), null);
  });

  it('position is the 1-based character position of the first occurrence, 0 if none, 1 for ""', () => {
    for (const needle of ['a', 'é', '😀', ',', '', 'zz', 'Central', "'"]) {
      const expected = texts.map((text) => {
        const index = text.indexOf(needle);
        return index < 0 ? 0 : chars(text.slice(0, index)).length + 1;
      });
      assert.deepEqual(column(render('position', [lit(needle), 's']), 'texts'), [...expected, null], needle);
    }
  });

  it('replace replaces every occurrence', () => {
    for (const [from, to] of [
      ['a', 'XY'],
      [',', ''],
      ["'", "''"],
      ['😀', ':)'],
      ['', 'x'],
    ]) {
      const expected = texts.map((text) => (from === '' ? text : text.replaceAll(from, to)));
      assert.deepEqual(column(render('replace', ['s', lit(from), lit(to)]), 'texts'), [...expected, null]);
    }
  });

  it('concat joins with ||, so any NULL makes NULL (as dbt on Postgres)', () => {
    const expected = texts.map((text) => `<${text}>`);
    assert.deepEqual(column(render('concat', [["'<'", 's', "'>'"]]), 'texts'), [...expected, null]);
    assert.equal(render('concat', [['a', 'b', 'c']]), 'a || b || c');
  });

  it('split_part: 1-based fields, negative from the end, "" past the end, whole text for an empty delimiter', () => {
    const cases: [string | null, string | null, number | null, string | null][] = [
      ['a,b,c', ',', 1, 'a'],
      ['a,b,c', ',', 3, 'c'],
      ['a,b,c', ',', 4, ''],
      ['a,b,c', ',', -1, 'c'],
      ['a,b,c', ',', -3, 'a'],
      ['a,b,c', ',', -4, ''],
      ['a,b,,c', ',', 3, ''],
      ['a--b--c', '--', 2, 'b'],
      ['a--b--c', '--', -2, 'b'],
      ['ä|ö|😀', '|', 3, '😀'],
      ['', ',', 1, ''],
      ['abc', '', 1, 'abc'],
      ['abc', '', -1, 'abc'],
      ['abc', '', 2, ''],
      ['abc', ',', 1, 'abc'],
      [null, ',', 1, null],
      ['a,b', null, 1, null],
      ['a,b', ',', null, null],
    ];
    table(
      'splits',
      ['s', 'd', 'n'],
      cases.map(([s, d, n]) => [s, d, n]),
    );
    assert.deepEqual(
      column(render('split_part', ['s', 'd', 'n']), 'splits'),
      cases.map((item) => item[3]),
    );
    assert.equal(value(render('split_part', ["'2024-03-15'", "'-'", 2])), '03');
    assert.equal(value(render('split_part', ['12.5', "'.'", 2])), '5');
    assert.throws(() => value(render('split_part', ["'a,b'", "','", 0])), /field position must not be zero/);
  });

  it('escape_single_quotes doubles quotes so the text survives a SQL literal', () => {
    for (const text of ["O'Neil", "''", "it's 'quoted'", 'none', 'Zürich "Central"']) {
      const escaped = render('escape_single_quotes', [text]);
      assert.equal(escaped, text.replaceAll("'", "''"));
      assert.equal(value(`'${escaped}'`), text);
    }
  });

  it('string_literal quotes the value as dbt does (unescaped), so with escape_single_quotes any text survives', () => {
    assert.equal(render('string_literal', ['Pennsylvania']), "'Pennsylvania'");
    assert.equal(value(render('string_literal', ['Pennsylvania'])), 'Pennsylvania');
    for (const text of ["O'Neil", "it's 'quoted'", 'naïve 😀']) {
      const sql = env.renderStr(
        `${SQLITE_CROSS_DB_MACROS}{{ sqlite__string_literal(sqlite__escape_single_quotes(t)) }}`,
        {
          t: text,
        },
      );
      assert.equal(value(sql), text);
    }
  });
});

// ---------------------------------------------------------------- types and casts

describe('dbt cross-database macros: types and casts', () => {
  it('type_* name types SQLite casts to without mangling: a timestamp stays text, integers are integers', () => {
    const types = Object.fromEntries(
      ['string', 'int', 'bigint', 'float', 'numeric', 'timestamp', 'boolean'].map((name) => [
        name,
        render(`type_${name}`),
      ]),
    );
    assert.deepEqual(types, {
      string: 'text',
      int: 'integer',
      bigint: 'bigint',
      float: 'real',
      numeric: 'numeric(28,6)',
      timestamp: 'text',
      boolean: 'boolean',
    });
    const row = (sql: string) => db.exec(`SELECT ${sql}`)[0].values[0];
    assert.deepEqual(
      row(`cast('2024-01-31 10:00:00' as ${types.timestamp}), typeof(cast('2024-01-31' as ${types.timestamp}))`),
      ['2024-01-31 10:00:00', 'text'],
    );
    assert.deepEqual(
      row(
        `cast('12' as ${types.int}), cast('9007199254740993' as ${types.bigint}) = 9007199254740993, cast('1.5' as ${types.float})`,
      ),
      [12, 1, 1.5],
    );
    assert.deepEqual(row(`typeof(cast(12 as ${types.string})), cast(12 as ${types.string})`), ['text', '12']);
  });

  /** Postgres's numeric → integer rounding: half away from zero. */
  const roundHalfAway = (x: number) => Math.sign(x) * Math.round(Math.abs(x));
  const values: SqlValue[] = [
    12,
    -7,
    2.5,
    -2.5,
    1.4999,
    1234.5678916,
    '42',
    ' 17 ',
    '3.25',
    '-0.5',
    '1e3',
    'abc',
    '12abc',
    '',
    null,
  ];
  const isInteger = (text: string) => /^\s*[+-]?\d+\s*$/.test(text);
  const isNumber = (text: string) =>
    text.trim() !== '' && Number.isFinite(Number(text.trim())) && !/[xob_]/i.test(text);

  before(() =>
    table(
      'vals',
      ['v'],
      values.map((v) => [v]),
    ),
  );

  it('safe_cast to integer types rounds numbers as Postgres, reads integer text, and is NULL for anything else', () => {
    const expected = values.map((v) =>
      v === null
        ? null
        : typeof v === 'number'
          ? roundHalfAway(v)
          : isInteger(String(v))
            ? Number(String(v).trim())
            : null,
    );
    for (const type of ['integer', 'bigint', 'int', 'INT8', 'numeric(10, 0)'])
      assert.deepEqual(column(render('safe_cast', ['v', type]), 'vals'), expected, type);
  });

  it('safe_cast to numeric(28,6) rounds to 6 places; to float reads any decimal text; others NULL', () => {
    const numeric = values.map((v) =>
      v === null ? null : isNumber(String(v)) ? Math.round(Number(String(v).trim()) * 1e6) / 1e6 : null,
    );
    const actual = column(render('safe_cast', ['v', render('type_numeric')]), 'vals');
    actual.forEach((got, index) => {
      const want = numeric[index];
      if (want === null) assert.equal(got, null, String(values[index]));
      else assert.ok(Math.abs(Number(got) - want) < 1e-9, `${values[index]}: ${got} vs ${want}`);
    });
    const float = values.map((v) => (v === null ? null : isNumber(String(v)) ? Number(String(v).trim()) : null));
    assert.deepEqual(column(render('safe_cast', ['v', 'double precision']), 'vals'), float);
  });

  it('cast to integer, text, date, timestamp and boolean converts as Postgres does for valid input', () => {
    assert.deepEqual(column(render('cast', ['v', 'integer']), 'vals').slice(0, 8), [12, -7, 3, -3, 1, 1235, 42, 17]);
    assert.equal(value(render('cast', ['12', render('type_string')])), '12');
    assert.equal(value(render('cast', ["'2024-01-31 10:20:30'", 'date'])), '2024-01-31');
    const stamps = ['2024-01-31', '2024-01-31T10:20:30', '2024-01-31 10:20:30.250', '1960-02-29 23:59'];
    table('stamps', ['t'], [...stamps.map((t) => [t]), [null], ['not a date']]);
    assert.deepEqual(column(render('cast', ['t', 'timestamp']), 'stamps'), [
      ...stamps.map((t) => formatTimestamp(parse(t))),
      null,
      null,
    ]);
    assert.deepEqual(column(render('safe_cast', ['t', 'date']), 'stamps'), [
      ...stamps.map((t) => formatDate(floorTo(parse(t), DAY))),
      null,
      null,
    ]);
  });

  const booleans: [SqlValue, number | null][] = [
    [1, 1],
    [0, 0],
    [2, 1],
    [0.5, 1],
    ['true', 1],
    ['FALSE', 0],
    [' t ', 1],
    ['f', 0],
    ['yes', 1],
    ['no', 0],
    ['on', 1],
    ['off', 0],
    ['1', 1],
    ['0', 0],
    ['maybe', null],
    [null, null],
  ];

  it("cast to boolean and cast_bool_to_text read 1/0 and Postgres's words for true and false", () => {
    table(
      'bools',
      ['b'],
      booleans.map(([b]) => [b]),
    );
    const expected = booleans.map(([, truth]) => truth);
    assert.deepEqual(column(render('cast', ['b', render('type_boolean')]), 'bools'), expected);
    assert.deepEqual(
      column(render('cast_bool_to_text', ['b']), 'bools'),
      expected.map((truth) => (truth === null ? null : truth ? 'true' : 'false')),
    );
    assert.equal(value(render('cast_bool_to_text', ['1 = 1'])), 'true');
    assert.equal(value(render('cast_bool_to_text', ['1 = 2'])), 'false');
    assert.equal(value(render('cast_bool_to_text', ['null'])), null);
  });

  it("a type the macros do not map is SQLite's own cast", () => {
    assert.equal(render('cast', ['x', 'blob']), 'cast(x as blob)');
  });
});

// ---------------------------------------------------------------- aggregates and set operators

describe('dbt cross-database macros: aggregates and set operators', () => {
  const rows: [number, string | null, number, number | null][] = [
    // group, measure, order, flag
    [1, 'c', 3, 0],
    [1, 'a', 1, 0],
    [1, null, 2, 1],
    [1, 'b', 4, null],
    [1, "O'Neil", 0, 0],
    [2, 'z', 1, null],
    [2, 'y', 2, null],
    [3, null, 1, 0],
    [3, null, 2, 0],
  ];
  const groups = [...new Set(rows.map(([group]) => group))];
  const ofGroup = (group: number) => rows.filter((row) => row[0] === group).sort((a, b) => a[2] - b[2]);

  before(() => table('facts', ['g', 'm', 'o', 'flag'], rows));

  function perGroup(sql: string): SqlValue[] {
    return db.exec(`SELECT ${sql} FROM facts GROUP BY g ORDER BY g`)[0].values.map((row) => row[0]);
  }

  it('listagg: string_agg with delimiter and order by, NULLs left out, NULL when all are NULL', () => {
    const expected = (delimiter: string) =>
      groups.map((group) => {
        const kept = ofGroup(group)
          .map((row) => row[1])
          .filter((m) => m !== null);
        return kept.length ? kept.join(delimiter) : null;
      });
    assert.deepEqual(perGroup(render('listagg', ['m', "' | '", 'order by o'])), expected(' | '));
    assert.deepEqual(perGroup(render('listagg', ['m', "','", 'order by o'])), expected(','));
    assert.deepEqual(perGroup(render('listagg', ['m'], { order_by_clause: 'order by o' })), expected(','));
  });

  it('listagg with limit_num: the first n in order, NULLs counted but not shown, "" when those are all NULL', () => {
    for (const limit of [1, 2, 3, 10]) {
      const expected = groups.map((group) =>
        ofGroup(group)
          .slice(0, limit)
          .map((row) => row[1])
          .filter((m) => m !== null)
          .join('-'),
      );
      assert.deepEqual(perGroup(render('listagg', ['m', "'-'", 'order by o', limit])), expected, `limit ${limit}`);
      assert.deepEqual(
        perGroup(render('listagg', ['m'], { delimiter_text: "'-'", order_by_clause: 'order by o', limit_num: limit })),
        expected,
      );
    }
    assert.equal(value(`${render('listagg', ['m', "'-'", 'order by o', 2])} FROM facts WHERE 0`), null);
  });

  it('listagg without order by or limit renders the plain aggregate', () => {
    assert.equal(render('listagg', ['m']), "group_concat(m, ',')");
  });

  it('any_value is min(), as dbt on Postgres; bool_or is true if any is, NULL if all are NULL', () => {
    const min = groups.map((group) => {
      const kept = ofGroup(group)
        .map((row) => row[1])
        .filter((m): m is string => m !== null)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return kept[0] ?? null;
    });
    assert.deepEqual(perGroup(render('any_value', ['m'])), min);
    const any = groups.map((group) => {
      const flags = ofGroup(group)
        .map((row) => row[3])
        .filter((flag) => flag !== null);
      return flags.length ? (flags.some((flag) => flag !== 0) ? 1 : 0) : null;
    });
    assert.deepEqual(perGroup(render('bool_or', ['flag'])), any);
    assert.deepEqual(
      perGroup(render('bool_or', ['o > 3'])),
      groups.map((group) => (ofGroup(group).some((row) => row[2] > 3) ? 1 : 0)),
    );
  });

  it('except and intersect are the distinct set operators', () => {
    const left = [1, 2, 2, 3, 4];
    const right = [2, 4, 5];
    const select = (list: number[]) => `SELECT * FROM (${list.map((n) => `SELECT ${n}`).join(' UNION ALL ')})`;
    const run = (operator: string) =>
      db
        .exec(`SELECT * FROM (${select(left)} ${render(operator)} ${select(right)}) ORDER BY 1`)[0]
        .values.map((row) => row[0]);
    assert.deepEqual(
      run('except'),
      [...new Set(left)].filter((n) => !right.includes(n)),
    );
    assert.deepEqual(
      run('intersect'),
      [...new Set(left)].filter((n) => right.includes(n)),
    );
  });
});

// ---------------------------------------------------------------- the macro text itself

describe('dbt cross-database macros: the source', () => {
  const defined = [...SQLITE_CROSS_DB_MACROS.matchAll(/\{%-?\s*macro\s+(\w+)\(([^)]*)\)/g)].map((match) => ({
    name: match[1],
    params: match[2],
  }));

  it('defines sqlite__<name> for every public name and nothing else but sqlite__lens_ helpers', () => {
    const publicMacros = defined.filter((macro) => !macro.name.startsWith('sqlite__lens_')).map((macro) => macro.name);
    assert.deepEqual(publicMacros.sort(), CROSS_DB_MACRO_NAMES.map((name) => `sqlite__${name}`).sort());
    assert.ok(defined.every((macro) => macro.name.startsWith('sqlite__')));
  });

  it("takes dbt's parameters, in dbt's order, with dbt's defaults", () => {
    const params = Object.fromEntries(defined.map((macro) => [macro.name.replace('sqlite__', ''), macro.params]));
    assert.equal(params.date_trunc, 'datepart, date');
    assert.equal(params.dateadd, 'datepart, interval, from_date_or_timestamp');
    assert.equal(params.datediff, 'first_date, second_date, datepart');
    assert.equal(params.last_day, 'date, datepart');
    assert.equal(params.listagg, `measure, delimiter_text="','", order_by_clause=none, limit_num=none`);
    assert.equal(params.split_part, 'string_text, delimiter_text, part_number');
    assert.equal(params.right, 'string_text, length_expression');
    assert.equal(params.position, 'substring_text, string_text');
    assert.equal(params.replace, 'field, old_chars, new_chars');
    assert.equal(params.safe_cast, 'field, type');
    assert.equal(params.cast, 'field, type');
    assert.equal(params.concat, 'fields');
  });

  it('renders to nothing and leaves the text after it alone', () => {
    assert.equal(env.renderStr(SQLITE_CROSS_DB_MACROS, {}), '');
    const model = '  select 1\n  from t\n';
    assert.equal(env.renderStr(SQLITE_CROSS_DB_MACROS + model, {}), env.renderStr(model, {}));
  });

  it('LoadedData registers the SQL functions on its connection', async () => {
    const SQL = await loadSqlJs(assets.wasmPath);
    const data = new LoadedData(new SQL.Database(), { type: 'sample', description: '', files: [], schemas: {} });
    assert.equal(data.main.exec("SELECT md5('abc')")[0].values[0][0], md5('abc'));
    assert.equal(data.main.exec("SELECT segment_lens_split_part('a,b', ',', -1)")[0].values[0][0], 'b');
    data.main.close();
  });
});

describe('SQL functions for the macros', () => {
  it('md5 hashes text as UTF-8 and a BLOB as its bytes; NULL stays NULL', () => {
    assert.equal(value("md5('Zürich')"), md5('Zürich'));
    assert.equal(value("md5(x'616263')"), md5('abc'));
    assert.equal(value('md5(null)'), null);
  });

  it('segment_lens_is_number reads text as Postgres reads a number (an integer when asked)', () => {
    const check = (text: string, integer: number) => value(`segment_lens_is_number(${lit(text)}, ${integer})`);
    for (const text of ['1', ' -2 ', '+3.', '.5', '1e3', '-1.5E-2']) assert.equal(check(text, 0), 1, text);
    for (const text of ['', ' ', 'abc', '1x', '1e', '--1', '1.2.3', '0x10', '. '])
      assert.equal(check(text, 0), 0, text);
    for (const text of ['7', ' +8 ', '-0']) assert.equal(check(text, 1), 1, text);
    for (const text of ['7.0', '1e3', '']) assert.equal(check(text, 1), 0, text);
    assert.equal(value("segment_lens_is_number(x'31', 0)"), 0);
    assert.equal(value('segment_lens_is_number(2.5, 1)'), 1);
    assert.equal(value('segment_lens_is_number(null, 0)'), null);
  });

  it("date_part gives Postgres's fields of a date or timestamp (values from Python's datetime)", () => {
    const fields = 'year quarter month week isoyear day hour minute second dow isodow doy epoch'.split(' ');
    // Python: year, (month-1)//3+1, month, isocalendar()[1], isocalendar()[0], day, hour, minute, second+fraction,
    // (weekday()+1) % 7, isocalendar()[2], tm_yday, timestamp() in UTC.
    const expected: Record<string, number[]> = {
      '2024-03-15 13:45:30.25': [2024, 1, 3, 11, 2024, 15, 13, 45, 30.25, 5, 5, 75, 1710510330.25],
      '2021-01-01': [2021, 1, 1, 53, 2020, 1, 0, 0, 0, 5, 5, 1, 1609459200],
      '2024-12-30': [2024, 4, 12, 1, 2025, 30, 0, 0, 0, 1, 1, 365, 1735516800],
      '2000-02-29': [2000, 1, 2, 9, 2000, 29, 0, 0, 0, 2, 2, 60, 951782400],
      '1999-12-31T23:59:59': [1999, 4, 12, 52, 1999, 31, 23, 59, 59, 5, 5, 365, 946684799],
    };
    for (const [date, values] of Object.entries(expected))
      fields.forEach((field, index) =>
        assert.equal(value(`date_part('${field}', ${lit(date)})`), values[index], `${field} of ${date}`),
      );
    assert.equal(value("date_part('dayofweek', '2024-03-17')"), 0, 'Sunday');
    assert.equal(value("date_part('DayOfYear', '2024-03-17')"), 77);
    assert.equal(value("date_part('day', '2024-02-30')"), null, 'no such day');
    assert.equal(value("date_part('day', 'soon')"), null);
    assert.equal(value("date_part('day', null)"), null);
    assert.throws(() => value("date_part('fortnight', '2024-03-17')"), /fortnight/);
  });

  it('split_part fails on a position that is not a number, as Postgres does', () => {
    assert.throws(() => value("segment_lens_split_part('a,b', ',', 'x')"), /not a number/);
  });

  it('take one pass over long input: a million characters split and checked well within a second', () => {
    const start = Date.now();
    const fields = Array.from({ length: 200000 }, (_, index) => String(index)).join(',');
    assert.equal(value(`segment_lens_split_part(${lit(fields)}, ',', -1)`), '199999');
    assert.equal(value(`segment_lens_is_number('${'1'.repeat(1000000)}x', 0)`), 0);
    assert.equal(value(`segment_lens_is_number('${' '.repeat(500000)}1${' '.repeat(500000)}x', 0)`), 0);
    assert.ok(Date.now() - start < 1000, `${Date.now() - start} ms`);
  });
});
