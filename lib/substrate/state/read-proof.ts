/**
 * {@link createReadProof}: the Merkle proof of a set of reads, built from a state held in
 * memory: what a full node answers to `state_getReadProof`, and what tests and examples serve a
 * `ProofStorage` from without a network.
 *
 * ```ts
 * const genesis = new MapStorage(Object.entries(chainSpec.genesis.raw.top));
 * // What a call reads: run it once on the full state...
 * const { storageReads } = await runtimeCall(runtime, entryPoint, input, { storage: genesis });
 * // ...and prove exactly that.
 * const { stateRoot, nodes } = await createReadProof(genesis, storageReads, { stateVersion: runtime.version.stateVersion ?? 0 });
 * const again = await runtimeCall(runtime, entryPoint, input, { storage: new ProofStorage(stateRoot, nodes) });
 * ```
 *
 * The whole state is walked (with the provider's `get` and `nextKey`), its trie built once (the
 * same walk as `trie-root.ts`, which also gives the state root), and for each read the nodes on
 * the way to its key are kept:
 *
 * - `get(k)`: every node from the root down the path of `k`, including the node whose partial
 *   key departs from `k` when `k` has no value (that node proves the absence), and the value
 *   itself when it is stored as its hash (state version 1, 33 bytes or more).
 * - `nextKey(k)`: the nodes of the path of `k` and of the path of the first key after it (the
 *   value of that key is not needed).
 * - a read in a child trie: the main trie's path to the child trie's root
 *   (`:child_storage:default:` + its key), and the read's path in the child trie.
 *
 * Only nodes of 32 bytes or more (and the root) are entries: shorter ones are inline in their
 * parents. The entries are returned sorted and without repeats, as Substrate's `StorageProof`
 * holds them.
 *
 * The child tries named in the reads (and in `childTries`) have their roots computed from their
 * entries and written into the main trie before its root is computed, as a block's state root
 * is (a chain spec keeps child tries apart from `top`, without their roots).
 *
 * @module
 */

import { fromHex, toHex } from '../encoding/hex.js';
import { concatBytes } from '../encoding/scale.js';
import { DEFAULT_CHILD_STORAGE_PREFIX } from './overlay.js';
import type { MaybePromise, StorageProvider, StorageRead } from './providers.js';
import { MAX_INLINE_VALUE, type StateVersion, nibbleAt, trieHasher } from './trie-node.js';
import { type BuiltNode, type TrieEntry, compareBytes, sortedTrieRoot } from './trie-root.js';

const blake2 = trieHasher('blake2-256');

/** A Merkle proof: the root it proves against, and its entries. */
export interface ReadProof {
  /** The state root: the root of the main trie, child tries' roots included. */
  readonly stateRoot: Uint8Array;
  /** The proof's entries (nodes, and values stored as their hash), sorted, each once. */
  readonly nodes: readonly Uint8Array[];
}

/** Options of {@link createReadProof}. */
export interface ReadProofOptions {
  /** The state version of the trie (the runtime's `RuntimeVersion.stateVersion`; 0 if it has none). */
  readonly stateVersion: StateVersion;
  /** Child tries (keys without prefix) to count in the state root besides those the reads name. */
  readonly childTries?: Iterable<Uint8Array | string>;
}

/** A trie built for proving: its entries, its nodes, and its root node. */
interface BuiltTrie {
  readonly entries: readonly TrieEntry[];
  readonly nodes: readonly BuiltNode[];
  readonly root: number;
  readonly rootHash: Uint8Array;
}

/**
 * The proof of `reads` (a plain key stands for a `get` in the main trie) in the state of
 * `storage`, which must have `nextKey`; see the module documentation.
 */
