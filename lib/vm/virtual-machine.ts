/**
 * A call in progress: the state that runs guest code.
 *
 * `run(null)` starts the call. It returns when the guest calls an import (`interrupted`, with
 * the import's id and arguments), returns (`finished`), or faults (`trapped`). After
 * `interrupted`, the host does whatever the import means (possibly asynchronously, possibly
 * reading and writing the guest's memory) and calls `run(value)` with the import's result; the
 * guest continues exactly as if the import had returned that value. A guest cannot observe that
 * it was paused: its memory, its globals and its `memory.size` are untouched by the pause.
 *
 * ```ts
 * let outcome = vm.run(null);
 * while (outcome.type === 'interrupted') {
 *   outcome = vm.run(await host(outcome.id, outcome.params));
 * }
 * ```
 *
 * @module
 */

import { RunError, type Trap, UsageError } from '../base/errors.js';
import type { LiveInstance } from './live-instance.js';
import { MemoryAccess } from './memory-access.js';
import { Ownership } from './ownership.js';
import { Prepare } from './prepare.js';
import { VirtualMachinePrototype } from './prototype.js';
import { trapFromError } from './traps.js';
import type { Step } from './pause/call-driver.js';
import { type Signature, type ValueType, type WasmValue, describeBadValue, describeValue, fromEngine, isValueType } from '../base/values.js';

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

  private constructor(
    live: LiveInstance,
    private readonly fn: (...args: unknown[]) => unknown,
    private readonly args: readonly unknown[],
    private readonly signature: Signature,
  ) {
    super(new Ownership(live, 'VirtualMachine'));
  }

  /** @internal */
  static _start(
    live: LiveInstance,
    fn: (...args: unknown[]) => unknown,
    args: readonly unknown[],
    signature: Signature,
  ): VirtualMachine {
    return new VirtualMachine(live, fn, args, signature);
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
    if (this.#undelivered !== null) return this.#report(live, this.#undelivered);
    const driver = live.driver;
    let step: Step;
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
        step = driver.call(this.fn, this.args);
        break;
      case 'interrupted':
        step = driver.resume(this.#checkResumeValue(value));
        break;
    }
    // From here on the step has happened: record it before building anything, so that a
    // stack overflow while building the outcome leaves it to be reported by the next run().
    this.#undelivered = step;
    return this.#report(live, step);
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
    } else {
      this.#state = 'ended';
      if (step === 'returned') {
        const type = this.signature.result;
        outcome = { type: 'finished', value: type === null ? null : fromEngine(type, driver.result) };
      } else {
        const trap = trapFromError(driver.error, driver.throwContext, driver.bufferSize);
        // Anything that is not a guest fault is a bug in this library: let it surface.
        if (trap === null) {
          this.#undelivered = null;
          throw driver.error;
        }
        outcome = { type: 'trapped', trap };
      }
    }
    this.#undelivered = null;
    return outcome;
  }

  /** Checks the host's answer to the paused import and returns it in the engine's representation. */
  #checkResumeValue(value: WasmValue | null): unknown {
    const expected = this.#expected;
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
    if (this.owner.live && this.#state !== 'ended') {
      throw new UsageError(
        'CallInProgress',
        'intoPrepare() needs the call to have finished or trapped; use intoPrototype() to abandon it',
      );
    }
    return Prepare._fromInstance(this.owner.take('intoPrepare'));
  }

  /** Abandons the call (in any state) and returns a prototype with a fresh instance. Consumes this machine. */
  intoPrototype(): VirtualMachinePrototype {
    return VirtualMachinePrototype._fresh(this.owner.take('intoPrototype').components);
  }
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
