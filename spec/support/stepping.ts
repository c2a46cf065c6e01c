/**
 * Test helper: driving a machine the same way on both backends. A suite parametrized over
 * {@link DRIVES} runs each behaviour on Asyncify through `run()` (the synchronous contract, as
 * before), on Asyncify through `runAsync()`, and on JSPI through `runAsync()` (the only way a
 * JSPI machine runs). {@link stepper} turns either method into one function returning a
 * promise, and {@link refusal} checks *how* a refused step fails: `run()` must throw
 * synchronously, `runAsync()` must return a promise that rejects (never throw).
 */
import type { Backend, ExecOutcome, TrapKind, VirtualMachine, WasmValue } from '../../lib/index.js';
import { SINGLE_MEMORY, type Variant } from './backends.js';

/** The method a suite drives machines with. */
export type RunMethod = 'run' | 'runAsync';

/** Each backend with each way it can be driven: Asyncify by `run()` and `runAsync()`, JSPI by `runAsync()`. */
export const DRIVES: readonly (readonly [Backend, RunMethod])[] = [
  ['asyncify', 'run'],
  ['asyncify', 'runAsync'],
  ['jspi', 'runAsync'],
];

/**
 * {@link DRIVES}, and Asyncify with its paused stack in the guest's one memory
 * (`support/backends.ts`), driven by `runAsync()`: for the suites where a paused stack's place
 * matters (its depth, its overflow, a fault while pausing).
 */
export const DRIVES_WITH_SINGLE_MEMORY: readonly (readonly [Variant, RunMethod])[] = [...DRIVES, [SINGLE_MEMORY, 'runAsync']];

/** One step of a call: `vm.run(value)` or `vm.runAsync(value)`, as a promise either way. */
export type Stepper = (vm: VirtualMachine, value: WasmValue | null) => Promise<ExecOutcome>;

/** The {@link Stepper} of `method`. A synchronous throw of `run()` becomes a rejection. */
export function stepper(method: RunMethod): Stepper {
  return method === 'run' ? async (vm, value) => vm.run(value) : (vm, value) => vm.runAsync(value);
}

/**
 * What `attempt` failed with, checking the way it failed: for `run`, a synchronous throw; for
 * `runAsync`, a returned promise that rejects (a synchronous throw is a failure of its own).
 * Fails the test if `attempt` succeeded.
 */
export async function refusal(method: RunMethod, attempt: () => unknown): Promise<unknown> {
  let returned: unknown;
  try {
    returned = attempt();
  } catch (e) {
    if (method === 'runAsync') throw new Error(`runAsync() threw synchronously instead of rejecting: ${String(e)}`);
    return e;
  }
  if (method === 'run') throw new Error(`run() did not throw; it returned ${JSON.stringify(returned, bigints)}`);
  if (!(returned instanceof Promise)) throw new Error('runAsync() did not return a promise');
  try {
    const outcome: unknown = await returned;
    throw new RefusalMissing(`runAsync() resolved instead of rejecting: ${JSON.stringify(outcome, bigints)}`);
  } catch (e) {
    if (e instanceof RefusalMissing) throw e;
    return e;
  }
}

class RefusalMissing extends Error {}

/** `JSON.stringify` replacer for outcomes holding i64 values. */
export function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}

/** Checks that `error` is an instance of `cls` with `kind` and a message. */
export function expectError(error: unknown, cls: abstract new (...args: never[]) => Error, kind: string): void {
  expect(error).toBeInstanceOf(cls);
  expect((error as { kind?: string }).kind).toBe(kind);
  expect((error as Error).message).not.toBe('');
}

/** Checks that `outcome` is a trap of `kind` with a message. */
export function expectTrap(outcome: ExecOutcome, kind: TrapKind): void {
  expect(outcome.type).toBe('trapped');
  if (outcome.type !== 'trapped') return;
  expect(outcome.trap.kind).toBe(kind);
  expect(outcome.trap.message).not.toBe('');
}
