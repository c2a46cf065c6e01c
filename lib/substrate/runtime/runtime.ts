/**
 * A Substrate runtime ready to be called: the counterpart of smoldot's `HostVmPrototype`.
 *
 * Creating one does, once, everything that does not depend on a particular call:
 *
 * 1. decode the code (raw or zstd-compressed, bounded: see `code/runtime-code.ts`);
 * 2. route every import (inline, pausing or handler: see `host/catalogue.ts`) and build the VM
 *    prototype: on JSPI (the default where the engine has it) without a transform; on Asyncify
 *    the transform takes seconds, and an artifact cache or an explicit artifact skips it;
 * 3. read `__heap_base` and work out the heap's size (below);
 * 4. learn the runtime version, from the custom sections or by calling `Core_version`.
 *
 * ## The heap
 *
 * Everything in the runtime's memory above `__heap_base` belongs to the host's allocator. How
 * much may be used is a parameter of the chain, `heap_pages` (stored under `:heappages`, 2048
 * pages = 128 MiB by default, as in Substrate and smoldot): the memory may grow to
 * `ceil(__heap_base / 64 KiB) + heap_pages` pages and no further. The allocator grows the memory
 * on demand up to that bound, so a call that allocates little keeps a small memory, and a
 * runtime that asks for more gets an allocation failure instead of the host's memory.
 *
 * ## Instances
 *
 * Each call runs on a fresh instance (memory as after instantiation), as Substrate requires:
 * nothing a call leaves in memory may influence the next. (With `reuseGrownMemory`, an instance
 * whose memory the previous call grew is reused with its memory zeroed past the initial contents
 * but not shrunk: faster where page faults are expensive, and the memory's size is then the one
 * thing a call can tell of the calls before it.) Instances come from the prototype
 * without re-running the transform (`cloneAsync()` shares the compiled code), and only through
 * the asynchronous transitions, which every engine allows on every thread (see `#takeInstance`). Calls may overlap (two
 * calls paused, each waiting for its storage): each gets its own instance.
 *
 * @module
 */

import { HOST_DATA } from '../../base/guest-memory-access.js';
import { exportedI32Constant } from '../../base/header-walks.js';
import { ProgressReporter } from '../../base/progress.js';
import {
  type ArtifactCache,
  type AsyncifyStack,
  type Backend,
  type CreatePhase,
  GlobalValueError,
  SnapshotError,
  type ProgressEvent,
  type Signature,
  type StartOptions,
  StartError,
  UsageError,
  VirtualMachine,
  VirtualMachinePrototype,
  type VmConfig,
  WasmValue,
} from '../../index.js';
import { MAX_FUEL } from '../../base/fuel-limit.js';
import { AllocatorError } from '../heap/allocator-error.js';
import { MAX_WASM_PAGES, WASM_PAGE_SIZE } from '../heap/heap-memory.js';
import { FreeingBumpAllocator } from '../heap/allocator.js';
import { CallContext, type CallState, contextOf } from '../call/context.js';
import { type RuntimeCallOptions, type RuntimeCallResult, type SuspendableCallOptions, driveSuspendableCall, throwIfAborted } from './call-loop.js';
import {
  type SuspendableCallResult,
  type SuspendedCallHeader,
  type SuspendedCallOwner,
  SuspendedRuntimeCall,
  decodeSuspendedCall,
  encodeSuspendedCall,
} from './suspended-call.js';
import { RuntimeCallError, RuntimeVersionError, SubstrateRuntimeError } from '../errors.js';
import { type Hashers, loadHashers } from '../encoding/hashers.js';
import { type HostFunction, type InlineHostFunction, type PausingHostFunction, toRuntimeCallError } from '../host/definition.js';
import { finishCall } from '../host/state-access.js';
import { type RuntimeImport, resolveImport, routeImport } from '../host/catalogue.js';
import { levelFilterNumber } from '../call/log-entry.js';
import { type RuntimeCodeOptions, decodeRuntimeCode } from '../code/runtime-code.js';
import {
  type RuntimeVersion,
  type RuntimeVersionSource,
  decodeRuntimeVersion,
  encodeRuntimeVersion,
  readEmbeddedRuntimeVersion,
} from '../code/runtime-version.js';

