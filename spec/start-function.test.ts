/**
 * Start functions (`VmConfig.startFunction`): refused by default, as in smoldot; with the
 * option, never run hidden inside instantiation but as the first call of every fresh instance,
 * through the state machine (`Prepare.callStartFunction()`), pausing at its imports like any
 * call. On both backends.
 */
import { type Backend, NewError, type Prepare, StartError, type VirtualMachinePrototype, type VmConfig, WasmValue } from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { runThrough } from './support/drive.js';
import { wat } from './support/wat.js';

/**
 * A guest whose start function stores 7 at address 0, asks the host for a number (a pause) and
 * stores it at address 4; `get` reads both; `boom` makes the next start function trap.
 */
const GUEST = `(module
  (import "env" "ask" (func $ask (result i32)))
  (memory (export "memory") 1)
  (global $count (export "count") (mut i32) (i32.const 0))
  (func $init
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (i32.store (i32.const 0) (i32.const 7))
    (i32.store (i32.const 4) (call $ask))
    (if (i32.load (i32.const 8)) (then unreachable)))
  (func (export "get") (result i32) (i32.add (i32.load (i32.const 0)) (i32.load (i32.const 4))))
  (start $init))`;

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (e) {
    return e;
  }
  throw new Error('nothing was thrown');
}

describe.each(BACKENDS)('%s', (backend: Backend) => {
  const create = async (config: Partial<VmConfig> = {}, source = GUEST): Promise<VirtualMachinePrototype> =>
    createOn(backend, { moduleBytes: await wat(source), symbols: () => 3, startFunction: true, ...config });

  /** Runs the pending start function of `prepare`, answering its import with `answer`. */
  const runStart = async (prepare: Prepare, answer = 35): Promise<Prepare> => {
    const vm = prepare.callStartFunction();
    expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 3, params: [] });
    expect(await vm.runAsync(WasmValue.i32(answer))).toEqual({ type: 'finished', value: null });
    return vm.intoPrepare();
  };

  test('refused by default, naming the option that allows it', async () => {
    let error: unknown;
    try {
      await create({ startFunction: false });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NewError);
    expect(error).toMatchObject({ kind: 'StartFunctionNotSupported' });
    expect((error as NewError).refusals[0]).toMatchObject({ where: 'the start section (function 1)', allowedBy: 'startFunction: true' });
  });

  test('nothing runs at instantiation: the start function is the first call, and pauses like any call', async () => {
    const proto = await create();
    expect(proto.globalValue('count')).toBe(0);
    let prepare = proto.prepare();
    expect(prepare.startFunctionPending).toBe(true);
    expect(prepare.readMemory(0, 8)).toEqual(new Uint8Array(8));

    prepare = await runStart(prepare);
    expect(prepare.startFunctionPending).toBe(false);
    expect(await runThrough(prepare.start('get', []))).toEqual({ type: 'finished', value: WasmValue.i32(42) });
  });

  test('exports cannot be called before it finished; the refusal gives the instance back', async () => {
    const prepare = (await create()).prepare();
    const error = thrownBy(() => prepare.start('get', []));
    expect(error).toBeInstanceOf(StartError);
    expect(error).toMatchObject({ kind: 'StartFunctionPending' });
    const again = (error as StartError).prototype.prepare();
    expect(again.startFunctionPending).toBe(true);
    const done = await runStart(again, 1);
    expect(await runThrough(done.start('get', []))).toEqual({ type: 'finished', value: WasmValue.i32(8) });
  });

  test('it runs once per instance, and every fresh instance runs it again from a fresh state', async () => {
    const proto = await create();
    const prepare = await runStart(proto.prepare());
    const error = thrownBy(() => prepare.callStartFunction());
    expect(error).toMatchObject({ kind: 'NoStartFunctionPending', message: 'the start function already ran on this instance' });

    // intoPrototype() (a reset or a new instance: the guest cannot tell) and clone() are fresh.
    const renewed = (error as StartError).prototype.prepare().intoPrototype();
    expect(renewed.globalValue('count')).toBe(0);
    const fresh = renewed.prepare();
    expect(fresh.startFunctionPending).toBe(true);
    expect(fresh.readMemory(0, 8)).toEqual(new Uint8Array(8));
    const clone = fresh.intoPrototype().clone().prepare();
    expect(clone.startFunctionPending).toBe(true);
    const ran = await runStart(clone, 2);
    expect(ran.intoPrototype().globalValue('count')).toBe(0);
  });

  test('a start function abandoned while paused leaves a fresh instance behind', async () => {
    const vm = (await create()).prepare().callStartFunction();
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
    const prepare = vm.intoPrototype().prepare();
    expect(prepare.startFunctionPending).toBe(true);
    expect(prepare.readMemory(0, 8)).toEqual(new Uint8Array(8));
  });

  test('a start function that traps leaves an instance that cannot be used, as a failed instantiation', async () => {
    let prepare = (await create()).prepare();
    prepare.writeMemory(8, Uint8Array.of(1)); // the host may set up memory before the start function
    const vm = prepare.callStartFunction();
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
    expect(await vm.runAsync(WasmValue.i32(0))).toMatchObject({ type: 'trapped', trap: { kind: 'Unreachable' } });
    prepare = vm.intoPrepare();
    expect(prepare.startFunctionPending).toBe(false);
    const error = thrownBy(() => prepare.start('get', []));
    expect(error).toMatchObject({ kind: 'StartFunctionPending', message: expect.stringMatching(/trapped on this instance/) });
    const after = (error as StartError).prototype.prepare();
    expect(thrownBy(() => after.callStartFunction())).toMatchObject({ kind: 'NoStartFunctionPending' });
  });

  test('a start function of the wrong type is invalid, also when the start section is taken out', async () => {
    // The JSPI backend compiles the renamed module, which has no start section any more: the
    // guest's own bytes must be validated too (found by the MVP suite's start.wast).
    let error: unknown;
    try {
      await create({}, '(module (memory (export "memory") 1) (func $f (param i32)) (start $f))');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NewError);
    expect(error).toMatchObject({ kind: 'InvalidWasm', message: expect.stringMatching(/not a valid WebAssembly module/) });
  });

  test('a module without a start function has none pending', async () => {
    const prepare = (await create({}, '(module (memory (export "memory") 1) (func (export "f")))')).prepare();
    expect(prepare.startFunctionPending).toBe(false);
    expect(thrownBy(() => prepare.callStartFunction())).toMatchObject({
      kind: 'NoStartFunctionPending',
      message: 'the module has no start function',
    });
  });

  test('a start function that is an import pauses at once', async () => {
    const proto = await create({}, '(module (import "env" "ask" (func $ask)) (memory (export "memory") 1) (start $ask))');
    const vm = proto.prepare().callStartFunction();
    expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 3, params: [] });
    expect(await vm.runAsync(null)).toEqual({ type: 'finished', value: null });
  });

  if (backend === 'asyncify') {
    test('an artifact keeps the start function', async () => {
      const proto = await create();
      const rebuilt = await (await import('../lib/index.js')).VirtualMachinePrototype.fromArtifact(proto.toArtifact(), {
        moduleBytes: await wat(GUEST),
        symbols: () => 3,
        startFunction: true,
      });
      const prepare = await runStart(rebuilt.prepare());
      expect(await runThrough(prepare.start('get', []))).toEqual({ type: 'finished', value: WasmValue.i32(42) });
    });
  }
});
