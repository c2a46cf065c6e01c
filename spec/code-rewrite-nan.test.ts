/**
 * NaN canonicalization (`canonicalizeNaNs`, `lib/transform/nan-canonicalization.ts`): every
 * float instruction is called, plain and rewritten, on every pair of edge bit patterns (zeros,
 * infinities, canonical and payload-carrying NaNs of both signs, signalling NaNs, denormals,
 * extremes, random bits). Values cross as integer bit patterns (`reinterpret`), so nothing of
 * JavaScript's number handling is involved.
 *
 * Rewritten, an instruction whose NaN the engine chooses returns exactly the canonical NaN
 * whenever the plain one returns any NaN, and the same bits otherwise; the exact instructions
 * (`neg`, `abs`, `copysign`, reinterpretations, loads, stores, constants) return the same bits
 * as plain, NaN payloads included.
 */
import { Prng } from '../fuzz/differential/prng.js';
import { Guest } from './support/rewrite-harness.js';
import { wat } from './support/wat.js';

const F32_CANONICAL = 0x7fc0_0000;
const F64_CANONICAL = 0x7ff8_0000_0000_0000n;

/** The instructions whose NaN results the engine may choose (the oracle: written here, not read from the rewriter). */
const ENGINE_CHOSEN = new Set(['ceil', 'floor', 'trunc', 'nearest', 'sqrt', 'add', 'sub', 'mul', 'div', 'min', 'max']);
const UNARY = ['abs', 'neg', 'ceil', 'floor', 'trunc', 'nearest', 'sqrt'];
const BINARY = ['add', 'sub', 'mul', 'div', 'min', 'max', 'copysign'];

function f32Patterns(prng: Prng): number[] {
  const fixed = [
    0, 0x8000_0000, 0x3f80_0000, 0xbf80_0000, 0x4000_0000, 0x7f80_0000, 0xff80_0000, 0x7f7f_ffff, 0x0000_0001, 0x8000_0001,
    F32_CANONICAL, 0xffc0_0000, 0x7fc1_2345, 0xffc5_4321, 0x7fff_ffff, 0x7f80_0001, 0x7fa0_0000, 0xff80_0001,
  ];
  for (let i = 0; i < 6; i++) fixed.push(prng.u32());
  return fixed.map((b) => b | 0);
}

function f64Patterns(prng: Prng): bigint[] {
  const fixed = [
    0n, 0x8000_0000_0000_0000n, 0x3ff0_0000_0000_0000n, 0xbff0_0000_0000_0000n, 0x7ff0_0000_0000_0000n, 0xfff0_0000_0000_0000n,
    0x7fef_ffff_ffff_ffffn, 1n, F64_CANONICAL, 0xfff8_0000_0000_0000n, 0x7ff8_0000_1234_5678n, 0xfffc_0000_0000_0001n,
    0x7ff0_0000_0000_0001n, 0x7ff4_0000_0000_0000n, 0xfff0_0000_0000_0001n,
  ];
  for (let i = 0; i < 6; i++) fixed.push(BigInt.asUintN(64, prng.i64()));
  return fixed.map((b) => BigInt.asIntN(64, b));
}

const isF32Nan = (bits: number): boolean => (bits & 0x7f80_0000) === 0x7f80_0000 && (bits & 0x007f_ffff) !== 0;
const isF64Nan = (bits: bigint): boolean =>
  (bits & 0x7ff0_0000_0000_0000n) === 0x7ff0_0000_0000_0000n && (bits & 0x000f_ffff_ffff_ffffn) !== 0n;

const SOURCE = `(module
  (memory (export "mem") 1)
  ${UNARY.map((op) => `(func (export "f32.${op}") (param i32) (result i32) local.get 0 f32.reinterpret_i32 f32.${op} i32.reinterpret_f32)`).join('\n')}
  ${BINARY.map((op) => `(func (export "f32.${op}") (param i32 i32) (result i32) local.get 0 f32.reinterpret_i32 local.get 1 f32.reinterpret_i32 f32.${op} i32.reinterpret_f32)`).join('\n')}
  ${UNARY.map((op) => `(func (export "f64.${op}") (param i64) (result i64) local.get 0 f64.reinterpret_i64 f64.${op} i64.reinterpret_f64)`).join('\n')}
  ${BINARY.map((op) => `(func (export "f64.${op}") (param i64 i64) (result i64) local.get 0 f64.reinterpret_i64 local.get 1 f64.reinterpret_i64 f64.${op} i64.reinterpret_f64)`).join('\n')}
  (func (export "f32.demote_f64") (param i64) (result i32) local.get 0 f64.reinterpret_i64 f32.demote_f64 i32.reinterpret_f32)
  (func (export "f64.promote_f32") (param i32) (result i64) local.get 0 f32.reinterpret_i32 f64.promote_f32 i64.reinterpret_f64)
  ;; exact: through memory, and constants
  (func (export "f32.store_load") (param i32) (result i32)
    i32.const 8 local.get 0 f32.reinterpret_i32 f32.store i32.const 8 f32.load i32.reinterpret_f32)
  (func (export "f64.store_load") (param i64) (result i64)
    i32.const 16 local.get 0 f64.reinterpret_i64 f64.store i32.const 16 f64.load i64.reinterpret_f64)
  (func (export "f32.const_payload") (result i32) f32.const nan:0x12345 i32.reinterpret_f32)
  (func (export "f64.const_payload") (result i64) f64.const -nan:0x123456789 i64.reinterpret_f64)
  ;; a NaN made by arithmetic, then moved by exact instructions: canonical all the way
  (func (export "chain") (param i32 i32) (result i32)
    local.get 0 f32.reinterpret_i32 local.get 1 f32.reinterpret_i32 f32.add f32.neg f32.abs i32.reinterpret_f32)
  ;; a float result used by a select and a comparison inside an expression (the scratch local is shared)
  (func (export "nested") (param f64 f64) (result f64)
    local.get 0 local.get 1 f64.div local.get 0 local.get 1 f64.mul local.get 0 local.get 1 f64.lt select)
)`;

