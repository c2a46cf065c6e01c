/**
 * `maxMemoryPages`: a cap on the guest's memory that holds for the guest's own `memory.grow`
 * as well as for the host's `growMemory`, whether the module defines or imports its memory.
 */
import { ArtifactError, NewError, OutOfBoundsError, VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { wat } from './support/wat.js';

const grower = (memory: string): string => `(module
  ${memory}
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))`;

async function create(memory: string, maxMemoryPages?: number): Promise<VirtualMachinePrototype> {
  return VirtualMachinePrototype.create({
    moduleBytes: await wat(grower(memory)),
    symbols: () => 0,
    ...(maxMemoryPages === undefined ? {} : { maxMemoryPages }),
  });
}

function call(proto: VirtualMachinePrototype, fn: string, params: WasmValue[] = []): number {
  const outcome = proto.clone().prepare().start(fn, params).run(null);
  if (outcome.type !== 'finished') throw new Error(outcome.type);
  return outcome.value!.value as number;
}

describe.each([
  ['a defined memory', '(memory (export "memory") 2)'],
  ['an imported memory', '(import "env" "memory" (memory 2))'],
])('%s', (_name, memory) => {
  test('is capped for the guest and for the host', async () => {
    const proto = await create(memory, 5);
    expect(proto.memoryMaxPages()).toBe(5);
    // The guest's own memory.grow stops at the cap (it returns -1 past it).
    expect(call(proto, 'grow', [WasmValue.i32(4)])).toBe(-1);
    const vm = proto.prepare().start('grow', [WasmValue.i32(3)]);
    expect(vm.run(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 2 } });
    expect(vm.memorySize()).toBe(5);
    expect(() => vm.growMemory(1)).toThrow(OutOfBoundsError);
  });

  test('without a cap, the module limits apply', async () => {
    const proto = await create(memory);
    expect(proto.memoryMaxPages()).toBeNull();
    expect(call(proto, 'grow', [WasmValue.i32(100)])).toBe(2);
  });

  test('a module that starts larger than the cap is refused', async () => {
    await expect(create(memory, 1)).rejects.toMatchObject({
      kind: 'CouldntAllocateMemory',
      message: /starts with 2 pages, more than maxMemoryPages \(1\)/,
    });
  });
});

test('the lower of the module maximum and the cap wins', async () => {
  expect((await create('(memory (export "memory") 1 3)', 10)).memoryMaxPages()).toBe(3);
  expect((await create('(memory (export "memory") 1 30)', 10)).memoryMaxPages()).toBe(10);
});

test('the cap is part of an artifact', async () => {
  const artifact = (await create('(memory (export "memory") 1)', 4)).toArtifact();
  const moduleBytes = await wat(grower('(memory (export "memory") 1)'));
  const rebuilt = await VirtualMachinePrototype.fromArtifact(artifact, { moduleBytes, symbols: () => 0, maxMemoryPages: 4 });
  expect(rebuilt.memoryMaxPages()).toBe(4);
  const other = VirtualMachinePrototype.fromArtifact(artifact, { moduleBytes, symbols: () => 0, maxMemoryPages: 5 });
  await expect(other).rejects.toBeInstanceOf(ArtifactError);
  await expect(other).rejects.toMatchObject({ kind: 'OptionsMismatch', message: /maxMemoryPages 4 \(now 5\)/ });
});

test('a malformed cap is a usage error', async () => {
  await expect(create('(memory (export "memory") 1)', -1)).rejects.toMatchObject({ kind: 'InvalidArgument', message: /maxMemoryPages/ });
  await expect(create('(memory (export "memory") 1)', 1.5)).rejects.not.toBeInstanceOf(NewError);
});
