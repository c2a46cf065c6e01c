/**
 * Converting the script's values to the library's {@link WasmValue}s, and comparing results with
 * expectations the way the spec interpreter does: integers and floats by bit pattern, NaNs by
 * class.
 *
 * What a JavaScript host can and cannot check about NaNs. The library passes floats as JS
 * numbers, i.e. through V8's own WebAssembly-to-JS boundary. Measured on V8 (Node 24, x64):
 * - a *quiet* NaN keeps its sign and payload in both directions, for f32 and f64, so
 *   `nan:canonical` (payload = only the quiet bit) and exact NaN bit patterns are checkable;
 * - a *signalling* NaN argument arrives in the guest quieted (quiet bit set, rest kept): a JS
 *   number cannot carry one into the engine;
 * - an f32 result becomes a double on the way out, which quiets a signalling NaN, so for f32
 *   results `nan:arithmetic` (quiet bit set) holds by construction and checks nothing more than
 *   "is a NaN". For f64 results the bits come out untouched and the quiet bit is checked.
 * So: wherever a signalling NaN is involved (in an argument or in the expected bits), results are
 * compared with the quiet bit ignored; everywhere else, bit for bit.
 *
 * @module
 */

import { WasmValue } from '../../lib/index.js';
import type { ScriptValue } from './script.js';

const scratch = new DataView(new ArrayBuffer(8));

/** The f32 whose bit pattern is `bits` (a signalling NaN comes back quieted: see the module doc). */
function f32FromBits(bits: number): number {
  scratch.setUint32(0, bits);
  return scratch.getFloat32(0);
}

/** The f64 whose bit pattern is `bits` (a signalling NaN stays signalling until it enters the guest). */
function f64FromBits(bits: bigint): number {
  scratch.setBigUint64(0, bits);
  return scratch.getFloat64(0);
}

/** The bit pattern of `value` rounded to an f32 (NaN payloads are kept: see the module doc). */
export function f32Bits(value: number): number {
  scratch.setFloat32(0, value);
  return scratch.getUint32(0);
}

/** The bit pattern of `value` as an f64. */
export function f64Bits(value: number): bigint {
  scratch.setFloat64(0, value);
  return scratch.getBigUint64(0);
}

const F32_QUIET = 0x0040_0000;
const F32_EXPONENT = 0x7f80_0000;
const F32_PAYLOAD = 0x007f_ffff;
const F64_QUIET = 0x0008_0000_0000_0000n;
const F64_EXPONENT = 0x7ff0_0000_0000_0000n;
const F64_PAYLOAD = 0x000f_ffff_ffff_ffffn;

/** `true` if the f32 bit pattern `bits` is a signalling NaN. */
function isSignallingF32(bits: number): boolean {
  return (bits & F32_EXPONENT) === F32_EXPONENT && (bits & F32_PAYLOAD) !== 0 && (bits & F32_QUIET) === 0;
}

/** `true` if the f64 bit pattern `bits` is a signalling NaN. */
function isSignallingF64(bits: bigint): boolean {
  return (bits & F64_EXPONENT) === F64_EXPONENT && (bits & F64_PAYLOAD) !== 0n && (bits & F64_QUIET) === 0n;
}

/** `true` if the script value is a signalling NaN (which the boundary quiets). */
export function isSignallingNan(value: ScriptValue): boolean {
  if (value.value === undefined || value.value.startsWith('nan:')) return false;
  if (value.type === 'f32') return isSignallingF32(Number(value.value));
  if (value.type === 'f64') return isSignallingF64(BigInt(value.value));
  return false;
}

/** The library value for a script argument. */
export function toWasmValue(value: ScriptValue): WasmValue {
  const text = value.value;
  if (text === undefined || text.startsWith('nan:')) {
    throw new Error(`an argument must be a concrete value, got ${JSON.stringify(value)}`);
  }
  switch (value.type) {
    case 'i32':
      // The API takes the unsigned half too and canonicalises it to the signed value.
      return WasmValue.i32(Number(text));
    case 'i64':
      return WasmValue.i64(BigInt(text));
    case 'f32':
      return WasmValue.f32(f32FromBits(Number(text)));
    case 'f64':
      return WasmValue.f64(f64FromBits(BigInt(text)));
  }
}

/** Options of {@link matchValue}. */
export interface MatchOptions {
  /** Ignore the quiet bit of NaNs (a signalling NaN was among the arguments). */
  readonly ignoreQuietBit: boolean;
}

/**
 * Why `actual` does not match the expectation `expected`, or `null` if it does. `actual` is
 * what the VM returned; `null` stands for "no value".
 */
