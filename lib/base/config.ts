/**
 * The configuration of {@link VirtualMachinePrototype.create}.
 *
 * @module
 */

import { UsageError } from './errors.js';
import { ASYNCIFY_STACK_NAMES, type AsyncifyStack, BACKEND_NAMES, type Backend } from './engine.js';
import { type FeatureSet, type FeaturesOption, featureSet, isFeatureName, isFeatureSetName } from './feature-set.js';
import { type GuestMemoryAccess, MAX_PAGES } from './guest-memory-access.js';
import type { ProgressListener } from './progress.js';
import { type Signature, describeValue } from './values.js';

/** Where `create({ cache })` keeps artifacts. Either method may be synchronous or return a promise. */
export interface ArtifactCache {
  /** The artifact stored under `key`, or `null`/`undefined` if there is none. */
  get(key: string): Uint8Array | null | undefined | Promise<Uint8Array | null | undefined>;
  /** Stores `artifact` under `key`, replacing any previous one. */
  set(key: string, artifact: Uint8Array): void | Promise<void>;
}

/** Configuration of {@link VirtualMachinePrototype.create}. */
export interface VmConfig {
  /** The module's binary encoding. Text format is refused. */
  readonly moduleBytes: Uint8Array;

  /**
   * Resolves each imported function. Called once per function import, in declaration order,
   * before anything runs. Return a non-negative integer id, which {@link VirtualMachine.run}
   * reports when the guest calls that import; return `null` or `undefined`, or throw, to refuse
   * the import (creation then fails with `NewError('UnresolvedFunctionImport')`).
   */
  symbols(moduleName: string, name: string, signature: Signature): number | null | undefined;

  /**
   * Resolves imports that the host answers *inline*: synchronously, in place, while the guest
   * runs, without pausing it. Called once per function import, before `symbols`; return a
   * function to answer that import inline (then `symbols` is not called for it), or
   * `null`/`undefined` to let `symbols` resolve it as a pausing import.
   *
   * Inline imports are for cheap host functions whose answer does not need to wait (a heap
   * allocator, hashing, logging): they cost a plain function call instead of a pause and a
   * resume, and a function that can only reach inline imports is not instrumented at all.
   * Every other import still pauses: the interrupt-driven model stays the default.
   *
   * If an inline function throws, or returns a value that is not of the import's result type,
   * the call ends with a `trapped` outcome of kind `HostFunction` whose `cause` is the error.
   */
  inlineImports?(moduleName: string, name: string, signature: Signature): InlineImport | null | undefined;

  /**
   * The WebAssembly features the guest may use: a preset, or a list of presets and features
   * whose union is allowed (`['default', 'bulk-memory']`).
   *
   * - `'default'`: the MVP plus sign-extension operators, non-trapping float-to-int
   *   conversions and exported mutable globals (what Rust's wasm32 target emitted until 2024,
   *   what Substrate runtimes use and what smoldot accepts);
   * - `'mvp'`: the 2017 MVP only;
   * - `'modern'`: `'default'` plus bulk memory, multi-value and reference types, what today's
   *   toolchains emit by default (Rust >= 1.87, AssemblyScript, Emscripten).
   *
   * The features: `'sign-extension'`, `'non-trapping-float-to-int'`, `'mutable-globals'`,
   * `'bulk-memory'`, `'multi-value'`, `'reference-types'`. Anything else (SIMD, threads, tail
   * calls, exceptions, GC, memory64, multi-memory, ...) is always refused. Functions with
   * several results, or with reference-typed parameters or results, run inside the guest but
   * cannot be called by the host or imported from it (`SignatureNotSupported`,
   * `UnresolvedFunctionImport`). See `docs/features.md`.
   */
  readonly features?: FeaturesOption;

  /**
   * Allow `f32`/`f64` in the signatures of imports and of the functions `start()` calls.
   * Off by default, as in smoldot: Substrate runtimes must not depend on floating point.
   */
  readonly floats?: boolean;

  /**
   * Require a memory the host can reach (imported as `env`.`memory` or exported as `memory`).
   * On by default, as in smoldot. When off, a module may have no memory (memory accessors then
   * see a memory of size 0), or a memory under any export name or none.
   */
  readonly requireMemory?: boolean;

