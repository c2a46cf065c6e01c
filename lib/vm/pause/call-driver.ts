/**
 * The seam between the state machine and the mechanism that pauses a guest at an import.
 *
 * The state machine ({@link VirtualMachine}) only knows that a call either returns, throws, or
 * stops at an import and waits for a value. How the stop happens is the driver's business, and
 * there are two:
 *
 * - **Asyncify** (`asyncify-driver.ts`): the module was instrumented by Binaryen, so the guest
 *   can unwind its own stack into a buffer and rewind it on resume. Every step is synchronous.
 * - **JSPI** (`jspi-driver.ts`): the engine suspends the guest's stack at a
 *   `WebAssembly.Suspending` import and resumes it when the promise that import returned
 *   settles. No transform; but a resume can only happen in a promise job, so every step is
 *   asynchronous.
 *
 * One interface covers both: `call` and `resume` either return the step (`synchronous: true`)
 * or hand it later to the `settle` callback they are given (from the import the guest called,
 * or from the promise job in which the call ended). The state machine does the same bookkeeping
 * around either, which is what keeps every behaviour identical across backends. (A callback
 * rather than a promise of the step: the state machine settles the host's own promise in it, so
 * a round trip costs one promise job, as little as a hand-written JSPI loop.)
 *
 * Values cross this seam in the engine's representation (numbers and bigints as the JS API of
 * WebAssembly produces and accepts them); typing and checking them is the state machine's job.
 *
 * **Layer `vm/pause/`** (this is its main file): the pause mechanisms behind this seam. It
 * imports `base/` and `transform/` (the ABI names of the module it drives), never the states.
 *
 * @module
 */

import type { Backend } from '../../base/engine.js';

/** How a driver call ended: see {@link CallDriver}. */
export type Step = 'returned' | 'paused' | 'threw';

/** Where a call was when it threw; a throw while pausing or resuming is a stack problem. */
export type ThrowContext = 'running' | 'pausing' | 'resuming';

/** An exported function of the instance, as the engine's JS API gives it. */
export type ExportedFunction = (...args: unknown[]) => unknown;

/**
 * Receives the step of an asynchronous driver, once per `call` or `resume`. It may throw (for
 * lack of stack, when called on the guest's stack) unless `lastChance` is set; the driver then
 * calls it again from a fresh promise job with `lastChance` set, where it must not throw.
 */
export type Settle = (step: Step, lastChance: boolean) => void;

/** Runs one call of an exported function at a time, pausing it at every pausing import. */
export interface CallDriver {
  /** The mechanism. */
  readonly backend: Backend;
  /**
   * `true` if `call` and `resume` return their {@link Step}; `false` if they return `undefined`
   * and hand the step to `settle` later, exactly once.
   */
  readonly synchronous: boolean;
  /**
   * The value to import for the pausing import at `index` (in the function index space).
   * `placeholder` is a value of the import's result type, for a mechanism that must return
   * something while it pauses.
   */
  pausingImport(index: number, placeholder: unknown): unknown;
  /** Connects the driver to its instance, once the instance exists. */
  attach(exports: WebAssembly.Exports): void;
  /** Calls `fn(...args)` and runs it until it returns, throws or pauses at an import. */
  call(fn: ExportedFunction, args: readonly unknown[], settle: Settle): Step | undefined;
  /** Continues the paused call, handing `value` to the guest as the import's result. */
  resume(value: unknown, settle: Settle): Step | undefined;
  /**
   * Gives up the paused call for good: releases whatever the paused stack holds. The instance is
   * then either discarded or reset (if {@link reusable}).
   */
  abandon(): void;
  /**
   * Whether the instance may be reset and used again: no call of it is paused, running, or
   * (JSPI) still unwinding from an abandonment.
   */
  readonly reusable: boolean;
  /**
   * Whether {@link reusable} survives abandoning a paused call: true where the paused stack is
   * plain data (Asyncify), false where the engine must still unwind it (JSPI). Lets a
   * synchronous `intoPrototype()` know whether it will need a new instance before it changes
   * anything.
   */
  readonly reusableAfterAbandon: boolean;
  /** After `returned`: the function's result in the engine's representation. */
  readonly result: unknown;
  /** After `threw`: what was thrown. */
  readonly error: unknown;
  /** After `threw`: what the call was doing at the time. */
  readonly throwContext: ThrowContext;
  /** After `paused`: index of the import (in the function index space) that paused the call. */
  readonly pausedImport: number;
  /** After `paused`: the arguments the guest passed to that import. */
  readonly pausedArgs: readonly unknown[];
  /** Size of the buffer a paused stack must fit in, in bytes; `null` if the engine holds it. */
  readonly bufferSize: number | null;
}
