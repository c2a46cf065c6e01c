/**
 * What the backend changes in the Substrate layer, through small WAT runtimes, on both backends
 * (and on Asyncify with its paused stack in the runtime's one memory).
 *
 * - `runtime.backend` says what runs: `'auto'` is JSPI on this engine (Node 26).
 * - Calls of one runtime overlap: each pauses waiting for its storage, and they are resumed in
 *   an order other than the one they started in. Inline host functions (allocator, logging,
 *   hashing) are bound once per runtime and find the call they serve through the runtime's
 *   `ActiveCall` slot. On Asyncify a step is synchronous, so the slot cannot change under it; on
 *   JSPI a step spans promise jobs, and the steps of one runtime are queued so that no other
 *   call's step takes the slot meanwhile (see `lib/substrate/call/context.ts`). Either way, every call's log
 *   entries, host calls, heap and output must be its own; also for a call started from inside
 *   another's inline host function (on Asyncify its first step runs nested in the other's).
 * - A storage provider may answer synchronously or with a promise: the same answers, the same
 *   pauses (a storage read pauses the call either way); only a promise makes the call wait.
 * - The artifact `cache` holds Asyncify artifacts: on Asyncify a miss transforms and stores, a
 *   hit skips the transform; on JSPI, which has no transform to skip, the cache is never asked
 *   (its `get` and `set` are not called), whether JSPI was asked for or chosen by `'auto'`. An
 *   explicit `artifact` makes the runtime Asyncify's even with `'auto'`, and is refused with
 *   `'jspi'`.
 *
 * Waiting is bounded by turns of the event loop, never by the clock.
 */
import { blake2b } from '@noble/hashes/blake2.js';
import { type Backend, MemoryArtifactCache } from '../../lib/index.js';
import {
  type HostCallEvent,
  type LogEntry,
  MapStorage,
  type RuntimeCallResult,
  type RuntimeProgressEvent,
  type StorageProvider,
  SubstrateRuntime,
  runtimeCall,
  toHex,
} from '../../lib/substrate/index.js';
import { VARIANTS, backendOf, variantConfig } from '../support/backends.js';
import { guest } from '../support/substrate-guest.js';

/**
 * `walk`: for each byte `k` of the input, in order: logs `k` (info, target `walk`), hashes it
 * with BLAKE2-256 (inline, the digest in the call's heap), reads it from storage (a pause), then
 * frees the digest. Returns, for each byte, the digest's first 4 bytes and the first 4 bytes of
 * the storage answer (`01`, compact length `08`, the 2-byte value). The digest is allocated
 * before the pause and freed after it: a free served by another call's allocator would be
 * refused (a pointer it never handed out) or corrupt that call's heap.
 */
const WALK_GUEST = guest(
  `(import "env" "ext_allocator_malloc_version_1" (func $malloc (param i32) (result i32)))
   (import "env" "ext_allocator_free_version_1" (func $free (param i32)))
   (import "env" "ext_logging_log_version_1" (func $log (param i32 i64 i64)))
   (import "env" "ext_hashing_blake2_256_version_1" (func $blake2 (param i64) (result i32)))
   (import "env" "ext_storage_get_version_1" (func $get (param i64) (result i64)))`,
  `(data (i32.const 800) "walk")
   (func (export "walk") (param $p i32) (param $l i32) (result i64)
     (local $i i32) (local $out i32) (local $slot i32) (local $key i64) (local $digest i32) (local $value i64)
     (local.set $out (call $malloc (i32.shl (local.get $l) (i32.const 3))))
     (block $done (loop $next
       (br_if $done (i32.ge_u (local.get $i) (local.get $l)))
       (local.set $key (call $ps (i32.add (local.get $p) (local.get $i)) (i32.const 1)))
       (call $log (i32.const 2) (call $ps (i32.const 800) (i32.const 4)) (local.get $key))
       (local.set $digest (call $blake2 (local.get $key)))
       (local.set $value (call $get (local.get $key)))
       (local.set $slot (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))))
       (i32.store (local.get $slot) (i32.load (local.get $digest)))
       (i32.store offset=4 (local.get $slot) (i32.load (i32.wrap_i64 (local.get $value))))
       (call $free (local.get $digest))
       (local.set $i (i32.add (local.get $i) (i32.const 1)))
       (br $next)))
     (call $ps (local.get $out) (i32.shl (local.get $l) (i32.const 3))))
   (func (export "echo") (param $p i32) (param $l i32) (result i64) (call $ps (local.get $p) (local.get $l)))`,
);

const text = (s: string) => new TextEncoder().encode(s);

/** The value stored under the 1-byte key `k`: `k`, then its complement. */
const valueOf = (k: number) => Uint8Array.of(k, k ^ 0xff);

