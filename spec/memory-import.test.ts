/**
 * Any imported memory name, opt-in (`VmConfig.anyMemoryImport`): smoldot's rule (`env`.`memory`
 * only) stays the default; with the option a memory imported under any name (Emscripten's
 * `a`.`a`) is allocated by the VM like `env`.`memory`, and is the memory the host reads and
 * writes. On both backends.
 */
import { NewError, VirtualMachinePrototype, type VmConfig, WasmValue } from '../lib/index.js';
import { VARIANTS, type Variant, backendOf, createOn } from './support/backends.js';
import { runThrough } from './support/drive.js';
import { wat } from './support/wat.js';

const GUEST = (module: string, name: string) => `(module
  (import "${module}" "${name}" (memory 1 4))
  (import "env" "ask" (func $ask (result i32)))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "poke") (param i32 i32) (i32.store (local.get 0) (i32.add (local.get 1) (call $ask))))
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))`;

describe.each(VARIANTS)('%s', (backend: Variant) => {
  const create = async (module: string, name: string, config: Partial<VmConfig> = {}) =>
    createOn(backend, { moduleBytes: await wat(GUEST(module, name)), symbols: () => 1, anyMemoryImport: true, ...config });

  test('refused by default, naming the option', async () => {
    await expect(create('a', 'a', { anyMemoryImport: false })).rejects.toMatchObject({
      kind: 'MemoryNotNamedMemory',
      refusals: [{ where: 'the import "a"."a"', allowedBy: 'anyMemoryImport: true' }],
    });
  });

  test.each([
    ['a', 'a'],
    ['env', 'mem'],
    ['__proto__', 'constructor'],
    ['m\\00x', ''],
  ])('"%s"."%s" is the memory the host and the guest share', async (module, name) => {
    const proto = await create(module, name);
    expect(proto.memoryMaxPages()).toBe(4);
    const prepare = proto.prepare();
    prepare.writeMemory(16, Uint8Array.of(0x2a, 0, 0, 0));
    let vm = prepare.start('peek', [WasmValue.i32(16)]);
    expect(await runThrough(vm)).toEqual({ type: 'finished', value: WasmValue.i32(0x2a) });
    vm = vm.intoPrepare().start('poke', [WasmValue.i32(32), WasmValue.i32(100)]);
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
    // The memory is reachable while paused, as for env.memory.
    vm.writeMemory(40, Uint8Array.of(9));
    expect(await vm.runAsync(WasmValue.i32(5))).toEqual({ type: 'finished', value: null });
    expect([...vm.readMemory(32, 4)]).toEqual([105, 0, 0, 0]);
    expect([...vm.readMemory(40, 1)]).toEqual([9]);
    vm = vm.intoPrepare().start('grow', []);
    expect(await runThrough(vm)).toEqual({ type: 'finished', value: WasmValue.i32(1) });
    expect(vm.memorySize()).toBe(2);
  });

  test('maxMemoryPages caps it', async () => {
    const proto = await create('a', 'a', { maxMemoryPages: 2 });
    expect(proto.memoryMaxPages()).toBe(2);
  });

  if (backendOf(backend) === 'asyncify') {
    test('an artifact made with the option is refused without it', async () => {
      const moduleBytes = await wat(GUEST('a', 'a'));
      const proto = await create('a', 'a');
      const artifact = proto.toArtifact();
      await expect(VirtualMachinePrototype.fromArtifact(artifact, { moduleBytes, symbols: () => 1 })).rejects.toMatchObject({
        kind: 'OptionsMismatch',
        message: expect.stringMatching(/anyMemoryImport/),
      });
      const rebuilt = await VirtualMachinePrototype.fromArtifact(artifact, { moduleBytes, symbols: () => 1, anyMemoryImport: true });
      expect(await runThrough(rebuilt.prepare().start('peek', [WasmValue.i32(0)]))).toMatchObject({ type: 'finished' });
    });
  }

  test('two memories are still refused', async () => {
    const error = await createOn(backend, {
      moduleBytes: await wat('(module (import "a" "a" (memory 1)) (memory (export "memory") 1))'),
      symbols: () => 0,
      anyMemoryImport: true,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NewError);
    expect(error).toMatchObject({ kind: 'TwoMemories' });
  });
});
