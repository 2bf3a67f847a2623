// What-if thresholds: the numbers of the segmentation's CASE as fields beside their segments. Changing one asks the
// host to run the model in memory with it (the file is not touched); the grid then shows each cell's change against
// the file's thresholds, and a cell lists the customers that moved in or out. Apply writes them into the editor.
import { segmentOrder, type Grid, type GridOutcome } from '../src/shared/grid';
import { segmentLabel } from '../src/shared/labels';
import { LineageGraph, segmentation } from '../src/shared/lineageGraph';
import type { CaseDetail, CaseLiteral } from '../src/shared/lineageModel';
import type { DonePanelState, HostMessage } from '../src/shared/protocol';
import { button, element, tag } from './components';
import { post } from './host';

/** How long typing pauses before the model runs with the new number. */
const TYPING_PAUSE_MS = 250;

interface WhatIf {
  /** The run whose thresholds these are (when it finished). */
  run: number;
  values: number[];
  /** The host's answer for `values`, once it came. */
  answer?: { values: number[]; grid: GridOutcome; ms: number };
}

let current: WhatIf | undefined;
let typing: ReturnType<typeof setTimeout> | undefined;
/** The segmentation found in a lineage, kept while the lineage is the same. */
let found: { run: DonePanelState; detail: CaseDetail | undefined } | undefined;

function caseOf(run: DonePanelState): CaseDetail | undefined {
  if (found?.run !== run) {
    const detail =
      run.lineage && segmentation(new LineageGraph(run.lineage), run.grid.ok ? run.grid.grid.segmentColumn : undefined);
    found = { run, detail };
  }
  return found.detail;
}

function literalsOf(run: DonePanelState): CaseLiteral[] {
  return caseOf(run)?.literals ?? [];
}

const sameValues = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((value, index) => value === b[index]);

/** The what-if of this run (a new run starts from its file's values). */
function stateOf(run: DonePanelState): WhatIf {
  if (current?.run !== run.run.finishedAt)
    current = { run: run.run.finishedAt, values: literalsOf(run).map((literal) => literal.value) };
  return current;
}

/** The values to run with when they differ from the file's, else undefined. */
export function whatIfValues(run: DonePanelState): number[] | undefined {
  const state = stateOf(run);
  const file = literalsOf(run).map((literal) => literal.value);
  return sameValues(state.values, file) ? undefined : state.values;
}

/** Whether `values` are the what-if shown now (a moved list of other values is out of date). */
export function isShownWhatIf(run: DonePanelState, values: readonly number[]): boolean {
  const shown = whatIfValues(run);
  return !!shown && sameValues(shown, values);
}

/** The what-if grid and the file's grid it is compared with, when a what-if is shown. */
export function whatIfGrids(run: DonePanelState): { grid: Grid; baseline: Grid } | undefined {
  const values = whatIfValues(run);
  const answer = current?.answer;
  if (!values || !answer || !sameValues(answer.values, values) || !answer.grid.ok || !run.grid.ok) return undefined;
  return { grid: answer.grid.grid, baseline: run.grid.grid };
}

/** Takes the host's answer if it is for the values shown now (an older one is dropped). */
export function acceptAnswer(message: Extract<HostMessage, { type: 'whatIf' }>): boolean {
  if (!current || !sameValues(current.values, message.values)) return false;
  current.answer = { values: message.values, grid: message.grid, ms: message.ms };
  return true;
}

/** The customers that moved into or out of a cell (of every cell, without one) under the what-if. */
export function openMoved(run: DonePanelState, region: string | null, segment: string | null): void {
  const values = whatIfValues(run);
  if (values) post({ type: 'whatIfMoved', values, region, segment, offset: 0 });
}

function setValue(run: DonePanelState, index: number, value: number, rerender: () => void): void {
  const state = stateOf(run);
  state.values = state.values.map((old, at) => (at === index ? value : old));
  clearTimeout(typing);
  const values = whatIfValues(run);
  if (!values) {
    state.answer = undefined;
    rerender();
    return;
  }
  typing = setTimeout(() => post({ type: 'whatIf', values }), TYPING_PAUSE_MS);
}

/** The label of a WHEN's result: `'Gold'` → Gold. */
function segmentOf(detail: CaseDetail, when: number): string {
  return segmentLabel(segmentOrder({ whens: [detail.whens[when]] })[0] ?? null);
}

