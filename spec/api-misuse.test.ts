/**
 * API misuse is a typed error that changes nothing: every public method with arguments of the
 * wrong type or range, in every state, is refused with the documented error class and kind, and
 * leaves the machine as it was.
 *
 * Every table runs on Asyncify driven by `run()`, on Asyncify driven by `runAsync()` and on
 * JSPI driven by `runAsync()` (see `support/stepping.ts`): a refused `run()` throws, a refused
 * `runAsync()` rejects, with the same class and kind. Then the misuse only `runAsync()` makes
 * possible (a second step, or a transition, while a step is pending: `StepInProgress`, memory
 * access allowed) on both backends, and JSPI's own (`run()`: `SynchronousRunUnsupported`).
 */
import {
  type ExecOutcome,
  GlobalValueError,
  OutOfBoundsError,
  type Prepare,
  RunError,
  StartError,
  UsageError,
  type VirtualMachine,
  VirtualMachinePrototype,
  type VmConfig,
  WasmValue,
} from '../lib/index.js';
import { createHash } from 'node:crypto';
import { BACKENDS } from './support/backends.js';
import { faultGuest } from './support/fault-guest.js';
import { DRIVES, type Stepper, refusal, stepper } from './support/stepping.js';
import { wat } from './support/wat.js';

const MISUSE_GUEST = `(module
  (import "env" "get32" (func $get32 (result i32)))
  (import "env" "get64" (func $get64 (result i64)))
  (import "env" "note" (func $note (param i32)))
  (memory (export "memory") 1 3)
  (global (export "base") i32 (i32.const 1024))
  (data (i32.const 8) "state")
  (func (export "flow") (result i64)
    (call $note (i32.const 1))
    (i64.add (i64.extend_i32_s (call $get32)) (call $get64)))
  (func (export "add") (param i32 i64) (result i64) (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1))))`;

async function misuseGuest(config: Partial<VmConfig> = {}): Promise<VirtualMachinePrototype> {
  return VirtualMachinePrototype.create({
    moduleBytes: await wat(MISUSE_GUEST),
    symbols: (_module, name) => ({ get32: 0, get64: 1, note: 2 })[name],
    ...config,
  });
}

/** Values a JavaScript caller might pass where an offset, size or page count belongs. */
const BAD_COUNTS: readonly (readonly [string, unknown])[] = [
  ['-1', -1],
  ['0.5', 0.5],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['2^32', 2 ** 32],
  ['2^53', 2 ** 53],
  ['-0.000001', -0.000001],
  ["'0' (a string)", '0'],
  ["'' (an empty string)", ''],
  ['null', null],
  ['undefined', undefined],
  ['{} (an object)', {}],
  ['[] (an array)', []],
  ['true', true],
  ['1n (a bigint)', 1n],
  ['a symbol', Symbol('offset')],
  ['an object with valueOf', { valueOf: () => 0 }],
];

/** Values a JavaScript caller might pass where the data of writeMemory belongs. */
const BAD_DATA: readonly (readonly [string, unknown])[] = [
  ['a string', 'abc'],
  ['an array of numbers', [1, 2, 3]],
  ['an Int8Array', new Int8Array(2)],
  ['an ArrayBuffer', new ArrayBuffer(2)],
  ['a DataView', new DataView(new ArrayBuffer(2))],
  ['null', null],
  ['undefined', undefined],
  ['an array-like object', { length: 2, 0: 1, 1: 2 }],
  ['a number', 5],
];

/** What a refused call must throw. */
interface Expected {
  readonly cls: new (...args: never[]) => Error;
  readonly kind: string;
}

function expectThrows(action: () => unknown, expected: Expected): Error {
  let error: unknown = null;
  try {
    action();
  } catch (e) {
    error = e;
  }
  return expectError(error, expected);
}

/** Checks that `error` is what `expected` describes, with a message. */
function expectError(error: unknown, expected: Expected): Error {
  expect(error).toBeInstanceOf(expected.cls);
  expect((error as { kind?: string }).kind).toBe(expected.kind);
  expect((error as Error).message).not.toBe('');
  return error as Error;
}

/** A snapshot of what a refused call must not change: the memory's size and a digest of its bytes. */
function snapshot(access: Prepare | VirtualMachine): { size: number; digest: string } {
  const bytes = access.readMemory(0, access.memorySize() * 65536);
  return { size: access.memorySize(), digest: createHash('sha256').update(bytes).digest('hex') };
}

/** A state in which memory can be accessed, and a way to check it still works after. */
interface State {
  readonly access: Prepare | VirtualMachine;
  readonly stillWorks: () => Promise<void>;
}