/** The default number of heap pages (2048 pages of 64 KiB: 128 MiB), Substrate's and smoldot's default. */
export const DEFAULT_HEAP_PAGES = 2048;

/** The phases {@link SubstrateRuntime.create} adds to the core's (`CreatePhase`). */
export type SubstratePhase =
  /** Decompressing the code (if it is compressed) and checking its size. */
  | 'decode-code'
  /** Calling `Core_version` (only for a runtime without the version custom sections). */
  | 'runtime-version';

/**
 * A progress report of {@link SubstrateRuntime.create}: the core's events (validate, transform,
 * compile, ...) and this layer's own phases, all timed from the start of `create`.
 */
export type RuntimeProgressEvent = Omit<ProgressEvent, 'phase'> & { readonly phase: CreatePhase | SubstratePhase };


/** Options of {@link SubstrateRuntime.create}. */
export interface SubstrateRuntimeOptions extends RuntimeCodeOptions {
  /** The runtime code: raw wasm or zstd-compressed with the Substrate prefix, as bytes or `0x` hex. */
  readonly code: Uint8Array | string;
  /** Pages of 64 KiB the heap may use above `__heap_base` (the chain's `:heappages`). Default {@link DEFAULT_HEAP_PAGES}. */
  readonly heapPages?: number;
  /**
   * How calls are paused (the core's `VmConfig.backend`). Default `'auto'`: JSPI where the engine
   * has it (no transform: creation takes milliseconds), else Asyncify.
   */
  readonly backend?: Backend | 'auto';
  /**
   * On Asyncify, where a paused call's stack is kept (the core's `VmConfig.asyncifyStack`):
   * `'second-memory'`, `'single-memory'` (engines without multi-memory: Safari before 27,
   * WebKitGTK, WPE) or `'auto'` (the default: the second memory where the engine has
   * multi-memory). Either way the runtime cannot reach it.
   */
  readonly asyncifyStack?: AsyncifyStack | 'auto';
  /**
   * An artifact cache for the core, on the Asyncify backend: a runtime seen before is rebuilt
   * without the transform. Not used on JSPI, which has no transform to skip.
   */
  readonly cache?: ArtifactCache;
  /**
   * An artifact of this runtime made with the same `heapPages` (by `resumable-wasm prepare`, or
   * by a `cache`): the runtime is rebuilt from it without the transform. Unlike a cache entry,
   * an artifact given explicitly must match: one of another runtime or made with other options
   * is refused with `ArtifactError` rather than silently replaced by a transform of seconds.
   * Not together with `cache`.
   */
  readonly artifact?: Uint8Array;
  /** Called as creation moves through its phases, for a progress display. Exceptions are ignored. */
  readonly onProgress?: (event: RuntimeProgressEvent) => void;
  /**
   * Reuse an instance whose memory the previous call grew (the core's `VmConfig.reuseGrownMemory`;
   * default `false`). Its memory is then zeroed past the initial contents but keeps its size,
   * which spares the next call the page faults of a new memory: on machines where those are
   * expensive, most of a large call's time (measured on a Firecracker VM: westend's
   * `Metadata_metadata` from 13 ms to 4). The price: a call can tell one thing of the calls
   * before it, the memory's size (`memory.size`, and whether an access past what its own
   * allocations needed, but inside the heap, traps or reads zeros). Substrate gives every call a
   * memory of the same size, so the default does too; honest runtimes never look, and a light
   * client that trusts its runtime that far can turn this on.
   */
  readonly reuseGrownMemory?: boolean;
  /**
   * Compile fuel metering in (the core's `VmConfig.fuel`; default `false`): every call then
   * counts the fuel it consumes (`RuntimeCallResult.fuelConsumed`) and may be given a budget
   * (`RuntimeCallOptions.fuel`), at the same instruction on every backend and engine.
   */
  readonly fuel?: boolean;
  /**
   * A logical stack limit (the core's `VmConfig.maxStackHeight`; default none): a call whose
   * frames would cost more traps (`RuntimeCallError('Trap')` whose cause is a `Trap` of kind
   * `StackLimitExceeded`), at the same depth on every backend and engine.
   */
  readonly maxStackHeight?: number;
  /** Canonical NaNs (the core's `VmConfig.canonicalizeNaNs`; default `false`). */
  readonly canonicalizeNaNs?: boolean;
}

