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
 * ## Steps
 *
 * Each `run`/`runAsync` is one *step*: from a start or a resume to the next interrupt or the
 * end. The machine hands the step to its backend's driver (`backends/call-driver.ts`), which
 * hands back the step that ended it, exactly once: before the driver returns where the backend
 * steps synchronously (Asyncify), in a later promise job where it does not (JSPI, whose engine
 * can only continue a suspended stack in a job). So `runAsync()` works on both backends, and
 * `run()` only where steps are synchronous (elsewhere it throws
 * `UsageError('SynchronousRunUnsupported')`). `runAsync()` always runs its step in a promise
 * job (on Asyncify too), so that a step is *in progress* between the call and the settlement of
 * its promise on both backends alike; while it is, another `run`/`runAsync` and every transition
 * are refused with `UsageError('StepInProgress')`, and the memory accessors keep working.
 *
 * The protocol is written once, on the state it moves ({@link CallState}).
 *
 * ## Abandoning a paused call
 *
 * `intoPrototype()` abandons the call in any state. On JSPI a paused call holds a suspended
 * engine stack, which would live as long as its pending import could still settle: the driver
 * releases it (see `backends/jspi/driver.ts`). A paused machine that is dropped without
 * `intoPrototype()` is abandoned the same way when the garbage collector reclaims it.
 *
 * @module
 */

import { RunError, SnapshotError, Trap, UsageError, attachFrames } from '../base/errors.js';
import { nextJob } from '../base/promise-like.js';
import { guestFrames } from './backtrace.js';
import type { ResolvedImport } from '../base/components.js';
import { LiveInstance } from './live-instance.js';
import { EndKind } from './call-journal.js';
import { codecs, loadCodecs } from './codecs.js';
import { MemoryAccess } from './memory-access.js';
import type { PausedCallee } from './paused-call.js';
import { Ownership } from './ownership.js';
import { Prepare } from './prepare.js';
import { VirtualMachinePrototype } from './prototype.js';
import { trapFromError } from './traps.js';
import { type CallFuel, fuelNotEnabled, startCounters } from './fuel.js';
import type { CallDriver, Pull, Settle, Step } from '../backends/call-driver.js';
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
  | { readonly type: 'trapped'; readonly trap: Trap }
  /**
   * The call ran out of fuel (`VmConfig.fuel`): it is paused before the first instruction it
   * could not pay for. Add fuel with {@link VirtualMachine.addFuel} and call `run(null)` (or
   * `runAsync(null)`) to go on as if nothing happened; with too little added it reports
   * `outOfFuel` again at once, at the same place. See `fuel.ts`.
   */
  | { readonly type: 'outOfFuel' };

/** An outcome that ends the call. */
export type EndOutcome = Exclude<ExecOutcome, { readonly type: 'interrupted' } | { readonly type: 'outOfFuel' }>;

/** The `outOfFuel` outcome (it carries nothing: one object serves every report). */
const OUT_OF_FUEL_OUTCOME: ExecOutcome = Object.freeze({ type: 'outOfFuel' });

/**
 * Where the outcome of a step goes: the caller of `run()`, the promise of `runAsync()`, or
 * `runToCompletion`'s loop. Each method is called once per step, as the last thing the machine
 * does for it, and must do its one side effect last (a receiver called for lack of stack again
 * must not have done it twice).
 */
export abstract class StepReceiver {
  /** @internal The machine's `running` state for the steps whose outcome goes here (made once). */
  readonly running: unknown = { kind: 'running', receiver: this };
  /** Whether {@link interrupted} answers a pause handed over inside the guest with a `Pull`. */
  readonly pulls: boolean = false;
  /**
   * The call paused at `imported` with `params`. `inGuest`: called inside the guest's import call
   * (JSPI), before the engine suspended the stack: record, and defer any work to a later job;
   * or return a {@link Pull} that answers the pause in that job (see `backends/call-driver.ts`).
   */
  abstract interrupted(imported: ResolvedImport, params: WasmValue[], inGuest: boolean): Pull | undefined;
  /**
   * The call ran out of fuel and is paused until fuel is added; `inGuest` and the returned pull
   * as for {@link interrupted} (a pull's value is `null`: the fuel import returns nothing).
   */
  abstract outOfFuel(inGuest: boolean): Pull | undefined;
  /** The call finished or trapped. */
  abstract ended(outcome: EndOutcome): void;
  /** The step happened, but its outcome could not be reported (out of stack): the next step reports it. */
  abstract failed(error: unknown): void;
}

