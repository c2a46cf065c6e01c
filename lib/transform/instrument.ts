/**
 * The Asyncify transform: rewrites a module so that a call can be paused at any import and
 * resumed later, on the engine's own JIT.
 *
 * Binaryen's `asyncify` pass makes every function that may (transitively) reach a pausing import
 * able to save its locals and its position into a buffer and return early ("unwind"), and later
 * to re-enter, reload them and skip forward to where it stopped ("rewind"). See
 * `docs/architecture.md` for how the VM drives it.
 *
 * The buffer is never in the guest's memory: the guest must see exactly the bytes, the
 * `memory.size` and the `memory.grow` results an uninstrumented run would see. Two placements
 * (`InstrumentOptions.asyncifyStack`), each exported under {@link UNWIND_MEMORY_EXPORT} so that
 * the VM can set up the buffer's header at its address 0:
 *
 * - `'second-memory'`: a *secondary memory* that the pass adds (`asyncify-in-secondary-memory`),
 *   of exactly the buffer's size. Needs the engine's multi-memory.
 * - `'single-memory'`, for engines without multi-memory: the module keeps one memory, and the
 *   buffer takes its K lowest pages (K = `unwindBufferPages`), where the guest cannot reach:
 *
 *   ```text
 *   renamed guest --code rewrite: memoryBase K--> every guest access K pages up (memory-shift.ts)
 *                 --Binaryen asyncify, no secondary memory--> its data at 0, its stack in [8, K*64Ki)
 *                 --post passes, emit--> --code rewrite: guardStoresBelow K*64Ki--> (unwind-guard.ts)
 *   ```
 *
 *   Asyncify does not check its stack's end while it saves frames; the guard makes each of its
 *   stores trap before it would write past the reserved pages. A module without memory gets
 *   Asyncify's own memory of exactly K pages as its only one, which nothing but Asyncify uses.
 *
 * The code rewrites the backend asks for (`InstrumentOptions.guestRewrite`, the memory shift
 * among them) run here too, on the transform's thread, before Binaryen reads the module.
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

import type { OffsetMap } from '../base/components.js';
import type { TransformStep } from '../base/progress.js';
import { ASYNCIFY_MEMORY, MEMORY_EXPORT, MEMORY_IMPORT_MODULE, MEMORY_IMPORT_NAME, UNWIND_MEMORY_EXPORT } from './abi.js';
import { type RewrittenCode, rewriteCode } from './code-rewrite.js';
import { PAGE_BYTES } from './memory-shift.js';
import { annotateGuestOffsets, composeOffsetMaps, offsetMapFromSourceMap, withoutSourceMapUrl } from './offset-map.js';
import type { InstrumentOptions, Instrumented } from './transform-options.js';

export type { InstrumentOptions, Instrumented } from './transform-options.js';

type Binaryen = typeof import('binaryen').default;
type BinaryenModule = ReturnType<Binaryen['readBinary']>;
let binaryenPromise: Promise<Binaryen> | null = null;

/** Loads Binaryen once per process. */
function loadBinaryen(): Promise<Binaryen> {
  binaryenPromise ??= import('binaryen').then((m) => m.default);
  return binaryenPromise;
}

/**
 * The secondary memory Asyncify made (`'second-memory'`). The guarantee that the guest's memory
 * is never used for the unwind buffer rests on it existing: checked rather than taken from the
 * pass arguments.
 */
function secondaryMemory(module: BinaryenModule, pages: number): string {
  let unwindMemory: { initial: number; max?: number } | null = null;
  try {
    unwindMemory = module.getMemoryInfo(ASYNCIFY_MEMORY);
  } catch {
    // Binaryen throws a non-Error when the memory does not exist.
  }
  if (unwindMemory?.initial !== pages || unwindMemory.max !== pages) {
    throw new Error('the Asyncify pass did not create its secondary memory as configured');
  }
  return ASYNCIFY_MEMORY;
}

/**
 * The module's one memory (`'single-memory'`), by Binaryen's name: the renamed guest's, exported
 * as `m` or imported as `m`.`m`, or, for a module without memory, the one Asyncify added for its
 * buffer. Checked to be the only one and to hold at least the reserved pages.
 */
