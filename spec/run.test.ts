/**
 * VirtualMachine.run: interrupts carry the import's id and params, resumption is type-checked
 * (a refused value leaves the machine usable), results are typed, guest faults are `trapped`
 * outcomes (never exceptions), and a finished or trapped call is poisoned.
 */
import {
  type ExecOutcome,
  RunError,
  type TrapKind,
  VirtualMachine,
  VirtualMachinePrototype,
  type VmConfig,
  WasmValue,
} from '../lib/index.js';
import { wat } from './support/wat.js';

const GUEST = `(module
  (import "host" "get32" (func $get32 (param i32 i64) (result i32)))
  (import "host" "get64" (func $get64 (result i64)))
  (import "host" "note" (func $note (param i32)))
  (memory (export "memory") 1 2)
  (func (export "combine") (param $a i32) (result i64)
    (call $note (local.get $a))
    (i64.add
      (i64.extend_i32_s (call $get32 (local.get $a) (i64.const -5)))
      (call $get64)))
  (func (export "nothing"))
  (func (export "unreachable") (call $note (i32.const 1)) (unreachable))
  (func (export "oob") (result i32) (i32.load (i32.const 65535)))
  (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 10) (local.get 0)))
  (func (export "overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func (export "convert") (result i32) (i32.trunc_f32_s (f32.const nan)))
  (func $recurse (export "recurse") (param i32) (result i32) (i32.add (i32.const 1) (call $recurse (local.get 0)))))`;

const IDS: Record<string, number> = { get32: 10, get64: 11, note: 12 };

async function prototype(config: Partial<VmConfig> = {}): Promise<VirtualMachinePrototype> {
  return VirtualMachinePrototype.create({
    moduleBytes: await wat(GUEST),
    symbols: (_module, name) => IDS[name],
    ...config,
  });
}

async function start(fn: string, params: WasmValue[] = []): Promise<VirtualMachine> {
  return (await prototype()).prepare().start(fn, params);
}

