// What the benches measure around a piece of work (npm run bench, and its --dag mode): one copy of each helper.

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/**
 * Watches this thread while `work` runs: the longest gap between 1 ms timers, the peak RSS, and the CPU time of the
 * whole process (every thread: the engine worker's, DuckDB's) — on a machine others share, wall time waits for a core.
 */
export async function watched<T>(
  work: () => Promise<T>,
): Promise<{ value: T; ms: number; cpuMs: number; stallMs: number; peakRssMb: number }> {
  let last = performance.now();
  let stall = 0;
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last - 1);
    last = now;
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 1);
  const started = performance.now();
  const cpu = process.cpuUsage();
  try {
    const value = await work();
    const used = process.cpuUsage(cpu);
    return {
      value,
      ms: performance.now() - started,
      cpuMs: (used.user + used.system) / 1000,
      stallMs: stall,
      peakRssMb: peak / 1048576,
    };
  } finally {
    clearInterval(timer);
  }
}
