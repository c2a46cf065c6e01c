/**
 * Which exports to call, in what order, with what arguments.
 *
 * Both sides call the same exports one after another on one instance, so state left by one call
 * (memory, globals, the hang-limit counter `-ttf` adds) feeds the next, as in Binaryen's own
 * fuzz shell. Every function export is called once in export order; then a few of them again,
 * in random order, because the second call of a function often takes other paths.
 *
 * Binaryen's shell passes `null` (zero) for every parameter; here the arguments are drawn from a
 * seeded mix of edge values (zero, -1, extremes, -0, infinities, NaN) and random bit patterns.
 *
 * @module
 */

import type { ValueType, WasmValue } from '../../lib/index.js';
import { type ModuleShape, callableSignature, functionExports } from './module-shape.js';
import { Prng } from './prng.js';

/** One planned export call. */
export interface PlannedCall {
  readonly exportName: string;
  /** The arguments; the plain side passes their `value`s, the VM side the values themselves. */
  readonly args: readonly WasmValue[];
  /** Result types of the export (at most one for the VM's feature set). */
  readonly results: readonly ValueType[];
}

const I32_EDGES = [0, 1, -1, 2, 7, 0x7fff_ffff, -0x8000_0000, 0xff, 0x1_0000, 65535 * 16];
const I64_EDGES = [0n, 1n, -1n, 0x7fff_ffff_ffff_ffffn, -0x8000_0000_0000_0000n, 0xffff_ffffn, 1n << 32n];
const FLOAT_EDGES = [0, -0, 1, -1, 0.5, -1.5, Infinity, -Infinity, NaN, 2 ** 31, -(2 ** 63), 5e-324, 1.1754943508222875e-38, 3.4e38];

/**
 * A random value of type `type`: half of the time an edge value, else random bits (for the
 * host's answers too, see `host.ts`).
 */
export function randomValue(prng: Prng, type: ValueType): WasmValue {
  const edge = prng.oneIn(2);
  switch (type) {
    case 'i32':
      return { type, value: edge ? prng.pick(I32_EDGES) | 0 : prng.u32() | 0 };
    case 'i64':
      return { type, value: edge ? prng.pick(I64_EDGES) : prng.i64() };
    case 'f32': {
      const bits = new Uint32Array([prng.u32()]);
      // A random bit pattern, unless it is a NaN: NaN payloads do not survive the JS boundary
      // reliably (see observation.ts), and both sides would pass the same number anyway.
      const random = new Float32Array(bits.buffer)[0]!;
      return { type, value: Math.fround(edge || Number.isNaN(random) ? prng.pick(FLOAT_EDGES) : random) };
    }
    case 'f64': {
      const random = new Float64Array(new BigUint64Array([BigInt.asUintN(64, prng.i64())]).buffer)[0]!;
      return { type, value: edge || Number.isNaN(random) ? prng.pick(FLOAT_EDGES) : random };
    }
  }
}

/** The calls to make on a module of shape `shape`, for `seed`. */
export function planCalls(shape: ModuleShape, seed: number): PlannedCall[] {
  const prng = new Prng(seed, 1);
  // Only functions whose values cross the API (no references, at most one result).
  const exports = functionExports(shape).flatMap((e) => {
    const type = callableSignature(e.type);
    return type === null ? [] : [{ name: e.name, type }];
  });
  const plan: PlannedCall[] = [];
  const add = (e: (typeof exports)[number]): void => {
    plan.push({ exportName: e.name, args: e.type.params.map((t) => randomValue(prng, t)), results: e.type.results });
  };
  for (const e of exports) add(e);
  if (exports.length > 0) {
    for (let n = prng.below(5); n > 0; n--) add(prng.pick(exports));
  }
  return plan;
}
