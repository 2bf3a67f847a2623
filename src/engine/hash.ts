// One key for a set of inputs: what caches and memos compare (a model's build, a run's result, a macro's answer).
import { createHash } from 'node:crypto';

/** SHA-256 of the inputs as JSON, in hex. */
export function hashOf(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
