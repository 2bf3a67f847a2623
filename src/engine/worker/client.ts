// The extension host's side of the engine worker: requests with ids, answers as promises. Cancelling drops what
// is queued; a run that has gone on for a while is stopped by terminating the worker (sql.js cannot stop a query
// otherwise) and a warm one starts for the next run. A short run is left to finish, unanswered: terminating a
// worker for every keystroke-fast run would cost more (memory and a worker start) than the run itself.
import { Worker } from 'node:worker_threads';
import type { LensErrorValue } from '../errors';
import type { EngineAssets, Outcome } from '../index';
import type { WorkerRequest, WorkerResponse } from './protocol';

/** The run was cancelled (by the user, or by a newer run). */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

type Pending = { resolve: (outcome: Outcome<unknown>) => void; reject: (error: Error) => void; sent: number };

type Body<T = WorkerRequest> = T extends WorkerRequest ? Omit<T, 'id'> : never;

export class EngineClient {
  private worker: Worker | undefined;
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
    const worker = new Worker(this.workerPath);
    worker.on('message', (response: WorkerResponse) => {
      const pending = this.pending.get(response.id);
      if (!pending) return;
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

  request<T>(body: Body): Promise<Outcome<T>> {
    const id = this.nextId++;
    const worker = this.ensureWorker();
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve: resolve as (outcome: Outcome<unknown>) => void,
        reject,
        sent: performance.now(),
      });
      worker.postMessage({ ...body, id });
    });
  }

  /** Cancels every request made so far (their promises reject with CancelledError). */
  cancel(): void {
    const worker = this.worker;
    if (!worker || this.pending.size === 0) return;
    const oldest = Math.min(...[...this.pending.values()].map((pending) => pending.sent));
    for (const pending of this.pending.values()) pending.reject(new CancelledError());
    this.pending.clear();
    if (performance.now() - oldest < this.terminateAfterMs) {
      worker.postMessage({ id: this.nextId, type: 'drop', upTo: this.nextId - 1 });
      this.nextId++;
      return;
    }
    this.worker = undefined;
    void worker.terminate();
    void this.request({ type: 'warm', assets: this.assets }).catch(() => undefined);
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
