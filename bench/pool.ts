/**
 * Calls per second through the worker pool of `examples/worker-pool/` with 1 and 2 workers:
 * batches of westend `Core_version` and `Metadata_metadata` calls, all submitted at once, each
 * pool warmed up first; the pools take turns, round after round (so that a busy spell of a
 * shared machine falls on both), and each figure is the median of the rounds. The ratio is
 * 2 workers' rate over 1 worker's, measured in the same run. What else ran on the machine is
 * recorded beside the numbers (load average, the busiest processes).
 */
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../spec/support/shared.js';
import { RuntimeWorkerPool } from '../examples/worker-pool/pool.js';
import { type Row, median } from './support/stats.js';

/** One measurement of the pool benchmark. */
export interface PoolResult {
  readonly runtime: string;
  readonly entryPoint: string;
  readonly workers: number;
  /** `reuseGrownMemory` (the memory of one call reused by the next) or fresh memory per call. */
  readonly memory: 'fresh' | 'reused';
  readonly callsPerSecond: number;
  /** Against 1 worker, same entry point, same run. */
  readonly x: number;
}

/** The machine's load when the benchmark ran: load average and the busiest processes. */
export function machineLoad(): { loadavg: number[]; busiest: string[] } {
  let busiest: string[] = [];
  try {
    busiest = execFileSync('ps', ['-eo', 'pcpu,etime,comm,args', '--sort=-pcpu'], { encoding: 'utf8' })
      .split('\n')
      .slice(1, 8)
      .map((line) => line.trim().slice(0, 160));
  } catch {
    // ps missing: the load average alone.
  }
  return { loadavg: loadavg(), busiest };
}

/**
 * The control: what the machine gives two threads right now. Units of plain CPU work (a loop of
 * integer arithmetic, no memory traffic, no library) run on 1 and on 2 Workers; the result is
 * in units per second, so that its 2-over-1 ratio is the most any pool could reach in the
 * same minutes.
 */
async function controlRate(workers: Worker[], units: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    workers.map(async (worker) => {
      while (next < units) {
        next++;
        await new Promise<void>((resolve) => {
          worker.once('message', () => resolve());
          worker.postMessage(null);
        });
      }
    }),
  );
  return units / ((performance.now() - started) / 1000);
}

const CONTROL_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', () => {
  let x = 1;
  for (let i = 0; i < 20_000_000; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  parentPort.postMessage(x);
});`;

export async function benchPool(
  runtimeName: string,
  codePath: string,
  options: { rounds: number; batches: Record<string, number> },
): Promise<{ results: PoolResult[]; rows: Row[]; load: { before: ReturnType<typeof machineLoad>; after: ReturnType<typeof machineLoad> } }> {
  const workerUrl = pathToFileURL(join(REPO_ROOT, 'build', 'examples', 'worker-pool', 'worker.js'));
  const before = machineLoad();
  const pools = new Map<string, RuntimeWorkerPool>();
  for (const memory of ['fresh', 'reused'] as const) {
    for (const size of [1, 2]) pools.set(`${size}/${memory}`, await RuntimeWorkerPool.start({ size, codePath, backend: 'jspi', workerUrl, reuseGrownMemory: memory === 'reused' }));
  }
  const empty = new Uint8Array();
  const batch = async (pool: RuntimeWorkerPool, entryPoint: string, count: number): Promise<number> => {
    const started = performance.now();
    const replies = await Promise.all(Array.from({ length: count }, () => pool.run({ type: 'call', entryPoint, input: empty })));
    const elapsed = performance.now() - started;
    for (const reply of replies) if (!('output' in reply)) throw new Error(`a call failed: ${'error' in reply ? reply.error : 'suspended'}`);
    return count / (elapsed / 1000);
  };
  const rates = new Map<string, number[]>();
  const control = new Map<number, Worker[]>([1, 2].map((n) => [n, Array.from({ length: n }, () => new Worker(CONTROL_WORKER, { eval: true }))]));
  const controlRates = new Map<number, number[]>([
    [1, []],
    [2, []],
  ]);
  try {
    // Warm-up: every worker's code optimised before anything is measured.
    for (const [entryPoint, count] of Object.entries(options.batches)) for (const pool of pools.values()) await batch(pool, entryPoint, Math.max(4, count >> 2));
    for (const workers of control.values()) await controlRate(workers, 4);
    for (let round = 0; round < options.rounds; round++) {
      for (const [size, workers] of control) controlRates.get(size)!.push(await controlRate(workers, 8));
      for (const [entryPoint, count] of Object.entries(options.batches)) {
        for (const [sizeAndMemory, pool] of pools) {
          const [size, memory] = sizeAndMemory.split('/');
          const key = `${entryPoint}/${size}/${memory}`;
          rates.set(key, [...(rates.get(key) ?? []), await batch(pool, entryPoint, count)]);
        }
      }
    }
  } finally {
    for (const pool of pools.values()) await pool.close();
    for (const workers of control.values()) for (const worker of workers) await worker.terminate();
  }
  const after = machineLoad();
  const results: PoolResult[] = [];
  const controlOne = median(controlRates.get(1)!);
  for (const size of [1, 2]) {
    const rate = median(controlRates.get(size)!);
    results.push({ runtime: 'control', entryPoint: 'plain JavaScript loop (units of 20M iterations)', workers: size, memory: 'fresh', callsPerSecond: rate, x: rate / controlOne });
  }
  for (const entryPoint of Object.keys(options.batches)) {
    for (const memory of ['fresh', 'reused'] as const) {
      const one = median(rates.get(`${entryPoint}/1/${memory}`)!);
      for (const size of [1, 2]) {
        const rate = median(rates.get(`${entryPoint}/${size}/${memory}`)!);
        results.push({ runtime: runtimeName, entryPoint, workers: size, memory, callsPerSecond: rate, x: rate / one });
      }
    }
  }
  return {
    results,
    rows: results.map((r) => [
      `${r.runtime}: ${r.entryPoint}${r.runtime === 'control' ? '' : `, ${r.memory} memory`}, ${r.workers} worker${r.workers === 1 ? '' : 's'}`,
      r.callsPerSecond,
      r.x,
    ]),
    load: { before, after },
  };
}
