/**
 * The two hashes artifacts and the cache rely on.
 *
 * - **Identity: SHA-256.** An artifact and a cache entry name the module they were made from by
 *   its SHA-256. A cache may be shared by everything a light client downloads, so a module must
 *   not be able to pass for another one: a collision-resistant hash is required. The engine's own
 *   implementation (Web Crypto) is used where it exists; insecure browser contexts have none, so
 *   `@noble/hashes` is the fallback.
 * - **Integrity: xxHash64.** An artifact carries a checksum of all its bytes so that a truncated
 *   or bit-flipped file is refused instead of run. That only has to catch accidents (whoever can
 *   write the artifact store can forge anything; see the trust model in `docs/architecture.md`),
 *   and it runs over tens of megabytes on the cache's fast path, so it uses the fastest
 *   well-kept hash at hand. The hasher is loaded once, asynchronously, by whatever first needs it
 *   ({@link loadChecksum}); afterwards {@link checksum} is synchronous, which
 *   `VirtualMachinePrototype.toArtifact()` needs.
 *
 * @module
 */

import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/**
 * Node.js's own hashing, where the engine is Node.js (reached without an import, so that
 * bundles for browsers never see `node:crypto`): it hashes with the CPU's SHA instructions, 8 ms
 * for a 12 MB runtime where Web Crypto's `digest` took 62-68 ms on the same machine.
 */
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as
  | { createHash(algorithm: string): { update(data: Uint8Array): { digest(encoding: 'hex'): string } } }
  | undefined;

/** The lowercase hexadecimal SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  if (nodeCrypto !== undefined) return nodeCrypto.createHash('sha256').update(bytes).digest('hex');
  const subtle = globalThis.crypto?.subtle;
  const digest = subtle === undefined ? nobleSha256(bytes) : new Uint8Array(await subtle.digest('SHA-256', bytes));
  return toHex(digest);
}

/** Lowercase hexadecimal. */
export function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

let hasher: ((bytes: Uint8Array, seed?: bigint) => bigint) | null = null;
let loading: Promise<void> | null = null;

/**
 * Loads the checksum's hasher (a small WebAssembly module, in a chunk of its own for bundlers:
 * only artifacts need it, and a page that never makes or loads one never downloads it); later
 * calls return at once.
 */
export function loadChecksum(): Promise<void> {
  loading ??= import('xxhash-wasm')
    .then((m) => m.default())
    .then((h) => {
      hasher = h.h64Raw;
    });
  return loading;
}

/** The xxHash64 of `bytes`. {@link loadChecksum} must have completed. */
export function checksum(bytes: Uint8Array): bigint {
  if (hasher === null) throw new Error('internal error: checksum() before loadChecksum()');
  return hasher(bytes, 0n);
}
