/**
 * From module bytes to {@link BaseComponents}: every check, the import resolution, the
 * transform and the compilation behind {@link VirtualMachinePrototype.create}.
 *
 * The order is chosen so that cheap refusals come first and the user's `symbols` callback is
 * only consulted for a module that is otherwise acceptable:
 *
 * 1. the engine validates the bytes (malformed input, text format);
 * 2. the feature scan refuses post-MVP features outside the configured set;
 * 3. the headers are read, and the module rules (smoldot's) are applied: no start function,
 *    only function and memory imports, at most one memory, reachable as `env`.`memory` or as
 *    the export `memory`;
 * 4. every function import is resolved, through `inlineImports` (answered in place) or
 *    `symbols` (pausing);
 * 5. imports and exports are renamed and the module is instrumented with Asyncify;
 * 6. the engine compiles the result.
 *
 * Every refusal is a {@link NewError} whose message names the offending import, export or
 * feature.
 *
 * **Layer `load/`** (this is its main file): bytes to base components. It owns the feature
 * scan (`features.ts`), the module facts (`module-facts.ts`) and this pipeline. It imports
 * `base/` and `transform/`.
 *
 * @module
 */

import { BinaryFormatError } from '../base/binary-reader.js';
import type { ResolvedConfig } from '../base/config.js';
import { NewError, type Refusal } from '../base/errors.js';
import { type FeatureSet, howToAllow } from '../base/feature-set.js';
import { type FeatureViolation, type ScanStatistics, scanFeatures } from './features.js';
import { loadChecksum, sha256Hex } from '../base/digest.js';
import { POST_PASSES, type Instrumented, transformId } from '../transform/transform-options.js';
import { transformOnThread } from '../transform/transform-thread.js';
import { type DebugSections, codeSectionStart, extractDebugSections, functionBodyStarts } from './debug-info.js';
import { ProgressReporter } from '../base/progress.js';
import type { ArtifactOptions, BaseComponents, DeclaredMemory, ExportInfo, ResolvedImport } from '../base/components.js';
import { compileInstrumented } from './compile.js';
import { type ModuleFacts, readModuleFacts } from './module-facts.js';
import { moduleRuleRefusals } from './module-rules.js';
import { resolveImports, signatureRefusals } from './resolve-imports.js';
import { FUNCTION_IMPORT_MODULE, functionImportName, globalExportName } from '../transform/abi.js';
import { renameImportsAndExports } from '../transform/rename.js';
import { describeThrown } from '../base/values.js';

/**
 * The deepest nesting of `block`/`loop`/`if` a module may have. Binaryen's Asyncify pass scans
 * nested code once per level, so its time grows with the square of the nesting: 5,000 levels
 * take about 20 s, 20,000 more than 5 minutes, a cheap way for a hostile module to stall a host.
 * Real runtimes nest far less (westend v9300: 97, Rococo: 247, Asset Hub: 150).
 */
export const MAX_NESTING = 1000;

/** Runs steps 1 to 4 of the module documentation, as the Asyncify backend does. */
export function checkModule(config: ResolvedConfig): { facts: ModuleFacts; imports: ResolvedImport[] } {
  const scan = validateModule(config);
  return inspectModule(config, scan.refusals);
}

/** What the validation found: the feature scan's measurements, and its refusals (reported with the module rules'). */
export interface Validation {
  readonly stats: ScanStatistics;
  readonly refusals: readonly Refusal[];
}

/**
 * Steps 1 and 2: the engine's validation (a module it refuses is refused at once, alone: nothing
 * else can be read of it) and the feature scan, whose refusals are returned, to be reported with
 * those of the module rules.
 */
export function validateModule(config: ResolvedConfig): Validation {
  const bytes = config.moduleBytes;
  if (!WebAssembly.validate(bytes)) refuseInvalid(looksLikeText(bytes), engineExplanation(bytes));
  return checkFeatures(config, true);
}

/**
 * {@link validateModule}, asking the engine why it refuses the bytes with an asynchronous
 * compilation: Chromium refuses a synchronous one of more than 8 MB on a page's main thread,
 * and would answer that instead of the reason.
 */