/** A runtime ready to be called with `runtimeCall`; see the module documentation. */
export class SubstrateRuntime {
  /** Where the heap starts: the runtime's `__heap_base`. */
  readonly heapBase: number;
  /** The heap pages the runtime was created with. */
  readonly heapPages: number;
  /** The most pages the memory may have: `ceil(heapBase / 64 KiB) + heapPages`. */
  readonly memoryTotalPages: number;
  /** Every function import, in declaration order, with its route. */
  readonly imports: readonly RuntimeImport[];
  /** Whether the code was zstd-compressed, and its sizes in bytes. */
  readonly code: { readonly compressed: boolean; readonly codeSize: number; readonly wasmSize: number };
  /** Whether calls are metered (`SubstrateRuntimeOptions.fuel`). */
  readonly fuel: boolean;

  /** Never prepared: the source of every instance (`clone()` needs an unconsumed prototype). */
  readonly #template: VirtualMachinePrototype;
  /** A fresh instance kept from the previous call, if any. */
  #idle: VirtualMachinePrototype | null = null;
  /** An empty allocator kept from the previous call (its bookkeeping's memory reused), if any. */
  #spareAllocator: FreeingBumpAllocator | null = null;
  /** The host function serving each import (the pausing ones are run by the call loop). */
  readonly #functions: readonly PausingHostFunction[];
  readonly #hashers: Hashers;
  /** Set once by `create`, before the runtime is handed out. */
  #version: RuntimeVersion | null = null;
  #versionSource: RuntimeVersionSource = 'custom-sections';

  private constructor(
    template: VirtualMachinePrototype,
    functions: readonly PausingHostFunction[],
    hashers: Hashers,
    init: Pick<SubstrateRuntime, 'heapBase' | 'heapPages' | 'memoryTotalPages' | 'imports' | 'code' | 'fuel'>,
  ) {
    this.#template = template;
    this.#functions = functions;
    this.#hashers = hashers;
    this.heapBase = init.heapBase;
    this.heapPages = init.heapPages;
    this.memoryTotalPages = init.memoryTotalPages;
    this.imports = init.imports;
    this.code = init.code;
    this.fuel = init.fuel;
  }

