/**
 * Test and benchmark harness: runs a Substrate runtime entry point in plain `WebAssembly` with
 * synchronous imports (the reference) and through the VM (every import an interrupt, or the
 * host answered inline), with the same minimal host on every side: Substrate's heap allocator,
 * logging that only counts, and storage reads answered from a map (empty unless a run is given
 * one, such as a chain spec's genesis storage). Entry points take `(ptr, len)` of SCALE input and
 * return an `i64` packing `len << 32 | ptr`.
 *
 * This is deliberately not the library's Substrate host layer: it is the smallest host that
 * lets a runtime compute metadata, so that a difference between the runs can only come from the
 * VM. Its allocator, though, must be Substrate's, the library's `FreeingBumpAllocator`
 * (power-of-two blocks behind 8-byte headers, freed blocks reused): runtimes built with rustc
 * 1.91 and later write just past some of their allocations, which Substrate's rounding absorbs,
 * and an exact-fit allocator handing out back-to-back blocks lets those writes land in the next
 * block (Paseo's `Metadata_metadata` then traps on `unreachable`, a Rust panic). The allocator
 * is not what these runs check, and every side shares it.
 *
 * Code is decompressed by libzstd (`node:zlib`), independently of the library's decoder.
 */
import { zstdDecompressSync } from 'node:zlib';
import { compact } from 'scale-ts';
import {
  type ArtifactCache,
  type AsyncifyStack,
  type Backend,
  type ExecOutcome,
  type GuestMemoryAccess,
  type InlineImport,
  OutOfBoundsError,
  type VirtualMachine,
  VirtualMachinePrototype,
  type VmConfig,
  WasmValue,
  runToCompletion,
} from '../../lib/index.js';
import { CURRENT_VIEW, type CurrentViewAccess } from '../../lib/base/guest-memory-access.js';
import { readModuleFacts } from '../../lib/load/module-facts.js';
import { FreeingBumpAllocator } from '../../lib/substrate/heap/allocator.js';

const PAGE = 65536;
const ZSTD_PREFIX = [0x52, 0xbc, 0x53, 0x76, 0x46, 0xdb, 0x8e, 0x05];

/** Raw wasm from runtime code that may carry Substrate's zstd prefix. */
export function runtimeWasm(code: Uint8Array): Uint8Array {
  const prefixed = ZSTD_PREFIX.every((b, i) => code[i] === b);
  if (!prefixed) return code;
  const wasm = zstdDecompressSync(code.subarray(8));
  return new Uint8Array(wasm.buffer, wasm.byteOffset, wasm.length);
}

/** The Rococo Asset Hub genesis runtime from `@substrate/connect-known-chains` (raw wasm). */
export async function assetHubRuntime(): Promise<Uint8Array> {
  const { chainSpec } = (await import('@substrate/connect-known-chains/rococo_v2_2_asset_hub')) as { chainSpec: string };
  const spec = JSON.parse(chainSpec) as { genesis: { raw: { top: Record<string, string> } } };
  const hex = spec.genesis.raw.top['0x3a636f6465']!;
  return runtimeWasm(Uint8Array.from(Buffer.from(hex.slice(2), 'hex')));
}

/** What one run of an entry point produced. */
export interface EntryPointRun {
  output: Uint8Array;
  /** Host calls by import name. */
  calls: Map<string, number>;
  /** Total host calls. */
  totalCalls: number;
}

/**
 * The imports the minimal host answers, in the order of {@link MinimalHost}'s counters; anything
 * else makes the run fail when it is called. Each side resolves an import to its position here
 * once, when it binds it, so that a call costs no lookup by name.
 */
const HANDLED = [
  'ext_allocator_malloc_version_1',
  'ext_allocator_free_version_1',
  'ext_logging_log_version_1',
  'ext_logging_max_level_version_1',
  'ext_storage_get_version_1',
] as const;
const [MALLOC, FREE, , MAX_LEVEL, STORAGE_GET] = [0, 1, 2, 3, 4] as const;

