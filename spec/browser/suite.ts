/**
 * What the browser tests (`spec/browser.test.ts`) run inside each browser, on the page's main
 * thread and in a Worker alike: every function takes plain data and returns plain data (what
 * survives JSON), so that the test can call it through any driver's `evaluate` or a Worker's
 * messages. It imports the package by name, as a page would, and is bundled by esbuild with no
 * setting beyond the platform (the spec-suite and fuzz runners it adds, in `conformance.ts` and
 * `fuzz.ts`, need a little more: see `spec/support/browser-bundle.ts`).
 */
import { type AsyncifyStack, type Backend, NewError, type ProgressEvent, UsageError, VirtualMachinePrototype, WasmValue } from 'resumable-wasm';
import { IndexedDbArtifactCache } from 'resumable-wasm/browser';
import { createStore, keys, set } from 'idb-keyval';
import { type RuntimeProgressEvent, SubstrateRuntime, runtimeCall } from 'resumable-wasm/substrate';
import { roundTrips } from '../support/round-trips.js';
import { specScripts } from './conformance.js';
import { fuzzCases } from './fuzz.js';

/** A module with two memories: valid only where the engine has multi-memory. */
const TWO_MEMORIES = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00);

/**
 * Where a suite function ran, and what the engine itself offers there, probed directly (never
 * read from the user agent): JSPI (`WebAssembly.Suspending` and `promising`) and multi-memory.
 */
export function where(): { thread: 'main' | 'worker'; jspi: boolean; multiMemory: boolean } {
  const api = WebAssembly as unknown as { Suspending?: unknown; promising?: unknown };
  return {
    thread: typeof document === 'undefined' ? 'worker' : 'main',
    jspi: typeof api.Suspending === 'function' && typeof api.promising === 'function',
    multiMemory: WebAssembly.validate(TWO_MEMORIES),
  };
}

/**
 * What the engine itself does at the JavaScript boundary and in its trap messages, probed with
 * the module at `moduleUrl` (`spec/support/engine-differences.ts` makes it): whether a NaN's
 * sign and payload survive a trip through a JavaScript number (engines that NaN-box their values
 * canonicalise every NaN), and the messages of an out-of-bounds memory access and of a
 * `call_indirect` past the end of a table, of a division overflow and of a truncation out of range.
 */
export async function engineTraits(request: {
  moduleUrl: string;
}): Promise<{ nanBits: string; memoryOutOfBounds: string; tableOutOfBounds: string; divisionOverflow: string; truncationOverflow: string }> {
  const { instance } = await WebAssembly.instantiate((await fetchBytes(request.moduleUrl)) as Uint8Array<ArrayBuffer>);
  const exports = instance.exports as { nanBits: (x: number) => bigint; memory: () => void; table: () => void; division: () => void; truncation: () => void };
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, 0xfff4_0000_0000_0001n);
  const message = (trap: () => void): string => {
    try {
      trap();
      return '(no trap)';
    } catch (e) {
      return (e as Error).message;
    }
  };
  return {
    nanBits: `0x${BigInt.asUintN(64, exports.nanBits(view.getFloat64(0))).toString(16)}`,
    memoryOutOfBounds: message(exports.memory),
    tableOutOfBounds: message(exports.table),
    divisionOverflow: message(exports.division),
    truncationOverflow: message(exports.truncation),
  };
}

/** What `VirtualMachinePrototype.create` on one backend made of a tiny module. */
export type BackendProbe =
  /** It ran: `result` is what the guest returned; `asyncifyStack` where the prototype says (Asyncify). */
  | { ok: true; result: number | null; asyncifyStack: string | null }
  /** It was refused: the error's class, kind and message. */
  | { ok: false; error: string; kind: string | null; message: string };

/** A thrown value as data. */
function refusal(e: unknown): BackendProbe & { ok: false } {
  const kind = (e as { kind?: unknown }).kind;
  return {
    ok: false,
    error: e instanceof NewError ? 'NewError' : e instanceof Error ? e.name : typeof e,
    kind: typeof kind === 'string' ? kind : null,
    message: e instanceof Error ? e.message : String(e),
  };
}

