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
