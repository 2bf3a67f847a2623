// How the grid, the tree and exports name and format things, for the user's locale.
import { FINAL_SELECT } from './lineageModel';
import type { SqlValue } from './rows';

/** NULL and an empty text are different values: each gets its own label. */
export function regionLabel(region: string | null): string {
  return region === null ? '(no region)' : region === '' ? '(empty region)' : region;
}

export function segmentLabel(segment: string | null): string {
  return segment === null ? '(no segment)' : segment === '' ? '(empty segment)' : segment;
}

/** Whether a label stands for a missing value (shown in italics) rather than being the value itself. */
export function isPlaceholder(value: string | null): boolean {
  return value === null || value === '';
}

/** What a run of the bundled sample model is called (titles, tree, CodeLens). */
export const SAMPLE_LABEL = 'bundled sample';

/** A CTE's name, or "result" for the model's final select, as people read it. */
export function relationLabel(name: string): string {
  return name === FINAL_SELECT ? 'result' : name;
}

/** A duration in seconds for people: "< 0.1 s" rather than "0.0 s". */
export function formatSeconds(ms: number): string {
  return ms < 100 ? '< 0.1 s' : `${(ms / 1000).toFixed(1)} s`;
}

/** The clock time of a run, as "12:03" in the user's locale. */
export function clockTime(epochMs: number, locale: string): string {
  const options: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' };
  try {
    return new Date(epochMs).toLocaleTimeString(locale, options);
  } catch {
    return new Date(epochMs).toLocaleTimeString('en', options);
  }
}

const KNOWN_METRICS: Record<string, string> = {
  customer_count: 'Customers',
  avg_ltv: 'Average LTV',
  avg_orders: 'Average orders',
};

/** `customer_count` → "Customers"; other columns in sentence case. */
export function metricLabel(column: string): string {
  const known = KNOWN_METRICS[column.toLowerCase()];
  if (known) return known;
  const words = column.replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const formats = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: string, fractionDigits: number): Intl.NumberFormat {
  const key = `${locale}|${fractionDigits}`;
  let format = formats.get(key);
  if (!format) {
    try {
      format = new Intl.NumberFormat(locale, {
        minimumFractionDigits: fractionDigits,
        maximumFractionDigits: fractionDigits,
      });
    } catch {
      format = new Intl.NumberFormat('en', {
        minimumFractionDigits: fractionDigits,
        maximumFractionDigits: fractionDigits,
      });
    }
    formats.set(key, format);
  }
  return format;
}

/** How NULL is shown wherever values are shown (grid, tree, drill-down, previews). */
export const NULL_TEXT = '—';

/** The decimals a metric is shown with: counts as whole numbers, everything else with two. */
export function metricDigits(value: number, column: string): number {
  return /count|^n$|_n$/i.test(column) && Number.isInteger(value) ? 0 : 2;
}

/** Counts as whole numbers, everything else with two decimals; NULL as an em dash. */
export function formatMetric(value: number | null | undefined, column: string, locale: string): string {
  if (value === null || value === undefined) return NULL_TEXT;
  return numberFormat(locale, metricDigits(value, column)).format(value);
}

/**
 * A column whose integers are identifiers, not quantities: `id`, `…_id`/`…Id`, `…_key`, `…_code`, `…_no`,
 * `…_number`, `zip`, `year`. Its integers are shown as written (1026, not 1,026).
 */
export function isKeyColumn(column: string): boolean {
  return KEY_SNAKE.test(column) || KEY_CAMEL.test(column);
}
const KEY_SNAKE = /(^|_)(id|key|code|no|number|zip|year)$/i;
const KEY_CAMEL = /[a-z0-9](Id|Key|Code|No|Number|Zip|Year)$/;

/**
 * One value of a row (drill-down, CTE preview): NULL as in the grid, keys' integers as written, other numbers grouped
 * for the locale with `fractionDigits` decimals (a column's values line up when it passes the most any of them has).
 */
export function formatValue(value: SqlValue, column: string, locale: string, fractionDigits?: number): string {
  if (value === null) return NULL_TEXT;
  if (value instanceof Uint8Array) return `(${value.length} bytes)`;
  if (typeof value === 'string') return value;
  if (Number.isInteger(value) && isKeyColumn(column)) return String(value);
  const digits = Math.min(6, fractionDigits ?? decimalsOf(value));
  return numberFormat(locale, digits).format(value);
}

/** How many decimals a number needs to be written in full (at most 6). */
export function decimalsOf(value: number): number {
  if (Number.isInteger(value) || !Number.isFinite(value)) return 0;
  const fixed = value.toFixed(6).replace(/0+$/, '');
  return fixed.length - fixed.indexOf('.') - 1;
}

/**
 * Text a spreadsheet would run as a formula (=, +, -, @, or a tab or carriage return before one) gets a leading
 * apostrophe, as OWASP advises for CSV meant for spreadsheets. Only for text: numbers are left alone.
 */
export function guardFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}
