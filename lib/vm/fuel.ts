/**
 * The counters of one call: its fuel (`VmConfig.fuel`) and its logical stack height
 * (`VmConfig.maxStackHeight`).
 *
 * Both are globals the code rewrite appended to the module (`transform/fuel-metering.ts`,
 * `transform/stack-limit.ts`) and exported under names of `transform/abi.ts`: they live outside
 * the guest's memory, and the guest cannot name them (they come after its own globals, which its
 * validated code alone can index, and `globalValue()` looks exports up by the guest's own names).
 *
 * **When they are set.** At every call *start* (`Prepare.start`, `Prepare.callStartFunction`):
 * the fuel counter to the call's budget, the height to 0. Never on a resume: a paused call goes
 * on with the fuel it had left and the height of its paused frames (an Asyncify unwind and
 * rewind leave globals alone, and the code that moves them runs once per call either way; see
 * `stack-limit.ts`).
 *
 * **Fuel consumed.** The counter holds the fuel left; the host's view is `given - left`, where
 * `given` is the budget plus everything `addFuel` added. A block is paid in full when it is
 * entered, so at a pause, a trap or the end this is exactly the documented consumption,
 * whatever the backend and however often the call ran out on the way.
 *
 * **Out of fuel.** A block the counter cannot pay calls the fuel import in a loop (the guest's
 * `$out_of_fuel`, see `fuel-metering.ts`) until the counter holds the block's cost: each call is
 * a pause that the machine reports as `{ type: 'outOfFuel' }`. Resumed without enough fuel
 * added, the guest asks again at once: another `outOfFuel`, at the same place.
 *
 * @module
 */

import { UsageError } from '../base/errors.js';
import { MAX_FUEL } from '../base/fuel-limit.js';
import { describeValue } from '../base/values.js';
import type { LiveInstance } from './live-instance.js';

/** Options of a call's start (`Prepare.start`, `Prepare.callStartFunction`). */
export interface StartOptions {
  /**
   * The call's fuel budget, with `VmConfig.fuel` (default `0n`: the first `run` reports
   * `outOfFuel` at once). At most 2^63 - 1.
   */
  readonly fuel?: bigint;
}

/**
 * The fuel budget `options` give a call of `live`, checked before anything is consumed: `null`
 * for a module without fuel. Throws {@link UsageError}: `InvalidArgument` for a malformed
 * `options` or amount, `FuelNotEnabled` for a budget given to a module without fuel.
 */
export function startBudget(live: LiveInstance, options: StartOptions | undefined, what: string): bigint | null {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new UsageError('InvalidArgument', `${what}: the options must be an object, got ${describeValue(options)}`);
  }
  const fuel = options?.fuel;
  if (live.fuelCounter === null) {
    if (fuel !== undefined) {
      throw new UsageError('FuelNotEnabled', `${what}: a fuel budget needs a prototype created with VmConfig.fuel`);
    }
    return null;
  }
  return fuel === undefined ? 0n : checkAmount(fuel, `${what}: fuel`);
}

/** The fuel of one call; see the module documentation. */
export class CallFuel {
  /** The budget plus every amount added since. */
  #given: bigint;

  constructor(
    private readonly counter: WebAssembly.Global,
    budget: bigint,
  ) {
    counter.value = budget;
    this.#given = budget;
  }

  /** Adds `amount` to the fuel left. Throws `InvalidArgument` for a bad amount or one that would pass {@link MAX_FUEL}. */
  add(amount: bigint): void {
    const checked = checkAmount(amount, 'addFuel');
    const left = this.counter.value as bigint;
    if (left + checked > MAX_FUEL) {
      throw new UsageError('InvalidArgument', `addFuel: ${left} left plus ${checked} would pass the most a call can hold (2^63 - 1)`);
    }
    this.counter.value = left + checked;
    this.#given += checked;
  }

  /** Fuel consumed since the call started. */
  get consumed(): bigint {
    return this.#given - (this.counter.value as bigint);
  }
}

/** Sets the counters of `live` for a call that starts now; returns its fuel (`null` without fuel). */
export function startCounters(live: LiveInstance, budget: bigint | null): CallFuel | null {
  if (live.heightCounter !== null) live.heightCounter.value = 0;
  return live.fuelCounter === null ? null : new CallFuel(live.fuelCounter, budget ?? 0n);
}

/** The refusal of a fuel operation on a machine without fuel. */
export function fuelNotEnabled(what: string): UsageError {
  return new UsageError('FuelNotEnabled', `${what}: this machine's prototype was created without VmConfig.fuel`);
}

function checkAmount(amount: unknown, what: string): bigint {
  if (typeof amount !== 'bigint') throw new UsageError('InvalidArgument', `${what} must be a bigint, got ${describeValue(amount)}`);
  if (amount < 0n || amount > MAX_FUEL) throw new UsageError('InvalidArgument', `${what} must be from 0 to 2^63 - 1, got ${amount}`);
  return amount;
}