/** The states in which memory can be accessed, each driven by `step`. */
function statesFor(step: Stepper): readonly (readonly [string, (proto: VirtualMachinePrototype) => Promise<State>])[] {
  return [
    [
      'Prepare',
      async (proto) => {
        const prepare = proto.prepare();
        return {
          access: prepare,
          stillWorks: async () =>
            expect(await step(prepare.start('add', [WasmValue.i32(2), WasmValue.i64(3n)]), null)).toEqual({ type: 'finished', value: { type: 'i64', value: 5n } }),
        };
      },
    ],
    [
      'VirtualMachine before run',
      async (proto) => {
        const vm = proto.prepare().start('add', [WasmValue.i32(2), WasmValue.i64(3n)]);
        return { access: vm, stillWorks: async () => expect(await step(vm, null)).toEqual({ type: 'finished', value: { type: 'i64', value: 5n } }) };
      },
    ],
    [
      'VirtualMachine interrupted',
      async (proto) => {
        const vm = proto.prepare().start('flow', []);
        await step(vm, null);
        await step(vm, null);
        return {
          access: vm,
          stillWorks: async () => {
            expect(await step(vm, WasmValue.i32(-1))).toEqual({ type: 'interrupted', id: 1, params: [] });
            expect(await step(vm, WasmValue.i64(5n))).toEqual({ type: 'finished', value: { type: 'i64', value: 4n } });
          },
        };
      },
    ],
    [
      'VirtualMachine finished',
      async (proto) => {
        const vm = proto.prepare().start('add', [WasmValue.i32(2), WasmValue.i64(3n)]);
        await step(vm, null);
        return {
          access: vm,
          stillWorks: async () =>
            expect(await step(vm.intoPrepare().start('add', [WasmValue.i32(1), WasmValue.i64(1n)]), null)).toMatchObject({ type: 'finished' }),
        };
      },
    ],
  ];
}

