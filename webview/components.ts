// The webview's component layer: the only module that knows which toolkit draws the controls. Our user named
// @vscode/webview-ui-toolkit (archived upstream); swapping to @vscode-elements/elements means changing this file.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeDataGrid,
  vsCodeDataGridCell,
  vsCodeDataGridRow,
  vsCodeDivider,
  vsCodeProgressRing,
  vsCodeRadio,
  vsCodeRadioGroup,
  vsCodeTag,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';

provideVSCodeDesignSystem().register(
  vsCodeButton(),
  vsCodeDataGrid(),
  vsCodeDataGridCell(),
  vsCodeDataGridRow(),
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

/** A table of rows as text (the drill-down and CTE previews). */
export function dataTable(columns: string[], rows: string[][], id: string): HTMLElement {
  const grid = element('vscode-data-grid', {
    id,
    'aria-label': 'Rows',
    'generate-header': 'none',
    'grid-template-columns': columns.map(() => 'minmax(6em, 1fr)').join(' '),
  });
  const header = element('vscode-data-grid-row', { 'row-type': 'header' });
  columns.forEach((column, index) =>
    header.append(
      element('vscode-data-grid-cell', { 'cell-type': 'columnheader', 'grid-column': String(index + 1) }, column),
    ),
  );
  grid.append(header);
  for (const row of rows) {
    const line = element('vscode-data-grid-row');
    row.forEach((value, index) =>
      line.append(element('vscode-data-grid-cell', { 'grid-column': String(index + 1) }, value)),
    );
    grid.append(line);
  }
  return grid;
}

export { element };
