/**
 * `maxMemoryPages`: a cap on the guest's memory that holds for the guest's own `memory.grow`
 * as well as for the host's `growMemory`, whether the module defines or imports its memory.
 *
 * On both backends, driven through runAsync. On JSPI a cap that lowers a defined memory's
 * maximum rewrites the memory section, so such a module is renamed (see `needsRenaming` in
 * lib/load/load-module.ts); an imported memory is capped by the memory the VM allocates.
 */
import { ArtifactError, NewError, OutOfBoundsError, UsageError, VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { VARIANTS, createOn } from './support/backends.js';
import { wat } from './support/wat.js';

const grower = (memory: string): string => `(module
  ${memory}
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))`;

describe.each(VARIANTS)('%s', (backend) => {
  async function create(memory: string, maxMemoryPages?: number, requireMemory = true): Promise<VirtualMachinePrototype> {
    return createOn(backend, {
      moduleBytes: await wat(grower(memory)),
      symbols: () => 0,
      requireMemory,
      ...(maxMemoryPages === undefined ? {} : { maxMemoryPages }),
    });
  }

  async function call(proto: VirtualMachinePrototype, fn: string, params: WasmValue[] = []): Promise<number> {
    const outcome = await proto.clone().prepare().start(fn, params).runAsync(null);
    if (outcome.type !== 'finished') throw new Error(outcome.type);
    return outcome.value!.value as number;
  }

  describe.each([
    ['a defined memory', '(memory (export "memory") 2)', true, true],
    ['an imported memory', '(import "env" "memory" (memory 2))', true, false],
    ['a defined memory not exported (requireMemory: false)', '(memory 2)', false, true],
  ] as const)('%s', (_name, memory, requireMemory, _defined) => {
    test('is capped for the guest and for the host', async () => {
      const proto = await create(memory, 5, requireMemory);
      expect(proto.memoryMaxPages()).toBe(5);
      // The guest's own memory.grow stops at the cap (it returns -1 past it).
      expect(await call(proto, 'grow', [WasmValue.i32(4)])).toBe(-1);
      const vm = proto.prepare().start('grow', [WasmValue.i32(3)]);
      expect(await vm.runAsync(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 2 } });
      expect(vm.memorySize()).toBe(5);
      expect(() => vm.growMemory(1)).toThrow(OutOfBoundsError);
    });

    test('without a cap, the module limits apply', async () => {
      const proto = await create(memory, undefined, requireMemory);
      expect(proto.memoryMaxPages()).toBeNull();
      expect(await call(proto, 'grow', [WasmValue.i32(100)])).toBe(2);
    });

    // A regression test for JSPI: the loader once wrote the cap into the memory section
    // (maximum 1 below the initial 2) before the module rules ran, so the engine refused the
    // rewritten bytes and create() rejected with InvalidWasm instead of CouldntAllocateMemory.
    test('a module that starts larger than the cap is refused', async () => {
      await expect(create(memory, 1, requireMemory)).rejects.toMatchObject({
        kind: 'CouldntAllocateMemory',
        message: /starts with 2 pages, more than maxMemoryPages \(1\)/,
      });
    });
  });

  test('the lower of the module maximum and the cap wins', async () => {
    expect((await create('(memory (export "memory") 1 3)', 10)).memoryMaxPages()).toBe(3);
    expect((await create('(memory (export "memory") 1 30)', 10)).memoryMaxPages()).toBe(10);
  });

  test('the lower of the module maximum and the cap wins for the guest too', async () => {
    // 3 is the module's own maximum (JSPI keeps the module as it is), 10 the cap (JSPI rewrites it).
    expect(await call(await create('(memory (export "memory") 1 3)', 10), 'grow', [WasmValue.i32(3)])).toBe(-1);
    expect(await call(await create('(memory (export "memory") 1 30)', 10), 'grow', [WasmValue.i32(10)])).toBe(-1);
    expect(await call(await create('(memory (export "memory") 1 30)', 10), 'grow', [WasmValue.i32(9)])).toBe(1);
  });

  test('a malformed cap is a usage error', async () => {
    await expect(create('(memory (export "memory") 1)', -1)).rejects.toMatchObject({ kind: 'InvalidArgument', message: /maxMemoryPages/ });
    await expect(create('(memory (export "memory") 1)', 1.5)).rejects.not.toBeInstanceOf(NewError);
  });
});

// Artifacts hold the Asyncify-instrumented module: they exist on Asyncify only.
test('on asyncify, the cap is part of an artifact', async () => {
  const moduleBytes = await wat(grower('(memory (export "memory") 1)'));
  const artifact = (await createOn('asyncify', { moduleBytes, symbols: () => 0, maxMemoryPages: 4 })).toArtifact();
  const rebuilt = await VirtualMachinePrototype.fromArtifact(artifact, { moduleBytes, symbols: () => 0, maxMemoryPages: 4 });
  expect(rebuilt.memoryMaxPages()).toBe(4);
  const other = VirtualMachinePrototype.fromArtifact(artifact, { moduleBytes, symbols: () => 0, maxMemoryPages: 5 });
  await expect(other).rejects.toBeInstanceOf(ArtifactError);
  await expect(other).rejects.toMatchObject({ kind: 'OptionsMismatch', message: /maxMemoryPages 4 \(now 5\)/ });
});

test('on jspi, a capped prototype has no artifact', async () => {
  const proto = await createOn('jspi', { moduleBytes: await wat(grower('(memory (export "memory") 1)')), symbols: () => 0, maxMemoryPages: 4 });
  expect(() => proto.toArtifact()).toThrow(UsageError);
  expect(() => proto.toArtifact()).toThrow(expect.objectContaining({ kind: 'UnsupportedOnBackend' }));
});
