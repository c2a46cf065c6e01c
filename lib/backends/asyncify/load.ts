/**
 * How the Asyncify backend makes base components: the transform (on its own thread), the
 * artifact cache in front of it, and artifacts.
 *
 * `create()` with a `cache` looks the module up first: a hit is rebuilt from its artifact
 * without the transform (and without loading Binaryen); a stale or damaged entry is a miss;
 * a miss runs the transform and stores the new artifact (or, with `fromCacheOnly`, gives up:
 * `'auto'`'s plan on an engine whose JSPI is slow, see `backends/list.ts`). A failing store never
 * fails `create()` (see `artifact/cache.ts`).
 *
 * @module
 */

import { artifactCacheKey } from '../../artifact/cache-key.js';
import { artifactOf, componentsFromArtifact } from '../../artifact/loader.js';

export { artifactOf };
import type { BaseComponents, FunctionIndexShift, MeteringFacts, ResolvedImport } from '../../base/components.js';
import type { ResolvedConfig } from '../../base/config.js';
import { loadChecksum, sha256Hex } from '../../base/digest.js';
import { ArtifactError, NewError } from '../../base/errors.js';
import type { ProgressReporter } from '../../base/progress.js';
import type { AsyncifyStack } from '../../base/engine.js';
import { describeThrown } from '../../base/values.js';
import { compileInstrumented } from '../../load/compile.js';
import { codeSectionStart, extractDebugSections, functionBodyStarts } from '../../load/debug-info.js';
import {
  type LoadTuning,
  artifactOptions,
  effectiveMemory,
  inspectModule,
  mutableGlobalIndices,
  sharedComponents,
  validateModuleAsync,
} from '../../load/load-module.js';
import { FUEL_IMPORT, FUNCTION_IMPORT_MODULE, functionImportName, globalExportName } from '../../transform/abi.js';
import { boundsRewriteOptions } from '../../load/bounds-options.js';
import { renameImportsAndExports } from '../../transform/rename.js';
import { MAX_TOTAL_PAGES } from '../../transform/memory-shift.js';
import { type InstrumentOptions, POST_PASSES, type Instrumented, reservedPagesOf } from '../../transform/transform-options.js';
import { transformOnThread } from '../../transform/transform-thread.js';
import { resolveAsyncifyStack } from './stack-placement.js';

/**
 * Base components for `config`, handed to `instantiate` (see the module documentation): a new
 * artifact is stored only once its module has been instantiated. The transform and the cache
 * await before they are done with the bytes: `config`'s must be private (the backend copies
 * them before it imports this module), so that the caller may reuse its array meanwhile.
 */
export async function loadAsyncify<T>(
  config: ResolvedConfig,
  progress: ProgressReporter,
  tuning: LoadTuning,
  instantiate: (components: BaseComponents) => Promise<T>,
): Promise<T | null> {
  // Refused before any other work where the engine cannot keep the stack as asked.
  const stack = resolveAsyncifyStack(config.asyncifyStack);
  const cache = config.cache;
  if (cache === null) return tuning.fromCacheOnly === true ? null : instantiate(await loadInstrumented(config, stack, progress, tuning));

  await progress.start('cache-lookup');
  const moduleSha256 = await sha256Hex(config.moduleBytes);
  const key = artifactCacheKey(moduleSha256, artifactOptions(config, stack, tuning.postPasses));
  let stored: Uint8Array | null | undefined = null;
  let lookupError: unknown;
  try {
    stored = await cache.get(key);
  } catch (e) {
    lookupError = e;
  }
  progress.end('cache-lookup', { cacheHit: stored != null, ...(lookupError === undefined ? {} : { error: lookupError }) });
  if (stored != null) {
    try {
      return await instantiate(await componentsFromArtifact(stored, config, progress, moduleSha256));
    } catch (e) {
      // A stale or damaged entry is a miss: build anew and replace it. A refusal by the
      // config (an unresolved import) is the same refusal create() would give.
      if (!(e instanceof ArtifactError)) throw e;
    }
  }

  if (tuning.fromCacheOnly === true) return null;
  const components = await loadInstrumented(config, stack, progress, tuning, moduleSha256);
  const instantiated = await instantiate(components);
  await progress.start('cache-store');
  let storeError: unknown;
  try {
    await cache.set(key, artifactOf(components));
  } catch (e) {
    storeError = e;
  }
  progress.end('cache-store', storeError === undefined ? {} : { error: storeError });
  return instantiated;
}

