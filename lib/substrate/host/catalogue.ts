/**
 * The catalogue: every host function this layer serves, and how each import of a runtime is
 * routed.
 *
 * A runtime imports a few dozen functions from the module `env`, each named
 * `ext_<area>_<name>_version_<n>`. The functions are grouped by area, one file each in
 * `host/`:
 *
 * | area | file | serves |
 * |---|---|---|
 * | allocator | `allocator.ts` | `malloc`, `free` |
 * | hashing | `hashing.ts` | twox, blake2, keccak, sha2 |
 * | logging | `logging.ts` | `logging_*`, `misc_print_*`, `panic_handler_*` |
 * | storage | `storage.ts` (on `state-access.ts` and `state/overlay.ts`) | `ext_storage_*`: reads, writes, transactions, roots |
 * | child tries | `child-storage.ts` | `ext_default_child_storage_*` |
 * | cryptography | `crypto.ts` | signature checks, key recovery, batches |
 * | tries | `trie.ts` | `ext_trie_*_root`, `ext_trie_*_verify_proof` |
 * | offchain | `offchain.ts` | `ext_offchain_*` (index writes, the offchain host's questions) |
 * | misc | `misc.ts` | `ext_misc_runtime_version`, `ext_transaction_index_*` |
 *
 * Every import takes one of three routes, decided here when the runtime is created:
 *
 * - **inline**: answered synchronously, in place, without pausing the call (the core's
 *   `inlineImports`): everything that needs nothing from outside the host.
 * - **pausing**: the call pauses and the function's task runs, asking the call's providers
 *   (storage, offchain host, runtime version reader) and waiting for them if they answer with
 *   promises.
 * - **handler**: anything not in the catalogue (keystore functions, HTTP, a chain's own
 *   extensions): the call pauses and the call's `onHostCall` handler answers
 *   (see `host/delegated.ts`).
 *
 * A built-in function imported with a different signature than the Substrate host interface
 * gives it is refused when the runtime is created: answering it would misread the arguments.
 * The call loop (`runtime/call-loop.ts`) knows none of this: it runs whatever task the catalogue gives
 * for the import that paused.
 *
 * @module
 */

import { type Signature, formatSignature } from '../../base/values.js';
import { ALLOCATOR_HOST_FUNCTIONS } from './allocator.js';
import { CHILD_STORAGE_HOST_FUNCTIONS } from './child-storage.js';
import { CRYPTO_HOST_FUNCTIONS } from './crypto.js';
import type { HostFunction, HostFunctionTable } from './definition.js';
import { handlerFunction } from './delegated.js';
import { HASHING_HOST_FUNCTIONS } from './hashing.js';
import { LOGGING_HOST_FUNCTIONS } from './logging.js';
import { MISC_HOST_FUNCTIONS } from './misc.js';
import { OFFCHAIN_HOST_FUNCTIONS } from './offchain.js';
import { STORAGE_HOST_FUNCTIONS } from './storage.js';
import { TRIE_HOST_FUNCTIONS } from './trie.js';

/** How an import of a runtime is served. */
export type HostFunctionRoute = 'inline' | 'pausing' | 'handler';

/** One function import of a runtime and how it is served. */
export interface RuntimeImport {
  readonly module: string;
  readonly name: string;
  readonly signature: Signature;
  readonly route: HostFunctionRoute;
}

const AREAS: readonly HostFunctionTable[] = [
  ALLOCATOR_HOST_FUNCTIONS,
  HASHING_HOST_FUNCTIONS,
  LOGGING_HOST_FUNCTIONS,
  STORAGE_HOST_FUNCTIONS,
  CHILD_STORAGE_HOST_FUNCTIONS,
  CRYPTO_HOST_FUNCTIONS,
  TRIE_HOST_FUNCTIONS,
  OFFCHAIN_HOST_FUNCTIONS,
  MISC_HOST_FUNCTIONS,
];

const CATALOGUE = new Map<string, HostFunction>();
for (const area of AREAS) {
  for (const [name, fn] of Object.entries(area)) {
    if (CATALOGUE.has(name)) throw new Error(`${name} is served by two areas`);
    CATALOGUE.set(name, fn);
  }
}

/** The signature and route of every built-in host function, by name. */
export const BUILTIN_HOST_FUNCTIONS: ReadonlyMap<string, { readonly signature: Signature; readonly route: 'inline' | 'pausing' }> = new Map(
  [...CATALOGUE].map(([name, fn]) => [name, { signature: fn.signature, route: fn.route }]),
);

/**
 * How the import `module`.`name` with `signature` is served: the built-in function, or the
 * handler route. Throws an `Error` (which the core reports as
 * `NewError('UnresolvedFunctionImport')`) for a built-in function imported with the wrong
 * signature.
 */
export function resolveImport(module: string, name: string, signature: Signature): HostFunction {
  const builtin = module === 'env' ? CATALOGUE.get(name) : undefined;
  if (builtin === undefined) return handlerFunction(module, name, signature);
  if (!sameSignature(builtin.signature, signature)) {
    throw new Error(
      `the runtime imports ${name} as ${formatSignature(signature)}, but the Substrate host interface defines it as ${formatSignature(builtin.signature)}`,
    );
  }
  return builtin;
}

/** The route of the import `module`.`name` with `signature` (see {@link resolveImport}, which throws the same way). */
export function routeImport(module: string, name: string, signature: Signature): HostFunctionRoute {
  const builtin = module === 'env' ? CATALOGUE.get(name) : undefined;
  return builtin === undefined ? 'handler' : resolveImport(module, name, signature).route;
}

function sameSignature(a: Signature, b: Signature): boolean {
  return a.result === b.result && a.params.length === b.params.length && a.params.every((p, i) => p === b.params[i]);
}
