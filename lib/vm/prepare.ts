/**
 * The state between a prototype and a running call: the host may read, write and grow the
 * guest's memory (typically to place the call's input), then start the call.
 *
 * @module
 */

import { type StartErrorKind, UsageError, VmError } from '../base/errors.js';
import type { LiveInstance } from './live-instance.js';
import { MemoryAccess } from './memory-access.js';
import { Ownership } from './ownership.js';
import { VirtualMachinePrototype } from './prototype.js';
import { type WasmValue, describeBadValue, describeValue, formatSignature, toSignature } from '../base/values.js';
import { VirtualMachine } from './virtual-machine.js';
import { type StartOptions, startBudget } from './fuel.js';

/**
 * Thrown by {@link Prepare.start}. The `Prepare` is consumed either way; the error gives back
 * the same instance as a prototype (memory written through the `Prepare` is kept), so the
 * caller can try again.
 */
export class StartError extends VmError<StartErrorKind> {
  override readonly name = 'StartError';
  constructor(
    kind: StartErrorKind,
    message: string,
    /** The prototype the failed `Prepare` was made from, ready to be prepared again. */
    readonly prototype: VirtualMachinePrototype,
  ) {
    super(kind, message);
  }
}

/** A module instance ready to start a call; see {@link VirtualMachinePrototype} for the state machine. */
export class Prepare extends MemoryAccess {
  private constructor(live: LiveInstance) {
    super(new Ownership(live, 'Prepare'));
  }

  /** @internal */
  static _fromInstance(live: LiveInstance): Prepare {
    return new Prepare(live);
  }

  /**
   * Starts a call of the exported function `functionName` with `params`; nothing runs until the
   * first {@link VirtualMachine.run}. Consumes this `Prepare`.
   *
   * Throws {@link StartError}: `FunctionNotFound`, `NotAFunction`, `SignatureNotSupported` (f32 or
   * f64 without `floats`, several results, references), `InvalidParameters` (count, types or
   * values), `StartFunctionPending` (the module's start function has not finished on this
   * instance, see {@link callStartFunction}). The error's `prototype`
   * holds this same instance, memory included, so the caller can prepare again.
   *
   * `options.fuel` is the call's fuel budget, for a prototype created with `VmConfig.fuel`
   * (default `0n`: the first run reports `outOfFuel`). A malformed `options`, or a budget for a
   * prototype without fuel, is a {@link UsageError} (`InvalidArgument`, `FuelNotEnabled`) that
   * consumes nothing. The call's counters (fuel, logical stack height) are set now.
   */
  start(functionName: string, params: readonly WasmValue[], options?: StartOptions): VirtualMachine {
    if (typeof functionName !== 'string') {
      throw new UsageError('InvalidArgument', `start: the function name must be a string, got ${typeof functionName}`);
    }
    if (!Array.isArray(params)) {
      throw new UsageError('InvalidArgument', 'start: the parameters must be an array of WasmValue');
    }
    const budget = startBudget(this.owner.live, options, 'start');
    const live = this.owner.take('start');
    const fail = (kind: StartError['kind'], message: string): never => {
      throw new StartError(kind, message, VirtualMachinePrototype._fromInstance(live));
    };
    if (live.startFunction === 'pending') {
      return fail(
        'StartFunctionPending',
        "the module's start function has not run on this instance yet: call callStartFunction() and run it to its end first",
      );
    }
    if (live.startFunction === 'trapped') {
      return fail(
        'StartFunctionPending',
        "the module's start function trapped on this instance, which can therefore never be used (as an instantiation " +
          'that failed): intoPrototype() gives a fresh one',
      );
    }
    const name = JSON.stringify(functionName);
    const info = live.components.exports.get(functionName);
    if (info === undefined) return fail('FunctionNotFound', `no export is named ${name}`);
    if (info.kind !== 'function') return fail('NotAFunction', `the export ${name} is a ${info.kind}, not a function`);
    const signature = toSignature(info.signature!, live.components.floats);
    if (typeof signature === 'string') {
      return fail('SignatureNotSupported', `the signature of ${name} cannot cross the boundary: ${signature}`);
    }
    if (params.length !== signature.params.length) {
      return fail(
        'InvalidParameters',
        `${name} takes ${signature.params.length} parameters ${formatSignature(signature)}, got ${params.length}`,
      );
    }
    const args: unknown[] = [];
    for (let i = 0; i < params.length; i++) {
      const param = params[i] as WasmValue | null | undefined;
      const expected = signature.params[i]!;
      if (param?.type !== expected) {
        return fail(
          'InvalidParameters',
          `parameter ${i} of ${name} must be an ${expected} ${formatSignature(signature)}, got ${describeValue(param)}`,
        );
      }
      const reason = describeBadValue(expected, param.value);
      if (reason !== null) return fail('InvalidParameters', `parameter ${i} of ${name}: ${reason}`);
      args.push(param.value);
    }
    return VirtualMachine._start(live, live.exportValue(functionName, info) as (...a: unknown[]) => unknown, args, signature, false, functionName, budget);
  }