  /**
   * Decodes, checks, instruments and compiles a runtime and reads its version. Rejects with
   * `RuntimeCodeError` (code), `NewError` (a module the VM refuses, including a built-in host
   * function imported with the wrong signature), {@link SubstrateRuntimeError} (no
   * `__heap_base`, memory too small), `RuntimeVersionError`, `ArtifactError` (an `artifact`
   * that does not belong to this code and these options), or `UsageError` (bad options).
   */
  static async create(options: SubstrateRuntimeOptions): Promise<SubstrateRuntime> {
    const heapPages = options.heapPages ?? DEFAULT_HEAP_PAGES;
    if (!Number.isSafeInteger(heapPages) || heapPages < 0 || heapPages > MAX_WASM_PAGES) {
      throw new UsageError('InvalidArgument', `heapPages must be an integer from 0 to ${MAX_WASM_PAGES}, got ${String(heapPages)}`);
    }
    if (options.artifact !== undefined && options.cache !== undefined) {
      throw new UsageError('InvalidArgument', 'give an artifact or a cache, not both');
    }
    if (options.reuseGrownMemory !== undefined && typeof options.reuseGrownMemory !== 'boolean') {
      throw new UsageError('InvalidArgument', `reuseGrownMemory must be a boolean, got ${typeof options.reuseGrownMemory}`);
    }
    const progress = new ProgressReporter<CreatePhase | SubstratePhase>(options.onProgress ?? null);
    const decoded = await progress.phase('decode-code', () => decodeRuntimeCode(options.code, options));
    const hashers = await loadHashers();

    // Routing happens inside the core's callbacks, once per import, in declaration order: the
    // slot of an import is its position in `imports`, and pausing imports use it as their id.
    const imports: RuntimeImport[] = [];
    const functions: HostFunction[] = [];
    const slotOf = (module: string, name: string, signature: Signature): number => {
      const existing = imports.findIndex((i) => i.module === module && i.name === name);
      if (existing !== -1) return existing;
      const fn = resolveImport(module, name, signature);
      functions.push(fn);
      return imports.push({ module, name, signature, route: routeImport(module, name, signature) }) - 1;
    };
    // The heap's bound is also the memory's cap (for the runtime's own memory.grow too), and it
    // depends on __heap_base: read it from the module's headers before creating the VM.
    const declaredHeapBase = declaredI32Constant(decoded.wasm, '__heap_base');
    // Cheap checks before the (possibly long) creation: a valid module that declares no
    // __heap_base is not a runtime. (An invalid one is left to the core, which says why.)
    if (declaredHeapBase === null && WebAssembly.validate(decoded.wasm as Uint8Array<ArrayBuffer>)) {
      throw new SubstrateRuntimeError(
        'HeapBaseNotFound',
        'the module is not a Substrate runtime: it must export an i32 global named __heap_base, initialised with a constant',
      );
    }
    const maxMemoryPages =
      declaredHeapBase === null ? undefined : Math.min(Math.ceil(declaredHeapBase / WASM_PAGE_SIZE) + heapPages, MAX_WASM_PAGES);
    const config: VmConfig = {
      moduleBytes: decoded.wasm,
      inlineImports: (module, name, signature) => {
        const slot = slotOf(module, name, signature);
        const fn = functions[slot]!;
        return fn.route === 'inline' ? boundInlineFunction(slot, name, fn) : null;
      },
      symbols: (module, name, signature) => slotOf(module, name, signature),
      backend: options.backend ?? 'auto',
      ...(options.asyncifyStack === undefined ? {} : { asyncifyStack: options.asyncifyStack }),
      // See SubstrateRuntimeOptions.reuseGrownMemory.
      reuseGrownMemory: options.reuseGrownMemory ?? false,
      ...(options.fuel === undefined ? {} : { fuel: options.fuel }),
      ...(options.maxStackHeight === undefined ? {} : { maxStackHeight: options.maxStackHeight }),
      ...(options.canonicalizeNaNs === undefined ? {} : { canonicalizeNaNs: options.canonicalizeNaNs }),
      ...(options.cache === undefined ? {} : { cache: options.cache }),
      ...(maxMemoryPages === undefined ? {} : { maxMemoryPages }),
      onProgress: (event) => progress.relay(event),
    };
    const template =
      options.artifact === undefined
        ? await VirtualMachinePrototype.create(config)
        : await VirtualMachinePrototype.fromArtifact(options.artifact, config);

    let heapBase: number;
    try {
      heapBase = template.globalValue('__heap_base');
    } catch (e) {
      if (!(e instanceof GlobalValueError)) throw e;
      throw new SubstrateRuntimeError(
        'HeapBaseNotFound',
        `the module is not a Substrate runtime: it must export an i32 global named __heap_base (${e.message})`,
        e,
      );
    }
    const memoryTotalPages = Math.min(Math.ceil(heapBase / WASM_PAGE_SIZE) + heapPages, MAX_WASM_PAGES);
    const maximum = template.memoryMaxPages();
    if (maximum !== null && maximum < memoryTotalPages) {
      throw new SubstrateRuntimeError(
        'MemoryMaxTooLow',
        `the runtime's memory may grow to ${maximum} pages, but its heap needs ${memoryTotalPages} ` +
          `(ceil(__heap_base / 64 KiB) + ${heapPages} heap pages)`,
      );
    }
    const runtime = new SubstrateRuntime(template, functions as PausingHostFunction[], hashers, {
      heapBase,
      heapPages,
      memoryTotalPages,
      imports,
      code: { compressed: decoded.compressed, codeSize: decoded.codeSize, wasmSize: decoded.wasm.length },
      fuel: options.fuel === true,
    });
    const embedded = readEmbeddedRuntimeVersion(decoded.wasm);
    if (embedded !== null) {
      runtime.#version = embedded;
    } else {
      runtime.#versionSource = 'Core_version';
      runtime.#version = await progress.phase('runtime-version', () => coreVersion(runtime));
    }
    return runtime;
  }