  /**
   * Accept a module with a start function (default `false`, as in smoldot). The start function
   * never runs hidden inside instantiation: it is removed from the module and run through the
   * state machine as the first call of every fresh instance, pausing at its imports like any
   * call. A `Prepare` whose start function has not finished reports it
   * (`Prepare.startFunctionPending`); `Prepare.callStartFunction()` starts that call, and
   * `Prepare.start()` refuses to call an export before it finished
   * (`StartError('StartFunctionPending')`). See `docs/features.md`.
   */
  readonly startFunction?: boolean;

  /**
   * Accept a memory imported under any module and field name (default `false`: only
   * `env`.`memory`, as in smoldot). Emscripten, for one, imports it as `a`.`a`. Whatever its
   * name, the VM allocates the imported memory itself, with the limits the module declares
   * (capped by `maxMemoryPages`).
   */
  readonly anyMemoryImport?: boolean;

  /**
   * Size of the buffer that holds the stack of a paused call, in 64 KiB pages (default 64, i.e.
   * 4 MiB). A call paused with a deeper stack traps with kind `StackExhausted`. The buffer is
   * out of the guest's reach (see {@link asyncifyStack}), and engines commit its pages only as
   * they are touched.
   */
  readonly unwindBufferPages?: number;

  /**
   * Where the Asyncify backend keeps the stack of a paused call (ignored on JSPI); either way
   * the guest can neither read nor write it, and sees the same bytes, `memory.size` and
   * `memory.grow` results as in a run that never paused:
   *
   * - `'second-memory'`: in a second memory of the instrumented module, of `unwindBufferPages`
   *   pages. Needs the engine's multi-memory (Node.js 22+, Chrome 120+, Firefox 125+, Safari
   *   27.3+; not Safari before 27.3, WebKitGTK or WPE): elsewhere `create()` refuses it with
   *   `NewError('BackendUnsupported')`.
   * - `'single-memory'`: in `unwindBufferPages` pages reserved below the guest's memory, in the
   *   module's one memory; every guest access is moved above them. Runs on every engine. The
   *   real memory has at most 65535 pages, so the guest can grow to 65535 - `unwindBufferPages`
   *   pages at most (it is refused if it starts larger).
   * - `'auto'` (the default): `'second-memory'` where the engine has multi-memory, else
   *   `'single-memory'`.
   *
   * {@link VirtualMachinePrototype.asyncifyStack} says which was used. See
   * `docs/architecture.md` (*Where the paused stack lives*).
   */
  readonly asyncifyStack?: AsyncifyStack | 'auto';

  /**
   * A cap on the guest's memory, in 64 KiB pages: its maximum becomes the lower of its own and
   * this one, for the host's `growMemory` and for the guest's `memory.grow` alike (a Substrate
   * host passes the runtime's heap pages here, as smoldot does). A module whose memory starts
   * larger is refused with `NewError('CouldntAllocateMemory')`. Default: no cap beyond the
   * module's own maximum.
   */
  readonly maxMemoryPages?: number;

  /**
   * Let `intoPrototype()` reuse an instance whose memory the call grew (default `false`).
   *
   * By default a used instance is put back in its fresh state only while its memory has its
   * initial size: a memory cannot shrink, so after a call that grew it the next call gets a new
   * instance, whose memory the operating system then maps page by page again as the guest
   * touches it. On some machines that costs more than the call itself (measured on a
   * Firecracker VM: about 17 µs per 4 KiB page, 9 ms of westend's 12 ms `Metadata_metadata`).
   *
   * With this option the instance is reused: its memory holds exactly what a fresh instance's
   * holds (the initial memory, then zeros), but keeps its grown size. A guest can tell only by
   * looking at the size: `memory.size` and `memory.grow` report it, and an access in the grown
   * part reads zeros where a fresh instance would trap. Hosts whose guests never do either
   * (a Substrate runtime's heap is grown by the host's allocator) lose nothing; the Substrate
   * layer offers it as an option. A memory grown by more than 32 MiB still gets a new
   * instance, as zeroing that much at every reset would cost more than it saves.
   */
  readonly reuseGrownMemory?: boolean;

