/**
 * VirtualMachine.run / runAsync: interrupts carry the import's id and params, resumption is
 * type-checked (a refused value leaves the machine usable), results are typed, guest faults are
 * `trapped` outcomes (never exceptions), and a finished or trapped call is poisoned.
 *
 * Every behaviour holds for the three ways of driving a call (`spec/support/drive.ts`): the
 * synchronous `run()` of Asyncify, and `runAsync()` on Asyncify and on JSPI. Then what is
 * particular to each: one step at a time with `runAsync`, `run()` refused on JSPI, and the
 * unwind buffer that only Asyncify has.
 */
import {
  type ExecOutcome,
  RunError,
  type TrapKind,
  UsageError,
  VirtualMachine,
  type VirtualMachinePrototype,
  type VmConfig,
  WasmValue,
} from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { type Driver, DRIVERS, asyncError, driverName, step, stepError, thrown } from './support/drive.js';
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

async function prototype(backend: Driver['backend'], config: Partial<VmConfig> = {}): Promise<VirtualMachinePrototype> {
  return createOn(backend, {
    moduleBytes: await wat(GUEST),
    symbols: (_module, name) => IDS[name],
    ...config,
  });
}

describe.each(DRIVERS.map((driver) => [driverName(driver), driver] as const))('%s', (_name, driver) => {
  let proto: VirtualMachinePrototype;
  beforeAll(async () => {
    proto = await prototype(driver.backend);
  });

  /** A fresh machine calling `fn(...params)`. */
  function start(fn: string, params: WasmValue[] = []): VirtualMachine {
    return proto.clone().prepare().start(fn, params);
  }

  const run = (vm: VirtualMachine, value: WasmValue | null): Promise<ExecOutcome> => step(driver, vm, value);

  async function expectRunError(vm: VirtualMachine, value: WasmValue | null, kind: RunError['kind'], message: RegExp): Promise<RunError> {
    const error = await stepError(driver, vm, value);
    expect(error).toBeInstanceOf(RunError);
    expect(error).toMatchObject({ kind, message: expect.stringMatching(message) });
    return error as RunError;
  }

  test('a call runs interrupt by interrupt to a typed result', async () => {
    const vm = start('combine', [WasmValue.i32(-3)]);
    expect(await run(vm, null)).toEqual({ type: 'interrupted', id: 12, params: [{ type: 'i32', value: -3 }] });
    expect(await run(vm, null)).toEqual({
      type: 'interrupted',
      id: 10,
      params: [
        { type: 'i32', value: -3 },
        { type: 'i64', value: -5n },
      ],
    });
    expect(await run(vm, WasmValue.i32(-100))).toEqual({ type: 'interrupted', id: 11, params: [] });
    expect(await run(vm, WasmValue.i64(2n ** 40n))).toEqual({ type: 'finished', value: { type: 'i64', value: 2n ** 40n - 100n } });
  });

  test('a function without result finishes with null', async () => {
    expect(await run(start('nothing'), null)).toEqual({ type: 'finished', value: null });
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
      const vm = start('combine', [WasmValue.i32(1)]);
      await run(vm, null); // note
      await run(vm, null); // get32
      const error = await expectRunError(vm, value as WasmValue | null, kind as RunError['kind'], message);
      expect(error).toMatchObject(types);
      expect(await run(vm, WasmValue.i32(1))).toEqual({ type: 'interrupted', id: 11, params: [] });
      expect(await run(vm, WasmValue.i64(1n))).toEqual({ type: 'finished', value: { type: 'i64', value: 2n } });
    });

    test('a value for an import without result is refused', async () => {
      const vm = start('combine', [WasmValue.i32(1)]);
      await run(vm, null);
      await expectRunError(vm, WasmValue.i32(0), 'BadValueType', /returns nothing; run\(\) must be given null, got an i32/);
      expect(await run(vm, null)).toMatchObject({ type: 'interrupted', id: 10 });
    });

    test('the first run must be given null', async () => {
      const vm = start('combine', [WasmValue.i32(1)]);
      const error = await expectRunError(vm, WasmValue.i32(0), 'BadValueType', /first run\(\) of a call must be given null/);
      expect(error).toMatchObject({ expected: null, obtained: 'i32' });
      expect(await run(vm, null)).toMatchObject({ type: 'interrupted', id: 12 });
    });

    test('unsigned spellings are accepted and normalised', async () => {
      const vm = start('combine', [WasmValue.i32(0)]);
      await run(vm, null);
      await run(vm, null);
      await run(vm, { type: 'i32', value: 0xffff_ffff }); // -1
      expect(await run(vm, { type: 'i64', value: 2n ** 64n - 1n })).toEqual({ type: 'finished', value: { type: 'i64', value: -2n } });
    });
  });

  describe('traps are outcomes, never exceptions', () => {
    const cases: [string, WasmValue[], TrapKind, RegExp][] = [
      ['unreachable', [], 'Unreachable', /unreachable/],
      ['oob', [], 'MemoryOutOfBounds', /out-of-bounds memory access/],
      ['div', [WasmValue.i32(0)], 'DivisionByZero', /divide by zero/],
      ['overflow', [], 'IntegerOverflow', /integer overflow/],
      ['convert', [], 'InvalidConversion', /invalid conversion/],
      // On Asyncify the engine's own stack runs out; on JSPI the stack the engine gives each
      // call (see the tests at the end of this file). Both are StackExhausted.
      ['recurse', [WasmValue.i32(0)], 'StackExhausted', /call stack exhausted/],
    ];

    test.each(cases)('%s', async (fn, params, kind, message) => {
      const vm = start(fn, params);
      let outcome: ExecOutcome = await run(vm, null);
      while (outcome.type === 'interrupted') outcome = await run(vm, null);
      expect(outcome.type).toBe('trapped');
      if (outcome.type !== 'trapped') return;
      expect(outcome.trap.kind).toBe(kind);
      expect(outcome.trap.message).toMatch(message);
      expect(outcome.trap).toBeInstanceOf(Error);
      expect(outcome.trap.cause).toBeDefined();
      // Poisoned from now on, but the memory is still readable.
      await expectRunError(vm, null, 'Poisoned', /already finished or trapped/);
      expect(vm.readMemory(0, 4)).toEqual(new Uint8Array(4));
      // The instance still runs calls after the trap.
      const next = vm.intoPrepare().start('div', [WasmValue.i32(2)]);
      expect(await run(next, null)).toEqual({ type: 'finished', value: { type: 'i32', value: 5 } });
    });
  });

  test('a finished call is poisoned', async () => {
    const vm = start('nothing');
    await run(vm, null);
    await expectRunError(vm, null, 'Poisoned', /use intoPrepare\(\) or intoPrototype\(\)/);
    await expectRunError(vm, WasmValue.i32(1), 'Poisoned', /already finished/);
  });
});

