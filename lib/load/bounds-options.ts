/**
 * What the config asks of the code rewrites for determinism and bounds (fuel, the stack limit,
 * canonical NaNs; see `bounds-rewrite.ts`, which applies them): small and free of the rewriter
 * itself, so that a pipeline can decide whether to load the rewriter at all.
 *
 * @module
 */

import type { ResolvedConfig } from '../base/config.js';
import { FUEL_EXPORT, FUEL_IMPORT, STACK_HEIGHT_EXPORT, STACK_LIMIT_IMPORT } from '../transform/abi.js';
import type { CodeRewriteOptions } from '../transform/code-rewrite.js';

/**
 * The rewriter's options for fuel, the stack limit and canonical NaNs as `config` asks for them,
 * or `null` when it asks for none (the module is then not rewritten for them).
 */
export function boundsRewriteOptions(config: ResolvedConfig): CodeRewriteOptions | null {
  if (!config.fuel && config.maxStackHeight === null && !config.canonicalizeNaNs) return null;
  return {
    fuel: config.fuel,
    maxStackHeight: config.maxStackHeight,
    canonicalizeNaNs: config.canonicalizeNaNs,
  };
}

/**
 * Whether a module that keeps its own names (JSPI) must be renamed before the rewrite with
 * `options`: the rewrite adds imports and exports under fixed names (`transform/abi.ts`), which
 * the guest's own may already take.
 */
export function rewriteNeedsRenaming(
  options: CodeRewriteOptions | null,
  imports: readonly { readonly module: string; readonly name: string }[],
  exports: readonly { readonly name: string }[],
): boolean {
  if (options === null) return false;
  const taken = (pair: { module: string; name: string }): boolean => imports.some((i) => i.module === pair.module && i.name === pair.name);
  const exported = (name: string): boolean => exports.some((e) => e.name === name);
  if (options.fuel === true && (taken(FUEL_IMPORT) || exported(FUEL_EXPORT))) return true;
  const stack = options.maxStackHeight !== null && options.maxStackHeight !== undefined;
  return stack && (taken(STACK_LIMIT_IMPORT) || exported(STACK_HEIGHT_EXPORT));
}
