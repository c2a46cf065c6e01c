/**
 * A hostile runtime: whatever it returns or asks for, the host never reads out of range, never
 * allocates without limit, reports a clear error for the call, and stays usable.
 */
import {
  AllocatorError,
  MapStorage,
  RuntimeCallError,
  SubstrateRuntime,
  SubstrateRuntimeError,
  runtimeCall,
} from '../../lib/substrate/index.js';
import { BACKENDS } from '../support/backends.js';
import { wat } from '../support/wat.js';
import { GUEST_HEAP_BASE, guest, versionSections, GUEST_VERSION, withCustomSections } from '../support/substrate-guest.js';

const HEAP_PAGES = 64;

const HOSTILE = guest(
  `(import "env" "ext_allocator_malloc_version_1" (func $malloc (param i32) (result i32)))
   (import "env" "ext_allocator_free_version_1" (func $free (param i32)))
   (import "env" "ext_storage_get_version_1" (func $get (param i64) (result i64)))
   (import "env" "ext_hashing_twox_64_version_1" (func $twox (param i64) (result i32)))
   (import "env" "ext_logging_log_version_1" (func $log (param i32 i64 i64)))`,
  `(func (export "echo") (param $p i32) (param $l i32) (result i64) (call $ps (local.get $p) (local.get $l)))
   (func (export "out_of_range") (param i32 i32) (result i64) (call $ps (i32.const 0xffff0000) (i32.const 16)))
   ;; Past the end of the largest memory the heap allows (1 + 64 pages), so out of range whatever
   ;; size earlier calls left the memory at (with reuseGrownMemory, a grown instance is reused).
   (func (export "straddling") (param i32 i32) (result i64) (call $ps (i32.const 4259834) (i32.const 100)))
   ;; The second header exhaust_heap's allocator writes (1 MiB blocks from the heap base, 4096).
   (func (export "peek") (param i32 i32) (result i64) (call $ps (i32.const 1052680) (i32.const 8)))
   (func (export "memory_size") (param i32 i32) (result i64)
     (i32.store (i32.const 0) (memory.size)) (call $ps (i32.const 0) (i32.const 4)))
   (func (export "huge_output") (param i32 i32) (result i64) (i64.const -1))
   (func (export "huge_malloc") (param i32 i32) (result i64) (drop (call $malloc (i32.const 0x7fffffff))) (i64.const 0))
   (func (export "exhaust_heap") (param i32 i32) (result i64)
     (loop $more (drop (call $malloc (i32.const 0x100000))) (br $more))
     (i64.const 0))
   (func (export "free_garbage") (param i32 i32) (result i64) (call $free (i32.const 12345)) (i64.const 0))
   (func (export "scribble_then_malloc") (param i32 i32) (result i64) (local $p i32)
     (local.set $p (call $malloc (i32.const 16)))
     (call $free (local.get $p))
     ;; overwrite the freed block's header (the free-list link) with a pointer of its own choosing
     (i64.store (i32.sub (local.get $p) (i32.const 8)) (i64.const 0x100))
     (drop (call $malloc (i32.const 16)))
     (i64.const 0))
   (func (export "bad_key") (param i32 i32) (result i64) (call $get (call $ps (i32.const 0xffffff00) (i32.const 0x1000))))
   (func (export "bad_hash_input") (param i32 i32) (result i64)
     (drop (call $twox (call $ps (i32.const 4200000) (i32.const 0x100000)))) (i64.const 0))
   (func (export "bad_log") (param i32 i32) (result i64)
     (call $log (i32.const 1) (call $ps (i32.const 0) (i32.const -1)) (call $ps (i32.const 0) (i32.const 0))) (i64.const 0))
   (func (export "trap") (param i32 i32) (result i64) (unreachable))
   (func (export "grow_memory") (param i32 i32) (result i64)
     (i32.store (i32.const 0) (memory.grow (i32.const 1000)))
     (call $ps (i32.const 0) (i32.const 4)))
   (func (export "wrong_params") (param i32) (result i64) (i64.const 0))
   (func (export "returns_i32") (param i32 i32) (result i32) (i32.const 0))
   (global (export "a_global") i32 (i32.const 0))`,
);

