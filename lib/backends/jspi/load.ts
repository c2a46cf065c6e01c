/**
 * How the JSPI backend makes base components: the guest's own module, compiled as it is (or
 * renamed, a cheap binary edit, where its names cannot serve; or through the one-pass code
 * rewriter where fuel, the stack limit or canonical NaNs are asked for). No Asyncify transform,
 * no artifact, no cache: creation takes milliseconds.
 *
 * @module
 */

import type { BaseComponents } from '../../base/components.js';
import { type ResolvedConfig, withPrivateBytes } from '../../base/config.js';
import { boundsRewriteOptions, rewriteNeedsRenaming } from '../../load/bounds-options.js';
import type { CodeRewriteOptions, RewrittenCode } from '../../transform/code-rewrite.js';
import { NewError } from '../../base/errors.js';
import type { ProgressReporter } from '../../base/progress.js';
import { describeThrown } from '../../base/values.js';
import { type DebugSections, codeSectionStart, extractDebugSections, functionBodyStarts } from '../../load/debug-info.js';
import {
  type Validation,
  applyRulesAndResolve,
  checkFeatures,
  engineExplanationAsync,
  looksLikeText,
  mutableGlobalIndices,
  refuseInvalid,
  sharedComponents,
} from '../../load/load-module.js';
import { type ModuleFacts, readModuleFacts } from '../../load/module-facts.js';
import { globalExportName } from '../../transform/abi.js';
import { importNow } from '../../load/import-now.js';
import { skeletonValid } from '../../transform/module-skeleton.js';
import { renameImportsAndExports } from '../../transform/rename.js';

/**
 * The JSPI pipeline: the same checks and refusals as the Asyncify backend's, in the same order,
 * but no transform. The engine compiles the guest's own bytes (which also validates them, so the
 * separate validation of the Asyncify path is not needed) on its background threads while the
 * feature scan runs here; then the module rules and the import resolution. With fuel, the stack
 * limit or canonical NaNs it compiles the bounds rewrite of them instead, and validates the
 * guest's skeleton (all but the code) first: the rewrite keeps an invalid module invalid.
 *
 * Every read of the caller's bytes happens before the first `await`, so no private copy is
 * needed (the engine takes its own when compilation starts): on a 6 MB runtime a copy alone
 * costs as much as the compilation. The exceptions: the bounds rewrite's module loaded with
 * `import()` (where it cannot be loaded at once, see `load/import-now.ts`), after which the
 * bytes are read from a private copy; and the engine's explanation of a module whose rewrite it
 * refuses, read from the guest's bytes as they are then (only the message depends on them).
 *
 * The module keeps the guest's own import and export names unless they cannot serve (see
 * {@link needsRenamingBesidesGlobals} and {@link unexportedMutableGlobals}); then it is renamed as
 * for Asyncify, which is a cheap binary edit, unless the bounds rewrite can export the mutable
 * globals itself.
 */
export async function loadJspi(config: ResolvedConfig, progress: ProgressReporter): Promise<BaseComponents> {
  const boundsOptions = boundsRewriteOptions(config);
  if (boundsOptions === null) return loadJspiWith(config, progress, null);
  // The rewriter is loaded lazily (a chunk of its own), once: at once where the platform can
  // (Node.js), else with an await, after which the bytes are read from a private copy.
  loadedRewriter ??= importNow<typeof import('../../load/bounds-rewrite.js')>(import.meta.url, '../../load/bounds-rewrite.js');
  if (loadedRewriter !== null) return loadJspiWith(config, progress, { options: boundsOptions, rewriter: loadedRewriter });
  const privateConfig = withPrivateBytes(config);
  loadedRewriter = await import('../../load/bounds-rewrite.js');
  return loadJspiWith(privateConfig, progress, { options: boundsOptions, rewriter: loadedRewriter });
}

/** The bounds rewrite's module, once loaded (see {@link loadJspi}). */
let loadedRewriter: typeof import('../../load/bounds-rewrite.js') | null = null;

