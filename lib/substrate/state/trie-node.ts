/**
 * One node of Substrate's storage trie, as bytes: the codec that trie roots (`trie-root.ts`),
 * Merkle proofs (`trie-proof.ts`, `proof-storage.ts`, `read-proof.ts`) and the compact proofs of
 * the `ext_trie_*_verify_proof` host functions (`compact-proof.ts`) all speak.
 *
 * ## The trie
 *
 * Substrate stores its state in a base-16 Patricia-Merkle trie. Keys are read as sequences of
 * *nibbles* (4-bit halves of bytes, high half first), and the trie has a node for every stored
 * key and for every longest common prefix shared by two or more keys. A node records the part
 * of its key below its parent (the *partial key*), its value if a key ends there, and for each of
 * the 16 possible next nibbles the *Merkle value* of the child there, if any. The full key of a
 * node is therefore its parent's full key, the nibble of the child slot it sits in, and its
 * partial key.
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
 * A node's **Merkle value** is its encoding if that is shorter than 32 bytes (the child is then
 * *inline*, part of its parent's bytes), else the hash of the encoding; the root's is always the
 * hash (so the empty trie's root is the hash of `00`). The hash is BLAKE2b-256 for the storage
 * trie, Keccak-256 for the `keccak_256` host functions.
 *
 * ## State versions
 *
 * Version 0 stores every value in its node. Version 1 (state version 1, since 2022) stores a
 * value of 33 bytes or more as its hash (same hash function as the trie), which keeps proofs
 * small: a proof can show a node without carrying a 1 MiB value along, and carries the value as
 * an entry of its own only when it is read. Runtimes say which version their storage uses
 * (`RuntimeVersion.stateVersion`).
 *
 * ## Decoding untrusted bytes
 *
 * {@link decodeNode} reads nodes that come from the network, so it accepts only what an encoder
 * writes: a known header (the `00000001` escape of compact encodings is refused), a partial key
 * of at most 65,535 nibbles (Substrate's bound) whose padding nibble is zero, a branch with at
 * least one child, compact lengths in their shortest form, child Merkle values of at most 32
 * bytes, and no byte left over. What a node *means* in a trie (an empty node is only ever a
 * root, a child of 32 bytes is a hash) is for the reader to check, since compact proofs give
 * some encodings (a child of length 0) a meaning of their own.
 *
 * @module
 */

import { blake2b } from '@noble/hashes/blake2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { concatBytes } from '../../base/bytes.js';
import { ScaleError, ScaleReader, encodeCompact } from '../encoding/scale.js';

/** A trie's hash function. */
export type TrieHash = 'blake2-256' | 'keccak-256';

/** A trie's layout: state version 0 (values inline) or 1 (values of 33 bytes or more hashed). */
export type StateVersion = 0 | 1;

/** The longest value state version 1 stores in its node; longer ones (33 bytes or more) are stored as their hash. */
export const MAX_INLINE_VALUE = 32;

/** The length of a hash, and the length from which a child's Merkle value is a hash. */
export const HASH_LENGTH = 32;

/** The longest partial key a node may declare, in nibbles (Substrate's `NIBBLE_SIZE_BOUND`). */
export const MAX_PARTIAL_KEY_NIBBLES = 0xffff;

const HASHERS: Readonly<Record<TrieHash, (data: Uint8Array) => Uint8Array>> = {
  'blake2-256': (data) => blake2b(data, { dkLen: 32 }),
  'keccak-256': (data) => keccak_256(data),
};

/** The function that hashes nodes and values of a trie using `hash`. */
export function trieHasher(hash: TrieHash): (data: Uint8Array) => Uint8Array {
  return HASHERS[hash];
}

/** A node's value: none, the bytes themselves, or (state version 1) the hash of the bytes. */
export type NodeValue =
  | { readonly type: 'none' }
  | { readonly type: 'inline'; readonly bytes: Uint8Array }
  | { readonly type: 'hashed'; readonly hash: Uint8Array };

/** The value `none`. */
export const NO_VALUE: NodeValue = { type: 'none' };

/** A node, decoded: what {@link decodeNode} returns and {@link encodeNodeParts} takes. */
export interface DecodedNode {
  /** The partial key, one nibble (0 to 15) per element. */
  readonly partialKey: Uint8Array;
  readonly value: NodeValue;
  /** The Merkle value of the child in each of the 16 slots, or `null`. */
  readonly children: readonly (Uint8Array | null)[];
}

