/**
 * Test helper: driving a machine the same way on both backends.
 *
 * Semantic suites drive every call through `runAsync`, which both backends have. The suite of
 * `run` itself (spec/run.test.ts) also keeps the synchronous `run()` of the Asyncify backend:
 * {@link DRIVERS} lists the three ways a call can be driven, and {@link step} /
 * {@link stepError} take one step the chosen way, keeping the difference that matters (a
 * synchronous `run()` throws, `runAsync()` rejects and never throws).
 */
import type { ExecOutcome, VirtualMachine, WasmValue } from '../../lib/index.js';
import { SINGLE_MEMORY, type Variant } from './backends.js';

/** One way of driving a call: a backend (or Asyncify with its stack in the single memory), and `run()` or `runAsync()`. */
export interface Driver {
  readonly backend: Variant;
  readonly via: 'run' | 'runAsync';
}

/**
 * Every way a call can be driven: synchronous `run()` exists only on Asyncify, which also runs
 * with its paused stack in the guest's one memory (`support/backends.ts`).
 */
export const DRIVERS: readonly Driver[] = [
  { backend: 'asyncify', via: 'run' },
  { backend: 'asyncify', via: 'runAsync' },
  { backend: SINGLE_MEMORY, via: 'run' },
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
