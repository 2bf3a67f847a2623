// The caller's side of the engine worker (the extension host's, and the CLI's): requests with ids, answers as
// promises, progress to a callback given with the request. Cancelling drops what is queued; a run that has gone on
// for a while is stopped by terminating the worker (sql.js cannot stop a query otherwise) and a warm one starts for
// the next run. A short run is left to go on unanswered, and stops at its next step (before the next upstream model
// it would build, before its query): terminating a worker for every keystroke-fast run would cost more (memory and a
// worker start) than the run itself. A request with a deadline that passes is stopped by terminating the worker and
// answered with a 'timeout' error.
import { Worker } from 'node:worker_threads';
import type { LensErrorValue } from '../errors';
import type { EngineAssets, Outcome } from '../index';
import type { RunProgress } from '../../shared/progress';
import type { WorkerData, WorkerRequest, WorkerResponse } from './protocol';

/** How long a request may take, and what the user is told when it takes longer. */
export interface Deadline {
  seconds: number;
  /** What set it, named in the message: `segmentLens.timeoutSeconds`, or the CLI's `--timeout`. */
  setting: string;
  /** What ran, as the message's subject: e.g. "The model customer_segments.sql". */
  subject: string;
}

export function timeoutError(deadline: Deadline): LensErrorValue {
  return {
    code: 'timeout',
    message: `${deadline.subject} ran longer than ${deadline.seconds} s (${deadline.setting}) and was stopped.`,
    hint: `A recursive CTE that never ends or a join without a condition can do this: fix the model, or raise ${deadline.setting} if the data is that large.`,
  };
}

/** The run was cancelled (by the user, or by a newer run). */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

type Pending = {
  resolve: (outcome: Outcome<unknown>) => void;
  reject: (error: Error) => void;
  sent: number;
  timer?: NodeJS.Timeout;
  onProgress?: (progress: RunProgress) => void;
};

const MAX_TIMER_MS = 2 ** 31 - 1;

type Body<T = WorkerRequest> = T extends WorkerRequest ? Omit<T, 'id'> : never;

export class EngineClient {
  private worker: Worker | undefined;
  /** The worker's view of which requests are dropped (WorkerData). */
  private dropped = new Int32Array(new SharedArrayBuffer(4));
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    private readonly workerPath: string,
    private readonly assets: EngineAssets,
    /** A run in flight longer than this is stopped by terminating the worker rather than left to finish. */
    private readonly terminateAfterMs = 1000,
  ) {}

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const dropped = new SharedArrayBuffer(4);
    this.dropped = new Int32Array(dropped);
    const worker = new Worker(this.workerPath, { workerData: { dropped } satisfies WorkerData });
    worker.on('message', (response: WorkerResponse) => {
      const pending = this.pending.get(response.id);
      if (!pending) return;
      if (response.type === 'progress') {
        pending.onProgress?.(response.progress);
        return;
      }
      this.pending.delete(response.id);
      if (response.ok) pending.resolve({ ok: true, result: response.value });
      else if ('error' in response) pending.resolve({ ok: false, error: response.error as LensErrorValue });
      else pending.reject(new Error(response.internal));
    });
    const fail = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`The Segment Lens engine stopped (exit code ${code}).`)));
    this.worker = worker;
    return worker;
  }

  /**
   * Sends a request; its answer, or a user's error as a value. With a deadline, a request still unanswered when it
   * passes is answered with a 'timeout' error: the worker is terminated (whatever it was running stops at once),
   * every other request still waiting is cancelled, and a fresh worker warms up for the next. `onProgress` hears
   * where a run or lineage request is, in order, until it is answered or cancelled.
   */
  request<T>(body: Body, deadline?: Deadline, onProgress?: (progress: RunProgress) => void): Promise<Outcome<T>> {
    const id = this.nextId++;
    const worker = this.ensureWorker();
    return new Promise((resolve, reject) => {
      const settle =
        <A>(answer: (value: A) => void) =>
        (value: A) => {
          clearTimeout(pending.timer);
          answer(value);
        };
      const pending: Pending = {
        resolve: settle(resolve as (outcome: Outcome<unknown>) => void),
        reject: settle(reject),
        sent: performance.now(),
        onProgress,
      };
      // Past 2^31 - 1 ms (24.8 days) a Node timer would fire at once: such a deadline is none.
      const ms = deadline && deadline.seconds * 1000;
      if (ms !== undefined && ms < MAX_TIMER_MS) pending.timer = setTimeout(() => this.expire(id, deadline!), ms);
      this.pending.set(id, pending);
      worker.postMessage({ ...body, id });
    });
  }

  private expire(id: number, deadline: Deadline): void {
    const expired = this.pending.get(id);
    if (!expired) return;
    this.pending.delete(id);
    this.stopWorker();
    expired.resolve({ ok: false, error: timeoutError(deadline) });
  }

  /** Terminates the worker (what it runs stops now); waiting requests are cancelled; a fresh worker warms up. */
  private stopWorker(): void {
    const worker = this.worker;
    for (const pending of this.pending.values()) pending.reject(new CancelledError());
    this.pending.clear();
    if (!worker) return;
    this.worker = undefined;
    void worker.terminate();
    this.warm();
  }

  /** Starts the worker, if it is not running, and warms the engine in it up ahead of its first request. */
  warm(): void {
    if (this.worker) return;
    void this.request({ type: 'warm', assets: this.assets }).catch(() => undefined);
  }

  /** Cancels every request made so far (their promises reject with CancelledError). */
  cancel(): void {
    const worker = this.worker;
    if (!worker || this.pending.size === 0) return;
    const oldest = Math.min(...[...this.pending.values()].map((pending) => pending.sent));
    if (performance.now() - oldest < this.terminateAfterMs) {
      for (const pending of this.pending.values()) pending.reject(new CancelledError());
      this.pending.clear();
      Atomics.store(this.dropped, 0, this.nextId - 1);
      return;
    }
    this.stopWorker();
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  dispose(): void {
    for (const pending of this.pending.values()) pending.reject(new CancelledError());
    this.pending.clear();
    void this.worker?.terminate();
    this.worker = undefined;
  }
}
