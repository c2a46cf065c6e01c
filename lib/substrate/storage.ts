/**
 * Storage reads: the host functions that make a runtime call *pause*.
 *
 * A runtime reads the chain's state through `ext_storage_*` (the main trie) and
 * `ext_default_child_storage_*` (child tries). A full node has the state on disk; a light
 * client does not: it asks a peer for each value, with a Merkle proof, and waits. That wait is
 * what this library's interrupt model is for. When the runtime calls one of these functions,
 * the call pauses, the host's {@link StorageProvider} answers (synchronously, or with a promise
 * that resolves once the value has arrived), and the call resumes with the answer written into
 * the runtime's memory. Nothing else runs in the runtime meanwhile, and the JavaScript thread
 * is free.
 *
 * The functions, with their SCALE conventions (`ps` is a pointer-size, see `pointer-size.ts`):
 *
 * | function | answer |
 * |---|---|
 * | `ext_storage_get_version_1(key: ps) -> ps` | an `Option<Vec<u8>>` allocated in the runtime's heap: `00` if absent, `01`, compact length, bytes if present |
 * | `ext_storage_read_version_1(key: ps, out: ps, offset: u32) -> ps` | copies `value[offset..]` into `out` (as much as fits) and returns an allocated `Option<u32>`: the number of bytes of the value past `offset` |
 * | `ext_storage_exists_version_1(key: ps) -> i32` | 1 if the key has a value, else 0 |
 * | `ext_storage_next_key_version_1(key: ps) -> ps` | an allocated `Option<Vec<u8>>`: the first key strictly after `key` |
 *
 * The `ext_default_child_storage_*_version_1` variants take the child trie's key first (the key
 * *without* the `:child_storage:default:` prefix) and answer the same way.
 *
 * Writes (`ext_storage_set`, `clear`, `append`, transactions, roots) are not served here: a
 * light client only reads. A caller that executes blocks handles them with `onHostCall`.
 *
 * @module
 */

import { compact } from 'scale-ts';
import type { GuestMemoryAccess } from '../base/guest-memory-access.js';
import { WasmValue } from '../base/values.js';
import type { FreeingBumpAllocator } from './allocator.js';
import { fromHex, toHex } from './hex.js';
import { type PointerSize, describeOutOfRange, packPointerSize, unpackPointerSize } from './pointer-size.js';

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

/** Which storage question a host function asks. */
export type StorageQuestion = 'get' | 'read' | 'exists' | 'nextKey';

/** The storage host functions, with what each asks and whether it names a child trie first. */
export const STORAGE_FUNCTIONS: ReadonlyMap<string, { readonly question: StorageQuestion; readonly child: boolean }> = new Map([
  ['ext_storage_get_version_1', { question: 'get', child: false }],
  ['ext_storage_read_version_1', { question: 'read', child: false }],
  ['ext_storage_exists_version_1', { question: 'exists', child: false }],
  ['ext_storage_next_key_version_1', { question: 'nextKey', child: false }],
  ['ext_default_child_storage_get_version_1', { question: 'get', child: true }],
  ['ext_default_child_storage_read_version_1', { question: 'read', child: true }],
  ['ext_default_child_storage_exists_version_1', { question: 'exists', child: true }],
  ['ext_default_child_storage_next_key_version_1', { question: 'nextKey', child: true }],
]);

/** One storage request, read from a paused call's arguments. */
export interface StorageRequest {
  readonly question: StorageQuestion;
  readonly key: Uint8Array;
  readonly childTrie: Uint8Array | null;
  /** For `read`: where the value goes, and from which offset of the value. */
  readonly out?: PointerSize;
  readonly offset?: number;
}

/**
 * Reads the request of the storage function `name` from its arguments. Every pointer-size is
 * checked against the memory first, the output buffer of `read` included, so that a bad argument
 * fails before the provider is asked anything. Throws a `RangeError` naming the argument.
 */
export function readStorageRequest(name: string, memory: GuestMemoryAccess, params: readonly WasmValue[]): StorageRequest {
  const entry = STORAGE_FUNCTIONS.get(name)!;
  let index = 0;
  const nextBuffer = (what: string): Uint8Array => {
    const range = unpackPointerSize(params[index++]!.value as bigint);
    const problem = describeOutOfRange(memory, range);
    if (problem !== null) throw new RangeError(`the ${what} argument: ${problem}`);
    return memory.readMemory(range.pointer, range.length);
  };
  const childTrie = entry.child ? nextBuffer('child trie') : null;
  const key = nextBuffer('key');
  if (entry.question !== 'read') return { question: entry.question, key, childTrie };
  const out = unpackPointerSize(params[index++]!.value as bigint);
  const problem = describeOutOfRange(memory, out);
  if (problem !== null) throw new RangeError(`the value_out argument: ${problem}`);
  const offset = (params[index]!.value as number) >>> 0;
  return { question: 'read', key, childTrie, out, offset };
}

/**
 * Writes the answer to `request` into the guest's memory (allocating through `allocator` where
 * the function returns allocated data) and returns the value to resume the call with.
 * `answer` is what the provider returned: the value (for `get`, `read`, `exists`) or the next
 * key (for `nextKey`), `null` for none.
 */
export function writeStorageAnswer(
  request: StorageRequest,
  answer: Uint8Array | null,
  memory: GuestMemoryAccess,
  allocator: FreeingBumpAllocator,
): WasmValue {
  switch (request.question) {
    case 'exists':
      return WasmValue.i32(answer === null ? 0 : 1);
    case 'get':
    case 'nextKey':
      return allocateAndWrite(memory, allocator, encodeOptionBytes(answer));
    case 'read': {
      if (answer === null) return allocateAndWrite(memory, allocator, Uint8Array.of(0));
      const rest = answer.subarray(Math.min(request.offset!, answer.length));
      const written = Math.min(rest.length, request.out!.length);
      memory.writeMemory(request.out!.pointer, rest.subarray(0, written));
      const encoded = new Uint8Array(5);
      encoded[0] = 1;
      new DataView(encoded.buffer).setUint32(1, rest.length, true);
      return allocateAndWrite(memory, allocator, encoded);
    }
  }
}

/** SCALE `Option<Vec<u8>>`: `00`, or `01` followed by the compact length and the bytes. */
export function encodeOptionBytes(value: Uint8Array | null): Uint8Array {
  if (value === null) return Uint8Array.of(0);
  const length = compact.enc(value.length);
  const encoded = new Uint8Array(1 + length.length + value.length);
  encoded[0] = 1;
  encoded.set(length, 1);
  encoded.set(value, 1 + length.length);
  return encoded;
}

/** Allocates `data.length` bytes in the runtime's heap, writes `data` there and returns the pointer-size. */
function allocateAndWrite(memory: GuestMemoryAccess, allocator: FreeingBumpAllocator, data: Uint8Array): WasmValue {
  const pointer = allocator.malloc(memory, data.length);
  memory.writeMemory(pointer, data);
  return packPointerSize(pointer, data.length);
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