describe.each(BACKENDS)('runAsync on %s: one step at a time', (backend) => {
  let proto: VirtualMachinePrototype;
  beforeAll(async () => {
    proto = await prototype(backend);
  });

  function expectUsageError(error: unknown, kind: UsageError['kind'], message: RegExp): void {
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ kind, message: expect.stringMatching(message) });
  }

  /**
   * Everything but memory access is refused while `vm` has a step pending; memory access works.
   * Every call is made before anything is awaited: an await would let the pending step settle.
   */
  async function expectStepInProgress(vm: VirtualMachine): Promise<void> {
    const rejections = [asyncError(vm, null), asyncError(vm, WasmValue.i32(1))];
    // run() on JSPI is refused for what it is, whatever the state (see 'run() on jspi' below).
    if (backend === 'jspi') expectUsageError(thrown(() => vm.run(null)), 'SynchronousRunUnsupported', /runAsync/);
    else expectUsageError(thrown(() => vm.run(null)), 'StepInProgress', /run: a step of this call is still running/);
    expectUsageError(thrown(() => vm.intoPrepare()), 'StepInProgress', /intoPrepare: .*await it first/);
    expectUsageError(thrown(() => vm.intoPrototype()), 'StepInProgress', /intoPrototype: .*await it first/);
    // Memory access stays allowed, and really reads and writes the guest's memory.
    expect(vm.memorySize()).toBe(1);
    vm.writeMemory(40, Uint8Array.of(1, 2, 3));
    expect(vm.readMemory(39, 5)).toEqual(Uint8Array.of(0, 1, 2, 3, 0));
    vm.writeMemory(40, Uint8Array.of(0, 0, 0));
    for (const error of await Promise.all(rejections)) {
      expectUsageError(error, 'StepInProgress', /runAsync: a step of this call is still running/);
    }
  }

  test('while a step is pending, another step and every transition are StepInProgress; memory access works', async () => {
    const vm = proto.clone().prepare().start('combine', [WasmValue.i32(4)]);
    // The start.
    let pending = vm.runAsync(null);
    await expectStepInProgress(vm);
    expect(await pending).toEqual({ type: 'interrupted', id: 12, params: [{ type: 'i32', value: 4 }] });
    // A resume.
    pending = vm.runAsync(null);
    await expectStepInProgress(vm);
    expect(await pending).toMatchObject({ type: 'interrupted', id: 10 });
    // The refusals changed nothing: the call goes on as if they had not happened.
    expect(await vm.runAsync(WasmValue.i32(6))).toEqual({ type: 'interrupted', id: 11, params: [] });
    pending = vm.runAsync(WasmValue.i64(100n));
    await expectStepInProgress(vm);
    expect(await pending).toEqual({ type: 'finished', value: { type: 'i64', value: 106n } });
    // Once the last step settled, the transitions are allowed again.
    expect(vm.intoPrepare().memorySize()).toBe(1);
  });

  test('a step that traps is in progress until its promise settles too', async () => {
    const vm = proto.clone().prepare().start('div', [WasmValue.i32(0)]);
    const pending = vm.runAsync(null);
    await expectStepInProgress(vm);
    expect(await pending).toMatchObject({ type: 'trapped', trap: { kind: 'DivisionByZero' } });
    expect(vm.intoPrototype().memoryMaxPages()).toBe(2);
  });

  test('a rejected runAsync leaves nothing pending: the machine is usable exactly as after a throwing run()', async () => {
    const vm = proto.clone().prepare().start('combine', [WasmValue.i32(1)]);
    expect(await asyncError(vm, WasmValue.i32(0))).toMatchObject({ kind: 'BadValueType', expected: null, obtained: 'i32' });
    // No step is in progress after the rejection: transitions give their own answers at once.
    expectUsageError(thrown(() => vm.intoPrepare()), 'CallInProgress', /finished or trapped/);
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted', id: 12 });
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted', id: 10 });
    expect(await asyncError(vm, WasmValue.i64(1n))).toMatchObject({ kind: 'BadValueType', expected: 'i32', obtained: 'i64' });
    expect(await asyncError(vm, { type: 'i32', value: 0.5 })).toMatchObject({ kind: 'InvalidValue' });
    expectUsageError(thrown(() => vm.intoPrepare()), 'CallInProgress', /finished or trapped/);
    expect(vm.readMemory(0, 2)).toEqual(new Uint8Array(2));
    expect(await vm.runAsync(WasmValue.i32(2))).toEqual({ type: 'interrupted', id: 11, params: [] });
    expect(await vm.runAsync(WasmValue.i64(3n))).toEqual({ type: 'finished', value: { type: 'i64', value: 5n } });
    expect(await asyncError(vm, null)).toMatchObject({ kind: 'Poisoned' });
    // And a rejected step while paused leaves intoPrototype() free to abandon the call.
    const paused = proto.clone().prepare().start('combine', [WasmValue.i32(1)]);
    await paused.runAsync(null);
    await paused.runAsync(null);
    expect(await asyncError(paused, null)).toMatchObject({ kind: 'BadValueType' });
    const fresh = paused.intoPrototype().prepare().start('combine', [WasmValue.i32(2)]);
    expect(await fresh.runAsync(null)).toEqual({ type: 'interrupted', id: 12, params: [{ type: 'i32', value: 2 }] });
  });
});