async function validateModuleAsync(config: ResolvedConfig): Promise<Validation> {
  const bytes = config.moduleBytes;
  if (!WebAssembly.validate(bytes)) refuseInvalid(looksLikeText(bytes), await engineExplanationAsync(bytes));
  return checkFeatures(config, true);
}

/**
 * Step 2, the feature scan, and with `limitNesting` the nesting bound the Asyncify transform
 * needs (the JSPI backend has no transform and no such bound). An encoding the feature set does
 * not allow is refused at once (the scan cannot go on).
 */
function checkFeatures(config: ResolvedConfig, limitNesting: boolean): Validation {
  const bytes = config.moduleBytes;
  let violations: FeatureViolation[];
  const stats: ScanStatistics = { maxNesting: 0, resetBlocker: null, referenceFunction: null };
  try {
    violations = scanFeatures(bytes, config.features, stats);
  } catch (e) {
    if (!(e instanceof BinaryFormatError)) throw e;
    throw new NewError('InvalidWasm', `the module is malformed for the '${config.features.name}' feature set: ${e.message}`, {
      cause: e,
    });
  }
  const refusals: Refusal[] = violations.map((v) => ({
    kind: 'InvalidWasm',
    message: featureViolationMessage(v, config.features),
    where: v.where,
    allowedBy: v.allowable === null ? null : howToAllow(v.allowable, config.features),
  }));
  if (limitNesting && stats.maxNesting > MAX_NESTING) {
    refusals.push({
      kind: 'InvalidWasm',
      message:
        `the module nests blocks ${stats.maxNesting} levels deep, more than the ${MAX_NESTING} the VM accepts: ` +
        "the Asyncify transform's time grows with the square of the nesting, and this module would take minutes",
      where: null,
      allowedBy: null,
    });
  }
  return { stats, refusals };
}

/**
 * The message of a refused feature: `the module uses bulk memory in function 25 (exported as
 * "f"): memory.copy (11 uses in 4 functions), which is outside the 'default' feature set
 * (allow it with ...)`.
 */
export function featureViolationMessage(v: FeatureViolation, allowed: FeatureSet): string {
  const count =
    v.uses === 1 ? '' : v.functions > 1 ? ` (${v.uses} uses in ${v.functions} functions)` : ` (${v.uses} uses)`;
  const allow = v.allowable === null ? '' : ` (allow it with ${howToAllow(v.allowable, allowed)})`;
  return `the module uses ${v.feature} in ${v.where}: ${v.what}${count}, which is outside the '${allowed.name}' feature set${allow}`;
}

/**
 * Steps 3 and 4: the headers, the module rules and the import resolution. `earlier` are the
 * refusals of the feature scan: with those of the module rules and of the import signatures,
 * they are thrown together, before any callback is asked about the imports.
 */
export function inspectModule(config: ResolvedConfig, earlier: readonly Refusal[] = []): { facts: ModuleFacts; imports: ResolvedImport[] } {
  return applyRulesAndResolve(readFacts(config.moduleBytes), config, earlier);
}

function readFacts(bytes: Uint8Array): ModuleFacts {
  try {
    return readModuleFacts(bytes);
  } catch (e) {
    throw new NewError('InvalidWasm', `could not read the module's headers: ${(e as Error).message}`, { cause: e });
  }
}

function applyRulesAndResolve(
  facts: ModuleFacts,
  config: ResolvedConfig,
  earlier: readonly Refusal[],
): { facts: ModuleFacts; imports: ResolvedImport[] } {
  const functionImports = facts.imports.flatMap((i) => (i.kind === 'function' ? [{ ...i, signature: i.signature! }] : []));
  const refusals = [
    ...earlier,
    ...moduleRuleRefusals(facts, {
      requireMemory: config.requireMemory,
      startFunction: config.startFunction,
      anyMemoryImport: config.anyMemoryImport,
    }),
    ...signatureRefusals(functionImports, config.floats),
  ];
  if (refusals.length > 0) throw NewError.of(refusals);
  return { facts, imports: resolveImports(functionImports, config) };
}

/** Refuses bytes the engine does not accept, with its explanation (or the text-format hint). */
function refuseInvalid(looksText: boolean, reason: string): never {
  if (looksText) {
    throw new NewError(
      'InvalidWasm',
      'the module is in the WebAssembly text format; compile it to the binary format first (e.g. with wabt)',
    );
  }
  throw new NewError('InvalidWasm', `not a valid WebAssembly module: ${reason}`);
}