function onlyMemory(binaryen: Binaryen, module: BinaryenModule, reservedPages: number): string {
  const candidates: string[] = [];
  const exported = module.getExport(MEMORY_EXPORT);
  if (exported !== 0) {
    const info = binaryen.getExportInfo(exported);
    if (info.kind === binaryen.ExternalMemory) candidates.push(info.value);
  }
  candidates.push(IMPORTED_MEMORY, ASYNCIFY_MEMORY);
  const found: { name: string; initial: number; module: string | null; base: string | null }[] = [];
  for (const name of candidates) {
    try {
      found.push({ name, ...module.getMemoryInfo(name) });
    } catch {
      // Binaryen throws a non-Error when the memory does not exist.
    }
  }
  const memory = found[0];
  if (found.length !== 1 || memory === undefined || memory.initial < reservedPages) {
    throw new Error('the single-memory Asyncify module does not have exactly one memory holding the reserved pages');
  }
  if (memory.name === IMPORTED_MEMORY && (memory.module !== MEMORY_IMPORT_MODULE || memory.base !== MEMORY_IMPORT_NAME)) {
    throw new Error('the single-memory Asyncify module imports a memory under another name');
  }
  return memory.name;
}

/** Binaryen's name of an imported memory read from a binary. */
const IMPORTED_MEMORY = 'mimport$0';

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
  const single = options.asyncifyStack === 'single-memory';
  const reservedPages = single ? options.unwindBufferPages : 0;
  if ((options.guestRewrite?.memoryBase ?? 0) !== reservedPages) {
    throw new Error(`internal error: the memory shift (${options.guestRewrite?.memoryBase ?? 0} pages) does not match the ${options.asyncifyStack} buffer`);
  }
  const wantOffsets = options.guestOffsetDelta !== null;
  // The guest's code rewritten first (the memory shift among others), with what its user needs.
  let input = bytes;
  let inputMap: OffsetMap | null = null;
  let guestRewrite: Instrumented['guestRewrite'] = null;
  if (options.guestRewrite !== null) {
    onStep('rewrite');
    const rewritten: RewrittenCode = rewriteCode(bytes, { ...options.guestRewrite, offsetMap: wantOffsets });
    input = rewritten.bytes;
    inputMap = rewritten.offsetMap;
    guestRewrite = { functions: rewritten.functions, memory: rewritten.memory, fuel: rewritten.fuel, stack: rewritten.stack };
  }
  const F = binaryen.Features;
  // Single-memory output must stay valid on an engine without multi-memory: Binaryen is not allowed it.
  let features = F.MVP | (single ? 0 : F.MultiMemory);
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
  const module = readBinary(input, features);
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
    const annotated = options.guestOffsetDelta === null ? 0 : annotateGuestOffsets(binaryen, module, input, options.guestOffsetDelta, inputMap);
    // Level 0: Binaryen's default (2) makes the pass run its full optimisation pipeline on every
    // instrumented function, which takes minutes on a real runtime. The post passes below buy
    // back most of that run speed for a fraction of the time.
    binaryen.setOptimizeLevel(0);
    binaryen.setShrinkLevel(0);
    binaryen.setDebugInfo(false);
    // A module without memory: Asyncify's "secondary" memory is its only one, for the buffer
    // alone (the guest has no memory instruction), which is also what single-memory needs.
    if (!single || !module.hasMemory()) {
      binaryen.setPassArgument('asyncify-in-secondary-memory', '1');
      binaryen.setPassArgument('asyncify-secondary-memory-size', String(options.unwindBufferPages));
    }
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
    module.addMemoryExport(single ? onlyMemory(binaryen, module, reservedPages) : secondaryMemory(module, options.unwindBufferPages), UNWIND_MEMORY_EXPORT);
    const after = functionNames();
    const functionOrderPreserved = before.every((name, i) => after[i] === name);
    onStep('emit');
    let binary: Uint8Array;
    let offsetMap: OffsetMap | null = null;
    if (annotated === 0) {
      binary = module.emitBinary();
    } else {
      const emitted = module.emitBinary('guest.map');
      binary = withoutSourceMapUrl(emitted.binary);
      offsetMap = emitted.sourceMap === null ? null : offsetMapFromSourceMap(emitted.sourceMap);
    }
    if (single) {
      // Asyncify's own stores bounded to the reserved pages (unwind-guard.ts).
      onStep('unwind-guard');
      const guarded = rewriteCode(binary, { guardStoresBelow: reservedPages * PAGE_BYTES, offsetMap: offsetMap !== null });
      binary = guarded.bytes;
      if (offsetMap !== null) offsetMap = composeOffsetMaps(guarded.offsetMap!, offsetMap);
    }
    return { binary, functionOrderPreserved, offsetMap, guestRewrite };
  } finally {
    module.dispose();
    for (const key of PASS_ARGUMENTS) binaryen.setPassArgument(key, null);
    binaryen.setOptimizeLevel(previous.optimize);
    binaryen.setShrinkLevel(previous.shrink);
    binaryen.setDebugInfo(previous.debugInfo);
  }
}
