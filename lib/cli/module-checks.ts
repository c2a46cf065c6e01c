/**
 * The checks `run` and `prepare` make before the transform, so that a file that can never work
 * fails in milliseconds rather than after the seconds (or minutes) the transform takes.
 *
 * They are the library's own: the first steps of `VirtualMachinePrototype.create` (the engine's
 * validation, the feature scan, the module rules), run with the default configuration and every
 * import accepted, so a refusal is the `NewError` `create()` would give; then, for `run`, the
 * mark of a Substrate runtime, an exported `i32` global `__heap_base`, read from the headers.
 * `SubstrateRuntime.create` repeats all of this; the repetition costs milliseconds.
 *
 * @module
 */

import { resolveConfig } from '../base/config.js';
import { exportedI32Constant } from '../base/header-walks.js';
import { checkModule } from '../load/load-module.js';
import { SubstrateRuntimeError } from '../substrate/index.js';

/**
 * Throws the `NewError` that `VirtualMachinePrototype.create` would throw for `wasm` before its
 * transform (with every import accepted), and returns the constant the module's exported `i32`
 * global `__heap_base` starts with, or `null` if it has none.
 */
export function checkBeforeTransform(wasm: Uint8Array): { readonly heapBase: number | null } {
  checkModule(resolveConfig({ moduleBytes: wasm, symbols: () => 0 }));
  return { heapBase: exportedI32Constant(wasm, '__heap_base') };
}

/**
 * {@link checkBeforeTransform}, then throws `SubstrateRuntimeError(HeapBaseNotFound)` if the
 * module is not a Substrate runtime: the error `SubstrateRuntime.create` gives, only after the
 * transform.
 */
export function checkRuntimeBeforeTransform(wasm: Uint8Array): void {
  if (checkBeforeTransform(wasm).heapBase !== null) return;
  throw new SubstrateRuntimeError(
    'HeapBaseNotFound',
    'the module is not a Substrate runtime: it must export an i32 global named __heap_base, initialised with a constant',
  );
}