describe('run() on jspi', () => {
  let proto: VirtualMachinePrototype;
  beforeAll(async () => {
    proto = await prototype('jspi');
  });

  function expectRefused(vm: VirtualMachine, value: WasmValue | null): void {
    const error = thrown(() => vm.run(value));
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ kind: 'SynchronousRunUnsupported', message: expect.stringMatching(/JSPI backend.*use runAsync\(\)/) });
  }

  test('throws SynchronousRunUnsupported in every state and changes nothing', async () => {
    const vm = proto.clone().prepare().start('combine', [WasmValue.i32(7)]);
    // Before the start: the call has not started.
    expectRefused(vm, null);
    expectRefused(vm, WasmValue.i32(1));
    expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 12, params: [{ type: 'i32', value: 7 }] });
    // While interrupted: the pause is still the same one, with the same expected type.
    expectRefused(vm, null);
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted', id: 10 });
    expectRefused(vm, WasmValue.i32(5));
    expect(await asyncError(vm, null)).toMatchObject({ kind: 'BadValueType', expected: 'i32', obtained: null });
    expect(await vm.runAsync(WasmValue.i32(5))).toMatchObject({ type: 'interrupted', id: 11 });
    expect(await vm.runAsync(WasmValue.i64(10n))).toEqual({ type: 'finished', value: { type: 'i64', value: 15n } });
    // After the end: refused for being synchronous, before the poisoning is even looked at.
    expectRefused(vm, null);
    expect(await asyncError(vm, null)).toMatchObject({ kind: 'Poisoned' });
    expect(vm.intoPrepare().start('div', [WasmValue.i32(5)])).toBeInstanceOf(VirtualMachine);
  });

  test('a consumed machine is Consumed for run() too', async () => {
    const vm = proto.clone().prepare().start('nothing', []);
    vm.intoPrototype();
    expect(thrown(() => vm.run(null))).toMatchObject({ kind: 'Consumed' });
  });
});

