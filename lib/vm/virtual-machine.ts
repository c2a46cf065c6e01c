/**
 * A call in progress: the state that runs guest code.
 *
 * `run(null)` (or `runAsync(null)`) starts the call. It returns when the guest calls an import
 * (`interrupted`, with the import's id and arguments), returns (`finished`), or faults
 * (`trapped`). After `interrupted`, the host does whatever the import means (possibly
 * asynchronously, possibly reading and writing the guest's memory) and calls `run(value)` with
 * the import's result; the guest continues exactly as if the import had returned that value. A
 * guest cannot observe that it was paused: its memory, its globals and its `memory.size` are
 * untouched by the pause.
 *
 * ```ts
 * let outcome = await vm.runAsync(null);
 * while (outcome.type === 'interrupted') {
 *   outcome = await vm.runAsync(await host(outcome.id, outcome.params));
 * }
 * ```
 *
 * ## Steps, synchronous and not
 *
 * Each `run`/`runAsync` is one *step*: from a start or a resume to the next interrupt or the
 * end. On the Asyncify backend a step is synchronous, and `run()` returns its outcome. On JSPI
 * the engine can only continue a suspended stack in a promise job, so a step is asynchronous:
 * `runAsync()` works on both backends and `run()` on JSPI throws
 * `UsageError('SynchronousRunUnsupported')`. `runAsync()` always runs its step in a promise job
 * (on Asyncify too), so that a step is *in progress* between the call and the settlement of its
 * promise on both backends alike; while it is, another `run`/`runAsync` and every transition are
 * refused with `UsageError('StepInProgress')`, and the memory accessors keep working.
 *
 * ## Abandoning a paused call
 *
 * `intoPrototype()` abandons the call in any state. On JSPI a paused call holds a suspended
 * engine stack, which would live as long as its pending import could still settle: the driver
 * releases it (see `pause/jspi-driver.ts`). A paused machine that is dropped without
 * `intoPrototype()` is abandoned the same way when the garbage collector reclaims it.
 *
 * @module
 */

import { RunError, Trap, UsageError, attachFrames } from '../base/errors.js';
import { guestFrames } from './backtrace.js';
import type { ResolvedImport } from '../base/components.js';
import type { LiveInstance } from './live-instance.js';
import { MemoryAccess } from './memory-access.js';
import { Ownership } from './ownership.js';
import { Prepare } from './prepare.js';
import { VirtualMachinePrototype } from './prototype.js';
import { trapFromError } from './traps.js';
import type { CallDriver, Settle, Step } from './pause/call-driver.js';
import { type Signature, type ValueType, type WasmValue, describeBadValue, describeValue, fromEngine, isValueType } from '../base/values.js';

/**
 * Abandons the paused call of a machine the garbage collector reclaimed without an
 * `intoPrototype()` (the held value is the machine's driver, never the machine itself).
 */
const droppedWhilePaused = new FinalizationRegistry<CallDriver>((driver) => driver.abandon());

/** What {@link VirtualMachine.run} returns. */
export type ExecOutcome =
  /**
   * The guest called the import the host resolved to `id`, with `params`. Call `run` again with
   * the import's result (or `null` if it returns nothing).
   */
  | { readonly type: 'interrupted'; readonly id: number; readonly params: WasmValue[] }
  /** The function returned `value` (`null` if it returns nothing). The call is over. */
  | { readonly type: 'finished'; readonly value: WasmValue | null }
  /** The guest faulted. The call is over; the instance is still usable through `intoPrepare()`. */
  | { readonly type: 'trapped'; readonly trap: Trap };

/** Where the call is: not yet run, paused at an import, or over. */
type CallState = 'ready' | 'interrupted' | 'ended';

/** A call in progress; see the module documentation. */
export class VirtualMachine extends MemoryAccess {
  #state: CallState = 'ready';
  /** While interrupted: the result type the paused import must be answered with. */
  #expected: ValueType | null = null;
  #pausedId = -1;
  /** A step that happened but whose outcome `run()` could not hand over yet (see `run`). */
  #undelivered: Step | null = null;
  /** A step is running (see the module documentation). */
  #stepping = false;
  /** While interrupted: the outcome that reported it. */
  #interrupt: ExecOutcome | null = null;
  /** Where the outcome of the asynchronous step in progress (JSPI) goes: see {@link #settle}. */
  #resolveStep: ((outcome: ExecOutcome) => void) | null = null;
  #rejectStep: ((error: unknown) => void) | null = null;
  /** Inside `runAsync`, while it hands the step to the driver. */
  #insideRunAsync = false;

