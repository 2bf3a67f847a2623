// Below the grid: the customers behind a cell (drill-down) or the first rows of a CTE (preview), paged.
import { decimalsOf, formatValue, regionLabel, segmentLabel } from '../src/shared/labels';
import { PAGE_SIZE, type RowPageMessage } from '../src/shared/protocol';
import { button, dataTable, element, type DataColumn } from './components';
import { post } from './host';

export type Detail =
  /** With `moved`: the customers that moved into or out of the cell under those what-if thresholds. */
  | {
      kind: 'drillDown';
      region: string | null;
      segment: string | null;
      page: RowPageMessage;
      /** The cell's keys as the grid names them ("(no country)" for a NULL country); else as regions and segments. */
      title?: string;
      moved?: number[];
    }
  | { kind: 'cteRows'; cte: string; page: RowPageMessage };

/** A column is numeric when every value in it that is not NULL is a number. */
function columnsOf(page: RowPageMessage): DataColumn[] {
  return page.columns.map((name, index) => {
    const values = page.rows.map((row) => row[index]).filter((value) => value !== null);
    return { name, numeric: values.length > 0 && values.every((value) => typeof value === 'number') };
  });
}

/** The customers behind a cell, or a CTE's rows, a page at a time; `onClose` drops it. */
export function detailSection(detail: Detail, locale: string, onClose: () => void): HTMLElement {
  const { page } = detail;
  const section = element('section', { id: 'detail', class: 'detail', 'aria-live': 'polite' });
  const title =
    detail.kind === 'cteRows'
      ? `Preview of ${detail.cte}`
      : detail.moved && detail.region === null && detail.segment === null
        ? 'Customers that moved (out of their old segment, into their new one)'
        : `${detail.title ?? `${regionLabel(detail.region)} · ${segmentLabel(detail.segment)}`}${detail.moved ? ' · moved in and out' : ''}`;
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.rows.length;
  const heading = element('h3', {}, title);
  section.append(
    heading,
    element(
      'p',
      { class: 'muted', id: 'detail-range' },
      `${first}–${last} of ${page.total.toLocaleString(locale)} ${detail.kind === 'drillDown' && !detail.moved ? 'customers' : 'rows'}`,
    ),
  );
  // Each column's numbers with as many decimals as the most precise of them, so that they line up.
  const digits = page.columns.map((_, index) =>
    Math.max(0, ...page.rows.map((row) => (typeof row[index] === 'number' ? decimalsOf(row[index]) : 0))),
  );
  section.append(
    dataTable(
      columnsOf(page),
      page.rows.map((row) =>
        row.map((value, index) => ({
          text: formatValue(value, page.columns[index], locale, digits[index]),
          missing: value === null,
        })),
      ),
      'detail-table',
      title,
    ),
  );
  const current = detail;
  const goTo = (offset: number) =>
    post(
      current.kind === 'cteRows'
        ? { type: 'cteRows', cte: current.cte, offset }
        : current.moved
          ? { type: 'whatIfMoved', values: current.moved, region: current.region, segment: current.segment, offset }
          : { type: 'drillDown', region: current.region, segment: current.segment, offset },
    );
  const pager = element('div', { class: 'toolbar' });
  const previous = button('Previous', () => goTo(Math.max(0, page.offset - PAGE_SIZE)), {
    secondary: true,
    id: 'detail-previous',
  });
  const next = button('Next', () => goTo(page.offset + PAGE_SIZE), { secondary: true, id: 'detail-next' });
  if (page.offset === 0) previous.setAttribute('disabled', '');
  if (last >= page.total) next.setAttribute('disabled', '');
  pager.append(
    previous,
    next,
    button('Close', onClose, { secondary: true, id: 'detail-close', title: 'Close (Escape)' }),
  );
  section.append(pager);
  return section;
}
