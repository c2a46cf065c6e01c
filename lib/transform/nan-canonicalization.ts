/**
 * NaN canonicalization (`canonicalizeNaNs`), as wasmtime's `cranelift_nan_canonicalization`:
 * every floating-point result whose NaN bits the engine may choose is replaced, when it is a
 * NaN, by the canonical NaN (f32 `0x7fc00000`, f64 `0x7ff8000000000000`).
 *
 * WebAssembly fixes every bit of a float result except the sign and payload of a NaN produced
 * by arithmetic: an engine may return any quiet NaN there (x86 returns the first operand's
 * payload, ARM the canonical NaN, and an engine may fold constants either way). A guest can then
 * observe the difference through `reinterpret` or a store. After this rewrite every such NaN is
 * canonical, so a guest computes the same bits on every engine and CPU.
 *
 * The instructions rewritten (their result may be a NaN of the engine's choosing): `add`,
 * `sub`, `mul`, `div`, `sqrt`, `min`, `max`, `ceil`, `floor`, `trunc`, `nearest` of f32 and f64,
 * `f32.demote_f64` and `f64.promote_f32`. Each is followed by
 *
 * ```wat
 * local.tee $t          ;; the result, kept in a scratch local of its type
 * f32.const nan         ;; 0x7fc00000 (f64: 0x7ff8000000000000)
 * local.get $t
 * local.get $t
 * f32.eq                ;; false exactly for a NaN
 * select                ;; t == t ? t : canonical
 * ```
 *
 * The bit operations are exact and stay as they are: `neg`, `abs`, `copysign`, the
 * reinterpretations, loads, stores and constants (they only move a NaN the guest already had,
 * which is canonical if it came from arithmetic). Conversions from integers never make a NaN.
 *
 * @module
 */

import type { ByteWriter } from './byte-writer.js';

/** For each opcode: 1 if its f32 result is canonicalized, 2 if its f64 result is, else 0. */
export const NAN_RESULT: Uint8Array = (() => {
  const kinds = new Uint8Array(256);
  // f32 ceil, floor, trunc, nearest, sqrt, add, sub, mul, div, min, max (not abs, neg, copysign).
  for (let op = 0x8d; op <= 0x97; op++) kinds[op] = 1;
  // f64 ceil .. max.
  for (let op = 0x9b; op <= 0xa5; op++) kinds[op] = 2;
  kinds[0xb6] = 1; // f32.demote_f64
  kinds[0xbb] = 2; // f64.promote_f32
  return kinds;
})();

/** The canonical f32 NaN's bits, little-endian, after `f32.const`. */
const F32_CANONICAL = [0x00, 0x00, 0xc0, 0x7f];
/** The canonical f64 NaN's bits, little-endian, after `f64.const`. */
const F64_CANONICAL = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f];

/** After an instruction with a result of `NAN_RESULT` kind `kind`: the check, with scratch local `t` of its type. */
export function emitCanonicalize(w: ByteWriter, kind: number, t: number): void {
  w.ensure(32);
  w.byte(0x22); // local.tee t
  w.u32(t);
  if (kind === 1) {
    w.byte(0x43); // f32.const
    for (const b of F32_CANONICAL) w.byte(b);
  } else {
    w.byte(0x44); // f64.const
    for (const b of F64_CANONICAL) w.byte(b);
  }
  w.byte(0x20); // local.get t
  w.u32(t);
  w.byte(0x20); // local.get t
  w.u32(t);
  w.byte(kind === 1 ? 0x5b : 0x61); // f32.eq / f64.eq
  w.byte(0x1b); // select
}