  /**
   * Whether the module's start function (`VmConfig.startFunction`) has yet to run on this
   * instance: then {@link callStartFunction} must run it to its end before {@link start} may
   * call an export. `false` for a module without one.
   */
  get startFunctionPending(): boolean {
    return this.owner.live.startFunction === 'pending';
  }

  /**
   * Starts the call of the module's start function (`VmConfig.startFunction`), which every fresh
   * instance of a module with one must run first: it runs through the state machine like any
   * call (pausing at its imports, `finished` with no value or `trapped`), never hidden inside
   * instantiation. Once it finished, `intoPrepare()` gives a `Prepare` whose {@link start} may
   * call exports; if it trapped, the instance cannot be used (as a failed instantiation):
   * `intoPrototype()` gives a fresh one, whose start function is pending again. Consumes this
   * `Prepare`.
   *
   * Throws {@link StartError} `NoStartFunctionPending` (with the instance as `prototype`) if
   * there is no start function left to run on this instance. `options.fuel` as for {@link start}.
   */
  callStartFunction(options?: StartOptions): VirtualMachine {
    const budget = startBudget(this.owner.live, options, 'callStartFunction');
    const live = this.owner.take('callStartFunction');
    if (live.startFunction !== 'pending') {
      throw new StartError(
        'NoStartFunctionPending',
        live.startFunction === 'none'
          ? 'the module has no start function'
          : `the start function already ${live.startFunction === 'finished' ? 'ran' : 'trapped'} on this instance`,
        VirtualMachinePrototype._fromInstance(live),
      );
    }
    return VirtualMachine._start(live, live.startFunctionExport(), [], { params: [], result: null }, true, null, budget);
  }

  /**
   * Returns a prototype whose instance is fresh (memory and globals as after instantiation):
   * this instance put back in that state where it can be, else a new one (see
   * `LiveInstance.reset`; the guest cannot tell the difference). Consumes this `Prepare`.
   *
   * A new instance is made synchronously; where the engine refuses that (Chromium's main
   * thread, modules over 8 MB) this throws {@link UsageError} `SynchronousInstantiationRefused`
   * and consumes nothing: use {@link intoPrototypeAsync} there.
   */
  intoPrototype(): VirtualMachinePrototype {
    return VirtualMachinePrototype._renew(this.owner.live, false, () => this.owner.take('intoPrototype'));
  }

  /**
   * {@link intoPrototype}, making a new instance (when the used one cannot be reset) with
   * `WebAssembly.instantiate`, which every engine allows on every thread. Consumes this
   * `Prepare` at once; the promise settles with the prototype.
   */
  async intoPrototypeAsync(): Promise<VirtualMachinePrototype> {
    return VirtualMachinePrototype._renewAsync(this.owner.take('intoPrototypeAsync'));
  }
}