export function matchValue(expected: ScriptValue, actual: WasmValue | null, options: MatchOptions): string | null {
  if (actual === null) return `expected ${formatScriptValue(expected)}, got no value`;
  if (actual.type !== expected.type) {
    return `expected ${formatScriptValue(expected)}, got ${formatWasmValue(actual)} (wrong type)`;
  }
  const text = expected.value!;
  const mismatch = `expected ${formatScriptValue(expected)}, got ${formatWasmValue(actual)}`;
  switch (actual.type) {
    case 'i32': {
      // An integer made from a signalling NaN argument (i32.reinterpret_f32) sees the quiet bit
      // the boundary set on it.
      let want = Number(text) >>> 0;
      let got = actual.value >>> 0;
      if (options.ignoreQuietBit && isNanF32(want)) {
        want = (want | F32_QUIET) >>> 0;
        got = (isNanF32(got) ? got | F32_QUIET : got) >>> 0;
      }
      return want === got ? null : mismatch;
    }
    case 'i64': {
      let want = BigInt(text);
      let got = BigInt.asUintN(64, actual.value);
      if (options.ignoreQuietBit && isNanF64(want)) {
        want |= F64_QUIET;
        if (isNanF64(got)) got |= F64_QUIET;
      }
      return want === got ? null : mismatch;
    }
    case 'f32': {
      // A value that is not exactly an f32 would be a boundary bug: rounding hides it otherwise.
      if (!Number.isNaN(actual.value) && Math.fround(actual.value) !== actual.value) {
        return `${mismatch} (not representable as an f32)`;
      }
      const bits = f32Bits(actual.value);
      if (text === 'nan:canonical') {
        return (bits & 0x7fff_ffff) === (F32_EXPONENT | F32_QUIET) ? null : `${mismatch} (not a canonical NaN)`;
      }
      if (text === 'nan:arithmetic') {
        return (bits & (F32_EXPONENT | F32_QUIET)) === (F32_EXPONENT | F32_QUIET) ? null : `${mismatch} (not an arithmetic NaN)`;
      }
      let want = Number(text) >>> 0;
      let got = bits;
      if (options.ignoreQuietBit || isSignallingF32(want)) {
        want = (isNanF32(want) ? want | F32_QUIET : want) >>> 0;
        got = (isNanF32(got) ? got | F32_QUIET : got) >>> 0;
      }
      return want === got ? null : mismatch;
    }
    case 'f64': {
      const bits = f64Bits(actual.value);
      if (text === 'nan:canonical') {
        return (bits & ~(1n << 63n)) === (F64_EXPONENT | F64_QUIET) ? null : `${mismatch} (not a canonical NaN)`;
      }
      if (text === 'nan:arithmetic') {
        return (bits & (F64_EXPONENT | F64_QUIET)) === (F64_EXPONENT | F64_QUIET) ? null : `${mismatch} (not an arithmetic NaN)`;
      }
      let want = BigInt(text);
      let got = bits;
      if (options.ignoreQuietBit || isSignallingF64(want)) {
        if (isNanF64(want)) want |= F64_QUIET;
        if (isNanF64(got)) got |= F64_QUIET;
      }
      return want === got ? null : mismatch;
    }
  }
}

function isNanF32(bits: number): boolean {
  return (bits & F32_EXPONENT) === F32_EXPONENT && (bits & F32_PAYLOAD) !== 0;
}

function isNanF64(bits: bigint): boolean {
  return (bits & F64_EXPONENT) === F64_EXPONENT && (bits & F64_PAYLOAD) !== 0n;
}

/** A script value for humans, e.g. `i32:4294967295 (-1)` or `f32:0x7fc00000 (NaN)`. */
export function formatScriptValue(value: ScriptValue): string {
  const text = value.value;
  if (text === undefined) return value.type;
  if (text.startsWith('nan:')) return `${value.type}:${text}`;
  switch (value.type) {
    case 'i32':
      return `i32:${text} (${Number(text) | 0})`;
    case 'i64':
      return `i64:${text} (${BigInt.asIntN(64, BigInt(text))})`;
    case 'f32':
      return `f32:0x${(Number(text) >>> 0).toString(16).padStart(8, '0')} (${f32FromBits(Number(text))})`;
    case 'f64':
      return `f64:0x${BigInt(text).toString(16).padStart(16, '0')} (${f64FromBits(BigInt(text))})`;
  }
}

/** A library value for humans, in the same notation as {@link formatScriptValue}. */
export function formatWasmValue(value: WasmValue | null): string {
  if (value === null) return 'no value';
  switch (value.type) {
    case 'i32':
      return `i32:${value.value >>> 0} (${value.value})`;
    case 'i64':
      return `i64:${BigInt.asUintN(64, value.value)} (${value.value})`;
    case 'f32':
      return `f32:0x${f32Bits(value.value).toString(16).padStart(8, '0')} (${value.value})`;
    case 'f64':
      return `f64:0x${f64Bits(value.value).toString(16).padStart(16, '0')} (${value.value})`;
  }
}

/** Whether `value` is exactly the canonical NaN of its type (positive, quiet, no payload: `canonicalizeNaNs`). */
export function isCanonicalNan(value: WasmValue | null): boolean {
  if (value === null || (value.type !== 'f32' && value.type !== 'f64') || !Number.isNaN(value.value)) return false;
  const view = new DataView(new ArrayBuffer(8));
  if (value.type === 'f32') {
    view.setFloat32(0, value.value);
    return view.getUint32(0) === 0x7fc0_0000;
  }
  view.setFloat64(0, value.value);
  return view.getBigUint64(0) === 0x7ff8_0000_0000_0000n;
}