/** A state holding {@link valueOf} every lowercase letter. */
const STATE = new MapStorage(Array.from({ length: 26 }, (_, i) => [Uint8Array.of(0x61 + i), valueOf(0x61 + i)] as const));

/** What `walk` must return for `keys`, and how it must have got there. */
function expected(keys: string) {
  const bytes = [...text(keys)];
  const n = bytes.length;
  return {
    output: toHex(Uint8Array.from(bytes.flatMap((k) => [...blake2b(Uint8Array.of(k), { dkLen: 32 }).subarray(0, 4), 1, 8, ...valueOf(k)]))),
    logs: bytes.map((k): LogEntry => ({ level: 'info', target: 'walk', message: String.fromCharCode(k) })),
    trace: ['ext_allocator_malloc_version_1', ...bytes.flatMap(() => WALK_STEP)],
    hostCalls: new Map([
      ['ext_allocator_malloc_version_1', 1],
      ['ext_logging_log_version_1', n],
      ['ext_hashing_blake2_256_version_1', n],
      ['ext_storage_get_version_1', n],
      ['ext_allocator_free_version_1', n],
    ]),
    totalHostCalls: 1 + 4 * n,
    pauses: n,
    // The input, the output, and for each key its digest and the storage answer.
    allocations: 2 + 2 * n,
    frees: n,
    asked: bytes.map((k) => toHex(Uint8Array.of(k))),
  };
}
const WALK_STEP = ['ext_logging_log_version_1', 'ext_hashing_blake2_256_version_1', 'ext_storage_get_version_1', 'ext_allocator_free_version_1'];

/** One call of `walk`, with what it saw. */
interface Walk {
  readonly keys: string;
  readonly logs: LogEntry[];
  readonly trace: string[];
  /** The keys its storage provider was asked, in order. */
  readonly asked: string[];
  readonly result: Promise<RuntimeCallResult>;
  settled: boolean;
}

function walk(runtime: SubstrateRuntime, keys: string, storage: (asked: string[]) => StorageProvider, onLog?: (entry: LogEntry) => void): Walk {
  const logs: LogEntry[] = [];
  const trace: string[] = [];
  const asked: string[] = [];
  const result = runtimeCall(runtime, 'walk', text(keys), {
    storage: storage(asked),
    onLog: (entry) => {
      logs.push(entry);
      onLog?.(entry);
    },
    trace: (event: HostCallEvent) => trace.push(event.name),
  });
  const call: Walk = { keys, logs, trace, asked, result, settled: false };
  result.then(
    () => (call.settled = true),
    () => (call.settled = true),
  );
  return call;
}

/** Everything a `walk` call must have seen and returned. */
async function expectWalk(call: Walk): Promise<void> {
  const result = await call.result;
  const want = expected(call.keys);
  expect({
    output: toHex(result.output),
    logs: call.logs,
    trace: call.trace,
    hostCalls: result.hostCalls,
    totalHostCalls: result.totalHostCalls,
    pauses: result.pauses,
    allocations: result.heap.allocations,
    frees: result.heap.frees,
    asked: call.asked,
  }).toEqual({ ...want });
}

/** A storage read the test has not answered yet. */
interface Held {
  readonly call: string;
  readonly key: string;
  readonly release: () => void;
}

/** A provider for the call named `call` whose every answer (from {@link STATE}) waits in `held` until released. */
function heldStorage(call: string, held: Held[]): (asked: string[]) => StorageProvider {
  return (asked) => ({
    get: (key, child) => {
      asked.push(toHex(key));
      return new Promise((resolve) => held.push({ call, key: toHex(key), release: () => resolve(STATE.get(key, child)) }));
    },
  });
}

/** A provider answering from {@link STATE} synchronously. */
const synchronous = (asked: string[]): StorageProvider => ({
  get: (key, child) => (asked.push(toHex(key)), STATE.get(key, child)),
});

/** One turn of the event loop: every pending promise job runs first. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Lets the event loop turn until `ready()`, at most `turns` times: bounded by work, not by the clock. */
async function until(ready: () => boolean, what: string, turns = 1_000): Promise<void> {
  for (let i = 0; i < turns && !ready(); i++) await turn();
  if (!ready()) throw new Error(`still waiting for ${what} after ${turns} turns of the event loop`);
}

describe("runtime.backend says what runs; 'auto' is JSPI on this engine", () => {
  test.each<[Backend | 'auto' | undefined, Backend]>([
    ['asyncify', 'asyncify'],
    ['jspi', 'jspi'],
    ['auto', 'jspi'],
    [undefined, 'jspi'],
  ])('backend %p: %s', async (backend, reported) => {
    const runtime = await SubstrateRuntime.create({ code: await WALK_GUEST, ...(backend === undefined ? {} : { backend }) });
    expect(runtime.backend).toBe(reported);
    expect([...(await runtimeCall(runtime, 'echo', Uint8Array.of(1, 2))).output]).toEqual([1, 2]);
  });
});

