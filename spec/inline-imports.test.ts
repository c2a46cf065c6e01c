/**
 * Inline host functions: imports answered synchronously in place, without pausing, with access
 * to the guest's memory; their failures are `HostFunction` traps; functions that only reach
 * inline imports are not instrumented.
 *
 * On both backends, driven through runAsync (on JSPI inline imports are ordinary synchronous
 * imports, and nothing is instrumented at all: see the recursion tests at the end).
 */
import { type Backend, type GuestMemoryAccess, type InlineImport, VirtualMachinePrototype, type VmConfig, WasmValue } from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { settledDepthAsync } from './support/recursion.js';
import { RECURSIVE_GUEST, expectedRec, plainRecursion, settledDepth } from './support/recursion.js';
import { wat } from './support/wat.js';

const GUEST = `(module
  (import "env" "alloc" (func $alloc (param i32) (result i32)))
  (import "env" "wide" (func $wide (param i64) (result i64)))
  (import "env" "fetch" (func $fetch (param i32) (result i32)))
  (memory (export "memory") 1 8)
  (func (export "main") (param $n i32) (result i32) (local $p i32)
    (local.set $p (call $alloc (local.get $n)))
    ;; the host wrote n bytes of 7 at p; add the first one to what fetch returns
    (i32.add (i32.load8_u (local.get $p)) (call $fetch (local.get $p))))
  (func (export "wide") (result i64) (call $wide (i64.const -2)))
  (func (export "size") (result i32) (drop (call $alloc (i32.const 0))) (memory.size)))`;

describe.each(BACKENDS)('%s', (backend) => {
  async function create(inline: Record<string, InlineImport>, config: Partial<VmConfig> = {}): Promise<VirtualMachinePrototype> {
    return createOn(backend, {
      moduleBytes: await wat(GUEST),
      symbols: (_m, name) => (name === 'fetch' ? 1 : 2),
      inlineImports: (_m, name) => inline[name],
      ...config,
    });
  }

  test('inline imports run in place with access to memory; the others still pause', async () => {
    const calls: unknown[][] = [];
    const proto = await create({
      alloc: (memory, params) => {
        calls.push([...params]);
        memory.writeMemory(100, new Uint8Array(params[0] as number).fill(7));
        return 100;
      },
    });
    const vm = proto.prepare().start('main', [WasmValue.i32(3)]);
    // The first thing the guest does is the inline call: the first interrupt is fetch.
    expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 1, params: [{ type: 'i32', value: 100 }] });
    expect(calls).toEqual([[3]]);
    expect(vm.readMemory(100, 4)).toEqual(Uint8Array.of(7, 7, 7, 0));
    expect(await vm.runAsync(WasmValue.i32(30))).toEqual({ type: 'finished', value: { type: 'i32', value: 37 } });
  });

  test('symbols is not consulted for inline imports', async () => {
    const asked: string[] = [];
    await createOn(backend, {
      moduleBytes: await wat(GUEST),
      symbols: (_m, name) => (asked.push(name), 0),
      inlineImports: (_m, name) => (name === 'alloc' ? () => 0 : undefined),
    });
    expect(asked).toEqual(['wide', 'fetch']);
  });

  test('i64 parameters and results cross as bigints', async () => {
    const proto = await create({ wide: (_memory, [x]) => (x as bigint) * 3n });
    expect(await proto.prepare().start('wide', []).runAsync(null)).toEqual({ type: 'finished', value: { type: 'i64', value: -6n } });
  });

  test('an inline function may grow the memory, and the guest sees it', async () => {
    const proto = await create({ alloc: (memory: GuestMemoryAccess) => (memory.growMemory(2), 0) });
    expect(await proto.prepare().start('size', []).runAsync(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 3 } });
  });

  describe('failures are HostFunction traps, and the instance stays usable', () => {
    test.each<[string, InlineImport, RegExp]>([
      ['a throw', () => { throw new Error('disk on fire'); }, /"env"\."alloc" threw: disk on fire/],
      ['undefined for an i32', () => undefined, /"env"\."alloc" returned a bad value: expected an i32 result/],
      ['an i32 out of range', () => 2 ** 33, /not an integer in -2\^31/],
      ['a bigint for an i32', () => 1n, /must be a number, got bigint/],
      // Inline imports never pause, on JSPI either (they are not Suspending imports): a promise
      // is a bad value like any other non-number.
      ['a promise for an i32', () => Promise.resolve(1) as unknown as number, /"env"\."alloc" returned a bad value/],
    ])('%s', async (_name, alloc, message) => {
      const proto = await create({ alloc });
      const vm = proto.prepare().start('main', [WasmValue.i32(1)]);
      const outcome = await vm.runAsync(null);
      expect(outcome).toMatchObject({ type: 'trapped', trap: { kind: 'HostFunction' } });
      if (outcome.type !== 'trapped') return;
      expect(outcome.trap.message).toMatch(message);
      expect(outcome.trap.cause).toBeInstanceOf(Error);
      const next = vm.intoPrepare().start('wide', []);
      expect(await next.runAsync(null)).toEqual({ type: 'interrupted', id: 2, params: [{ type: 'i64', value: -2n }] });
    });

    test('a number for an i64', async () => {
      const proto = await create({ wide: () => 5 });
      const outcome = await proto.prepare().start('wide', []).runAsync(null);
      expect(outcome).toMatchObject({ type: 'trapped', trap: { kind: 'HostFunction', message: /must be a bigint/ } });
    });
  });

  test('an inlineImports callback that throws or returns a non-function refuses the import', async () => {
    const bytes = await wat(GUEST);
    const throwing = createOn(backend, { moduleBytes: bytes, symbols: () => 0, inlineImports: () => { throw new Error('nope'); } });
    await expect(throwing).rejects.toMatchObject({ kind: 'UnresolvedFunctionImport', message: /inlineImports\(\) threw: nope/ });
    const bad = createOn(backend, { moduleBytes: bytes, symbols: () => 0, inlineImports: () => 42 as unknown as InlineImport });
    await expect(bad).rejects.toMatchObject({ kind: 'UnresolvedFunctionImport', message: /returned 42/ });
  });

});

