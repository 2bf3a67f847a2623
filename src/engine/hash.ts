// One key for a set of inputs: what caches and memos compare (a model's build, a run's result, a macro's answer).
import { createHash } from 'node:crypto';

/** SHA-256 of the inputs as JSON, in hex. */
export function hashOf(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

const ids = new WeakMap<object, number>();
let nextId = 1;

/** A number for an object as long as it lives (the macro library a model was rendered with), for a key. */
export function identityOf(value: object): number {
  let id = ids.get(value);
  if (id === undefined) ids.set(value, (id = nextId++));
  return id;
}
