/**
 * Compiling the module the VM instantiates, with the failures a user can meet explained.
 *
 * @module
 */

import { engineSupportsMultiMemory } from '../base/engine.js';
import { NewError } from '../base/errors.js';
import { describeThrown } from '../base/values.js';

/** Compiles an instrumented module, explaining the one failure a user can meet: an old engine. */
export async function compileInstrumented(instrumented: Uint8Array): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(instrumented as Uint8Array<ArrayBuffer>);
  } catch (e) {
    if (!engineSupportsMultiMemory()) {
      throw new NewError(
        'Instantiation',
        'this JavaScript engine does not support multi-memory, which the VM needs to keep the unwind ' +
          'buffer out of the guest memory (Node.js >= 22, Chrome >= 120, Firefox >= 125)',
        { cause: e },
      );
    }
    throw new NewError('InvalidWasm', `the instrumented module failed to compile: ${describeThrown(e)}`, { cause: e });
  }
}