  private constructor(
    live: LiveInstance,
    private readonly fn: (...args: unknown[]) => unknown,
    private readonly args: readonly unknown[],
    private readonly signature: Signature,
    /** This call is the module's start function (see `VmConfig.startFunction`). */
    private readonly isStartFunction: boolean,
  ) {
    super(new Ownership(live, 'VirtualMachine'));
    if (!live.driver.synchronous) droppedWhilePaused.register(this, live.driver, this);
  }

  /** @internal */
  static _start(
    live: LiveInstance,
    fn: (...args: unknown[]) => unknown,
    args: readonly unknown[],
    signature: Signature,
    isStartFunction = false,
  ): VirtualMachine {
    return new VirtualMachine(live, fn, args, signature, isStartFunction);
  }

  /**
   * Starts (`value` must be `null`) or resumes (`value` is the interrupted import's result, or
   * `null` for an import without result) the call, and runs it until the next interrupt, its end
   * or a trap. Guest faults, including stack exhaustion, are `trapped` outcomes, never exceptions.
   *
   * Throws {@link RunError}, leaving the machine as it was: `BadValueType` if `value` does not
   * have the expected type (or is not a `WasmValue` at all), `InvalidValue` if its payload is not
   * a valid value of that type, `Poisoned` once the call has finished or trapped.
   *
   * If the host calls `run()` with almost no JavaScript stack left, the engine's `RangeError`
   * can escape: either before anything ran (nothing changed), or while the outcome was being
   * reported, in which case the next `run()` returns that outcome (its argument is then ignored).
   */
  run(value: WasmValue | null): ExecOutcome {
    const live = this.owner.live;
    if (!live.driver.synchronous) {
      throw new UsageError(
        'SynchronousRunUnsupported',
        "this machine runs on the JSPI backend, whose resume is always asynchronous: use runAsync() (or backend 'asyncify' for a synchronous run())",
      );
    }
    this.#refuseIfStepping('run');
    if (this.#undelivered !== null) return this.#report(live, this.#undelivered);
    this.#stepping = true;
    let step: Step;
    try {
      step = this.#step(live, value, null)!;
    } finally {
      this.#stepping = false;
    }
    // From here on the step has happened: record it before building anything, so that a
    // stack overflow while building the outcome leaves it to be reported by the next run().
    this.#undelivered = step;
    return this.#report(live, step);
  }

  /**
   * {@link run}, on either backend, as a promise: the same outcomes, and the same errors as
   * rejections (after which the machine is usable exactly as after a throwing `run()`). The step
   * runs in a promise job; until the promise settles, another `run`/`runAsync` and every
   * transition are refused with `UsageError('StepInProgress')` (memory access stays allowed).
   */
  runAsync(value: WasmValue | null): Promise<ExecOutcome> {
    let live: LiveInstance;
    try {
      live = this.owner.live;
      this.#refuseIfStepping('runAsync');
    } catch (e) {
      return Promise.reject(e);
    }
    if (live.driver.synchronous) return this.#runAsyncSynchronousDriver(live, value);
    if (this.#undelivered !== null) return Promise.resolve(this.#report(live, this.#undelivered));
    return new Promise<ExecOutcome>((resolve, reject) => {
      try {
        this.#stepAsynchronousDriver(live, value, resolve, reject);
      } catch (e) {
        reject(e);
      }
    });
  }

  /**
   * @internal One step on an asynchronous driver (JSPI), its outcome handed to `onOutcome`
   * rather than through a promise: how `runToCompletion` drives a JSPI machine without a promise
   * and a job of its own per step (see `run-to-completion.ts`). Throws what `runAsync` rejects
   * with when the step is refused before it starts; `onError` receives the rare failure to
   * report a step that did happen (see {@link #settle}). `onOutcome` is called where the step
   * ended: for an interrupt, inside the guest's import call, before the engine suspends the
   * stack, so it must only record the outcome and defer any work to a later job.
   */
  _stepWith(value: WasmValue | null, onOutcome: (outcome: ExecOutcome) => void, onError: (error: unknown) => void): void {
    const live = this.owner.live;
    this.#refuseIfStepping('runToCompletion');
    if (live.driver.synchronous) throw new Error('internal error: _stepWith is for asynchronous drivers');
    if (this.#undelivered !== null) {
      onOutcome(this.#report(live, this.#undelivered));
      return;
    }
    this.#stepAsynchronousDriver(live, value, onOutcome, onError);
  }

  /**
   * Hands a start or a resume to an asynchronous driver; {@link #settle} later hands the outcome
   * to `resolve`. Throws, changing nothing, if the value is refused.
   */
  #stepAsynchronousDriver(live: LiveInstance, value: WasmValue | null, resolve: (outcome: ExecOutcome) => void, reject: (error: unknown) => void): void {
    this.#resolveStep = resolve;
    this.#rejectStep = reject;
    this.#stepping = true;
    this.#insideRunAsync = true;
    try {
      this.#step(live, value, this.#settle);
    } catch (e) {
      // Refused before the driver was asked (RunError): nothing changed.
      this.#stepping = false;
      throw e;
    } finally {
      this.#insideRunAsync = false;
    }
  }

  /**
   * Receives the step of an asynchronous driver (see `pause/jspi-driver.ts`) and settles the
   * promise `runAsync` returned. Made once per machine: it is on the path of every pause. It runs
   * again if it failed for lack of stack (it is called on the guest's stack), so it only sets
   * what it computes.
   */
  readonly #settle: Settle = (step, lastChance) => {
    if (this.#insideRunAsync) {
      // A start that pauses at once settles inside runAsync() itself, before its caller can
      // even await: the step stays in progress until a job queued now, which runs before any
      // reaction to the promise, as on Asyncify (whose runAsync steps in a promise job).
      queueMicrotask(() => (this.#stepping = false));
    } else {
      this.#stepping = false;
    }
    this.#undelivered = step;
    const live = this.owner.live;
    let outcome: ExecOutcome;
    try {
      outcome = this.#report(live, step);
    } catch (e) {
      // Out of stack on the guest's stack: the driver calls again from a fresh job.
      if (!lastChance) throw e;
      this.#rejectStep!(e);
      return;
    }
    this.#resolveStep!(outcome);
  };

  /**
   * `runAsync` on Asyncify: the step is synchronous, but it runs in a promise job anyway, so that
   * a step is in progress until the promise settles on both backends alike.
   */
  async #runAsyncSynchronousDriver(live: LiveInstance, value: WasmValue | null): Promise<ExecOutcome> {
    this.#stepping = true;
    let step: Step;
    try {
      await undefined;
      if (this.#undelivered !== null) return this.#report(live, this.#undelivered);
      step = this.#step(live, value, null)!;
    } finally {
      this.#stepping = false;
    }
    this.#undelivered = step;
    return this.#report(live, step);
  }

  /** Checks `value` against the state and hands the start or the resume to the driver. */
  #step(live: LiveInstance, value: WasmValue | null, settle: Settle | null): Step | undefined {
    switch (this.#state) {
      case 'ended':
        throw new RunError('Poisoned', 'the call has already finished or trapped; use intoPrepare() or intoPrototype()');
      case 'ready':
        if (value !== null && value !== undefined) {
          throw new RunError('BadValueType', `the first run() of a call must be given null, got ${describeValue(value)}`, {
            expected: null,
            ...typeOf(value),
          });
        }
        return live.driver.call(this.fn, this.args, settle!);
      case 'interrupted':
        return live.driver.resume(this.#checkResumeValue(value), settle!);
    }
  }

  /** @internal The `interrupted` outcome the call is paused at, or `null` (see `run-to-completion.ts`). */
  _currentInterrupt(): ExecOutcome | null {
    this.owner.live;
    this.#refuseIfStepping('runToCompletion');
    return this.#state === 'interrupted' ? this.#interrupt : null;
  }

  /** @internal Whether `run()` works here: the backend's steps are synchronous (Asyncify). */
  _synchronousSteps(): boolean {
    return this.owner.live.driver.synchronous;
  }

  /** @internal The import the call is paused at, or `null`. */
  _pausedImport(): ResolvedImport | null {
    const live = this.owner.live;
    return this.#state === 'interrupted' ? live.components.imports[live.driver.pausedImport]! : null;
  }

  #refuseIfStepping(what: string): void {
    if (this.#stepping) {
      throw new UsageError(
        'StepInProgress',
        `${what}: a step of this call is still running (a runAsync() whose promise has not settled); await it first`,
      );
    }
  }

  /** Moves to the state `step` leads to and returns its outcome. */
  #report(live: LiveInstance, step: Step): ExecOutcome {
    const driver = live.driver;
    let outcome: ExecOutcome;
    if (step === 'paused') {
      const imported = live.components.imports[driver.pausedImport]!;
      this.#state = 'interrupted';
      this.#expected = imported.signature.result;
      this.#pausedId = imported.id;
      const types = imported.signature.params;
      const raw = driver.pausedArgs;
      const params: WasmValue[] = new Array(raw.length);
      for (let i = 0; i < raw.length; i++) params[i] = fromEngine(types[i]!, raw[i]);
      outcome = { type: 'interrupted', id: imported.id, params };
      this.#interrupt = outcome;
    } else {
      this.#state = 'ended';
      this.#interrupt = null;
      if (this.isStartFunction) live.startFunction = step === 'returned' ? 'finished' : 'trapped';
      if (step === 'returned') {
        const type = this.signature.result;
        outcome = { type: 'finished', value: type === null ? null : fromEngine(type, driver.result) };
      } else {
        let trap = trapFromError(driver.error, driver.throwContext, driver.bufferSize);
        if (trap === null) {
          // On Asyncify anything that is not a guest fault is a bug in this library: let it
          // surface. On JSPI the engine itself may fail to suspend or resume a stack (e.g. a
          // stack it cannot allocate): that ends the call, as a trap, like any fault.
          if (driver.synchronous) {
            this.#undelivered = null;
            throw driver.error;
          }
          trap = engineFailure(driver.error);
        }
        const error = driver.error;
        attachFrames(trap, () => guestFrames(error, live.components));
        outcome = { type: 'trapped', trap };
      }
    }
    this.#undelivered = null;
    return outcome;
  }

  /** Checks the host's answer to the paused import and returns it in the engine's representation. */
  #checkResumeValue(value: WasmValue | null): unknown {
    const expected = this.#expected;
    // What every correct host passes, checked without allocating: it is on the path of every
    // pause. Anything else (an unsigned i32, a bad value) takes the full check below.
    if (value === null) {
      if (expected === null) return undefined;
    } else if (typeof value === 'object' && value.type === expected && expected === 'i32') {
      const raw = value.value;
      if (typeof raw === 'number' && (raw | 0) === raw) return raw;
    }
    const what = `the interrupted import (id ${this.#pausedId})`;
    const types = typeOf(value);
    if (!('obtained' in types)) {
      throw new RunError('BadValueType', `${what}: run() must be given a WasmValue or null, got ${describeValue(value)}`, {
        expected,
      });
    }
    const obtained = types.obtained;
    if (obtained !== expected) {
      throw new RunError(
        'BadValueType',
        expected === null
          ? `${what} returns nothing; run() must be given null, got an ${obtained}`
          : `${what} returns an ${expected}; run() was given ${obtained === null ? 'null' : `an ${obtained}`}`,
        { expected, obtained },
      );
    }
    if (expected === null) return undefined;
    const reason = describeBadValue(expected, value!.value);
    if (reason !== null) throw new RunError('InvalidValue', `${what}: ${reason}`, { expected, obtained });
    return value!.value;
  }