describe.each(DRIVES)('API misuse is a typed error that changes nothing (%s, driven by %s)', (backend, method) => {
  const step = stepper(method);
  const STATES = statesFor(step);
  /** Checks that `vm.run(value)` or `vm.runAsync(value)`, as this suite drives, is refused as `expected`. */
  const expectRefused = async (vm: VirtualMachine, value: unknown, expected: Expected): Promise<void> => {
    expectError(await refusal(method, () => (method === 'run' ? vm.run(value as WasmValue) : vm.runAsync(value as WasmValue))), expected);
  };
  let base: VirtualMachinePrototype;
  beforeAll(async () => {
    base = await misuseGuest({ backend });
    expect(base.backend).toBe(backend);
  });

  const OOB: Expected = { cls: OutOfBoundsError, kind: 'OutOfBounds' };
  const INVALID: Expected = { cls: UsageError, kind: 'InvalidArgument' };

  // Every memory method × every bad number × every state.
  const memoryCalls: readonly (readonly [string, (access: Prepare | VirtualMachine, bad: unknown) => unknown])[] = [
    ['readMemory(bad, 1)', (a, bad) => a.readMemory(bad as number, 1)],
    ['readMemory(0, bad)', (a, bad) => a.readMemory(0, bad as number)],
    ['writeMemory(bad, data)', (a, bad) => a.writeMemory(bad as number, Uint8Array.of(0xff))],
    ['growMemory(bad)', (a, bad) => a.growMemory(bad as number)],
  ];
  const memoryTable = STATES.flatMap(([state, make]) =>
    memoryCalls.flatMap(([call, invoke]) => BAD_COUNTS.map(([name, bad]) => [state, call, name, make, invoke, bad] as const)),
  );

  test.each(memoryTable)('%s.%s with %s: OutOfBoundsError, nothing changed', async (_state, _call, _name, make, invoke, bad) => {
    const { access, stillWorks } = await make(base.clone());
    const before = snapshot(access);
    expectThrows(() => invoke(access, bad), OOB);
    expect(snapshot(access)).toEqual(before);
    await stillWorks();
  });

  // An offset, size or page count that cannot be converted to a string (an object without a
  // prototype) is still an OutOfBoundsError: formatting the message must not throw a TypeError
  // ("Cannot convert object to primitive value") of its own, as it once did.
  test.each(STATES.map(([state, make]) => [state, make] as const))(
    '%s.readMemory with an object without a prototype: OutOfBoundsError',
    async (_state, make) => {
      const { access } = await make(base.clone());
      expectThrows(() => access.readMemory(Object.create(null) as number, 1), OOB);
    },
  );

  test.each(STATES.flatMap(([state, make]) => [
    [state, 'past the end', make, (a: Prepare | VirtualMachine) => a.readMemory(65536 - 3, 4)],
    [state, 'a write past the end', make, (a: Prepare | VirtualMachine) => a.writeMemory(65536 - 1, Uint8Array.of(1, 2))],
    [state, 'an offset past the end with size 0', make, (a: Prepare | VirtualMachine) => a.readMemory(65537, 0)],
    [state, 'growth past the maximum', make, (a: Prepare | VirtualMachine) => a.growMemory(3)],
    [state, 'growth past 65536 pages', make, (a: Prepare | VirtualMachine) => a.growMemory(65536)],
  ] as const))('%s: %s is an OutOfBoundsError, nothing changed', async (_state, _what, make, action) => {
    const { access, stillWorks } = await make(base.clone());
    const before = snapshot(access);
    expectThrows(() => action(access), OOB);
    expect(snapshot(access)).toEqual(before);
    await stillWorks();
  });

  test.each(STATES.map(([state, make]) => [state, make] as const))('%s: growth exactly to the maximum works, one more page does not', async (_state, make) => {
    const { access } = await make(base.clone());
    access.growMemory(2);
    expect(access.memorySize()).toBe(3);
    expectThrows(() => access.growMemory(1), OOB);
    expect(access.memorySize()).toBe(3);
    access.writeMemory(3 * 65536 - 1, Uint8Array.of(9));
    expect(access.readMemory(3 * 65536 - 1, 1)).toEqual(Uint8Array.of(9));
  });

  // writeMemory with data that is not a Uint8Array is a UsageError('InvalidArgument'), the
  // documented class for an argument of the wrong shape (once a plain TypeError). Nothing is
  // written, which the test below checks separately.
  test.each(STATES.flatMap(([state, make]) => BAD_DATA.map(([name, bad]) => [state, name, make, bad] as const)))(
    '%s.writeMemory(0, %s): UsageError(InvalidArgument)',
    async (_state, _name, make, bad) => {
      const { access } = await make(base.clone());
      expectThrows(() => access.writeMemory(0, bad as Uint8Array), INVALID);
    },
  );

  test.each(STATES.flatMap(([state, make]) => BAD_DATA.map(([name, bad]) => [state, name, make, bad] as const)))(
    '%s.writeMemory(0, %s) throws and writes nothing',
    async (_state, _name, make, bad) => {
      const { access, stillWorks } = await make(base.clone());
      const before = snapshot(access);
      expect(() => access.writeMemory(0, bad as Uint8Array)).toThrow();
      expect(snapshot(access)).toEqual(before);
      await stillWorks();
    },
  );

  test('a Buffer and a view into a larger buffer are accepted as data', () => {
    const prepare = base.clone().prepare();
    prepare.writeMemory(0, Buffer.from([1, 2]));
    const backing = Uint8Array.of(9, 9, 3, 4, 9);
    prepare.writeMemory(2, backing.subarray(2, 4));
    expect(prepare.readMemory(0, 5)).toEqual(Uint8Array.of(1, 2, 3, 4, 0));
  });

  describe('start', () => {
    const BAD_NAMES: readonly (readonly [string, unknown])[] = [
      ['a number', 42],
      ['null', null],
      ['undefined', undefined],
      ['an object', {}],
      ['a symbol', Symbol('add')],
      ['a bigint', 1n],
      ['a String object', new String('add')],
    ];
    test.each(BAD_NAMES)('a name that is %s: UsageError(InvalidArgument), the Prepare is not consumed', async (_name, bad) => {
      const prepare = base.clone().prepare();
      prepare.writeMemory(0, Uint8Array.of(1));
      expectThrows(() => prepare.start(bad as string, []), INVALID);
      expect(prepare.readMemory(0, 1)).toEqual(Uint8Array.of(1));
      expect(await step(prepare.start('add', [WasmValue.i32(1), WasmValue.i64(2n)]), null)).toMatchObject({ type: 'finished' });
    });

    const BAD_PARAM_LISTS: readonly (readonly [string, unknown])[] = [
      ['a string', 'x'],
      ['null', null],
      ['undefined', undefined],
      ['an object', {}],
      ['a number', 2],
      ['an array-like object', { length: 2, 0: WasmValue.i32(1), 1: WasmValue.i64(2n) }],
      ['a Set', new Set([WasmValue.i32(1), WasmValue.i64(2n)])],
    ];
    test.each(BAD_PARAM_LISTS)('params that are %s: UsageError(InvalidArgument), the Prepare is not consumed', async (_name, bad) => {
      const prepare = base.clone().prepare();
      expectThrows(() => prepare.start('add', bad as WasmValue[]), INVALID);
      expect(await step(prepare.start('add', [WasmValue.i32(1), WasmValue.i64(2n)]), null)).toMatchObject({ type: 'finished' });
    });

    const BAD_PARAMS: readonly (readonly [string, unknown[]])[] = [
      ['a sparse array', [, WasmValue.i64(1n)]], // eslint-disable-line no-sparse-arrays
      ['a plain number', [1, WasmValue.i64(1n)]],
      ['a string', ['1', WasmValue.i64(1n)]],
      ['an object without type', [{ value: 1 }, WasmValue.i64(1n)]],
      ['an unknown type', [{ type: 'i33', value: 1 }, WasmValue.i64(1n)]],
      ['an i32 without value', [{ type: 'i32' }, WasmValue.i64(1n)]],
      ['an i32 of NaN', [{ type: 'i32', value: Number.NaN }, WasmValue.i64(1n)]],
      ['an i32 of Infinity', [{ type: 'i32', value: Number.POSITIVE_INFINITY }, WasmValue.i64(1n)]],
      ['an i32 below -2^31', [{ type: 'i32', value: -(2 ** 31) - 1 }, WasmValue.i64(1n)]],
      ['an i32 as a string', [{ type: 'i32', value: '1' }, WasmValue.i64(1n)]],
      ['an i64 as a number', [WasmValue.i32(1), { type: 'i64', value: 1 }]],
      ['an i64 past 2^64', [WasmValue.i32(1), { type: 'i64', value: 2n ** 64n }]],
      ['an i64 below -2^63', [WasmValue.i32(1), { type: 'i64', value: -(2n ** 63n) - 1n }]],
      ['an f64 for an i64', [WasmValue.i32(1), WasmValue.f64(1)]],
      ['null', [null, WasmValue.i64(1n)]],
    ];
    test.each(BAD_PARAMS)('a parameter that is %s: StartError(InvalidParameters) with a working prototype', async (_name, params) => {
      const prepare = base.clone().prepare();
      prepare.writeMemory(0, Uint8Array.of(5));
      const error = expectThrows(() => prepare.start('add', params as WasmValue[]), { cls: StartError, kind: 'InvalidParameters' }) as StartError;
      expectThrows(() => prepare.memorySize(), { cls: UsageError, kind: 'Consumed' });
      const again = error.prototype.prepare();
      expect(again.readMemory(0, 1)).toEqual(Uint8Array.of(5));
      expect(await step(again.start('add', [WasmValue.i32(-1), WasmValue.i64(2n)]), null)).toEqual({ type: 'finished', value: { type: 'i64', value: 1n } });
    });
  });

  describe('run', () => {
    const EXPECTING_I32: readonly (readonly [string, 'BadValueType' | 'InvalidValue', unknown])[] = [
      ['null', 'BadValueType', null],
      ['undefined', 'BadValueType', undefined],
      ['a bare number', 'BadValueType', 5],
      ['a string', 'BadValueType', 'x'],
      ['an empty object', 'BadValueType', {}],
      ['an array', 'BadValueType', [WasmValue.i32(1)]],
      ['true', 'BadValueType', true],
      ['a bigint', 'BadValueType', 1n],
      ['a symbol', 'BadValueType', Symbol('v')],
      ['an unknown type name', 'BadValueType', { type: 'i33', value: 1 }],
      ['an i64', 'BadValueType', WasmValue.i64(1n)],
      ['an f32', 'BadValueType', WasmValue.f32(1)],
      ['an f64', 'BadValueType', WasmValue.f64(1)],
      ['an i32 without value', 'InvalidValue', { type: 'i32' }],
      ['an i32 of NaN', 'InvalidValue', { type: 'i32', value: Number.NaN }],
      ['an i32 of Infinity', 'InvalidValue', { type: 'i32', value: Number.POSITIVE_INFINITY }],
      ['an i32 of 2^32', 'InvalidValue', { type: 'i32', value: 2 ** 32 }],
      ['an i32 below -2^31', 'InvalidValue', { type: 'i32', value: -(2 ** 31) - 1 }],
      ['an i32 of 0.5', 'InvalidValue', { type: 'i32', value: 0.5 }],
      ['an i32 as a string', 'InvalidValue', { type: 'i32', value: '1' }],
      ['an i32 as a bigint', 'InvalidValue', { type: 'i32', value: 1n }],
    ];
    test.each(EXPECTING_I32)('resuming an i32 import with %s: RunError(%s), the call continues', async (_name, kind, bad) => {
      const vm = base.clone().prepare().start('flow', []);
      await step(vm, null);
      expect(await step(vm, null)).toEqual({ type: 'interrupted', id: 0, params: [] });
      const before = snapshot(vm);
      await expectRefused(vm, bad as WasmValue, { cls: RunError, kind });
      expect(snapshot(vm)).toEqual(before);
      expect(await step(vm, WasmValue.i32(7))).toEqual({ type: 'interrupted', id: 1, params: [] });
      expect(await step(vm, WasmValue.i64(1n))).toEqual({ type: 'finished', value: { type: 'i64', value: 8n } });
    });

    const EXPECTING_I64: readonly (readonly [string, 'BadValueType' | 'InvalidValue', unknown])[] = [
      ['null', 'BadValueType', null],
      ['an i32', 'BadValueType', WasmValue.i32(1)],
      ['an i64 as a number', 'InvalidValue', { type: 'i64', value: 1 }],
      ['an i64 of 2^64', 'InvalidValue', { type: 'i64', value: 2n ** 64n }],
      ['an i64 below -2^63', 'InvalidValue', { type: 'i64', value: -(2n ** 63n) - 1n }],
      ['an i64 as a string', 'InvalidValue', { type: 'i64', value: '1' }],
    ];
    test.each(EXPECTING_I64)('resuming an i64 import with %s: RunError(%s), the call continues', async (_name, kind, bad) => {
      const vm = base.clone().prepare().start('flow', []);
      await step(vm, null);
      await step(vm, null);
      expect(await step(vm, WasmValue.i32(2))).toEqual({ type: 'interrupted', id: 1, params: [] });
      await expectRefused(vm, bad as WasmValue, { cls: RunError, kind });
      expect(await step(vm, WasmValue.i64(-1n))).toEqual({ type: 'finished', value: { type: 'i64', value: 1n } });
    });

    test.each([
      ['an i32', WasmValue.i32(0)],
      ['an i64', WasmValue.i64(0n)],
      ['an f64', WasmValue.f64(0)],
    ])('resuming an import without result with %s: RunError(BadValueType)', async (_name, bad) => {
      const vm = base.clone().prepare().start('flow', []);
      expect(await step(vm, null)).toEqual({ type: 'interrupted', id: 2, params: [{ type: 'i32', value: 1 }] });
      await expectRefused(vm, bad, { cls: RunError, kind: 'BadValueType' });
      expect(await step(vm, null)).toEqual({ type: 'interrupted', id: 0, params: [] });
    });

    // For an import without result only null is "no value": run(5), run('x'), run({}) and
    // run(true) are refused with RunError('BadValueType') like run(WasmValue.i32(0)) (they were
    // once taken for null, as their `type` property is missing).
    test.each([
      ['a bare number', 5],
      ['a string', 'x'],
      ['an empty object', {}],
      ['true', true],
    ])('resuming an import without result with %s: RunError(BadValueType)', async (_name, bad) => {
      const vm = base.clone().prepare().start('flow', []);
      await step(vm, null);
      await expectRefused(vm, bad as WasmValue, { cls: RunError, kind: 'BadValueType' });
    });

    test.each([
      ['an i32', WasmValue.i32(0)],
      ['a bare number', 0],
      ['an object', {}],
    ])('the first run with %s: RunError(BadValueType), the call can still start', async (_name, bad) => {
      const vm = base.clone().prepare().start('add', [WasmValue.i32(2), WasmValue.i64(3n)]);
      await expectRefused(vm, bad as WasmValue, { cls: RunError, kind: 'BadValueType' });
      expect(await step(vm, null)).toEqual({ type: 'finished', value: { type: 'i64', value: 5n } });
    });

    test.each([
      ['finished', 'add', [WasmValue.i32(1), WasmValue.i64(1n)]],
      ['trapped', 'add', [WasmValue.i32(1), WasmValue.i64(1n)]],
    ] as const)('after the call %s, every run/runAsync is RunError(Poisoned) and memory stays usable', async (how, fn, params) => {
      const proto = how === 'trapped' ? await faultGuest({ backend }) : base.clone();
      const vm = how === 'trapped' ? proto.prepare().start('now', [WasmValue.i32(0), WasmValue.i32(0)]) : proto.prepare().start(fn, params);
      await step(vm, null);
      for (const value of [null, WasmValue.i32(0), WasmValue.i64(0n), 5, {}, undefined]) {
        await expectRefused(vm, value as WasmValue, { cls: RunError, kind: 'Poisoned' });
      }
      vm.writeMemory(0, Uint8Array.of(3));
      expect(vm.readMemory(0, 1)).toEqual(Uint8Array.of(3));
      expect(vm.intoPrepare().readMemory(0, 1)).toEqual(Uint8Array.of(3));
    });
  });

  describe('globalValue', () => {
    test.each([
      ['a number', 42],
      ['null', null],
      ['undefined', undefined],
      ['an object', {}],
      ['a symbol', Symbol('base')],
    ])('a name that is %s: GlobalValueError(NotFound), the prototype keeps working', (_name, bad) => {
      const proto = base.clone();
      expectThrows(() => proto.globalValue(bad as string), { cls: GlobalValueError, kind: 'NotFound' });
      expect(proto.globalValue('base')).toBe(1024);
    });

    // globalValue(1n) is a typed error: formatting the message must not throw "TypeError: Do not
    // know how to serialize a BigInt" (JSON.stringify) of its own, as it once did.
    test('a name that is a bigint: a typed error', () => {
      const proto = base.clone();
      let error: unknown;
      try {
        proto.globalValue(1n as unknown as string);
      } catch (e) {
        error = e;
      }
      expect(error instanceof GlobalValueError || error instanceof UsageError).toBe(true);
    });
  });

  describe('create with a malformed config', () => {
    const source = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
    const MALFORMED: readonly (readonly [string, unknown])[] = [
      ['no config', undefined],
      ['null', null],
      ['a string', 'config'],
      ['moduleBytes as an ArrayBuffer', { moduleBytes: source.buffer, symbols: () => 0 }],
      ['moduleBytes as an array', { moduleBytes: [...source], symbols: () => 0 }],
      ['moduleBytes as an Int8Array', { moduleBytes: new Int8Array(source.buffer), symbols: () => 0 }],
      ['moduleBytes missing', { symbols: () => 0 }],
      ['symbols missing', { moduleBytes: source }],
      ['symbols as an object', { moduleBytes: source, symbols: {} }],
      ['features unknown', { moduleBytes: source, symbols: () => 0, features: 'simd' }],
      ['unwindBufferPages 0', { moduleBytes: source, symbols: () => 0, unwindBufferPages: 0 }],
      ['unwindBufferPages -1', { moduleBytes: source, symbols: () => 0, unwindBufferPages: -1 }],
      ['unwindBufferPages 1.5', { moduleBytes: source, symbols: () => 0, unwindBufferPages: 1.5 }],
      ['unwindBufferPages NaN', { moduleBytes: source, symbols: () => 0, unwindBufferPages: Number.NaN }],
      ['unwindBufferPages 32769', { moduleBytes: source, symbols: () => 0, unwindBufferPages: 32769 }],
      ["unwindBufferPages '4'", { moduleBytes: source, symbols: () => 0, unwindBufferPages: '4' }],
      ['inlineImports as an object', { moduleBytes: source, symbols: () => 0, inlineImports: {} }],
      ['maxMemoryPages -1', { moduleBytes: source, symbols: () => 0, maxMemoryPages: -1 }],
      ['maxMemoryPages 0.5', { moduleBytes: source, symbols: () => 0, maxMemoryPages: 0.5 }],
      ['maxMemoryPages 65537', { moduleBytes: source, symbols: () => 0, maxMemoryPages: 65537 }],
      ["maxMemoryPages '4'", { moduleBytes: source, symbols: () => 0, maxMemoryPages: '4' }],
      ['onProgress as a string', { moduleBytes: source, symbols: () => 0, onProgress: 'log' }],
      ['cache without methods', { moduleBytes: source, symbols: () => 0, cache: {} }],
    ];
    test.each(MALFORMED)('%s: UsageError(InvalidArgument)', async (_name, config) => {
      // An object config asks for this suite's backend; anything else is malformed on its own.
      const onBackend = (typeof config === 'object' && config !== null ? { ...config, backend } : config) as VmConfig;
      await expect(VirtualMachinePrototype.create(onBackend)).rejects.toMatchObject({ kind: 'InvalidArgument' });
      await expect(VirtualMachinePrototype.create(onBackend)).rejects.toBeInstanceOf(UsageError);
    });

    // An option that is an object without a prototype (or any value String() cannot convert)
    // is a UsageError: formatting resolveConfig's message must not throw a TypeError ("Cannot
    // convert object to primitive value") of its own, as it once did.
    test.each([
      ['features', { features: Object.create(null) }],
      ['unwindBufferPages', { unwindBufferPages: Object.create(null) }],
      ['maxMemoryPages', { maxMemoryPages: Object.create(null) }],
    ])('%s as an object without a prototype: UsageError(InvalidArgument)', async (_name, extra) => {
      const config = { moduleBytes: source, symbols: () => 0, backend, ...extra };
      await expect(VirtualMachinePrototype.create(config as unknown as VmConfig)).rejects.toBeInstanceOf(UsageError);
    });

    // Boolean options are checked to be booleans: floats: 'no' (a truthy string) once turned
    // floats on, and requireMemory: 'false' the memory requirement, silently.
    test.each([
      ["floats: 'no'", { floats: 'no' }],
      ["requireMemory: 'false'", { requireMemory: 'false' }],
      ['floats: 1', { floats: 1 }],
    ])('%s: UsageError(InvalidArgument)', async (_name, extra) => {
      const config = { moduleBytes: await wat('(module (memory (export "memory") 1))'), symbols: () => 0, backend, ...extra };
      await expect(VirtualMachinePrototype.create(config as unknown as VmConfig)).rejects.toBeInstanceOf(UsageError);
    });
  });

  describe('consumed objects', () => {
    test('every method of every consumed state object is UsageError(Consumed)', async () => {
      const CONSUMED: Expected = { cls: UsageError, kind: 'Consumed' };
      const proto = base.clone();
      const prepare = proto.prepare();
      for (const action of [() => proto.prepare(), () => proto.clone(), () => proto.globalValue('base'), () => proto.memoryMaxPages()]) {
        expectThrows(action, CONSUMED);
      }
      let startError: StartError | null = null;
      try {
        prepare.start('missing', []);
      } catch (e) {
        startError = e as StartError;
      }
      for (const action of [
        () => prepare.start('add', [WasmValue.i32(1), WasmValue.i64(1n)]),
        () => prepare.readMemory(0, 1),
        () => prepare.readMemory(-1, 1),
        () => prepare.writeMemory(0, Uint8Array.of(1)),
        () => prepare.growMemory(1),
        () => prepare.memorySize(),
        () => prepare.intoPrototype(),
      ]) {
        expectThrows(action, CONSUMED);
      }
      const vm = startError!.prototype.prepare().start('flow', []);
      await step(vm, null);
      const fresh = vm.intoPrototype();
      await expectRefused(vm, null, CONSUMED);
      await expectRefused(vm, WasmValue.i32(0), CONSUMED);
      for (const action of [
        () => vm.readMemory(0, 1),
        () => vm.writeMemory(0, Uint8Array.of(1)),
        () => vm.growMemory(0),
        () => vm.memorySize(),
        () => vm.intoPrepare(),
        () => vm.intoPrototype(),
      ]) {
        expectThrows(action, CONSUMED);
      }
      await expectSumLike(step, fresh);
    });
  });

  test('WasmValue constructors refuse what has no representation with a RangeError', () => {
    const bad: (() => unknown)[] = [
      () => WasmValue.i32(2 ** 32),
      () => WasmValue.i32(0.5),
      () => WasmValue.i32(Number.NaN),
      () => WasmValue.i32('1' as unknown as number),
      () => WasmValue.i64(2n ** 64n),
      () => WasmValue.i64(1 as unknown as bigint),
      () => WasmValue.f32('1' as unknown as number),
      () => WasmValue.f64(1n as unknown as number),
    ];
    for (const action of bad) expect(action).toThrow(RangeError);
  });
});

