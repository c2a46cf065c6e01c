/**
 * Where the Asyncify backend keeps a paused call's stack (`VmConfig.asyncifyStack`), chosen for
 * this engine.
 *
 * - `'second-memory'`: a memory of its own, added by Binaryen's Asyncify. The guest's memory is
 *   the module's memory as the guest declared it. Needs multi-memory, which JavaScriptCore lacks
 *   (every Safari, WebKitGTK, WPE).
 * - `'single-memory'`: pages reserved below the guest's memory, in the module's one memory; the
 *   code rewrite moves every guest access above them (`transform/memory-shift.ts`). Runs on
 *   every engine, at the cost of a few instructions at each `memory.size`, `memory.grow` and
 *   bulk memory operation, and a bounds check on each store Asyncify makes while unwinding.
 *
 * `'auto'` takes the second memory where the engine has it (its instrumented module is the
 * guest's code as written, plus Asyncify), else the single memory.
 *
 * @module
 */

import { type AsyncifyStack, missingMultiMemory, refuseUnsupportedAsyncifyStack } from '../../base/engine.js';

/**
 * The placement for `option` on this engine: `'auto'` resolved, an explicit `'second-memory'`
 * refused with `NewError('BackendUnsupported')` where the engine has no multi-memory.
 */
export function resolveAsyncifyStack(option: AsyncifyStack | 'auto'): AsyncifyStack {
  if (option === 'auto') return missingMultiMemory() === null ? 'second-memory' : 'single-memory';
  refuseUnsupportedAsyncifyStack(option);
  return option;
}
