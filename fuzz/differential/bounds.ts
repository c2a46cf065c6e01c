/**
 * Checks with the determinism and bounds options on (`--bounds`): fuel, a logical stack limit and
 * canonical NaNs (`VmConfig.fuel`, `maxStackHeight`, `canonicalizeNaNs`).
 *
 * The plain side then runs the module as the code rewriter makes it (the "plain-instrumented"
 * module: `rewriteCode` with the same options, instantiated by the engine with synchronous
 * JavaScript imports), and both sides meter every call the same way, from the seed:
 *
 * - each call starts with a budget ({@link FuelSchedule.budget}: often 0 or a few thousand units,
 *   sometimes plenty), the start function with one fixed, ample budget (the plain side's start
 *   function runs at instantiation, from the counter's initial value);
 * - each time the guest runs out, the host adds a random amount ({@link FuelSchedule.refill}:
 *   mostly 1 to 64 units, so that a block often needs several refills, sometimes far more), and
 *   records the out-of-fuel point as an event of the call (the fuel consumed so far and the
 *   amount added), compared like an import call: the VM must run out at exactly the same points;
 * - each call's fuel consumed is compared, as is the stack-limit trap (`StackLimitExceeded`,
 *   which the plain side's `i.stack` import is made to mean) at the same call;
 * - a NaN an export returns is recorded with its bits (the NaNs arithmetic makes are then the
 *   canonical one, which no engine's boxing changes).
 *
 * The stack limit is chosen by the seed among a few values, small ones (a call trapping a few
 * frames deep) as well as the default.
 *
 * @module
 */

import { DEFAULT_MAX_STACK_HEIGHT } from '../../lib/index.js';
import type { ImportEvent } from './observation.js';
import { Prng } from './prng.js';

/** The options of a check with bounds. */
export interface Bounds {
  readonly fuel: true;
  readonly maxStackHeight: number;
  readonly canonicalizeNaNs: true;
}

/** The logical stack limits a seed chooses from. */
const STACK_LIMITS = [24, 64, 200, 1000, DEFAULT_MAX_STACK_HEIGHT] as const;

/** The bounds options for `seed`. */
export function seededBounds(seed: number): Bounds {
  return { fuel: true, maxStackHeight: new Prng(seed, 17).pick(STACK_LIMITS), canonicalizeNaNs: true };
}

/** The name of an out-of-fuel event in a call's events (no import has it). */
export const OUT_OF_FUEL = '(out of fuel)';

/**
 * The fuel both sides give, from the seed: budgets at call starts and refills at out-of-fuel
 * points, drawn in the order they are needed (the same on both sides while they agree).
 */
export class FuelSchedule {
  readonly #prng: Prng;
  /**
   * The start function's budget: fixed, and plenty (the plain side's start function runs inside
   * the instantiation, from the counter's initial value, where the harness cannot read the
   * counter to record an out-of-fuel point; its consumption is compared all the same).
   */
  readonly startBudget = 1_000_000_000n;

  constructor(seed: number) {
    this.#prng = new Prng(seed, 18);
  }

  /** A call's budget. */
  budget(): bigint {
    const p = this.#prng;
    if (p.oneIn(4)) return 0n;
    if (p.oneIn(3)) return 10_000_000n;
    return BigInt(p.between(0, 5000));
  }

  /** What the host adds when the guest runs out. */
  refill(): bigint {
    const p = this.#prng;
    const roll = p.below(10);
    if (roll < 6) return BigInt(p.between(1, 64));
    if (roll < 9) return BigInt(p.between(65, 4096));
    return BigInt(p.between(4097, 1_000_000));
  }
}

/** The event recorded when the guest runs out of fuel having consumed `consumed`, and the host adds `refill`. */
export function outOfFuelEvent(consumed: bigint, refill: bigint, pages: number): ImportEvent {
  return { name: OUT_OF_FUEL, args: [`consumed:${consumed}`], pages, digest: null, action: '', answer: `refill:${refill}` };
}

/** The canonical NaNs' bits as {@link formatNaN} writes them. */
export const CANONICAL_NAN = { f32: 'f32:nan:0x7fc00000', f64: 'f64:nan:0x7ff8000000000000' } as const;

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** A NaN of `type` with its bits (`f32:nan:0x7fc00000`): only sound for canonical NaNs, which no boxing changes. */
export function formatNaN(type: 'f32' | 'f64', raw: number): string {
  if (type === 'f32') {
    f32[0] = raw;
    return `f32:nan:0x${u32[0]!.toString(16).padStart(8, '0')}`;
  }
  f64[0] = raw;
  return `f64:nan:0x${u64[0]!.toString(16).padStart(16, '0')}`;
}
