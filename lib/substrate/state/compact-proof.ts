/**
 * Compact Merkle proofs, as `trie-db` makes them (`sp_trie::generate_trie_proof`) and checks
 * them (`sp_trie::verify_trie_proof`): what a runtime hands to the
 * `ext_trie_{blake2,keccak}_256_verify_proof_version_{1,2}` host functions (the Bulletin chain's
 * transaction storage proofs, bridges' message proofs).
 *
 * A read proof (`trie-proof.ts`) is a bag of node encodings in which every node is named by its
 * parent's hash. A compact proof leaves out everything the verifier can recompute:
 *
 * - the nodes are listed in the order of a depth-first walk from the root down the paths of the
 *   keys being proven (keys in order), each node once;
 * - a child that is itself in the proof is written with an empty Merkle value (compact length
 *   0) instead of its hash: its hash is recomputed from the node that follows;
 * - the value of each proven key is left out (a leaf's value is written empty, a branch is
 *   written without its value): the statement being verified supplies it.
 *
 * To verify `(key, value)` pairs against a root, the walk is replayed: down from the root along
 * the keys, taking the next listed node at each omitted child; the statement's values are put
 * back (stored as their hash when state version 1 says so, 33 bytes or more); then every node is
 * re-encoded bottom-up with its children's recomputed Merkle values, and the root's hash must
 * equal the root. A statement that a key has no value holds when the walk shows the key absent.
 * Anything else is a failed verification: a node that does not decode, a value left in where it
 * should be omitted, a child given by hash where the proof should continue, a node too many or
 * too few, a root that differs. The node codec is `trie-node.ts`, shared with roots and read
 * proofs.
 *
 * @module
 */

import { type DecodedNode, HASH_LENGTH, NO_VALUE, NodeDecodeError, type NodeValue, type StateVersion, type TrieHash, decodeNode, encodeNodeParts, storedValue, toNibbles, trieHasher } from './trie-node.js';
import { compareBytes } from './trie-root.js';