/** Why the engine refuses `bytes`: only called for invalid input, so the compilation throws. */
function engineExplanation(bytes: Uint8Array<ArrayBuffer>): string {
  try {
    new WebAssembly.Module(bytes);
  } catch (e) {
    return describeThrown(e);
  }
  return 'the engine refused it';
}

/** {@link engineExplanation} through `WebAssembly.compile`, allowed on every thread for any size. */
function engineExplanationAsync(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return WebAssembly.compile(bytes).then(
    () => 'the engine refused it',
    (e: unknown) => describeThrown(e),
  );
}

function looksLikeText(bytes: Uint8Array): boolean {
  const head = new TextDecoder().decode(bytes.subarray(0, 256)).replace(/^\uFEFF/, '').trimStart();
  return head.startsWith('(') || head.startsWith(';;');
}

/**
 * The `asyncify-imports` list: the renamed pausing imports, or `null` when every import pauses
 * (Asyncify's default, and a shorter command line).
 */
function pausingImportPatterns(imports: readonly ResolvedImport[]): string[] | null {
  if (imports.every((i) => i.inline === null)) return null;
  const patterns: string[] = [];
  imports.forEach((imported, index) => {
    if (imported.inline === null) patterns.push(`${FUNCTION_IMPORT_MODULE}.${functionImportName(index)}`);
  });
  return patterns;
}

/** Export facts by original name, in the shape the live instance needs. */
export function exportTable(facts: ModuleFacts): Map<string, ExportInfo> {
  const table = new Map<string, ExportInfo>();
  facts.exports.forEach((e, position) => {
    const info: ExportInfo =
      e.kind === 'function'
        ? { position, kind: e.kind, signature: facts.functions[e.index]! }
        : e.kind === 'global'
          ? { position, kind: e.kind, global: facts.globals[e.index]! }
          : { position, kind: e.kind };
    table.set(e.name, info);
  });
  return table;
}

/** Internal tuning knobs, for benchmarks and experiments; not part of the public API. */
export interface LoadTuning {
  /** Binaryen passes to run after Asyncify instead of {@link POST_PASSES}. */
  readonly postPasses?: readonly string[];
}

/**
 * The memory the instance will have: the module's, with its maximum lowered to
 * `maxMemoryPages` if that is given and lower. Throws {@link NewError}
 * (`CouldntAllocateMemory`) if the module needs more pages to start with than the cap allows.
 */
export function effectiveMemory(
  declared: DeclaredMemory | null,
  maxMemoryPages: number | null,
): DeclaredMemory | null {
  if (declared === null || maxMemoryPages === null) return declared;
  const { initial, maximum } = declared.limits;
  if (initial > maxMemoryPages) {
    throw new NewError(
      'CouldntAllocateMemory',
      `the module's memory starts with ${initial} pages, more than maxMemoryPages (${maxMemoryPages})`,
    );
  }
  return { imported: declared.imported, limits: { initial, maximum: Math.min(maximum ?? maxMemoryPages, maxMemoryPages) } };
}

/** The options an artifact of a module created with `config` records. */
export function artifactOptions(config: ResolvedConfig, postPasses: readonly string[] = POST_PASSES): ArtifactOptions {
  return {
    features: config.features.name,
    floats: config.floats,
    requireMemory: config.requireMemory,
    startFunction: config.startFunction,
    anyMemoryImport: config.anyMemoryImport,
    unwindBufferPages: config.unwindBufferPages,
    maxMemoryPages: config.maxMemoryPages,
    transform: transformId(postPasses),
  };
}

/**
 * The whole pipeline: steps 1 to 6, reported to `progress`. `moduleSha256` is the module's
 * digest if the caller already computed it (the cache does).
 */