// Asyncify instruments every function that can reach a pausing import, and instrumented frames
// are larger: a pausing leaf cannot recurse as deep as an inline one. JSPI instruments nothing.
test('on asyncify, a function that only reaches inline imports is not instrumented: it recurses as deep as plain V8', async () => {
  const plain = await plainRecursion();
  const inline = await VirtualMachinePrototype.create({
    moduleBytes: await wat(RECURSIVE_GUEST),
    symbols: () => 0,
    inlineImports: () => () => 7,
    requireMemory: false,
  });
  const pausing = await VirtualMachinePrototype.create({ moduleBytes: await wat(RECURSIVE_GUEST), symbols: () => 0, requireMemory: false });
  let inlineProto = inline;
  const inlineOk = (n: number): boolean => {
    const vm = inlineProto.prepare().start('rec', [WasmValue.i32(n)]);
    const outcome = vm.run(null);
    inlineProto = vm.intoPrototype();
    return outcome.type === 'finished' && outcome.value?.value === (expectedRec(n, 7) | 0);
  };
  let pausingProto = pausing;
  const pausingOk = (n: number): boolean => {
    const vm = pausingProto.prepare().start('rec', [WasmValue.i32(n)]);
    let outcome = vm.run(null);
    if (outcome.type === 'interrupted') outcome = vm.run(WasmValue.i32(7));
    pausingProto = vm.intoPrototype();
    return outcome.type === 'finished';
  };
  const plainDepth = await settledDepth(plain);
  const inlineDepth = await settledDepth(inlineOk);
  const pausingDepth = await settledDepth(pausingOk);
  console.info(`recursion depth: plain ${plainDepth}, inline leaf ${inlineDepth}, pausing leaf ${pausingDepth}`);
  expect(inlineDepth).toBeGreaterThanOrEqual(plainDepth * 0.9);
  expect(pausingDepth).toBeLessThan(inlineDepth * 0.9);
});

// On JSPI nothing is instrumented and a pause leaves the stack where it is: a pausing leaf
// recurses as deep as an inline one, and both as deep as plain V8 (the call runs on the stack
// the engine gives each call, about the size of the main one in V8).
test('on jspi, nothing is instrumented: inline and pausing leaves recurse as deep as plain V8', async () => {
  const plain = await plainRecursion();
  const backend: Backend = 'jspi';
  let inlineProto = await createOn(backend, { moduleBytes: await wat(RECURSIVE_GUEST), symbols: () => 0, inlineImports: () => () => 7, requireMemory: false });
  let pausingProto = await createOn(backend, { moduleBytes: await wat(RECURSIVE_GUEST), symbols: () => 0, requireMemory: false });
  const inlineOk = async (n: number): Promise<boolean> => {
    const vm = inlineProto.prepare().start('rec', [WasmValue.i32(n)]);
    const outcome = await vm.runAsync(null);
    inlineProto = vm.intoPrototype();
    return outcome.type === 'finished' && outcome.value?.value === (expectedRec(n, 7) | 0);
  };
  const pausingOk = async (n: number): Promise<boolean> => {
    const vm = pausingProto.prepare().start('rec', [WasmValue.i32(n)]);
    let outcome = await vm.runAsync(null);
    if (outcome.type === 'interrupted') outcome = await vm.runAsync(WasmValue.i32(7));
    pausingProto = vm.intoPrototype();
    return outcome.type === 'finished' && outcome.value?.value === (expectedRec(n, 7) | 0);
  };
  const plainDepth = await settledDepth(plain);
  const inlineDepth = await settledDepthAsync(inlineOk);
  const pausingDepth = await settledDepthAsync(pausingOk);
  console.info(`recursion depth on jspi: plain ${plainDepth}, inline leaf ${inlineDepth}, pausing leaf ${pausingDepth}`);
  expect(inlineDepth).toBeGreaterThanOrEqual(plainDepth * 0.9);
  expect(pausingDepth).toBeGreaterThanOrEqual(inlineDepth * 0.9);
});
