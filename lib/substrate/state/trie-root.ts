/**
 * The Merkle root of Substrate's storage trie: what a block header's `state_root` commits to,
 * and what `ext_storage_root` and the `ext_trie_*_root` host functions compute.
 *
 * ## The trie
 *
 * Substrate stores its state in a base-16 Patricia-Merkle trie. Keys are read as sequences of
 * *nibbles* (4-bit halves of bytes, high half first), and the trie has a node for every stored
 * key and for every longest common prefix shared by two or more keys. A node records the part
 * of its key below its parent (the *partial key*), its value if a key ends there, and for each of
 * the 16 possible next nibbles the *Merkle value* of the child there, if any.
 *
 * ## A node's encoding (the codec of smoldot's `trie_node.rs` and Substrate's `sp-trie`)
 *
 * ```text
 * header | partial key | [children bitmap] | [value] | children's Merkle values
 * ```
 *
 * - **header**: a few high bits say what the node holds, the other bits start the partial
 *   key's length in nibbles; if the length does not fit, the remaining bits are all ones and
 *   more bytes follow, each adding up to 255 (a byte below 255 ends the length):
 *
 *   | high bits | node | length bits |
 *   |---|---|---|
 *   | `01` | leaf (no children) with a value | 6 |
 *   | `10` | branch without value | 6 |
 *   | `11` | branch with a value | 6 |
 *   | `001` | leaf whose value is stored as its hash | 5 |
 *   | `0001` | branch whose value is stored as its hash | 4 |
 *   | `00000000` | the empty trie (the whole encoding is this byte) | — |
 *
 * - **partial key**: the nibbles, two per byte; an odd count is padded with a zero nibble at the
 *   *front*.
 * - **children bitmap** (branches only): 2 bytes, little-endian, bit `n` set if child `n` exists.
 * - **value**: a compact length and the bytes; or, for the hashed variants, the 32-byte hash.
 * - **children**: for each child in nibble order, a compact length and its Merkle value.
 *
 * A node's **Merkle value** is its encoding if that is shorter than 32 bytes, else the hash of
 * the encoding; the root's is always the hash (so the empty trie's root is the hash of `00`).
 * The hash is BLAKE2b-256 for the storage trie, Keccak-256 for the `keccak_256` host functions.
 *
 * ## State versions
 *
 * Version 0 stores every value in its node. Version 1 (state version 1, since 2022) stores a
 * value of 33 bytes or more as its hash (same hash function as the trie), which keeps proofs
 * small: a proof can show a node without carrying a 1 MiB value along. Runtimes say which
 * version their storage uses (`RuntimeVersion.stateVersion`).
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

import { blake2b } from '@noble/hashes/blake2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { toHex } from '../encoding/hex.js';
import { concatBytes } from '../../base/bytes.js';
import { encodeCompact } from '../encoding/scale.js';

/** A trie's hash function. */
export type TrieHash = 'blake2-256' | 'keccak-256';

/** A trie's layout: state version 0 (values inline) or 1 (values of 33 bytes or more hashed). */
export type StateVersion = 0 | 1;

/** One key and its value. */
export interface TrieEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Values this long or longer are stored as their hash in state version 1. */
export const MAX_INLINE_VALUE = 32;

const HASHERS: Readonly<Record<TrieHash, (data: Uint8Array) => Uint8Array>> = {
  'blake2-256': (data) => blake2b(data, { dkLen: 32 }),
  'keccak-256': (data) => keccak_256(data),
};

