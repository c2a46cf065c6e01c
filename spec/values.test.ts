/**
 * Values crossing the boundary: i64 as bigint, i32 as signed numbers, f32/f64 when `floats` is
 * on, in every direction (start parameters, import parameters, import results, function results),
 * on both backends (driven through runAsync).
 */
import { type VirtualMachinePrototype, type WasmValue, WasmValue as V } from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { wat } from './support/wat.js';

const GUEST = `(module
  (import "host" "i32" (func $i32 (param i32) (result i32)))
  (import "host" "i64" (func $i64 (param i64) (result i64)))
  (import "host" "f32" (func $f32 (param f32) (result f32)))
  (import "host" "f64" (func $f64 (param f64) (result f64)))
  (memory (export "memory") 1)
  (func (export "echo32") (param i32) (result i32) (call $i32 (local.get 0)))
  (func (export "echo64") (param i64) (result i64) (call $i64 (local.get 0)))
  (func (export "echof32") (param f32) (result f32) (call $f32 (local.get 0)))
  (func (export "echof64") (param f64) (result f64) (call $f64 (local.get 0)))
  (func (export "bits32") (param f32) (result i32) (i32.reinterpret_f32 (call $f32 (local.get 0))))
  (func (export "bits64") (param f64) (result i64) (i64.reinterpret_f64 (call $f64 (local.get 0)))))`;

const IDS: Record<string, number> = { i32: 0, i64: 1, f32: 2, f64: 3 };

test('the constructors refuse values they cannot represent', () => {
  expect(() => V.i32(2 ** 32)).toThrow(RangeError);
  expect(() => V.i32(-(2 ** 31) - 1)).toThrow(RangeError);
  expect(() => V.i32(1.5)).toThrow(/not an integer/);
  expect(() => V.i64(2n ** 64n)).toThrow(RangeError);
  expect(() => V.i64(1 as unknown as bigint)).toThrow(/must be a bigint/);
  expect(() => V.f64('1' as unknown as number)).toThrow(/must be a number/);
});

describe.each(BACKENDS)('%s', (backend) => {
  let proto: VirtualMachinePrototype;
  beforeAll(async () => {
    proto = await createOn(backend, {
      moduleBytes: await wat(GUEST),
      symbols: (_m, name) => IDS[name],
      floats: true,
    });
  });

  /** Calls `fn(arg)`; the import receives `arg` and is answered with `answer`. */
  async function roundTrip(fn: string, arg: WasmValue, answer: WasmValue): Promise<{ seen: WasmValue; result: WasmValue | null }> {
    const vm = proto.clone().prepare().start(fn, [arg]);
    const interrupted = await vm.runAsync(null);
    if (interrupted.type !== 'interrupted') throw new Error(`expected an interrupt, got ${interrupted.type}`);
    const finished = await vm.runAsync(answer);
    if (finished.type !== 'finished') throw new Error(`expected finished, got ${finished.type}`);
    return { seen: interrupted.params[0]!, result: finished.value };
  }

  test.each([0, 1, -1, 2 ** 31 - 1, -(2 ** 31)])('i32 %d crosses as a signed number', async (n) => {
    expect(await roundTrip('echo32', V.i32(n), V.i32(n))).toEqual({ seen: { type: 'i32', value: n }, result: { type: 'i32', value: n } });
  });

  test.each([0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n])('i64 %s crosses as a signed bigint', async (n) => {
    expect(await roundTrip('echo64', V.i64(n), V.i64(n))).toEqual({ seen: { type: 'i64', value: n }, result: { type: 'i64', value: n } });
  });

  test('unsigned spellings are normalised to the signed value', async () => {
    expect(V.i32(0xffff_ffff)).toEqual({ type: 'i32', value: -1 });
    expect(V.i32(0x8000_0000)).toEqual({ type: 'i32', value: -(2 ** 31) });
    expect(V.i64(2n ** 64n - 1n)).toEqual({ type: 'i64', value: -1n });
    expect((await roundTrip('echo32', V.i32(0xffff_fffe), V.i32(0xffff_fffd))).result).toEqual({ type: 'i32', value: -3 });
  });

  test.each([0, -0, 1.5, -2.25, Infinity, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45])('f32 %d', async (x) => {
    const { seen, result } = await roundTrip('echof32', V.f32(x), V.f32(x));
    expect(Object.is(seen.value, x)).toBe(true);
    expect(Object.is(result!.value, x)).toBe(true);
  });

  test('f32 rounds to single precision', async () => {
    expect(V.f32(0.1)).toEqual({ type: 'f32', value: Math.fround(0.1) });
    expect((await roundTrip('echof32', V.f32(0.1), V.f32(0.2))).result).toEqual({ type: 'f32', value: Math.fround(0.2) });
  });

  test.each([0, -0, Math.PI, -1e308, Number.MIN_VALUE, Infinity])('f64 %d', async (x) => {
    const { seen, result } = await roundTrip('echof64', V.f64(x), V.f64(x));
    expect(Object.is(seen.value, x)).toBe(true);
    expect(Object.is(result!.value, x)).toBe(true);
  });

  test('NaN crosses as a NaN in both directions', async () => {
    expect(Number.isNaN((await roundTrip('echof64', V.f64(NaN), V.f64(NaN))).result!.value)).toBe(true);
    expect(Number.isNaN((await roundTrip('echof32', V.f32(NaN), V.f32(NaN))).seen.value)).toBe(true);
    // The guest sees a NaN bit pattern (exponent all ones, non-zero mantissa).
    const bits32 = (await roundTrip('bits32', V.f32(NaN), V.f32(NaN))).result!.value as number;
    expect(bits32 & 0x7f80_0000).toBe(0x7f80_0000);
    expect(bits32 & 0x007f_ffff).not.toBe(0);
    const bits64 = (await roundTrip('bits64', V.f64(NaN), V.f64(NaN))).result!.value as bigint;
    expect(BigInt.asUintN(64, bits64) & 0x7ff0_0000_0000_0000n).toBe(0x7ff0_0000_0000_0000n);
  });
});