describe('behaviours that differ between backends', () => {
  // rec(n) recurses n levels and calls an import at the bottom.
  const RECURSIVE = `(module
    (import "env" "leaf" (func $leaf (result i32)))
    (func $rec (export "rec") (param $n i32) (result i32)
      (if (result i32) (i32.eqz (local.get $n))
        (then (call $leaf))
        (else (i32.add (local.get $n) (call $rec (i32.sub (local.get $n) (i32.const 1))))))))`;
  const DEPTH = 5000;
  const expected = (DEPTH * (DEPTH + 1)) / 2 + 7;

  async function pauseAtTheBottom(backend: Driver['backend'], unwindBufferPages: number): Promise<ExecOutcome> {
    const proto = await createOn(backend, { moduleBytes: await wat(RECURSIVE), symbols: () => 0, requireMemory: false, unwindBufferPages });
    const vm = proto.prepare().start('rec', [WasmValue.i32(DEPTH)]);
    const outcome = await vm.runAsync(null);
    return outcome.type === 'interrupted' ? vm.runAsync(WasmValue.i32(7)) : outcome;
  }

  // Asyncify copies the paused stack into its unwind buffer, `unwindBufferPages` long; 5,000
  // frames of rec need about 120 KiB there, more than 1 page. JSPI leaves the stack where it
  // is (the engine's own stack of the call): the option does not affect it, and the same
  // pause succeeds.
  test('unwindBufferPages bounds a paused stack on asyncify only', async () => {
    const small = await pauseAtTheBottom('asyncify', 1);
    expect(small).toMatchObject({ type: 'trapped', trap: { kind: 'StackExhausted', message: expect.stringMatching(/64 KiB unwind buffer/) } });
    expect(await pauseAtTheBottom('asyncify', 4)).toEqual({ type: 'finished', value: { type: 'i32', value: expected } });
    expect(await pauseAtTheBottom('jspi', 1)).toEqual({ type: 'finished', value: { type: 'i32', value: expected } });
  });

  // What bounds an unbounded recursion: on Asyncify the engine's stack of the thread that
  // calls run(); on JSPI the fixed-size stack the engine gives each call. The traps say which.
  test.each([
    ['asyncify', /recursed deeper than the engine stack allows/],
    ['jspi', /recursed deeper than the stack the engine gives each call allows/],
  ] as const)('unbounded recursion on %s names the stack that ran out', async (backend, message) => {
    const vm = (await prototype(backend)).prepare().start('recurse', [WasmValue.i32(0)]);
    expect(await vm.runAsync(null)).toMatchObject({ type: 'trapped', trap: { kind: 'StackExhausted', message: expect.stringMatching(message) } });
  });
});
