/**
 * State transitions: intoPrototype() from every state gives a fresh instance (memory zeroed,
 * data segments and globals reset); intoPrepare() after finished/trapped keeps memory and
 * globals; a consumed object refuses any reuse with a clear error.
 */
import { Prepare, UsageError, VirtualMachine, VirtualMachinePrototype, WasmValue } from '../lib/index.js';
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

async function prototype(): Promise<VirtualMachinePrototype> {
  return VirtualMachinePrototype.create({ moduleBytes: await wat(GUEST), symbols: () => 0 });
}

/** Dirties memory, globals and memory size through a finished call, and returns the Prepare after it. */
function dirty(proto: VirtualMachinePrototype): Prepare {
  const prepare = proto.prepare();
  prepare.writeMemory(1000, Uint8Array.of(42));
  const vm = prepare.start('step', []);
  expect(vm.run(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 101 } });
  return vm.intoPrepare();
}

/** Asserts that `proto` holds a fresh instance. */
function expectFresh(proto: VirtualMachinePrototype): void {
  expect(proto.globalValue('counter')).toBe(100);
  const prepare = proto.prepare();
  expect(prepare.memorySize()).toBe(1);
  expect(new TextDecoder().decode(prepare.readMemory(0, 4))).toBe('seed');
  expect(prepare.readMemory(4, 65536 - 4).every((b) => b === 0)).toBe(true);
  expect(prepare.start('counter_value', []).run(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 100 } });
}

describe('intoPrototype gives a fresh instance from every state', () => {
  test('from Prepare', async () => {
    expectFresh(dirty(await prototype()).intoPrototype());
  });

  test('from a VirtualMachine that has not run', async () => {
    const vm = dirty(await prototype()).start('counter_value', []);
    expectFresh(vm.intoPrototype());
  });

  test('from an interrupted VirtualMachine', async () => {
    const vm = dirty(await prototype()).start('paused', []);
    expect(vm.run(null)).toMatchObject({ type: 'interrupted' });
    expectFresh(vm.intoPrototype());
  });

  test('from a finished VirtualMachine', async () => {
    const vm = dirty(await prototype()).start('step', []);
    vm.run(null);
    expectFresh(vm.intoPrototype());
  });

  test('from a trapped VirtualMachine', async () => {
    const vm = dirty(await prototype()).start('crash', []);
    expect(vm.run(null)).toMatchObject({ type: 'trapped', trap: { kind: 'Unreachable' } });
    expectFresh(vm.intoPrototype());
  });
});

describe('intoPrepare keeps the instance', () => {
  test('after finished: memory, memory size and globals are kept', async () => {
    const prepare = dirty(await prototype());
    expect(prepare.memorySize()).toBe(2);
    expect(prepare.readMemory(1000, 1)).toEqual(Uint8Array.of(42));
    expect(prepare.readMemory(64, 4)).toEqual(Uint8Array.of(101, 0, 0, 0));
    expect(prepare.start('step', []).run(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 102 } });
  });

  test('after trapped: the writes before the trap are kept', async () => {
    const vm = (await prototype()).prepare().start('crash', []);
    vm.run(null);
    const prepare = vm.intoPrepare();
    expect(prepare.readMemory(256, 4)).toEqual(Uint8Array.of(9, 0, 0, 0));
    expect(prepare.start('counter_value', []).run(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 666 } });
  });

  test('an abandoned pause does not leak into the next call on a fresh instance', async () => {
    const vm = (await prototype()).prepare().start('paused', []);
    vm.run(null);
    const again = vm.intoPrototype().prepare().start('paused', []);
    expect(again.run(null)).toMatchObject({ type: 'interrupted' });
    expect(again.run(WasmValue.i32(3))).toEqual({ type: 'finished', value: { type: 'i32', value: 3 } });
  });

  test('is refused while the call is in progress, without consuming the machine', async () => {
    const vm = (await prototype()).prepare().start('paused', []);
    expect(() => vm.intoPrepare()).toThrow(UsageError);
    vm.run(null);
    let error: unknown;
    try {
      vm.intoPrepare();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ kind: 'CallInProgress', message: /finished or trapped/ });
    expect(vm.run(WasmValue.i32(8))).toEqual({ type: 'finished', value: { type: 'i32', value: 8 } });
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

    vm.run(null);
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
    expect(fresh).toBeInstanceOf(VirtualMachinePrototype);
    expect(vm).toBeInstanceOf(VirtualMachine);
  });
});