/** A number field for one threshold. */
function numberField(run: DonePanelState, literal: CaseLiteral, index: number, rerender: () => void): HTMLElement {
  const value = stateOf(run).values[index];
  const input = element('input', {
    type: 'number',
    step: 'any',
    class: value === literal.value ? 'threshold' : 'threshold changed',
    id: `threshold-${index}`,
    'data-file-value': String(literal.value),
    'aria-label': `Threshold ${index + 1} (${literal.value} in the file${literal.var ? `, var ${literal.var.name}` : ''})`,
    title: `${literal.value} in the file${literal.location ? ` (line ${literal.location.line})` : ''}`,
  }) as HTMLInputElement;
  input.value = String(value);
  input.addEventListener('input', () => {
    const typed = input.valueAsNumber;
    if (Number.isFinite(typed)) setValue(run, index, typed, rerender);
  });
  return input;
}

/** The WHEN's condition with its numbers as fields, e.g. `i.total_spent >= [5000]`. */
function conditionLine(
  run: DonePanelState,
  detail: CaseDetail,
  when: number,
  literals: CaseLiteral[],
  rerender: () => void,
): HTMLElement {
  const line = element('div', { class: 'what-if-row', 'data-segment': segmentOf(detail, when) });
  line.append(element('span', { class: 'what-if-segment' }, segmentOf(detail, when)));
  const condition = element('span', { class: 'what-if-condition' });
  const text = detail.whens[when].when;
  let at = 0;
  const all = literalsOf(run);
  for (const literal of literals) {
    const found = text.indexOf(literal.text, at);
    if (found < 0) continue;
    condition.append(text.slice(at, found), numberField(run, literal, all.indexOf(literal), rerender));
    at = found + literal.text.length;
    if (literal.var) condition.append(tag(`var ${literal.var.name}`));
  }
  condition.append(text.slice(at));
  line.append(condition);
  return line;
}

/** The thresholds, editable, with Apply, Reset and the customers that moved; none when the model has no CASE numbers. */
export function whatIfSection(run: DonePanelState, rerender: () => void): HTMLElement | undefined {
  const detail = caseOf(run);
  const literals = literalsOf(run);
  if (!detail || literals.length === 0) return undefined;
  const section = element('section', { class: 'what-if', id: 'what-if', 'aria-label': 'What-if thresholds' });
  section.append(element('h3', {}, 'What-if thresholds'));
  detail.whens.forEach((_, when) => {
    const own = literals.filter((literal) => literal.when === when);
    if (own.length) section.append(conditionLine(run, detail, when, own, rerender));
  });
  if (detail.else)
    section.append(
      element(
        'div',
        { class: 'what-if-row muted' },
        `${segmentOf({ whens: [{ when: '', then: detail.else }] }, 0)}: otherwise`,
      ),
    );
  const values = whatIfValues(run);
  const changed = values ? literals.filter((literal, index) => values[index] !== literal.value).length : 0;
  const answer = current?.answer;
  const status = !values
    ? "The file's thresholds. Change one to see the grid with it (the file is not touched)."
    : answer && sameValues(answer.values, values)
      ? answer.grid.ok
        ? `What-if: ${changed} threshold${changed === 1 ? '' : 's'} changed · ran in ${answer.ms} ms · each cell shows its change against the file's.`
        : `What-if: ${answer.grid.reason}`
      : `What-if: running with ${changed} threshold${changed === 1 ? '' : 's'} changed…`;
  section.append(element('p', { class: 'muted', id: 'what-if-status', role: 'status' }, status));
  const toolbar = element('div', { class: 'toolbar' });
  const apply = button('Apply to model', () => values && post({ type: 'applyWhatIf', values }), {
    id: 'what-if-apply',
    title: 'Write these thresholds into the model in its editor (one edit: undo restores it; save to run)',
  });
  const reset = button(
    'Reset',
    () => {
      clearTimeout(typing);
      current = undefined;
      rerender();
    },
    { secondary: true, id: 'what-if-reset', title: "Back to the file's thresholds" },
  );
  const moved = button('Customers that moved', () => openMoved(run, null, null), {
    secondary: true,
    id: 'what-if-moved',
    title: 'Every customer whose segment the what-if changes',
  });
  for (const control of [apply, reset, moved]) if (!values) control.setAttribute('disabled', '');
  toolbar.append(apply, reset, moved);
  section.append(toolbar);
  return section;
}
