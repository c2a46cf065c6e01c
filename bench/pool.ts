/**
 * Calls per second through the worker pool of `examples/worker-pool/` with 1, 2 and (on a larger
 * machine) as many workers as it has cores:
 * batches of westend `Core_version`, `TransactionPaymentApi_query_info` and `Metadata_metadata`
 * calls, all submitted at once, with fresh memory per call and with `reuseGrownMemory` (one
 * memory mode at a time); each pool warmed up first; the pools take turns, round after round (so
 * that a busy spell of a shared machine falls on both), and each figure is the median of the
 * rounds. Controls with no library in them tell what the machine gave two threads meanwhile
 * (see {@link controlRate}). The ratio is a pool's rate over 1 worker's, measured in the same run.
 * What else ran on the machine is
 * recorded beside the numbers (load average, the busiest processes).
 */
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { availableParallelism, loadavg } from 'node:os';
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
  /** Against 1 worker, same entry point, same run: the ratio of the medians. */
  readonly x: number;
  /**
   * The median of each round's own ratio (2 workers against the 1 worker measured just before):
   * the measure least moved by other work on the machine, which changes by the minute.
   */
  readonly xPaired: number;
  /** For the controls (`runtime: 'control'`): which kind of work (see {@link controlRate}). */
  readonly control?: ControlKind;
}

/** A pause between batches, for the engine's background work of the last one to end (see its use). */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

/** How long {@link settle} waits: a few of the engine's background GC tasks on this machine. */
const SETTLE_MS = 150;

/** `rates` against `ones` (the same rounds): the ratio of their medians, and the median of each round's ratio. */
function ratios(rates: readonly number[], ones: readonly number[]): [number, number] {
  return [median(rates) / median(ones), median(rates.map((rate, round) => rate / ones[round]!))];
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
 * The controls: what the machine gives two threads right now, for three kinds of work with no
 * library in them, each run on 1 and on 2 Workers; the result is in units per second, so that its
 * 2-over-1 ratio is the most a pool of calls doing that kind of work could reach in the same
 * minutes:
 * - `cpu`: a loop of integer arithmetic, no memory traffic;
 * - `copy`: copying westend's fresh memory (21 pages) over another buffer, as a reset with
 *   `reuseGrownMemory` does between calls;
 * - `fresh pages`: a new 8 MiB buffer, one byte written in each 4 KiB page, as a call on a fresh
 *   memory faults in the pages it touches.
 */
async function controlRate(workers: Worker[], kind: ControlKind, units: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    workers.map(async (worker) => {
      while (next < units) {
        next++;
        await new Promise<void>((resolve) => {
          worker.once('message', () => resolve());
          worker.postMessage(kind);
        });
      }
    }),
  );
  return units / ((performance.now() - started) / 1000);
}

/** The kinds of control work (see {@link controlRate}). */
const CONTROL_KINDS = ['cpu', 'copy', 'fresh pages'] as const;
type ControlKind = (typeof CONTROL_KINDS)[number];

/** The pool sizes measured: 1, 2 and every core of the machine (2 here). */
const SIZES: readonly number[] = [...new Set([1, 2, availableParallelism()])];

/** The controls measured in every round beside the pools (the fresh pages one is measured apart). */
const STEADY_CONTROLS: readonly ControlKind[] = ['cpu', 'copy'];

/** What each control kind is, for the report. */
const CONTROL_LABELS: Readonly<Record<ControlKind, string>> = {
  cpu: 'plain JavaScript loop (units of 20M iterations)',
  copy: "memory copy (units of 400 copies of westend's fresh memory, 1.38 MB)",
  'fresh pages': 'fresh pages (units of 8 new 8 MiB buffers, every page touched)',
};