  /** How this runtime's calls are paused: `'jspi'` or `'asyncify'` (see `SubstrateRuntimeOptions.backend`). */
  get backend(): Backend {
    return this.#template.backend;
  }

  /** On Asyncify, where a paused call's stack is kept (see `SubstrateRuntimeOptions.asyncifyStack`); `null` on JSPI. */
  get asyncifyStack(): AsyncifyStack | null {
    return this.#template.asyncifyStack;
  }

  /** The runtime's version (see `code/runtime-version.ts`). */
  get version(): RuntimeVersion {
    return this.#version!;
  }

  /** Where {@link version} was read from: the custom sections, or a call to `Core_version`. */
  get versionSource(): RuntimeVersionSource {
    return this.#versionSource;
  }

  /**
   * Calls the entry point `entryPoint` with the SCALE-encoded `input` (see `call-loop.ts`): takes
   * a fresh instance, writes the input through the call's heap allocator, starts the entry point
   * with `(ptr, len)`, drives its pauses, and returns its checked output. The instance is
   * discarded afterwards, whatever happened: the next call cannot observe this one. Rejects with
   * {@link RuntimeCallError}, or `UsageError` for bad arguments. `runtimeCall(runtime, ...)` is
   * the same.
   */
  async call(entryPoint: string, input: Uint8Array = new Uint8Array(), options: RuntimeCallOptions = {}): Promise<RuntimeCallResult> {
    const { suspend: _, ...plain } = options as SuspendableCallOptions;
    const driven = await this.callSuspendable(entryPoint, input, plain);
    if (driven.type === 'suspended') throw new Error('internal error: a call without `suspend` was suspended');
    return driven.result;
  }

  /**
   * {@link call}, which stops at the first pause `options.suspend` chooses, before the host
   * answered it, and resolves to the {@link SuspendedRuntimeCall} (else to the call's result):
   * resume it in this thread, or (Asyncify) take its bytes to another thread or process and
   * resume it there with {@link resumeCall}. See `runtime/suspended-call.ts`.
   */
  async callSuspendable(entryPoint: string, input: Uint8Array = new Uint8Array(), options: SuspendableCallOptions = {}): Promise<SuspendableCallResult> {
    if (typeof entryPoint !== 'string') throw new UsageError('InvalidArgument', 'runtimeCall: the entry point must be a string');
    if (!(input instanceof Uint8Array)) throw new UsageError('InvalidArgument', 'runtimeCall: the input must be a Uint8Array');
    const maxOutputSize = options.maxOutputSize ?? 0;
    if (!Number.isSafeInteger(maxOutputSize) || maxOutputSize < 0) {
      throw new UsageError('InvalidArgument', `runtimeCall: maxOutputSize must be a non-negative integer, got ${String(options.maxOutputSize)}`);
    }
    const budget = options.fuel;
    if (budget !== undefined) {
      if (typeof budget !== 'bigint' || budget < 0n || budget > MAX_FUEL) {
        throw new UsageError('InvalidArgument', `runtimeCall: fuel must be a bigint from 0 to 2^63 - 1, got ${String(budget)}`);
      }
      if (!this.fuel) throw new UsageError('FuelNotEnabled', 'runtimeCall: a fuel budget needs a runtime created with fuel: true');
    }
    if (options.onOutOfFuel !== undefined && typeof options.onOutOfFuel !== 'function') {
      throw new UsageError('InvalidArgument', 'runtimeCall: onOutOfFuel must be a function');
    }
    throwIfAborted(options.signal, entryPoint);
    const started = performance.now();
    const storageProofSize = options.storageProofSize;
    if (storageProofSize !== undefined && !(typeof storageProofSize === 'bigint' || (Number.isSafeInteger(storageProofSize) && storageProofSize >= 0))) {
      throw new UsageError('InvalidArgument', `runtimeCall: storageProofSize must be a non-negative integer, got ${String(storageProofSize)}`);
    }
    const context = this.#newContext(options);
    // Without a budget, a metered runtime's call is unbounded (its consumption is still counted).
    const vm = await this.#start(context, entryPoint, input, this.fuel ? { fuel: budget ?? MAX_FUEL } : undefined);
    return this.#drive(entryPoint, vm, context, options, started, null);
  }

