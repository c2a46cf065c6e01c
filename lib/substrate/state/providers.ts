/**
 * Where a runtime call's reads of the chain's state go: the {@link StorageProvider}, and two
 * providers built on it.
 *
 * A runtime reads the chain's state through `ext_storage_*` (the main trie) and
 * `ext_default_child_storage_*` (child tries). A full node has the state on disk; a light
 * client does not: it asks a peer for each value, with a Merkle proof, and waits. That wait is
 * what this library's interrupt model is for. When the runtime reads a key its call has not
 * written (see `overlay.ts`), the call pauses, the provider answers (synchronously, or with a
 * promise that resolves once the value has arrived), and the call resumes with the answer
 * written into the runtime's memory. Nothing else runs in the runtime meanwhile, and the
 * JavaScript thread is free.
 *
 * A provider answers two questions about the state *before* the call: the value under a key,
 * and the key that follows a key. Everything else (the call's own writes, deletions, clearing
 * a prefix, the storage root) is worked out by the host functions from these two answers and
 * the call's overlay (see `host/state-access.ts`).
 *
 * - {@link MapStorage} holds entries in memory: a chain spec's genesis storage, a fixture, a
 *   cache a light client filled from proofs.
 * - {@link LayeredStorage} puts storage diffs (what calls return) over another provider: the
 *   state after `Core_initialize_block`, after each extrinsic, after `finalize_block`.
 * - `ProofStorage` (`proof-storage.ts`) answers from a Merkle proof checked against a state
 *   root: what a light client, which trusts no one, serves its calls from.
 *
 * @module
 */

import { fromHex, toHex } from '../encoding/hex.js';
import type { StorageDiff, TrieChanges } from './overlay.js';

export { encodeOptionBytes } from '../encoding/scale.js';

/** A value or a promise of one: providers may answer at once or later. */
export type MaybePromise<T> = T | PromiseLike<T>;

/**
 * Where a runtime call's storage reads go. `childTrie` is `null` for the main trie, else the
 * child trie's key (without the `:child_storage:default:` prefix). Methods may return a promise;
 * the call stays paused until it settles. A method that throws or rejects fails the call with a
 * `RuntimeCallError` of kind `HostFunctionFailed`.
 */
export interface StorageProvider {
  /** The value stored under `key`, or `null`/`undefined` if there is none. */
  get(key: Uint8Array, childTrie: Uint8Array | null): MaybePromise<Uint8Array | null | undefined>;
  /**
   * The first key strictly greater than `key` (in lexicographic byte order) that has a value, or
   * `null`/`undefined` if there is none. Optional: a runtime that calls `next_key` on a provider
   * without it fails with `UnsupportedHostFunction`.
   */
  nextKey?(key: Uint8Array, childTrie: Uint8Array | null): MaybePromise<Uint8Array | null | undefined>;
}

/** Which of its two questions a call asked a {@link StorageProvider}. */
export type StorageReadKind = 'get' | 'nextKey';

/**
 * One question a call asked its storage provider: the value under `key`, or the key after it,
 * in the main trie (`childTrie` null) or a child trie. A call's questions
 * (`RuntimeCallResult.storageReads`) are what a proof must answer for the call to be served from
 * it (`createReadProof`).
 */
export interface StorageRead {
  readonly kind: StorageReadKind;
  readonly key: Uint8Array;
  /** The child trie's key without the `:child_storage:default:` prefix, or `null` for the main trie. */
  readonly childTrie: Uint8Array | null;
}

/**
 * A {@link StorageProvider} over entries held in memory: a chain spec's genesis storage, a test
 * fixture, or a cache a light client filled from proofs. Keys and values may be given as bytes
 * or as `0x` hex. `nextKey` is answered in lexicographic byte order.
 *
 * ```ts
 * const storage = new MapStorage(Object.entries(chainSpec.genesis.raw.top));
 * ```
 */
export class MapStorage implements StorageProvider {
  readonly #top: Map<string, Uint8Array>;
  readonly #children: Map<string, Map<string, Uint8Array>>;
  /** The keys of each trie (`''` for the main trie) in hex, sorted, built on the first `nextKey`. */
  readonly #sorted = new Map<string, string[]>();

  /**
   * @param entries the main trie's entries.
   * @param children each child trie's entries, by the child trie's key (without prefix).
   */
  constructor(
    entries: Iterable<readonly [Uint8Array | string, Uint8Array | string]> = [],
    children: Iterable<readonly [Uint8Array | string, Iterable<readonly [Uint8Array | string, Uint8Array | string]>]> = [],
  ) {
    this.#top = toMap(entries);
    this.#children = new Map([...children].map(([key, trie]) => [normalise(key), toMap(trie)]));
  }

  /** The number of entries in the main trie. */
  get size(): number {
    return this.#top.size;
  }

  /** The value under `key` in the main trie (`childTrie` null) or in a child trie, or `null`. */
  get(key: Uint8Array, childTrie: Uint8Array | null): Uint8Array | null {
    return this.#trie(childTrie)?.get(toHex(key)) ?? null;
  }

  /** The first key strictly after `key` in the trie, in lexicographic byte order, or `null`. */
  nextKey(key: Uint8Array, childTrie: Uint8Array | null): Uint8Array | null {
    const trieName = childTrie === null ? '' : toHex(childTrie);
    const trie = this.#trie(childTrie);
    if (trie === undefined) return null;
    let sorted = this.#sorted.get(trieName);
    if (sorted === undefined) {
      // Lowercase hex of equal-length prefixes sorts like the bytes, and a prefix sorts first,
      // so plain string order is lexicographic byte order.
      sorted = [...trie.keys()].sort();
      this.#sorted.set(trieName, sorted);
    }
    const target = toHex(key);
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (sorted[middle]! <= target) low = middle + 1;
      else high = middle;
    }
    return low < sorted.length ? fromHex(sorted[low]!) : null;
  }

  #trie(childTrie: Uint8Array | null): Map<string, Uint8Array> | undefined {
    return childTrie === null ? this.#top : this.#children.get(toHex(childTrie));
  }
}