describe.each(VARIANTS)('%s', (variant) => {
  let runtime: SubstrateRuntime;
  beforeAll(async () => {
    // Also Asyncify with its paused stack in the runtime's one memory: the heap's in-place
    // headers and the host functions' reads and writes then go through the shifted memory.
    runtime = await SubstrateRuntime.create({ code: await WALK_GUEST, ...variantConfig(variant) });
    expect(runtime.backend).toBe(backendOf(variant));
    if (variantConfig(variant).asyncifyStack !== undefined) expect(runtime.asyncifyStack).toBe('single-memory');
  });

  test('one call: its log entries, host calls, heap and output (what each overlapping call must see of its own)', async () => {
    await expectWalk(walk(runtime, 'hello', synchronous));
  });

  test('overlapping calls, paused on their storage and resumed out of order, each see only their own logs, host calls, heap and answers', async () => {
    const held: Held[] = [];
    const calls: Record<string, string> = { a: 'abcde', b: 'xyz', c: 'pqrstuv' };
    const names = Object.keys(calls); // the order they start in
    const walks = new Map(names.map((name) => [name, walk(runtime, calls[name]!, heldStorage(name, held))]));
    const running = () => names.filter((name) => !walks.get(name)!.settled);
    /** Every running call has asked for its next key (or finished). */
    const allAsked = () => held.length === running().length;

    let round = 0;
    let overlapped = false;
    while (running().length > 0) {
      await until(allAsked, `round ${round}: every running call to ask for its next key`);
      if (running().length === 0) break;
      expect(new Set(held.map((h) => h.call)).size).toBe(held.length); // one question per call
      if (round === 1) {
        // While the others are paused, a call with a synchronous provider runs from start to end.
        await expectWalk(walk(runtime, 'mn', synchronous));
        expect(held.length).toBe(running().length);
      }
      // Never in the order the calls started: reversed in even rounds, and in odd ones rotated too
      // (b, a, c) when there are three.
      const order = held.splice(0).sort((x, y) => names.indexOf(y.call) - names.indexOf(x.call));
      if (round % 2 === 1 && order.length > 2) order.push(order.shift()!);
      if (order.length > 1) expect(order.map((h) => h.call)).not.toEqual(names.filter((name) => order.some((h) => h.call === name)));
      if (round % 2 === 0) {
        // All at once: their resumed steps compete for the runtime's active-call slot.
        for (const h of order) h.release();
        if (order.length > 1) overlapped = true;
      } else {
        // One at a time: each runs a step (inline calls, then its next pause) while the others stay paused.
        for (const [i, h] of order.entries()) {
          const before = held.length;
          const call = walks.get(h.call)!;
          h.release();
          await until(() => held.length > before || call.settled, `${h.call} to ask again or finish`);
          expect(held.length + (call.settled ? 1 : 0)).toBe(before + 1);
          expect(order.slice(i + 1).every((other) => !walks.get(other.call)!.settled)).toBe(true);
        }
      }
      round += 1;
    }
    expect(overlapped).toBe(true);
    expect(round).toBe(Math.max(...names.map((name) => calls[name]!.length)));
    for (const name of names) await expectWalk(walks.get(name)!);
  });

  test("a call started from inside another call's inline host function (its onLog): each keeps to itself", async () => {
    // On Asyncify the inner call's first step runs right there, nested in the outer call's step;
    // on JSPI it waits for the outer step to end. Either way, the outer call's next inline host
    // call (the hash after the log) must find the outer call's context again.
    const inner: Walk[] = [];
    const outer = walk(runtime, 'outer', synchronous, () => {
      if (inner.length === 0) inner.push(walk(runtime, 'inner', synchronous));
    });
    await expectWalk(outer);
    expect(inner.length).toBe(1);
    await expectWalk(inner[0]!);
  });

  test('a failing call among overlapping ones fails alone', async () => {
    const held: Held[] = [];
    const good = walk(runtime, 'fgh', heldStorage('good', held));
    const bad = walk(runtime, 'ijk', (asked) => ({
      get: (key) => {
        asked.push(toHex(key));
        return asked.length === 2 ? Promise.reject(new Error('proof invalid')) : STATE.get(key, null);
      },
    }));
    await until(() => bad.settled && held.length === 1, 'the bad call to fail while the good one is paused');
    await expect(bad.result).rejects.toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_storage_get_version_1' });
    expect(bad.logs.map((e) => e.message)).toEqual(['i', 'j']);
    while (!good.settled) {
      await until(() => held.length === 1 || good.settled, 'the good call to ask again or finish');
      held.splice(0).forEach((h) => h.release());
    }
    await expectWalk(good);
  });

  test('a provider answering synchronously or with a promise: the same answers and pauses; only the promise makes the call wait', async () => {
    const keys = 'storage';
    const sync = walk(runtime, keys, synchronous);
    await expectWalk(sync);
    expect((await sync.result).waitingMs).toBe(0);

    const resolved = walk(runtime, keys, (asked) => ({ get: async (key, child) => (asked.push(toHex(key)), STATE.get(key, child)) }));
    await expectWalk(resolved);

    const held: Held[] = [];
    const waiting = walk(runtime, keys, heldStorage('waiting', held));
    for (let i = 0; i < keys.length; i++) {
      await until(() => held.length === 1, `question ${i}`);
      // Paused on the provider's promise: the call goes no further until it settles.
      for (let t = 0; t < 5; t++) await turn();
      expect(held.length).toBe(1);
      expect(waiting.settled).toBe(false);
      expect(waiting.logs.length).toBe(i + 1);
      held.pop()!.release();
    }
    await expectWalk(waiting);
  });
});