/**
 * Where the call is, and what each state allows. The flow is as follows:
 *
 * ```text
 *            step(null)                 driver: paused
 *   ready ─────────────▶ running ───────────────────────────▶ interrupted
 *                          ▲  │  │                                 │
 *                          │  │  │ driver: paused at the fuel      │ step(value)
 *                          │  │  │ import                          │
 *                          │  │  └────────────────────────▶ outOfFuel
 *                          │  │ driver: returned | threw           │ step(null)
 *                          │  ▼                                    │
 *                          │ ended                                 │
 *                          └───────────────────────────────────────┘
 * ```
 *
 * - **`ready`** (made by `Prepare.start()`): the first step must be given `null`; it is the
 *   driver's `call` of the function.
 * - **`running`**: a step is in progress. The driver holds the call and hands the step that ends
 *   it to {@link VirtualMachine.#settle}, which moves to `interrupted` or `ended` and hands the
 *   outcome to `receiver`. Every other step and every transition is refused with
 *   `StepInProgress`; memory access is allowed. Where steps are synchronous the whole of
 *   `running` happens inside `run()`.
 * - **`interrupted`**: paused at the import `imported`, called with `params`. The next step
 *   must be given a value of the import's result type: it is checked before anything changes (a
 *   wrong one is a `RunError`, and the state stays), then handed to the driver's `resume`.
 *   `outcome` is the `interrupted` outcome, made when someone asks for it.
 * - **`outOfFuel`**: paused at the fuel import (`VmConfig.fuel`, see `fuel.ts`): the guest
 *   could not pay for its next block. The next step must be given `null` (the import returns
 *   nothing) and is the driver's `resume`, as from `interrupted`; the guest then pays if the host
 *   added enough meanwhile ({@link VirtualMachine.addFuel}), else pauses here again.
 * - **`ended`**: finished or trapped. Every step is refused (`Poisoned`); `intoPrepare()` keeps
 *   the instance for another call, `intoPrototype()` makes it fresh.
 * - **`undelivered`**: the step ended, but reporting it failed for lack of stack (a host that
 *   called with almost none left). The next step reports `step` and ignores its argument.
 *
 * A transition out of the machine (`intoPrepare()`, `intoPrototype()`) is refused while
 * `running`, and `intoPrepare()` also before `ended`.
 */
type CallState =
  | { readonly kind: 'ready' }
  | { readonly kind: 'running'; readonly receiver: StepReceiver }
  | { readonly kind: 'interrupted'; imported: ResolvedImport; params: WasmValue[] }
  | { readonly kind: 'outOfFuel' }
  | { readonly kind: 'ended' }
  | { readonly kind: 'undelivered'; readonly step: Step };

const READY: CallState = { kind: 'ready' };
const ENDED: CallState = { kind: 'ended' };
const OUT_OF_FUEL: CallState = { kind: 'outOfFuel' };

/** What `#begin` returns for a step it handed over at once (an undelivered one). */
const DELIVERED: unique symbol = Symbol('delivered');

/**
 * The receiver of `run()`: the outcome (or the failure) is kept until `run()` takes it. One per
 * machine, reused for every step.
 */
class SynchronousReceiver extends StepReceiver {
  outcome: ExecOutcome | null = null;
  error: unknown = null;
  interrupted(imported: ResolvedImport, params: WasmValue[]): undefined {
    this.outcome = { type: 'interrupted', id: imported.id, params };
    return undefined;
  }
  outOfFuel(): undefined {
    this.outcome = OUT_OF_FUEL_OUTCOME;
    return undefined;
  }
  ended(outcome: EndOutcome): void {
    this.outcome = outcome;
  }
  failed(error: unknown): void {
    this.error = error;
  }
  /** The outcome of the step that just ended (or its failure, thrown). */
  take(): ExecOutcome {
    const outcome = this.outcome;
    this.outcome = null;
    if (outcome === null) {
      const error = this.error;
      this.error = null;
      throw error;
    }
    return outcome;
  }
}

/** The receiver of one `runAsync()`: the outcome settles its promise. */
class PromiseReceiver extends StepReceiver {
  constructor(
    private readonly resolve: (outcome: ExecOutcome) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    super();
  }
  interrupted(imported: ResolvedImport, params: WasmValue[]): undefined {
    this.resolve({ type: 'interrupted', id: imported.id, params });
    return undefined;
  }
  outOfFuel(): undefined {
    this.resolve(OUT_OF_FUEL_OUTCOME);
    return undefined;
  }
  ended(outcome: EndOutcome): void {
    this.resolve(outcome);
  }
  failed(error: unknown): void {
    this.reject(error);
  }
}