  /**
   * An artifact cache: `create()` looks the module up there first (a hit skips the transform),
   * and stores the artifact of a module it had to transform. See `MemoryArtifactCache` and, for
   * Node.js, `FileArtifactCache` from `resumable-wasm/node`.
   */
  readonly cache?: ArtifactCache;

  /** Called as `create()` / `fromArtifact()` move through their phases (see {@link ProgressEvent}). */
  readonly onProgress?: ProgressListener;

  /**
   * How the guest is paused at an import (see `docs/architecture.md`):
   *
   * - `'asyncify'` (the default): Binaryen's Asyncify transform instruments the module (seconds
   *   for a multi-megabyte module; an artifact or `cache` skips it next time), and
   *   {@link VirtualMachine.run} is synchronous. Runs on every engine (see {@link asyncifyStack}).
   * - `'jspi'`: the engine suspends the guest's stack itself (JavaScript Promise Integration):
   *   no transform, creation in milliseconds, guest code at full speed; a resume is always
   *   asynchronous, so calls are driven with {@link VirtualMachine.runAsync} (`run()` throws
   *   `UsageError('SynchronousRunUnsupported')`). Artifacts and `cache` are not used.
   * - `'auto'`: `'jspi'` where the engine has it, else `'asyncify'`; except where the engine
   *   has both, a `cache` is given and the engine's JSPI pause costs 3× an Asyncify pause or
   *   more (Firefox; measured once per process or page by a tiny probe): then `'asyncify'` from
   *   the cache, and where the cache does not hold the module yet, `'jspi'` for this `create()`
   *   while the artifact is made in the background for the next one.
   *
   * A backend the engine cannot run is refused with `NewError('BackendUnsupported')` before any
   * other work.
   */
  readonly backend?: Backend | 'auto';

  /**
   * Compile fuel metering in (default `false`): every call then runs on a budget of *fuel*
   * given by `Prepare.start(fn, params, { fuel })`, and pauses with the outcome
   * `{ type: 'outOfFuel' }` when it runs out, at the same instruction on every backend and
   * engine; `VirtualMachine.addFuel(n)` and `run(null)` / `runAsync(null)` resume it as if
   * nothing happened, and `VirtualMachine.fuelConsumed` counts what it used. The unit is defined
   * on the guest's own instructions (1 per instruction, with a stated cost table): see
   * `docs/features.md` (*Fuel*). Costs some run speed (about 1.1-1.3x on real runtimes) and,
   * on Asyncify, instruments every function that pays fuel.
   */
  readonly fuel?: boolean;

  /**
   * A logical stack limit (default: none): a call whose active guest frames would cost more than
   * this traps with kind `StackLimitExceeded`, at the same depth on every backend and engine.
   * Each frame costs `2 + parameters + locals + the most operand stack values` of its function
   * (see `docs/features.md`, *Logical stack limit*). An integer from 0 to 2^31 - 1;
   * {@link DEFAULT_MAX_STACK_HEIGHT} traps before the native stack of every engine measured
   * runs out. A larger limit may meet the engine's own limit first (`StackExhausted`).
   */
  readonly maxStackHeight?: number;

  /**
   * Canonicalize NaNs (default `false`): every floating-point result of arithmetic that is a
   * NaN is the canonical NaN (f32 `0x7fc00000`, f64 `0x7ff8000000000000`), as wasmtime's
   * `cranelift_nan_canonicalization`, so float bits are the same on every engine and CPU.
   */
  readonly canonicalizeNaNs?: boolean;

  /**
   * Record what the host does to each instance (default `false`): every call started, every
   * answer to an interrupt, and every write and growth of the memory the host makes while no
   * guest code runs (before a call, while it is paused). `vm.journal()` returns the record as
   * bytes, and `VirtualMachine.replay(prototype, journal)` runs it again from a fresh instance,
   * answering from the journal, up to the same point: how a paused call moves where its stack
   * cannot be copied (JSPI), and how a call is replayed while debugging. Inline imports are
   * host code that runs again in the replay, not recorded: they must be deterministic. While no
   * guest code runs, the library's own host code (the Substrate allocator) then reaches the
   * memory through the recorded accessors rather than in place. See `docs/architecture.md`.
   */
  readonly journal?: boolean;
}

/**
 * A `VmConfig.maxStackHeight` that traps before the native stack of every engine and backend
 * measured runs out, for every frame shape (see `docs/features.md`, *Logical stack limit*, for
 * the measurements and the margin).
 */
