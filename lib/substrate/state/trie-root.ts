/**
 * The Merkle root of Substrate's storage trie: what a block header's `state_root` commits to,
 * and what `ext_storage_root` and the `ext_trie_*_root` host functions compute.
 *
 * The trie, its nodes and their encoding, and the two state versions are described in
 * `trie-node.ts`, which holds the codec; this file walks a complete, sorted list of entries and
 * encodes and hashes each node once.
 *
 * ## How the root is computed here
 *
 * From the complete, sorted list of entries: in sorted order, the keys below a node are a
 * contiguous run, their longest common prefix is the node's key, and the run splits into child
 * runs by the next nibble. The walk is iterative (an explicit stack), so a hostile set of keys
 * nested thousands of levels deep cannot overflow the JavaScript stack. The cost is one
 * encoding and at most one hash per node.
 *
 * @module
 */

import { toHex } from '../encoding/hex.js';
import { encodeCompact } from '../encoding/scale.js';
import { type StateVersion, type TrieHash, encodeNode, merkleValue, nibbleAt, commonNibbles, trieHasher } from './trie-node.js';

export type { StateVersion, TrieHash } from './trie-node.js';

/** One key and its value. */
export interface TrieEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** The root of the empty trie: the hash of the single byte `00`. */
export function emptyTrieRoot(hash: TrieHash = 'blake2-256'): Uint8Array {
  return trieHasher(hash)(Uint8Array.of(0));
}

/** Orders byte strings lexicographically (a prefix first), as the trie does. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * The Merkle root of the trie holding `entries`. The entries need not be sorted; when a key
 * appears more than once, the last value counts (as when Substrate collects them into a map).
 */
export function trieRoot(entries: Iterable<TrieEntry>, version: StateVersion, hash: TrieHash = 'blake2-256'): Uint8Array {
  const unique = new Map<string, TrieEntry>();
  for (const entry of entries) unique.set(toHex(entry.key), entry);
  const sorted = [...unique.values()].sort((a, b) => compareBytes(a.key, b.key));
  return sortedTrieRoot(sorted, version, hash);
}

/**
 * The Merkle root of the trie whose keys are the SCALE compact encodings of `0, 1, 2, ...` and
 * whose values are `values` in order: how a block's extrinsics root is built.
 */
export function orderedTrieRoot(values: readonly Uint8Array[], version: StateVersion, hash: TrieHash = 'blake2-256'): Uint8Array {
  const entries = values.map((value, index) => ({ key: encodeCompact(index), value }));
  // Compact encodings do not sort like the numbers they encode: sort the keys.
  entries.sort((a, b) => compareBytes(a.key, b.key));
  return sortedTrieRoot(entries, version, hash);
}

/**
 * A node of a trie being built, as {@link sortedTrieRoot} shows it to a visitor: children
 * before their parent, the root last.
 */
export interface BuiltNode {
  /** A key of an entry below the node: its first {@link keyLength} nibbles are the node's full key. */
  readonly key: Uint8Array;
  /** Where the node's partial key starts, in nibbles: its parent's key and slot (0 for the root). */
  readonly depth: number;
  /** The length of the node's full key, in nibbles. */
  readonly keyLength: number;
  /** The node's encoding. */
  readonly encoded: Uint8Array;
  /** Whether the node is referenced by the hash of its encoding: the root, and every node of 32 bytes or more. */
  readonly hashed: boolean;
  /** The index in the entries of the entry whose key ends at this node, or -1. */
  readonly valueIndex: number;
  /** What the visitor returned for the child in each of the 16 slots, or -1. */
  readonly children: readonly number[];
}

/**
 * The Merkle root of the trie holding `entries`, which must be sorted by key with no key
 * twice (as a storage walk yields them). See the module documentation for the algorithm.
 * `visit`, if given, sees every node as it is encoded and returns a number the node's parent
 * then lists among its {@link BuiltNode.children} (how `read-proof.ts` builds the trie's shape).
 */
export function sortedTrieRoot(
  entries: readonly TrieEntry[],
  version: StateVersion,
  hash: TrieHash = 'blake2-256',
  visit?: (node: BuiltNode) => number,
): Uint8Array {
  const hasher = trieHasher(hash);
  if (entries.length === 0) {
    visit?.({ key: new Uint8Array(), depth: 0, keyLength: 0, encoded: Uint8Array.of(0), hashed: true, valueIndex: -1, children: new Array<number>(16).fill(-1) });
    return hasher(Uint8Array.of(0));
  }

  /** A node whose children are being computed. */
  interface Frame {
    /** The entries below the node: `entries[start..end)`. */
    readonly end: number;
    /** How many nibbles of the key the parent consumed (where the partial key starts). */
    readonly depth: number;
    /** The node's key length in nibbles (the common prefix of its entries). */
    readonly keyLength: number;
    /** The entry whose key ends exactly at this node, or -1. */
    readonly valueIndex: number;
    /** The first entry not yet given to a child. */
    next: number;
    /** The nibble of the child being computed. */
    pendingNibble: number;
    readonly children: (Uint8Array | null)[];
    /** What the visitor returned for each child. */
    readonly visited: number[];
  }

  const frameFor = (start: number, end: number, depth: number): Frame => {
    const first = entries[start]!.key;
    const keyLength = commonNibbles(first, entries[end - 1]!.key);
    const valueIndex = first.length * 2 === keyLength ? start : -1;
    return { end, depth, keyLength, valueIndex, next: valueIndex === -1 ? start : start + 1, pendingNibble: -1, children: new Array<Uint8Array | null>(16).fill(null), visited: new Array<number>(16).fill(-1) };
  };

  const stack: Frame[] = [frameFor(0, entries.length, 0)];
  for (;;) {
    const frame = stack[stack.length - 1]!;
    if (frame.next < frame.end) {
      // The next child: every following entry with the same nibble after this node's key.
      const nibble = nibbleAt(entries[frame.next]!.key, frame.keyLength);
      let childEnd = frame.next + 1;
      while (childEnd < frame.end && nibbleAt(entries[childEnd]!.key, frame.keyLength) === nibble) childEnd++;
      const child = frameFor(frame.next, childEnd, frame.keyLength + 1);
      frame.pendingNibble = nibble;
      frame.next = childEnd;
      stack.push(child);
      continue;
    }
    stack.pop();
    const key = entries[frame.valueIndex === -1 ? frame.end - 1 : frame.valueIndex]!.key;
    const value = frame.valueIndex === -1 ? null : entries[frame.valueIndex]!.value;
    const encoded = encodeNode(key, frame.depth, frame.keyLength, value, frame.children, version, hasher);
    const parent = stack[stack.length - 1];
    const id = visit?.({ key, depth: frame.depth, keyLength: frame.keyLength, encoded, hashed: parent === undefined || encoded.length >= 32, valueIndex: frame.valueIndex, children: frame.visited }) ?? -1;
    if (parent === undefined) return hasher(encoded);
    parent.children[parent.pendingNibble] = merkleValue(encoded, hasher);
    parent.visited[parent.pendingNibble] = id;
  }
}
