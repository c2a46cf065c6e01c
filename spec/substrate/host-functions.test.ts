/**
 * The host functions, through small WAT runtimes: hashing against known vectors, logging and
 * panics (inline), storage reads (pausing, synchronous or asynchronous providers, child tries),
 * the caller's handler for everything else, and what a pause looks like from the outside.
 */
import {
  type HostCall,
  type HostCallEvent,
  type LogEntry,
  MapStorage,
  RuntimeCallError,
  type StorageProvider,
  SubstrateRuntime,
  fromHex,
  runtimeCall,
  toHex,
} from '../../lib/substrate/index.js';
import { WasmValue } from '../../lib/index.js';
import { BACKENDS } from '../support/backends.js';
import { guest } from '../support/substrate-guest.js';

const HASHES = [
  ['twox_64', 8],
  ['twox_128', 16],
  ['twox_256', 32],
  ['blake2_128', 16],
  ['blake2_256', 32],
  ['keccak_256', 32],
  ['keccak_512', 64],
  ['sha2_256', 32],
] as const;

/** One entry point per hash: hashes its input and returns the digest. */
const HASHING_GUEST = guest(
  HASHES.map(([name]) => `(import "env" "ext_hashing_${name}_version_1" (func $${name} (param i64) (result i32)))`).join('\n'),
  HASHES.map(
    ([name, size]) => `(func (export "${name}") (param $p i32) (param $l i32) (result i64)
      (call $ps (call $${name} (call $ps (local.get $p) (local.get $l))) (i32.const ${size})))`,
  ).join('\n'),
);

const text = (s: string) => new TextEncoder().encode(s);

