/**
 * Values that cross the boundary between the host and the guest.
 *
 * The guest only ever sees the four WebAssembly number types. On the host side each value is
 * tagged with its type, so that a value handed back to the guest can be checked against the
 * type the guest expects before the guest ever sees it: a host that answers an `i64` import
 * with an `i32` gets a {@link RunError} instead of a silently truncated value.
 *
 * Integers are represented the way the JavaScript engine represents them at its own
 * WebAssembly boundary: `i32` as a signed `number`, `i64` as a signed `bigint`.
 *
 * @module
 */

/** One of the WebAssembly number types this library passes across the boundary. */
export type ValueType = 'i32' | 'i64' | 'f32' | 'f64';

/**
 * A typed WebAssembly value.
 *
 * - `i32`: `value` is a signed 32-bit integer, -2^31 .. 2^31-1.
 * - `i64`: `value` is a signed 64-bit integer as a `bigint`, -2^63 .. 2^63-1.
 * - `f32`: `value` is a number representable as an IEEE 754 single (see `Math.fround`).
 * - `f64`: `value` is any number.
 *
 * Values produced by this library always use the signed ranges. Values handed to it may also
 * use the unsigned ranges (0 .. 2^32-1 for `i32`, 0 .. 2^64-1 for `i64`), which denote the same
 * bit patterns; anything else (a fraction, a value outside both ranges, a `number` for an
 * `i64`) is refused with an error rather than truncated.
 */
export type WasmValue =
  | { readonly type: 'i32'; readonly value: number }
  | { readonly type: 'i64'; readonly value: bigint }
  | { readonly type: 'f32'; readonly value: number }
  | { readonly type: 'f64'; readonly value: number };

/**
 * Constructors for {@link WasmValue}. Each one normalises its input to the canonical
 * representation (signed integers, single-precision rounding for `f32`) and throws a
 * `RangeError` for input that has no such representation.
 *
 * ```ts
 * vm.run(WasmValue.i32(0xffff_ffff)); // the same as WasmValue.i32(-1)
 * vm.run(WasmValue.i64(1n << 40n));
 * ```
 */
export const WasmValue = {
  /** An `i32` from an integer in -2^31 .. 2^32-1 (the unsigned half is reinterpreted). */
  i32(value: number): WasmValue {
    const reason = describeBadValue('i32', value);
    if (reason !== null) throw new RangeError(`WasmValue.i32: ${reason}`);
    return { type: 'i32', value: value | 0 };
  },
  /** An `i64` from a bigint in -2^63 .. 2^64-1 (the unsigned half is reinterpreted). */
  i64(value: bigint): WasmValue {
    const reason = describeBadValue('i64', value);
    if (reason !== null) throw new RangeError(`WasmValue.i64: ${reason}`);
    return { type: 'i64', value: BigInt.asIntN(64, value) };
  },
  /** An `f32`; the number is rounded to single precision. */
  f32(value: number): WasmValue {
    const reason = describeBadValue('f32', value);
    if (reason !== null) throw new RangeError(`WasmValue.f32: ${reason}`);
    return { type: 'f32', value: Math.fround(value) };
  },
  /** An `f64`. */
  f64(value: number): WasmValue {
    const reason = describeBadValue('f64', value);
    if (reason !== null) throw new RangeError(`WasmValue.f64: ${reason}`);
    return { type: 'f64', value };
  },
} as const;

/** A function type as written in the module: value type names, possibly unsupported ones. */
export interface RawSignature {
  readonly params: readonly string[];
  readonly results: readonly string[];
}

/** The type of a function as the host sees it: WebAssembly MVP functions have at most one result. */
export interface Signature {
  readonly params: readonly ValueType[];
  readonly result: ValueType | null;
}

const I32_MIN = -0x8000_0000;
const U32_MAX = 0xffff_ffff;
const I64_MIN = -(1n << 63n);
const U64_MAX = (1n << 64n) - 1n;

/**
 * Why `value` is not a valid payload for a value of type `type`, or `null` if it is.
 * Shared by the constructors above and by the checks on values the host hands to the VM.
 */