export async function loadModule(
  config: ResolvedConfig,
  progress: ProgressReporter = new ProgressReporter(null),
  tuning: LoadTuning = {},
  moduleSha256?: string,
): Promise<BaseComponents> {
  const validation = await progress.phase('validate', () => validateModuleAsync(config));
  const scan = validation.stats;
  const { facts, imports } = await progress.phase('inspect', () => inspectModule(config, validation.refusals));
  const memory = effectiveMemory(facts.memories[0] ?? null, config.maxMemoryPages);
  const postPasses = tuning.postPasses ?? POST_PASSES;

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
  // Offsets are mapped back to the guest's only for a module with DWARF line tables (see
  // transform/offset-map.ts): elsewhere a backtrace names functions only, and the transform
  // saves the time.
  const sections = extractDebugSections(config.moduleBytes);
  const guestOffsetDelta = sections.debugLine === null ? null : (sections.codeStart ?? 0) - (codeSectionStart(renamed) ?? 0);
  let transformed: Instrumented;
  try {
    // On a thread of its own (`transform/transform-thread.ts`): this one stays responsive.
    transformed = await transformOnThread(
      renamed,
      {
        features: config.features,
        unwindBufferPages: config.unwindBufferPages,
        pausingImports: pausingImportPatterns(imports),
        postPasses,
        guestOffsetDelta,
      },
      (step) => progress.step('transform', step),
    );
  } catch (e) {
    if (e instanceof NewError) throw e;
    if (scan.referenceFunction !== null) {
      // Binaryen's Asyncify stops with a fatal error on a reference in an instrumented frame.
      throw new NewError(
        'InvalidWasm',
        `the Asyncify transform failed: the module holds reference values (funcref/externref; first in function ` +
          `${scan.referenceFunction}), and Binaryen's Asyncify cannot save a reference in the frame of a function ` +
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
    backend: 'asyncify',
    renamed: true,
    module,
    imports,
    exports: exportTable(facts),
    memory,
    mutableGlobals: globals.map(globalExportName),
    resetBlocker: scan.resetBlocker,
    startFunction: facts.hasStart,
    floats: config.floats,
    reuseGrownMemory: config.reuseGrownMemory,
    backtrace: {
      sections,
      engineFunctions: functionBodyStarts(instrumented),
      functionCount: transformed.functionOrderPreserved ? facts.functions.length : 0,
      offsetDelta: null,
      offsetMap: transformed.offsetMap,
    },
    provenance: {
      moduleSha256: moduleSha256 ?? (await digest),
      moduleLength: config.moduleBytes.length,
      options: artifactOptions(config, postPasses),
      instrumented,
    },
  };
}

/**
 * The JSPI pipeline: the same checks and refusals as {@link loadModule}, in the same order, but
 * no transform. The engine compiles the guest's own bytes (which also validates them, so the
 * separate validation of the Asyncify path is not needed) on its background threads while the
 * feature scan runs here; then the module rules and the import resolution.
 *
 * Every read of the caller's bytes happens before the first `await`, so no private copy is
 * needed (the engine takes its own when compilation starts): on a 6 MB runtime a copy alone
 * costs as much as the compilation.
 *
 * The module keeps the guest's own import and export names unless they cannot serve (see
 * {@link needsRenaming}); then it is renamed as for Asyncify, which is a cheap binary edit.
 */
export async function loadUninstrumented(config: ResolvedConfig, progress: ProgressReporter): Promise<BaseComponents> {
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
  const renamed = facts !== null && needsRenaming(facts, cappedMaximum);
  const engineBytes = renamed
    ? renameImportsAndExports(bytes, {
        exportDefinedMemory: facts!.memories[0]?.imported === false,
        definedMemoryMaximum: facts!.memories[0]?.imported === false && config.maxMemoryPages !== null ? cappedMaximum : null,
        exportGlobals: mutableGlobalIndices(facts!),
        keepCustomSections: true,
        exportStartFunction: facts!.hasStart,
      })
    : bytes;
  // Renaming would hide two exports of one name (they become e0 and e1), which makes a module
  // invalid, and taking the start section out would hide a malformed or mistyped start
  // function: such modules are judged by the engine on the guest's own bytes. (The engine copies
  // the bytes when the compilation starts, before the first await.)
  if (renamed && (hasDuplicateExport(facts!) || (facts!.hasStart && !WebAssembly.validate(bytes)))) {
    refuseInvalid(looksLikeText(bytes), await engineExplanationAsync(bytes));
  }
  const compiling = WebAssembly.compile(engineBytes as Uint8Array<ArrayBuffer>).then(
    (module) => ({ module, error: null }),
    (error: unknown) => ({ module: null, error }),
  );
  let scanFailure: unknown = null;
  let scan: Validation | null = null;
  try {
    scan = checkFeatures(config, false);
  } catch (e) {
    scanFailure = e;
  }
  // Whether the bytes look like the text format is only needed for a refused module; the
  // answer is taken now, while the bytes are certainly the caller's.
  const text = looksLikeText(bytes);
  // What backtraces need of the guest's own bytes and of the engine's copy, read now too (the
  // engine may still refuse them: a malformed code section is reported after the compilation).
  let sections: DebugSections | null = null;
  let engineCodeStart: number | null = null;
  let engineFunctions: ReturnType<typeof functionBodyStarts> | null = null;
  try {
    sections = extractDebugSections(bytes);
    engineCodeStart = codeSectionStart(engineBytes);
    engineFunctions = functionBodyStarts(engineBytes);
  } catch {
    // See above: whatever is malformed here, the compilation reports.
  }
  const compiled = await compiling;
  if (compiled.module === null) refuseInvalid(text, describeThrown(compiled.error));
  if (scanFailure !== null) throw scanFailure;
  progress.end('validate');

  // The engine accepted the bytes, so their headers are readable (the engine's copy of them:
  // the caller's array may have changed since).
  if (facts === null) throw new NewError('InvalidWasm', "could not read the module's headers");
  const { imports } = await progress.phase('inspect', () => applyRulesAndResolve(facts, config, scan!.refusals));
  const memory = effectiveMemory(facts.memories[0] ?? null, config.maxMemoryPages);
  return {
    backend: 'jspi',
    renamed,
    module: compiled.module,
    imports,
    exports: exportTable(facts),
    memory,
    mutableGlobals: renamed
      ? mutableGlobalIndices(facts).map(globalExportName)
      : mutableGlobalIndices(facts).map((index) => facts.exports.find((e) => e.kind === 'global' && e.index === index)!.name),
    resetBlocker: scan!.stats.resetBlocker,
    startFunction: facts.hasStart,
    floats: config.floats,
    reuseGrownMemory: config.reuseGrownMemory,
    backtrace: {
      sections: sections!,
      engineFunctions: engineFunctions!,
      functionCount: facts.functions.length,
      // Renaming rewrites the sections before the code, never the code itself.
      offsetDelta: (sections!.codeStart ?? 0) - (engineCodeStart ?? 0),
      offsetMap: null,
    },
    provenance: null,
  };
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

/** The indices of the module's mutable globals (the module rules leave no imported ones). */
function mutableGlobalIndices(facts: ModuleFacts): number[] {
  const indices: number[] = [];
  facts.globals.forEach((global, index) => {
    if (global.mutable) indices.push(index);
  });
  return indices;
}

function hasDuplicateExport(facts: ModuleFacts): boolean {
  return new Set(facts.exports.map((e) => e.name)).size !== facts.exports.length;
}

/**
 * Whether a module for the JSPI backend must get the synthetic names of `transform/abi.ts`
 * rather than keep its own: when it has a start function (run as a call, see
 * `VmConfig.startFunction`), when it imports the same name twice (an import object holds one
 * value per name, and the two imports may be resolved differently), when it has a mutable
 * global it does not export (a reset must be able to restore it), or when it defines a memory
 * the host could not reach by its own name (not exported as `memory`) or whose maximum
 * `maxMemoryPages` lowers (the memory section is rewritten).
 */
function needsRenaming(facts: ModuleFacts, cappedMaximum: number | null): boolean {
  // The start section is taken out, its function exported under a name of the ABI.
  if (facts.hasStart) return true;
  // A memory imported under another name than env.memory (`anyMemoryImport`) gets the ABI's.
  if (facts.imports.some((i) => i.kind === 'memory' && (i.module !== 'env' || i.name !== 'memory'))) return true;
  const exportedGlobals = new Set(facts.exports.filter((e) => e.kind === 'global').map((e) => e.index));
  if (mutableGlobalIndices(facts).some((index) => !exportedGlobals.has(index))) return true;
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
