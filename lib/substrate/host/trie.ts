/**
 * The trie host functions: the Merkle root of a list the runtime hands over, and the check of a
 * Merkle proof, answered inline (see `state/trie-node.ts` for the trie and its codec).
 *
 * | function | input | keys |
 * |---|---|---|
 * | `ext_trie_{blake2,keccak}_256_root` (v1: state version 0; v2: `(input, version)`) | SCALE `Vec<(Vec<u8>, Vec<u8>)>` | as given (a later duplicate wins) |
 * | `ext_trie_{blake2,keccak}_256_ordered_root` (v1, v2) | SCALE `Vec<Vec<u8>>` | the compact-encoded indexes: how a block's extrinsics root is computed |
 *
 * Each answers a pointer to the 32-byte root in the heap. The input is decoded with every
 * length checked against the bytes there, so a hostile length cannot make the host allocate.
 *
 * And the verification of a compact Merkle proof (`state/compact-proof.ts`, the format of
 * `sp_trie::generate_trie_proof`), answered inline with the same node codec:
 *
 * | function | arguments | answers |
 * |---|---|---|
 * | `ext_trie_{blake2,keccak}_256_verify_proof` (v1: state version 0; v2: `..., version`) | `root: *[u8; 32]`, `proof: Vec<Vec<u8>>`, `key`, `value` | 1 if the proof shows `key` holding `value` under `root`, else 0 |
 *
 * (smoldot does not serve these; Substrate does, and runtimes call them: the Bulletin chain's
 * transaction storage checks its chunk proofs with them.)
 *
 * @module
 */

import { ScaleReader } from '../encoding/scale.js';
import { verifyCompactProof } from '../state/compact-proof.js';
import { type StateVersion, type TrieHash, orderedTrieRoot, trieRoot } from '../state/trie-root.js';
import { type HostFunctionTable, type InlineHostFunction, argBuffer, argFixed, i32, inline, ps, returnPointer, sig } from './definition.js';
import { stateVersionArg } from './storage.js';

/** Decodes a whole `Vec<(Vec<u8>, Vec<u8>)>`. */
export function decodeKeyValues(input: Uint8Array): { key: Uint8Array; value: Uint8Array }[] {
  const reader = new ScaleReader(input);
  const count = reader.vecLength(2);
  const entries = [];
  for (let i = 0; i < count; i++) entries.push({ key: reader.bytesVec(), value: reader.bytesVec() });
  reader.end();
  return entries;
}

/** Decodes a whole `Vec<Vec<u8>>`. */
export function decodeValues(input: Uint8Array): Uint8Array[] {
  const reader = new ScaleReader(input);
  const count = reader.vecLength(1);
  const values = [];
  for (let i = 0; i < count; i++) values.push(reader.bytesVec());
  reader.end();
  return values;
}

function rootFunction(name: string, hash: TrieHash, ordered: boolean, versioned: boolean): InlineHostFunction {
  return inline(sig(versioned ? [ps, i32] : [ps], i32), (context, memory, [input, version]) => {
    const bytes = argBuffer(memory, input, 'input');
    const stateVersion: StateVersion = versioned ? stateVersionArg(name, version) : 0;
    const root = ordered ? orderedTrieRoot(decodeValues(bytes), stateVersion, hash) : trieRoot(decodeKeyValues(bytes), stateVersion, hash);
    return returnPointer(context, memory, root);
  });
}

function verifyProofFunction(name: string, hash: TrieHash, versioned: boolean): InlineHostFunction {
  return inline(sig(versioned ? [i32, ps, ps, ps, i32] : [i32, ps, ps, ps], i32), (_context, memory, [root, proof, key, value, version]) => {
    const rootBytes = argFixed(memory, root, 32, 'root');
    const nodes = decodeValues(argBuffer(memory, proof, 'proof'));
    const item = { key: argBuffer(memory, key, 'key'), value: argBuffer(memory, value, 'value') };
    const stateVersion: StateVersion = versioned ? stateVersionArg(name, version) : 0;
    return verifyCompactProof(rootBytes, nodes, [item], stateVersion, hash) ? 1 : 0;
  });
}

/** The trie host functions, by import name. */
export const TRIE_HOST_FUNCTIONS: HostFunctionTable = Object.fromEntries(
  (['blake2', 'keccak'] as const).flatMap((family) => {
    const hash: TrieHash = family === 'blake2' ? 'blake2-256' : 'keccak-256';
    return [1, 2].flatMap((version) => {
      const roots = (['root', 'ordered_root'] as const).map((kind) => {
        const name = `ext_trie_${family}_256_${kind}_version_${version}`;
        return [name, rootFunction(name, hash, kind === 'ordered_root', version === 2)] as const;
      });
      const verify = `ext_trie_${family}_256_verify_proof_version_${version}`;
      return [...roots, [verify, verifyProofFunction(verify, hash, version === 2)] as const];
    });
  }),
);
