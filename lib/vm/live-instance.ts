/**
 * Live instances: one instantiation of a prototype's base components, with its memory and the
 * driver that pauses its calls.
 *
 * As in smoldot, a prototype is built from *base components* (`base/components.ts`): the
 * compiled module, the resolved import table and the module facts the VM needs. They are
 * immutable and shared; `clone()` and `intoPrototype()` make a fresh {@link LiveInstance} from
 * them without loading the module again, and the engine shares the compiled code between every
 * instance of the same `WebAssembly.Module`, so a fresh instance costs only its memory and its
 * data segments.
 *
 * The import object is built here: each pausing import is bound to the instance's pause driver
 * (made by the backend: an Asyncify import function, or a `WebAssembly.Suspending` on JSPI), each inline import to
 * its host function, and an imported memory is allocated (capped by `maxMemoryPages`). Imports
 * and exports are bound by the synthetic names of `transform/abi.ts` when the module was
 * renamed, and by the guest's own names otherwise.
 *
 * ## Reset: a used instance made fresh again
 *
 * Making an instance is the expensive part of starting over (about 1.8 ms for westend, most of
 * it the engine's own work), and a light client starts over for every runtime call. So
 * `intoPrototype()` first tries {@link LiveInstance.reset}: put back exactly what a fresh
 * instance holds, in the same instance. What a fresh instance holds is recorded once per
 * module, from the first instance, before any guest code runs (a start function is not run at
 * instantiation but as the first call, see `VmConfig.startFunction`):
 *
 * - its memory: the whole initial memory (data segments and zeros), written back over the
 *   guest's part of the memory, its runs of zeros filled and the rest copied (`memory-image.ts`;
 *   pages reserved below the guest's memory for a paused stack are not the guest's to see, and a
 *   paused stack left there is never read again); only while the memory has its initial size,
 *   since a memory cannot shrink (a grown memory means a new instance) and only up to
 *   {@link RESET_IMAGE_LIMIT} bytes. With
 *   `VmConfig.reuseGrownMemory`, a memory grown by up to {@link REUSE_GROWN_MEMORY_LIMIT} bytes
 *   is kept too, and its grown part zeroed: the contents are a fresh instance's, the size is not
 *   (the one thing the guest can tell, which that option's hosts accept). Zeroing memory whose
 *   pages are already mapped is much cheaper than a new memory, whose pages the operating system
 *   maps (and zeroes) one fault at a time as the guest first touches them;
 * - its mutable globals, every one of them (the transform exports those the guest does not);
 * - the pause mechanism's state (Asyncify's is put back before the next call; a JSPI instance
 *   whose paused call was abandoned is not reused, as its stack may still be unwinding);
 * - the start function, pending again.
 *
 * Immutable globals cannot change. Tables and segments can only change through instructions of
 * bulk memory and reference types (`table.set`, `table.grow`, `table.fill`, `table.copy`,
 * `table.init`, `elem.drop`, `data.drop`), and a reset cannot undo those (a dropped segment
 * cannot be restored, a table cannot shrink): a module containing any of them (the feature scan
 * records the first, `BaseComponents.resetBlocker`) always gets a new instance. What toolchains
 * emit by default uses none of them (`memory.copy`/`memory.fill` only change memory, which the
 * image restores; `memory.init` reads a segment without changing it). So the guest cannot tell
 * a reset instance from a new one:
 * `spec/reset.test.ts` compares every byte of memory, `memory.size` and every global with a
 * fresh instance's, on real runtimes, and the differential fuzzer does after every module.
 *
 * @module
 */

import type { BaseComponents, ExportInfo } from '../base/components.js';
import { NewError, UsageError } from '../base/errors.js';
import { HOST_DATA, PAGE_SIZE } from '../base/guest-memory-access.js';
import type { Signature } from '../base/values.js';
import {
  FUEL_IMPORT,
  FUNCTION_IMPORT_MODULE,
  MEMORY_EXPORT,
  MEMORY_IMPORT_MODULE,
  MEMORY_IMPORT_NAME,
  STACK_LIMIT_IMPORT,
  START_EXPORT,
  exportName,
  functionImportName,
} from '../transform/abi.js';
import type { VmBackend } from '../backends/backend.js';
import type { CallDriver } from '../backends/call-driver.js';
import { CallJournal } from './call-journal.js';
import { GuestMemory, realMemoryLimits } from './guest-memory.js';
import { inlineImportFunction, inGuestCode } from './inline-imports.js';
import { MemoryImage } from './memory-image.js';
import { StackLimitExceeded } from './traps.js';

/** The value an import returns while unwinding: discarded, but it must have the right JS type. */
function placeholderFor(signature: Signature): unknown {
  if (signature.result === null) return undefined;
  return signature.result === 'i64' ? 0n : 0;
}

