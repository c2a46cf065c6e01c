/**
 * Test helper: compact Merkle proofs made the way `trie-db`'s `generate_proof` makes them
 * (`sp_trie::generate_trie_proof`), from a trie built with the library's own walk, so that the
 * `ext_trie_*_verify_proof` host functions can be given proofs of any trie. That this generator
 * is right is itself checked: it reproduces, byte for byte, a proof Substrate generated (the
 * transaction storage vector in `spec/substrate/trie-proof.test.ts`).
 *
 * The proof lists the nodes met on the way down to each key (keys in order), depth first, each
 * as its encoding with the children that are themselves in the proof written as empty Merkle
 * values, and the values of the proven keys left out (a leaf's written empty, a branch's
 * dropped); inline nodes stay in their parents, with the same omissions.
 */
import { toHex } from '../../lib/substrate/encoding/hex.js';
import {
  NO_VALUE,
  type StateVersion,
  type TrieHash,
  decodeNode,
  encodeNodeParts,
  nibbleAt,
} from '../../lib/substrate/state/trie-node.js';
import { type BuiltNode, type TrieEntry, compareBytes, sortedTrieRoot } from '../../lib/substrate/state/trie-root.js';

/** The root of the trie of `entries` and the compact proof of `keys` in it. */
export function compactProof(
  entries: readonly TrieEntry[],
  keys: readonly Uint8Array[],
  version: StateVersion,
  hash: TrieHash = 'blake2-256',
): { root: Uint8Array; proof: Uint8Array[] } {
  const unique = new Map(entries.map((entry) => [toHex(entry.key), entry] as const));
  const sorted = [...unique.values()].sort((a, b) => compareBytes(a.key, b.key));
  const nodes: BuiltNode[] = [];
  const root = sortedTrieRoot(sorted, version, hash, (node) => nodes.push(node) - 1);
  const wanted = [...new Map(keys.map((key) => [toHex(key), key] as const)).values()].sort(compareBytes);
  const proof: Uint8Array[] = [];

  /** Whether `key` starts with the first `length` nibbles of `reference`. */
  const startsWith = (key: Uint8Array, reference: Uint8Array, length: number, nibble = -1): boolean => {
    const total = nibble === -1 ? length : length + 1;
    if (key.length * 2 < total) return false;
    for (let i = 0; i < length; i++) if (nibbleAt(key, i) !== nibbleAt(reference, i)) return false;
    return nibble === -1 || nibbleAt(key, length) === nibble;
  };

  /** Emits the proof nodes of the subtree `id` for `under` (keys through it), returns its encoding with omissions. */
  const emit = (id: number, under: readonly Uint8Array[]): Uint8Array => {
    const node = nodes[id]!;
    const slot = node.hashed ? proof.push(new Uint8Array()) - 1 : -1;
    const decoded = decodeNode(node.encoded);
    const children = [...decoded.children];
    const ends = under.some((key) => key.length * 2 === node.keyLength && startsWith(key, node.key, node.keyLength));
    for (let nibble = 0; nibble < 16; nibble++) {
      const child = node.children[nibble]!;
      if (child === -1) continue;
      const through = under.filter((key) => startsWith(key, node.key, node.keyLength, nibble));
      if (through.length === 0) continue;
      const encoded = emit(child, through);
      children[nibble] = nodes[child]!.hashed ? new Uint8Array() : encoded;
    }
    let value = decoded.value;
    if (ends && value.type !== 'none') value = children.some((child) => child !== null) ? NO_VALUE : { type: 'inline', bytes: new Uint8Array() };
    const encoded = encodeNodeParts({ partialKey: decoded.partialKey, value, children });
    if (slot !== -1) proof[slot] = encoded;
    return encoded;
  };
  // Keys that depart from the root's partial key still visit the root.
  if (wanted.length > 0) emit(nodes.length - 1, wanted);
  return { root, proof };
}
