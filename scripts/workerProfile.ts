// A V8 CPU profile of the engine's worker thread, taken from the bench's own thread through the inspector's NodeWorker
// domain (no flag on the worker, no change to its code): attach to every worker this process starts, then profile
// one of them around a piece of work. The summary adds each sample to every function on its stack (inclusive time)
// and to its top frame (self time), so the time of renderModel, upstreamModels or a query reads off directly.
import { Session } from 'node:inspector';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export class WorkerProfiler {
  private readonly session = new Session();
  private workerSession: string | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (result: unknown) => void>();

  /** Attaches to the workers started from now on (call before the engine's worker starts). */
  async attach(): Promise<void> {
    this.session.connect();
    this.session.on('NodeWorker.attachedToWorker', (message) => {
      this.workerSession = (message.params as { sessionId: string }).sessionId;
    });
    this.session.on('NodeWorker.receivedMessageFromWorker', (message) => {
      const reply = JSON.parse((message.params as { message: string }).message) as { id?: number; result?: unknown };
      if (reply.id !== undefined) this.waiting.get(reply.id)?.(reply.result);
    });
    await this.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  }

  private post(method: string, params: object): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  }

  /** A method of the worker's own inspector. */
  private send(method: string, params: object = {}): Promise<unknown> {
    if (!this.workerSession) throw new Error('no engine worker is attached');
    const id = this.nextId++;
    const answered = new Promise((resolve) => this.waiting.set(id, resolve));
    void this.post('NodeWorker.sendMessageToWorker', {
      sessionId: this.workerSession,
      message: JSON.stringify({ id, method, params }),
    });
    return answered;
  }

  /** Profiles the last worker attached while `work` runs (sampling every 100 µs). */
  async profile(work: () => Promise<void>): Promise<CpuProfile> {
    await this.send('Profiler.enable');
    await this.send('Profiler.setSamplingInterval', { interval: 100 });
    await this.send('Profiler.start');
    await work();
    const { profile } = (await this.send('Profiler.stop')) as { profile: CpuProfile };
    await this.send('Profiler.disable');
    return profile;
  }

  detach(): void {
    this.session.disconnect();
  }
}

/** Inclusive and self milliseconds per function (name, file and line), the largest first. */
export function summarizeProfile(
  profile: CpuProfile,
  top = 40,
): { totalMs: number; inclusive: [string, number][]; self: [string, number][] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const label = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.split('/').pop() ?? '';
    return `${functionName || '(anonymous)'} ${file}${file ? `:${lineNumber + 1}` : ''}`;
  };
  const inclusive = new Map<string, number>();
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const ms = (profile.timeDeltas[index + 1] ?? profile.timeDeltas[index] ?? 0) / 1000;
    total += ms;
    const leaf = byId.get(id)!;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + ms);
    const seen = new Set<string>();
    for (let node: ProfileNode | undefined = leaf; node; node = byId.get(parent.get(node.id) ?? -1)) {
      const name = label(node);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    }
  });
  const sorted = (map: Map<string, number>) =>
    [...map]
      .filter(([name]) => !/^\((root|program|idle)\)/.test(name))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top);
  return { totalMs: total, inclusive: sorted(inclusive), self: sorted(self) };
}