/** Thrown by {@link decodeNode} for bytes that are not a node's encoding; the message says why. */
export class NodeDecodeError extends Error {
  override readonly name = 'NodeDecodeError';
}

/** Whether `node` is the empty trie's node (`00`). */
export function isEmptyNode(node: DecodedNode): boolean {
  return node.value.type === 'none' && node.partialKey.length === 0 && node.children.every((child) => child === null);
}

/** How many children `node` has. */
export function childCount(node: DecodedNode): number {
  let count = 0;
  for (const child of node.children) if (child !== null) count++;
  return count;
}

/**
 * Decodes a node's encoding (see the module documentation for what is refused). Throws
 * {@link NodeDecodeError}.
 */
export function decodeNode(bytes: Uint8Array): DecodedNode {
  if (bytes.length === 0) throw new NodeDecodeError('a node cannot be empty');
  const header = bytes[0]!;
  if (header === 0) {
    if (bytes.length !== 1) throw new NodeDecodeError('the empty node is the single byte 00');
    return { partialKey: new Uint8Array(), value: NO_VALUE, children: new Array<Uint8Array | null>(16).fill(null) };
  }
  let hasChildren: boolean;
  let valueKind: 'none' | 'inline' | 'hashed';
  let lengthBits: number;
  switch (header >> 6) {
    case 0b01:
      [hasChildren, valueKind, lengthBits] = [false, 'inline', 6];
      break;
    case 0b10:
      [hasChildren, valueKind, lengthBits] = [true, 'none', 6];
      break;
    case 0b11:
      [hasChildren, valueKind, lengthBits] = [true, 'inline', 6];
      break;
    default:
      if (header >> 5 === 0b001) [hasChildren, valueKind, lengthBits] = [false, 'hashed', 5];
      else if (header >> 4 === 0b0001) [hasChildren, valueKind, lengthBits] = [true, 'hashed', 4];
      else throw new NodeDecodeError(`unknown node header 0x${header.toString(16).padStart(2, '0')}`);
  }
  const reader = new ScaleReader(bytes);
  reader.take(1);
  try {
    const maxInFirst = (1 << lengthBits) - 1;
    let partialLength = header & maxInFirst;
    if (partialLength === maxInFirst) {
      for (;;) {
        const more = reader.take(1)[0]!;
        partialLength += more;
        if (partialLength > MAX_PARTIAL_KEY_NIBBLES) throw new NodeDecodeError(`a partial key longer than ${MAX_PARTIAL_KEY_NIBBLES} nibbles`);
        if (more < 255) break;
      }
    }
    const keyBytes = reader.take((partialLength + 1) >> 1);
    const partialKey = new Uint8Array(partialLength);
    let out = 0;
    for (let i = 0; i < keyBytes.length; i++) {
      const byte = keyBytes[i]!;
      if (i === 0 && partialLength % 2 === 1) {
        if (byte >> 4 !== 0) throw new NodeDecodeError('the padding nibble of an odd partial key is not zero');
        partialKey[out++] = byte & 0xf;
      } else {
        partialKey[out++] = byte >> 4;
        partialKey[out++] = byte & 0xf;
      }
    }
    let bitmap = 0;
    if (hasChildren) {
      const bytes2 = reader.take(2);
      bitmap = bytes2[0]! | (bytes2[1]! << 8);
      if (bitmap === 0) throw new NodeDecodeError('a branch without children');
    }
    let value: NodeValue = NO_VALUE;
    if (valueKind === 'inline') value = { type: 'inline', bytes: reader.bytesVec() };
    else if (valueKind === 'hashed') value = { type: 'hashed', hash: reader.take(HASH_LENGTH) };
    const children = new Array<Uint8Array | null>(16).fill(null);
    for (let nibble = 0; nibble < 16; nibble++) {
      if ((bitmap & (1 << nibble)) === 0) continue;
      const length = reader.compactU32();
      if (length > HASH_LENGTH) throw new NodeDecodeError(`child ${nibble} has a Merkle value of ${length} bytes, more than ${HASH_LENGTH}`);
      children[nibble] = reader.take(length);
    }
    if (reader.remaining !== 0) throw new NodeDecodeError(`${reader.remaining} bytes after the node`);
    return { partialKey, value, children };
  } catch (e) {
    if (e instanceof ScaleError) throw new NodeDecodeError(e.message);
    throw e;
  }
}