/** The bounds rewrite (`load/bounds-rewrite.ts`) a JSPI pipeline applies: its options and the lazily loaded rewriter. */
interface JspiRewrite {
  readonly options: CodeRewriteOptions;
  readonly rewriter: typeof import('../../load/bounds-rewrite.js');
}

/** {@link loadJspi}, with the bounds rewrite `rewrite` if there is one. */
async function loadJspiWith(config: ResolvedConfig, progress: ProgressReporter, rewrite: JspiRewrite | null): Promise<BaseComponents> {
  const bytes = config.moduleBytes;
  progress.announce('validate');
  // A module the engine refuses may not have readable headers: that is reported after the
  // compilation, with the engine's explanation.
  let facts: ModuleFacts | null = null;
  try {
    facts = readModuleFacts(bytes);
  } catch {
    // See above.
  }
  // The memory cap shapes the compiled module (a defined memory's maximum is rewritten); a
  // memory too large for the cap is refused later, in the same order as on Asyncify.
  const cappedMaximum = facts === null ? null : cappedMemoryMaximum(facts, config.maxMemoryPages);
  // The mutable globals the module does not export (a reset must restore them): with a rewrite,
  // the rewrite exports them itself where they are the only reason to rename, which spares a
  // renaming pass over the whole module (westend: a 6.3 MB copy).
  const unexported = facts === null ? [] : unexportedMutableGlobals(facts);
  const renamedAnyway =
    facts !== null && (needsRenamingBesidesGlobals(facts, cappedMaximum) || rewriteNeedsRenaming(rewrite?.options ?? null, facts.imports, facts.exports));
  const rewriteExports =
    rewrite !== null &&
    unexported.length > 0 &&
    !renamedAnyway &&
    !unexported.some((index) => facts!.exports.some((e) => e.name === globalExportName(index)));
  const renamed = facts !== null && !rewriteExports && (renamedAnyway || unexported.length > 0);
  // The engine is to compile other bytes than the guest's own (renamed, rewritten, or both), and
  // neither pass may make an invalid module valid: the renaming rebuilds only the sections its
  // skeleton holds (imports, exports, memory, start), and the rewrite keeps invalid code invalid
  // (`transform/code-rewrite.ts`). So the engine judges the guest's skeleton here (all but its
  // code: tens of kilobytes) and its code in the compiled module, rather than compiling the
  // guest's whole module as well (a copy of it on this thread, 20 ms for westend, and a second
  // validation on the engine's). A skeleton it refuses is explained by the guest's own bytes.
  // One exception: the renaming exports a start function, which declares it, and a `ref.func` of
  // an undeclared function is invalid: a renamed module with a start function is judged whole.
  const judgedWhole = renamed && facts!.hasStart;
  if ((renamed || rewrite !== null) && facts !== null && !(judgedWhole ? WebAssembly.validate(bytes) : skeletonValid(bytes))) {
    refuseInvalid(looksLikeText(bytes), await engineExplanationAsync(bytes));
  }
  const namedBytes = renamed
    ? renameImportsAndExports(bytes, {
        exportDefinedMemory: facts!.memories[0]?.imported === false,
        definedMemoryMaximum: facts!.memories[0]?.imported === false && config.maxMemoryPages !== null ? cappedMaximum : null,
        exportGlobals: mutableGlobalIndices(facts!),
        keepCustomSections: true,
        exportStartFunction: facts!.hasStart,
      })
    : bytes;
  // The bounds rewrite, on the bytes the engine would otherwise compile. Its failure waits for the
  // refusals that come first (the engine's, the feature scan's, the module rules'): the guest's
  // own bytes are then compiled, to be judged as without the rewrite.
  let rewritten: RewrittenCode | null = null;
  let rewriteFailure: unknown = null;
  let offsetMapDelta = 0;
  // What backtraces need of the guest's own bytes (the rewrite too: whether to make its offset
  // map), read now; the engine may still refuse them, a malformed module being reported after
  // the compilation.
  let sections: DebugSections | null = null;
  let sectionsFailure: unknown = null;
  try {
    sections = extractDebugSections(bytes);
  } catch (e) {
    sectionsFailure = e;
  }
  if (rewrite !== null && facts !== null) {
    try {
      if (sections === null) throw sectionsFailure;
      // The offset map only for a module with DWARF line tables, as on Asyncify (a few percent of the rewrite).
      rewritten = rewrite.rewriter.rewriteForVm(namedBytes, {
        ...rewrite.options,
        // Backtraces name frames from the guest's own name section (`sections`): the engine needs none.
        names: false,
        offsetMap: sections.debugLine !== null,
        ...(rewriteExports ? { exportGlobals: unexported } : {}),
      });
      offsetMapDelta = (sections.codeStart ?? 0) - (codeSectionStart(namedBytes) ?? 0);
    } catch (e) {
      rewriteFailure = e;
    }
  }
  const engineBytes = rewritten?.bytes ?? namedBytes;
  const compiling = compileOutcome(engineBytes);
  let scanFailure: unknown = null;
  let scan: Validation | null = null;
  try {
    // The rewrite walked every instruction: what it saw spares the scan the code, unless it must refuse.
    const walked = rewritten === null ? null : rewrite!.rewriter.codeWithin(rewritten, config.features);
    scan = checkFeatures(config, false, walked);
  } catch (e) {
    scanFailure = e;
  }
  // Whether the bytes look like the text format is only needed for a refused module; the
  // answer is taken now, while the bytes are certainly the caller's.
  const text = looksLikeText(bytes);
  // What backtraces need of the engine's copy, read now too (the engine may still refuse it: a
  // malformed code section is reported after the compilation).
  let engineCodeStart: number | null = null;
  let engineFunctions: ReturnType<typeof functionBodyStarts> | null = null;
  try {
    engineCodeStart = codeSectionStart(engineBytes);
    engineFunctions = functionBodyStarts(engineBytes);
  } catch {
    // See above: whatever is malformed here, the compilation reports.
  }
  const compiled = await compiling;
  if (compiled.module === null) {
    if (rewritten !== null) {
      // Either the guest's module is invalid (the rewrite kept it so) or the rewriter erred: the
      // guest's own bytes tell which, and explain the first. (This is the one read of the
      // caller's bytes after an await: were they changed meanwhile, only the message is affected.)
      const guest = await compileOutcome(namedBytes);
      if (guest.module !== null) {
        throw new NewError('InvalidWasm', `the rewritten module does not compile: ${describeThrown(compiled.error)}`, { cause: compiled.error });
      }
      refuseInvalid(text, describeThrown(guest.error));
    }
    refuseInvalid(text, describeThrown(compiled.error));
  }
  if (scanFailure !== null) throw scanFailure;
  progress.end('validate');

  // The engine accepted the bytes, so their headers are readable (the engine's copy of them:
  // the caller's array may have changed since).
  if (facts === null) throw new NewError('InvalidWasm', "could not read the module's headers");
  const { imports } = await progress.phase('inspect', () => applyRulesAndResolve(facts, config, scan!.refusals));
  if (rewriteFailure !== null) {
    if (rewriteFailure instanceof NewError) throw rewriteFailure;
    throw new NewError('InvalidWasm', `the code rewrite failed: ${describeThrown(rewriteFailure)}`, { cause: rewriteFailure });
  }
  return {
    ...sharedComponents(facts, imports, scan!.stats, config),
    renamed,
    module: compiled.module,
    // Renamed, every mutable global is exported under its synthetic name; else under the guest's
    // own, or the synthetic one the rewrite exported it under.
    mutableGlobals: renamed
      ? mutableGlobalIndices(facts).map(globalExportName)
      : mutableGlobalIndices(facts).map((index) => facts.exports.find((e) => e.kind === 'global' && e.index === index)?.name ?? globalExportName(index)),
    backtrace:
      rewritten === null
        ? {
            sections: sections!,
            engineFunctions: engineFunctions!,
            functionCount: facts.functions.length,
            // Renaming rewrites the sections before the code, never the code itself.
            offsetDelta: (sections!.codeStart ?? 0) - (engineCodeStart ?? 0),
            offsetMap: null,
            functionShift: null,
          }
        : {
            sections: sections!,
            engineFunctions: engineFunctions!,
            functionCount: facts.functions.length,
            // The code is rewritten: offsets map back through the rewrite's own map.
            offsetDelta: null,
            offsetMap: rewrite!.rewriter.offsetMapFor(rewritten.offsetMap, offsetMapDelta),
            functionShift: rewrite!.rewriter.functionShiftOf(rewritten),
          },
    metering: rewritten === null ? null : rewrite!.rewriter.meteringOf(rewritten),
    provenance: null,
    reservedPages: 0,
    asyncifyStack: null,
  };
}

