// dbt's `modules.datetime` and `modules.re`, as far as templates use them: read-only, and bounded. Regular
// expressions run on RE2 (re2js: linear time, so no pattern can hang a render) over text of bounded length.
import { RE2JS } from 're2js';

/** Longest text a template may hand a regular expression. */
const MAX_TEXT = 1_000_000;

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** Python's strftime for the directives templates use. */
function strftime(date: Date, format: string): string {
  const dayOfYear =
    Math.floor(
      (Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()) - Date.UTC(date.getUTCFullYear(), 0, 1)) /
        86_400_000,
    ) + 1;
  const directives: Record<string, () => string> = {
    Y: () => String(date.getUTCFullYear()),
    y: () => pad(date.getUTCFullYear() % 100),
    m: () => pad(date.getUTCMonth() + 1),
    d: () => pad(date.getUTCDate()),
    H: () => pad(date.getUTCHours()),
    M: () => pad(date.getUTCMinutes()),
    S: () => pad(date.getUTCSeconds()),
    f: () => pad(date.getUTCMilliseconds() * 1000, 6),
    j: () => pad(dayOfYear, 3),
    b: () => MONTHS[date.getUTCMonth()].slice(0, 3),
    B: () => MONTHS[date.getUTCMonth()],
    a: () => DAYS[date.getUTCDay()].slice(0, 3),
    A: () => DAYS[date.getUTCDay()],
    '%': () => '%',
  };
  return format.replace(/%(.)/g, (whole, directive: string) => directives[directive]?.() ?? whole);
}

/** A datetime as templates see one (UTC): its fields, isoformat(), strftime(), date(). */
function datetimeValue(date: Date, dateOnly = false): Record<string, unknown> {
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    ...(dateOnly ? {} : { hour: date.getUTCHours(), minute: date.getUTCMinutes(), second: date.getUTCSeconds() }),
    isoformat: () => (dateOnly ? strftime(date, '%Y-%m-%d') : strftime(date, '%Y-%m-%dT%H:%M:%S')),
    strftime: (format: unknown) => strftime(date, String(format)),
    date: () => datetimeValue(date, true),
  };
}

function compile(pattern: unknown, flags = 0): RE2JS {
  const source = String(pattern);
  if (source.length > 10_000) throw new Error('the regular expression is longer than 10,000 characters');
  return RE2JS.compile(source, flags);
}

function text(value: unknown): string {
  const string = String(value ?? '');
  if (string.length > MAX_TEXT) throw new Error(`the text is longer than ${MAX_TEXT.toLocaleString('en')} characters`);
  return string;
}

/** A match object: group(n), groups(), start(), end(); none when nothing matched. */
function matchValue(regex: RE2JS, input: string, mode: 'match' | 'search' | 'fullmatch'): unknown {
  const matcher = regex.matcher(input);
  const found = mode === 'fullmatch' ? matcher.matches() : mode === 'match' ? matcher.lookingAt() : matcher.find();
  if (!found) return null;
  const groups = Array.from({ length: matcher.groupCount() + 1 }, (_, index) => matcher.group(index));
  return {
    group: (index: unknown = 0) => groups[Number(index)] ?? null,
    groups: () => groups.slice(1),
    start: () => matcher.start(),
    end: () => matcher.end(),
  };
}

function findall(regex: RE2JS, input: string): unknown[] {
  const matcher = regex.matcher(input);
  const found: unknown[] = [];
  while (matcher.find()) {
    const count = matcher.groupCount();
    if (count === 0) found.push(matcher.group(0));
    else if (count === 1) found.push(matcher.group(1));
    else found.push(Array.from({ length: count }, (_, index) => matcher.group(index + 1)));
  }
  return found;
}

/** Python's `\1` and `\g<1>` in a replacement, as RE2JS's `$1`. */
function replacement(value: unknown): string {
  return String(value)
    .replace(/\$/g, '\\$')
    .replace(/\\g<(\d+)>|\\(\d+)/g, (_, named: string, plain: string) => `$${named ?? plain}`);
}

function methods(regex: () => RE2JS): Record<string, unknown> {
  return {
    match: (input: unknown) => matchValue(regex(), text(input), 'match'),
    search: (input: unknown) => matchValue(regex(), text(input), 'search'),
    fullmatch: (input: unknown) => matchValue(regex(), text(input), 'fullmatch'),
    findall: (input: unknown) => findall(regex(), text(input)),
    sub: (repl: unknown, input: unknown) => regex().matcher(text(input)).replaceAll(replacement(repl)),
    split: (input: unknown) => regex().split(text(input)),
  };
}

/**
 * `modules` in dbt's context. Its functions throw on bad input: the caller turns that into the render's problem.
 * `readsClock` is told each time the template reads the time (its SQL then changes from one render to the next).
 */
export function dbtModules(readsClock: () => void = () => undefined): Record<string, unknown> {
  const now = (dateOnly = false) => {
    readsClock();
    return datetimeValue(new Date(), dateOnly);
  };
  return {
    datetime: {
      datetime: { now: () => now(), utcnow: () => now() },
      date: { today: () => now(true) },
    },
    re: {
      compile: (pattern: unknown) => methods(() => compile(pattern)),
      match: (pattern: unknown, input: unknown) => matchValue(compile(pattern), text(input), 'match'),
      search: (pattern: unknown, input: unknown) => matchValue(compile(pattern), text(input), 'search'),
      fullmatch: (pattern: unknown, input: unknown) => matchValue(compile(pattern), text(input), 'fullmatch'),
      findall: (pattern: unknown, input: unknown) => findall(compile(pattern), text(input)),
      sub: (pattern: unknown, repl: unknown, input: unknown) =>
        compile(pattern).matcher(text(input)).replaceAll(replacement(repl)),
      split: (pattern: unknown, input: unknown) => compile(pattern).split(text(input)),
      IGNORECASE: RE2JS.CASE_INSENSITIVE,
    },
  };
}
