/**
 * Chromium's main thread refuses `new WebAssembly.Instance` for a module over 8 MB ("WebAssembly.
 * Instance is disallowed on the main thread, if the buffer size is larger than 8MB. Use
 * WebAssembly.instantiate."), and instrumented runtimes are larger than that. Here the engine's
 * synchronous instantiation is made to refuse the same way (the browser suite,
 * `spec/browser.test.ts`, meets the real limit), and every path is checked:
 *
 * - the synchronous transitions that need a new instance throw `UsageError`
 *   `SynchronousInstantiationRefused` (not `CouldntAllocateMemory`) and consume nothing;
 * - where a reset serves, `intoPrototype()` needs no instantiation and still works;
 * - the asynchronous forms (`cloneAsync()`, `intoPrototypeAsync()`) always work;
 * - `create()` and the Substrate layer use only the asynchronous paths.
 */
import { type Backend, NewError, UsageError, type VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { SubstrateRuntime, runtimeCall } from '../lib/substrate/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { wat } from './support/wat.js';
import { assetHubGenesis } from '../examples/known-chain.js';

/** Chromium's message, word for word. */
const CHROMIUM_REFUSAL =
  'WebAssembly.Instance is disallowed on the main thread, if the buffer size is larger than 8MB. Use WebAssembly.instantiate.';

/** Counts of the engine's instantiations of compiled modules while {@link withMainThreadLimit} runs. */
const counts = { synchronousRefused: 0, asynchronous: 0 };

/**
 * Runs `body` with `new WebAssembly.Instance` refusing every module as Chromium's main thread
 * refuses a large one, and `WebAssembly.instantiate` counted; puts both back afterwards.
 */
async function withMainThreadLimit<T>(body: () => Promise<T>): Promise<T> {
  const original = { Instance: WebAssembly.Instance, instantiate: WebAssembly.instantiate };
  const refusing = function Instance() {
    counts.synchronousRefused++;
    throw new RangeError(CHROMIUM_REFUSAL);
  } as unknown as typeof WebAssembly.Instance;
  const api = WebAssembly as unknown as Record<string, unknown>;
  api.Instance = refusing;
  api.instantiate = (...args: unknown[]) => {
    // Of compiled modules only: libraries instantiate their own helpers from bytes.
    if (args[0] instanceof WebAssembly.Module) counts.asynchronous++;
    return (original.instantiate as (...a: unknown[]) => unknown)(...args);
  };
  counts.synchronousRefused = 0;
  counts.asynchronous = 0;
  try {
    return await body();
  } finally {
    api.Instance = original.Instance;
    api.instantiate = original.instantiate;
  }
}

const GUEST = `(module
  (import "env" "ask" (func $ask (result i32)))
  (memory (export "memory") 1 4)
  (data (i32.const 0) "fresh")
  (func (export "scribble") (i32.store (i32.const 0) (i32.const 0x44434241)))
  (func (export "ask") (result i32) (call $ask))
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))`;

const FRESH = [...new TextEncoder().encode('fresh')];

function expectRefusal(action: () => unknown): UsageError {
  let thrown: unknown;
  try {
    action();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(UsageError);
  const error = thrown as UsageError;
  expect(error.kind).toBe('SynchronousInstantiationRefused');
  expect(error.message).toContain('disallowed on the main thread');
  expect(error.message).toMatch(/cloneAsync\(\), intoPrototypeAsync\(\)/);
  expect(error).not.toBeInstanceOf(NewError);
  return error;
}

describe.each(BACKENDS)('under a main-thread limit on synchronous instantiation, on %s', (backend: Backend) => {
  let moduleBytes: Uint8Array;
  beforeAll(async () => {
    moduleBytes = await wat(GUEST);
  });

  test('create() instantiates asynchronously', async () => {
    await withMainThreadLimit(async () => {
      const proto = await createOn(backend, { moduleBytes, symbols: () => 0 });
      expect(counts).toEqual({ synchronousRefused: 0, asynchronous: 1 });
      expect([...proto.prepare().readMemory(0, 5)]).toEqual(FRESH);
    });
  });

  test('clone() throws SynchronousInstantiationRefused and consumes nothing; cloneAsync() works', async () => {
    const proto = await createOn(backend, { moduleBytes, symbols: () => 0 });
    await withMainThreadLimit(async () => {
      expectRefusal(() => proto.clone());
      expect(counts.synchronousRefused).toBe(1);
      const copy = await proto.cloneAsync();
      expect([...copy.prepare().readMemory(0, 5)]).toEqual(FRESH);
      // The refused clone() left the prototype usable.
      expect([...proto.prepare().readMemory(0, 5)]).toEqual(FRESH);
    });
  });

  test('intoPrototype() after a finished call is served by a reset, with no instantiation', async () => {
    const proto = await createOn(backend, { moduleBytes, symbols: () => 0 });
    await withMainThreadLimit(async () => {
      const vm = proto.prepare().start('scribble', []);
      expect(await vm.runAsync(null)).toMatchObject({ type: 'finished' });
      const again = vm.intoPrototype();
      expect(counts).toEqual({ synchronousRefused: 0, asynchronous: 0 });
      expect([...again.prepare().readMemory(0, 5)]).toEqual(FRESH);
    });
  });

  test('Prepare.intoPrototype() of a grown memory refuses and consumes nothing; intoPrototypeAsync() works', async () => {
    const proto = await createOn(backend, { moduleBytes, symbols: () => 0 });
    await withMainThreadLimit(async () => {
      const prepare = proto.prepare();
      prepare.growMemory(1);
      prepare.writeMemory(0, Uint8Array.of(1, 2, 3));
      expectRefusal(() => prepare.intoPrototype());
      // Not consumed: the Prepare still works, and still holds what was written.
      expect(prepare.memorySize()).toBe(2);
      expect([...prepare.readMemory(0, 3)]).toEqual([1, 2, 3]);
      const pending = prepare.intoPrototypeAsync();
      // Consumed at once, not when the promise settles.
      expect(() => prepare.memorySize()).toThrow(expect.objectContaining({ kind: 'Consumed' }));
      const fresh = (await pending).prepare();
      expect(fresh.memorySize()).toBe(1);
      expect([...fresh.readMemory(0, 5)]).toEqual(FRESH);
      expect(counts.asynchronous).toBe(1);
    });
  });

  test('a paused call: intoPrototype() that needs a new instance refuses and leaves the call paused', async () => {
    const proto = await createOn(backend, { moduleBytes, symbols: () => 7 });
    await withMainThreadLimit(async () => {
      const vm = proto.prepare().start('ask', []);
      expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted', id: 7 });
      // Grown memory: no reset can serve (and on JSPI an abandoned stack never can).
      vm.growMemory(1);
      expectRefusal(() => vm.intoPrototype());
      // The call is still paused and can go on.
      expect(await vm.runAsync(WasmValue.i32(5))).toEqual({ type: 'finished', value: WasmValue.i32(5) });
      const fresh = (await vm.intoPrototypeAsync()).prepare();
      expect([fresh.memorySize(), [...fresh.readMemory(0, 5)]]).toEqual([1, FRESH]);
    });
  });

  test('intoPrototypeAsync() abandons a paused call', async () => {
    const proto = await createOn(backend, { moduleBytes, symbols: () => 7 });
    await withMainThreadLimit(async () => {
      const vm = proto.prepare().start('ask', []);
      expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
      const again = await vm.intoPrototypeAsync();
      // On JSPI the abandoned stack may still unwind on the old instance: a new one is made.
      expect(counts.asynchronous).toBe(backend === 'jspi' ? 1 : 0);
      const next = again.prepare().start('ask', []);
      expect(await next.runAsync(null)).toMatchObject({ type: 'interrupted', id: 7 });
      expect(await next.runAsync(WasmValue.i32(9))).toEqual({ type: 'finished', value: WasmValue.i32(9) });
    });
  });

  test('the asynchronous transitions consume as the synchronous ones do', async () => {
    const proto: VirtualMachinePrototype = await createOn(backend, { moduleBytes, symbols: () => 0 });
    const prepare = proto.prepare();
    await prepare.intoPrototypeAsync();
    await expect(prepare.intoPrototypeAsync()).rejects.toMatchObject({ kind: 'Consumed' });
    expect(() => prepare.intoPrototype()).toThrow(expect.objectContaining({ kind: 'Consumed' }));
  });
});

describe('the Substrate layer under the limit', () => {
  test('runtime calls on Asset Hub make every instance asynchronously (JSPI)', async () => {
    const { code } = await assetHubGenesis();
    await withMainThreadLimit(async () => {
      const runtime = await SubstrateRuntime.create({ code, backend: 'jspi' });
      const first = await runtimeCall(runtime, 'Core_version');
      // Metadata_metadata grows the memory: its instance cannot be reset and a new one is made.
      const metadata = await runtimeCall(runtime, 'Metadata_metadata');
      expect(metadata.output.length).toBeGreaterThan(100_000);
      const again = await runtimeCall(runtime, 'Core_version');
      expect(again.output).toEqual(first.output);
      expect(counts.synchronousRefused).toBe(0);
      expect(counts.asynchronous).toBeGreaterThanOrEqual(2);
    });
  });
});