/** The position of `name` in {@link HANDLED}, or -1. */
function handledIndex(name: string): number {
  return (HANDLED as readonly string[]).indexOf(name);
}

function unexpected(name: string): never {
  throw new Error(`unexpected host call ${name}`);
}

/**
 * The storage a run reads: values by key in `0x`-prefixed lowercase hex, as
 * `loadChainSpec(...).storage` gives them. A key that is absent reads as a missing value.
 */
export type HarnessStorage = ReadonlyMap<string, Uint8Array>;

/** Options of one run of an entry point. */
export interface RunOptions {
  /** What `ext_storage_get_version_1` reads. Default: nothing (every key is missing). */
  readonly storage?: HarnessStorage;
  /** The call's fuel budget (`start(..., { fuel })`), for a prototype created with `bounds.fuel`. */
  readonly fuel?: bigint;
}

const NO_STORAGE: HarnessStorage = new Map();

function hexKey(key: Uint8Array): string {
  return `0x${Buffer.from(key.buffer, key.byteOffset, key.length).toString('hex')}`;
}

/** SCALE `Option<Vec<u8>>`, what `ext_storage_get_version_1` returns: `00`, or `01`, a compact length and the bytes. */
function optionBytes(value: Uint8Array | undefined): Uint8Array {
  if (value === undefined) return Uint8Array.of(0);
  const length = compact.enc(value.length);
  const encoded = new Uint8Array(1 + length.length + value.length);
  encoded[0] = 1;
  encoded.set(length, 1);
  encoded.set(value, 1 + length.length);
  return encoded;
}

/** The state of one run of the minimal host. */
class MinimalHost {
  /** Calls of each import of {@link HANDLED}, by position. */
  readonly #counts = new Uint32Array(HANDLED.length);
  constructor(
    /** An empty heap for each run, starting at the runtime's `__heap_base` (reused, reset). */
    readonly allocator: FreeingBumpAllocator,
    readonly storage: HarnessStorage,
  ) {}

  /**
   * The host's answer to one call of the import at position `which` of {@link HANDLED}, given
   * its first argument (the only one any of them reads): a value (a bigint for an `i64`), or
   * `undefined` for none.
   */
  answer(which: number, memory: GuestMemoryAccess, first: number | bigint | undefined): number | bigint | undefined {
    this.#counts[which]! += 1;
    switch (which) {
      case MALLOC:
        return this.allocator.malloc(memory, first as number);
      case FREE:
        this.allocator.free(memory, first as number);
        return undefined;
      case MAX_LEVEL:
        return 0; // LogLevelFilter::Off: the runtime then logs nothing.
      case STORAGE_GET: {
        // The key is a pointer-size; the answer, SCALE Option<Vec<u8>> in a block of the heap.
        const key = BigInt.asUintN(64, BigInt(first!));
        const value = this.storage.get(hexKey(memory.readMemory(Number(key & 0xffff_ffffn), Number(key >> 32n))));
        const encoded = optionBytes(value);
        const pointer = this.allocator.malloc(memory, encoded.length);
        memory.writeMemory(pointer, encoded);
        return (BigInt(encoded.length) << 32n) | BigInt(pointer);
      }
      default:
        return undefined; // log: nothing to do for this host.
    }
  }

  result(memory: GuestMemoryAccess, packed: bigint): EntryPointRun {
    const u = BigInt.asUintN(64, packed);
    const output = memory.readMemory(Number(u & 0xffff_ffffn), Number(u >> 32n));
    const calls = new Map<string, number>();
    let totalCalls = 0;
    this.#counts.forEach((count, which) => {
      if (count > 0) calls.set(HANDLED[which]!, count);
      totalCalls += count;
    });
    return { output, calls, totalCalls };
  }
}

/**
 * `GuestMemoryAccess` over a plain `WebAssembly.Memory`. As the interface asks (and the
 * allocator relies on), growing past the maximum throws `OutOfBoundsError`, growing nothing.
 */
