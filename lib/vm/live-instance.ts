/**
 * Base components, and the live instances made from them.
 *
 * As in smoldot, a prototype is built from *base components*: the instrumented, compiled module,
 * the resolved import table and the module facts the VM needs. They are immutable and shared;
 * `clone()` and `intoPrototype()` make a fresh {@link LiveInstance} from them without running
 * the transform again, and the engine's compiled code is shared by every instance of the same
 * `WebAssembly.Module`, so a fresh instance costs only its memory and its data segments.
 *
 * @module
 */

import { AsyncifyDriver } from './pause/asyncify-driver.js';
import { NewError } from '../base/errors.js';
import { GuestMemory } from './guest-memory.js';
import { inlineImportFunction } from './inline-imports.js';
import type { BaseComponents, ExportInfo } from '../base/components.js';
import {
  FUNCTION_IMPORT_MODULE,
  MEMORY_EXPORT,
  MEMORY_IMPORT_MODULE,
  MEMORY_IMPORT_NAME,
  exportName,
  functionImportName,
} from '../transform/abi.js';
import type { Signature } from '../base/values.js';

/** The value an import returns while unwinding: discarded, but it must have the right JS type. */
function placeholderFor(signature: Signature): unknown {
  if (signature.result === null) return undefined;
  return signature.result === 'i64' ? 0n : 0;
}

/** One instantiation of the base components, with its memory and its pause driver. */
export class LiveInstance {
  private constructor(
    readonly components: BaseComponents,
    readonly memory: GuestMemory,
    readonly driver: AsyncifyDriver,
    private readonly exportsObject: WebAssembly.Exports,
  ) {}

  /** The instance's value for an original export (a function, a `WebAssembly.Global`, ...). */
  exportValue(info: ExportInfo): unknown {
    return this.exportsObject[exportName(info.position)];
  }

  /**
   * Instantiates the module: allocates the imported memory if there is one, binds every function
   * import to the pause driver. Throws {@link NewError} `CouldntAllocateMemory` or
   * `Instantiation`.
   */
  static create(components: BaseComponents): LiveInstance {
    const driver = new AsyncifyDriver();
    const declared = components.memory;
    // Inline host functions get the memory object now; an exported memory is filled in below,
    // once the instance exists (no import can run before that: there is no start function).
    const memory = new GuestMemory(null, declared?.limits.maximum ?? null);
    const functions: Record<string, unknown> = {};
    components.imports.forEach((imported, index) => {
      functions[functionImportName(index)] =
        imported.inline === null
          ? driver.pausingImport(index, placeholderFor(imported.signature))
          : inlineImportFunction(imported.inline, memory, imported.signature.result, () =>
              JSON.stringify(imported.module) + '.' + JSON.stringify(imported.name),
            );
    });
    const imports: WebAssembly.Imports = { [FUNCTION_IMPORT_MODULE]: functions as WebAssembly.ModuleImports };

    let importedMemory: WebAssembly.Memory | null = null;
    if (declared?.imported === true) {
      try {
        importedMemory = new WebAssembly.Memory(
          declared.limits.maximum === null
            ? { initial: declared.limits.initial }
            : { initial: declared.limits.initial, maximum: declared.limits.maximum },
        );
      } catch (e) {
        throw new NewError(
          'CouldntAllocateMemory',
          `could not allocate the guest's memory of ${declared.limits.initial} pages: ${(e as Error).message}`,
          { cause: e },
        );
      }
      imports[MEMORY_IMPORT_MODULE] = { [MEMORY_IMPORT_NAME]: importedMemory };
    }

    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(components.module, imports);
    } catch (e) {
      if (e instanceof RangeError) {
        throw new NewError('CouldntAllocateMemory', `could not allocate the instance's memory: ${e.message}`, {
          cause: e,
        });
      }
      throw new NewError('Instantiation', `instantiation failed: ${(e as Error).message}`, { cause: e });
    }
    driver.attach(instance.exports);
    if (declared !== null) memory.memory = importedMemory ?? (instance.exports[MEMORY_EXPORT] as WebAssembly.Memory);
    return new LiveInstance(components, memory, driver, instance.exports);
  }
}
