// Plain-text renderings for people and spreadsheets: an aligned table, RFC 4180 CSV, the lineage as a table.
import { guardFormula } from './labels';
import type { Lineage } from './lineageModel';
import type { SqlValue } from './rows';

function cellText(value: SqlValue): string {
  if (value === null) return '';
  if (value instanceof Uint8Array) return [...value].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return String(value);
}

/**
 * RFC 4180: CRLF line ends; fields with commas, quotes or line breaks are quoted, quotes doubled; NULL is empty.
 * `forSpreadsheets` guards text cells against formula injection (the extension's export; the CLI's CSV is data).
 */
export function toCsv(
  columns: readonly string[],
  rows: readonly SqlValue[][],
  options: { forSpreadsheets?: boolean } = {},
): string {
  const field = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
  const cell = (value: SqlValue) =>
    options.forSpreadsheets && typeof value === 'string' ? guardFormula(value) : cellText(value);
  const header = options.forSpreadsheets ? columns.map(guardFormula) : columns;
  return [header, ...rows.map((row) => row.map(cell))].map((line) => line.map(field).join(',')).join('\r\n') + '\r\n';
}

/** An aligned grid: numbers to the right, NULL shown as NULL. */
export function toTable(columns: readonly string[], rows: readonly SqlValue[][]): string {
  const cells = rows.map((row) => row.map((value) => (value === null ? 'NULL' : cellText(value))));
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((row) => row[index].length)));
  const numeric = columns.map(
    (_, index) => rows.length > 0 && rows.every((row) => row[index] === null || typeof row[index] === 'number'),
  );
  const line = (values: string[]) =>
    values
      .map((value, index) => (numeric[index] ? value.padStart(widths[index]) : value.padEnd(widths[index])))
      .join('  ')
      .trimEnd();
  return (
    [line([...columns]), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.map(line)].join('\n') + '\n'
  );
}

/** Lineage for people: each output column with its sources and step kinds, then unused and unresolved columns. */
export function lineageTable(lineage: Lineage): string {
  const rows = lineage.columns.map((column) => [
    column.name,
    column.sources.join(', ') || '(none)',
    column.kinds.join(' → '),
  ]);
  const lines = [toTable(['column', 'sources', 'steps'], rows).trimEnd()];
  const rowShaping = lineage.edges.filter(
    (edge) =>
      edge.kind === 'join_key' || edge.kind === 'group_key' || edge.kind === 'filter' || edge.kind === 'order_key',
  );
  if (rowShaping.length)
    lines.push('', 'Shapes rows:', ...rowShaping.map((edge) => `  ${edge.kind.padEnd(9)}  ${edge.from} → ${edge.to}`));
  if (lineage.unused.length)
    lines.push(
      '',
      'Unused:',
      ...lineage.unused.map(
        (column) =>
          `  ${column.column}${column.span ? ` (line ${column.span.line})` : ''}${column.sources.length ? ` from ${column.sources.join(', ')}` : ''}`,
      ),
    );
  if (lineage.unresolved.length)
    lines.push(
      '',
      'Unresolved:',
      ...lineage.unresolved.map(
        (item) => `  ${item.name}: ${item.reason}${item.span ? ` (line ${item.span.line})` : ''}`,
      ),
    );
  return lines.join('\n') + '\n';
}
