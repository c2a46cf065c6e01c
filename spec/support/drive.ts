/**
 * Test helper: driving a machine the same way on both backends.
 *
 * Semantic suites drive every call through `runAsync`, which both backends have. The suite of
 * `run` itself (spec/run.test.ts) also keeps the synchronous `run()` of the Asyncify backend:
 * {@link DRIVERS} lists the three ways a call can be driven, and {@link step} /
 * {@link stepError} take one step the chosen way, keeping the difference that matters (a
 * synchronous `run()` throws, `runAsync()` rejects and never throws).
 */
import type { Backend, ExecOutcome, VirtualMachine, WasmValue } from '../../lib/index.js';

/** One way of driving a call: a backend, and `run()` or `runAsync()`. */
export interface Driver {
  readonly backend: Backend;
  readonly via: 'run' | 'runAsync';
}

/** Every way a call can be driven: synchronous `run()` exists only on Asyncify. */
export const DRIVERS: readonly Driver[] = [
  { backend: 'asyncify', via: 'run' },
  { backend: 'asyncify', via: 'runAsync' },
  { backend: 'jspi', via: 'runAsync' },
];

/** A name for a {@link Driver}, for `describe.each`. */
export function driverName(driver: Driver): string {
  return `${driver.backend}, ${driver.via}()`;
}

/** One step of `vm`, driven as `driver` says. A synchronous `run()` that throws rejects here. */
export async function step(driver: Driver, vm: VirtualMachine, value: WasmValue | null): Promise<ExecOutcome> {
  return driver.via === 'run' ? vm.run(value) : vm.runAsync(value);
}

/**
 * The error one refused step gives: thrown synchronously by `run()`, or the rejection of
 * `runAsync()` (which must return a promise, never throw). Fails the test if the step succeeds.
 */
export async function stepError(driver: Driver, vm: VirtualMachine, value: WasmValue | null): Promise<unknown> {
  if (driver.via === 'run') {
    try {
      vm.run(value);
    } catch (e) {
      return e;
    }
    throw new Error('run() did not throw');
  }
  return asyncError(vm, value);
}

/** The rejection of `vm.runAsync(value)`, which must return a promise (never throw) and reject. */
export async function asyncError(vm: VirtualMachine, value: WasmValue | null): Promise<unknown> {
  let pending: Promise<ExecOutcome>;
  try {
    pending = vm.runAsync(value);
  } catch (e) {
    throw new Error(`runAsync() threw synchronously instead of rejecting: ${String(e)}`);
  }
  return pending.then(
    (outcome) => {
      throw new Error(`runAsync() resolved to ${outcome.type} instead of rejecting`);
    },
    (e: unknown) => e,
  );
}

/** The error `action` throws synchronously; fails the test if it does not throw. */
export function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (e) {
    return e;
  }
  throw new Error('no error was thrown');
}

/**
 * Runs `vm` through `runAsync` until the call finishes or traps, answering every interrupt with
 * `answer(outcome)` (default: `null`, for imports without result).
 */
export async function runThrough(
  vm: VirtualMachine,
  answer: (interrupt: Extract<ExecOutcome, { type: 'interrupted' }>) => WasmValue | null = () => null,
): Promise<ExecOutcome> {
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') outcome = await vm.runAsync(answer(outcome));
  return outcome;
}

/** The largest `n` in `[1, limit]` for which `ok(n)` holds, assuming `ok` is monotonic. */
export async function deepestAsync(ok: (n: number) => Promise<boolean>, limit = 1 << 20): Promise<number> {
  if (!(await ok(1))) return 0;
  let lo = 1;
  let hi = limit;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    if (await ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * {@link deepestAsync}, repeated until two searches in a row agree (at most 9 searches), as
 * `settledDepth` in `recursion.ts` does for synchronous checks: the engine's optimising
 * compiler shrinks frames as the code warms up.
 */
export async function settledDepthAsync(ok: (n: number) => Promise<boolean>, limit?: number): Promise<number> {
  let previous = await deepestAsync(ok, limit);
  for (let round = 0; round < 8; round++) {
    // Give background compilation a chance to finish.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const current = await deepestAsync(ok, limit);
    if (current === previous) return current;
    previous = current;
  }
  return previous;
}