describe.each(BACKENDS)('hashing (%s)', (backend) => {
  let runtime: SubstrateRuntime;
  beforeAll(async () => {
    runtime = await SubstrateRuntime.create({ code: await HASHING_GUEST, backend });
    expect(runtime.backend).toBe(backend);
  });

  const hash = async (name: string, data: Uint8Array) => toHex((await runtimeCall(runtime, name, data)).output);

  // "hello world": the vectors smoldot's host tests use (SHA-256 and Keccak-256 are also the
  // standard published values); the empty string: the reference values of each algorithm.
  test.each([
    ['twox_64', 'hello world', '0x68691eb23467ab45'],
    ['twox_128', 'hello world', '0x68691eb23467ab45c7b71f24c5031bb0'],
    ['twox_256', 'hello world', '0x68691eb23467ab45c7b71f24c5031bb062b08896249282920ab712ce149c5b88'],
    ['blake2_256', 'hello world', '0x256c83b297114d201b30179f3f0ef0cace9783622da5974326b436178aeef610'],
    ['keccak_256', 'hello world', '0x47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad'],
    [
      'keccak_512',
      'hello world',
      '0x3ee2b40047b8060f68c67242175660f4174d0af5c01d47168ec20ed619b0b7c42181f40aa1046f39e2ef9efc6910782a998e0013d172458957957fac9405b67d',
    ],
    ['sha2_256', 'hello world', '0xb94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9'],
    ['twox_64', '', '0x99e9d85137db46ef'],
    ['blake2_128', '', '0xcae66941d9efbd404e4d88758ea67670'],
    ['blake2_256', '', '0x0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8'],
    ['keccak_256', '', '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470'],
    ['sha2_256', '', '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    // Storage prefixes every Substrate tool knows: twox_128 of pallet and item names.
    ['twox_128', 'System', '0x26aa394eea5630e07c48ae0c9558cef7'],
    ['twox_128', 'Account', '0xb99d880ec681799c0cf30e8886371da9'],
  ])('%s(%j)', async (name, data, expected) => {
    expect(await hash(name, text(data))).toBe(expected);
  });

  test('hashing is inline: no pause, and the digest comes from the call heap', async () => {
    const events: HostCallEvent[] = [];
    const result = await runtimeCall(runtime, 'blake2_256', text('abc'), { trace: (e) => events.push(e) });
    expect(result.pauses).toBe(0);
    expect(result.hostCalls).toEqual(new Map([['ext_hashing_blake2_256_version_1', 1]]));
    expect(events).toEqual([{ name: 'ext_hashing_blake2_256_version_1', route: 'inline', params: [expect.any(BigInt)] }]);
    // The input (3 bytes, an 8-byte block) and the digest (32 bytes) were allocated.
    expect(result.heap.allocations).toBe(2);
  });
});

const LOGGING_GUEST = guest(
  `(import "env" "ext_logging_max_level_version_1" (func $max (result i32)))
   (import "env" "ext_logging_log_version_1" (func $log (param i32 i64 i64)))
   (import "env" "ext_misc_print_utf8_version_1" (func $print (param i64)))
   (import "env" "ext_misc_print_num_version_1" (func $num (param i64)))
   (import "env" "ext_panic_handler_abort_on_panic_version_1" (func $abort (param i64)))`,
  `(data (i32.const 800) "testhello\\ffbad")
   ;; Logs "hello" with target "test" at every level 0..4 (error..trace), prints, and returns the max level.
   (func (export "log") (param i32 i32) (result i64) (local $i i32) (local $max i32)
     (local.set $max (call $max))
     (local.set $i (i32.const 0))
     (block $done (loop $next
       (br_if $done (i32.gt_u (local.get $i) (i32.const 4)))
       (call $log (local.get $i) (call $ps (i32.const 800) (i32.const 4)) (call $ps (i32.const 804) (i32.const 5)))
       (local.set $i (i32.add (local.get $i) (i32.const 1)))
       (br $next)))
     (call $print (call $ps (i32.const 809) (i32.const 4)))
     (call $num (i64.const -1))
     (i32.store8 (i32.const 600) (local.get $max))
     (call $ps (i32.const 600) (i32.const 1)))
   (func (export "panic") (param i32 i32) (result i64)
     (call $abort (call $ps (i32.const 804) (i32.const 5)))
     (unreachable))`,
);

describe.each(BACKENDS)('logging and panics (%s)', (backend) => {
  let runtime: SubstrateRuntime;
  beforeAll(async () => {
    runtime = await SubstrateRuntime.create({ code: await LOGGING_GUEST, backend });
    expect(runtime.backend).toBe(backend);
  });

  test('without onLog the runtime is told logging is off, and nothing is read', async () => {
    const { output } = await runtimeCall(runtime, 'log');
    expect([...output]).toEqual([0]);
  });

  test('the host filters by level; prints are debug entries with target "runtime"', async () => {
    const warn: LogEntry[] = [];
    expect([...(await runtimeCall(runtime, 'log', undefined, { onLog: (e) => warn.push(e), maxLogLevel: 'warn' })).output]).toEqual([2]);
    expect(warn).toEqual([
      { level: 'error', target: 'test', message: 'hello' },
      { level: 'warn', target: 'test', message: 'hello' },
    ]);

    const all: LogEntry[] = [];
    expect([...(await runtimeCall(runtime, 'log', undefined, { onLog: (e) => all.push(e), maxLogLevel: 'trace' })).output]).toEqual([5]);
    expect(all.map((e) => e.level)).toEqual(['error', 'warn', 'info', 'debug', 'trace', 'debug', 'debug']);
    // Invalid UTF-8 is shown as U+FFFD rather than failing the call.
    expect(all.slice(5)).toEqual([
      { level: 'debug', target: 'runtime', message: '\uFFFDbad' },
      { level: 'debug', target: 'runtime', message: '18446744073709551615' },
    ]);
  });

  test('a log sink that throws does not fail the call', async () => {
    const result = await runtimeCall(runtime, 'log', undefined, {
      onLog: () => {
        throw new Error('sink failure');
      },
    });
    expect([...result.output]).toEqual([3]);
  });

  test('abort_on_panic fails the call with a Panic carrying the message', async () => {
    await expect(runtimeCall(runtime, 'panic')).rejects.toMatchObject({
      name: 'RuntimeCallError',
      kind: 'Panic',
      function: 'ext_panic_handler_abort_on_panic_version_1',
      message: 'the runtime panicked: hello',
    });
  });
});

/** Storage entry points: the input is the key (for `read`: a 4-byte offset, then the key). */
const STORAGE_GUEST = guest(
  `(import "env" "ext_storage_get_version_1" (func $get (param i64) (result i64)))
   (import "env" "ext_storage_read_version_1" (func $read (param i64 i64 i32) (result i64)))
   (import "env" "ext_storage_exists_version_1" (func $exists (param i64) (result i32)))
   (import "env" "ext_storage_next_key_version_1" (func $next (param i64) (result i64)))
   (import "env" "ext_default_child_storage_get_version_1" (func $cget (param i64 i64) (result i64)))
   (import "env" "ext_default_child_storage_read_version_1" (func $cread (param i64 i64 i64 i32) (result i64)))
   (import "env" "ext_default_child_storage_exists_version_1" (func $cexists (param i64 i64) (result i32)))
   (import "env" "ext_default_child_storage_next_key_version_1" (func $cnext (param i64 i64) (result i64)))`,
  `(data (i32.const 700) "child")
   (func $child (result i64) (call $ps (i32.const 700) (i32.const 5)))
   (func $key (param $p i32) (param $l i32) (result i64) (call $ps (local.get $p) (local.get $l)))
   (func $readKey (param $p i32) (param $l i32) (result i64)
     (call $ps (i32.add (local.get $p) (i32.const 4)) (i32.sub (local.get $l) (i32.const 4))))
   ;; A read's output: the 4-byte buffer (pre-filled with ee), then the returned Option<u32>.
   (func $readOutput (param $r i64) (result i64) (local $rp i32)
     (local.set $rp (i32.wrap_i64 (local.get $r)))
     (i32.store8 (i32.const 516) (i32.load8_u (local.get $rp)))
     (i32.store (i32.const 517) (i32.load offset=1 (local.get $rp)))
     (call $ps (i32.const 512) (i32.add (i32.const 4) (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 32))))))
   (func $byte (param $v i32) (result i64)
     (i32.store8 (i32.const 600) (local.get $v)) (call $ps (i32.const 600) (i32.const 1)))
   (func (export "get") (param $p i32) (param $l i32) (result i64) (call $get (call $key (local.get $p) (local.get $l))))
   (func (export "next_key") (param $p i32) (param $l i32) (result i64) (call $next (call $key (local.get $p) (local.get $l))))
   (func (export "exists") (param $p i32) (param $l i32) (result i64) (call $byte (call $exists (call $key (local.get $p) (local.get $l)))))
   (func (export "read") (param $p i32) (param $l i32) (result i64)
     (i32.store (i32.const 512) (i32.const 0xeeeeeeee))
     (call $readOutput (call $read (call $readKey (local.get $p) (local.get $l)) (call $ps (i32.const 512) (i32.const 4)) (i32.load (local.get $p)))))
   (func (export "child_get") (param $p i32) (param $l i32) (result i64) (call $cget (call $child) (call $key (local.get $p) (local.get $l))))
   (func (export "child_next_key") (param $p i32) (param $l i32) (result i64) (call $cnext (call $child) (call $key (local.get $p) (local.get $l))))
   (func (export "child_exists") (param $p i32) (param $l i32) (result i64) (call $byte (call $cexists (call $child) (call $key (local.get $p) (local.get $l)))))
   (func (export "child_read") (param $p i32) (param $l i32) (result i64)
     (i32.store (i32.const 512) (i32.const 0xeeeeeeee))
     (call $readOutput (call $cread (call $child) (call $readKey (local.get $p) (local.get $l)) (call $ps (i32.const 512) (i32.const 4)) (i32.load (local.get $p)))))`,
);

const storage = new MapStorage(
  [
    ['0x01', '0x0a0b0c0d0e0f'],
    ['0x0102', '0x'],
    ['0x03', '0xff'],
  ],
  [['0x6368696c64' /* "child" */, [['0x01', '0x636869']]]],
);
const le32 = (n: number) => Uint8Array.of(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
const concat = (a: Uint8Array, b: Uint8Array) => Uint8Array.from([...a, ...b]);

describe.each(BACKENDS)('storage reads (%s)', (backend) => {
  let runtime: SubstrateRuntime;
  beforeAll(async () => {
    runtime = await SubstrateRuntime.create({ code: await STORAGE_GUEST, backend });
    expect(runtime.backend).toBe(backend);
  });
  const call = async (entry: string, input: string | Uint8Array, provider: StorageProvider = storage) =>
    toHex((await runtimeCall(runtime, entry, typeof input === 'string' ? fromHex(input) : input, { storage: provider })).output);

  test('get answers a SCALE Option<Vec<u8>>', async () => {
    expect(await call('get', '0x01')).toBe('0x01180a0b0c0d0e0f');
    expect(await call('get', '0x0102')).toBe('0x0100'); // present but empty
    expect(await call('get', '0x02')).toBe('0x00'); // absent
  });

  test('exists answers 1 or 0', async () => {
    expect(await call('exists', '0x0102')).toBe('0x01');
    expect(await call('exists', '0x02')).toBe('0x00');
  });

  test('read copies value[offset..] into the buffer, as much as fits, and answers the remaining length', async () => {
    const read = (offset: number, key: string) => call('read', concat(le32(offset), fromHex(key)));
    expect(await read(0, '0x01')).toBe('0x0a0b0c0d0106000000'); // 4 of 6 bytes copied, Some(6)
    expect(await read(4, '0x01')).toBe('0x0e0feeee0102000000'); // 2 copied, Some(2)
    expect(await read(9, '0x01')).toBe('0xeeeeeeee0100000000'); // offset past the end: Some(0)
    expect(await read(0, '0x02')).toBe('0xeeeeeeee00'); // absent: None, buffer untouched
  });

  test('next_key answers the next key in byte order', async () => {
    expect(await call('next_key', '0x')).toBe('0x010401');
    expect(await call('next_key', '0x01')).toBe('0x01080102');
    expect(await call('next_key', '0x0102')).toBe('0x010403');
    expect(await call('next_key', '0x03')).toBe('0x00');
  });

  test('child-trie variants name the child trie', async () => {
    expect(await call('child_get', '0x01')).toBe('0x010c636869');
    expect(await call('child_get', '0x03')).toBe('0x00');
    expect(await call('child_exists', '0x01')).toBe('0x01');
    expect(await call('child_next_key', '0x')).toBe('0x010401');
    expect(await call('child_read', concat(le32(1), fromHex('0x01')))).toBe('0x6869eeee0102000000');
  });

  test('storage reads pause the call, which waits for an asynchronous provider while the thread is free', async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    const asked: string[] = [];
    const slow: StorageProvider = {
      get: async (key, child) => {
        asked.push(toHex(key));
        await new Promise((resolve) => setTimeout(resolve, 30));
        return storage.get(key, child);
      },
    };
    try {
      const result = await runtimeCall(runtime, 'get', fromHex('0x01'), { storage: slow });
      expect(toHex(result.output)).toBe('0x01180a0b0c0d0e0f');
      expect(result.pauses).toBe(1);
      expect(result.hostCalls).toEqual(new Map([['ext_storage_get_version_1', 1]]));
      expect(result.waitingMs).toBeGreaterThanOrEqual(25);
    } finally {
      clearInterval(timer);
    }
    expect(asked).toEqual(['0x01']);
    expect(ticks).toBeGreaterThan(0);
  });

  test('overlapping calls on one runtime each get their own instance and answers', async () => {
    const delayed = (ms: number): StorageProvider => ({
      get: async (key, child) => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        return storage.get(key, child);
      },
    });
    const [first, second] = await Promise.all([
      runtimeCall(runtime, 'get', fromHex('0x01'), { storage: delayed(40) }),
      runtimeCall(runtime, 'get', fromHex('0x03'), { storage: delayed(5) }),
    ]);
    expect(toHex(first.output)).toBe('0x01180a0b0c0d0e0f');
    expect(toHex(second.output)).toBe('0x0104ff');
  });

  test('an aborted signal ends a paused call; the runtime stays usable', async () => {
    const controller = new AbortController();
    const never: StorageProvider = { get: () => new Promise(() => undefined) };
    setTimeout(() => controller.abort(), 20);
    await expect(runtimeCall(runtime, 'get', fromHex('0x01'), { storage: never, signal: controller.signal })).rejects.toMatchObject({
      kind: 'Aborted',
    });
    expect(await call('get', '0x03')).toBe('0x0104ff');
  });

  test('provider failures are HostFunctionFailed naming the function; a missing provider is UnsupportedHostFunction', async () => {
    const throwing: StorageProvider = {
      get: () => {
        throw new Error('peer unreachable');
      },
    };
    await expect(runtimeCall(runtime, 'get', fromHex('0x01'), { storage: throwing })).rejects.toMatchObject({
      kind: 'HostFunctionFailed',
      function: 'ext_storage_get_version_1',
      message: 'ext_storage_get_version_1 failed: the storage provider threw: peer unreachable',
    });
    const rejecting: StorageProvider = { get: () => Promise.reject(new Error('proof invalid')) };
    await expect(runtimeCall(runtime, 'get', fromHex('0x01'), { storage: rejecting })).rejects.toMatchObject({
      kind: 'HostFunctionFailed',
      message: expect.stringMatching(/rejected: proof invalid/),
    });
    const wrongType = { get: () => 'not bytes' } as unknown as StorageProvider;
    await expect(runtimeCall(runtime, 'get', fromHex('0x01'), { storage: wrongType })).rejects.toMatchObject({
      kind: 'HostFunctionFailed',
      message: expect.stringMatching(/expected a Uint8Array, null or undefined/),
    });
    await expect(runtimeCall(runtime, 'get', fromHex('0x01'))).rejects.toMatchObject({
      kind: 'UnsupportedHostFunction',
      function: 'ext_storage_get_version_1',
    });
    await expect(runtimeCall(runtime, 'next_key', fromHex('0x01'), { storage: { get: () => null } })).rejects.toMatchObject({
      kind: 'UnsupportedHostFunction',
      message: expect.stringMatching(/no nextKey method/),
    });
  });
});