  /**
   * After the call finished or trapped: a {@link Prepare} on the same instance, with the memory
   * and globals as the call left them, for the next call. Throws {@link UsageError}
   * `CallInProgress` before that. Consumes this machine.
   */
  intoPrepare(): Prepare {
    this.#refuseIfStepping('intoPrepare');
    if (this.owner.live && this.#state !== 'ended') {
      throw new UsageError(
        'CallInProgress',
        'intoPrepare() needs the call to have finished or trapped; use intoPrototype() to abandon it',
      );
    }
    return Prepare._fromInstance(this.#take('intoPrepare'));
  }

  /**
   * Abandons the call (in any state but a step in progress) and returns a prototype whose
   * instance is fresh (memory and globals as after instantiation): this instance put back in
   * that state where it can be, else a new one (see `LiveInstance.reset`; the guest cannot tell
   * the difference). Consumes this machine.
   */
  intoPrototype(): VirtualMachinePrototype {
    this.#refuseIfStepping('intoPrototype');
    return VirtualMachinePrototype._renew(this.owner.live, this.#state === 'interrupted', () => this.#take('intoPrototype'));
  }

  /**
   * {@link intoPrototype}, making a new instance (when the used one cannot be reset) with
   * `WebAssembly.instantiate`, which every engine allows on every thread: the form for code
   * that may run on a browser's main thread. Consumes this machine at once (a paused call is
   * abandoned then); the promise settles with the prototype.
   */
  async intoPrototypeAsync(): Promise<VirtualMachinePrototype> {
    this.#refuseIfStepping('intoPrototypeAsync');
    const live = this.#take('intoPrototypeAsync');
    if (this.#state === 'interrupted') live.driver.abandon();
    return VirtualMachinePrototype._renewAsync(live);
  }

  /** Hands the instance over to a transition; the finalizer has nothing left to abandon. */
  #take(by: string): LiveInstance {
    const live = this.owner.take(by);
    droppedWhilePaused.unregister(this);
    return live;
  }
}

/** A failure of the engine's stack switching (JSPI), reported as the trap that ends the call. */
function engineFailure(error: unknown): Trap {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : describeValue(error);
  return new Trap('Other', `the engine failed to suspend or resume the call: ${message}`, error);
}

/**
 * The type of a value handed to `run`: `{ obtained: null }` for none, `{ obtained: type }` for a
 * `WasmValue`, and `{}` for anything else a JavaScript caller may pass.
 */
function typeOf(value: unknown): { obtained?: ValueType | null } {
  if (value === null || value === undefined) return { obtained: null };
  if (typeof value !== 'object') return {};
  const type = (value as { type?: unknown }).type;
  return isValueType(type) ? { obtained: type } : {};
}