/** A step left pending, what it must settle to, and the rest of its call. */
interface PendingStep {
  readonly vm: VirtualMachine;
  /** Starts the step (called synchronously right before the misuse, so that it is still pending). */
  readonly begin: () => Promise<ExecOutcome>;
  readonly expected: ExecOutcome;
  /** Drives the call from `expected` to its end and checks the result. */
  readonly finish: () => Promise<void>;
}

/** `flow` driven through `runAsync` up to `interrupts` interrupts, before a step is left pending. */
async function flowAt(proto: VirtualMachinePrototype, interrupts: number): Promise<VirtualMachine> {
  const vm = proto.prepare().start('flow', []);
  const answers = [null, null, WasmValue.i32(-3)];
  for (let i = 0; i < interrupts; i++) await vm.runAsync(i === 0 ? null : answers[i]!);
  return vm;
}

/** Steps that can be pending, each with the call around it. */
const PENDING_STEPS: readonly (readonly [string, (proto: VirtualMachinePrototype) => Promise<PendingStep>])[] = [
  [
    'the start of a call that pauses',
    async (proto) => {
      const vm = await flowAt(proto, 0);
      return {
        vm,
        begin: () => vm.runAsync(null),
        expected: { type: 'interrupted', id: 2, params: [{ type: 'i32', value: 1 }] },
        finish: async () => {
          expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 0, params: [] });
          expect(await vm.runAsync(WasmValue.i32(1))).toEqual({ type: 'interrupted', id: 1, params: [] });
          expect(await vm.runAsync(WasmValue.i64(2n))).toEqual({ type: 'finished', value: { type: 'i64', value: 3n } });
        },
      };
    },
  ],
  [
    'a resume that pauses again',
    async (proto) => {
      const vm = await flowAt(proto, 1);
      return {
        vm,
        begin: () => vm.runAsync(null),
        expected: { type: 'interrupted', id: 0, params: [] },
        finish: async () => {
          expect(await vm.runAsync(WasmValue.i32(-3))).toEqual({ type: 'interrupted', id: 1, params: [] });
          expect(await vm.runAsync(WasmValue.i64(10n))).toEqual({ type: 'finished', value: { type: 'i64', value: 7n } });
        },
      };
    },
  ],
  [
    'a resume to the end of the call',
    async (proto) => {
      const vm = await flowAt(proto, 3);
      return {
        vm,
        begin: () => vm.runAsync(WasmValue.i64(10n)),
        expected: { type: 'finished', value: { type: 'i64', value: 7n } },
        finish: async () => {
          await expect(vm.runAsync(null)).rejects.toMatchObject({ kind: 'Poisoned' });
          expect(await vm.intoPrepare().start('add', [WasmValue.i32(1), WasmValue.i64(1n)]).runAsync(null)).toMatchObject({ type: 'finished' });
        },
      };
    },
  ],
  [
    'the start of a call that finishes without a pause',
    async (proto) => {
      const vm = proto.prepare().start('add', [WasmValue.i32(2), WasmValue.i64(3n)]);
      return {
        vm,
        begin: () => vm.runAsync(null),
        expected: { type: 'finished', value: { type: 'i64', value: 5n } },
        finish: async () => {
          await expect(vm.runAsync(null)).rejects.toMatchObject({ kind: 'Poisoned' });
        },
      };
    },
  ],
];