function plainMemory(memory: () => WebAssembly.Memory): GuestMemoryAccess & CurrentViewAccess {
  let view: DataView<ArrayBuffer> | null = null;
  return {
    // The fast path the library's own memory objects give its allocator, so that every side's
    // allocator costs the same.
    [CURRENT_VIEW]: () => {
      const buffer = memory().buffer as ArrayBuffer;
      if (view?.buffer !== buffer) view = new DataView(buffer);
      return view;
    },
    memorySize: () => memory().buffer.byteLength / PAGE,
    growMemory: (pages) => {
      try {
        memory().grow(pages);
      } catch (e) {
        if (e instanceof RangeError) throw new OutOfBoundsError(`cannot grow the memory by ${pages} pages: ${e.message}`);
        throw e;
      }
    },
    writeMemory: (offset, data) => new Uint8Array(memory().buffer).set(data, offset),
    readMemory: (offset, size) => new Uint8Array(memory().buffer, offset, size).slice(),
  };
}

/** What one run of a bare (library-less) runner works with; see {@link bareInstances}. */
interface BareRun {
  readonly instance: WebAssembly.Instance;
  readonly host: MinimalHost;
  readonly access: GuestMemoryAccess;
  /** Writes `input` into a block of the heap; returns its pointer. */
  readonly input: (input: Uint8Array) => number;
  /** Ends the run: puts the memory back if the instance is kept. */
  readonly end: () => void;
}

/**
 * Instances of `wasm` for the runners that use no library (plain WebAssembly, and a minimal
 * hand-written JSPI loop): compiled once, a fresh instance per run, or with `reuseInstance` one
 * instance serving every run, its memory put back after each (the initial contents copied back,
 * zeros past them, the size as the run left it): what the VM does with
 * `VmConfig.reuseGrownMemory`, done by hand, as the baseline of that mode. (Its mutable globals
 * are not restored: Rust runtimes have only their stack pointer, which a call that returns puts
 * back itself.) `bind` gives the function the guest imports for an import the minimal host
 * answers, from its position in {@link HANDLED} and the host of the run in progress.
 */
async function bareInstances(
  wasm: Uint8Array,
  reuseInstance: boolean,
  bind: (which: number, current: () => { host: MinimalHost; access: GuestMemoryAccess }) => unknown,
): Promise<(options: RunOptions) => BareRun> {
  const module = await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
  const declared = readModuleFacts(wasm).memories[0];
  let allocator: FreeingBumpAllocator | null = null;
  // What the imports of the instance in use answer from, set for each run.
  let memory: WebAssembly.Memory | null = null;
  let host: MinimalHost | null = null;
  const access = plainMemory(() => memory!);
  const current = () => ({ host: host!, access });
  let kept: { readonly instance: WebAssembly.Instance; readonly memory: WebAssembly.Memory; readonly image: Uint8Array } | null = null;
  const instantiate = (): WebAssembly.Instance => {
    const env: Record<string, unknown> = {};
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.kind !== 'function') continue;
      const which = handledIndex(imp.name);
      env[imp.name] = which < 0 ? () => unexpected(imp.name) : bind(which, current);
    }
    memory = null;
    if (declared?.imported === true) {
      // The same memory the VM gives an imported memory: the module's declared limits.
      const { initial, maximum } = declared.limits;
      memory = new WebAssembly.Memory(maximum === null ? { initial } : { initial, maximum });
      env['memory'] = memory;
    }
    const instance = new WebAssembly.Instance(module, { env } as WebAssembly.Imports);
    memory ??= instance.exports['memory'] as WebAssembly.Memory;
    return instance;
  };
  const end = (): void => {
    if (kept === null) return;
    const bytes = new Uint8Array(kept.memory.buffer);
    bytes.set(kept.image);
    bytes.fill(0, kept.image.length);
  };
  return (options) => {
    let instance: WebAssembly.Instance;
    if (kept === null) {
      instance = instantiate();
      if (reuseInstance) kept = { instance, memory: memory!, image: new Uint8Array(memory!.buffer).slice() };
    } else {
      instance = kept.instance;
      memory = kept.memory;
    }
    allocator ??= new FreeingBumpAllocator((instance.exports['__heap_base'] as WebAssembly.Global).value as number);
    allocator.reset();
    const run = new MinimalHost(allocator, options.storage ?? NO_STORAGE);
    host = run;
    const input = (bytes: Uint8Array): number => {
      const pointer = run.allocator.malloc(access, bytes.length);
      access.writeMemory(pointer, bytes);
      return pointer;
    };
    return { instance, host: run, access, input, end };
  };
}

