/**
 * From module bytes to a checked module: the steps every backend's loading pipeline is made of
 * (`backends/asyncify/load.ts`, `backends/jspi/load.ts`), and the fields of
 * {@link BaseComponents} they fill alike.
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
 * 5. the backend makes the module it runs (Asyncify: renamed and instrumented; JSPI: the guest's
 *    own, renamed only where its names cannot serve) and the engine compiles it.
 *
 * Every refusal is a {@link NewError} whose message names the offending import, export or
 * feature.
 *
 * **Layer `load/`** (this is its main file): bytes to a checked module. It owns the feature
 * scan (`features.ts`), the module facts (`module-facts.ts`), the module rules, import
 * resolution, debug information and these steps. It imports `base/` and `transform/`. A
 * backend assembles the steps into its pipeline; a new check goes here, for every backend.
 *
 * @module
 */

import { BinaryFormatError } from '../base/binary-reader.js';
import { POST_PASSES, transformId } from '../transform/transform-options.js';
import type { ResolvedConfig } from '../base/config.js';
import type { AsyncifyStack } from '../base/engine.js';
import { NewError, type Refusal } from '../base/errors.js';
import { type FeatureSet, howToAllow } from '../base/feature-set.js';
import { type FeatureViolation, type ScanStatistics, scanFeatures } from './features.js';
import type { ArtifactOptions, BaseComponents, DeclaredMemory, ExportInfo, ResolvedImport } from '../base/components.js';
import { type ModuleFacts, readModuleFacts } from './module-facts.js';
import { moduleRuleRefusals } from './module-rules.js';
import { resolveImports, signatureRefusals } from './resolve-imports.js';
import { describeThrown } from '../base/values.js';

/**
 * The deepest nesting of `block`/`loop`/`if` a module may have. Binaryen's Asyncify pass scans
 * nested code once per level, so its time grows with the square of the nesting: 5,000 levels
 * take about 20 s, 20,000 more than 5 minutes, a cheap way for a hostile module to stall a host.
 * Real runtimes nest far less (westend v9300: 97, Rococo: 247, Asset Hub: 150).
 */
export const MAX_NESTING = 1000;

/** Runs steps 1 to 4 synchronously, as the command line's `inspect` does. */
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
export async function validateModuleAsync(config: ResolvedConfig): Promise<Validation> {
  const bytes = config.moduleBytes;
  if (!WebAssembly.validate(bytes)) refuseInvalid(looksLikeText(bytes), await engineExplanationAsync(bytes));
  return checkFeatures(config, true);
}

/**
 * Step 2, the feature scan, and with `limitNesting` the nesting bound the Asyncify transform
 * needs (the JSPI backend has no transform and no such bound). An encoding the feature set does
 * not allow is refused at once (the scan cannot go on). `code`: the code was walked already and
 * uses only allowed instructions (the JSPI pipeline's code rewrite says so), with this reset
 * blocker: only the headers are scanned.
 */
export function checkFeatures(
  config: ResolvedConfig,
  limitNesting: boolean,
  code: { readonly resetBlocker: string | null } | null = null,
): Validation {
  const bytes = config.moduleBytes;
  let violations: FeatureViolation[];
  const stats: ScanStatistics = { maxNesting: 0, resetBlocker: code?.resetBlocker ?? null, referenceFunction: null };
  try {
    violations = scanFeatures(bytes, config.features, stats, { code: code === null });
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

export function readFacts(bytes: Uint8Array): ModuleFacts {
  try {
    return readModuleFacts(bytes);
  } catch (e) {
    throw new NewError('InvalidWasm', `could not read the module's headers: ${(e as Error).message}`, { cause: e });
  }
}

export function applyRulesAndResolve(
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
export function refuseInvalid(looksText: boolean, reason: string): never {
  if (looksText) {
    throw new NewError(
      'InvalidWasm',
      'the module is in the WebAssembly text format; compile it to the binary format first (e.g. with wabt)',
    );
  }
  throw new NewError('InvalidWasm', `not a valid WebAssembly module: ${reason}`);
}

/** Why the engine refuses `bytes`: only called for invalid input, so the compilation throws. */
export function engineExplanation(bytes: Uint8Array<ArrayBuffer>): string {
  try {
    new WebAssembly.Module(bytes);
  } catch (e) {
    return describeThrown(e);
  }
  return 'the engine refused it';
}

/** {@link engineExplanation} through `WebAssembly.compile`, allowed on every thread for any size. */
export function engineExplanationAsync(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return WebAssembly.compile(bytes).then(
    () => 'the engine refused it',
    (e: unknown) => describeThrown(e),
  );
}

export function looksLikeText(bytes: Uint8Array): boolean {
  const head = new TextDecoder().decode(bytes.subarray(0, 256)).replace(/^\uFEFF/, '').trimStart();
  return head.startsWith('(') || head.startsWith(';;');
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
  /**
   * Make the prototype only from an artifact already in the cache: `create` then resolves to
   * `null` instead of transforming (see `CreatePlan` in `backends/list.ts`).
   */
  readonly fromCacheOnly?: boolean;
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

/**
 * The options an artifact of a module created with `config` records, its paused stack kept as
 * `asyncifyStack` says (`config.asyncifyStack` resolved for the engine).
 */
export function artifactOptions(
  config: ResolvedConfig,
  asyncifyStack: AsyncifyStack,
  postPasses: readonly string[] = POST_PASSES,
): ArtifactOptions {
  return {
    features: config.features.name,
    floats: config.floats,
    requireMemory: config.requireMemory,
    startFunction: config.startFunction,
    anyMemoryImport: config.anyMemoryImport,
    unwindBufferPages: config.unwindBufferPages,
    asyncifyStack,
    maxMemoryPages: config.maxMemoryPages,
    fuel: config.fuel,
    maxStackHeight: config.maxStackHeight,
    canonicalizeNaNs: config.canonicalizeNaNs,
    transform: transformId(asyncifyStack, postPasses),
  };
}

/** The indices of the module's mutable globals (the module rules leave no imported ones). */
export function mutableGlobalIndices(facts: ModuleFacts): number[] {
  const indices: number[] = [];
  facts.globals.forEach((global, index) => {
    if (global.mutable) indices.push(index);
  });
  return indices;
}

/** The fields of {@link BaseComponents} every backend fills the same way, from the checks' results. */
export type SharedComponents = Pick<
  BaseComponents,
  'imports' | 'exports' | 'memory' | 'resetBlocker' | 'startFunction' | 'floats' | 'reuseGrownMemory'
>;

/** {@link SharedComponents} of a module that passed steps 1 to 4. */
export function sharedComponents(
  facts: ModuleFacts,
  imports: readonly ResolvedImport[],
  scan: ScanStatistics,
  config: ResolvedConfig,
): SharedComponents {
  return {
    imports,
    exports: exportTable(facts),
    memory: effectiveMemory(facts.memories[0] ?? null, config.maxMemoryPages),
    resetBlocker: scan.resetBlocker,
    startFunction: facts.hasStart,
    floats: config.floats,
    reuseGrownMemory: config.reuseGrownMemory,
  };
}