  /**
   * Goes on with a call suspended in this runtime or another of the same code and heap pages
   * (`SuspendedRuntimeCall.snapshot()`, typically from another Worker or process), the pause it
   * was suspended at served with `options`' providers; with `options.suspend` it may be
   * suspended again (not at that same pause). Needs the Asyncify backend. Rejects with the core's
   * `SnapshotError` before running anything if the bytes do not fit (`Corrupted`: truncated,
   * altered, or not a suspended call; `VersionMismatch`; `ModuleMismatch`: another runtime or
   * other heap pages; `OptionsMismatch`), or with {@link RuntimeCallError} as `call` does.
   */
  async resumeCall(suspended: Uint8Array, options: SuspendableCallOptions = {}): Promise<SuspendableCallResult> {
    const started = performance.now();
    const { header, ledger, vmSnapshot } = decodeSuspendedCall(suspended, this.#hashers);
    const { runtime: expected } = header;
    if (
      typeof expected !== 'object' ||
      expected === null ||
      expected.heapBase !== this.heapBase ||
      expected.memoryTotalPages !== this.memoryTotalPages ||
      !Array.isArray(expected.imports) ||
      expected.imports.join('\0') !== this.imports.map((i) => `${i.module}.${i.name}`).join('\0')
    ) {
      throw new SnapshotError('ModuleMismatch', 'the suspended call was made by another runtime (or with other heap pages) than this one');
    }
    const context = this.#newContext(options);
    try {
      const state = header.state;
      context.importState({ ...state, allocator: { ...state.allocator, ledger } } as CallState);
    } catch (e) {
      this.#spare(context.allocator);
      throw new SnapshotError('Corrupted', `the suspended call's state is malformed: ${(e as Error).message}`, { cause: e });
    }
    const prototype = await this.#takeInstance();
    let vm: VirtualMachine;
    try {
      vm = await VirtualMachine.restore(prototype, vmSnapshot);
    } catch (e) {
      // Refused before the prototype was consumed: it is still fresh. The allocator holds the
      // imported state: emptied, it serves the next call.
      this.#returnInstance(prototype);
      this.#spare(context.allocator);
      throw e;
    }
    vm[HOST_DATA] = context;
    return this.#drive(header.entryPoint, vm, context, options, started, { pauses: header.pauses });
  }

  /** A new call's context, for `options`. */
  #newContext(options: RuntimeCallOptions): CallContext {
    const storageProofSize = options.storageProofSize;
    const allocator = this.#spareAllocator ?? new FreeingBumpAllocator(this.heapBase, { maxMemoryPages: this.memoryTotalPages });
    this.#spareAllocator = null;
    return new CallContext({
      allocator,
      importCount: this.imports.length,
      onLog: options.onLog ?? null,
      maxLogLevel: levelFilterNumber(options.maxLogLevel ?? (options.onLog === undefined ? 'off' : 'info')),
      trace: options.trace ?? null,
      hashers: this.#hashers,
      stateVersion: this.#version?.stateVersion === 1 ? 1 : 0,
      storage: options.storage ?? null,
      onHostCall: options.onHostCall ?? null,
      offchain: options.offchain ?? null,
      mockSignatures: options.mockSignatures ?? null,
      storageProofSize: storageProofSize === undefined ? null : BigInt(storageProofSize),
      runtimeVersionOf: options.runtimeVersion ?? ((code) => readRuntimeVersion(code, this.heapPages)),
    });
  }

