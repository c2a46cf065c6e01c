/**
 * One module instance of a script, driven through the public state machine: every invocation is
 * `prepare` → `start(field, args)` → `runAsync(null)` until the call ends, then `intoPrepare()`
 * so the next invocation runs on the same instance (memory and globals kept), as the spec
 * requires. The harness runs the whole suite once per backend (Asyncify and JSPI), each held to
 * the scripts' expected results (what a plain engine gives).
 *
 * @module
 */

import {
  type AsyncifyStack,
  type Backend,
  NewError,
  type NewErrorKind,
  type Prepare,
  StartError,
  type Trap,
  type VirtualMachine,
  VirtualMachinePrototype,
  type VmConfig,
  type WasmValue,
} from '../../lib/index.js';
import { answerInterrupt, spectestSymbols } from './spectest-host.js';

/** How the harness configures every VM, beyond what {@link vmConfig} fixes. */
export interface InstanceOptions {
  /** The feature set; the suite's is chosen, with the evidence, in `feature-set.ts`. */
  readonly features: NonNullable<VmConfig['features']>;
  /** The backend every module of the run is created on. */
  readonly backend: Backend;
  /** On Asyncify, where the paused stack is kept (`VmConfig.asyncifyStack`; default the engine's choice). */
  readonly asyncifyStack?: AsyncifyStack;
  /**
   * Link function imports to the exports of registered modules, each call crossing as a pause
   * of the caller answered by running the callee to its end (see `script-runner.ts`). Off for
   * the MVP suite, whose skip counts predate it.
   */
  readonly linkFunctions?: boolean;
  /**
   * Accept start functions (`VmConfig.startFunction`): every module's start function is run
   * through the state machine before its first command, as the spec runs it at instantiation.
   * Off for the MVP suite, whose skip counts predate it.
   */
  readonly startFunctions?: boolean;
  /**
   * Fuel, the logical stack limit, canonical NaNs (`VmConfig.fuel`, `maxStackHeight`,
   * `canonicalizeNaNs`): every module is created with them. With fuel, every call starts with
   * none and is refilled each time it runs out (every call pauses out of fuel at once); with
   * the stack limit, `assert_exhaustion` expects the limit's trap (see `script-runner.ts`); with
   * canonical NaNs, a NaN result the script leaves to the engine must be exactly the canonical one.
   */
  readonly bounds?: Pick<VmConfig, 'fuel' | 'maxStackHeight' | 'canonicalizeNaNs'>;
}

/** Thrown by {@link SpecInstance.create} when the module's start function trapped: the spec's uninstantiable module. */
export class StartFunctionTrapped extends Error {
  override readonly name = 'StartFunctionTrapped';
  constructor(readonly trap: Trap) {
    super(`the start function trapped: ${trap.kind}: ${trap.message}`);
  }
}

/** The host every instance of a script shares: how imports resolve and how interrupts are answered. */
export interface SpecHost {
  readonly symbols: VmConfig['symbols'];
  /**
   * What to resume the paused guest with after it called the import `id` with `params`: a
   * value (or `null`), or a trap that ends the whole call (a linked callee trapped).
   */
  answer(id: number, params: readonly WasmValue[]): Promise<{ readonly value: WasmValue | null } | { readonly trap: Trap }>;
}

/** The host of a script without linking: the spectest prints. */
export const SPECTEST_HOST: SpecHost = {
  symbols: spectestSymbols,
  answer: async (id, params) => ({ value: answerInterrupt(id, params) }),
};

/**
 * What a call did with its fuel (with `bounds.fuel`): the fuel consumed at its end
 * (`VirtualMachine.fuelConsumed`) and how many times it ran out on the way.
 */
export interface CallFuelUse {
  readonly consumed: bigint;
  readonly outOfFuel: number;
}

/** The end of an invocation; `fuel` is `null` without `bounds.fuel`, or for a call abandoned by a linked callee's trap. */
export type InvokeOutcome =
  | { readonly type: 'finished'; readonly value: WasmValue | null; readonly interrupts: number; readonly fuel: CallFuelUse | null }
  | {
      readonly type: 'trapped';
      readonly trap: Trap;
      readonly interrupts: number;
      readonly fuel: CallFuelUse | null;
      /**
       * The trap came from a linked callee: the caller's paused call could only be abandoned,
       * so its instance was made fresh and no longer holds what earlier commands did to it.
       */
      readonly reset: boolean;
    };

/**
 * A guard against a guest that keeps calling imports forever; the suite's scripts make a handful
 * of prints per invocation at most.
 */
const MAX_INTERRUPTS = 1_000_000;
/** What a call out of fuel is given each time, with the suites run under `fuel` (see `run-suite.ts`). */
const FUEL_REFILL = 1_000_000n;

/** The config a module of the suite is created with: the spec host's imports, floats allowed, memory optional. */
export function vmConfig(moduleBytes: Uint8Array, options: InstanceOptions, host: SpecHost = SPECTEST_HOST): VmConfig {
  return {
    moduleBytes,
    symbols: host.symbols,
    // The suite's functions take and return floats everywhere.
    floats: true,
    // Most of the suite's modules have no memory, or one not exported as "memory".
    requireMemory: false,
    features: options.features,
    backend: options.backend,
    ...(options.asyncifyStack === undefined ? {} : { asyncifyStack: options.asyncifyStack }),
    startFunction: options.startFunctions === true,
    ...(options.bounds ?? {}),
  };
}