const CONTROL_WORKER = `
const { parentPort } = require('node:worker_threads');
const from = new Uint8Array(21 * 65536).fill(3);
const to = new Uint8Array(21 * 65536);
parentPort.on('message', (kind) => {
  let x = 1;
  if (kind === 'cpu') {
    for (let i = 0; i < 20_000_000; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  } else if (kind === 'copy') {
    for (let i = 0; i < 400; i++) { to.set(from); x += to[i]; }
  } else {
    for (let i = 0; i < 8; i++) {
      const fresh = new Uint8Array(8 << 20);
      for (let at = 0; at < fresh.length; at += 4096) fresh[at] = 1;
      x += fresh[4096];
    }
  }
  parentPort.postMessage(x);
});`;

/**
 * The input of `TransactionPaymentApi_query_info` for westend v9300: a signed
 * `Balances.transfer_keep_alive` (pallet 4, call 3) of 10^12 units from an account of 0x11 bytes to
 * one of 0x22 bytes, immortal, nonce 0, no tip, its signature not checked by this call (0x33
 * bytes), then the extrinsic's length as a u32. The call decodes it, weighs it and computes its
 * fee, reading the fee multiplier from storage (absent here: the default): a mid-sized call with a
 * storage read, as a wallet's fee estimate makes.
 */
function queryInfoInput(): Uint8Array {
  const account = (byte: number): number[] => new Array<number>(32).fill(byte);
  const call = [4, 3, 0x00, ...account(0x22), 0x0b, 0x00, 0x40, 0x7a, 0x10, 0xf3, 0x5a];
  // Version 4, signed; MultiAddress::Id; MultiSignature::Sr25519; era, nonce, tip.
  const body = [0x84, 0x00, ...account(0x11), 0x01, ...new Array<number>(64).fill(0x33), 0x00, 0x00, 0x00, ...call];
  const compactLength = (body.length << 2) | 1; // two-byte compact: 64 <= length < 2^14
  const extrinsic = [compactLength & 0xff, compactLength >> 8, ...body];
  const length = extrinsic.length;
  return Uint8Array.from([...extrinsic, length & 0xff, (length >> 8) & 0xff, 0, 0]);
}

/** The input of each entry point the benchmark calls (none: empty). */
const INPUTS: Readonly<Record<string, Uint8Array>> = { TransactionPaymentApi_query_info: queryInfoInput() };

