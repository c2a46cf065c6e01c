/**
 * Drives an uninstrumented instance with JavaScript Promise Integration (JSPI): the engine
 * suspends the guest's stack at an import and resumes it later.
 *
 * How a pause works. Every pausing import is a `WebAssembly.Suspending` wrapper around a small
 * JavaScript function made here, and every export is called through `WebAssembly.promising`,
 * which runs it on a stack of its own and returns a promise of its result. When the guest calls
 * a pausing import, the function records which import was called and with what, hands the step
 * `paused` to the state machine, and returns a promise that only the resume will settle. The engine
 * sees the promise and suspends the whole guest stack, from the import up to the export, and the
 * export's own call returns to JavaScript. Nothing is copied: the stack stays where it is.
 *
 * To resume, {@link JspiDriver.resume} settles that promise with the host's value. The engine
 * continues the suspended stack **in a promise job**: there is no synchronous way to continue
 * a suspended JSPI stack, which is why this backend's steps are promises and the machine has
 * `runAsync`. The guest then runs until it pauses again (a new step settles `paused`) or the
 * export's promise settles (`returned`, or `threw` for a trap).
 *
 * Three dangers of the mechanism, handled here once:
 *
 * - **Abandoned stacks.** A suspended stack lives as long as the promise it waits on might
 *   still settle. A paused call that is simply forgotten keeps its stack (and its instance)
 *   alive: measured, 10,000 forgotten calls of a small guest grew the process by 120 MB, and
 *   V8 aborted the process soon after ("Decommit Wasm code space Allocation failed").
 *   {@link JspiDriver.abandon} therefore *rejects* the pending import with {@link CallAbandoned}:
 *   the stack unwinds (MVP code cannot catch a JavaScript exception), its memory is released,
 *   and 30,000 abandoned calls stay flat. The state machine abandons on `intoPrototype()`, and a
 *   finalizer abandons a paused machine that was dropped without it.
 * - **Stale settlements.** A step that was abandoned still settles later (its rejection); a
 *   generation counter makes sure it can never be mistaken for the current step.
 * - **Fixed-size stacks.** Each `promising` call runs on a stack of the engine's choosing (about
 *   1 MB in V8); recursion past it is a `RangeError`, reported as a `StackExhausted` trap like on
 *   the other backend. The instance stays usable.
 *
 * The import function allocates one promise per pause and the driver keeps its state in fields:
 * this is the hot path of every host call. The step is handed over by a callback, in which the
 * state machine settles the host's `runAsync` promise directly: with the pause promise, that is
 * all a round trip allocates and waits for.
 *
 * @module
 */

import { RESOLVED, nextJob } from '../../base/promise-like.js';
import type { CallDriver, ExportedFunction, PausedStack, Pull, Settle, Step, ThrowContext } from '../call-driver.js';

/** The rejection an abandoned pause receives: it unwinds the suspended stack. Never seen by a host. */
export class CallAbandoned extends Error {
  override readonly name = 'CallAbandoned';
}

interface JspiApi {
  Suspending: new (fn: (...args: unknown[]) => unknown) => unknown;
  promising: (fn: ExportedFunction) => (...args: unknown[]) => Promise<unknown>;
}

/** See the module documentation. One driver per instance. */
export class JspiDriver implements CallDriver {
  readonly bufferSize = null;
  result: unknown = undefined;
  error: unknown = undefined;
  readonly throwContext: ThrowContext = 'running';
  pausedImport = -1;
  pausedArgs: readonly unknown[] = [];

  readonly #api = WebAssembly as unknown as JspiApi;
  /** The arguments of a pause of up to three parameters (see {@link pausingImport}). */
  readonly #args: unknown[] = [undefined, undefined, undefined];
  /** `promising` wrappers of the exports called so far (one per function: they are reusable). */
  readonly #promising = new Map<ExportedFunction, (...args: unknown[]) => Promise<unknown>>();
  /** Receives the step in progress. */
  #settleStep: Settle | null = null;
  /** Resumes the paused import with a value, or unwinds it with an error. */
  #resumePause: ((value: unknown) => void) | null = null;
  #abandonPause: ((reason: unknown) => void) | null = null;
  /** Incremented by every call; a settlement of an older call is ignored. */
  #generation = 0;
  /** A paused call was abandoned: its stack may still be unwinding. */
  #abandoned = false;
  /** The step in progress answers its pauses by a `Pull` (see {@link call}). */
  #pulls = false;
  /** A pause whose answer is pulled in the next job (see `Pull`), once the machine gave it. */
  #pull: Pull | null = null;
  /** A pulled pause's job is pending, and the generation of the call it belongs to. */
  #pullPending = false;
  #pullGeneration = -1;