/** The engine's compilation of `bytes`: the module, or the error it refused them with. */
function compileOutcome(bytes: Uint8Array): Promise<{ module: WebAssembly.Module; error: null } | { module: null; error: unknown }> {
  return WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>).then(
    (module) => ({ module, error: null }),
    (error: unknown) => ({ module: null, error }),
  );
}

/**
 * The maximum the module's memory will have under `maxMemoryPages` (as {@link effectiveMemory},
 * without refusing). A memory that starts larger than the cap keeps its own maximum here: it is
 * refused after the module rules, with `CouldntAllocateMemory` as on Asyncify, and a maximum
 * below the minimum would make the engine refuse to compile it first.
 */
function cappedMemoryMaximum(facts: ModuleFacts, maxMemoryPages: number | null): number | null {
  const limits = facts.memories[0]?.limits;
  const declared = limits?.maximum ?? null;
  if (maxMemoryPages === null || limits === undefined || limits.initial > maxMemoryPages) return declared;
  return Math.min(declared ?? maxMemoryPages, maxMemoryPages);
}

/**
 * Whether a module for the JSPI backend must get the synthetic names of `transform/abi.ts`
 * rather than keep its own, for another reason than {@link unexportedMutableGlobals}: when it has
 * a start function (run as a call, see `VmConfig.startFunction`), when it imports the same name
 * twice (an import object holds one value per name, and the two imports may be resolved
 * differently), or when it defines a memory the host could not reach by its own name (not
 * exported as `memory`) or whose maximum `maxMemoryPages` lowers (the memory section is
 * rewritten).
 */
