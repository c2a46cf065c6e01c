/**
 * The seam between the state machine and the mechanism that pauses a guest at an import.
 *
 * The state machine ({@link VirtualMachine}) only knows that a call either returns, throws, or
 * stops at an import and waits for a value. How the stop happens is the driver's business, and
 * there are two (one per backend, see `backend.ts`):
 *
 * - **Asyncify** (`asyncify/driver.ts`): the module was instrumented by Binaryen, so the guest
 *   can unwind its own stack into a buffer and rewind it on resume. A step ends before `call`
 *   or `resume` returns.
 * - **JSPI** (`jspi/driver.ts`): the engine suspends the guest's stack at a
 *   `WebAssembly.Suspending` import and resumes it when the promise that import returned
 *   settles. No transform; but a resume can only happen in a promise job, so a step ends later.
 *
 * One protocol covers both: `call` and `resume` hand the step that follows to the `settle`
 * callback they are given, exactly once: before they return (Asyncify) or later (JSPI). The
 * state machine does the same bookkeeping around either, which is what keeps every behaviour
 * identical across backends. (A callback rather than a promise of the step: the state machine
 * settles the host's own promise in it, so a round trip costs one promise job, as little as a
 * hand-written JSPI loop.)
 *
 * What crosses the seam: values in the engine's representation (numbers and bigints as the JS
 * API of WebAssembly produces and accepts them; typing and checking them is the state machine's
 * job), the index of the import that paused (in the function index space), and where the step
 * was handed over (`inGuest`: inside the guest's own import call, where the stack is not
 * suspended yet and nothing may run but recording). What does not cross: the states, the
 * host's answers before they are checked, anything of the public API.
 *
 * **Layer `backends/`** main file: `backend.ts`.
 *
 * @module
 */

/** How a driver call ended: see {@link CallDriver}. */
export type Step = 'returned' | 'paused' | 'threw';

/** Where a call was when it threw; a throw while pausing or resuming is a stack problem. */
export type ThrowContext = 'running' | 'pausing' | 'resuming';

/** An exported function of the instance, as the engine's JS API gives it. */
export type ExportedFunction = (...args: unknown[]) => unknown;

/**
 * Receives the step that follows a `call` or a `resume`, exactly once. `inGuest`: it is called
 * inside the guest's import call (JSPI's pause, before the engine suspends the stack), where the
 * receiver must only record the step and defer any work to a later job. It may throw (for lack
 * of stack, when called on the guest's stack) unless `lastChance` is set; the driver then calls
 * it again from a fresh promise job with `lastChance` set and `inGuest` clear, where it must not
 * throw. A synchronous driver calls it with `lastChance` set: a failure there propagates to the
 * caller of `call`/`resume`.
 *
 * For a pause handed over `inGuest`, it may return a {@link Pull}: the answer is then pulled
 * in the next job instead of pushed by a later `resume`.
 */
export type Settle = (step: Step, inGuest: boolean, lastChance: boolean) => Pull | undefined;

/**
 * The answer to a pause, pulled by the driver in the job after the engine suspended the stack:
 * the value to resume with (engine representation), or a promise of it. Where no answer can be
 * given now (the host failed), it returns `defer()`: the pause then waits for a `resume` (or an
 * abandonment) as if it had never been pulled. The driver resumes the guest when the value is
 * there, with no `resume` call and no promise of its own: a round trip costs one promise job,
 * as a hand-written JSPI driver's does.
 */
export type Pull = (defer: () => Promise<unknown>) => unknown;

/**
 * A paused call's stack as data, for backends whose paused stack is plain data (a capability,
 * `VmBackend.snapshots`): what a snapshot or a fork carries besides the memory and the globals.
 * Where the bytes live (a memory of their own, or pages of the guest's) is the driver's business.
 */
export interface PausedStack {
  /** The import (in the function index space) the call is paused at. */
  readonly importIndex: number;
  /** The arguments the guest passed to it, in the engine's representation. */
  readonly args: readonly unknown[];
  /** The pause mechanism's own state while paused (Asyncify: `asyncify_get_state()`, 1 = unwound). */
  readonly state: number;
  /** The saved frames with their header (Asyncify: the unwind buffer's used bytes, header first). */
  readonly bytes: Uint8Array;
}

/** Runs one call of an exported function at a time, pausing it at every pausing import. */
export interface CallDriver {
  /**
   * The value to import for the pausing import at `index` (in the function index space), which
   * takes `arity` parameters. `placeholder` is a value of the import's result type, for a
   * mechanism that must return something while it pauses.
   */
  pausingImport(index: number, placeholder: unknown, arity: number): unknown;
  /** Connects the driver to its instance, once the instance exists. */
  attach(exports: WebAssembly.Exports): void;
  /**
   * Calls `fn(...args)` and runs it until it returns, throws or pauses at an import. `pulls`:
   * the receiver of the step answers a pause handed over inside the guest with a {@link Pull}
   * (a driver that hands pauses over there prepares for it).
   */
  call(fn: ExportedFunction, args: readonly unknown[], settle: Settle, pulls: boolean): void;
  /** Continues the paused call, handing `value` to the guest as the import's result; `pulls` as for `call`. */
  resume(value: unknown, settle: Settle, pulls: boolean): void;
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
  /**
   * After `paused`: the arguments the guest passed to that import, the first `arity` elements
   * (the array may be the driver's own, reused by the next pause).
   */
  readonly pausedArgs: readonly unknown[];
  /** Size of the buffer a paused stack must fit in, in bytes; `null` if the engine holds it. */
  readonly bufferSize: number | null;
  /**
   * After `paused`, where the backend can (`VmBackend.snapshots`): a copy of the paused call's
   * stack ({@link PausedStack}). Changes nothing.
   */
  pausedStack(): PausedStack;
  /**
   * Why `stack` could not be restored into this driver's instance (a header that does not fit
   * its buffer, a state that is not a pause), or `null` if it can. Changes nothing.
   */
  checkPausedStack(stack: PausedStack): string | null;
  /**
   * Makes this driver's instance paused at `stack` (checked by {@link checkPausedStack}), inside
   * the call `fn(...args)`: the next {@link resume} rewinds that stack, as if the call had paused
   * on this instance. The driver must not be in a call.
   */
  restorePausedStack(fn: ExportedFunction, args: readonly unknown[], stack: PausedStack): void;
}
