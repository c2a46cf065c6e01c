/**
 * A cache of artifacts, so that the second `create()` of a module is served without the
 * transform. (The keys are `cache-key.ts`'s: only the Asyncify backend's loading, a chunk of
 * its own for bundlers, computes them.)
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

import type { ArtifactCache } from '../base/config.js';

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