function needsRenamingBesidesGlobals(facts: ModuleFacts, cappedMaximum: number | null): boolean {
  // The start section is taken out, its function exported under a name of the ABI.
  if (facts.hasStart) return true;
  // A memory imported under another name than env.memory (`anyMemoryImport`) gets the ABI's.
  if (facts.imports.some((i) => i.kind === 'memory' && (i.module !== 'env' || i.name !== 'memory'))) return true;
  const seen = new Set<string>();
  for (const imported of facts.imports) {
    const key = JSON.stringify([imported.module, imported.name]);
    if (seen.has(key)) return true;
    seen.add(key);
  }
  const declared = facts.memories[0];
  if (declared === undefined || declared.imported) return false;
  const exported = facts.exports.some((e) => e.name === 'memory' && e.kind === 'memory');
  return !exported || cappedMaximum !== declared.limits.maximum;
}

/**
 * The mutable globals (by index) the module does not export: a reset must be able to restore
 * them, so they must be exported, by the renaming or by the bounds rewrite (`exportGlobals`).
 */
function unexportedMutableGlobals(facts: ModuleFacts): number[] {
  const exportedGlobals = new Set(facts.exports.filter((e) => e.kind === 'global').map((e) => e.index));
  return mutableGlobalIndices(facts).filter((index) => !exportedGlobals.has(index));
}
