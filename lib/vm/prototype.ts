/**
 * The entry point of the state machine: a validated, instrumented, compiled and instantiated
 * module, ready to prepare a call.
 *
 * ```text
 * VirtualMachinePrototype --prepare()--> Prepare --start(fn, params)--> VirtualMachine
 *         ^                                 |  ^                          |  run(value) -> interrupted | finished | trapped
 *         |                                 |  '------ intoPrepare() -----'  (after finished/trapped: memory and globals kept)
 *         '------------- intoPrototype() ---'---------------------------------'  (fresh instance: memory zeroed, globals reset)
 * ```
 *
 * Every transition consumes the object it is called on; a consumed object refuses any further
 * use with a {@link UsageError} of kind `Consumed`.
 *
 * **Layer `vm/`** (this is its main file): the state machine. It owns the three states (this
 * file, `prepare.ts`, `virtual-machine.ts`, the only import circle of `lib/`), the consumption
 * rule (`ownership.ts`), live instances, guest memory, inline imports, traps and
 * `runToCompletion`; what pauses a guest sits below it in `backends/`, reached through
 * `backends/list.ts` (a backend is chosen once, in `create()`, and the machine asks it what it can
 * do). It may import every layer below it.
 *
 * @module
 */

import type { VmBackend } from '../backends/backend.js';
import { chooseArtifactBackend, planCreate } from '../backends/list.js';
import type { BaseComponents, JournalIdentity } from '../base/components.js';
import { type ResolvedConfig, type VmConfig, resolveConfig, withPrivateBytes } from '../base/config.js';
import type { AsyncifyStack, Backend } from '../base/engine.js';
import { GlobalValueError, NewError } from '../base/errors.js';
import { ProgressReporter } from '../base/progress.js';
import { describeValue } from '../base/values.js';
import { sha256Hex } from '../base/digest.js';
import { loadCodecs } from './codecs.js';
import type { LoadTuning } from '../load/load-module.js';
import { LiveInstance } from './live-instance.js';
import { Ownership } from './ownership.js';
import { Prepare } from './prepare.js';

/** With `VmConfig.journal`: what the journals will name, the module's digest under way (see `JournalIdentity`). */
function journalIdentity(config: ResolvedConfig): Promise<JournalIdentity> | null {
  if (!config.journal) return null;
  const digest = sha256Hex(config.moduleBytes);
  const moduleLength = config.moduleBytes.length;
  const options = {
    features: config.features.name,
    floats: config.floats,
    requireMemory: config.requireMemory,
    startFunction: config.startFunction,
    anyMemoryImport: config.anyMemoryImport,
    maxMemoryPages: config.maxMemoryPages,
    maxStackHeight: config.maxStackHeight,
    canonicalizeNaNs: config.canonicalizeNaNs,
  };
  return digest.then((moduleSha256) => ({ moduleSha256, moduleLength, options }));
}

/** `components` with the journal identity set (`null` without `VmConfig.journal`). */
async function withJournal(components: BaseComponents, journal: Promise<JournalIdentity> | null): Promise<BaseComponents> {
  return journal === null ? components : { ...components, journal: await journal };
}

/**
 * A module ready to run: see the module documentation for the state machine it starts.
 *
 * ```ts
 * const proto = await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0 });
 * let vm = proto.prepare().start('main', []);
 * ```
 */
export class VirtualMachinePrototype {
  readonly #owner: Ownership;
  /** How this prototype's calls are paused: `'asyncify'` or `'jspi'` (see `VmConfig.backend`). */
  readonly backend: Backend;
  /**
   * Where a paused call's stack is kept on Asyncify: `'second-memory'` or `'single-memory'`
   * (`VmConfig.asyncifyStack`, with `'auto'` resolved for the engine, or the artifact's own);
   * `null` on JSPI, where the engine keeps it.
   */
  readonly asyncifyStack: AsyncifyStack | null;

  private constructor(live: LiveInstance) {
    this.#owner = new Ownership(live, 'VirtualMachinePrototype');
    this.backend = live.backend.name;
    this.asyncifyStack = live.components.asyncifyStack;
  }

  /**
   * Validates, inspects, compiles and instantiates a module, instrumenting it first on the
   * Asyncify backend. Rejects with a {@link NewError} naming what was refused, or a
   * {@link UsageError} for a malformed config. On Asyncify the transform runs Binaryen and
   * takes seconds for a multi-megabyte module, and with `config.cache` a module seen before is
   * served from its artifact instead; on JSPI there is no transform and the cache is not used.
   */
  static async create(config: VmConfig): Promise<VirtualMachinePrototype> {
    return VirtualMachinePrototype.#create(resolveConfig(config), {});
  }

