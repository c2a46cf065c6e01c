/**
 * What a pause costs on this engine, on each backend: measured once per process (or page), for
 * the choice `'auto'` makes where the engine has both backends (see `list.ts`).
 *
 * Engines differ by more than an order of magnitude, and not in the same direction: V8 suspends
 * and resumes a JSPI stack in about the time Asyncify takes to unwind and rewind a shallow one
 * (0.7–1.1 µs against 1.2–3.5 µs a pause of a real runtime in Chromium), SpiderMonkey takes
 * 10–20 µs for the JSPI pause and 1–4 µs for Asyncify's (`docs/performance.md`, *Browsers*).
 * Which engine is which is not asked (by user agent or by a feature that happens to differ):
 * the costs are measured, so that the choice follows an engine that gets faster.
 *
 * The probe is one tiny guest (`pause-probe-modules.ts`, made ahead of time, so that no
 * transform runs for it) that pauses from 16 frames deep, run both ways, alternately, three times for
 * a few milliseconds each (the cheapest of each kept): as written through `WebAssembly.Suspending`/`promising`, and instrumented by Asyncify
 * with its buffer in its own memory (so that it runs without multi-memory), driven by the least
 * a driver does. Its timings are coarse (a browser may round `performance.now()` to a
 * millisecond), which the choice allows for: it compares them with a wide margin.
 *
 * @module
 */

import { RESOLVED } from '../base/promise-like.js';
import { ASYNCIFY_PROBE_HEX, PLAIN_PROBE_HEX } from './pause-probe-modules.js';

/** What one pause costs on each backend, in nanoseconds, as the probe measured it. */
export interface PauseCosts {
  readonly jspiNs: number;
  readonly asyncifyNs: number;
}

/** How long each measurement runs at least, in milliseconds. */
const MEASURE_MS = 5;
/**
 * How many times each backend is measured, alternately; the cheapest of each is kept, so that a
 * collection or a busy machine slowing one measurement does not decide the choice.
 */
const ROUNDS = 3;
/** Where Asyncify's data sits in the probe's memory: its header, then its stack. */
const DATA = 16;
const STACK_END = 4096;

let measured: Promise<PauseCosts> | null = null;
let override: PauseCosts | null = null;

/**
 * @internal Makes {@link measurePauseCosts} answer `costs` (`null`: measure again), for tests of
 * the choice on an engine they do not run on (Firefox's costs, in Node.js).
 */
export function _overridePauseCosts(costs: PauseCosts | null): void {
  override = costs;
}

/** The pause costs of this engine (measured at the first call; every later call gets the same). */
export function measurePauseCosts(): Promise<PauseCosts> {
  if (override !== null) return Promise.resolve(override);
  measured ??= measureBoth();
  return measured;
}

async function measureBoth(): Promise<PauseCosts> {
  const jspi = await jspiProbe();
  const asyncify = asyncifyProbe();
  let jspiNs = Infinity;
  let asyncifyNs = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    jspiNs = Math.min(jspiNs, await perPause(jspi));
    asyncifyNs = Math.min(asyncifyNs, await perPause(asyncify));
  }
  return { jspiNs, asyncifyNs };
}

function bytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Runs `pauses(n)` with n doubling until it takes {@link MEASURE_MS}; nanoseconds a pause. */
async function perPause(pauses: (n: number) => unknown): Promise<number> {
  for (let n = 32; ; n *= 2) {
    const started = performance.now();
    await pauses(n);
    const ms = performance.now() - started;
    if (ms >= MEASURE_MS || n >= 1 << 20) return (ms * 1e6) / n;
  }
}

/** The probe written for JSPI, warmed up: `run(n)` pauses `n` times. */
async function jspiProbe(): Promise<(n: number) => Promise<number>> {
  const api = WebAssembly as unknown as {
    Suspending: new (fn: () => Promise<void>) => unknown;
    promising: (fn: unknown) => (n: number) => Promise<number>;
  };
  const { instance } = await WebAssembly.instantiate(bytes(PLAIN_PROBE_HEX), { p: { pause: new api.Suspending(() => RESOLVED) as WebAssembly.ImportValue } });
  const run = api.promising(instance.exports['run']);
  await run(4);
  return run;
}

/** The probe instrumented by Asyncify, driven by the least a driver does, warmed up. */
function asyncifyProbe(): (n: number) => number {
  let rewinding = false;
  let unwinding = false;
  let exports: Record<string, (...args: number[]) => number> = {};
  const memory = (): Int32Array => new Int32Array((exports['memory'] as unknown as WebAssembly.Memory).buffer);
  const pause = (): void => {
    if (rewinding) {
      exports['asyncify_stop_rewind']!();
      rewinding = false;
      return;
    }
    const header = memory();
    header[DATA / 4] = DATA + 8;
    header[DATA / 4 + 1] = STACK_END;
    exports['asyncify_start_unwind']!(DATA);
    unwinding = true;
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes(ASYNCIFY_PROBE_HEX)), { p: { pause } });
  exports = instance.exports as unknown as typeof exports;
  const run = (n: number): number => {
    let result = exports['run']!(n);
    while (unwinding) {
      unwinding = false;
      exports['asyncify_stop_unwind']!();
      exports['asyncify_start_rewind']!(DATA);
      rewinding = true;
      result = exports['run']!(n);
    }
    return result;
  };
  run(4);
  return run;
}