/**
 * Creates a prototype of the module at `moduleUrl` on `backend` (on Asyncify, with the paused
 * stack where `asyncifyStack` says: the library's choice without it) and runs its `main(1)`,
 * answering every pause with 1; or reports the refusal. On Asyncify this runs the transform in
 * the browser (Binaryen is downloaded): the tests probe on a page of their own.
 */
export async function backendProbe(request: { moduleUrl: string; backend: Backend; asyncifyStack?: AsyncifyStack }): Promise<BackendProbe> {
  const moduleBytes = await fetchBytes(request.moduleUrl);
  let proto: VirtualMachinePrototype;
  try {
    proto = await VirtualMachinePrototype.create({
      moduleBytes,
      symbols: () => 0,
      backend: request.backend,
      ...(request.asyncifyStack === undefined ? {} : { asyncifyStack: request.asyncifyStack }),
    });
  } catch (e) {
    return refusal(e);
  }
  const vm = proto.prepare().start('main', [WasmValue.i32(1)]);
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') outcome = await vm.runAsync(WasmValue.i32(1));
  const stack = (proto as unknown as { asyncifyStack?: unknown }).asyncifyStack;
  return {
    ok: true,
    result: outcome.type === 'finished' && outcome.value?.type === 'i32' ? outcome.value.value : null,
    asyncifyStack: typeof stack === 'string' ? stack : null,
  };
}

/**
 * What `'auto'` picks with an artifact cache, twice: the first `create()` (nothing cached yet),
 * then the second, after waiting (with `awaitArtifact`) for the artifact the first one makes in
 * the background where it chose JSPI over a faster Asyncify (a transform on its own thread,
 * however long a busy machine makes it: the wait ends when the cache is given the artifact).
 * Each prototype runs the guest once.
 */
export async function autoChoice(request: { moduleUrl: string; awaitArtifact: boolean }): Promise<{ first: Backend; second: Backend; results: (number | null)[]; cached: boolean }> {
  const moduleBytes = await fetchBytes(request.moduleUrl);
  const stored: Uint8Array[] = [];
  let artifactStored = (): void => {};
  const storedOnce = new Promise<void>((resolve) => (artifactStored = resolve));
  const cache = {
    get: () => stored[0] ?? null,
    set: (_key: string, artifact: Uint8Array) => {
      stored.push(artifact);
      artifactStored();
    },
  };
  const runOnce = async (proto: VirtualMachinePrototype): Promise<number | null> => {
    const vm = proto.prepare().start('main', [WasmValue.i32(1)]);
    let outcome = await vm.runAsync(null);
    while (outcome.type === 'interrupted') outcome = await vm.runAsync(WasmValue.i32(1));
    return outcome.type === 'finished' && outcome.value?.type === 'i32' ? outcome.value.value : null;
  };
  const first = await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0, backend: 'auto', cache });
  const results = [await runOnce(first)];
  if (request.awaitArtifact) await storedOnce;
  const cached = stored.length > 0;
  const second = await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0, backend: 'auto', cache });
  results.push(await runOnce(second));
  return { first: first.backend, second: second.backend, results, cached };
}

/**
 * Whether this thread may compile the module at `moduleUrl` synchronously (Chromium refuses
 * modules over 8 MB on a page's main thread): `ok`, or the engine's error.
 */
