/**
 * The seam between the state machine and the mechanism that pauses a guest at an import.
 *
 * The state machine ({@link VirtualMachine}) only knows that a call either returns, throws, or
 * stops at an import and waits for a value. How the stop happens is the driver's business:
 * today Binaryen's Asyncify (`asyncify-driver.ts`), which unwinds the wasm stack into a buffer
 * and rewinds it on resume; later possibly JSPI, which suspends the stack in the engine but can
 * only resume asynchronously. Keeping the mechanism behind this interface is what lets the two
 * coexist without the state machine knowing which one runs it.
 *
 * Values cross this seam in the engine's representation (numbers and bigints as the JS API of
 * WebAssembly produces and accepts them); typing and checking them is the state machine's job.
 *
 * **Layer `vm/pause/`** (this is its main file): the pause mechanisms behind this seam. It
 * imports `base/` and `transform/` (the ABI names of the module it drives), never the states.
 *
 * @module
 */

/** How a driver call ended: see {@link CallDriver}. */
export type Step = 'returned' | 'paused' | 'threw';

/** Where a call was when it threw; a throw while pausing or resuming is a stack problem. */
export type ThrowContext = 'running' | 'pausing' | 'resuming';

/** Runs one call of an exported function at a time, pausing it at every pausing import. */
export interface CallDriver {
  /** Calls `fn(...args)` and runs it until it returns, throws or pauses at an import. */
  call(fn: (...args: unknown[]) => unknown, args: readonly unknown[]): Step;
  /** Continues the paused call, handing `value` to the guest as the import's result. */
  resume(value: unknown): Step;
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
}
