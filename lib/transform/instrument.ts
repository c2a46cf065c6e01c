/**
 * The Asyncify transform: rewrites a module so that a call can be paused at any import and
 * resumed later, on the engine's own JIT.
 *
 * Binaryen's `asyncify` pass makes every function that may (transitively) reach a pausing import
 * able to save its locals and its position into a buffer and return early ("unwind"), and later
 * to re-enter, reload them and skip forward to where it stopped ("rewind"). See
 * `docs/architecture.md` for how the VM drives it.
 *
 * The buffer lives in a *secondary memory* that the pass adds (`asyncify-in-secondary-memory`),
 * never in the guest's memory: the guest must see exactly the bytes and the `memory.size` an
 * uninstrumented run would see. The pass gives that memory a fixed size; it is exported here
 * under {@link UNWIND_MEMORY_EXPORT} so the VM can set up the buffer's header.
 *
 * Binaryen is loaded lazily, the first time a module is instrumented: it is by far the largest
 * dependency, and a prototype rebuilt from an artifact never needs it. This file runs on the
 * transform's own thread (`transform-thread.ts` starts it; `worker-serve.ts` calls it there), so
 * the caller's thread neither loads Binaryen nor waits on it.
 *
 * **Layer `transform/`** (this is its main file): rewriting a module for the VM. It owns the
 * instrumented module's ABI names (`abi.ts`), the renaming both backends use (`rename.ts`), the
 * one-pass code rewriter (`code-rewrite.ts`, its pass `code-pass.ts`, one file per rewrite:
 * `memory-shift.ts`, `nan-canonicalization.ts`, `fuel-metering.ts`, `stack-limit.ts`,
 * `unwind-guard.ts`), Binaryen's Asyncify pass (here), and the thread it runs on
 * (`transform-thread.ts`, with the worker side in `worker-serve.ts`, `node-worker.ts`,
 * `browser-worker.ts`). It imports only `base/`.
 *
 * @module
 */

import type { TransformStep } from '../base/progress.js';
import { ASYNCIFY_MEMORY, UNWIND_MEMORY_EXPORT } from './abi.js';
import { annotateGuestOffsets, offsetMapFromSourceMap, withoutSourceMapUrl } from './offset-map.js';
import type { InstrumentOptions, Instrumented } from './transform-options.js';

export type { InstrumentOptions, Instrumented } from './transform-options.js';

type Binaryen = typeof import('binaryen').default;
let binaryenPromise: Promise<Binaryen> | null = null;

/** Loads Binaryen once per process. */
function loadBinaryen(): Promise<Binaryen> {
  binaryenPromise ??= import('binaryen').then((m) => m.default);
  return binaryenPromise;
}

const PASS_ARGUMENTS = [
  'asyncify-in-secondary-memory',
  'asyncify-secondary-memory-size',
  'asyncify-imports',
  'asyncify-ignore-imports',
] as const;

/**
 * Instruments a module whose imports and exports have already been renamed (see `rename.ts`).
 * Returns the instrumented binary, with what backtraces need (see {@link Instrumented}). Throws
 * if Binaryen rejects the module, which the caller reports as invalid wasm.
 */