/**
 * Base components from an artifact made by `toArtifact()` (see `artifact/loader.ts`); the
 * artifact and `config`'s bytes are private copies. An explicit `asyncifyStack` this engine
 * cannot run is refused first, as by `create()`; the artifact's own placement is checked by the
 * loader.
 */
export function loadAsyncifyArtifact(artifact: Uint8Array, config: ResolvedConfig, progress: ProgressReporter): Promise<BaseComponents> {
  resolveAsyncifyStack(config.asyncifyStack);
  return componentsFromArtifact(artifact, config, progress);
}

/**
 * The code rewrites the Asyncify pipeline applies to the guest's renamed code before Binaryen
 * (`InstrumentOptions.guestRewrite`, run on the transform's thread), from the resolved config
 * and placement: the memory shift of `'single-memory'`, which reserves the buffer's pages below
 * the guest's memory; `null` when there is none. The bounds rewrite (fuel, the stack limit,
 * canonical NaNs) runs before, on this thread ({@link boundsRewrite}): it adds no code that
 * touches memory, and the shift adds no function, so the two compose.
 */
export function guestRewriteOptions(config: ResolvedConfig, stack: AsyncifyStack): InstrumentOptions['guestRewrite'] {
  const memoryBase = reservedPagesOf(stack, config.unwindBufferPages);
  const options: NonNullable<InstrumentOptions['guestRewrite']> = { ...(memoryBase > 0 ? { memoryBase } : {}) };
  return Object.keys(options).length === 0 ? null : options;
}

/**
 * The `asyncify-imports` list: the renamed pausing imports, or `null` when every import pauses
 * (Asyncify's default, and a shorter command line). `metering`: the code rewrite's imports,
 * of which the fuel import pauses (it is how a call runs out of fuel) and the stack-limit
 * import does not (it throws: instrumenting its callers for it would only cost).
 */
function pausingImportPatterns(imports: readonly ResolvedImport[], metering: MeteringFacts | null): string[] | null {
  if (imports.every((i) => i.inline === null) && metering?.stack == null) return null;
  const patterns: string[] = [];
  imports.forEach((imported, index) => {
    if (imported.inline === null) patterns.push(`${FUNCTION_IMPORT_MODULE}.${functionImportName(index)}`);
  });
  if (metering?.fuel != null) patterns.push(`${FUEL_IMPORT.module}.${FUEL_IMPORT.name}`);
  return patterns;
}

/**
 * The bounds rewrite (fuel, the stack limit, canonical NaNs: `load/bounds-rewrite.ts`) of the
 * renamed module, before Binaryen sees it, or `null` when the config asks for none.
 */
async function boundsRewrite(config: ResolvedConfig, renamed: Uint8Array): Promise<BoundsRewrite | null> {
  const options = boundsRewriteOptions(config);
  if (options === null) return null;
  const { functionShiftOf, meteringOf, rewriteForVm } = await import('../../load/bounds-rewrite.js');
  const rewritten = rewriteForVm(renamed, options);
  return { bytes: rewritten.bytes, metering: meteringOf(rewritten), functionShift: functionShiftOf(rewritten) };
}

/** What {@link boundsRewrite} gives the pipeline. */
interface BoundsRewrite {
  readonly bytes: Uint8Array;
  readonly metering: MeteringFacts | null;
  readonly functionShift: FunctionIndexShift | null;
}

/**
 * The transform pipeline: steps 1 to 4 of `load/load-module.ts`, the renaming, the bounds
 * rewrite, the memory shift and Binaryen's Asyncify on the transform's thread
 * (`transform/instrument.ts`, with the stack placed as `stack` says), the compilation; reported
 * to `progress`. `moduleSha256`
 * is the module's digest if the caller already computed it (the cache does).
 */
