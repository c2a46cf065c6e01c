/**
 * The real runtimes the harness mutates and truncates.
 *
 * - `westend`: `../shared/runtimes/westend-runtime-v9300.wasm` (6.3 MB raw), only present on
 *   machines with the shared test data; cases that need it are replaced by the other runtime
 *   when it is absent (and the summary says so).
 * - `assethub`: the Rococo Asset Hub genesis runtime (2.5 MB raw) from the npm package
 *   `@substrate/connect-known-chains`, available wherever the dev dependencies are installed.
 *
 * Both are stored zstd-compressed with Substrate's 8-byte prefix; `runtimeWasm` strips it.
 *
 * @module
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assetHubRuntime, runtimeWasm } from '../../spec/support/substrate-harness.js';
import { SHARED_DIR } from '../../spec/support/shared.js';

/** The names of the runtimes the harness knows. */
export type RuntimeName = 'westend' | 'assethub';

/** A runtime's raw wasm, by name; a missing runtime is absent from the map. */
export type Runtimes = ReadonlyMap<RuntimeName, Uint8Array>;

/** Where the Westend runtime lives in the shared test data. */
export const WESTEND_PATH = join(SHARED_DIR, 'runtimes', 'westend-runtime-v9300.wasm');

/** Loads the runtimes named in `wanted` that are available on this machine. */
export async function loadRuntimes(wanted: readonly RuntimeName[]): Promise<Runtimes> {
  const runtimes = new Map<RuntimeName, Uint8Array>();
  if (wanted.includes('westend') && existsSync(WESTEND_PATH)) {
    runtimes.set('westend', runtimeWasm(readFileSync(WESTEND_PATH)));
  }
  if (wanted.includes('assethub')) runtimes.set('assethub', await assetHubRuntime());
  return runtimes;
}