export const DEFAULT_MAX_STACK_HEIGHT = 16_384;

/**
 * A host function answering an import inline (see {@link VmConfig.inlineImports}). `params` are
 * in the engine's representation: `i32` as a signed number, `i64` as a bigint, `f32`/`f64` as
 * numbers. Return the result the same way (`undefined` for an import without result). `memory`
 * is the guest's memory, valid for the duration of the call.
 */
export type InlineImport = (
  memory: GuestMemoryAccess,
  params: readonly (number | bigint)[],
) => number | bigint | undefined | void;

/** The defaults of the optional {@link VmConfig} fields. */
export const CONFIG_DEFAULTS = {
  features: 'default',
  floats: false,
  requireMemory: true,
  startFunction: false,
  anyMemoryImport: false,
  reuseGrownMemory: false,
  journal: false,
  unwindBufferPages: 64,
  asyncifyStack: 'auto',
  backend: 'asyncify',
  fuel: false,
  canonicalizeNaNs: false,
} as const satisfies Partial<VmConfig>;

/**
 * A {@link VmConfig} with its defaults filled in. `moduleBytes` is the caller's array: a path
 * that awaits before it is done reading the bytes takes a private copy first
 * ({@link withPrivateBytes}), so that the caller may reuse its array meanwhile.
 */
export type ResolvedConfig = Required<
  Omit<VmConfig, 'inlineImports' | 'cache' | 'onProgress' | 'maxMemoryPages' | 'backend' | 'features' | 'asyncifyStack' | 'maxStackHeight'>
> & {
  /** The allowed features. */
  readonly features: FeatureSet;
  /** The backend asked for (`backends/list.ts` resolves `'auto'` and checks the engine). */
  readonly backend: Backend | 'auto';
  /** Where Asyncify keeps a paused stack, as asked (the Asyncify backend resolves `'auto'`). */
  readonly asyncifyStack: AsyncifyStack | 'auto';
  readonly maxMemoryPages: number | null;
  /** The logical stack limit, `null` for none. */
  readonly maxStackHeight: number | null;
  readonly moduleBytes: Uint8Array<ArrayBuffer>;
  readonly inlineImports: VmConfig['inlineImports'] | null;
  readonly cache: ArtifactCache | null;
  readonly onProgress: ProgressListener | null;
};

