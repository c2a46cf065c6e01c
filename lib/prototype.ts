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
 * @module
 */

import { type VmConfig, resolveConfig } from './config.js';
import { GlobalValueError } from './errors.js';
import { type BaseComponents, LiveInstance } from './live-instance.js';
import { type LoadTuning, loadModule } from './load-module.js';
import { StateObject } from './memory-access.js';
import { Prepare } from './prepare.js';

/**
 * A module ready to run: see the module documentation for the state machine it starts.
 *
 * ```ts
 * const proto = await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0 });
 * let vm = proto.prepare().start('main', []);
 * ```
 */
export class VirtualMachinePrototype extends StateObject {
  private constructor(live: LiveInstance) {
    super(live, 'VirtualMachinePrototype');
  }

  /**
   * Validates, inspects, instruments, compiles and instantiates a module. Rejects with a
   * {@link NewError} naming what was refused, or a {@link UsageError} for a malformed config.
   * The transform runs Binaryen and takes seconds for a multi-megabyte module.
   */
  static async create(config: VmConfig): Promise<VirtualMachinePrototype> {
    const components = await loadModule(resolveConfig(config));
    return new VirtualMachinePrototype(LiveInstance.create(components));
  }

  /** @internal `create` with internal tuning knobs, for benchmarks and experiments. */
  static async _createTuned(config: VmConfig, tuning: LoadTuning): Promise<VirtualMachinePrototype> {
    return new VirtualMachinePrototype(LiveInstance.create(await loadModule(resolveConfig(config), tuning)));
  }

  /** @internal A prototype around an existing instance (for `StartError`). */
  static _fromInstance(live: LiveInstance): VirtualMachinePrototype {
    return new VirtualMachinePrototype(live);
  }

  /** @internal A prototype with a fresh instance of `components`. */
  static _fresh(components: BaseComponents): VirtualMachinePrototype {
    return new VirtualMachinePrototype(LiveInstance.create(components));
  }

  /**
   * The value of the exported `i32` global `name`, read as an unsigned 32-bit integer (Substrate
   * runtimes export `__heap_base` this way). Throws {@link GlobalValueError}: `NotFound` if no
   * export of that name is a global, `Invalid` if the global is not an `i32`.
   */
  globalValue(name: string): number {
    const live = this.live();
    const info = live.components.exports.get(name);
    if (info === undefined || info.kind !== 'global') {
      throw new GlobalValueError(
        'NotFound',
        info === undefined ? `no export is named ${JSON.stringify(name)}` : `the export ${JSON.stringify(name)} is a ${info.kind}, not a global`,
      );
    }
    if (info.global!.valueType !== 'i32') {
      throw new GlobalValueError('Invalid', `the global ${JSON.stringify(name)} is an ${info.global!.valueType}, not an i32`);
    }
    return ((live.exportValue(info) as WebAssembly.Global).value as number) >>> 0;
  }

  /** The maximum size of the guest's memory in pages, or `null` if it declares none (or has no memory). */
  memoryMaxPages(): number | null {
    return this.live().memory.maximumPages;
  }

  /** Moves to the {@link Prepare} state, where memory can be set up before a call. Consumes this prototype. */
  prepare(): Prepare {
    return Prepare._fromInstance(this.consume('prepare'));
  }

  /**
   * A new prototype with a fresh instance of the same module (memory and globals as after
   * instantiation). The transform is not run again and the compiled code is shared.
   */
  clone(): VirtualMachinePrototype {
    return VirtualMachinePrototype._fresh(this.live().components);
  }
}