  /**
   * Drives the call on `vm` (started, or `resumed` after that many pauses) to its end or to a
   * suspension; the instance and the allocator are recycled at the end, not at a suspension.
   */
  async #drive(
    entryPoint: string,
    vm: VirtualMachine,
    context: CallContext,
    options: SuspendableCallOptions,
    started: number,
    resumed: { readonly pauses: number } | null,
  ): Promise<SuspendableCallResult> {
    const allocator = context.allocator;
    let suspended = false;
    try {
      const finish = () => finishCall(context, entryPoint);
      const driven = await driveSuspendableCall(
        { entryPoint, vm, imports: this.imports, functions: this.#functions, context, finish },
        options,
        started,
        resumed,
      );
      if (driven.type === 'finished') return driven;
      const state = context.exportState();
      if (state === null) throw new Error('internal error: a call suspended with its allocator poisoned');
      suspended = true;
      return { type: 'suspended', call: new SuspendedRuntimeCall(entryPoint, driven.pause, state, vm, this.#suspendedOwner) };
    } finally {
      if (!suspended) await this.#recycle(vm, allocator);
    }
  }

  /** What a {@link SuspendedRuntimeCall} of this runtime does. */
  readonly #suspendedOwner: SuspendedCallOwner = {
    encode: (call, vm) => {
      const { ledger, ...allocator } = call._state.allocator;
      const header: SuspendedCallHeader = {
        entryPoint: call.entryPoint,
        pauses: call.pause.index,
        pause: { name: call.pause.name },
        runtime: { heapBase: this.heapBase, memoryTotalPages: this.memoryTotalPages, imports: this.imports.map((i) => `${i.module}.${i.name}`) },
        state: { ...call._state, allocator },
      };
      return encodeSuspendedCall(header, ledger, vm.snapshot(), this.#hashers);
    },
    resume: async (call, vm, options) => {
      const context = this.#newContext(options);
      context.importState(call._state);
      vm[HOST_DATA] = context;
      return this.#drive(call.entryPoint, vm, context, options, performance.now(), { pauses: call.pause.index });
    },
    discard: async (vm) => {
      try {
        this.#returnInstance(await vm.intoPrototypeAsync());
      } catch {
        // Dropped either way.
      }
    },
  };

  /** Gives back a call's instance (fresh again) and its allocator (emptied). */
  async #recycle(vm: VirtualMachine, allocator: FreeingBumpAllocator): Promise<void> {
    // A fresh instance for the next call, whatever state this one ended in. If even that fails
    // (the engine cannot allocate a memory), the next call clones one itself; the error that
    // ended this call is the one to report.
    try {
      this.#returnInstance(await vm.intoPrototypeAsync());
    } catch {
      // See above.
    }
    // Its heap was in the instance just reset: emptied, the allocator serves the next call.
    this.#spare(allocator);
  }

  /** Empties `allocator` and keeps it for the next call (unless one is kept already). */
  #spare(allocator: FreeingBumpAllocator): void {
    allocator.reset();
    this.#spareAllocator ??= allocator;
  }

  /**
   * A fresh instance for a call: the idle one, or a new one from the template. Instances are
   * only ever made with the asynchronous forms (`cloneAsync()`, `intoPrototypeAsync()`):
   * Chromium refuses synchronous instantiation of a module over 8 MB on a page's main thread,
   * and many runtimes are larger (Paseo's relay runtime: 12.4 MB, 23 MB instrumented).
   */
  async #takeInstance(): Promise<VirtualMachinePrototype> {
    const idle = this.#idle;
    this.#idle = null;
    return idle ?? (await this.#template.cloneAsync());
  }

  /** Keeps a fresh instance for the next call (one is enough: calls rarely overlap). */
  #returnInstance(prototype: VirtualMachinePrototype): void {
    this.#idle ??= prototype;
  }

  /**
   * Places the input in a fresh instance's heap and starts the entry point (not yet run), the
   * call's context in the instance's host-data slot for the inline host functions (see
   * `call/context.ts`).
   */
  async #start(context: CallContext, entryPoint: string, input: Uint8Array, startOptions: StartOptions | undefined): Promise<VirtualMachine> {
    const prepare = (await this.#takeInstance()).prepare();
    prepare[HOST_DATA] = context;
    let pointer: number;
    try {
      pointer = context.allocator.malloc(prepare, input.length);
      prepare.writeMemory(pointer, input);
    } catch (e) {
      this.#returnInstance(await prepare.intoPrototypeAsync());
      if (!(e instanceof AllocatorError)) throw e;
      throw new RuntimeCallError('InputTooLarge', `the ${input.length}-byte input does not fit in the runtime's heap: ${e.message}`, {
        cause: e,
      });
    }
    try {
      return prepare.start(entryPoint, [WasmValue.i32(pointer), WasmValue.i32(input.length)], startOptions);
    } catch (e) {
      if (!(e instanceof StartError)) throw e;
      // The failed start's instance holds the input: let it go (the next call clones a fresh one).
      if (e.kind === 'FunctionNotFound') {
        throw new RuntimeCallError('EntryPointNotFound', `the runtime has no entry point named ${JSON.stringify(entryPoint)}`, {
          cause: e,
        });
      }
      throw new RuntimeCallError(
        'InvalidEntryPoint',
        `${JSON.stringify(entryPoint)} is not an entry point (a function (i32, i32) -> i64): ${e.message}`,
        { cause: e },
      );
    }
  }
}