/** A call in progress; see the module documentation. */
export class VirtualMachine extends MemoryAccess {
  #state: CallState = READY;
  /** The `interrupted` state, reused at every pause (see `#report`). */
  readonly #interrupted: Extract<CallState, { kind: 'interrupted' }> = { kind: 'interrupted', imported: null!, params: [] };
  readonly #sync = new SynchronousReceiver();
  /** The call's fuel (`VmConfig.fuel`), or `null` without it; see `fuel.ts`. */
  readonly #fuel: CallFuel | null;

  private constructor(
    live: LiveInstance,
    private readonly fn: (...args: unknown[]) => unknown,
    private readonly args: readonly unknown[],
    private readonly signature: Signature,
    /** This call is the module's start function (see `VmConfig.startFunction`). */
    private readonly isStartFunction: boolean,
    /** The export called, by its original name (`null`: the start function): what a snapshot names. */
    private readonly functionName: string | null,
    budget: bigint | null,
  ) {
    super(new Ownership(live, 'VirtualMachine'));
    this.#fuel = startCounters(live, budget);
    if (live.backend.holdsEngineStacks) droppedWhilePaused.register(this, live.driver, this);
  }

  /** @internal A new call of `functionName` (`null`: the start function), recorded in the instance's journal. */
  static _start(
    live: LiveInstance,
    fn: (...args: unknown[]) => unknown,
    args: readonly unknown[],
    signature: Signature,
    isStartFunction = false,
    functionName: string | null = null,
    budget: bigint | null = null,
  ): VirtualMachine {
    if (isStartFunction) live.journal?.startFunction();
    else live.journal?.call(functionName ?? '', signature.params, args);
    return new VirtualMachine(live, fn, args, signature, isStartFunction, isStartFunction ? null : functionName, budget);
  }

