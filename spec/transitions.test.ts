/**
 * State transitions: intoPrototype() from every state gives a fresh instance (memory zeroed,
 * data segments and globals reset); intoPrepare() after finished/trapped keeps memory and
 * globals; a consumed object refuses any reuse with a clear error. On both backends, driven
 * through runAsync.
 */
import { Prepare, UsageError, VirtualMachine, VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { asyncError } from './support/drive.js';
import { wat } from './support/wat.js';

const GUEST = `(module
  (import "env" "wait" (func $wait (result i32)))
  (memory (export "memory") 1 4)
  (global $counter (export "counter") (mut i32) (i32.const 100))
  (data (i32.const 0) "seed")
  (func (export "step") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (i32.store (i32.const 64) (global.get $counter))
    (drop (memory.grow (i32.const 1)))
    (global.get $counter))
  (func (export "paused") (result i32)
    (global.set $counter (i32.const 555))
    (i32.store (i32.const 128) (i32.const 0x01020304))
    (call $wait))
  (func (export "crash") (global.set $counter (i32.const 666)) (i32.store (i32.const 256) (i32.const 9)) (unreachable))
  (func (export "counter_value") (result i32) (global.get $counter)))`;

describe.each(BACKENDS)('%s', (backend) => {
  let base: VirtualMachinePrototype;
  beforeAll(async () => {
    base = await createOn(backend, { moduleBytes: await wat(GUEST), symbols: () => 0 });
  });

  /** A new prototype of the guest (a clone of one created once: a fresh instance, as create() gives). */
  async function prototype(): Promise<VirtualMachinePrototype> {
    return base.clone();
  }

  /** Dirties memory, globals and memory size through a finished call, and returns the Prepare after it. */
  async function dirty(proto: VirtualMachinePrototype): Promise<Prepare> {
    const prepare = proto.prepare();
    prepare.writeMemory(1000, Uint8Array.of(42));
    const vm = prepare.start('step', []);
    expect(await vm.runAsync(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 101 } });
    return vm.intoPrepare();
  }

  /** Asserts that `proto` holds a fresh instance. */
  async function expectFresh(proto: VirtualMachinePrototype): Promise<void> {
    expect(proto.globalValue('counter')).toBe(100);
    const prepare = proto.prepare();
    expect(prepare.memorySize()).toBe(1);
    expect(new TextDecoder().decode(prepare.readMemory(0, 4))).toBe('seed');
    expect(prepare.readMemory(4, 65536 - 4).every((b) => b === 0)).toBe(true);
    expect(await prepare.start('counter_value', []).runAsync(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 100 } });
  }

  describe('intoPrototype gives a fresh instance from every state', () => {
    test('from Prepare', async () => {
      await expectFresh((await dirty(await prototype())).intoPrototype());
    });

    test('from a VirtualMachine that has not run', async () => {
      const vm = (await dirty(await prototype())).start('counter_value', []);
      await expectFresh(vm.intoPrototype());
    });

    test('from an interrupted VirtualMachine', async () => {
      const vm = (await dirty(await prototype())).start('paused', []);
      expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
      await expectFresh(vm.intoPrototype());
    });

    test('from a finished VirtualMachine', async () => {
      const vm = (await dirty(await prototype())).start('step', []);
      await vm.runAsync(null);
      await expectFresh(vm.intoPrototype());
    });

    test('from a trapped VirtualMachine', async () => {
      const vm = (await dirty(await prototype())).start('crash', []);
      expect(await vm.runAsync(null)).toMatchObject({ type: 'trapped', trap: { kind: 'Unreachable' } });
      await expectFresh(vm.intoPrototype());
    });
  });

  describe('intoPrepare keeps the instance', () => {
    test('after finished: memory, memory size and globals are kept', async () => {
      const prepare = await dirty(await prototype());
      expect(prepare.memorySize()).toBe(2);
      expect(prepare.readMemory(1000, 1)).toEqual(Uint8Array.of(42));
      expect(prepare.readMemory(64, 4)).toEqual(Uint8Array.of(101, 0, 0, 0));
      expect(await prepare.start('step', []).runAsync(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 102 } });
    });

    test('after trapped: the writes before the trap are kept', async () => {
      const vm = (await prototype()).prepare().start('crash', []);
      await vm.runAsync(null);
      const prepare = vm.intoPrepare();
      expect(prepare.readMemory(256, 4)).toEqual(Uint8Array.of(9, 0, 0, 0));
      expect(await prepare.start('counter_value', []).runAsync(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 666 } });
    });

    test('an abandoned pause does not leak into the next call on a fresh instance', async () => {
      const vm = (await prototype()).prepare().start('paused', []);
      await vm.runAsync(null);
      const again = vm.intoPrototype().prepare().start('paused', []);
      expect(await again.runAsync(null)).toMatchObject({ type: 'interrupted' });
      expect(await again.runAsync(WasmValue.i32(3))).toEqual({ type: 'finished', value: { type: 'i32', value: 3 } });
    });

    test('is refused while the call is in progress, without consuming the machine', async () => {
      const vm = (await prototype()).prepare().start('paused', []);
      expect(() => vm.intoPrepare()).toThrow(UsageError);
      await vm.runAsync(null);
      let error: unknown;
      try {
        vm.intoPrepare();
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ kind: 'CallInProgress', message: /finished or trapped/ });
      expect(await vm.runAsync(WasmValue.i32(8))).toEqual({ type: 'finished', value: { type: 'i32', value: 8 } });
      expect(vm.intoPrepare()).toBeInstanceOf(Prepare);
    });
  });

  describe('consumed objects refuse reuse', () => {
    function expectConsumed(action: () => unknown, by: string): void {
      let error: unknown;
      try {
        action();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect(error).toMatchObject({ kind: 'Consumed', message: expect.stringContaining(`consumed by ${by}()`) });
    }

    test('every method of every state', async () => {
      const proto = await prototype();
      const prepare = proto.prepare();
      expectConsumed(() => proto.prepare(), 'prepare');
      expectConsumed(() => proto.memoryMaxPages(), 'prepare');

      const vm = prepare.start('paused', []);
      for (const action of [
        () => prepare.start('step', []),
        () => prepare.readMemory(0, 1),
        () => prepare.writeMemory(0, Uint8Array.of(1)),
        () => prepare.growMemory(1),
        () => prepare.memorySize(),
        () => prepare.intoPrototype(),
      ]) {
        expectConsumed(action, 'start');
      }

      await vm.runAsync(null);
      const fresh = vm.intoPrototype();
      for (const action of [
        () => vm.run(WasmValue.i32(1)),
        () => vm.readMemory(0, 1),
        () => vm.memorySize(),
        () => vm.intoPrepare(),
        () => vm.intoPrototype(),
      ]) {
        expectConsumed(action, 'intoPrototype');
      }
      // run() is Consumed on JSPI too (not SynchronousRunUnsupported), and runAsync rejects so.
      const rejection = await asyncError(vm, WasmValue.i32(1));
      expect(rejection).toBeInstanceOf(UsageError);
      expect(rejection).toMatchObject({ kind: 'Consumed', message: expect.stringContaining('consumed by intoPrototype()') });
      expect(fresh).toBeInstanceOf(VirtualMachinePrototype);
      expect(vm).toBeInstanceOf(VirtualMachine);
    });
  });
});
