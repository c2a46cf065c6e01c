/**
 * The prototype (globalValue, memoryMaxPages, prepare, clone) and the Prepare state (memory
 * access, start and every StartError kind, each giving back a working prototype), on both
 * backends, driven through runAsync.
 */
import {
  GlobalValueError,
  OutOfBoundsError,
  StartError,
  type StartErrorKind,
  UsageError,
  type VirtualMachinePrototype,
  type VmConfig,
  WasmValue,
} from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { wat } from './support/wat.js';

const GUEST = `(module
  (memory (export "memory") 1 3)
  (global (export "heap_base") i32 (i32.const 1024))
  (global (export "negative") i32 (i32.const -2))
  (global (export "wide") i64 (i64.const 5))
  (global $counter (export "counter") (mut i32) (i32.const 7))
  (data (i32.const 16) "hello")
  (func (export "load") (param $at i32) (result i32) (i32.load8_u (local.get $at)))
  (func (export "bump") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))
  (func (export "floaty") (param f32) (result i32) (i32.const 0))
  (func (export "add64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1))))`;

describe.each(BACKENDS)('%s', (backend) => {
  async function guest(config: Partial<VmConfig> = {}): Promise<VirtualMachinePrototype> {
    return createOn(backend, { moduleBytes: await wat(GUEST), symbols: () => 0, ...config });
  }

  async function finishedValue(proto: VirtualMachinePrototype, fn: string, params: WasmValue[]): Promise<unknown> {
    const outcome = await proto.prepare().start(fn, params).runAsync(null);
    if (outcome.type !== 'finished') throw new Error(`expected finished, got ${outcome.type}`);
    return outcome.value?.value;
  }

  describe('VirtualMachinePrototype', () => {
    test('backend reports the backend, for every prototype made from it', async () => {
      const proto = await guest();
      expect(proto.backend).toBe(backend);
      expect(proto.clone().backend).toBe(backend);
      const vm = proto.clone().prepare().start('bump', []);
      await vm.runAsync(null);
      expect(vm.intoPrototype().backend).toBe(backend);
      let error: unknown;
      try {
        proto.prepare().start('nope', []);
      } catch (e) {
        error = e;
      }
      expect((error as StartError).prototype.backend).toBe(backend);
    });

    test('globalValue reads exported i32 globals as unsigned', async () => {
      const proto = await guest();
      expect(proto.globalValue('heap_base')).toBe(1024);
      expect(proto.globalValue('negative')).toBe(0xffff_fffe);
      expect(proto.globalValue('counter')).toBe(7);
    });

    test('globalValue errors', async () => {
      const proto = await guest();
      const error = (name: string): GlobalValueError => {
        try {
          proto.globalValue(name);
        } catch (e) {
          expect(e).toBeInstanceOf(GlobalValueError);
          return e as GlobalValueError;
        }
        throw new Error('no error');
      };
      expect(error('missing')).toMatchObject({ kind: 'NotFound', message: /no export is named "missing"/ });
      expect(error('load')).toMatchObject({ kind: 'NotFound', message: /is a function, not a global/ });
      expect(error('wide')).toMatchObject({ kind: 'Invalid', message: /i64, not an i32/ });
    });

    test('memoryMaxPages is the declared maximum, or null', async () => {
      expect((await guest()).memoryMaxPages()).toBe(3);
      const unbounded = await createOn(backend, {
        moduleBytes: await wat('(module (memory (export "memory") 1))'),
        symbols: () => 0,
      });
      expect(unbounded.memoryMaxPages()).toBeNull();
    });

    test('prepare consumes the prototype', async () => {
      const proto = await guest();
      proto.prepare();
      expect(() => proto.prepare()).toThrow(UsageError);
      expect(() => proto.globalValue('heap_base')).toThrow(/consumed by prepare\(\)/);
      expect(() => proto.clone()).toThrow(expect.objectContaining({ kind: 'Consumed' }));
    });

    test('clone gives an independent fresh instance', async () => {
      const proto = await guest();
      const copy = proto.clone();
      const prepare = proto.prepare();
      prepare.writeMemory(16, Uint8Array.of(1, 2));
      const vm = prepare.start('bump', []);
      expect(await vm.runAsync(null)).toMatchObject({ type: 'finished', value: { value: 8 } });
      // The clone saw neither the write nor the global change.
      expect(copy.globalValue('counter')).toBe(7);
      expect(copy.prepare().readMemory(16, 5)).toEqual(new TextEncoder().encode('hello'));
    });
  });

  describe('Prepare memory access', () => {
    test('reads the data segments, writes, and grows', async () => {
      const prepare = (await guest()).prepare();
      expect(prepare.memorySize()).toBe(1);
      expect(new TextDecoder().decode(prepare.readMemory(16, 5))).toBe('hello');
      prepare.writeMemory(100, Uint8Array.of(9, 8, 7));
      expect(prepare.readMemory(99, 5)).toEqual(Uint8Array.of(0, 9, 8, 7, 0));
      prepare.growMemory(2);
      expect(prepare.memorySize()).toBe(3);
      prepare.writeMemory(3 * 65536 - 1, Uint8Array.of(0xaa));
      expect(prepare.readMemory(3 * 65536 - 1, 1)).toEqual(Uint8Array.of(0xaa));
      prepare.growMemory(0);
      expect(prepare.memorySize()).toBe(3);
    });

    test('readMemory returns a copy', async () => {
      const prepare = (await guest()).prepare();
      const copy = prepare.readMemory(16, 5);
      copy.fill(0);
      expect(new TextDecoder().decode(prepare.readMemory(16, 5))).toBe('hello');
    });

    test.each([
      ['past the end', 65536 - 2, 3],
      ['a negative offset', -1, 1],
      ['a negative size', 0, -1],
      ['a fractional offset', 0.5, 1],
      ['a fractional size', 0, 1.5],
      ['an offset past 2^32', 2 ** 32 + 1, 1],
      ['a size past 2^32', 0, 2 ** 32],
      ['NaN', Number.NaN, 1],
      ['an unsafe integer', 2 ** 53, 1],
    ])('out-of-range access: %s', async (_name, offset, size) => {
      const prepare = (await guest()).prepare();
      expect(() => prepare.readMemory(offset, size)).toThrow(OutOfBoundsError);
      if (size >= 0 && Number.isInteger(size)) {
        const data = new Uint8Array(Math.min(size, 16)).fill(0xff);
        if (data.length === size) expect(() => prepare.writeMemory(offset, data)).toThrow(OutOfBoundsError);
      }
      // Nothing was written by the refused calls.
      expect(prepare.readMemory(65536 - 16, 16)).toEqual(new Uint8Array(16));
    });

    test('a refused write writes nothing, not even the part that fits', async () => {
      const prepare = (await guest()).prepare();
      expect(() => prepare.writeMemory(65536 - 2, Uint8Array.of(1, 2, 3))).toThrow(
        /cannot write 3 bytes at offset 65534: the memory is 65536 bytes long/,
      );
      expect(prepare.readMemory(65536 - 2, 2)).toEqual(Uint8Array.of(0, 0));
    });

    test('growing past the maximum is refused and changes nothing', async () => {
      const prepare = (await guest()).prepare();
      expect(() => prepare.growMemory(3)).toThrow(OutOfBoundsError);
      expect(() => prepare.growMemory(3)).toThrow(/it has 1 and its maximum is 3/);
      expect(() => prepare.growMemory(-1)).toThrow(OutOfBoundsError);
      expect(() => prepare.growMemory(1.5)).toThrow(OutOfBoundsError);
      expect(prepare.memorySize()).toBe(1);
      prepare.growMemory(2);
      expect(prepare.memorySize()).toBe(3);
    });

    test('the guest reads what the host wrote before the call', async () => {
      const prepare = (await guest()).prepare();
      prepare.writeMemory(500, Uint8Array.of(123));
      expect(await prepare.start('load', [WasmValue.i32(500)]).runAsync(null)).toEqual({
        type: 'finished',
        value: { type: 'i32', value: 123 },
      });
    });
  });

  describe('Prepare.start', () => {
    const failures: [string, string, WasmValue[], StartErrorKind, RegExp][] = [
      ['an unknown name', 'nope', [], 'FunctionNotFound', /no export is named "nope"/],
      ['a memory', 'memory', [], 'NotAFunction', /"memory" is a memory, not a function/],
      ['a global', 'heap_base', [], 'NotAFunction', /is a global, not a function/],
      ['an f32 signature', 'floaty', [WasmValue.f32(1)], 'SignatureNotSupported', /uses f32/],
      ['too few parameters', 'load', [], 'InvalidParameters', /takes 1 parameters \(i32\) -> i32, got 0/],
      ['too many parameters', 'load', [WasmValue.i32(1), WasmValue.i32(2)], 'InvalidParameters', /got 2/],
      ['a wrong type', 'load', [WasmValue.i64(1n)], 'InvalidParameters', /parameter 0 of "load" must be an i32/],
      ['an i32 out of range', 'load', [{ type: 'i32', value: 2 ** 32 }], 'InvalidParameters', /not an integer/],
      ['a fractional i32', 'load', [{ type: 'i32', value: 0.5 }], 'InvalidParameters', /not an integer/],
      ['a number as an i64', 'add64', [{ type: 'i64', value: 1 as unknown as bigint }, WasmValue.i64(1n)], 'InvalidParameters', /must be a bigint/],
      ['null as a parameter', 'load', [null as unknown as WasmValue], 'InvalidParameters', /got null/],
    ];

    test.each(failures)('%s', async (_name, fn, params, kind, message) => {
      const prepare = (await guest()).prepare();
      prepare.writeMemory(200, Uint8Array.of(77));
      let error: StartError | null = null;
      try {
        prepare.start(fn, params);
      } catch (e) {
        error = e as StartError;
      }
      expect(error).toBeInstanceOf(StartError);
      expect(error!.kind).toBe(kind);
      expect(error!.message).toMatch(message);
      // The Prepare is consumed...
      expect(() => prepare.memorySize()).toThrow(/consumed by start\(\)/);
      // ...and the error gives back a working prototype on the same instance.
      const again = error!.prototype.prepare();
      expect(again.readMemory(200, 1)).toEqual(Uint8Array.of(77));
      expect(await again.start('load', [WasmValue.i32(200)]).runAsync(null)).toEqual({
        type: 'finished',
        value: { type: 'i32', value: 77 },
      });
    });

    test('f32 exports can be started with floats', async () => {
      const proto = await guest({ floats: true });
      expect(await finishedValue(proto, 'floaty', [WasmValue.f32(1.5)])).toBe(0);
    });

    test('unsigned spellings of i32/i64 parameters are accepted', async () => {
      const proto = await guest();
      expect(await finishedValue(proto.clone(), 'add64', [WasmValue.i64(2n ** 64n - 1n), WasmValue.i64(3n)])).toBe(2n);
      expect(await finishedValue(proto, 'add64', [{ type: 'i64', value: 2n ** 63n }, WasmValue.i64(0n)])).toBe(-(2n ** 63n));
    });

    test('a non-string name or non-array params is a usage error that consumes nothing', async () => {
      const prepare = (await guest()).prepare();
      expect(() => prepare.start(42 as unknown as string, [])).toThrow(UsageError);
      expect(() => prepare.start('load', 'x' as unknown as WasmValue[])).toThrow(/must be an array/);
      expect(prepare.memorySize()).toBe(1);
    });

    test('intoPrototype from Prepare gives a fresh instance', async () => {
      const prepare = (await guest()).prepare();
      prepare.writeMemory(16, Uint8Array.of(0, 0, 0));
      prepare.growMemory(1);
      const fresh = prepare.intoPrototype();
      expect(() => prepare.readMemory(0, 1)).toThrow(/consumed by intoPrototype\(\)/);
      const again = fresh.prepare();
      expect(again.memorySize()).toBe(1);
      expect(new TextDecoder().decode(again.readMemory(16, 5))).toBe('hello');
    });
  });

  test('a module without memory has a memory of size 0 that cannot grow', async () => {
    const proto = await createOn(backend, {
      moduleBytes: await wat('(module (func (export "f")))'),
      symbols: () => 0,
      requireMemory: false,
    });
    expect(proto.memoryMaxPages()).toBeNull();
    const prepare = proto.prepare();
    expect(prepare.memorySize()).toBe(0);
    expect(prepare.readMemory(0, 0)).toEqual(new Uint8Array(0));
    expect(() => prepare.readMemory(0, 1)).toThrow(OutOfBoundsError);
    expect(() => prepare.growMemory(1)).toThrow(/the module has no memory/);
    prepare.growMemory(0);
    expect(await prepare.start('f', []).runAsync(null)).toEqual({ type: 'finished', value: null });
  });
});