  /**
   * A `WebAssembly.Suspending` import. Up to three parameters are written into one array the
   * driver reuses (`pausedArgs`), so a pause allocates no arguments array.
   */
  pausingImport(index: number, _placeholder: unknown, arity: number): unknown {
    const args = this.#args;
    const Suspending = this.#api.Suspending;
    switch (arity) {
      case 0:
        return new Suspending(() => this.#onImport(index, args));
      case 1:
        return new Suspending((a: unknown) => {
          args[0] = a;
          return this.#onImport(index, args);
        });
      case 2:
        return new Suspending((a: unknown, b: unknown) => {
          args[0] = a;
          args[1] = b;
          return this.#onImport(index, args);
        });
      case 3:
        return new Suspending((a: unknown, b: unknown, c: unknown) => {
          args[0] = a;
          args[1] = b;
          args[2] = c;
          return this.#onImport(index, args);
        });
      default:
        return new Suspending((...rest: unknown[]) => this.#onImport(index, rest));
    }
  }

  attach(): void {
    // The driver needs nothing from the instance: it is handed each export it calls.
  }

  /** Never called: the engine holds a paused stack, which cannot be copied (`JSPI.snapshots` is false). */
  pausedStack(): PausedStack {
    throw new Error('internal error: a JSPI stack cannot be copied');
  }

  /** Never called (see {@link pausedStack}). */
  checkPausedStack(): string | null {
    return 'a JSPI stack cannot be restored';
  }

  /** Never called (see {@link pausedStack}). */
  restorePausedStack(): void {
    throw new Error('internal error: a JSPI stack cannot be restored');
  }

  /**
   * Starts the call. `pulls`: the receiver of its steps answers pauses with a `Pull`, so the
   * promise each pause returns to the engine is the pulled one (see {@link #onImport}).
   */
  call(fn: ExportedFunction, args: readonly unknown[], settle: Settle, pulls: boolean): void {
    let wrapped = this.#promising.get(fn);
    if (wrapped === undefined) {
      wrapped = this.#api.promising(fn);
      this.#promising.set(fn, wrapped);
    }
    const generation = ++this.#generation;
    this.#settleStep = settle;
    this.#pulls = pulls;
    let running: Promise<unknown>;
    try {
      // The engine needs some of the host's stack to return from the guest's first pause: with
      // less, the call would pause and then throw, and its promise, which alone reports the
      // call's end, would be lost. Checked first, so that a call either has the room or never
      // starts (measured by the stack sweep of spec/guest-faults.test.ts).
      headroom(HEADROOM_FRAMES);
      // Runs the guest synchronously until it returns, throws or first suspends.
      running = wrapped(...args);
    } catch (e) {
      // The engine refused to start the call (the host's own stack ran out on entry): nothing
      // ran, and the machine puts its state back.
      this.#settleStep = null;
      throw e;
    }
    running.then(
      (result) => this.#settle(generation, 'returned', result),
      (error: unknown) => this.#settle(generation, 'threw', error),
    );
  }

  resume(value: unknown, settle: Settle, pulls: boolean): void {
    const resumePause = this.#resumePause!;
    this.#resumePause = null;
    this.#abandonPause = null;
    this.#settleStep = settle;
    this.#pulls = pulls;
    // The engine continues the suspended stack in a promise job: the step is settled from there.
    resumePause(value);
  }

  /** Until a paused call is abandoned: its stack then unwinds in a later job, on this instance. */
  get reusable(): boolean {
    return !this.#abandoned;
  }

  /** Never: an abandoned stack unwinds in a later job, on this instance. */
  readonly reusableAfterAbandon = false;

  abandon(): void {
    const abandonPause = this.#abandonPause;
    // A pulled pause's stack unwinds when its job finds the generation changed.
    if (abandonPause !== null || this.#pullPending) this.#abandoned = true;
    this.#pull = null;
    this.#generation++;
    this.#settleStep = null;
    this.#resumePause = null;
    this.#abandonPause = null;
    abandonPause?.(new CallAbandoned('the paused call was abandoned'));
  }

  /**
   * A pausing import's call. The promise the engine will wait on is made first, before the
   * machine hears of the pause: near the end of the stack any call may fail, and one that fails
   * here throws into the guest, whose stack then unwinds and ends the call (as a
   * `StackExhausted` trap), the machine never having been told of a pause that did not happen.
   */
  #onImport(index: number, args: unknown[]): Promise<unknown> {
    this.pausedImport = index;
    this.pausedArgs = args;
    const settle = this.#settleStep!;
    let pause: Promise<unknown>;
    if (this.#pulls) {
      this.#pullGeneration = this.#generation;
      pause = RESOLVED.then(this.#runPull);
      this.#pullPending = true;
    } else {
      pause = this.#pendingPause();
    }
    this.#settleStep = null;
    let pull: Pull | undefined;
    try {
      pull = deliver(settle, 'paused', true);
    } catch (e) {
      // Nothing was delivered: the guest unwinds with e, and that is the step. The pause made
      // above is never waited on: neither its job nor an abandonment may settle it (a rejection
      // nobody waits on would be reported as unhandled).
      this.#settleStep = settle;
      this.#pullPending = false;
      this.#resumePause = null;
      this.#abandonPause = null;
      throw e;
    }
    if (pull !== undefined) {
      // The answer is pulled in the pause's job, and the engine resumes the stack once it is there.
      this.#pull = pull;
      this.#settleStep = settle;
    }
    return pause;
  }

  /** A pause that waits for {@link resume} or {@link abandon}. */
  #pendingPause(): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.#resumePause = resolve;
      this.#abandonPause = reject;
    });
  }

