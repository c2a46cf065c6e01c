/**
 * A cache of artifacts, so that the second `create()` of a module is served without the
 * transform.
 *
 * The store is a small get/set interface keyed by strings; this file has an in-memory store,
 * and `resumable-wasm/node` a file-system one. The key ({@link artifactCacheKey}) covers the
 * module's SHA-256, the options that shape the transform and the library version, so an entry
 * can only be found by a `create()` that would have produced the same artifact. The one thing
 * it cannot cover is the split between inline and pausing imports (known only after calling the
 * config's callbacks on the module's imports); the artifact records it, and an artifact made
 * with another split is treated as a miss and replaced.
 *
 * A store that fails (throws or rejects) never fails `create()`: a failed lookup is a miss and a
 * failed store is reported in the `cache-store` progress event.
 *
 * @module
 */

import { sha256 } from '@noble/hashes/sha2.js';
import type { ArtifactCache } from '../base/config.js';
import type { ArtifactOptions } from '../base/components.js';
import { toHex } from '../base/digest.js';
import { LIBRARY_VERSION } from '../base/version.js';

/** An {@link ArtifactCache} in memory, for one process (or one page). */
export class MemoryArtifactCache implements ArtifactCache {
  readonly #entries = new Map<string, Uint8Array>();

  get(key: string): Uint8Array | undefined {
    return this.#entries.get(key);
  }

  set(key: string, artifact: Uint8Array): void {
    this.#entries.set(key, artifact);
  }

  /** Number of stored artifacts. */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * The cache key of a module (by its SHA-256) built with `options`: 64 lowercase hexadecimal
 * characters, safe as a file name.
 */
export function artifactCacheKey(moduleSha256: string, options: ArtifactOptions): string {
  const identity = JSON.stringify({ library: LIBRARY_VERSION, module: moduleSha256, options });
  return toHex(sha256(new TextEncoder().encode(identity)));
}