function normalise(key: Uint8Array | string): string {
  return typeof key === 'string' ? toHex(fromHex(key)) : toHex(key);
}

function toMap(entries: Iterable<readonly [Uint8Array | string, Uint8Array | string]>): Map<string, Uint8Array> {
  const map = new Map<string, Uint8Array>();
  for (const [key, value] of entries) map.set(normalise(key), typeof value === 'string' ? fromHex(value) : value);
  return map;
}

/**
 * A {@link StorageProvider} that shows another provider with storage diffs applied on top: the
 * state after one or more calls, for the next call to read. Building a block is a chain of
 * calls (`Core_initialize_block`, one `BlockBuilder_apply_extrinsic` per extrinsic,
 * `BlockBuilder_finalize_block`), each reading what the previous ones wrote:
 *
 * ```ts
 * const state = new LayeredStorage(genesis);
 * for (const [entryPoint, input] of calls) {
 *   const { storageDiff } = await runtimeCall(runtime, entryPoint, input, { storage: state });
 *   state.apply(storageDiff);
 * }
 * ```
 *
 * A later diff replaces what an earlier one said about the same key. Deleted keys hide the
 * base's values and are skipped by `nextKey`. The offchain index part of a diff is not state,
 * and is ignored.
 */
export class LayeredStorage implements StorageProvider {
  readonly #base: StorageProvider;
  /** The changes so far, by trie (`''` for the main trie, else the child trie's hex key). */
  readonly #tries = new Map<string, { values: Map<string, Uint8Array | null>; sorted: string[] | null }>();

  constructor(base: StorageProvider, ...diffs: readonly StorageDiff[]) {
    this.#base = base;
    for (const diff of diffs) this.apply(diff);
  }

  /** Applies a call's storage diff on top of what is there. */
  apply(diff: StorageDiff): void {
    this.#merge('', diff.main);
    for (const [child, changes] of diff.children) this.#merge(child, changes);
  }

  /** Every change applied so far to a trie (`null`: the main trie), sorted by key. */
  changes(childTrie: Uint8Array | null = null): TrieChanges {
    const trie = this.#tries.get(childTrie === null ? '' : toHex(childTrie));
    if (trie === undefined) return new Map();
    return new Map(this.#sorted(trie).map((key) => [key, trie.values.get(key)!] as const));
  }

  /** The value under `key`: the latest diff's, or the base's if no diff mentions the key. */
  get(key: Uint8Array, childTrie: Uint8Array | null): MaybePromise<Uint8Array | null | undefined> {
    const trie = this.#tries.get(childTrie === null ? '' : toHex(childTrie));
    const changed = trie?.values.get(toHex(key));
    if (changed !== undefined) return changed;
    return this.#base.get(key, childTrie);
  }

  /** The first key after `key` that has a value, in the base or the diffs. Needs the base's `nextKey`. */
  nextKey(key: Uint8Array, childTrie: Uint8Array | null): MaybePromise<Uint8Array | null | undefined> {
    const base = this.#base;
    if (typeof base.nextKey !== 'function') throw new Error('LayeredStorage.nextKey: the base provider has no nextKey method');
    const trie = this.#tries.get(childTrie === null ? '' : toHex(childTrie));
    // The first key after `key` that the diffs give a value to.
    let fromDiffs: string | null = null;
    if (trie !== undefined) {
      const sorted = this.#sorted(trie);
      for (let i = upperBound(sorted, toHex(key)); i < sorted.length; i++) {
        if (trie.values.get(sorted[i]!) !== null) {
          fromDiffs = sorted[i]!;
          break;
        }
      }
    }
    // Walk the base's keys, skipping those the diffs deleted, until one beats `fromDiffs`.
    const settle = (found: Uint8Array | null | undefined): Uint8Array | null | 'continue' => {
      if (found === null || found === undefined) return fromDiffs === null ? null : fromHex(fromDiffs);
      const hex = toHex(found);
      if (fromDiffs !== null && fromDiffs <= hex) return fromHex(fromDiffs);
      return trie?.values.get(hex) === null ? 'continue' : found;
    };
    const walk = (cursor: Uint8Array): MaybePromise<Uint8Array | null> => {
      for (;;) {
        const answer = base.nextKey!(cursor, childTrie);
        if (typeof (answer as PromiseLike<unknown> | null)?.then === 'function') {
          return Promise.resolve(answer).then((found) => {
            const settled = settle(found);
            return settled === 'continue' ? walk(found!) : settled;
          });
        }
        const found = answer as Uint8Array | null | undefined;
        const settled = settle(found);
        if (settled !== 'continue') return settled;
        cursor = found!;
      }
    };
    return walk(key);
  }

  #merge(trieName: string, changes: TrieChanges): void {
    let trie = this.#tries.get(trieName);
    if (trie === undefined) {
      trie = { values: new Map(), sorted: null };
      this.#tries.set(trieName, trie);
    }
    for (const [key, value] of changes) {
      if (!trie.values.has(key)) trie.sorted = null;
      trie.values.set(key, value);
    }
  }

  #sorted(trie: { values: Map<string, Uint8Array | null>; sorted: string[] | null }): string[] {
    trie.sorted ??= [...trie.values.keys()].sort();
    return trie.sorted;
  }
}

/** The index of the first element of `sorted` strictly above `key`. */
function upperBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! <= key) low = middle + 1;
    else high = middle;
  }
  return low;
}