/**
 * Calls the entry point `entryPoint` of `runtime` with the SCALE-encoded `input`: the same as
 * {@link SubstrateRuntime.call}. Rejects with {@link RuntimeCallError}, or `UsageError` for bad
 * arguments.
 */
export function runtimeCall(
  runtime: SubstrateRuntime,
  entryPoint: string,
  input: Uint8Array = new Uint8Array(),
  options: RuntimeCallOptions = {},
): Promise<RuntimeCallResult> {
  return runtime.call(entryPoint, input, options);
}

/**
 * Calls `Core_version` and decodes its output. `SubstrateRuntime.create` uses it for runtimes
 * without the version custom sections; it is also how to check those sections against the
 * code. Rejects with {@link RuntimeVersionError}: `CoreVersionFailed` (with the
 * {@link RuntimeCallError} as `cause`) or `InvalidEncoding`.
 */
export async function coreVersion(runtime: SubstrateRuntime, options: RuntimeCallOptions = {}): Promise<RuntimeVersion> {
  let output: Uint8Array;
  try {
    ({ output } = await runtime.call('Core_version', new Uint8Array(), options));
  } catch (e) {
    if (!(e instanceof RuntimeCallError)) throw e;
    throw new RuntimeVersionError('CoreVersionFailed', `calling Core_version failed: ${e.message}`, e);
  }
  return decodeRuntimeVersion(output);
}

/**
 * The function the guest imports for the inline host function `name` in `slot`: it counts and
 * traces the call in the context of the call running on the instance (see `call/context.ts`)
 * and names the function in any error.
 */
function boundInlineFunction(slot: number, name: string, fn: InlineHostFunction) {
  const run = fn.run;
  return (memory: Parameters<typeof run>[1], params: readonly (number | bigint)[]) => {
    const context = contextOf(memory);
    context.record(slot, () => ({ name, route: 'inline', params }));
    try {
      return run(context, memory, params);
    } catch (e) {
      // Name the function in the error: the call fails with it (a Panic passes as it is).
      throw toRuntimeCallError(name, e);
    }
  };
}

/**
 * The default reader for `ext_misc_runtime_version_version_1`: the SCALE-encoded version of
 * `code` (raw or zstd), from its custom sections, else from `Core_version` in a new runtime;
 * `null` if the code cannot be read or has no version.
 */
async function readRuntimeVersion(code: Uint8Array, heapPages: number): Promise<Uint8Array | null> {
  try {
    const decoded = decodeRuntimeCode(code);
    const embedded = readEmbeddedRuntimeVersion(decoded.wasm);
    if (embedded !== null) return encodeRuntimeVersion(embedded);
    const nested = await SubstrateRuntime.create({ code: decoded.wasm, heapPages });
    return (await nested.call('Core_version')).output;
  } catch {
    return null;
  }
}

/** `exportedI32Constant`, with malformed headers read as "no such constant" (the core refuses them). */
function declaredI32Constant(wasm: Uint8Array, name: string): number | null {
  try {
    return exportedI32Constant(wasm, name);
  } catch {
    return null;
  }
}