describe.each(BACKENDS)('a step in progress (%s): every other step and every transition is UsageError(StepInProgress), memory access is allowed', (backend) => {
  const STEP_IN_PROGRESS: Expected = { cls: UsageError, kind: 'StepInProgress' };
  /** What run() throws while a step is pending: on JSPI, run() is refused before anything else. */
  const RUN_REFUSED: Expected = backend === 'jspi' ? { cls: UsageError, kind: 'SynchronousRunUnsupported' } : STEP_IN_PROGRESS;
  let base: VirtualMachinePrototype;
  beforeAll(async () => {
    base = await misuseGuest({ backend });
  });

  test.each(PENDING_STEPS)('while %s is pending: refused, and the step settles as if nothing had been tried', async (_name, make) => {
    const { vm, begin, expected, finish } = await make(base.clone());
    const memorySize = vm.memorySize();
    const pending = begin();
    // Everything below is tried synchronously, before the pending step can settle: every other
    // step, through either method, with any value (each attempt is made when refusal() is
    // called; its rejection is awaited afterwards)...
    const refusals: Promise<unknown>[] = [];
    for (const value of [null, WasmValue.i32(1), WasmValue.i64(1n), { type: 'i33' }, 5]) {
      refusals.push(refusal('runAsync', () => vm.runAsync(value as WasmValue)).then((e) => expectError(e, STEP_IN_PROGRESS)));
      refusals.push(refusal('run', () => vm.run(value as WasmValue)).then((e) => expectError(e, RUN_REFUSED)));
    }
    // ...every transition...
    expectThrows(() => vm.intoPrepare(), STEP_IN_PROGRESS);
    expectThrows(() => vm.intoPrototype(), STEP_IN_PROGRESS);
    // ...and the memory, which stays accessible in full.
    vm.writeMemory(4096, Uint8Array.of(1, 2, 3));
    expect(vm.readMemory(4096, 3)).toEqual(Uint8Array.of(1, 2, 3));
    expect(vm.readMemory(8, 5)).toEqual(new TextEncoder().encode('state'));
    vm.growMemory(1);
    expect(vm.memorySize()).toBe(memorySize + 1);
    expectThrows(() => vm.readMemory(-1, 1), { cls: OutOfBoundsError, kind: 'OutOfBounds' });

    await Promise.all(refusals);
    expect(await pending).toEqual(expected);
    expect(vm.readMemory(4096, 3)).toEqual(Uint8Array.of(1, 2, 3));
    expect(vm.memorySize()).toBe(memorySize + 1);
    await finish();
  });

  test('a pending step refuses the transitions even when its call traps; after it settles they work', async () => {
    const vm = (await faultGuest({ backend })).prepare().start('now', [WasmValue.i32(0), WasmValue.i32(0)]);
    const pending = vm.runAsync(null);
    expectThrows(() => vm.intoPrepare(), STEP_IN_PROGRESS);
    expectThrows(() => vm.intoPrototype(), STEP_IN_PROGRESS);
    const refused = refusal('runAsync', () => vm.runAsync(null));
    expectError(await refused, STEP_IN_PROGRESS);
    expect(await pending).toMatchObject({ type: 'trapped', trap: { kind: 'Unreachable' } });
    await expect(vm.runAsync(null)).rejects.toMatchObject({ kind: 'Poisoned' });
    await expect(vm.intoPrepare().start('calls_value', []).runAsync(null)).resolves.toEqual({ type: 'finished', value: { type: 'i32', value: 1 } });
  });

  test('a runAsync refused with a RunError leaves no step in progress once it has rejected', async () => {
    const vm = await flowAt(base.clone(), 2);
    await expect(vm.runAsync(WasmValue.i64(1n))).rejects.toMatchObject({ kind: 'BadValueType' });
    expect(await vm.runAsync(WasmValue.i32(4))).toEqual({ type: 'interrupted', id: 1, params: [] });
    expect(await vm.runAsync(WasmValue.i64(4n))).toEqual({ type: 'finished', value: { type: 'i64', value: 8n } });
    expect(vm.intoPrototype().backend).toBe(backend);
  });
});

