// How the grid, the tree and exports name and format things, for the user's locale.

export function regionLabel(region: string | null): string {
  return region ?? '(no region)';
}

export function segmentLabel(segment: string | null): string {
  return segment ?? '(no segment)';
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

/** Counts as whole numbers, everything else with two decimals; NULL as an em dash. */
export function formatMetric(value: number | null | undefined, column: string, locale: string): string {
  if (value === null || value === undefined) return '—';
  const whole = /count|^n$|_n$/i.test(column) && Number.isInteger(value);
  return numberFormat(locale, whole ? 0 : 2).format(value);
}

/**
 * Text a spreadsheet would run as a formula (=, +, -, @, or a tab or carriage return before one) gets a leading
 * apostrophe, as OWASP advises for CSV meant for spreadsheets. Only for text: numbers are left alone.
 */
export function guardFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}
