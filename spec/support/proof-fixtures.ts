/**
 * Test helper for Merkle proofs: random states shaped like Substrate's (keys sharing long
 * prefixes, keys that are prefixes of others, the empty key, values on both sides of state
 * version 1's 33-byte threshold), random reads of them, and the ways a proof is damaged in the
 * adversarial tests (bytes flipped, entries removed alone, or cut away with everything below
 * them).
 */
import { toHex } from '../../lib/substrate/encoding/hex.js';
import type { StorageRead } from '../../lib/substrate/state/providers.js';
import { HASH_LENGTH, NodeDecodeError, decodeNode, trieHasher } from '../../lib/substrate/state/trie-node.js';

/** Entries by `0x` hex key (the form `MapStorage` takes). */
export type HexEntries = [string, Uint8Array][];

const bytesOf = (random: () => number, length: number) => Uint8Array.from({ length }, () => Math.floor(random() * 256));

/** A random value: empty, short, 32 or 33 bytes (the threshold), or long. */
export function randomValue(random: () => number): Uint8Array {
  const lengths = [0, 1, 5, 31, 32, 33, 34, 70, 200];
  return bytesOf(random, lengths[Math.floor(random() * lengths.length)]!);
}

/**
 * `count` random entries: keys made of a few shared "pallet" prefixes and random suffixes, some
 * keys prefixes of others, now and then the empty key.
 */
export function randomEntries(random: () => number, count: number): HexEntries {
  const prefixes = Array.from({ length: 4 }, () => bytesOf(random, 1 + Math.floor(random() * 16)));
  const entries = new Map<string, Uint8Array>();
  const keys: Uint8Array[] = [];
  while (entries.size < count) {
    let key: Uint8Array;
    const roll = random();
    if (roll < 0.02) key = new Uint8Array();
    else if (roll < 0.15 && keys.length > 0) {
      // A key that extends another (its node is a branch with a value).
      const base = keys[Math.floor(random() * keys.length)]!;
      key = Uint8Array.from([...base, ...bytesOf(random, 1 + Math.floor(random() * 3))]);
    } else {
      const prefix = prefixes[Math.floor(random() * prefixes.length)]!;
      key = Uint8Array.from([...prefix, ...bytesOf(random, Math.floor(random() * 12))]);
    }
    if (entries.has(toHex(key))) continue;
    keys.push(key);
    entries.set(toHex(key), randomValue(random));
  }
  return [...entries];
}

/** Random reads of a state: keys it has, keys it lacks (prefixes, extensions, neighbours), `get` and `nextKey`. */
export function randomReads(random: () => number, entries: HexEntries, count: number, childTrie: Uint8Array | null = null): StorageRead[] {
  const keys = entries.map(([key]) => Uint8Array.from(Buffer.from(key.slice(2), 'hex')));
  const reads: StorageRead[] = [];
  for (let i = 0; i < count; i++) {
    const base = keys.length === 0 ? new Uint8Array() : keys[Math.floor(random() * keys.length)]!;
    let key: Uint8Array;
    const roll = random();
    if (roll < 0.5) key = base;
    else if (roll < 0.65) key = base.subarray(0, Math.floor(random() * base.length));
    else if (roll < 0.8) key = Uint8Array.from([...base, Math.floor(random() * 256)]);
    else if (roll < 0.95 && base.length > 0) {
      key = base.slice();
      key[key.length - 1] = (key[key.length - 1]! + 1) & 0xff;
    } else key = bytesOf(random, Math.floor(random() * 20));
    reads.push({ kind: random() < 0.6 ? 'get' : 'nextKey', key, childTrie });
  }
  return reads;
}

/** The entries of a proof that the state root still commits to when `removed` are gone (blake2). */
export function committedEntries(stateRoot: Uint8Array, entries: readonly Uint8Array[], removed: ReadonlySet<number>): Uint8Array[] {
  const hasher = trieHasher('blake2-256');
  const byHash = new Map<string, number>();
  entries.forEach((entry, index) => {
    if (!removed.has(index)) byHash.set(toHex(hasher(entry)), index);
  });
  const kept = new Set<number>();
  const pending: { hash: Uint8Array; asNode: boolean }[] = [{ hash: stateRoot, asNode: true }];
  while (pending.length > 0) {
    const { hash, asNode } = pending.pop()!;
    const index = byHash.get(toHex(hash));
    if (index === undefined || kept.has(index)) continue;
    kept.add(index);
    if (!asNode) continue;
    const nodes = [entries[index]!];
    while (nodes.length > 0) {
      let node;
      try {
        node = decodeNode(nodes.pop()!);
      } catch (e) {
        if (e instanceof NodeDecodeError) break;
        throw e;
      }
      if (node.value.type === 'hashed') pending.push({ hash: node.value.hash, asNode: false });
      if (node.value.type === 'inline' && node.value.bytes.length === HASH_LENGTH) pending.push({ hash: node.value.bytes, asNode: true });
      for (const child of node.children) {
        if (child === null) continue;
        if (child.length === HASH_LENGTH) pending.push({ hash: child, asNode: true });
        else if (child.length > 0) nodes.push(child);
      }
    }
  }
  return entries.filter((_, index) => kept.has(index));
}

/** `bytes` with bit `bit` of byte `at` flipped (a copy). */
export function flipped(bytes: Uint8Array, at: number, bit = 0): Uint8Array {
  const copy = bytes.slice();
  copy[at] = copy[at]! ^ (1 << bit);
  return copy;
}