async function loadInstrumented(
  config: ResolvedConfig,
  stack: AsyncifyStack,
  progress: ProgressReporter,
  tuning: LoadTuning,
  moduleSha256?: string,
): Promise<BaseComponents> {
  const validation = await progress.phase('validate', () => validateModuleAsync(config));
  const scan = validation.stats;
  const { facts, imports } = await progress.phase('inspect', () => inspectModule(config, validation.refusals));
  const memory = effectiveMemory(facts.memories[0] ?? null, config.maxMemoryPages);
  const postPasses = tuning.postPasses ?? POST_PASSES;
  const reservedPages = reservedPagesOf(stack, config.unwindBufferPages);
  if (memory !== null && memory.limits.initial + reservedPages > MAX_TOTAL_PAGES) {
    throw new NewError(
      'CouldntAllocateMemory',
      `the module's memory starts with ${memory.limits.initial} pages: with the ${reservedPages} pages reserved below it ` +
        `for the paused stack (asyncifyStack 'single-memory') it would pass the ${MAX_TOTAL_PAGES} pages a memory may have ` +
        "here; lower unwindBufferPages, or use asyncifyStack 'second-memory' where the engine has multi-memory",
    );
  }

  await progress.start('transform');
  // Both are needed for artifacts; they run while Binaryen loads.
  const digest = sha256Hex(config.moduleBytes);
  const checksumLoaded = loadChecksum();
  const definesMemory = memory !== null && !memory.imported;
  const globals = mutableGlobalIndices(facts);
  const renamed = renameImportsAndExports(config.moduleBytes, {
    exportDefinedMemory: definesMemory,
    definedMemoryMaximum: definesMemory && config.maxMemoryPages !== null ? memory.limits.maximum : null,
    exportGlobals: globals,
    declarativeSegmentsLast: config.features.referenceTypes,
    exportStartFunction: facts.hasStart,
  });
  const bounds = await boundsRewrite(config, renamed);
  // Offsets are mapped back to the guest's only for a module with DWARF line tables (see
  // transform/offset-map.ts): elsewhere a backtrace names functions only, and the transform
  // saves the time. (Not through the bounds rewrite, whose added code the map's matching of
  // instructions does not follow: frames are then named, without offsets.)
  const sections = extractDebugSections(config.moduleBytes);
  const guestOffsetDelta =
    sections.debugLine === null || bounds !== null ? null : (sections.codeStart ?? 0) - (codeSectionStart(renamed) ?? 0);
  let transformed: Instrumented;
  try {
    // On a thread of its own (`transform/transform-thread.ts`): this one stays responsive.
    transformed = await transformOnThread(
      bounds?.bytes ?? renamed,
      {
        features: config.features,
        unwindBufferPages: config.unwindBufferPages,
        asyncifyStack: stack,
        guestRewrite: guestRewriteOptions(config, stack),
        pausingImports: pausingImportPatterns(imports, bounds?.metering ?? null),
        postPasses,
        guestOffsetDelta,
      },
      (step) => progress.step('transform', step),
    );
  } catch (e) {
    if (e instanceof NewError) throw e;
    // A reference in a function's code, or in a function's parameters (with fuel or the stack
    // limit, more functions may pause, and a parameter is a local Asyncify must save).
    const holder = scan.referenceFunction ?? (bounds === null ? null : firstReferenceParams(facts.functions));
    if (holder !== null) {
      // Binaryen's Asyncify stops with a fatal error on a reference in an instrumented frame.
      throw new NewError(
        'InvalidWasm',
        `the Asyncify transform failed: the module holds reference values (funcref/externref; first in function ` +
          `${holder}), and Binaryen's Asyncify cannot save a reference in the frame of a function ` +
          'that may pause (binaryen#3739). Use backend \'jspi\', which has no such limit, or answer inline the ' +
          'imports that such functions reach',
        { cause: e },
      );
    }
    throw new NewError('InvalidWasm', `the Asyncify transform failed: ${describeThrown(e)}`, { cause: e });
  }
  progress.end('transform');
  const instrumented = transformed.binary;

  const module = await progress.phase('compile', () => compileInstrumented(instrumented));
  await checksumLoaded;
  return {
    ...sharedComponents(facts, imports, scan, config),
    renamed: true,
    module,
    reservedPages,
    asyncifyStack: stack,
    mutableGlobals: globals.map(globalExportName),
    backtrace: {
      sections,
      engineFunctions: functionBodyStarts(instrumented),
      functionCount: transformed.functionOrderPreserved ? facts.functions.length : 0,
      offsetDelta: null,
      offsetMap: transformed.offsetMap,
      functionShift: bounds?.functionShift ?? null,
    },
    metering: bounds?.metering ?? null,
    provenance: {
      moduleSha256: moduleSha256 ?? (await digest),
      moduleLength: config.moduleBytes.length,
      options: artifactOptions(config, stack, postPasses),
      instrumented,
    },
  };
}

/** The first function whose parameters include a reference (funcref, externref), or `null`. */
function firstReferenceParams(functions: readonly { readonly params: readonly string[] }[]): number | null {
  const index = functions.findIndex((f) => f.params.some((p) => p === 'funcref' || p === 'externref'));
  return index < 0 ? null : index;
}