  /** @internal `create` with internal tuning knobs, for benchmarks and experiments. */
  static async _createTuned(config: VmConfig, tuning: LoadTuning): Promise<VirtualMachinePrototype> {
    return VirtualMachinePrototype.#create(resolveConfig(config), tuning);
  }

  static async #create(config: ResolvedConfig, tuning: LoadTuning): Promise<VirtualMachinePrototype> {
    // The backend is chosen once, here; one the engine cannot run is refused before any work.
    let plan = planCreate(config);
    if (plan instanceof Promise) {
      // The plan waits for a measurement: the caller may reuse its bytes meanwhile.
      config = withPrivateBytes(config);
      plan = await plan;
    }
    const progress = new ProgressReporter(config.onProgress);
    // Hashed now, while the bytes are certainly the caller's (see `ResolvedConfig`).
    const journal = journalIdentity(config);
    const on = (backend: VmBackend, how: LoadTuning) =>
      backend.create(config, progress, how, async (components) =>
        VirtualMachinePrototype.#instantiate(await withJournal(components, journal), backend, progress),
      );
    if (!plan.fromCacheOnly) return (await on(plan.backend, tuning))!;
    const cached = await on(plan.backend, { ...tuning, fromCacheOnly: true });
    if (cached !== null) return cached;
    const prototype = (await on(plan.fallback, tuning))!;
    // The artifact for the next create(), made in the background: loading, transform and store,
    // never an instance; whatever fails only leaves the cache as it was. (The bytes are private
    // already: copied above while the plan was measured.)
    plan.backend.create(config, new ProgressReporter(null), tuning, async () => undefined).catch(() => undefined);
    return prototype;
  }

  /**
   * Rebuilds a prototype from an artifact made by {@link toArtifact}, without the transform (and
   * without loading Binaryen). `config` must describe the same module and options the artifact
   * was made with; its callbacks resolve the imports again. Rejects with {@link ArtifactError}
   * (`Corrupted`, `VersionMismatch`, `ModuleMismatch`, `OptionsMismatch`) for an artifact that
   * does not belong to them — it is then never run — or with {@link NewError} as `create()`
   * would for a refused import. See `docs/architecture.md` for the trust model.
   *
   * An artifact holds an Asyncify-instrumented module, so the prototype runs on Asyncify:
   * `config.backend` may be `'asyncify'` or `'auto'`; `'jspi'` is refused with
   * {@link UsageError} `UnsupportedOnBackend` (on JSPI, `create()` needs no artifact).
   */
  static async fromArtifact(artifact: Uint8Array, config: VmConfig): Promise<VirtualMachinePrototype> {
    const resolved = resolveConfig(config);
    const backend = chooseArtifactBackend(resolved.backend);
    const progress = new ProgressReporter(resolved.onProgress);
    const journal = journalIdentity(resolved);
    const components = await backend.fromArtifact(artifact, resolved, progress);
    return VirtualMachinePrototype.#instantiate(await withJournal(components, journal), backend, progress);
  }

  static async #instantiate(components: BaseComponents, backend: VmBackend, progress: ProgressReporter): Promise<VirtualMachinePrototype> {
    // `vm.snapshot()` and `vm.journal()` are synchronous: their formats are loaded now, where they may be used.
    const codecs = backend.snapshots || components.journal != null ? loadCodecs() : null;
    const prototype = await progress.phase('instantiate', async () => new VirtualMachinePrototype(await LiveInstance.instantiate(components, backend)));
    await codecs;
    return prototype;
  }

  /** @internal The live instance, for white-box tests of resets (`spec/reset.test.ts`). */
  _live(): LiveInstance {
    return this.#owner.live;
  }

  /** @internal Consumes this prototype for `by` (a restore, a replay), handing its instance over. */
  _take(by: string): LiveInstance {
    return this.#owner.take(by);
  }

  /** @internal A prototype around an existing instance (for `StartError`). */
  static _fromInstance(live: LiveInstance): VirtualMachinePrototype {
    return new VirtualMachinePrototype(live);
  }

  /**
   * @internal The synchronous renewal of `intoPrototype()`: a prototype whose instance is fresh,
   * `live` put back in its fresh state where it can be (see `LiveInstance.reset`), else a new
   * instance; the guest cannot tell which. `abandoning`: the paused call is abandoned first.
   * `take` consumes the calling state; it runs only once the new instance (if one is needed)
   * exists, so an engine that refuses a synchronous instantiation
   * (`UsageError('SynchronousInstantiationRefused')`) leaves the caller as it was.
   */
  static _renew(live: LiveInstance, abandoning: boolean, take: () => void): VirtualMachinePrototype {
    const replacement = live.resettable(abandoning) ? null : LiveInstance.create(live.components, live.backend);
    take();
    if (abandoning) live.driver.abandon();
    if (replacement !== null) return new VirtualMachinePrototype(replacement);
    if (!live.reset()) throw new Error('internal error: an instance found resettable could not be reset');
    return new VirtualMachinePrototype(live);
  }

  /**
   * @internal The asynchronous renewal of `intoPrototypeAsync()`, for an instance already taken
   * (and its paused call already abandoned): reset where it can be, else instantiated with
   * `WebAssembly.instantiate`, which every engine allows on every thread.
   */
  static async _renewAsync(live: LiveInstance): Promise<VirtualMachinePrototype> {
    if (live.reset()) return new VirtualMachinePrototype(live);
    return new VirtualMachinePrototype(await LiveInstance.instantiate(live.components, live.backend));
  }

  /**
   * The value of the exported `i32` global `name`, read as an unsigned 32-bit integer (Substrate
   * runtimes export `__heap_base` this way). Throws {@link GlobalValueError}: `NotFound` if no
   * export of that name is a global, `Invalid` if the global is not an `i32`.
   */
  globalValue(name: string): number {
    const live = this.#owner.live;
    const info = live.components.exports.get(name);
    if (info === undefined || info.kind !== 'global') {
      throw new GlobalValueError(
        'NotFound',
        info === undefined ? `no export is named ${describeValue(name)}` : `the export ${describeValue(name)} is a ${info.kind}, not a global`,
      );
    }
    if (info.global!.valueType !== 'i32') {
      throw new GlobalValueError('Invalid', `the global ${describeValue(name)} is an ${info.global!.valueType}, not an i32`);
    }
    return ((live.exportValue(name, info) as WebAssembly.Global).value as number) >>> 0;
  }

  /**
   * The maximum size of the guest's memory in pages (as it declares it, lowered to
   * `maxMemoryPages`), or `null` if it declares none (or has no memory). With
   * `asyncifyStack: 'single-memory'` the guest can also never grow past 65535 pages minus
   * `unwindBufferPages` (see `VmConfig.asyncifyStack`).
   */
  memoryMaxPages(): number | null {
    return this.#owner.live.memory.maximumPages;
  }

  /** Moves to the {@link Prepare} state, where memory can be set up before a call. Consumes this prototype. */
  prepare(): Prepare {
    return Prepare._fromInstance(this.#owner.take('prepare'));
  }

  /**
   * The artifact of this prototype's module: the instrumented module and the facts the VM needs,
   * so that {@link fromArtifact} can rebuild it without the transform. Versioned, tied to the
   * original module's SHA-256 and to the options, and checksummed (see `docs/architecture.md`).
   * The same bytes for every prototype of the same module, whatever state it is in.
   */
  toArtifact(): Uint8Array {
    const live = this.#owner.live;
    return live.backend.artifactOf(live.components);
  }

  /**
   * A new prototype with a fresh instance of the same module (memory and globals as after
   * instantiation). The transform is not run again and the compiled code is shared.
   *
   * The instance is made synchronously (`new WebAssembly.Instance`). Chromium refuses that on a
   * page's main thread for a module over 8 MB (many runtimes are): it then
   * throws {@link UsageError} `SynchronousInstantiationRefused`; use {@link cloneAsync} there.
   */
  clone(): VirtualMachinePrototype {
    const live = this.#owner.live;
    return new VirtualMachinePrototype(LiveInstance.create(live.components, live.backend));
  }

  /**
   * {@link clone}, with the instance made by `WebAssembly.instantiate`: allowed by every engine
   * on every thread for any module size, so this is the form for code that may run on a
   * browser's main thread. Rejects as `clone()` throws (never with
   * `SynchronousInstantiationRefused`).
   */
  async cloneAsync(): Promise<VirtualMachinePrototype> {
    const live = this.#owner.live;
    return new VirtualMachinePrototype(await LiveInstance.instantiate(live.components, live.backend));
  }
}