  /**
   * A machine paused at the interrupt `live`'s driver was made paused at (a restored snapshot,
   * a fork), inside the call `callee`. (Never of a metered instance: `paused-call.ts` refuses
   * those, whose counters a snapshot does not carry.)
   */
  static #paused(live: LiveInstance, callee: PausedCallee): VirtualMachine {
    const fn = (callee.functionName === null ? live.startFunctionExport() : live.exportValue(callee.functionName, live.components.exports.get(callee.functionName)!)) as (
      ...args: unknown[]
    ) => unknown;
    const vm = new VirtualMachine(live, fn, callee.args, callee.signature, callee.functionName === null, callee.functionName, null);
    vm.#state = vm.#pausedState(live);
    return vm;
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
    if (!live.backend.synchronousSteps) {
      throw new UsageError(
        'SynchronousRunUnsupported',
        `this machine runs on the ${live.backend.label} backend, whose resume is always asynchronous: use runAsync() ` +
          "(or backend 'asyncify' for a synchronous run())",
      );
    }
    const sync = this.#sync;
    const previous = this.#state;
    const raw = this.#begin(live, value, sync, 'run');
    if (raw !== DELIVERED) this.#go(live, previous, raw, sync);
    return sync.take();
  }

  /**
   * {@link run}, on either backend, as a promise: the same outcomes, and the same errors as
   * rejections (after which the machine is usable exactly as after a throwing `run()`). The step
   * runs in a promise job; until the promise settles, another `run`/`runAsync` and every
   * transition are refused with `UsageError('StepInProgress')` (memory access stays allowed).
   */
  runAsync(value: WasmValue | null): Promise<ExecOutcome> {
    return new Promise<ExecOutcome>((resolve, reject) => {
      const receiver = new PromiseReceiver(resolve, reject);
      const live = this.owner.live;
      const previous = this.#state;
      const raw = this.#begin(live, value, receiver, 'runAsync');
      if (raw === DELIVERED) return;
      if (live.backend.synchronousSteps) {
        // The step would end before runAsync() returns: it runs in a job, in progress meanwhile.
        this.#inJob(live, previous, raw, receiver);
        return;
      }
      this.#go(live, previous, raw, receiver);
      const settled = this.#state;
      if (settled.kind !== 'running') {
        // A start that paused at once settled inside runAsync() itself: the step stays in
        // progress until a job queued now, which runs before any reaction to the promise, as
        // where the step itself runs in a job. (Without stack left for that, it is over now.)
        this.#state = receiver.running as CallState;
        try {
          nextJob(() => (this.#state = settled));
        } catch {
          this.#state = settled;
        }
      }
    });
  }

  /**
   * @internal One step whose outcome goes to `receiver`: how `runToCompletion` drives a machine
   * without a promise and a job of its own per step. Throws what `runAsync` rejects with when
   * the step is refused before it starts. The step runs now, so that where steps are
   * synchronous the receiver is called before this returns; with `inJob`, a synchronous step
   * runs in a promise job instead, as `runAsync` runs it (the step is in progress meanwhile).
   */
  _stepWith(value: WasmValue | null, receiver: StepReceiver, inJob: boolean): void {
    const live = this.owner.live;
    const previous = this.#state;
    const raw = this.#begin(live, value, receiver, 'runToCompletion');
    if (raw === DELIVERED) return;
    if (inJob && live.backend.synchronousSteps) this.#inJob(live, previous, raw, receiver);
    else this.#go(live, previous, raw, receiver);
  }

  /**
   * @internal The answer of a pulled pause (see `Pull`): checks `value` as a resume would and
   * moves to `running` with `receiver`, returning the value in the engine's representation for
   * the driver to hand to the guest. Throws, changing nothing, for a refused answer.
   */
  _accept(value: WasmValue | null, receiver: StepReceiver): unknown {
    const live = this.owner.live;
    const state = this.#state;
    const raw = this.#begin(live, value, receiver, 'runToCompletion');
    if (raw === DELIVERED) throw new Error('internal error: a pulled pause found an undelivered step');
    live.journal?.step((state as { imported: ResolvedImport }).imported.signature.result, raw);
    this.#state = receiver.running as CallState;
    return raw;
  }

  /** @internal The import the call is paused at and its arguments, or `null` (see `run-to-completion.ts`). */
  _pausedAt(): { readonly imported: ResolvedImport; readonly params: WasmValue[] } | null {
    this.owner.live;
    const state = this.#state;
    if (state.kind === 'running') this.#refuseStepInProgress('runToCompletion');
    return state.kind === 'interrupted' ? state : null;
  }

  /**
   * Checks a step against the state (see {@link CallState}), changing nothing: returns the value
   * to resume with (in the engine's representation), or {@link DELIVERED} if the step was an
   * undelivered one, handed to `receiver` at once. Throws if the step is refused. The move to
   * `running` is {@link #go}'s (or {@link #inJob}'s), inside the guard that undoes it: near the
   * end of the stack, the very call that would make the move can fail.
   */
  #begin(live: LiveInstance, value: WasmValue | null, receiver: StepReceiver, what: string): unknown {
    const state = this.#state;
    let raw: unknown;
    switch (state.kind) {
      case 'running':
        return this.#refuseStepInProgress(what);
      case 'ended':
        throw new RunError('Poisoned', 'the call has already finished or trapped; use intoPrepare() or intoPrototype()');
      case 'undelivered':
        this.#report(live, state.step, false, receiver);
        return DELIVERED;
      case 'ready':
        if (value !== null && value !== undefined) {
          throw new RunError('BadValueType', `the first run() of a call must be given null, got ${describeValue(value)}`, {
            expected: null,
            ...typeOf(value),
          });
        }
        break;
      case 'interrupted':
        raw = checkResumeValue(state.imported, value);
        break;
      case 'outOfFuel':
        if (value !== null && value !== undefined) {
          throw new RunError(
            'BadValueType',
            `the call is out of fuel: add fuel with addFuel() and resume with null, got ${describeValue(value)}`,
            { expected: null, ...typeOf(value) },
          );
        }
        break;
    }
    return raw;
  }

  /**
   * {@link #go} in a promise job, the failure of the step to start handed to `receiver`. If even
   * the job cannot be queued (no stack left), nothing happened: the state is put back.
   */
  #inJob(live: LiveInstance, previous: CallState, raw: unknown, receiver: StepReceiver): void {
    try {
      this.#state = receiver.running as CallState;
      nextJob(() => {
        try {
          this.#go(live, previous, raw, receiver);
        } catch (e) {
          receiver.failed(e);
        }
      });
    } catch (e) {
      this.#state = previous;
      throw e;
    }
  }

  /**
   * Moves to `running` and hands the step `#begin` accepted to the driver: the call from
   * `previous` = `ready`, else the resume with `raw`. If the driver throws before the step began
   * (the host's stack exhausted on entry), the state is put back: nothing happened.
   */
  #go(live: LiveInstance, previous: CallState, raw: unknown, receiver: StepReceiver): void {
    const running = receiver.running as CallState;
    const journal = live.journal;
    const mark = journal?.length ?? 0;
    try {
      this.#state = running;
      if (previous.kind === 'ready') {
        journal?.step(null, undefined);
        live.driver.call(this.fn, this.args, this.#settle, receiver.pulls);
      } else {
        journal?.step((previous as { imported: ResolvedImport }).imported.signature.result, raw);
        live.driver.resume(raw, this.#settle, receiver.pulls);
      }
    } catch (e) {
      if (this.#state === running) {
        this.#state = previous;
        journal?.truncate(mark);
      }
      throw e;
    }
  }

  #refuseStepInProgress(what: string): never {
    throw new UsageError(
      'StepInProgress',
      `${what}: a step of this call is still running (a runAsync() whose promise has not settled); await it first`,
    );
  }

  /**
   * Receives the step that ends `running` from the driver. Made once per machine: it is on the
   * path of every pause. It may be called again if it failed for lack of stack (it is called on
   * the guest's stack), so the `running` state is put back before it rethrows.
   */
  readonly #settle: Settle = (step, inGuest, lastChance) => {
    const state = this.#state;
    if (state.kind !== 'running') return undefined;
    const journal = this.owner.live.journal;
    const mark = journal?.length ?? 0;
    try {
      return this.#report(this.owner.live, step, inGuest, state.receiver);
    } catch (e) {
      // Reported again later: recorded again then.
      journal?.truncate(mark);
      if (!lastChance) {
        this.#state = state;
        throw e;
      }
      this.#state = { kind: 'undelivered', step };
      state.receiver.failed(e);
      return undefined;
    }
  };

  /** Moves to the state `step` leads to and hands its outcome to `receiver` (returning its pull, if any). */
  #report(live: LiveInstance, step: Step, inGuest: boolean, receiver: StepReceiver): Pull | undefined {
    const driver = live.driver;
    if (step === 'paused' && driver.pausedImport === live.fuelImport) {
      this.#state = OUT_OF_FUEL;
      return receiver.outOfFuel(inGuest);
    }
    if (step === 'paused') {
      const state = this.#pausedState(live);
      live.journal?.paused(driver.pausedImport, state.imported.signature.params, driver.pausedArgs);
      this.#state = state;
      return receiver.interrupted(state.imported, state.params, inGuest);
    }
    const outcome = this.#endOutcome(live, step);
    if (live.journal !== null) recordEnd(live, outcome, this.signature);
    this.#state = ENDED;
    if (this.isStartFunction) live.startFunction = step === 'returned' ? 'finished' : 'trapped';
    if (outcome === null) receiver.failed(driver.error);
    else receiver.ended(outcome);
    return undefined;
  }

  /** The `interrupted` state at the pause `live`'s driver reports. */
  #pausedState(live: LiveInstance): CallState & { kind: 'interrupted' } {
    const driver = live.driver;
    const imported = live.components.imports[driver.pausedImport]!;
    const types = imported.signature.params;
    const raw = driver.pausedArgs;
    const params: WasmValue[] = new Array(types.length);
    for (let i = 0; i < types.length; i++) params[i] = fromEngine(types[i]!, raw[i]);
    // One `interrupted` state per machine, filled at each pause: the state of every pause, at
    // no allocation of its own (a machine is in one state at a time).
    const paused = this.#interrupted;
    paused.imported = imported;
    paused.params = params;
    return paused;
  }

  /**
   * The outcome of a step that ended the call; `null` for a failure that is not the guest's
   * (a bug of the backend's own code), which the receiver gets as it is.
   */
  #endOutcome(live: LiveInstance, step: 'returned' | 'threw'): EndOutcome | null {
    const driver = live.driver;
    if (step === 'returned') {
      const type = this.signature.result;
      return { type: 'finished', value: type === null ? null : fromEngine(type, driver.result) };
    }
    let trap = trapFromError(driver.error, driver.throwContext, driver.bufferSize);
    if (trap === null) {
      // Where the backend's own code unwinds the stack (Asyncify), anything that is not a guest
      // fault is a bug in this library: let it surface. Where the engine suspends and resumes
      // stacks (JSPI), the engine itself may fail to (e.g. a stack it cannot allocate): that
      // ends the call, as a trap, like any fault.
      if (!live.backend.holdsEngineStacks) return null;
      trap = engineFailure(driver.error);
    }
    const error = driver.error;
    attachFrames(trap, () => guestFrames(error, live.components));
    return { type: 'trapped', trap };
  }

  /**
   * The paused call as bytes: everything needed to go on from this interrupt (the memory, every
   * global, the paused stack, the call and the pending import; see `docs/architecture.md`),
   * named after the module, its options and this library's version, and checksummed.
   * {@link VirtualMachine.restore} makes a machine paused here again, in this process, another
   * Worker or another process. The machine itself is unchanged and may go on.
   *
   * Only while paused at an interrupt (else {@link UsageError} `NotInterrupted`, or
   * `StepInProgress`), and on a backend whose paused stack is data (Asyncify; on JSPI
   * `UnsupportedOnBackend`: journal the call instead). Throws {@link SnapshotError}
   * `Unsupported` for a module whose tables can change (bulk memory and reference types'
   * table instructions, which no snapshot carries).
   */
  snapshot(): Uint8Array {
    const live = this.owner.live;
    const callee = this.#calleeWhilePaused('snapshot');
    refuseUncopyable(live, 'snapshot');
    const call = codecs().capturePausedCall(live, callee, true, 'snapshot');
    return codecs().encodeSnapshot(live.components, call);
  }

  /**
   * A second machine paused at the same interrupt, on an instance of its own: the two are
   * independent from now on (answer the same interrupt two ways and compare). Copies the memory
   * once. The instance is made synchronously, which Chromium refuses on a page's main thread for
   * a module over 8 MB ({@link UsageError} `SynchronousInstantiationRefused`): use
   * {@link forkAsync} there. Throws as {@link snapshot} does.
   */
  fork(): VirtualMachine {
    const live = this.owner.live;
    const callee = this.#calleeWhilePaused('fork');
    refuseUncopyable(live, 'fork');
    const call = codecs().capturePausedCall(live, callee, false, 'fork');
    const copy = LiveInstance.create(live.components, live.backend);
    codecs().applyPausedCall(copy, call);
    return VirtualMachine.#paused(copy, call.callee);
  }

  /**
   * {@link fork}, with the instance made by `WebAssembly.instantiate` (every engine allows it on
   * every thread). On JSPI, where a paused stack cannot be copied, a journaled machine
   * (`VmConfig.journal`) is forked by replaying its journal on a new instance.
   */
  async forkAsync(): Promise<VirtualMachine> {
    const live = this.owner.live;
    if (!live.backend.snapshots && live.journal !== null) {
      this.#calleeWhilePaused('forkAsync');
      const journal = this.journal();
      return VirtualMachine.replay(VirtualMachinePrototype._fromInstance(await LiveInstance.instantiate(live.components, live.backend)), journal);
    }
    const callee = this.#calleeWhilePaused('forkAsync');
    refuseUncopyable(live, 'forkAsync');
    const call = codecs().capturePausedCall(live, callee, true, 'forkAsync');
    const copy = await LiveInstance.instantiate(live.components, live.backend);
    codecs().applyPausedCall(copy, call);
    return VirtualMachine.#paused(copy, call.callee);
  }

  /**
   * With `VmConfig.journal`: what the host did to this instance since it was fresh, as bytes
   * (every call started, every answer, every write and growth of the memory the host made while
   * no guest code ran; see `docs/architecture.md`), named after the module, its options and
   * this library's version, and checksummed. {@link VirtualMachine.replay} runs it again up to
   * this point, on either backend. In any state but a step in progress
   * ({@link UsageError} `StepInProgress`); without the option, `NotJournaled`.
   */
  journal(): Uint8Array {
    const live = this.owner.live;
    if (this.#state.kind === 'running') this.#refuseStepInProgress('journal');
    if (live.journal === null) {
      throw new UsageError('NotJournaled', 'journal(): the prototype was created without journal: true, so nothing was recorded');
    }
    return codecs().encodeJournal(live.components, live.journal.events());
  }

  /**
   * A machine paused where the snapshot `bytes` (from {@link snapshot}) was taken: same import,
   * same `id` and `params`, same memory, globals and paused stack; resuming it with the same
   * answers gives the same outcomes as the original. `prototype` must be of the same module
   * with the same options and imports resolved the same way (ids included); it is consumed, and
   * its instance is reused (a new one is made if its memory is larger than the snapshot's).
   *
   * Rejects with {@link SnapshotError} before consuming anything: `Corrupted` (not a snapshot,
   * truncated, bit flips, a malformed or inconsistent content), `VersionMismatch`,
   * `ModuleMismatch`, `OptionsMismatch`; with {@link UsageError} `UnsupportedOnBackend` for a
   * JSPI prototype. A refused snapshot is never run.
   */
  static async restore(prototype: VirtualMachinePrototype, bytes: Uint8Array): Promise<VirtualMachine> {
    if (!(prototype instanceof VirtualMachinePrototype)) {
      throw new UsageError('InvalidArgument', 'VirtualMachine.restore: the first argument must be a VirtualMachinePrototype');
    }
    let live = prototype._live();
    if (!live.backend.snapshots) {
      throw new UsageError(
        'UnsupportedOnBackend',
        `VirtualMachine.restore: the prototype runs on the ${live.backend.label} backend, whose paused stacks cannot be restored; ` +
          'replay a journal instead (VmConfig.journal, VirtualMachine.replay)',
      );
    }
    await loadCodecs();
    live = prototype._live();
    const call = codecs().decodeSnapshot(bytes, live.components);
    const reason = codecs().whyNotApplicable(live, call);
    if (reason !== null) throw new SnapshotError('Corrupted', `the snapshot does not fit the module: ${reason}`);
    prototype._take('VirtualMachine.restore');
    if (codecs().needsNewInstance(live, call)) live = await LiveInstance.instantiate(live.components, live.backend);
    codecs().applyPausedCall(live, call);
    return VirtualMachine.#paused(live, call.callee);
  }

  /**
   * Runs the journal `bytes` (from {@link journal}) again on a fresh instance of `prototype`,
   * answering every interrupt from it, and returns the machine where the journal ends: paused
   * at the same interrupt (or ended, or not yet run, as the original was). Works on either
   * backend, whichever made the journal; on JSPI this is how a paused call moves. `prototype`
   * must be of the same module, with the same options, imports resolved the same way, and
   * `journal: true`; it is consumed.
   *
   * Rejects with {@link SnapshotError}: before consuming anything, `Corrupted`,
   * `VersionMismatch`, `ModuleMismatch`, `OptionsMismatch`; during the replay,
   * `JournalMismatch` when the guest does something else than the journal says (another import,
   * other arguments, another end), with the `step` it happened at. With {@link UsageError}
   * `NotJournaled` for a prototype created without `journal: true`.
   */
  static async replay(prototype: VirtualMachinePrototype, bytes: Uint8Array): Promise<VirtualMachine> {
    if (!(prototype instanceof VirtualMachinePrototype)) {
      throw new UsageError('InvalidArgument', 'VirtualMachine.replay: the first argument must be a VirtualMachinePrototype');
    }
    const identity = prototype._live().components.journal;
    if (identity === undefined || identity === null) {
      throw new UsageError('NotJournaled', 'VirtualMachine.replay: the prototype must be created with journal: true (the journal names its module by digest)');
    }
    await loadCodecs();
    let live = prototype._live();
    const events = codecs().decodeJournal(bytes, live.components, identity);
    prototype._take('VirtualMachine.replay');
    if (!live.reset()) live = await LiveInstance.instantiate(live.components, live.backend);
    return codecs().replayEvents(events, Prepare._fromInstance(live), (vm) => {
      try {
        vm.intoPrototype();
      } catch {
        // Abandoning is best effort: the machine is dropped either way.
      }
    }) as Promise<VirtualMachine>;
  }

  /** @internal The index of the import the call is paused at (in the function index space), or `null`. */
  _pausedImportIndex(): number | null {
    const live = this.owner.live;
    return this.#state.kind === 'interrupted' ? live.driver.pausedImport : null;
  }

  /** The call, for a snapshot or a fork; throws unless paused at an interrupt. */
  #calleeWhilePaused(what: string): PausedCallee {
    const state = this.#state;
    if (state.kind === 'running') this.#refuseStepInProgress(what);
    if (state.kind !== 'interrupted') {
      throw new UsageError('NotInterrupted', `${what}() needs the call to be paused at an interrupt; it is ${state.kind === 'ready' ? 'not started yet' : 'over'}`);
    }
    return { functionName: this.functionName, signature: this.signature, args: this.args };
  }

  /**
   * After the call finished or trapped: a {@link Prepare} on the same instance, with the memory
   * and globals as the call left them, for the next call. Throws {@link UsageError}
   * `CallInProgress` before that. Consumes this machine.
   */
  intoPrepare(): Prepare {
    this.owner.live;
    const state = this.#state;
    if (state.kind === 'running') this.#refuseStepInProgress('intoPrepare');
    if (state.kind !== 'ended') {
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
    const live = this.owner.live;
    const state = this.#state;
    if (state.kind === 'running') this.#refuseStepInProgress('intoPrototype');
    const paused = state.kind === 'interrupted' || state.kind === 'outOfFuel';
    return VirtualMachinePrototype._renew(live, paused, () => this.#take('intoPrototype'));
  }

  /**
   * {@link intoPrototype}, making a new instance (when the used one cannot be reset) with
   * `WebAssembly.instantiate`, which every engine allows on every thread: the form for code
   * that may run on a browser's main thread. Consumes this machine at once (a paused call is
   * abandoned then); the promise settles with the prototype.
   */
  async intoPrototypeAsync(): Promise<VirtualMachinePrototype> {
    this.owner.live;
    const state = this.#state;
    if (state.kind === 'running') this.#refuseStepInProgress('intoPrototypeAsync');
    const live = this.#take('intoPrototypeAsync');
    if (state.kind === 'interrupted' || state.kind === 'outOfFuel') live.driver.abandon();
    return VirtualMachinePrototype._renewAsync(live);
  }

  /**
   * Adds `amount` (a `bigint`, at least 0) to the call's fuel (`VmConfig.fuel`): after an
   * `outOfFuel` outcome, add enough for the guest's next block and resume with `run(null)` or
   * `runAsync(null)`; before the first run or while interrupted, it raises the budget. Throws
   * {@link UsageError}: `FuelNotEnabled` without `VmConfig.fuel`, `InvalidArgument` for a bad
   * amount (or one that would leave more than 2^63 - 1), `StepInProgress` while a step runs (a
   * refill would then land at a point that depends on the engine's scheduling).
   */
  addFuel(amount: bigint): void {
    this.owner.live;
    const fuel = this.#fuel;
    if (fuel === null) throw fuelNotEnabled('addFuel');
    if (this.#state.kind === 'running') this.#refuseStepInProgress('addFuel');
    fuel.add(amount);
  }

  /**
   * The fuel the call has consumed since it started (`VmConfig.fuel`): the documented cost of
   * every fuel block it entered (a block is paid in full when it is entered) and of its bulk
   * operations, the same on every backend and engine. Throws {@link UsageError}
   * `FuelNotEnabled` without `VmConfig.fuel`.
   */
  get fuelConsumed(): bigint {
    const consumed = this._fuelConsumedOrNull();
    if (consumed === null) throw fuelNotEnabled('fuelConsumed');
    return consumed;
  }

  /**
   * @internal {@link fuelConsumed}, or `null` without `VmConfig.fuel` instead of a throw: for the
   * Substrate layer, which reports it after every call (an error made per call cost it about
   * 5 µs, a tenth of a short call).
   */
  _fuelConsumedOrNull(): bigint | null {
    this.owner.live;
    return this.#fuel === null ? null : this.#fuel.consumed;
  }

  /** Hands the instance over to a transition; the finalizer has nothing left to abandon. */
  #take(by: string): LiveInstance {
    const live = this.owner.take(by);
    droppedWhilePaused.unregister(this);
    return live;
  }
}

/**
 * Checks the host's answer to the paused import `imported` and returns it in the engine's
 * representation; throws {@link RunError} for a wrong one.
 */
function checkResumeValue(imported: ResolvedImport, value: WasmValue | null): unknown {
  const expected = imported.signature.result;
  // What every correct host passes, checked without allocating: it is on the path of every
  // pause. Anything else (an unsigned i32, a bad value) takes the full check below.
  if (value === null) {
    if (expected === null) return undefined;
  } else if (typeof value === 'object' && value.type === expected && expected === 'i32') {
    const raw = value.value;
    if (typeof raw === 'number' && (raw | 0) === raw) return raw;
  }
  const what = `the interrupted import (id ${imported.id})`;
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

/** Records in `live`'s journal how the call ended (`null`: the backend's own failure). */
function recordEnd(live: LiveInstance, outcome: EndOutcome | null, signature: Signature): void {
  const journal = live.journal!;
  if (outcome === null) journal.ended(EndKind.Failed, null, undefined, '');
  else if (outcome.type === 'trapped') journal.ended(EndKind.Trapped, null, undefined, outcome.trap.kind);
  else journal.ended(EndKind.Finished, signature.result, outcome.value === null ? undefined : outcome.value.value, '');
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

/**
 * Refuses a snapshot or a fork on a backend whose paused stack belongs to the engine (JSPI),
 * with {@link UsageError} `UnsupportedOnBackend` naming what to do instead.
 */
function refuseUncopyable(live: LiveInstance, what: string): void {
  if (live.backend.snapshots) return;
  throw new UsageError(
    'UnsupportedOnBackend',
    `${what}: this machine runs on the ${live.backend.label} backend, whose paused stack belongs to the engine and cannot be ` +
      "copied; create the prototype with journal: true and move the call with vm.journal() and VirtualMachine.replay(), or use backend 'asyncify'",
  );
}
