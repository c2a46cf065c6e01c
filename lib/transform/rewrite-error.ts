/**
 * The refusal of the code rewriter (`code-rewrite.ts`): a module it cannot rewrite with the
 * options given (an initial memory too large to shift, a data segment whose offset is not a
 * constant, a function with too many locals to add scratch locals to, an instruction outside
 * the features it knows, a name the rewrite needs already taken by the guest). The VM reports it
 * as `NewError('InvalidWasm')`.
 *
 * @module
 */

/** See the module documentation. */
export class RewriteError extends Error {
  override readonly name = 'RewriteError';
}
