/**
 * The catalogue of host functions this layer serves itself, and how each import of a runtime
 * is routed.
 *
 * A runtime imports a few dozen functions from the module `env`, each named
 * `ext_<area>_<name>_version_<n>`. Every import takes one of three routes:
 *
 * - **inline**: answered synchronously, in place, without pausing the call (the core's
 *   `inlineImports`). These are the functions whose answer needs nothing from outside and that a
 *   runtime calls thousands of times: the heap allocator, hashing, logging, panics.
 * - **storage**: the call pauses and the call's `StorageProvider` answers, possibly
 *   asynchronously (see `storage.ts`).
 * - **handler**: everything else (signatures, trie roots, storage writes, offchain functions,
 *   ...). The call pauses and the call's `onHostCall` handler answers; without one, the call
 *   fails with an error naming the function, *when the runtime calls it*: a runtime imports far
 *   more than any single entry point uses, so an unserved import is not refused up front.
 *
 * A built-in function imported with a different signature than the Substrate host interface
 * gives it is refused when the runtime is created: answering it would misread the arguments.
 *
 * @module
 */

import { type Signature, formatSignature } from '../base/values.js';
import { STORAGE_FUNCTIONS } from './storage.js';

/** How an import of a runtime is served. */
export type HostFunctionRoute = 'inline' | 'storage' | 'handler';

/** One function import of a runtime and how it is served. */
export interface RuntimeImport {
  readonly module: string;
  readonly name: string;
  readonly signature: Signature;
  readonly route: HostFunctionRoute;
}

const ps = 'i64' as const;
const i32 = 'i32' as const;
const sig = (params: Signature['params'], result: Signature['result']): Signature => ({ params, result });

/** The signature of every built-in host function, and its route. */
export const BUILTIN_HOST_FUNCTIONS: ReadonlyMap<string, { readonly signature: Signature; readonly route: 'inline' | 'storage' }> =
  new Map([
    ['ext_allocator_malloc_version_1', { signature: sig([i32], i32), route: 'inline' }],
    ['ext_allocator_free_version_1', { signature: sig([i32], null), route: 'inline' }],
    ['ext_logging_log_version_1', { signature: sig([i32, ps, ps], null), route: 'inline' }],
    ['ext_logging_max_level_version_1', { signature: sig([], i32), route: 'inline' }],
    ['ext_misc_print_utf8_version_1', { signature: sig([ps], null), route: 'inline' }],
    ['ext_misc_print_hex_version_1', { signature: sig([ps], null), route: 'inline' }],
    ['ext_misc_print_num_version_1', { signature: sig(['i64'], null), route: 'inline' }],
    ['ext_panic_handler_abort_on_panic_version_1', { signature: sig([ps], null), route: 'inline' }],
    ['ext_hashing_twox_64_version_1', { signature: sig([ps], i32), route: 'inline' }],
    ['ext_hashing_twox_128_version_1', { signature: sig([ps], i32), route: 'inline' }],
    ['ext_hashing_twox_256_version_1', { signature: sig([ps], i32), route: 'inline' }],
    ['ext_hashing_blake2_128_version_1', { signature: sig([ps], i32), route: 'inline' }],
    ['ext_hashing_blake2_256_version_1', { signature: sig([ps], i32), route: 'inline' }],
    ['ext_hashing_keccak_256_version_1', { signature: sig([ps], i32), route: 'inline' }],
    ['ext_hashing_keccak_512_version_1', { signature: sig([ps], i32), route: 'inline' }],
    ['ext_hashing_sha2_256_version_1', { signature: sig([ps], i32), route: 'inline' }],
    ['ext_storage_get_version_1', { signature: sig([ps], ps), route: 'storage' }],
    ['ext_storage_read_version_1', { signature: sig([ps, ps, i32], ps), route: 'storage' }],
    ['ext_storage_exists_version_1', { signature: sig([ps], i32), route: 'storage' }],
    ['ext_storage_next_key_version_1', { signature: sig([ps], ps), route: 'storage' }],
    ['ext_default_child_storage_get_version_1', { signature: sig([ps, ps], ps), route: 'storage' }],
    ['ext_default_child_storage_read_version_1', { signature: sig([ps, ps, ps, i32], ps), route: 'storage' }],
    ['ext_default_child_storage_exists_version_1', { signature: sig([ps, ps], i32), route: 'storage' }],
    ['ext_default_child_storage_next_key_version_1', { signature: sig([ps, ps], ps), route: 'storage' }],
  ]);

// Every storage function must be in both tables.
for (const name of STORAGE_FUNCTIONS.keys()) {
  if (BUILTIN_HOST_FUNCTIONS.get(name)?.route !== 'storage') throw new Error(`${name} is missing from the catalogue`);
}

/**
 * The route of the import `module`.`name` with `signature`. Throws an `Error` (which the core
 * reports as `NewError('UnresolvedFunctionImport')`) for a built-in function imported with the
 * wrong signature.
 */
export function routeImport(module: string, name: string, signature: Signature): HostFunctionRoute {
  const builtin = module === 'env' ? BUILTIN_HOST_FUNCTIONS.get(name) : undefined;
  if (builtin === undefined) return 'handler';
  if (!sameSignature(builtin.signature, signature)) {
    throw new Error(
      `the runtime imports ${name} as ${formatSignature(signature)}, but the Substrate host interface defines it as ${formatSignature(builtin.signature)}`,
    );
  }
  return builtin.route;
}

function sameSignature(a: Signature, b: Signature): boolean {
  return a.result === b.result && a.params.length === b.params.length && a.params.every((p, i) => p === b.params[i]);
}