describe.each(BACKENDS)('%s', (backend) => {
  let runtime: SubstrateRuntime;
  beforeAll(async () => {
    runtime = await SubstrateRuntime.create({ code: await HOSTILE, heapPages: HEAP_PAGES, backend });
    expect(runtime.backend).toBe(backend);
  });

  /** The host is unharmed: a well-behaved call right after works. */
  async function expectHealthy(): Promise<void> {
    const { output } = await runtimeCall(runtime, 'echo', Uint8Array.of(1, 2, 3));
    expect([...output]).toEqual([1, 2, 3]);
  }

  async function failure(entry: string, input?: Uint8Array, options = {}): Promise<RuntimeCallError> {
    const error = await runtimeCall(runtime, entry, input, options).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RuntimeCallError);
    await expectHealthy();
    return error as RuntimeCallError;
  }

  test('the heap is sized from __heap_base and the heap pages', () => {
    expect(runtime.heapBase).toBe(GUEST_HEAP_BASE);
    expect(runtime.memoryTotalPages).toBe(1 + HEAP_PAGES);
  });

  describe('the output pointer-size is checked before anything is read', () => {
    test('a pointer past the end of memory', async () => {
      const error = await failure('out_of_range');
      expect(error.kind).toBe('InvalidOutput');
      expect(error.message).toMatch(/16 bytes at 0xffff0000 do not lie inside the memory \(65536 bytes\)/);
    });

    test('a range that straddles the end of memory', async () => {
      expect((await failure('straddling')).kind).toBe('InvalidOutput');
    });

    test('a 4 GiB length is refused by size before the range is even considered', async () => {
      const error = await failure('huge_output');
      expect(error.kind).toBe('OutputTooLarge');
      expect(error.message).toMatch(/4294967295 bytes, more than maxOutputSize \(33554432 bytes\)/);
    });

    test('maxOutputSize is the caller’s to lower', async () => {
      expect((await failure('echo', new Uint8Array(100), { maxOutputSize: 50 })).kind).toBe('OutputTooLarge');
    });
  });

  describe('allocation is bounded', () => {
    test('a single huge request', async () => {
      const error = await failure('huge_malloc');
      expect(error).toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_allocator_malloc_version_1' });
      expect(error.cause).toBeInstanceOf(AllocatorError);
      expect((error.cause as AllocatorError).kind).toBe('AllocationTooLarge');
    });

    test('endless requests stop at the heap pages, not at the host’s memory', async () => {
      const error = await failure('exhaust_heap');
      expect(error).toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_allocator_malloc_version_1' });
      expect((error.cause as AllocatorError).kind).toBe('OutOfMemory');
      expect(error.message).toMatch(new RegExp(`may not grow the memory past ${1 + HEAP_PAGES} pages`));
    });

    test('after a call that grew the memory, the next gets a memory of the initial size, as in Substrate', async () => {
      await failure('exhaust_heap');
      expect([...(await runtimeCall(runtime, 'memory_size')).output]).toEqual([1, 0, 0, 0]);
      expect((await failure('peek')).kind).toBe('InvalidOutput');
    });

    test('with reuseGrownMemory, it keeps the grown size, and reads zeros where the previous call left headers', async () => {
      const reusing = await SubstrateRuntime.create({ code: await HOSTILE, heapPages: HEAP_PAGES, backend, reuseGrownMemory: true });
      const exhausted = await runtimeCall(reusing, 'exhaust_heap').then(
        () => null,
        (e: unknown) => e,
      );
      expect(exhausted).toBeInstanceOf(RuntimeCallError);
      expect([...(await runtimeCall(reusing, 'memory_size')).output]).toEqual([1 + HEAP_PAGES, 0, 0, 0]);
      expect([...(await runtimeCall(reusing, 'peek')).output]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      // The option itself is checked before any work, with this layer's own message.
      const options = { code: await HOSTILE, backend, reuseGrownMemory: 'yes' as unknown as boolean };
      await expect(SubstrateRuntime.create(options)).rejects.toMatchObject({
        name: 'UsageError',
        kind: 'InvalidArgument',
        message: 'reuseGrownMemory must be a boolean, got string',
      });
    });

    test('freeing a pointer that was never allocated', async () => {
      const error = await failure('free_garbage');
      expect(error).toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_allocator_free_version_1' });
      expect((error.cause as AllocatorError).kind).toBe('InvalidPointer');
    });

    test('overwriting the heap’s bookkeeping', async () => {
      const error = await failure('scribble_then_malloc');
      expect((error.cause as AllocatorError).kind).toBe('HeaderCorrupted');
    });

    test('an input larger than the heap allows', async () => {
      const error = await failure('echo', new Uint8Array(33 * 1024 * 1024));
      expect(error.kind).toBe('InputTooLarge');
      expect((error.cause as AllocatorError).kind).toBe('AllocationTooLarge');
      expect((await failure('echo', new Uint8Array(8 * 1024 * 1024))).kind).toBe('InputTooLarge'); // past 64 pages
    });
  });

  test('the runtime cannot grow its own memory past the heap pages', async () => {
    // memory.grow past the cap fails in the guest (returns -1), as it would at a declared maximum.
    const { output } = await runtimeCall(runtime, 'grow_memory');
    expect([...output]).toEqual([0xff, 0xff, 0xff, 0xff]);
    await expectHealthy();
  });

  describe('buffers the runtime designates are checked before they are read', () => {
    test('a storage key out of range: the provider is never asked', async () => {
      const asked: Uint8Array[] = [];
      const error = await failure('bad_key', undefined, { storage: { get: (key: Uint8Array) => (asked.push(key), null) } });
      expect(error).toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_storage_get_version_1' });
      expect(error.message).toMatch(/the key argument: 4096 bytes at 0xffffff00 do not lie inside the memory/);
      expect(asked).toEqual([]);
    });

    test('data to hash out of range', async () => {
      const error = await failure('bad_hash_input');
      expect(error).toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_hashing_twox_64_version_1' });
      expect(error.cause).toBeInstanceOf(RangeError);
    });

    test('a log target out of range (read only when the entry is wanted)', async () => {
      expect((await runtimeCall(runtime, 'bad_log')).output.length).toBe(0);
      const error = await failure('bad_log', undefined, { onLog: () => undefined });
      expect(error).toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_logging_log_version_1' });
    });
  });

  describe('other failures of a call', () => {
    test('a trap', async () => {
      const error = await failure('trap');
      expect(error.kind).toBe('Trap');
      expect(error.message).toMatch(/trap trapped: .*unreachable/i);
    });

    test('entry points that are missing or of the wrong shape', async () => {
      expect((await failure('nope')).kind).toBe('EntryPointNotFound');
      expect((await failure('wrong_params')).kind).toBe('InvalidEntryPoint');
      expect((await failure('returns_i32')).kind).toBe('InvalidEntryPoint');
      expect((await failure('a_global')).kind).toBe('InvalidEntryPoint');
    });

    test('a storage provider is never needed by a runtime that does not read storage', async () => {
      expect([...(await runtimeCall(runtime, 'echo', Uint8Array.of(9), { storage: new MapStorage() })).output]).toEqual([9]);
    });
  });

  describe('runtimes the layer refuses to host', () => {
    test('no __heap_base', async () => {
      const module = withCustomSections(await wat('(module (memory (export "memory") 1))'), versionSections(GUEST_VERSION));
      await expect(SubstrateRuntime.create({ code: module, backend })).rejects.toMatchObject({ name: 'SubstrateRuntimeError', kind: 'HeapBaseNotFound' });
    });

    test('a memory whose maximum is below the heap', async () => {
      const module = withCustomSections(
        await wat(`(module (memory (export "memory") 1 4) (global (export "__heap_base") i32 (i32.const ${GUEST_HEAP_BASE})))`),
        versionSections(GUEST_VERSION),
      );
      const error = await SubstrateRuntime.create({ code: module, heapPages: 8, backend }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SubstrateRuntimeError);
      expect(error).toMatchObject({ kind: 'MemoryMaxTooLow', message: expect.stringMatching(/may grow to 4 pages, but its heap needs 9/) });
      await expect(SubstrateRuntime.create({ code: module, heapPages: 3, backend })).resolves.toBeInstanceOf(SubstrateRuntime);
    });
  });
});
