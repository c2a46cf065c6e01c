/**
 * An artifact cache in the browser's IndexedDB, so that the second visit to a page skips the
 * transform: the browser's counterpart of `FileArtifactCache` (`resumable-wasm/node`).
 *
 * The same rules as the file cache. The key is the core's (`artifactCacheKey`: the module's
 * SHA-256, the options that shape the transform and the library version, as 64 hexadecimal
 * characters), so an entry is only ever found by a `create()` that would have made the same
 * artifact; anything else is refused as a key. Integrity is the artifact's own: `create()`
 * checks its checksum, versions, module digest and options before using it, and treats a
 * damaged or stale entry as a miss that it rebuilds and replaces. A store that fails (no
 * IndexedDB in a private window, a full quota) never fails `create()`: the lookup is a miss and
 * the failed store is reported in the `cache-store` progress event.
 *
 * IndexedDB writes are transactions: a reader never sees half an artifact, and two tabs
 * storing the same key store the same bytes (the last one wins). Entries live in the database
 * `resumable-wasm`, object store `artifacts` (or the names given), through `idb-keyval`.
 *
 * @module
 */

import { type UseStore, clear, createStore, del, get, set } from 'idb-keyval';
import type { ArtifactCache } from '../index.js';

/** An {@link ArtifactCache} in IndexedDB; see the module documentation. */
export class IndexedDbArtifactCache implements ArtifactCache {
  readonly #store: UseStore;

  /**
   * `databaseName` and `storeName` name where the artifacts live; the database holds nothing
   * else (idb-keyval opens it with just that store).
   */
  constructor(
    readonly databaseName = 'resumable-wasm',
    readonly storeName = 'artifacts',
  ) {
    this.#store = createStore(databaseName, storeName);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value: unknown = await get(checkedKey(key), this.#store);
    // Anything else under a key of ours (written by something else) is a miss.
    return value instanceof Uint8Array ? value : undefined;
  }

  async set(key: string, artifact: Uint8Array): Promise<void> {
    // IndexedDB stores a view's whole buffer: store exactly the artifact's bytes.
    const owned = artifact.byteOffset === 0 && artifact.byteLength === artifact.buffer.byteLength ? artifact : artifact.slice();
    await set(checkedKey(key), owned, this.#store);
  }

  /** Removes the artifact stored under `key`, if any. */
  async delete(key: string): Promise<void> {
    await del(checkedKey(key), this.#store);
  }

  /** Removes every artifact. */
  async clear(): Promise<void> {
    await clear(this.#store);
  }
}

/** `key`, if it is an artifact cache key (see the module documentation); else a `TypeError`. */
function checkedKey(key: string): string {
  if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) throw new TypeError(`not an artifact cache key: ${JSON.stringify(key)}`);
  return key;
}
