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
import { NewError } from '../base/errors.js';
import { featureSet } from '../base/feature-set.js';
import { type ScanStatistics, findUnsupportedFeature } from './features.js';
import { loadChecksum, sha256Hex } from '../base/digest.js';
import { POST_PASSES, instrument, transformId } from '../transform/instrument.js';
import { ProgressReporter } from '../base/progress.js';
import type { ArtifactOptions, BaseComponents, DeclaredMemory, ExportInfo, ResolvedImport } from '../base/components.js';
import { compileInstrumented } from './compile.js';
import { type ModuleFacts, readModuleFacts } from './module-facts.js';
import { applyModuleRules } from './module-rules.js';
import { resolveImports } from './resolve-imports.js';
import { FUNCTION_IMPORT_MODULE, functionImportName } from '../transform/abi.js';
import { renameImportsAndExports } from '../transform/rename.js';
import { describeThrown } from '../base/values.js';

/**
 * The deepest nesting of `block`/`loop`/`if` a module may have. Binaryen's Asyncify pass scans
 * nested code once per level, so its time grows with the square of the nesting: 5,000 levels
 * take about 20 s, 20,000 more than 5 minutes, a cheap way for a hostile module to stall a host.
 * Real runtimes nest far less (westend v9300: 97, Rococo: 247, Asset Hub: 150).
 */
export const MAX_NESTING = 1000;

/** Runs steps 1 to 4 of the module documentation. */
export function checkModule(config: ResolvedConfig): { facts: ModuleFacts; imports: ResolvedImport[] } {
  validateModule(config);
  return inspectModule(config);
}

/** Steps 1 and 2: the engine's validation and the feature scan. */
export function validateModule(config: ResolvedConfig): void {
  const bytes = config.moduleBytes;
  validateEncoding(bytes);

  let violation;
  const stats: ScanStatistics = { maxNesting: 0 };
  try {
    violation = findUnsupportedFeature(bytes, featureSet(config.features), stats);
  } catch (e) {
    if (!(e instanceof BinaryFormatError)) throw e;
    throw new NewError('InvalidWasm', `the module is malformed for the '${config.features}' feature set: ${e.message}`, {
      cause: e,
    });
  }
  if (violation !== null) {
    throw new NewError(
      'InvalidWasm',
      `the module uses ${violation.feature} in ${violation.where}, which is outside the ` +
        `'${config.features}' feature set`,
    );
  }
  if (stats.maxNesting > MAX_NESTING) {
    throw new NewError(
      'InvalidWasm',
      `the module nests blocks ${stats.maxNesting} levels deep, more than the ${MAX_NESTING} the VM accepts: ` +
        "the Asyncify transform's time grows with the square of the nesting, and this module would take minutes",
    );
  }
}

/** Steps 3 and 4: the headers, the module rules and the import resolution. */
export function inspectModule(config: ResolvedConfig): { facts: ModuleFacts; imports: ResolvedImport[] } {
  const bytes = config.moduleBytes;
  let facts: ModuleFacts;
  try {
    facts = readModuleFacts(bytes);
  } catch (e) {
    throw new NewError('InvalidWasm', `could not read the module's headers: ${(e as Error).message}`, { cause: e });
  }
  applyModuleRules(facts, config.requireMemory);
  const functionImports = facts.imports.flatMap((i) => (i.kind === 'function' ? [{ ...i, signature: i.signature! }] : []));
  return { facts, imports: resolveImports(functionImports, config) };
}

function validateEncoding(bytes: Uint8Array<ArrayBuffer>): void {
  if (WebAssembly.validate(bytes)) return;
  if (looksLikeText(bytes)) {
    throw new NewError(
      'InvalidWasm',
      'the module is in the WebAssembly text format; compile it to the binary format first (e.g. with wabt)',
    );
  }
  let reason = 'the engine refused it';
  try {
    // Only reached for invalid input, to obtain the engine's explanation.
    new WebAssembly.Module(bytes);
  } catch (e) {
    reason = (e as Error).message;
  }
  throw new NewError('InvalidWasm', `not a valid WebAssembly module: ${reason}`);
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
    features: config.features,
    floats: config.floats,
    requireMemory: config.requireMemory,
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
  await progress.phase('validate', () => validateModule(config));
  const { facts, imports } = await progress.phase('inspect', () => inspectModule(config));
  const memory = effectiveMemory(facts.memories[0] ?? null, config.maxMemoryPages);
  const postPasses = tuning.postPasses ?? POST_PASSES;

  await progress.start('transform');
  // Both are needed for artifacts; they run while Binaryen loads.
  const digest = sha256Hex(config.moduleBytes);
  const checksumLoaded = loadChecksum();
  const definesMemory = memory !== null && !memory.imported;
  const renamed = renameImportsAndExports(config.moduleBytes, {
    exportDefinedMemory: definesMemory,
    definedMemoryMaximum: definesMemory && config.maxMemoryPages !== null ? memory.limits.maximum : null,
  });
  let instrumented: Uint8Array;
  try {
    instrumented = await instrument(renamed, {
      features: featureSet(config.features),
      unwindBufferPages: config.unwindBufferPages,
      pausingImports: pausingImportPatterns(imports),
      postPasses,
    });
  } catch (e) {
    throw new NewError('InvalidWasm', `the Asyncify transform failed: ${describeThrown(e)}`, { cause: e });
  }
  progress.end('transform');

  const module = await progress.phase('compile', () => compileInstrumented(instrumented));
  await checksumLoaded;
  return {
    module,
    imports,
    exports: exportTable(facts),
    memory,
    floats: config.floats,
    provenance: {
      moduleSha256: moduleSha256 ?? (await digest),
      moduleLength: config.moduleBytes.length,
      options: artifactOptions(config, postPasses),
      instrumented,
    },
  };
}