/** What instantiating needs besides the module: the import object and the objects it holds. */
interface Wiring {
  readonly imports: WebAssembly.Imports;
  readonly driver: CallDriver;
  readonly memory: GuestMemory;
  readonly importedMemory: WebAssembly.Memory | null;
}

/**
 * The largest initial memory a reset copies back, in bytes. Beyond it, copying would cost about
 * as much as a new instance (memory copies at 20-50 MB/ms; a new westend instance takes 1.8 ms).
 */
export const RESET_IMAGE_LIMIT = 16 * 1024 * 1024;

/**
 * The most a memory may have grown past its initial size and still be kept by a reset under
 * `VmConfig.reuseGrownMemory`. Zeroing runs at about 10 GB/s, so 32 MiB costs a few ms at every
 * reset, whether or not the next call touches it; a new instance pays only for the pages its
 * call touches.
 */
export const REUSE_GROWN_MEMORY_LIMIT = 32 * 1024 * 1024;

/** What every fresh instance of a module holds; see the module documentation. */
interface FreshState {
  /** The initial memory, or `null` for a module without memory. */
  readonly memory: MemoryImage | null;
  /** The value of each of `BaseComponents.mutableGlobals`. */
  readonly globals: readonly unknown[];
}

/** Per module: its fresh state, or `null` if it cannot be reset (too large an initial memory). */
const freshStates = new WeakMap<BaseComponents, FreshState | null>();

/**
 * Where a fresh instance is with the module's start function (`VmConfig.startFunction`): none,
 * not run yet (or abandoned: the instance is then replaced), finished, or trapped.
 */
export type StartFunctionState = 'none' | 'pending' | 'finished' | 'trapped';

/** One instantiation of the base components, with its memory and its pause driver. */
export class LiveInstance {
  readonly #globals: readonly WebAssembly.Global[];
  /** See {@link StartFunctionState}; a reset puts it back to `pending`. */
  startFunction: StartFunctionState;
  /**
   * With `VmConfig.fuel`: the fuel counter (an i64 global, the fuel left) and the index of the
   * import through which the guest pauses when it runs out (`-1` without fuel); see `fuel.ts`.
   */
  readonly fuelCounter: WebAssembly.Global | null;
  readonly fuelImport: number;
  /** With `VmConfig.maxStackHeight`: the logical stack height (an i32 global). */
  readonly heightCounter: WebAssembly.Global | null;
  /** With `VmConfig.journal`: what the host did to this instance since it was fresh (`call-journal.ts`). */
  readonly journal: CallJournal | null;