const HANDLER_GUEST = guest(
  `(import "env" "ext_custom_double_version_1" (func $double (param i64) (result i64)))
   (import "env" "ext_custom_reverse_version_1" (func $reverse (param i64) (result i64)))
   (import "env" "ext_unknown_version_1" (func $unknown (result i32)))`,
  `(func (export "double") (param i32 i32) (result i64)
     (i64.store (i32.const 600) (call $double (i64.const 21)))
     (call $ps (i32.const 600) (i32.const 8)))
   (func (export "reverse") (param $p i32) (param $l i32) (result i64)
     (call $reverse (call $ps (local.get $p) (local.get $l))))
   (func (export "unknown") (param i32 i32) (result i64) (drop (call $unknown)) (i64.const 0))`,
);

describe.each(BACKENDS)('other host functions go to the onHostCall handler (%s)', (backend) => {
  let runtime: SubstrateRuntime;
  beforeAll(async () => {
    runtime = await SubstrateRuntime.create({ code: await HANDLER_GUEST, backend });
    expect(runtime.backend).toBe(backend);
  });

  test('every import is routed, and unserved ones are not refused up front', () => {
    expect(runtime.imports.map((i) => [i.name, i.route])).toEqual([
      ['ext_custom_double_version_1', 'handler'],
      ['ext_custom_reverse_version_1', 'handler'],
      ['ext_unknown_version_1', 'handler'],
    ]);
  });

  test('the handler answers synchronously or asynchronously, with the memory and the heap at hand', async () => {
    const onHostCall = async (call: HostCall) => {
      if (call.name === 'ext_custom_double_version_1') return WasmValue.i64((call.params[0]!.value as bigint) * 2n);
      if (call.name === 'ext_custom_reverse_version_1') {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return call.allocatePointerSize(call.readBuffer(0).reverse());
      }
      return undefined;
    };
    const doubled = await runtimeCall(runtime, 'double', undefined, { onHostCall });
    expect(new DataView(doubled.output.buffer).getBigInt64(0, true)).toBe(42n);
    expect(doubled.pauses).toBe(1);
    expect([...(await runtimeCall(runtime, 'reverse', Uint8Array.of(1, 2, 3), { onHostCall })).output]).toEqual([3, 2, 1]);
    await expect(runtimeCall(runtime, 'unknown', undefined, { onHostCall })).rejects.toMatchObject({
      kind: 'UnsupportedHostFunction',
      function: 'ext_unknown_version_1',
      message: expect.stringMatching(/"env"."ext_unknown_version_1".*declined/),
    });
  });

  test('without a handler, the call fails naming the function', async () => {
    const error = await runtimeCall(runtime, 'unknown').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeCallError);
    expect(error).toMatchObject({ kind: 'UnsupportedHostFunction', function: 'ext_unknown_version_1' });
    expect((error as Error).message).toMatch(/no onHostCall handler/);
  });

  test('a handler answering with the wrong type fails the call, not the host', async () => {
    await expect(runtimeCall(runtime, 'double', undefined, { onHostCall: () => WasmValue.i32(1) })).rejects.toMatchObject({
      kind: 'HostFunctionFailed',
      message: expect.stringMatching(/unusable value/),
    });
    expect([...(await runtimeCall(runtime, 'reverse', Uint8Array.of(4, 5), { onHostCall: (c) => c.allocatePointerSize(c.readBuffer(0)) })).output]).toEqual([4, 5]);
  });
});

describe.each(BACKENDS)('built-in host functions imported with the wrong signature (%s)', (backend) => {
  test('are refused when the runtime is created, naming the function and both signatures', async () => {
    const code = await guest('(import "env" "ext_hashing_twox_64_version_1" (func $h (param i32) (result i32)))', '');
    await expect(SubstrateRuntime.create({ code, backend })).rejects.toMatchObject({
      name: 'NewError',
      kind: 'UnresolvedFunctionImport',
      functionName: 'ext_hashing_twox_64_version_1',
      message: expect.stringMatching(/imports ext_hashing_twox_64_version_1 as \(i32\) -> i32, but the Substrate host interface defines it as \(i64\) -> i32/),
    });
  });
});