export function describeBadValue(type: ValueType, value: unknown): string | null {
  switch (type) {
    case 'i32':
      if (typeof value !== 'number') return `an i32 must be a number, got ${typeof value}`;
      if (!Number.isInteger(value) || value < I32_MIN || value > U32_MAX) {
        return `${describeValue(value)} is not an integer in -2^31 .. 2^32-1`;
      }
      return null;
    case 'i64':
      if (typeof value !== 'bigint') return `an i64 must be a bigint, got ${typeof value}`;
      if (value < I64_MIN || value > U64_MAX) return `${value} is not in -2^63 .. 2^64-1`;
      return null;
    case 'f32':
    case 'f64':
      if (typeof value !== 'number') return `an ${type} must be a number, got ${typeof value}`;
      return null;
  }
}

/**
 * `value` in a form fit for an error message, whatever it is: a bigint, a symbol, an object
 * without prototype or with a throwing `toString` must not make the error itself throw.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return 'a function';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'an array';
      return describeWasmValueLike(value) ?? Object.prototype.toString.call(value);
    default:
      return String(value);
  }
}

/**
 * `i64 3` for an object shaped as a `WasmValue` (a value of another type than the one expected
 * is the usual mistake, and `[object Object]` would not say which), else `null`. Reads only own
 * data properties, so that no getter of the caller's object runs.
 */
function describeWasmValueLike(value: object): string | null {
  const type = Object.getOwnPropertyDescriptor(value, 'type');
  const payload = Object.getOwnPropertyDescriptor(value, 'value');
  if (type === undefined || payload === undefined || !('value' in type) || !('value' in payload)) return null;
  if (!['i32', 'i64', 'f32', 'f64'].includes(type.value as string)) return null;
  const shown = typeof payload.value === 'bigint' ? `${payload.value}n` : typeof payload.value === 'number' ? String(payload.value) : typeof payload.value;
  return `${type.value as string} ${shown}`;
}

/**
 * Binaryen throws non-Error values on some failures (a C++ exception surfacing as an opaque
 * object); make every thrown value readable.
 */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  if (typeof e === 'object' && e !== null) return 'an internal error in Binaryen (the module may be too large for the transform)';
  return `a non-Error value (${describeValue(e)})`;
}

/** `true` if `value` is one of the four {@link ValueType} names. */
export function isValueType(value: unknown): value is ValueType {
  return value === 'i32' || value === 'i64' || value === 'f32' || value === 'f64';
}

/** Formats a signature the way the text format would, e.g. `(i32, i64) -> i32`. */
export function formatSignature(signature: Signature): string {
  return `(${signature.params.join(', ')}) -> ${signature.result ?? 'nil'}`;
}

/**
 * Converts a value from the engine's representation (what a WebAssembly function called from
 * JavaScript returns, or what an import receives) to a tagged {@link WasmValue}. The engine
 * already uses the canonical representation, so this only tags it.
 */
export function fromEngine(type: ValueType, raw: unknown): WasmValue {
  // The casts are sound: the engine converts each WebAssembly type to exactly one JS type.
  return { type, value: raw } as WasmValue;
}

/**
 * The host-side signature for a function type, or the reason it cannot cross the boundary.
 * Results beyond one cannot occur here: the feature scan refuses multi-value first. Worked out
 * once per function type (and `floats`), as the module facts never change: `Prepare.start`
 * asks for every call (measured: 580 bytes of each westend `Core_version` call's 14 KB of
 * garbage before).
 */
export function toSignature(raw: RawSignature, floats: boolean): Signature | string {
  let known = signatures.get(raw);
  if (known === undefined) signatures.set(raw, (known = [undefined, undefined]));
  const slot = floats ? 1 : 0;
  return (known[slot] ??= signatureOf(raw, floats));
}

/** {@link toSignature}'s answers by function type: without `floats`, and with. */
const signatures = new WeakMap<RawSignature, [Signature | string | undefined, Signature | string | undefined]>();

function signatureOf(raw: RawSignature, floats: boolean): Signature | string {
  if (raw.results.length > 1) {
    return `it has ${raw.results.length} results (${raw.results.join(', ')}); a function the host calls or provides has at most one`;
  }
  const types = [...raw.params, ...raw.results];
  for (const type of types) {
    if (!isValueType(type)) return `it uses the type ${type}`;
    if (!floats && (type === 'f32' || type === 'f64')) {
      return `it uses ${type}, which is refused unless the VM is created with \`floats: true\``;
    }
  }
  return { params: raw.params as ValueType[], result: (raw.results[0] as ValueType | undefined) ?? null };
}
