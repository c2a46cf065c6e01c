/**
 * The code rewrites for determinism and bounds, as a step of both backends' pipelines: fuel
 * (`VmConfig.fuel`), the logical stack limit (`VmConfig.maxStackHeight`) and canonical NaNs
 * (`VmConfig.canonicalizeNaNs`), all applied by the one-pass code rewriter
 * (`transform/code-rewrite.ts`) to the module a backend is about to compile (JSPI) or to hand to
 * Binaryen's Asyncify (Asyncify, whose pass then sees the fuel import as a pausing import and the
 * stack-limit import as an ordinary one).
 *
 * `bounds-options.ts`'s `boundsRewriteOptions` is the one place where the config becomes the
 * rewriter's options for these three; a pipeline that applies other rewrites too merges its
 * options with these and calls the rewriter once. {@link rewriteForVm} runs it and the other
 * functions here turn what the rewriter reports into what the VM keeps: the counters and imports
 * it added ({@link MeteringFacts}) and how the function index space moved (for backtraces).
 *
 * A page that never asks for these options never downloads the rewriter: the pipelines import
 * this file (and with it the rewriter) lazily, a chunk of its own for every bundler.
 *
 * @module
 */

import type { FunctionIndexShift, MeteringFacts, OffsetMap } from '../base/components.js';
import type { FeatureSet } from '../base/feature-set.js';
import { CODE_BULK_MEMORY, CODE_OTHER, CODE_SATURATING, CODE_SIGN_EXTENSION } from '../transform/code-pass.js';
import { NewError } from '../base/errors.js';
import { type CodeRewriteOptions, RewriteError, type RewrittenCode, rewriteCode } from '../transform/code-rewrite.js';

/**
 * Rewrites `bytes` (a module whose skeleton the engine accepts, `transform/module-skeleton.ts`) with
 * `options`. A module the rewriter cannot handle is `NewError('InvalidWasm')` naming why (an
 * invalid one among them: an index past the guest's own); anything else it throws (malformed
 * bytes) is passed on, for the caller to report with the engine's own reason.
 */
export function rewriteForVm(bytes: Uint8Array, options: CodeRewriteOptions): RewrittenCode {
  try {
    return rewriteCode(bytes, options);
  } catch (e) {
    if (e instanceof RewriteError) {
      throw new NewError('InvalidWasm', `the module cannot be rewritten for ${describeOptions(options)}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/** The counters and imports the rewrite added, or `null` if it added none (NaNs only). */
export function meteringOf(rewritten: RewrittenCode): MeteringFacts | null {
  const { fuel, stack } = rewritten;
  if (fuel === null && stack === null) return null;
  return {
    fuel: fuel === null ? null : { counterExport: fuel.counterExport, importIndex: fuel.importIndex },
    stack: stack === null ? null : { heightExport: stack.heightExport, importIndex: stack.importIndex, limit: stack.limit },
  };
}

/** How the rewrite moved the function index space, or `null` where nothing moved. */
export function functionShiftOf(rewritten: RewrittenCode): FunctionIndexShift | null {
  const shift = rewritten.functions;
  if (shift.addedImports === 0 && shift.functions === shift.guestFunctions) return null;
  return { ...shift };
}

function describeOptions(options: CodeRewriteOptions): string {
  const names: string[] = [];
  if (options.fuel === true) names.push('fuel');
  if (options.maxStackHeight !== null && options.maxStackHeight !== undefined) names.push('maxStackHeight');
  if (options.canonicalizeNaNs === true) names.push('canonicalizeNaNs');
  return names.join(', ');
}

/**
 * The rewrite's offset map with its guest offsets moved by `delta` (the guest's own code section
 * starts `delta` bytes after that of the bytes given to the rewriter, which renaming may have
 * shortened or lengthened); the rewrite's own instructions (`-1`) stay so.
 */
export function offsetMapFor(map: OffsetMap | null, delta: number): OffsetMap | null {
  if (map === null || delta === 0) return map;
  const guest = map.guest.slice();
  for (let i = 0; i < guest.length; i++) if (guest[i]! >= 0) guest[i]! += delta;
  return { engine: map.engine, guest };
}

/**
 * What the rewrite saw of the guest's instructions, if it is within `allowed` (the feature scan
 * may then skip the code: `load/features.ts`), else `null` (the code must be scanned, to refuse
 * the module precisely): the reset blocker among them (a `data.drop`), or `null` for none.
 */
export function codeWithin(rewritten: RewrittenCode, allowed: FeatureSet): { readonly resetBlocker: string | null } | null {
  const bits = rewritten.codeFeatures.bits;
  if ((bits & CODE_OTHER) !== 0) return null;
  if ((bits & CODE_SIGN_EXTENSION) !== 0 && !allowed.signExtension) return null;
  if ((bits & CODE_SATURATING) !== 0 && !allowed.saturatingFloatToInt) return null;
  if ((bits & CODE_BULK_MEMORY) !== 0 && !allowed.bulkMemory) return null;
  return { resetBlocker: rewritten.codeFeatures.dataDrop };
}