function expectRunError(vm: VirtualMachine, value: WasmValue | null, kind: RunError['kind'], message: RegExp): RunError {
  let error: unknown;
  try {
    vm.run(value);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(RunError);
  expect(error).toMatchObject({ kind, message: expect.stringMatching(message) });
  return error as RunError;
}

test('a call runs interrupt by interrupt to a typed result', async () => {
  const vm = await start('combine', [WasmValue.i32(-3)]);
  expect(vm.run(null)).toEqual({ type: 'interrupted', id: 12, params: [{ type: 'i32', value: -3 }] });
  expect(vm.run(null)).toEqual({
    type: 'interrupted',
    id: 10,
    params: [
      { type: 'i32', value: -3 },
      { type: 'i64', value: -5n },
    ],
  });
  expect(vm.run(WasmValue.i32(-100))).toEqual({ type: 'interrupted', id: 11, params: [] });
  expect(vm.run(WasmValue.i64(2n ** 40n))).toEqual({ type: 'finished', value: { type: 'i64', value: 2n ** 40n - 100n } });
});

test('a function without result finishes with null', async () => {
  expect((await start('nothing')).run(null)).toEqual({ type: 'finished', value: null });
});

describe('resuming with a value of the wrong type', () => {
  test.each([
    ['null for an i32', null, 'BadValueType', { expected: 'i32', obtained: null }, /returns an i32; run\(\) was given null/],
    ['an i64 for an i32', WasmValue.i64(1n), 'BadValueType', { expected: 'i32', obtained: 'i64' }, /given an i64/],
    ['an f32 for an i32', WasmValue.f32(1), 'BadValueType', { expected: 'i32', obtained: 'f32' }, /given an f32/],
    ['an i32 out of range', { type: 'i32', value: 2 ** 32 } as WasmValue, 'InvalidValue', { expected: 'i32', obtained: 'i32' }, /not an integer/],
    ['a fractional i32', { type: 'i32', value: 1.25 } as WasmValue, 'InvalidValue', {}, /not an integer/],
    ['a string as an i32', { type: 'i32', value: '7' } as unknown as WasmValue, 'InvalidValue', {}, /must be a number/],
  ])('%s is refused and leaves the machine usable', async (_name, value, kind, types, message) => {
    const vm = await start('combine', [WasmValue.i32(1)]);
    vm.run(null); // note
    vm.run(null); // get32
    const error = expectRunError(vm, value as WasmValue | null, kind as RunError['kind'], message);
    expect(error).toMatchObject(types);
    expect(vm.run(WasmValue.i32(1))).toEqual({ type: 'interrupted', id: 11, params: [] });
    expect(vm.run(WasmValue.i64(1n))).toEqual({ type: 'finished', value: { type: 'i64', value: 2n } });
  });

  test('a value for an import without result is refused', async () => {
    const vm = await start('combine', [WasmValue.i32(1)]);
    vm.run(null);
    expectRunError(vm, WasmValue.i32(0), 'BadValueType', /returns nothing; run\(\) must be given null, got an i32/);
    expect(vm.run(null)).toMatchObject({ type: 'interrupted', id: 10 });
  });

  test('the first run must be given null', async () => {
    const vm = await start('combine', [WasmValue.i32(1)]);
    const error = expectRunError(vm, WasmValue.i32(0), 'BadValueType', /first run\(\) of a call must be given null/);
    expect(error).toMatchObject({ expected: null, obtained: 'i32' });
    expect(vm.run(null)).toMatchObject({ type: 'interrupted', id: 12 });
  });

  test('unsigned spellings are accepted and normalised', async () => {
    const vm = await start('combine', [WasmValue.i32(0)]);
    vm.run(null);
    vm.run(null);
    vm.run({ type: 'i32', value: 0xffff_ffff }); // -1
    expect(vm.run({ type: 'i64', value: 2n ** 64n - 1n })).toEqual({ type: 'finished', value: { type: 'i64', value: -2n } });
  });
});

describe('traps are outcomes, never exceptions', () => {
  const cases: [string, WasmValue[], TrapKind, RegExp][] = [
    ['unreachable', [], 'Unreachable', /unreachable/],
    ['oob', [], 'MemoryOutOfBounds', /out-of-bounds memory access/],
    ['div', [WasmValue.i32(0)], 'DivisionByZero', /divide by zero/],
    ['overflow', [], 'IntegerOverflow', /integer overflow/],
    ['convert', [], 'InvalidConversion', /invalid conversion/],
    ['recurse', [WasmValue.i32(0)], 'StackExhausted', /call stack exhausted/],
  ];

  test.each(cases)('%s', async (fn, params, kind, message) => {
    const vm = await start(fn, params);
    let outcome: ExecOutcome = vm.run(null);
    while (outcome.type === 'interrupted') outcome = vm.run(null);
    expect(outcome.type).toBe('trapped');
    if (outcome.type !== 'trapped') return;
    expect(outcome.trap.kind).toBe(kind);
    expect(outcome.trap.message).toMatch(message);
    expect(outcome.trap).toBeInstanceOf(Error);
    expect(outcome.trap.cause).toBeDefined();
    // Poisoned from now on, but the memory is still readable.
    expectRunError(vm, null, 'Poisoned', /already finished or trapped/);
    expect(vm.readMemory(0, 4)).toEqual(new Uint8Array(4));
    // The instance still runs calls after the trap.
    const next = vm.intoPrepare().start('div', [WasmValue.i32(2)]);
    expect(next.run(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 5 } });
  });
});

test('a finished call is poisoned', async () => {
  const vm = await start('nothing');
  vm.run(null);
  expectRunError(vm, null, 'Poisoned', /use intoPrepare\(\) or intoPrototype\(\)/);
  expectRunError(vm, WasmValue.i32(1), 'Poisoned', /already finished/);
});