describe('NaN canonicalization', () => {
  test('every float instruction on every pair of edge bit patterns: arithmetic NaNs canonical, everything else bit for bit', async () => {
    const bytes = await wat(SOURCE);
    const plain = new Guest(bytes);
    const canonical = new Guest(bytes, { rewrite: { canonicalizeNaNs: true } });
    const prng = new Prng(11);
    const f32 = f32Patterns(prng);
    const f64 = f64Patterns(prng);
    let changed = 0;
    let compared = 0;
    const check = (name: string, canonicalized: boolean, args: readonly (number | bigint)[]): void => {
      const expected = plain.exports[name]!(...args) as number | bigint;
      const actual = canonical.exports[name]!(...args) as number | bigint;
      compared++;
      const nan = typeof expected === 'bigint' ? isF64Nan(expected) : isF32Nan(expected);
      let want = expected;
      if (canonicalized && nan) want = typeof expected === 'bigint' ? BigInt.asIntN(64, F64_CANONICAL) : F32_CANONICAL | 0;
      if (want !== expected) changed++;
      if (actual !== want) throw new Error(`${name}(${args.join(', ')}): ${String(actual)}, expected ${String(want)} (plain: ${String(expected)})`);
    };
    for (const type of ['f32', 'f64'] as const) {
      const patterns = type === 'f32' ? f32 : f64;
      for (const op of UNARY) {
        for (const a of patterns) check(`${type}.${op}`, ENGINE_CHOSEN.has(op), [a]);
      }
      for (const op of BINARY) {
        for (const a of patterns) for (const b of patterns) check(`${type}.${op}`, ENGINE_CHOSEN.has(op), [a, b]);
      }
    }
    for (const a of f64) check('f32.demote_f64', true, [a]);
    for (const a of f32) check('f64.promote_f32', true, [a]);
    for (const a of f32) check('f32.store_load', false, [a]);
    for (const a of f64) check('f64.store_load', false, [a]);
    check('f32.const_payload', false, []);
    check('f64.const_payload', false, []);
    expect(compared).toBeGreaterThan(7000);
    // The engine does choose other NaNs than the canonical one (x86: the operand's payload,
    // and a negative NaN for 0/0): the rewrite changed what the guest saw.
    expect(changed).toBeGreaterThan(500);
    // The exact instructions kept a NaN's payload: the same bits as plain, not the canonical NaN.
    expect(canonical.call('f32.neg', 0x7fc1_2345)).toEqual({ type: 'returned', value: `n:${0xffc1_2345 | 0}` });
    expect(canonical.call('f64.copysign', 0x7ff8_0000_1234_5678n, -1n)).toEqual({
      type: 'returned',
      value: `i64:${0xfff8_0000_1234_5678n}`,
    });
  });

  test('a NaN made by arithmetic stays canonical through the exact instructions after it', async () => {
    const bytes = await wat(SOURCE);
    const plain = new Guest(bytes);
    const canonical = new Guest(bytes, { rewrite: { canonicalizeNaNs: true } });
    // 0x7fc12345 + 1: x86 keeps the payload; neg then abs keep whatever they get.
    expect(plain.exports['chain']!(0x7fc1_2345, 0x3f80_0000)).toBe(0x7fc1_2345);
    expect(canonical.exports['chain']!(0x7fc1_2345, 0x3f80_0000)).toBe(F32_CANONICAL);
    // Not a NaN: the same value.
    expect(canonical.exports['chain']!(0x3f80_0000, 0x3f80_0000)).toBe(plain.exports['chain']!(0x3f80_0000, 0x3f80_0000));
    for (const [a, b] of [[0, 0], [1, 2], [Number.POSITIVE_INFINITY, 0], [-3, 0.5]] as const) {
      const expected = plain.exports['nested']!(a, b) as number;
      const actual = canonical.exports['nested']!(a, b) as number;
      expect(Object.is(actual, expected) || (Number.isNaN(actual) && Number.isNaN(expected))).toBe(true);
    }
  });

  test('only functions with float arithmetic get scratch locals', async () => {
    const bytes = await wat(`(module
      (func (export "int") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
      (func (export "float") (param f32) (result f32) local.get 0 local.get 0 f32.mul))`);
    const rewritten = new Guest(bytes, { rewrite: { canonicalizeNaNs: true } }).rewritten!;
    // The integer function is copied byte for byte: the rewritten module grew by the float function's check only.
    expect(rewritten.bytes.length - bytes.length).toBeLessThan(40);
  });
});