/** The `kind` of a {@link NewError}, or `null` for anything else (a refusal must be a `NewError`: anything else is a VM bug). */
export function newErrorKind(error: unknown): NewErrorKind | null {
  return error instanceof NewError ? error.kind : null;
}

/** A live instance of a module; see the module documentation. */
export class SpecInstance {
  /** Interrupts answered while the start function ran. */
  startInterrupts = 0;

  private constructor(
    private prepare: Prepare,
    private readonly host: SpecHost,
    /** Whether the module meters fuel (`bounds.fuel`). */
    private readonly fuel: boolean,
  ) {}

  /**
   * Creates the VM for `moduleBytes` and runs its start function, if it has one; rejects with
   * whatever `VirtualMachinePrototype.create` rejects with, or {@link StartFunctionTrapped}.
   */
  static async create(moduleBytes: Uint8Array, options: InstanceOptions, host: SpecHost = SPECTEST_HOST): Promise<SpecInstance> {
    const prototype = await VirtualMachinePrototype.create(vmConfig(moduleBytes, options, host));
    const instance = new SpecInstance(prototype.prepare(), host, options.bounds?.fuel === true);
    if (instance.prepare.startFunctionPending) {
      const outcome = await instance.run(instance.prepare.callStartFunction());
      instance.startInterrupts = outcome.interrupts;
      if (outcome.type === 'trapped') throw new StartFunctionTrapped(outcome.trap);
    }
    return instance;
  }

  /**
   * Calls the export `field` with `args` and runs it to its end, answering every interrupt
   * through the host (a `spectest` print, or a linked function). Throws (a harness-level failure) if `start` refuses the call
   * or the VM misbehaves; the instance stays usable either way.
   */
  async invoke(field: string, args: readonly WasmValue[]): Promise<InvokeOutcome> {
    let vm;
    try {
      vm = this.prepare.start(field, args);
    } catch (e) {
      // The StartError hands the same instance back: keep it for the next command.
      if (e instanceof StartError) this.prepare = e.prototype.prepare();
      throw e;
    }
    return this.run(vm);
  }

  /** Runs the call `vm` of this instance to its end; see {@link invoke}. */
  private async run(vm: VirtualMachine): Promise<InvokeOutcome> {
    try {
      let outcome = await vm.runAsync(null);
      let interrupts = 0;
      let outOfFuel = 0;
      while (outcome.type === 'interrupted' || outcome.type === 'outOfFuel') {
        if (++interrupts > MAX_INTERRUPTS) throw new Error(`more than ${MAX_INTERRUPTS} interrupts in one call`);
        if (outcome.type === 'outOfFuel') {
          outOfFuel++;
          // With fuel on (the suites run with each option): refilled, as a metered host would.
          vm.addFuel(FUEL_REFILL);
          outcome = await vm.runAsync(null);
          continue;
        }
        const answer = await this.host.answer(outcome.id, outcome.params);
        if ('trap' in answer) {
          // A paused call cannot be made to trap: it is abandoned, which costs its state.
          this.prepare = vm.intoPrototype().prepare();
          return { type: 'trapped', trap: answer.trap, interrupts, reset: true, fuel: null };
        }
        outcome = await vm.runAsync(answer.value);
      }
      const fuel = this.fuel ? { consumed: vm.fuelConsumed, outOfFuel } : null;
      this.prepare = vm.intoPrepare();
      return outcome.type === 'finished'
        ? { type: 'finished', value: outcome.value, interrupts, fuel }
        : { type: 'trapped', trap: outcome.trap, interrupts, reset: false, fuel };
    } catch (e) {
      // The call cannot be finished: abandoning it costs the instance's state (a fresh instance
      // replaces it), which later commands on this module would notice; the failure is reported.
      this.prepare = vm.intoPrototype().prepare();
      throw e;
    }
  }

  /**
   * The value of the exported i32 global `field`, as an unsigned number.
   *
   * The public API reads globals on a prototype only (`globalValue`), and a prototype made with
   * `intoPrototype()` would be a *fresh* instance, losing what earlier invocations did to the
   * global. But `start()` on an export that is not a function throws a `StartError` whose
   * `prototype` is documented to hold the same instance: that is the way to a prototype of
   * this very instance. Throws `GlobalValueError` (e.g. `Invalid` for a non-i32 global).
   */
  getGlobal(field: string): number {
    let refusal: StartError;
    try {
      const vm = this.prepare.start(field, []);
      // A function: nothing ran, but a call that never ran can only be abandoned, which costs
      // the instance's state. The script asked for something impossible; say so.
      this.prepare = vm.intoPrototype().prepare();
      throw new Error(`"${field}" is a function, not a global (the instance was reset)`);
    } catch (e) {
      if (!(e instanceof StartError)) throw e;
      refusal = e;
    }
    const prototype = refusal.prototype;
    try {
      if (refusal.kind !== 'NotAFunction') {
        throw new Error(`start("${field}") refused with ${refusal.kind}, not NotAFunction: ${refusal.message}`);
      }
      return prototype.globalValue(field);
    } finally {
      this.prepare = prototype.prepare();
    }
  }
}