/** Encodes a node from its parts (the inverse of {@link decodeNode}). */
export function encodeNodeParts(node: DecodedNode): Uint8Array {
  const { partialKey, value, children } = node;
  const hasChildren = children.some((child) => child !== null);
  let kind: number;
  let lengthBits: number;
  if (value.type === 'none') {
    // Only the empty trie has neither; it is encoded as the single byte 00.
    if (!hasChildren) return Uint8Array.of(0);
    [kind, lengthBits] = [0b10, 6];
  } else if (value.type === 'hashed') {
    [kind, lengthBits] = hasChildren ? [0b0001, 4] : [0b001, 5];
  } else {
    [kind, lengthBits] = hasChildren ? [0b11, 6] : [0b01, 6];
  }

  const parts: Uint8Array[] = [];
  const partialLength = partialKey.length;
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
  let nibble = 0;
  let out = 0;
  if (partialLength % 2 === 1) keyBytes[out++] = partialKey[nibble++]!;
  for (; out < keyBytes.length; out++, nibble += 2) keyBytes[out] = (partialKey[nibble]! << 4) | partialKey[nibble + 1]!;
  parts.push(keyBytes);

  if (hasChildren) {
    let bitmap = 0;
    children.forEach((child, index) => {
      if (child !== null) bitmap |= 1 << index;
    });
    parts.push(Uint8Array.of(bitmap & 0xff, bitmap >>> 8));
  }
  if (value.type === 'hashed') parts.push(value.hash);
  else if (value.type === 'inline') parts.push(encodeCompact(value.bytes.length), value.bytes);
  for (const child of children) if (child !== null) parts.push(encodeCompact(child.length), child);
  return concatBytes(parts);
}

/**
 * Encodes one node of a trie being built: the partial key is nibbles `[from, to)` of `key`,
 * `value` its value (or `null`; hashed when `version` says so), `children` the Merkle values of
 * its 16 possible children.
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
  const partialKey = new Uint8Array(to - from);
  for (let i = from; i < to; i++) partialKey[i - from] = nibbleAt(key, i);
  return encodeNodeParts({ partialKey, value: storedValue(value, version, hasher), children });
}

/** How `value` is stored in its node under `version`: inline, or hashed (version 1, 33 bytes or more). */
export function storedValue(value: Uint8Array | null, version: StateVersion, hasher: (data: Uint8Array) => Uint8Array): NodeValue {
  if (value === null) return NO_VALUE;
  if (version === 1 && value.length > MAX_INLINE_VALUE) return { type: 'hashed', hash: hasher(value) };
  return { type: 'inline', bytes: value };
}

/** The Merkle value of a node's encoding as a child: the encoding itself if shorter than 32 bytes, else its hash. */
export function merkleValue(encoded: Uint8Array, hasher: (data: Uint8Array) => Uint8Array): Uint8Array {
  return encoded.length < HASH_LENGTH ? encoded : hasher(encoded);
}

/** Nibble `index` of `key` (the high half of each byte first). */
export function nibbleAt(key: Uint8Array, index: number): number {
  const byte = key[index >> 1]!;
  return index % 2 === 0 ? byte >> 4 : byte & 0xf;
}

/** `key` as nibbles, one per element. */
export function toNibbles(key: Uint8Array): Uint8Array {
  const nibbles = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    nibbles[2 * i] = key[i]! >> 4;
    nibbles[2 * i + 1] = key[i]! & 0xf;
  }
  return nibbles;
}

/** The bytes an even number of nibbles stand for. */
export function fromNibbles(nibbles: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(nibbles.length >> 1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (nibbles[2 * i]! << 4) | nibbles[2 * i + 1]!;
  return bytes;
}

/** The number of leading nibbles `a` and `b` share. */
export function commonNibbles(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a[i] === b[i]) i++;
  if (i === length) return 2 * i;
  return (a[i]! >> 4) === (b[i]! >> 4) ? 2 * i + 1 : 2 * i;
}