describe('artifacts and the cache', () => {
  /** A cache that records what it is asked, over `store`. */
  function recordingCache(store: MemoryArtifactCache) {
    const seen: string[] = [];
    return {
      seen,
      cache: {
        get: (key: string) => (seen.push('get'), store.get(key)),
        set: (key: string, artifact: Uint8Array) => (seen.push('set'), store.set(key, artifact)),
      },
    };
  }
  const phasesOf = () => {
    const phases: string[] = [];
    return { phases, onProgress: (event: RuntimeProgressEvent) => void (event.status === 'start' && phases.push(event.phase)) };
  };

  test.each<Backend | 'auto'>(['jspi', 'auto'])('is never asked on JSPI (backend %p): there is no transform to skip', async (backend) => {
    const asked: string[] = [];
    const never = {
      get: (key: string) => void asked.push(`get ${key}`),
      set: (key: string) => void asked.push(`set ${key}`),
    };
    const { phases, onProgress } = phasesOf();
    const runtime = await SubstrateRuntime.create({ code: await WALK_GUEST, backend, cache: never, onProgress });
    expect(runtime.backend).toBe('jspi');
    await expectWalk(walk(runtime, 'jspi', synchronous));
    expect(asked).toEqual([]);
    expect(phases).not.toContain('cache-lookup');
    expect(phases).not.toContain('cache-store');
    expect(phases).not.toContain('transform');
  });

  test('is used on Asyncify: a miss transforms and stores the artifact, a hit loads it without the transform', async () => {
    const store = new MemoryArtifactCache();
    const { seen, cache } = recordingCache(store);
    const first = phasesOf();
    const runtime = await SubstrateRuntime.create({ code: await WALK_GUEST, backend: 'asyncify', cache, onProgress: first.onProgress });
    expect(seen).toEqual(['get', 'set']);
    expect(store.size).toBe(1);
    expect(first.phases).toEqual(expect.arrayContaining(['cache-lookup', 'transform', 'cache-store']));

    seen.length = 0;
    const second = phasesOf();
    const again = await SubstrateRuntime.create({ code: await WALK_GUEST, backend: 'asyncify', cache, onProgress: second.onProgress });
    expect(seen).toEqual(['get']);
    expect(second.phases).toContain('load-artifact');
    expect(second.phases).not.toContain('transform');
    expect([runtime.backend, again.backend]).toEqual(['asyncify', 'asyncify']);
    await expectWalk(walk(runtime, 'miss', synchronous));
    await expectWalk(walk(again, 'hit', synchronous));
  });

  test("an artifact is Asyncify's: with 'auto' the runtime runs on Asyncify, and 'jspi' is refused", async () => {
    let artifact: Uint8Array | null = null;
    const capture = { get: () => undefined, set: (_key: string, value: Uint8Array) => void (artifact = value) };
    await SubstrateRuntime.create({ code: await WALK_GUEST, backend: 'asyncify', cache: capture });
    expect(artifact).not.toBeNull();
    const runtime = await SubstrateRuntime.create({ code: await WALK_GUEST, artifact: artifact!, backend: 'auto' });
    expect(runtime.backend).toBe('asyncify');
    await expectWalk(walk(runtime, 'artifact', synchronous));
    await expect(SubstrateRuntime.create({ code: await WALK_GUEST, artifact: artifact!, backend: 'jspi' })).rejects.toMatchObject({
      name: 'UsageError',
      kind: 'UnsupportedOnBackend',
    });
  });
});