/**
 * Runs entry points of `wasm` in plain WebAssembly with synchronous imports: a fresh instance per
 * run, or with `reuseInstance` one instance, its memory put back (see {@link bareInstances}).
 */
export async function plainRunner(
  wasm: Uint8Array,
  runnerOptions: { readonly reuseInstance?: boolean } = {},
): Promise<(entry: string, input: Uint8Array, options?: RunOptions) => EntryPointRun> {
  const begin = await bareInstances(wasm, runnerOptions.reuseInstance === true, (which, current) => (first?: number | bigint) => {
    const { host, access } = current();
    return host.answer(which, access, first);
  });
  return (entry, input, options = {}) => {
    const run = begin(options);
    try {
      const packed = (run.instance.exports[entry] as (p: number, l: number) => bigint)(run.input(input), input.length);
      return run.host.result(run.access, packed);
    } finally {
      run.end();
    }
  };
}

/**
 * Runs entry points of `wasm` with a minimal hand-written JSPI driver, without the library: every
 * handled import is a `WebAssembly.Suspending` that records the call and returns a promise, which
 * the driver settles with the minimal host's answer. Two ways to drive, each the least any JSPI
 * host that pauses at every import must do, and so the floor of the VM's JSPI rows:
 * - `'loop'` (the default): an `async` loop awaits each pause and answers it (as a host driving
 *   `runAsync` does: one promise per pause, one to wait for the next step);
 * - `'callback'`: each pause asks the host in a promise job of its own, once the engine has
 *   suspended the stack, and the answer settles the pause (as `runToCompletion` does).
 * Instances as in {@link plainRunner}. Needs an engine with JSPI.
 */
export async function minimalJspiRunner(
  wasm: Uint8Array,
  runnerOptions: { readonly reuseInstance?: boolean; readonly style?: 'loop' | 'callback' } = {},
): Promise<(entry: string, input: Uint8Array, options?: RunOptions) => Promise<EntryPointRun>> {
  const api = WebAssembly as unknown as {
    Suspending: new (fn: (first?: number | bigint) => Promise<unknown>) => unknown;
    promising: (fn: unknown) => (...args: number[]) => Promise<unknown>;
  };
  const settled = Promise.resolve();
  // The pause in progress: which import, its first argument, and how to resume it.
  let pausedWhich = -1;
  let pausedFirst: number | bigint | undefined;
  let resume: ((value: unknown) => void) | null = null;
  // Hands the loop its next step: a pause, or the end of the call.
  let step: ((ended: boolean) => void) | null = null;
  const begin = await bareInstances(wasm, runnerOptions.reuseInstance === true, (which, current) =>
    runnerOptions.style === 'callback'
      ? new api.Suspending((first) =>
          settled.then(() => {
            const { host, access } = current();
            return host.answer(which, access, first);
          }),
        )
      : new api.Suspending((first) => {
          pausedWhich = which;
          pausedFirst = first;
          const pause = new Promise<unknown>((resolve) => (resume = resolve));
          step!(false);
          return pause;
        }),
  );
  const entries = new WeakMap<WebAssembly.Instance, Map<string, (...args: number[]) => Promise<unknown>>>();
  return async (entry, input, options = {}) => {
    const run = begin(options);
    try {
      let byName = entries.get(run.instance);
      if (byName === undefined) entries.set(run.instance, (byName = new Map()));
      let call = byName.get(entry);
      if (call === undefined) byName.set(entry, (call = api.promising(run.instance.exports[entry])));
      if (runnerOptions.style === 'callback') return run.host.result(run.access, (await call(run.input(input), input.length)) as bigint);
      let next = new Promise<boolean>((resolve) => (step = resolve));
      let result: unknown;
      let failure: { error: unknown } | null = null;
      call(run.input(input), input.length).then(
        (value) => {
          result = value;
          step!(true);
        },
        (error: unknown) => {
          failure = { error };
          step!(true);
        },
      );
      while (!(await next)) {
        next = new Promise<boolean>((resolve) => (step = resolve));
        resume!(run.host.answer(pausedWhich, run.access, pausedFirst));
      }
      if (failure !== null) throw (failure as { error: unknown }).error;
      return run.host.result(run.access, result as bigint);
    } finally {
      run.end();
    }
  };
}