/** Checks the shape of a config (a JavaScript caller may pass anything) and fills in defaults. */
export function resolveConfig(config: VmConfig): ResolvedConfig {
  const bad = (message: string): never => {
    throw new UsageError('InvalidArgument', `VirtualMachinePrototype.create: ${message}`);
  };
  if (typeof config !== 'object' || config === null) bad('the config must be an object');
  if (!(config.moduleBytes instanceof Uint8Array)) bad('`moduleBytes` must be a Uint8Array');
  if (typeof config.symbols !== 'function') bad('`symbols` must be a function');
  if (config.inlineImports !== undefined && typeof config.inlineImports !== 'function') {
    bad('`inlineImports` must be a function');
  }
  if (config.onProgress !== undefined && typeof config.onProgress !== 'function') bad('`onProgress` must be a function');
  for (const option of ['floats', 'requireMemory', 'startFunction', 'anyMemoryImport', 'reuseGrownMemory', 'fuel', 'canonicalizeNaNs', 'journal'] as const) {
    if (config[option] !== undefined && typeof config[option] !== 'boolean') {
      bad(`\`${option}\` must be a boolean, got ${describeValue(config[option])}`);
    }
  }
  const cache = config.cache ?? null;
  if (cache !== null && (typeof cache.get !== 'function' || typeof cache.set !== 'function')) {
    bad('`cache` must have get() and set() methods');
  }
  const backend = config.backend ?? CONFIG_DEFAULTS.backend;
  if (backend !== 'auto' && !BACKEND_NAMES.includes(backend)) {
    bad(`\`backend\` must be ${BACKEND_NAMES.map((name) => `'${name}'`).join(', ')} or 'auto', got ${describeValue(backend)}`);
  }
  const asyncifyStack = config.asyncifyStack ?? CONFIG_DEFAULTS.asyncifyStack;
  if (asyncifyStack !== 'auto' && !ASYNCIFY_STACK_NAMES.includes(asyncifyStack)) {
    bad(
      `\`asyncifyStack\` must be ${ASYNCIFY_STACK_NAMES.map((name) => `'${name}'`).join(', ')} or 'auto', got ${describeValue(asyncifyStack)}`,
    );
  }
  const features = config.features ?? CONFIG_DEFAULTS.features;
  const wellFormed = isFeatureSetName(features) || (Array.isArray(features) && features.every((f) => isFeatureSetName(f) || isFeatureName(f)));
  if (!wellFormed) {
    bad(
      `\`features\` must be 'default', 'mvp', 'modern' or a list of those and feature names ` +
        `('sign-extension', 'non-trapping-float-to-int', 'mutable-globals', 'bulk-memory', 'multi-value', 'reference-types'), got ${describeValue(features)}`,
    );
  }
  const unwindBufferPages = config.unwindBufferPages ?? CONFIG_DEFAULTS.unwindBufferPages;
  if (!Number.isInteger(unwindBufferPages) || unwindBufferPages < 1 || unwindBufferPages > 32768) {
    bad(`\`unwindBufferPages\` must be an integer in 1 .. 32768, got ${describeValue(unwindBufferPages)}`);
  }
  const maxMemoryPages = config.maxMemoryPages ?? null;
  if (maxMemoryPages !== null && (!Number.isInteger(maxMemoryPages) || maxMemoryPages < 0 || maxMemoryPages > MAX_PAGES)) {
    bad(`\`maxMemoryPages\` must be an integer in 0 .. ${MAX_PAGES}, got ${describeValue(maxMemoryPages)}`);
  }
  const maxStackHeight = config.maxStackHeight ?? null;
  if (maxStackHeight !== null && (!Number.isInteger(maxStackHeight) || maxStackHeight < 0 || maxStackHeight > MAX_STACK_HEIGHT_LIMIT)) {
    bad(`\`maxStackHeight\` must be an integer in 0 .. ${MAX_STACK_HEIGHT_LIMIT}, got ${describeValue(maxStackHeight)}`);
  }
  if (config.journal === true && config.fuel === true) {
    // A journal does not record fuel added to a call that ran out (yet): its replay would differ.
    bad('`journal` and `fuel` cannot be combined yet: a journal does not record the fuel added to a call');
  }
  return {
    // Engines compile only from an ArrayBuffer: a view of a SharedArrayBuffer is copied.
    moduleBytes: config.moduleBytes.buffer instanceof ArrayBuffer ? (config.moduleBytes as Uint8Array<ArrayBuffer>) : config.moduleBytes.slice(),
    maxMemoryPages,
    symbols: config.symbols.bind(config),
    inlineImports: config.inlineImports?.bind(config) ?? null,
    cache,
    onProgress: config.onProgress ?? null,
    features: featureSet(features as FeaturesOption),
    floats: config.floats ?? CONFIG_DEFAULTS.floats,
    requireMemory: config.requireMemory ?? CONFIG_DEFAULTS.requireMemory,
    startFunction: config.startFunction ?? CONFIG_DEFAULTS.startFunction,
    anyMemoryImport: config.anyMemoryImport ?? CONFIG_DEFAULTS.anyMemoryImport,
    reuseGrownMemory: config.reuseGrownMemory ?? CONFIG_DEFAULTS.reuseGrownMemory,
    journal: config.journal ?? CONFIG_DEFAULTS.journal,
    unwindBufferPages,
    asyncifyStack,
    backend,
    fuel: config.fuel ?? CONFIG_DEFAULTS.fuel,
    maxStackHeight,
    canonicalizeNaNs: config.canonicalizeNaNs ?? CONFIG_DEFAULTS.canonicalizeNaNs,
  };
}

/** The largest `VmConfig.maxStackHeight` (the counter is an i32 compared unsigned, plus one frame). */
const MAX_STACK_HEIGHT_LIMIT = 0x7fff_ffff;

/** `config` with a private copy of the module bytes; see {@link ResolvedConfig}. */
export function withPrivateBytes(config: ResolvedConfig): ResolvedConfig {
  return { ...config, moduleBytes: config.moduleBytes.slice() };
}