describe('JSPI: run() is UsageError(SynchronousRunUnsupported) in every state and changes nothing', () => {
  const UNSUPPORTED: Expected = { cls: UsageError, kind: 'SynchronousRunUnsupported' };
  let base: VirtualMachinePrototype;
  let faults: VirtualMachinePrototype;
  beforeAll(async () => {
    base = await misuseGuest({ backend: 'jspi' });
    faults = await faultGuest({ backend: 'jspi' });
  });

  /** Every run() a host might try, refused synchronously, with a message that points to runAsync(). */
  function expectRunRefused(vm: VirtualMachine): void {
    for (const value of [null, WasmValue.i32(-3), WasmValue.i64(1n), undefined, {}, 5]) {
      const error = expectThrows(() => vm.run(value as WasmValue), UNSUPPORTED);
      expect(error.message).toMatch(/runAsync\(\)/);
    }
  }

  const STATES_JSPI: readonly (readonly [string, () => Promise<{ vm: VirtualMachine; begin?: () => void; rest: () => Promise<void> }>])[] = [
    [
      'before the first step',
      async () => {
        const vm = base.clone().prepare().start('add', [WasmValue.i32(2), WasmValue.i64(3n)]);
        return { vm, rest: async () => expect(await vm.runAsync(null)).toEqual({ type: 'finished', value: { type: 'i64', value: 5n } }) };
      },
    ],
    [
      'interrupted',
      async () => {
        const vm = await flowAt(base.clone(), 2);
        return {
          vm,
          rest: async () => {
            expect(await vm.runAsync(WasmValue.i32(-3))).toEqual({ type: 'interrupted', id: 1, params: [] });
            expect(await vm.runAsync(WasmValue.i64(10n))).toEqual({ type: 'finished', value: { type: 'i64', value: 7n } });
          },
        };
      },
    ],
    [
      'finished',
      async () => {
        const vm = base.clone().prepare().start('add', [WasmValue.i32(2), WasmValue.i64(3n)]);
        await vm.runAsync(null);
        return {
          vm,
          rest: async () => {
            await expect(vm.runAsync(null)).rejects.toMatchObject({ kind: 'Poisoned' });
            expect(await vm.intoPrepare().start('add', [WasmValue.i32(1), WasmValue.i64(1n)]).runAsync(null)).toMatchObject({ type: 'finished' });
          },
        };
      },
    ],
    [
      'trapped',
      async () => {
        const vm = faults.clone().prepare().start('now', [WasmValue.i32(3), WasmValue.i32(0)]);
        expect(await vm.runAsync(null)).toMatchObject({ type: 'trapped', trap: { kind: 'DivisionByZero' } });
        return {
          vm,
          rest: async () => {
            await expect(vm.runAsync(null)).rejects.toMatchObject({ kind: 'Poisoned' });
            expect(await vm.intoPrepare().start('calls_value', []).runAsync(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 1 } });
          },
        };
      },
    ],
    [
      'a step in progress',
      async () => {
        const vm = await flowAt(base.clone(), 1);
        let pending: Promise<ExecOutcome> | null = null;
        return {
          vm,
          // Started synchronously right before run() is tried, so that it is still pending.
          begin: () => {
            pending = vm.runAsync(null);
          },
          rest: async () => {
            expect(await pending).toEqual({ type: 'interrupted', id: 0, params: [] });
            expect(await vm.runAsync(WasmValue.i32(-3))).toEqual({ type: 'interrupted', id: 1, params: [] });
            expect(await vm.runAsync(WasmValue.i64(10n))).toEqual({ type: 'finished', value: { type: 'i64', value: 7n } });
          },
        };
      },
    ],
  ];

  test.each(STATES_JSPI)('%s: refused, memory unchanged, and runAsync() continues as if run() had not been called', async (_state, make) => {
    const { vm, begin, rest } = await make();
    const before = snapshot(vm);
    begin?.();
    expectRunRefused(vm);
    expect(snapshot(vm)).toEqual(before);
    await rest();
  });

  test('a consumed JSPI machine: run() and runAsync() are UsageError(Consumed)', async () => {
    const vm = base.clone().prepare().start('add', [WasmValue.i32(2), WasmValue.i64(3n)]);
    const fresh = vm.intoPrototype();
    expectThrows(() => vm.run(null), { cls: UsageError, kind: 'Consumed' });
    expectError(await refusal('runAsync', () => vm.runAsync(null)), { cls: UsageError, kind: 'Consumed' });
    await expectSumLike((m, v) => m.runAsync(v), fresh);
  });
});

/** The misuse guest's `add` works on a fresh instance of `proto`. */
async function expectSumLike(step: Stepper, proto: VirtualMachinePrototype): Promise<void> {
  expect(await step(proto.prepare().start('add', [WasmValue.i32(-5), WasmValue.i64(2n)]), null)).toEqual({ type: 'finished', value: { type: 'i64', value: -3n } });
}
