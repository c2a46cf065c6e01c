/**
 * A Substrate runtime ready to be called: the counterpart of smoldot's `HostVmPrototype`.
 *
 * Creating one does, once, everything that does not depend on a particular call:
 *
 * 1. decode the code (raw or zstd-compressed, bounded: see `runtime-code.ts`);
 * 2. route every import (inline, storage or handler: see `host-functions.ts`) and build the VM
 *    prototype, which runs the Asyncify transform (seconds; an artifact cache skips it);
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
 * nothing a call leaves in memory may influence the next. Instances come from the prototype
 * without re-running the transform (`clone()` shares the compiled code). Calls may overlap (two
 * calls paused, each waiting for its storage): each gets its own instance.
 *
 * @module
 */

import type { ArtifactCache } from '../artifact-cache.js';
import { GlobalValueError, UsageError } from '../errors.js';
import type { CreatePhase, ProgressEvent } from '../progress.js';
import { VirtualMachinePrototype } from '../prototype.js';
import type { Signature, WasmValue } from '../values.js';
import type { ExecOutcome, VirtualMachine } from '../virtual-machine.js';
import { MAX_WASM_PAGES, WASM_PAGE_SIZE } from './allocator-memory.js';
import type { CallContext } from './call-context.js';
import { exportedI32Constant } from '../module-facts.js';
import { RuntimeCallError, SubstrateRuntimeError, hostFunctionFailed } from './errors.js';
import { AllocatorError } from './allocator-error.js';
import { loadHashers } from './hashing.js';
import { type HostFunctionRoute, routeImport } from './host-functions.js';
import { inlineHostFunction } from './inline-host-functions.js';
import { type RuntimeCodeOptions, decodeRuntimeCode } from './runtime-code.js';
import { coreVersion } from './runtime-call.js';
import { type RuntimeVersion, type RuntimeVersionSource, readEmbeddedRuntimeVersion } from './runtime-version.js';

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
  /** An artifact cache for the core: a runtime seen before is rebuilt without the transform. */
  readonly cache?: ArtifactCache;
  /** Called as creation moves through its phases, for a progress display. Exceptions are ignored. */
  readonly onProgress?: (event: RuntimeProgressEvent) => void;
}

/** One function import of a runtime and how it is served. */
export interface RuntimeImport {
  readonly module: string;
  readonly name: string;
  readonly signature: Signature;
  readonly route: HostFunctionRoute;
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

  /** Never prepared: the source of every instance (`clone()` needs an unconsumed prototype). */
  readonly #template: VirtualMachinePrototype;
  /** A fresh instance kept from the previous call, if any. */
  #idle: VirtualMachinePrototype | null = null;
  /** The context of the call whose `run()` is executing; see `call-context.ts`. */
  #active: CallContext | null = null;
  #version: RuntimeVersion | null = null;
  #versionSource: RuntimeVersionSource = 'custom-sections';

  private constructor(
    template: VirtualMachinePrototype,
    init: Pick<SubstrateRuntime, 'heapBase' | 'heapPages' | 'memoryTotalPages' | 'imports' | 'code'>,
  ) {
    this.#template = template;
    this.heapBase = init.heapBase;
    this.heapPages = init.heapPages;
    this.memoryTotalPages = init.memoryTotalPages;
    this.imports = init.imports;
    this.code = init.code;
  }