  private constructor(
    readonly components: BaseComponents,
    /** The backend the instance's calls are paused by (see `backends/backend.ts`). */
    readonly backend: VmBackend,
    readonly memory: GuestMemory,
    readonly driver: CallDriver,
    private readonly exportsObject: WebAssembly.Exports,
  ) {
    this.#globals = components.mutableGlobals.map((name) => exportsObject[name] as WebAssembly.Global);
    const metering = components.metering;
    this.fuelCounter = metering?.fuel == null ? null : (exportsObject[metering.fuel.counterExport] as WebAssembly.Global);
    this.fuelImport = metering?.fuel?.importIndex ?? -1;
    this.heightCounter = metering?.stack == null ? null : (exportsObject[metering.stack.heightExport] as WebAssembly.Global);
    this.startFunction = components.startFunction ? 'pending' : 'none';
    this.journal = memory.journal;
    if (!freshStates.has(components)) freshStates.set(components, this.#capture());
  }

  /**
   * Every global the compiled module exports, by export name (the guest's own and those the
   * transform adds: its mutable globals, counters), in a fixed order: what a snapshot or a
   * fork carries besides the memory (see `paused-call.ts`).
   */
  exportedGlobals(): [string, WebAssembly.Global][] {
    const globals: [string, WebAssembly.Global][] = [];
    for (const name of globalExportNames(this.components)) globals.push([name, this.exportsObject[name] as WebAssembly.Global]);
    return globals;
  }

  /**
   * Puts the instance back in the state of a fresh one (see the module documentation), or
   * returns `false`, changing nothing, where it cannot: the caller then makes a new instance.
   */
  reset(): boolean {
    if (!this.resettable(false)) return false;
    const fresh = freshStates.get(this.components)!;
    if (this.memory.present) {
      // The guest's part only: the pages reserved below it (a paused stack's) are not the guest's to see.
      const view = this.memory.guestBytes();
      fresh.memory!.restore(view);
      // Only with reuseGrownMemory (see resettable): the grown part, zeroed as in a new memory.
      if (view.length > fresh.memory!.length) view.fill(0, fresh.memory!.length);
    }
    for (let i = 0; i < this.#globals.length; i++) this.#globals[i]!.value = fresh.globals[i];
    this.memory[HOST_DATA] = undefined;
    this.startFunction = this.components.startFunction ? 'pending' : 'none';
    this.journal?.clear();
    return true;
  }

  /** The compiled module's export of the guest's start function (`components.startFunction` must be set). */
  startFunctionExport(): (...args: unknown[]) => unknown {
    return this.exportsObject[START_EXPORT] as (...args: unknown[]) => unknown;
  }

  /**
   * Whether {@link reset} would succeed, after abandoning the paused call first if `abandoning`.
   * Changes nothing: a synchronous `intoPrototype()` asks before it consumes anything, so that
   * when it needs a new instance and the engine refuses to make one synchronously, the machine
   * is left as it was.
   */
  resettable(abandoning: boolean): boolean {
    const fresh = freshStates.get(this.components);
    if (fresh === undefined || fresh === null || !this.driver.reusable || this.components.resetBlocker !== null) return false;
    if (abandoning && !this.driver.reusableAfterAbandon) return false;
    if (!this.memory.present) return true;
    if (fresh.memory === null) return false;
    const grownBy = this.memory.memorySize() * PAGE_SIZE - fresh.memory.length;
    return grownBy === 0 || (this.components.reuseGrownMemory && grownBy > 0 && grownBy <= REUSE_GROWN_MEMORY_LIMIT);
  }

  /**
   * What the guest can observe of this instance between calls: every byte of its memory, its
   * size in pages, and every mutable global (the immutable ones cannot change). For tests that
   * compare a reset instance with a new one. Pages reserved below the guest's memory (a paused
   * stack's) are not part of it: the guest cannot reach them.
   */
  observableState(): { readonly pages: number; readonly memory: Uint8Array; readonly globals: readonly unknown[] } {
    return {
      pages: this.memory.memorySize(),
      memory: this.memory.guestBytes().slice(),
      globals: this.#globals.map((global) => global.value as unknown),
    };
  }

  /** The fresh state, read from this instance before any guest code ran on it (the guest's memory only). */
  #capture(): FreshState | null {
    if (this.memory.memorySize() * PAGE_SIZE > RESET_IMAGE_LIMIT) return null;
    return {
      memory: this.memory.present ? new MemoryImage(this.memory.guestBytes().slice()) : null,
      globals: this.#globals.map((global) => global.value as unknown),
    };
  }

  /** The instance's value for the original export `name` (a function, a `WebAssembly.Global`, ...). */
  exportValue(name: string, info: ExportInfo): unknown {
    return this.exportsObject[this.components.renamed ? exportName(info.position) : name];
  }

  /**
   * Instantiates the module synchronously (`clone()`, `intoPrototype()`). Throws
   * {@link NewError} `CouldntAllocateMemory` or `Instantiation`, or {@link UsageError}
   * `SynchronousInstantiationRefused` where the engine allows only the asynchronous form for
   * this module on this thread (Chromium's main thread, modules over 8 MB).
   */
  static create(components: BaseComponents, backend: VmBackend): LiveInstance {
    const wiring = wire(components, backend);
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(components.module, wiring.imports);
    } catch (e) {
      if (isSynchronousInstantiationRefusal(e)) {
        throw new UsageError(
          'SynchronousInstantiationRefused',
          `the engine refuses to instantiate this module synchronously on this thread (${e.message}); ` +
            'use the asynchronous form (cloneAsync(), intoPrototypeAsync()), or run the VM in a Worker. Nothing was consumed',
          e,
        );
      }
      throw instantiationError(e);
    }
    return LiveInstance.#connect(components, backend, wiring, instance);
  }

  /**
   * Instantiates the module asynchronously (`create()`, `fromArtifact()`): the form every engine
   * allows for any module size (Chromium refuses a synchronous instantiation of a large module
   * on its main thread). Rejects as {@link create} throws.
   */
  static async instantiate(components: BaseComponents, backend: VmBackend): Promise<LiveInstance> {
    const wiring = wire(components, backend);
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(components.module, wiring.imports);
    } catch (e) {
      throw instantiationError(e);
    }
    return LiveInstance.#connect(components, backend, wiring, instance);
  }

  static #connect(components: BaseComponents, backend: VmBackend, wiring: Wiring, instance: WebAssembly.Instance): LiveInstance {
    wiring.driver.attach(instance.exports);
    // An exported memory can only be filled in once the instance exists (no import can run
    // before that: a start function was taken out of the module, see `VmConfig.startFunction`).
    if (components.memory !== null) {
      wiring.memory.attach(wiring.importedMemory ?? (instance.exports[components.renamed ? MEMORY_EXPORT : 'memory'] as WebAssembly.Memory));
    }
    return new LiveInstance(components, backend, wiring.memory, wiring.driver, instance.exports);
  }
}