  /**
   * The job of a pulled pause: the answer; or, where the machine was told of the pause too late
   * to give a pull (a delivery retried for lack of stack), a wait for a resume; or the pause's
   * unwinding if it was abandoned meanwhile.
   */
  readonly #runPull = (): unknown => {
    // A pause the guest never waited on (see #onImport).
    if (!this.#pullPending) return undefined;
    const pull = this.#pull;
    this.#pull = null;
    this.#pullPending = false;
    if (this.#pullGeneration !== this.#generation) throw new CallAbandoned('the paused call was abandoned');
    if (pull === null) return this.#pendingPause();
    return pull(this.#defer);
  };

  /** See `Pull`: the pulled pause becomes one that waits for a resume. */
  readonly #defer = (): Promise<unknown> => {
    this.#settleStep = null;
    return this.#pendingPause();
  };

  #settle(generation: number, step: 'returned' | 'threw', value: unknown): void {
    // An abandoned call's stack unwinding with CallAbandoned, or any other stale settlement.
    if (generation !== this.#generation || this.#settleStep === null) return;
    if (step === 'returned') this.result = value;
    else this.error = value;
    const settle = this.#settleStep;
    this.#settleStep = null;
    deliver(settle, step, false);
  }
}

/**
 * Hands `step` to the state machine. The hand-over runs where the step happened: for a pause,
 * inside the guest's import call, on the guest's own stack, which deep recursion may have
 * nearly used up. Should it overflow there, it must not throw into the guest (the exception
 * would unwind the paused call); it is retried from a fresh job, where the stack is the event
 * loop's. The state machine's hand-over is written to be repeatable.
 */
function deliver(settle: Settle, step: Step, inGuest: boolean): Pull | undefined {
  try {
    return settle(step, inGuest, false);
  } catch {
    nextJob(() => settle(step, false, true));
    return undefined;
  }
}

/**
 * The frames {@link JspiDriver.call} makes sure are free before it starts a call: more than the
 * engine's return from a `promising` call needs.
 */
const HEADROOM_FRAMES = 24;

/** Uses `frames` frames of the stack (a `RangeError` if they do not fit), then returns. */
function headroom(frames: number): number {
  return frames === 0 ? 0 : headroom(frames - 1) + 1;
}