export async function createReadProof(
  storage: StorageProvider,
  reads: Iterable<StorageRead | Uint8Array | string>,
  options: ReadProofOptions,
): Promise<ReadProof> {
  const version = options.stateVersion;
  const wanted: StorageRead[] = [...reads].map((read) =>
    read instanceof Uint8Array || typeof read === 'string' ? { kind: 'get', key: toBytes(read), childTrie: null } : read,
  );
  const childNames = new Map<string, Uint8Array>();
  for (const child of options.childTries ?? []) childNames.set(toHex(toBytes(child)), toBytes(child));
  for (const read of wanted) if (read.childTrie !== null) childNames.set(toHex(read.childTrie), read.childTrie);

  const main = new Map((await walk(storage, null)).map((entry) => [toHex(entry.key), entry] as const));
  const children = new Map<string, BuiltTrie>();
  for (const [hex, child] of childNames) {
    const rootKey = concatBytes(DEFAULT_CHILD_STORAGE_PREFIX, child);
    const entries = await walk(storage, child);
    if (entries.length === 0) {
      main.delete(toHex(rootKey));
      continue;
    }
    const trie = build(entries, version);
    children.set(hex, trie);
    main.set(toHex(rootKey), { key: rootKey, value: trie.rootHash });
  }
  const mainTrie = build([...main.values()].sort((a, b) => compareBytes(a.key, b.key)), version);

  const kept = new Map<string, Uint8Array>();
  for (const read of wanted) {
    if (read.childTrie === null) {
      prove(mainTrie, read, version, kept);
      continue;
    }
    prove(mainTrie, { kind: 'get', key: concatBytes(DEFAULT_CHILD_STORAGE_PREFIX, read.childTrie), childTrie: null }, version, kept);
    const child = children.get(toHex(read.childTrie));
    if (child !== undefined) prove(child, read, version, kept);
  }
  return { stateRoot: mainTrie.rootHash, nodes: [...kept.values()].sort(compareBytes) };
}

function toBytes(key: Uint8Array | string): Uint8Array {
  return typeof key === 'string' ? fromHex(key) : key;
}

/** Every entry of a trie of `storage`, sorted (the empty key included). */
async function walk(storage: StorageProvider, childTrie: Uint8Array | null): Promise<TrieEntry[]> {
  if (typeof storage.nextKey !== 'function') throw new TypeError('createReadProof: the storage provider has no nextKey method');
  const entries: TrieEntry[] = [];
  const empty = new Uint8Array();
  const first = await settle(storage.get(empty, childTrie));
  if (first !== null && first !== undefined) entries.push({ key: empty, value: first });
  for (let key = await settle(storage.nextKey(empty, childTrie)); key !== null && key !== undefined; key = await settle(storage.nextKey(key, childTrie))) {
    const value = await settle(storage.get(key, childTrie));
    if (value !== null && value !== undefined) entries.push({ key, value });
  }
  return entries;
}

async function settle<T>(answer: MaybePromise<T>): Promise<T> {
  return await answer;
}

/** The trie of `entries` (sorted), with its nodes as `sortedTrieRoot` builds them. */
function build(entries: readonly TrieEntry[], version: StateVersion): BuiltTrie {
  const nodes: BuiltNode[] = [];
  const rootHash = sortedTrieRoot(entries, version, 'blake2-256', (node) => nodes.push(node) - 1);
  return { entries, nodes, root: nodes.length - 1, rootHash };
}

/** Keeps in `kept` the entries that prove `read` in `trie`. */
function prove(trie: BuiltTrie, read: StorageRead, version: StateVersion, kept: Map<string, Uint8Array>): void {
  keepPath(trie, read.key, read.kind === 'get', version, kept);
  if (read.kind === 'nextKey') {
    const next = firstAfter(trie.entries, read.key);
    if (next !== null) keepPath(trie, next, false, version, kept);
  }
}

/** The first key of `entries` (sorted) strictly after `key`, or `null`. */
function firstAfter(entries: readonly TrieEntry[], key: Uint8Array): Uint8Array | null {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareBytes(entries[middle]!.key, key) <= 0) low = middle + 1;
    else high = middle;
  }
  return low < entries.length ? entries[low]!.key : null;
}

/**
 * Keeps the entries of the nodes from the root down the path of `key`: each node whose slot the
 * key passes through, the last being the one the key ends at or departs from; and, with
 * `withValue`, the value of the key when it is stored as its hash.
 */
function keepPath(trie: BuiltTrie, key: Uint8Array, withValue: boolean, version: StateVersion, kept: Map<string, Uint8Array>): void {
  const length = key.length * 2;
  let node = trie.nodes[trie.root]!;
  for (;;) {
    if (node.hashed) kept.set(toHex(node.encoded), node.encoded);
    // Does the node's key (nibbles [0, keyLength) of node.key) start `key`?
    if (length < node.keyLength) return;
    for (let i = node.depth; i < node.keyLength; i++) if (nibbleAt(node.key, i) !== nibbleAt(key, i)) return;
    if (length === node.keyLength) {
      if (withValue && node.valueIndex !== -1) {
        const value = trie.entries[node.valueIndex]!.value;
        // Keyed by its hash: a value may be megabytes (`:code`).
        if (version === 1 && value.length > MAX_INLINE_VALUE) kept.set(toHex(blake2(value)), value);
      }
      return;
    }
    const child = node.children[nibbleAt(key, node.keyLength)]!;
    if (child === -1) return;
    node = trie.nodes[child]!;
  }
}