/** Builds the import object of a new instance of `components`; see the module documentation. */
function wire(components: BaseComponents, backend: VmBackend): Wiring {
  const driver = backend.newDriver(components);
  const declared = components.memory;
  // Inline host functions get the memory object now; an exported memory is filled in once the
  // instance exists.
  const memory = new GuestMemory(declared?.limits.maximum ?? null, components.reservedPages);
  const journaled = components.journal !== undefined && components.journal !== null;
  if (journaled) memory.journal = new CallJournal();
  // Objects without a prototype: with the guest's own names, a module or field named
  // "__proto__" or "constructor" must be an ordinary property, never the realm's built-ins.
  const imports: WebAssembly.Imports = Object.create(null);
  const moduleObject = (module: string): WebAssembly.ModuleImports => (imports[module] ??= Object.create(null));
  components.imports.forEach((imported, index) => {
    let value =
      imported.inline === null
        ? driver.pausingImport(index, placeholderFor(imported.signature), imported.signature.params.length)
        : inlineImportFunction(imported.inline, memory, imported.signature.result, () =>
            JSON.stringify(imported.module) + '.' + JSON.stringify(imported.name),
          );
    if (journaled && imported.inline !== null) value = inGuestCode(value as (...args: (number | bigint)[]) => unknown, memory);
    const [module, name] = components.renamed ? [FUNCTION_IMPORT_MODULE, functionImportName(index)] : [imported.module, imported.name];
    moduleObject(module)[name] = value as WebAssembly.ImportValue;
  });

  // The code rewrite's own imports (fuel, the stack limit), after the guest's: see `fuel.ts`.
  const metering = components.metering;
  if (metering?.fuel != null) {
    moduleObject(FUEL_IMPORT.module)[FUEL_IMPORT.name] = driver.pausingImport(metering.fuel.importIndex, undefined, 1) as WebAssembly.ImportValue;
  }
  if (metering?.stack != null) {
    const limit = metering.stack.limit;
    moduleObject(STACK_LIMIT_IMPORT.module)[STACK_LIMIT_IMPORT.name] = () => {
      throw new StackLimitExceeded(limit);
    };
  }

  let importedMemory: WebAssembly.Memory | null = null;
  if (declared?.imported === true) {
    // With pages reserved below the guest's memory, the real memory is that much larger (the
    // rewritten module's import says so too).
    const limits = realMemoryLimits(declared.limits, components.reservedPages);
    try {
      importedMemory = new WebAssembly.Memory(
        limits.maximum === null ? { initial: limits.initial } : { initial: limits.initial, maximum: limits.maximum },
      );
    } catch (e) {
      throw new NewError(
        'CouldntAllocateMemory',
        `could not allocate the guest's memory of ${declared.limits.initial} pages: ${(e as Error).message}`,
        { cause: e },
      );
    }
    // Unless renamed (always for another name, see `needsRenaming` in load-module.ts), the
    // memory import is "env"."memory".
    const [module, name] = components.renamed ? [MEMORY_IMPORT_MODULE, MEMORY_IMPORT_NAME] : ['env', 'memory'];
    moduleObject(module)[name] = importedMemory;
  }
  return { imports, driver, memory, importedMemory };
}

/** The names of the globals `components`' compiled module exports, in its export order (computed once per module). */
const globalNames = new WeakMap<BaseComponents, readonly string[]>();
function globalExportNames(components: BaseComponents): readonly string[] {
  let names = globalNames.get(components);
  if (names === undefined) {
    names = WebAssembly.Module.exports(components.module)
      .filter((e) => e.kind === 'global')
      .map((e) => e.name);
    globalNames.set(components, names);
  }
  return names;
}

/**
 * Whether `e` is the engine's refusal of a synchronous instantiation on this thread. Chromium
 * throws a `RangeError` "WebAssembly.Instance is disallowed on the main thread, if the buffer
 * size is larger than 8MB. Use WebAssembly.instantiate." (the limit is on the module's size, not
 * its memory); engines name it only in the message, so the message is what is read.
 */
function isSynchronousInstantiationRefusal(e: unknown): e is RangeError {
  return e instanceof RangeError && /disallowed on the main thread|WebAssembly\.instantiate\b/.test(e.message);
}

function instantiationError(e: unknown): NewError {
  if (e instanceof RangeError) {
    return new NewError('CouldntAllocateMemory', `could not allocate the instance's memory: ${e.message}`, { cause: e });
  }
  return new NewError('Instantiation', `instantiation failed: ${(e as Error).message}`, { cause: e });
}
