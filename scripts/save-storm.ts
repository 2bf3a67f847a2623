// `npm run bench:storm`: 20 runs started back to back, as a save storm does (each new run cancels the one in flight,
// as the extension's controller does), then once more after a pause. Prints RSS and OS threads before and after,
// and whether the last result is the correct one. A measurement, not a test.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CancelledError, EngineClient } from '../src/engine/worker/client';
import type { RunPayload } from '../src/engine/worker/protocol';

const root = path.resolve(__dirname, '..', '..');
const assets = {
  wasmPath: path.join(root, 'dist', 'sql-wasm.wasm'),
  sampleDir: path.join(root, 'sample'),
  jinjaDir: path.join(root, 'dist', 'minijinja'),
};
const threads = () => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
const rssMb = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 1048576;
};

async function storm(engine: EngineClient, runs: number) {
  let last: Promise<unknown> | undefined;
  let cancelled = 0;
  for (let run = 0; run < runs; run++) {
    if (engine.busy) engine.cancel();
    const request = engine.request<RunPayload>({
      type: 'run',
      request: { workspaceDir: root, settings: {}, env: {} },
      assets,
    });
    request.catch((error: unknown) => {
      if (error instanceof CancelledError) cancelled++;
    });
    last = request;
  }
  const outcome = (await last) as Awaited<ReturnType<EngineClient['request']>>;
  return { outcome: outcome as { ok: boolean; result?: RunPayload }, cancelled };
}

async function main() {
  const engine = new EngineClient(path.join(root, 'dist', 'worker.js'), assets);
  const reference = await engine.request<RunPayload>({
    type: 'run',
    request: { workspaceDir: root, settings: {}, env: {} },
    assets,
  });
  if (!reference.ok) throw new Error('the reference run failed');
  const before = { rss: rssMb(), threads: threads() };
  const rounds = 5;
  for (let round = 1; round <= rounds; round++) {
    const { outcome, cancelled } = await storm(engine, 20);
    const correct =
      outcome.ok && JSON.stringify(outcome.result?.result.rows) === JSON.stringify(reference.result.result.rows);
    console.log(
      `round ${round}: 20 runs, ${cancelled} cancelled, last result ${correct ? 'correct' : 'WRONG'}; RSS ${rssMb().toFixed(0)} MB, ${threads()} threads`,
    );
  }
  const after = { rss: rssMb(), threads: threads() };
  console.log(
    `before: RSS ${before.rss.toFixed(0)} MB, ${before.threads} threads · after ${rounds * 20} runs: RSS ${after.rss.toFixed(0)} MB, ${after.threads} threads`,
  );
  engine.dispose();
}

void main();