/** Runs `entry(input)` in plain WebAssembly with synchronous imports. */
export async function runPlain(wasm: Uint8Array, entry: string, input: Uint8Array, options: RunOptions = {}): Promise<EntryPointRun> {
  return (await plainRunner(wasm))(entry, input, options);
}

/** A prototype of a runtime for {@link runVm}, and the import names its ids index. */
export interface RuntimePrototype {
  proto: VirtualMachinePrototype;
  names: string[];
  /** For each import id, its position in the host's list of handled imports, or -1. */
  handled: number[];
  /** With `inline`: the host the inline functions answer from, replaced for each run. */
  inlineHost: { current: MinimalHost | null } | null;
  /** The heap allocator, reset for each run. */
  allocator: FreeingBumpAllocator;
}

/**
 * Creates a prototype whose import ids are indexes into `names`. With `inline`, the minimal
 * host answers every import inline (nothing pauses). `backend` defaults to the library's default;
 * `reuseGrownMemory` as in `VmConfig` (an option of the Substrate layer).
 */
export async function createRuntimePrototype(
  wasm: Uint8Array,
  options: {
    inline?: boolean;
    postPasses?: readonly string[];
    backend?: Backend;
    asyncifyStack?: AsyncifyStack;
    reuseGrownMemory?: boolean;
    cache?: ArtifactCache;
    /** The code rewrite's options: `VmConfig.fuel`, `maxStackHeight`, `canonicalizeNaNs`. */
    bounds?: Pick<VmConfig, 'fuel' | 'maxStackHeight' | 'canonicalizeNaNs'>;
  } = {},
): Promise<RuntimePrototype> {
  const names: string[] = [];
  const inlineHost = options.inline === true ? { current: null as MinimalHost | null } : null;
  const create = (config: VmConfig): Promise<VirtualMachinePrototype> =>
    options.postPasses === undefined
      ? VirtualMachinePrototype.create(config)
      : VirtualMachinePrototype._createTuned(config, { postPasses: options.postPasses });
  const proto = await create({
    moduleBytes: wasm,
    backend: options.backend ?? 'asyncify',
    ...(options.asyncifyStack === undefined ? {} : { asyncifyStack: options.asyncifyStack }),
    reuseGrownMemory: options.reuseGrownMemory ?? false,
    ...(options.cache === undefined ? {} : { cache: options.cache }),
    ...options.bounds,
    symbols: (_module, name) => names.push(name) - 1,
    ...(inlineHost === null
      ? {}
      : {
          inlineImports: (_module: string, name: string): InlineImport | undefined => {
            const which = handledIndex(name);
            return which < 0 ? undefined : (memory, params) => inlineHost.current!.answer(which, memory, params[0]);
          },
        }),
  });
  return { proto, names, handled: names.map(handledIndex), inlineHost, allocator: new FreeingBumpAllocator(proto.globalValue('__heap_base')) };
}

/**
 * Runs `entry(input)` through the VM, every import answered by the minimal host (through
 * interrupts, or inline if the prototype was created so). Returns the run and a fresh prototype
 * for the next run.
 */