export async function benchPool(
  runtimeName: string,
  codePath: string,
  options: { rounds: number; batches: Record<string, number>; warmUp: Record<string, number> },
): Promise<{ results: PoolResult[]; rows: Row[]; load: { before: ReturnType<typeof machineLoad>; after: ReturnType<typeof machineLoad> } }> {
  const workerUrl = pathToFileURL(join(REPO_ROOT, 'build', 'examples', 'worker-pool', 'worker.js'));
  const before = machineLoad();
  const empty = new Uint8Array();
  const batch = async (pool: RuntimeWorkerPool, entryPoint: string, count: number): Promise<number> => {
    const started = performance.now();
    const input = INPUTS[entryPoint] ?? empty;
    const replies = await Promise.all(Array.from({ length: count }, () => pool.run({ type: 'call', entryPoint, input })));
    const elapsed = performance.now() - started;
    for (const reply of replies) if (!('output' in reply)) throw new Error(`a call failed: ${'error' in reply ? reply.error : 'suspended'}`);
    return count / (elapsed / 1000);
  };
  const rates = new Map<string, number[]>();
  const control = new Map<number, Worker[]>(SIZES.map((n) => [n, Array.from({ length: n }, () => new Worker(CONTROL_WORKER, { eval: true }))]));
  const controlRates = new Map<string, number[]>(CONTROL_KINDS.flatMap((kind) => SIZES.map((size) => [`${kind}/${size}`, []] as [string, number[]])));
  const measureControl = async (kind: ControlKind): Promise<void> => {
    for (const [size, workers] of control) controlRates.get(`${kind}/${size}`)!.push(await controlRate(workers, kind, 8));
  };
  try {
    for (const workers of control.values()) for (const kind of CONTROL_KINDS) await controlRate(workers, kind, 2);
    // One memory mode at a time, its pools alone: the other mode's idle workers would
    // otherwise collect their garbage (fresh memories of tens of MB each) on the engine's
    // threads while these are measured.
    for (const memory of ['fresh', 'reused'] as const) {
      const pools = new Map<number, RuntimeWorkerPool>();
      try {
        for (const size of SIZES) pools.set(size, await RuntimeWorkerPool.start({ size, codePath, backend: 'jspi', workerUrl, reuseGrownMemory: memory === 'reused' }));
        // Warm-up: every worker's code optimised before anything is measured, the library's by
        // the JavaScript JIT and the runtime's by the engine's tier-up, both on background
        // threads. A short warm-up leaves that work to the measured rounds, where it takes the
        // second core from a second worker: 2 workers measured 1.5x of one after 100 warm-up
        // calls of Core_version. The engine keeps optimising for tens of thousands of calls:
        // westend's Core_version in a loop on one thread took 36 µs a call after 10,000 calls
        // (the engine's helper threads busy a tenth of the time), 26 µs from 45,000 on (helpers
        // idle); so 50,000 of each short call per worker.
        for (const [entryPoint, count] of Object.entries(options.warmUp)) for (const [size, pool] of pools) await batch(pool, entryPoint, count * size);
        for (let round = 0; round < options.rounds; round++) {
          for (const kind of STEADY_CONTROLS) await measureControl(kind);
          for (const [entryPoint, count] of Object.entries(options.batches)) {
            // Each batch leaves its workers collecting its garbage on the engine's threads for a
            // while: the pools take turns in an order that alternates by round, and the next
            // batch waits for that to settle (without it, the pool measured second paid for the first).
            const order = round % 2 === 0 ? [...pools] : [...pools].reverse();
            for (const [size, pool] of order) {
              await settle();
              const key = `${entryPoint}/${size}/${memory}`;
              rates.set(key, [...(rates.get(key) ?? []), await batch(pool, entryPoint, count)]);
            }
          }
        }
      } finally {
        for (const pool of pools.values()) await pool.close();
      }
    }
    // Last and alone: its garbage (every unit frees 64 MiB) would land in the pools' rounds.
    for (let round = 0; round < options.rounds; round++) await measureControl('fresh pages');
  } finally {
    for (const workers of control.values()) for (const worker of workers) await worker.terminate();
  }
  const after = machineLoad();
  const results: PoolResult[] = [];
  for (const kind of CONTROL_KINDS) {
    const ones = controlRates.get(`${kind}/1`)!;
    for (const size of SIZES) {
      const rates = controlRates.get(`${kind}/${size}`)!;
      const [x, xPaired] = ratios(rates, ones);
      results.push({ runtime: 'control', control: kind, entryPoint: CONTROL_LABELS[kind], workers: size, memory: 'fresh', callsPerSecond: median(rates), x, xPaired });
    }
  }
  for (const entryPoint of Object.keys(options.batches)) {
    for (const memory of ['fresh', 'reused'] as const) {
      const ones = rates.get(`${entryPoint}/1/${memory}`)!;
      for (const size of SIZES) {
        const these = rates.get(`${entryPoint}/${size}/${memory}`)!;
        const [x, xPaired] = ratios(these, ones);
        results.push({ runtime: runtimeName, entryPoint, workers: size, memory, callsPerSecond: median(these), x, xPaired });
      }
    }
  }
  return {
    results,
    rows: results.map((r) => [
      `${r.runtime}: ${r.entryPoint}${r.runtime === 'control' ? '' : `, ${r.memory} memory`}, ${r.workers} worker${r.workers === 1 ? '' : 's'}`,
      r.callsPerSecond,
      r.x,
      r.xPaired,
    ]),
    load: { before, after },
  };
}
