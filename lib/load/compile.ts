/**
 * Compiling the module the VM instantiates, with the failures a user can meet explained.
 *
 * @module
 */

import { missingMultiMemory } from '../base/engine.js';
import { NewError } from '../base/errors.js';
import { describeThrown } from '../base/values.js';

/** Compiles an instrumented module, explaining the one failure a user can meet: an old engine. */
export async function compileInstrumented(instrumented: Uint8Array): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(instrumented as Uint8Array<ArrayBuffer>);
  } catch (e) {
    // create() and fromArtifact() check the engine first; this is for a caller that did not.
    const unsupported = missingMultiMemory();
    if (unsupported !== null) throw new NewError('BackendUnsupported', unsupported, { cause: e });
    throw new NewError('InvalidWasm', `the instrumented module failed to compile: ${describeThrown(e)}`, { cause: e });
  }
}