export function runVm(
  runtime: RuntimePrototype,
  entry: string,
  input: Uint8Array,
  options: RunOptions = {},
): { run: EntryPointRun; runtime: RuntimePrototype } {
  const { host, vm } = startOn(runtime, entry, input, options);
  let outcome = vm.run(null);
  while (outcome.type === 'interrupted') outcome = vm.run(answerOf(host, runtime, vm, outcome.id, outcome.params));
  return finish(host, runtime, vm, outcome);
}

/**
 * {@link runVm} for either backend (JSPI has no synchronous `run`): through a loop over
 * `runAsync` by default, or with `drive: 'runToCompletion'` through the library's own loop, the
 * host then handed each interrupt as an `Interrupt` with the paused guest's memory.
 */
export async function runVmAsync(
  runtime: RuntimePrototype,
  entry: string,
  input: Uint8Array,
  options: RunOptions & { readonly drive?: 'runAsync' | 'runToCompletion' } = {},
): Promise<{ run: EntryPointRun; runtime: RuntimePrototype }> {
  const { host, vm } = startOn(runtime, entry, input, options);
  if (options.drive === 'runToCompletion') {
    const outcome = await runToCompletion(vm, ({ id, params }, memory) => answerOf(host, runtime, memory, id, params));
    return finish(host, runtime, vm, outcome);
  }
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') outcome = await vm.runAsync(answerOf(host, runtime, vm, outcome.id, outcome.params));
  return finish(host, runtime, vm, outcome);
}

/**
 * Starts `entry(input)` on `runtime`'s prototype (consumed) and returns the machine, not yet run,
 * with the minimal host's answer to each of its interrupts: for benchmarks and tests that step
 * the call themselves (snapshots at a chosen interrupt). The host's allocator is
 * `runtime.allocator`.
 */
export function startSteps(
  runtime: RuntimePrototype,
  entry: string,
  input: Uint8Array,
): { vm: VirtualMachine; answer: (memory: GuestMemoryAccess, id: number, params: readonly WasmValue[]) => WasmValue | null; output: (vm: VirtualMachine, value: bigint) => Uint8Array } {
  const { host, vm } = startOn(runtime, entry, input, {});
  return { vm, answer: (memory, id, params) => answerOf(host, runtime, memory, id, params), output: (on, value) => host.result(on, value).output };
}

function startOn(runtime: RuntimePrototype, entry: string, input: Uint8Array, options: RunOptions): { host: MinimalHost; vm: VirtualMachine } {
  runtime.allocator.reset();
  const host = new MinimalHost(runtime.allocator, options.storage ?? NO_STORAGE);
  if (runtime.inlineHost !== null) runtime.inlineHost.current = host;
  const prepare = runtime.proto.prepare();
  const inputPtr = host.allocator.malloc(prepare, input.length);
  prepare.writeMemory(inputPtr, input);
  const params = [WasmValue.i32(inputPtr), WasmValue.i32(input.length)];
  return { host, vm: options.fuel === undefined ? prepare.start(entry, params) : prepare.start(entry, params, { fuel: options.fuel }) };
}

/** The minimal host's answer to the interrupt `id` with `params`, as a `WasmValue`. */
function answerOf(host: MinimalHost, runtime: RuntimePrototype, memory: GuestMemoryAccess, id: number, params: readonly WasmValue[]): WasmValue | null {
  const which = runtime.handled[id]!;
  if (which < 0) unexpected(runtime.names[id]!);
  const result = host.answer(which, memory, params[0]?.value);
  return result === undefined ? null : typeof result === 'bigint' ? WasmValue.i64(result) : WasmValue.i32(result);
}

function finish(host: MinimalHost, runtime: RuntimePrototype, vm: VirtualMachine, outcome: ExecOutcome): { run: EntryPointRun; runtime: RuntimePrototype } {
  if (outcome.type === 'trapped') throw outcome.trap;
  if (outcome.type !== 'finished') throw new Error('the call did not end');
  const run = host.result(vm, outcome.value!.value as bigint);
  return { run, runtime: { ...runtime, proto: vm.intoPrototype() } };
}