/** One statement a compact proof is checked against: `key` has `value` (`null`: has none). */
export interface CompactProofItem {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

/** A node of the proof being replayed. */
interface Entry {
  /** The nibbles of the key before the node's partial key. */
  readonly prefix: Uint8Array;
  readonly node: DecodedNode;
  /** Whether the node sits inline in its parent (its Merkle value is its encoding). */
  readonly inline: boolean;
  /** The node's value, the statement's put back where the proof omits it. */
  value: NodeValue;
  /** The slot of the next child to fill. */
  childIndex: number;
  /** The children's Merkle values, recomputed where the proof omits them. */
  readonly children: (Uint8Array | null)[];
}

/** Where a key stands against a node of the proof. */
type Match =
  | { readonly type: 'leaf' } // the key ends at a leaf whose value is omitted
  | { readonly type: 'branch' } // the key ends at a branch whose value (if any) is omitted
  | { readonly type: 'absent' }
  | { readonly type: 'not-omitted' } // the key ends at a node whose value the proof should have left out
  | { readonly type: 'child'; readonly prefixLength: number };

/**
 * Whether the compact proof `proof` shows every statement of `items` in the trie whose root hash
 * is `root` (values hashed as `version` says, nodes hashed with `hash`); see the module
 * documentation. Never throws for a bad proof: it answers `false`.
 */
export function verifyCompactProof(
  root: Uint8Array,
  proof: readonly Uint8Array[],
  items: readonly CompactProofItem[],
  version: StateVersion,
  hash: TrieHash = 'blake2-256',
): boolean {
  try {
    return replay(root, proof, items, version, trieHasher(hash));
  } catch (e) {
    if (e instanceof NodeDecodeError) return false;
    throw e;
  }
}

function replay(
  root: Uint8Array,
  proof: readonly Uint8Array[],
  items: readonly CompactProofItem[],
  version: StateVersion,
  hasher: (data: Uint8Array) => Uint8Array,
): boolean {
  const sorted = [...items].sort((a, b) => compareBytes(a.key, b.key));
  if (sorted.length === 0) return proof.length === 0;
  for (let i = 1; i < sorted.length; i++) if (compareBytes(sorted[i - 1]!.key, sorted[i]!.key) === 0) return false;
  const keys = sorted.map((item) => toNibbles(item.key));

  let next = 0;
  const entry = (bytes: Uint8Array, prefix: Uint8Array, inline: boolean): Entry => {
    const node = decodeNode(bytes);
    return { prefix, node, inline, value: node.value, childIndex: 0, children: new Array<Uint8Array | null>(16).fill(null) };
  };
  if (proof.length === 0) return false;
  let last = entry(proof[next++]!, new Uint8Array(), false);
  const stack: Entry[] = [];
  let item = 0;
  for (;;) {
    // Put back the values of the statements about this node; stop at the first one below a child.
    let descend: Uint8Array | null = null;
    while (item < sorted.length) {
      const key = keys[item]!;
      if (!startsWith(key, last.prefix)) break;
      const match = matchKey(key, last.prefix.length, last.node);
      const value = sorted[item]!.value;
      if (match.type === 'child') {
        descend = key.subarray(0, match.prefixLength);
        break;
      }
      if (match.type === 'not-omitted') return false;
      if (match.type === 'leaf' && value === null) return false;
      if (match.type === 'absent' && value !== null) return false;
      if (match.type === 'leaf' || match.type === 'branch') last.value = value === null ? NO_VALUE : storedValue(value, version, hasher);
      item++;
    }

    if (descend !== null) {
      const slot = descend[descend.length - 1]!;
      while (last.childIndex < slot) {
        last.children[last.childIndex] = last.node.children[last.childIndex] ?? null;
        last.childIndex++;
      }
      const child = last.node.children[slot]!;
      let childEntry: Entry;
      if (child.length === 0) {
        if (next >= proof.length) return false;
        childEntry = entry(proof[next++]!, descend, false);
      } else if (child.length < HASH_LENGTH) {
        childEntry = entry(child, descend, true);
      } else {
        return false; // given by hash where the proof should go on
      }
      stack.push(last);
      last = childEntry;
      continue;
    }

    // Every statement about this subtree is in: rebuild the node.
    while (last.childIndex < 16) {
      last.children[last.childIndex] = last.node.children[last.childIndex] ?? null;
      last.childIndex++;
    }
    const encoded = encodeNodeParts({ partialKey: last.node.partialKey, value: last.value, children: last.children });
    let merkle: Uint8Array;
    if (last.inline) {
      if (encoded.length > HASH_LENGTH) return false;
      merkle = encoded;
    } else {
      merkle = hasher(encoded);
    }
    const parent = stack.pop();
    if (parent === undefined) return next === proof.length && compareBytes(merkle, root) === 0;
    parent.children[parent.childIndex] = merkle;
    parent.childIndex++;
    last = parent;
  }
}

/** Where `key` stands against `node`, whose partial key starts at nibble `prefixLength`. */
function matchKey(key: Uint8Array, prefixLength: number, node: DecodedNode): Match {
  const isBranch = node.children.some((child) => child !== null);
  if (!isBranch && node.value.type === 'none') return { type: 'absent' }; // the empty trie
  const partial = node.partialKey;
  if (key.length < prefixLength + partial.length) return { type: 'absent' };
  for (let i = 0; i < partial.length; i++) if (key[prefixLength + i] !== partial[i]) return { type: 'absent' };
  const end = prefixLength + partial.length;
  if (!isBranch) {
    if (key.length !== end) return { type: 'absent' };
    return node.value.type === 'inline' && node.value.bytes.length === 0 ? { type: 'leaf' } : { type: 'not-omitted' };
  }
  if (key.length === end) return node.value.type === 'none' ? { type: 'branch' } : { type: 'not-omitted' };
  return node.children[key[end]!] === null ? { type: 'absent' } : { type: 'child', prefixLength: end + 1 };
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > key.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}