  /**
   * Decodes, checks, instruments and compiles a runtime and reads its version. Rejects with
   * `RuntimeCodeError` (code), `NewError` (a module the VM refuses, including a built-in host
   * function imported with the wrong signature), {@link SubstrateRuntimeError} (no
   * `__heap_base`, memory too small), `RuntimeVersionError`, or `UsageError` (bad options).
   */
  static async create(options: SubstrateRuntimeOptions): Promise<SubstrateRuntime> {
    const heapPages = options.heapPages ?? DEFAULT_HEAP_PAGES;
    if (!Number.isSafeInteger(heapPages) || heapPages < 0 || heapPages > MAX_WASM_PAGES) {
      throw new UsageError('InvalidArgument', `heapPages must be an integer from 0 to 65536, got ${String(heapPages)}`);
    }
    const started = performance.now();
    const report = (event: RuntimeProgressEvent): void => {
      try {
        options.onProgress?.(event);
      } catch {
        // A failing progress display must not fail the creation.
      }
    };
    const phase = async <T>(name: SubstratePhase, work: () => T | Promise<T>): Promise<T> => {
      const phaseStarted = performance.now();
      report({ phase: name, status: 'start', elapsedMs: phaseStarted - started });
      const result = await work();
      const now = performance.now();
      report({ phase: name, status: 'end', elapsedMs: now - started, durationMs: now - phaseStarted });
      return result;
    };

    const decoded = await phase('decode-code', () => decodeRuntimeCode(options.code, options));
    const hashers = await loadHashers();

    // Routing happens inside the core's callbacks, once per import, in declaration order: the
    // slot of an import is its position in `imports`, and pausing imports use it as their id.
    const imports: RuntimeImport[] = [];
    let runtime: SubstrateRuntime | null = null;
    const slotOf = (module: string, name: string, signature: Signature): number => {
      const existing = imports.findIndex((i) => i.module === module && i.name === name);
      if (existing !== -1) return existing;
      return imports.push({ module, name, signature, route: routeImport(module, name, signature) }) - 1;
    };
    // The heap's bound is also the memory's cap (for the runtime's own memory.grow too), and it
    // depends on __heap_base: read it from the module's headers before creating the VM.
    const declaredHeapBase = exportedI32Constant(decoded.wasm, '__heap_base');
    const maxMemoryPages =
      declaredHeapBase === null ? undefined : Math.min(Math.ceil(declaredHeapBase / WASM_PAGE_SIZE) + heapPages, MAX_WASM_PAGES);
    const coreStarted = performance.now() - started;
    const template = await VirtualMachinePrototype.create({
      moduleBytes: decoded.wasm,
      inlineImports: (module, name, signature) => {
        const slot = slotOf(module, name, signature);
        if (imports[slot]!.route !== 'inline') return null;
        const implementation = inlineHostFunction(name, hashers)!;
        const route = 'inline' as const;
        return (memory, params) => {
          const context = runtime!.#active;
          if (context === null) throw new Error(`${name} was called outside a runtime call`);
          context.counts[slot]! += 1;
          if (context.trace !== null) traceSafely(context, { name, route, params });
          try {
            return implementation(context, memory, params);
          } catch (e) {
            // Name the function in the error: the call fails with it (a Panic passes as it is).
            throw e instanceof RuntimeCallError ? e : hostFunctionFailed(name, describeFailure(e), e);
          }
        };
      },
      symbols: (module, name, signature) => slotOf(module, name, signature),
      ...(options.cache === undefined ? {} : { cache: options.cache }),
      ...(maxMemoryPages === undefined ? {} : { maxMemoryPages }),
      onProgress: (event) => report({ ...event, elapsedMs: event.elapsedMs + coreStarted }),
    });

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

    runtime = new SubstrateRuntime(template, {
      heapBase,
      heapPages,
      memoryTotalPages,
      imports,
      code: { compressed: decoded.compressed, codeSize: decoded.codeSize, wasmSize: decoded.wasm.length },
    });
    const embedded = readEmbeddedRuntimeVersion(decoded.wasm);
    if (embedded !== null) {
      runtime.#version = embedded;
    } else {
      runtime.#versionSource = 'Core_version';
      runtime.#version = await phase('runtime-version', () => coreVersion(runtime!));
    }
    return runtime;
  }

  /** The runtime's version (see `runtime-version.ts`). */
  get version(): RuntimeVersion {
    return this.#version!;
  }

  /** Where {@link version} was read from: the custom sections, or a call to `Core_version`. */
  get versionSource(): RuntimeVersionSource {
    return this.#versionSource;
  }

  /** @internal A fresh instance for a call: the idle one, or a new one from the template. */
  _takeInstance(): VirtualMachinePrototype {
    const idle = this.#idle;
    this.#idle = null;
    return idle ?? this.#template.clone();
  }

  /** @internal Keeps a fresh instance for the next call (one is enough: calls rarely overlap). */
  _returnInstance(prototype: VirtualMachinePrototype): void {
    this.#idle ??= prototype;
  }

  /** @internal Runs `vm` with `context` active for its inline host functions. */
  _run(vm: VirtualMachine, value: WasmValue | null, context: CallContext): ExecOutcome {
    const previous = this.#active;
    this.#active = context;
    try {
      return vm.run(value);
    } finally {
      this.#active = previous;
    }
  }
}

function traceSafely(context: CallContext, event: Parameters<NonNullable<CallContext['trace']>>[0]): void {
  try {
    context.trace!(event);
  } catch {
    // Tracing is a side channel: a failing observer must not fail the runtime's call.
  }
}

/** The first words of a failed inline host function's error message. */
function describeFailure(error: unknown): string {
  if (error instanceof AllocatorError) return `the heap allocator refused (${error.kind})`;
  if (error instanceof RangeError) return 'an argument is out of range';
  return 'the host function threw';
}
