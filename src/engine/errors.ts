import type { LensErrorValue } from '../shared/problem';

export type { FileLocation, LensErrorCode, LensErrorValue, Outcome } from '../shared/problem';
export { describeError } from '../shared/problem';

/** A problem with the user's input, thrown inside the engine and turned into an Outcome at its edge. */
export class LensError extends Error {
  readonly value: LensErrorValue;
  constructor(value: LensErrorValue) {
    super(value.message);
    this.name = 'LensError';
    this.value = value;
  }
}

/** The longest SQLite message (or quoted token) shown: its first line, cut to this many characters. */
const MAX_SHOWN = 200;

/** A message as one line of at most `max` characters (SQLite quotes whole tokens, e.g. an unclosed string's rest). */
export function oneLine(message: string, max = MAX_SHOWN): string {
  const line = message.split(/\r?\n|\r/, 1)[0];
  const cut = line.length > max ? `${line.slice(0, max - 1)}…` : line;
  return cut === message ? message : cut.endsWith('…') ? cut : `${cut}…`;
}
