// The webview's component layer: the only module that knows which toolkit draws the controls. Our user named
// @vscode/webview-ui-toolkit (archived upstream); swapping to @vscode-elements/elements means changing this file.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeDivider,
  vsCodeProgressRing,
  vsCodeRadio,
  vsCodeRadioGroup,
  vsCodeTag,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';

provideVSCodeDesignSystem().register(
  vsCodeButton(),
  vsCodeDivider(),
  vsCodeProgressRing(),
  vsCodeRadio(),
  vsCodeRadioGroup(),
  vsCodeTag(),
  vsCodeTextField(),
);

type Attributes = Record<string, string>;

function element(tag: string, attributes: Attributes = {}, text?: string): HTMLElement {
  const created = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) created.setAttribute(name, value);
  if (text !== undefined) created.textContent = text;
  return created;
}

export function button(
  label: string,
  onClick: () => void,
  options: { secondary?: boolean; title?: string; id?: string } = {},
): HTMLElement {
  const created = element(
    'vscode-button',
    {
      appearance: options.secondary ? 'secondary' : 'primary',
      ...(options.title ? { title: options.title } : {}),
      ...(options.id ? { id: options.id } : {}),
    },
    label,
  );
  created.addEventListener('click', onClick);
  return created;
}

export function textField(
  placeholder: string,
  value: string,
  onInput: (value: string) => void,
  id: string,
): HTMLElement {
  const created = element('vscode-text-field', { placeholder, id, 'aria-label': placeholder });
  (created as HTMLInputElement).value = value;
  created.addEventListener('input', () => onInput((created as HTMLInputElement).value));
  return created;
}

/** A set of exclusive choices (the metric switch). */
export function choices(
  label: string,
  options: { value: string; label: string }[],
  selected: string,
  onChange: (value: string) => void,
  id: string,
): HTMLElement {
  const group = element('vscode-radio-group', { id, orientation: 'horizontal' });
  group.append(element('label', { slot: 'label' }, label));
  for (const option of options) {
    const radio = element('vscode-radio', { value: option.value, 'data-value': option.value }, option.label);
    if (option.value === selected) radio.setAttribute('checked', '');
    radio.addEventListener('click', () => onChange(option.value));
    group.append(radio);
  }
  return group;
}

export function progress(): HTMLElement {
  return element('vscode-progress-ring', { 'aria-label': 'Running' });
}

export function divider(): HTMLElement {
  return element('vscode-divider', { role: 'separator' });
}

export function tag(text: string): HTMLElement {
  return element('vscode-tag', {}, text);
}

/** A column of a data table: its name, and whether its values are numbers (right-aligned). */
export interface DataColumn {
  name: string;
  numeric: boolean;
}

/** A value of a data table as shown; `missing` marks NULL, shown as the grid shows it. */
export interface DataCell {
  text: string;
  missing?: boolean;
}

/**
 * A table of rows (the drill-down and CTE previews), a plain <table>: the toolkit's data grid wraps its cells. One
 * line per row (long values cut with an ellipsis, the whole value in a tooltip), headers sticky over their own
 * columns, numbers right-aligned, scrolling both ways inside its own box when wider or longer than the panel.
 */
export function dataTable(columns: DataColumn[], rows: DataCell[][], id: string, label: string): HTMLElement {
  const scroller = element('div', { class: 'data-table-scroll', role: 'region', 'aria-label': label, tabindex: '0' });
  const table = element('table', { id, class: 'data-table' });
  const cellContent = (text: string) => element('span', { class: 'cell-text' }, text);
  const headRow = element('tr');
  for (const column of columns) {
    const header = element('th', { scope: 'col', class: column.numeric ? 'numeric' : '' });
    header.append(cellContent(column.name));
    headRow.append(header);
  }
  const head = element('thead');
  head.append(headRow);
  const body = element('tbody');
  for (const row of rows) {
    const line = element('tr');
    row.forEach((cell, index) => {
      const classes = [columns[index]?.numeric ? 'numeric' : '', cell.missing ? 'null' : ''].filter(Boolean);
      const td = element('td', classes.length ? { class: classes.join(' ') } : {});
      td.append(cellContent(cell.text));
      if (cell.missing) td.setAttribute('aria-label', 'NULL');
      line.append(td);
    });
    body.append(line);
  }
  table.append(head, body);
  // A value cut short gets its whole text as a tooltip, when the pointer reaches it.
  table.addEventListener('mouseover', (event) => {
    const text = (event.target as HTMLElement).closest('.cell-text') as HTMLElement | null;
    if (text && !text.title && text.scrollWidth > text.clientWidth) text.title = text.textContent ?? '';
  });
  scroller.append(table);
  return scroller;
}

export { element };
