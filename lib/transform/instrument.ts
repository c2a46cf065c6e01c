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
 * dependency, and a prototype rebuilt from an artifact never needs it.
 *
 * **Layer `transform/`** (this is its main file): rewriting a module for the VM. It owns the
 * instrumented module's ABI names (`abi.ts`), the renaming both backends use (`rename.ts`) and
 * Binaryen's Asyncify pass (here). It imports only `base/`.
 *
 * @module
 */

import type { OffsetMap } from '../base/components.js';
import type { FeatureSet } from '../base/feature-set.js';
import { annotateGuestOffsets, offsetMapFromSourceMap, withoutSourceMapUrl } from './offset-map.js';
import { ASYNCIFY_MEMORY, UNWIND_MEMORY_EXPORT } from './abi.js';

/** Binaryen passes run after Asyncify; see `docs/performance.md` for how they were chosen. */
export const POST_PASSES: readonly string[] = ['simplify-locals-notee-nostructure', 'vacuum', 'reorder-locals'];

/**
 * Names everything about the transform that shapes its output besides the module and the
 * options: artifacts made by a different transform are refused.
 */
export function transformId(postPasses: readonly string[]): string {
  return `binaryen-132/asyncify-O0-secondary-memory/post:${postPasses.join(',')}`;
}

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Features the guest may use; Binaryen is told the same set so it never adds others. */
  readonly features: FeatureSet;
  /** Size of the unwind buffer's memory, in pages. */
  readonly unwindBufferPages: number;
  /**
   * `module.field` patterns (`*` as a suffix wildcard) of the imports that may pause. Functions
   * that cannot reach one of them are left uninstrumented. `null`: every import may pause.
   */
  readonly pausingImports: readonly string[] | null;
  /** Binaryen passes run after `asyncify` to win back run speed. */
  readonly postPasses: readonly string[];
  /**
   * Make an offset map (`offset-map.ts`): `null` not to, else the difference between the
   * guest's own module's code section start and that of the bytes given (renaming moves it).
   */
  readonly guestOffsetDelta: number | null;
}

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

/** What {@link instrument} produces. */
export interface Instrumented {
  readonly binary: Uint8Array;
  /**
   * Whether the instrumented module numbers the guest's functions as the guest does (the
   * transform's own functions come after them): checked, not assumed, since backtraces rely on
   * it (`BaseComponents.backtrace`).
   */
  readonly functionOrderPreserved: boolean;
  /** The offset map, if asked for and any instruction could be tracked; else `null`. */
  readonly offsetMap: OffsetMap | null;
}

/**
 * Instruments a module whose imports and exports have already been renamed (see `rename.ts`).
 * Returns the instrumented binary. Throws if Binaryen rejects the module, which the caller
 * reports as invalid wasm.
 */
export async function instrument(bytes: Uint8Array, options: InstrumentOptions): Promise<Instrumented> {
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
    module.runPasses(['asyncify']);
    if (options.postPasses.length > 0) module.runPasses([...options.postPasses]);
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