/** The root of the empty trie: the hash of the single byte `00`. */
export function emptyTrieRoot(hash: TrieHash = 'blake2-256'): Uint8Array {
  return HASHERS[hash](Uint8Array.of(0));
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
 * The Merkle root of the trie holding `entries`, which must be sorted by key with no key
 * twice (as a storage walk yields them). See the module documentation for the algorithm.
 */
export function sortedTrieRoot(entries: readonly TrieEntry[], version: StateVersion, hash: TrieHash = 'blake2-256'): Uint8Array {
  const hasher = HASHERS[hash];
  if (entries.length === 0) return hasher(Uint8Array.of(0));

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
  }

  const frameFor = (start: number, end: number, depth: number): Frame => {
    const first = entries[start]!.key;
    const keyLength = commonNibbles(first, entries[end - 1]!.key);
    const valueIndex = first.length * 2 === keyLength ? start : -1;
    return { end, depth, keyLength, valueIndex, next: valueIndex === -1 ? start : start + 1, pendingNibble: -1, children: new Array<Uint8Array | null>(16).fill(null) };
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
    if (parent === undefined) return hasher(encoded);
    parent.children[parent.pendingNibble] = encoded.length < 32 ? encoded : hasher(encoded);
  }
}

/**
 * Encodes one node: the partial key is nibbles `[from, to)` of `key`, `value` its value (or
 * `null`), `children` the Merkle values of its 16 possible children.
 */
export function encodeNode(
  key: Uint8Array,
  from: number,
  to: number,
  value: Uint8Array | null,
  children: readonly (Uint8Array | null)[],
  version: StateVersion,
  hasher: (data: Uint8Array) => Uint8Array,
): Uint8Array {
  const hasChildren = children.some((child) => child !== null);
  const hashedValue = value !== null && version === 1 && value.length > MAX_INLINE_VALUE;
  const partialLength = to - from;
  // The node kind's high bits and how many bits of the first byte hold the length.
  let kind: number;
  let lengthBits: number;
  if (value === null) {
    if (!hasChildren) {
      // Only the empty trie has neither; it is encoded as the single byte 00.
      return Uint8Array.of(0);
    }
    [kind, lengthBits] = [0b10, 6];
  } else if (hashedValue) {
    [kind, lengthBits] = hasChildren ? [0b0001, 4] : [0b001, 5];
  } else {
    [kind, lengthBits] = hasChildren ? [0b11, 6] : [0b01, 6];
  }

  const parts: Uint8Array[] = [];
  const maxInFirst = (1 << lengthBits) - 1;
  const header: number[] = [(kind << lengthBits) | Math.min(partialLength, maxInFirst)];
  if (partialLength >= maxInFirst) {
    let rest = partialLength - maxInFirst;
    for (;;) {
      header.push(Math.min(rest, 255));
      if (rest < 255) break;
      rest -= 255;
    }
  }
  parts.push(Uint8Array.from(header));

  // The partial key, two nibbles per byte, an odd count padded with a zero nibble in front.
  const keyBytes = new Uint8Array((partialLength + 1) >> 1);
  let nibble = from;
  let out = 0;
  if (partialLength % 2 === 1) keyBytes[out++] = nibbleAt(key, nibble++);
  for (; out < keyBytes.length; out++, nibble += 2) keyBytes[out] = (nibbleAt(key, nibble) << 4) | nibbleAt(key, nibble + 1);
  parts.push(keyBytes);

  if (hasChildren) {
    let bitmap = 0;
    children.forEach((child, index) => {
      if (child !== null) bitmap |= 1 << index;
    });
    parts.push(Uint8Array.of(bitmap & 0xff, bitmap >>> 8));
  }
  if (value !== null) {
    if (hashedValue) parts.push(hasher(value));
    else parts.push(encodeCompact(value.length), value);
  }
  for (const child of children) if (child !== null) parts.push(encodeCompact(child.length), child);
  return concatBytes(parts);
}

/** Nibble `index` of `key` (the high half of each byte first). */
function nibbleAt(key: Uint8Array, index: number): number {
  const byte = key[index >> 1]!;
  return index % 2 === 0 ? byte >> 4 : byte & 0xf;
}

/** The number of leading nibbles `a` and `b` share. */
function commonNibbles(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a[i] === b[i]) i++;
  if (i === length) return 2 * i;
  return (a[i]! >> 4) === (b[i]! >> 4) ? 2 * i + 1 : 2 * i;
}