export async function synchronousCompile(request: { moduleUrl: string }): Promise<string> {
  const bytes = await fetchBytes(request.moduleUrl);
  try {
    new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    return 'ok';
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * A Substrate runtime call on `backend` (JSPI from the code; Asyncify from an artifact made by
 * Node.js), or the refusal of `SubstrateRuntime.create` as data (`refused`) where the engine
 * cannot run the backend.
 */
export async function substrateCall(request: {
  codeUrl: string;
  backend: Backend;
  artifactUrl?: string;
  entryPoints: string[];
}): Promise<
  | { refused: BackendProbe & { ok: false } }
  | {
  where: ReturnType<typeof where>;
  codeBytes: number;
  backend: Backend;
  specName: string;
  specVersion: number;
  phases: string[];
  outputs: { entryPoint: string; base64: string; pauses: number; ms: number }[];
  createMs: number;
}
> {
  // Hex text (as chain specs hold it), or raw wasm.
  const code = request.codeUrl.endsWith('.wasm') ? await fetchBytes(request.codeUrl) : (await (await fetch(request.codeUrl)).text()).trim();
  const artifact = request.artifactUrl === undefined ? undefined : await fetchBytes(request.artifactUrl);
  const codeBytes = typeof code === 'string' ? (code.length - 2) / 2 : code.length;
  const phases: string[] = [];
  const started = performance.now();
  let runtime: SubstrateRuntime;
  try {
    runtime = await SubstrateRuntime.create({
      code,
      backend: request.backend,
      ...(artifact === undefined ? {} : { artifact }),
      onProgress: (e: RuntimeProgressEvent) => {
        if (e.status === 'end') phases.push(e.phase);
      },
    });
  } catch (e) {
    if (e instanceof NewError && e.kind === 'BackendUnsupported') return { refused: refusal(e) };
    throw e;
  }
  const createMs = performance.now() - started;
  const outputs = [];
  for (const entryPoint of request.entryPoints) {
    const callStarted = performance.now();
    const result = await runtimeCall(runtime, entryPoint, new Uint8Array(), { storage: { get: () => null } });
    outputs.push({ entryPoint, base64: toBase64(result.output), pauses: result.pauses, ms: performance.now() - callStarted });
  }
  return {
    where: where(),
    codeBytes,
    backend: runtime.backend,
    specName: runtime.version.specName,
    specVersion: runtime.version.specVersion,
    phases,
    outputs,
    createMs,
  };
}

/** What a transition did: `ok`, or the error's class and kind. */
function attempt(action: () => unknown): string {
  try {
    action();
    return 'ok';
  } catch (e) {
    return e instanceof UsageError ? `UsageError ${e.kind}` : `${(e as Error).name}: ${(e as Error).message}`;
  }
}

/**
 * The engine's limit on synchronous instantiation, with a module over 8 MB: the synchronous
 * transitions that need a new instance, then their asynchronous forms.
 */
export async function instantiationLimit(request: { moduleUrl: string; backend: Backend; cache?: boolean }): Promise<{
  where: ReturnType<typeof where>;
  wireBytes: number;
  clone: string;
  cloneAsync: string;
  intoPrototype: string;
  stillUsable: string;
  renewedState: string;
  resetIntoPrototype: string;
}> {
  const moduleBytes = await fetchBytes(request.moduleUrl);
  const proto = await VirtualMachinePrototype.create({
    moduleBytes,
    symbols: () => 0,
    backend: request.backend,
    // The page and its Workers share the origin's IndexedDB: one transform serves them all.
    ...(request.cache === true ? { cache: new IndexedDbArtifactCache() } : {}),
  });
  const clone = attempt(() => proto.clone());
  const copy = await proto.cloneAsync();
  const cloneAsync = copy.prepare().readMemory(0, 4).join(',');
  // A grown memory cannot be reset: a new instance is needed.
  const prepare = proto.prepare();
  prepare.growMemory(1);
  let renewed: VirtualMachinePrototype | null = null;
  const intoPrototype = attempt(() => (renewed = prepare.intoPrototype()));
  // Refused, it consumed nothing; succeeded, it did.
  const stillUsable = renewed === null ? attempt(() => prepare.readMemory(0, 4)) : 'consumed';
  const fresh: VirtualMachinePrototype = renewed ?? (await prepare.intoPrototypeAsync());
  const freshPrepare = fresh.prepare();
  const renewedState = `${freshPrepare.memorySize()} pages, ${freshPrepare.readMemory(0, 4).join(',')}`;
  // A finished call on an instance that kept its size: a reset serves, no instantiation.
  const vm = freshPrepare.start('main', []);
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') outcome = await vm.runAsync(WasmValue.i32(7));
  const resetIntoPrototype = attempt(() => vm.intoPrototype());
  return { where: where(), wireBytes: moduleBytes.length, clone, cloneAsync, intoPrototype, stillUsable, renewedState, resetIntoPrototype };
}

/**
 * An Asyncify `create()` in the browser, with the IndexedDB artifact cache: on a miss the
 * transform runs (on its Worker: this thread's round trips are counted during the Asyncify
 * pass), on a hit it does not. Then the guest runs.
 */
export async function asyncifyCreate(request: { moduleUrl: string; cache: boolean; clearCache?: boolean }): Promise<{
  where: ReturnType<typeof where>;
  events: string[];
  cacheHit: boolean | null;
  roundTripsDuringPass: number | null;
  passMs: number | null;
  createMs: number;
  result: number | null;
}> {
  const moduleBytes = await fetchBytes(request.moduleUrl);
  const cache = request.cache ? new IndexedDbArtifactCache() : undefined;
  if (request.clearCache === true) await cache!.clear();
  const trips = roundTrips();
  const seen: { event: ProgressEvent; trips: number }[] = [];
  const started = performance.now();
  let proto: VirtualMachinePrototype;
  try {
    proto = await VirtualMachinePrototype.create({
      moduleBytes,
      symbols: () => 0,
      backend: 'asyncify',
      ...(cache === undefined ? {} : { cache }),
      onProgress: (event) => seen.push({ event, trips: trips.count() }),
    });
  } finally {
    trips.stop();
  }
  const createMs = performance.now() - started;
  const asyncify = seen.find(({ event }) => event.step === 'asyncify');
  const after = seen.find(({ event }) => event.step === 'post-passes');
  const vm = proto.prepare().start('main', [WasmValue.i32(1)]);
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') outcome = await vm.runAsync(WasmValue.i32(1));
  return {
    where: where(),
    events: seen.map(({ event }) => `${event.phase}:${event.step ?? event.status}`),
    cacheHit: seen.find(({ event }) => event.phase === 'cache-lookup' && event.status === 'end')?.event.cacheHit ?? null,
    roundTripsDuringPass: asyncify === undefined || after === undefined ? null : after.trips - asyncify.trips,
    passMs: asyncify === undefined || after === undefined ? null : after.event.elapsedMs - asyncify.event.elapsedMs,
    createMs,
    result: outcome.type === 'finished' && outcome.value?.type === 'i32' ? outcome.value.value : null,
  };
}

/**
 * The IndexedDB cache's rules, in a database of its own: keys are artifact cache keys or a
 * `TypeError`; exactly the artifact's bytes are stored (not its buffer); a foreign value is a
 * miss; a damaged artifact is caught by the core, which transforms again and replaces it.
 */
export async function cacheRules(request: { moduleUrl: string }): Promise<{
  badKeys: string[];
  storedBytes: number[];
  foreign: string;
  damaged: { events: string[]; replaced: boolean };
}> {
  const database = 'resumable-wasm-rules';
  const cache = new IndexedDbArtifactCache(database);
  await cache.clear();
  const badKeys: string[] = [];
  for (const key of ['', '../escape', 'A'.repeat(64), '0'.repeat(63)]) {
    await cache.get(key).then(
      () => badKeys.push(`${key}: accepted`),
      (e: unknown) => badKeys.push(`${key}: ${(e as Error).name}`),
    );
  }
  const key = 'a'.repeat(64);
  await cache.set(key, Uint8Array.from({ length: 100 }, (_, i) => i).subarray(10, 14));
  const storedBytes = [...((await cache.get(key)) ?? [])];
  const store = createStore(database, 'artifacts');
  await set(key, 'not an artifact', store);
  const foreign = String(await cache.get(key));
  await cache.clear();

  const moduleBytes = await fetchBytes(request.moduleUrl);
  await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0, backend: 'asyncify', cache });
  const [stored] = await keys(store);
  const good = (await cache.get(String(stored)))!;
  const damaged = good.slice();
  damaged[damaged.length >> 1]! ^= 0xff;
  await cache.set(String(stored), damaged);
  const events: string[] = [];
  await VirtualMachinePrototype.create({
    moduleBytes,
    symbols: () => 0,
    backend: 'asyncify',
    cache,
    onProgress: (e) => {
      if (e.status === 'end') events.push(`${e.phase}${e.cacheHit === undefined ? '' : `:${e.cacheHit ? 'hit' : 'miss'}`}`);
    },
  });
  const after = (await cache.get(String(stored)))!;
  return { badKeys, storedBytes, foreign, damaged: { events, replaced: after.length === good.length && after.every((b, i) => b === good[i]) } };
}

/** The suite's functions by name, for the page and the Worker to dispatch to. */
export const SUITE = {
  where,
  engineTraits,
  backendProbe,
  synchronousCompile,
  substrateCall,
  instantiationLimit,
  asyncifyCreate,
  cacheRules,
  autoChoice,
  specScripts,
  fuzzCases,
} as const;
export type SuiteName = keyof typeof SUITE;