export async function instrument(
  bytes: Uint8Array,
  options: InstrumentOptions,
  onStep: (step: TransformStep) => void = () => {},
): Promise<Instrumented> {
  if (binaryenPromise === null) onStep('load-binaryen');
  const binaryen = await loadBinaryen();
  const F = binaryen.Features;
  let features = F.MVP | F.MultiMemory;
  if (options.features.signExtension) features |= F.SignExt;
  if (options.features.saturatingFloatToInt) features |= F.NontrappingFPToInt;
  if (options.features.mutableGlobals) features |= F.MutableGlobals;
  // Binaryen splits bulk memory in two: memory.copy/fill alone, and the whole proposal.
  if (options.features.bulkMemory) features |= F.BulkMemory | F.BulkMemoryOpt;
  if (options.features.multiValue) features |= F.Multivalue;
  // With reference types, call_indirect's table index may be an overlong LEB (as LLVM writes it).
  if (options.features.referenceTypes) features |= F.ReferenceTypes | F.CallIndirectOverlong;

  // Binaryen's settings are process-wide: set ours for this run and put the previous ones back,
  // so that another user of Binaryen in the same process is not affected.
  const previous = {
    optimize: binaryen.getOptimizeLevel(),
    shrink: binaryen.getShrinkLevel(),
    debugInfo: binaryen.getDebugInfo(),
  };
  onStep('read');
  // Read with the guest's features (binaryen.js takes them as a second argument, which its type
  // declarations leave out; `readBinaryWithFeatures` is declared but does not exist).
  const readBinary = binaryen.readBinary as (data: Uint8Array, features?: number) => ReturnType<Binaryen['readBinary']>;
  const module = readBinary(bytes, features);
  try {
    module.setFeatures(features);
    // Binaryen refers to functions by name: the order of the guest's, before and after, tells
    // whether the compiled module numbers them as the guest does.
    const functionNames = (): string[] => {
      const names: string[] = [];
      for (let i = 0; i < module.getNumFunctions(); i++) names.push(binaryen.getFunctionInfo(module.getFunctionByIndex(i)).name);
      return names;
    };
    const before = functionNames();
    const annotated = options.guestOffsetDelta === null ? 0 : annotateGuestOffsets(binaryen, module, bytes, options.guestOffsetDelta);
    // Level 0: Binaryen's default (2) makes the pass run its full optimisation pipeline on every
    // instrumented function, which takes minutes on a real runtime. The post passes below buy
    // back most of that run speed for a fraction of the time.
    binaryen.setOptimizeLevel(0);
    binaryen.setShrinkLevel(0);
    binaryen.setDebugInfo(false);
    binaryen.setPassArgument('asyncify-in-secondary-memory', '1');
    binaryen.setPassArgument('asyncify-secondary-memory-size', String(options.unwindBufferPages));
    if (options.pausingImports !== null) {
      if (options.pausingImports.length === 0) {
        binaryen.setPassArgument('asyncify-ignore-imports', '1');
      } else {
        binaryen.setPassArgument('asyncify-imports', options.pausingImports.join(','));
      }
    }
    onStep('asyncify');
    module.runPasses(['asyncify']);
    if (options.postPasses.length > 0) {
      onStep('post-passes');
      module.runPasses([...options.postPasses]);
    }
    // The guarantee that the guest's memory is never used for the unwind buffer rests on the
    // secondary memory existing: check it rather than trust the pass arguments.
    let unwindMemory: { initial: number; max?: number } | null = null;
    try {
      unwindMemory = module.getMemoryInfo(ASYNCIFY_MEMORY);
    } catch {
      // Binaryen throws a non-Error when the memory does not exist.
    }
    if (unwindMemory?.initial !== options.unwindBufferPages || unwindMemory.max !== options.unwindBufferPages) {
      throw new Error('the Asyncify pass did not create its secondary memory as configured');
    }
    module.addMemoryExport(ASYNCIFY_MEMORY, UNWIND_MEMORY_EXPORT);
    const after = functionNames();
    const functionOrderPreserved = before.every((name, i) => after[i] === name);
    onStep('emit');
    if (annotated === 0) return { binary: module.emitBinary(), functionOrderPreserved, offsetMap: null };
    const { binary, sourceMap } = module.emitBinary('guest.map');
    return {
      binary: withoutSourceMapUrl(binary),
      functionOrderPreserved,
      offsetMap: sourceMap === null ? null : offsetMapFromSourceMap(sourceMap),
    };
  } finally {
    module.dispose();
    for (const key of PASS_ARGUMENTS) binaryen.setPassArgument(key, null);
    binaryen.setOptimizeLevel(previous.optimize);
    binaryen.setShrinkLevel(previous.shrink);
    binaryen.setDebugInfo(previous.debugInfo);
  }
}
