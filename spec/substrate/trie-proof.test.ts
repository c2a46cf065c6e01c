/**
 * Merkle proofs on synthetic states (no runtime): the node decoder, `createReadProof` and
 * `ProofStorage` against `MapStorage` on random states (state versions 0 and 1, child tries),
 * against an independent implementation (smoldot's trie code in chopsticks-executor:
 * `create_proof`, `decode_proof`, `calculate_state_root`), damaged proofs, fetching, and the
 * compact proofs of the `ext_trie_*_verify_proof` host functions (a proof Substrate generated, and
 * random tries with both hash functions).
 *
 * Every randomized test is seeded; counts are fixed, never time-bound.
 */
import { calculate_state_root, create_proof, decode_proof } from '@acala-network/chopsticks-executor';
import { ProofError } from '../../lib/substrate/errors.js';
import { fromHex, toHex } from '../../lib/substrate/encoding/hex.js';
import { ScaleReader, concatBytes, encodeCompact } from '../../lib/substrate/encoding/scale.js';
import { verifyCompactProof } from '../../lib/substrate/state/compact-proof.js';
import { DEFAULT_CHILD_STORAGE_PREFIX } from '../../lib/substrate/state/overlay.js';
import { ProofStorage } from '../../lib/substrate/state/proof-storage.js';
import { LayeredStorage, MapStorage, type StorageRead } from '../../lib/substrate/state/providers.js';
import { createReadProof } from '../../lib/substrate/state/read-proof.js';
import {
  NO_VALUE,
  NodeDecodeError,
  type StateVersion,
  type TrieHash,
  decodeNode,
  encodeNodeParts,
  trieHasher,
} from '../../lib/substrate/state/trie-node.js';
import { type BuiltNode, compareBytes, orderedTrieRoot, sortedTrieRoot, trieRoot } from '../../lib/substrate/state/trie-root.js';
import { prng } from '../support/allocator-prng.js';
import { compactProof } from '../support/compact-proof.js';
import { type HexEntries, committedEntries, flipped, randomEntries, randomReads, randomValue } from '../support/proof-fixtures.js';

const blake2 = trieHasher('blake2-256');
const VERSIONS: readonly StateVersion[] = [0, 1];

/** What a provider answers to `read`, as hex (or `null`). */
function answerOf(storage: MapStorage | ProofStorage, read: StorageRead): string | null {
  const answer = read.kind === 'get' ? storage.get(read.key, read.childTrie) : storage.nextKey(read.key, read.childTrie);
  if (answer instanceof Promise) throw new Error('a synchronous answer was expected');
  return answer === null ? null : toHex(answer as Uint8Array);
}

/** The outcome of `read` through `storage`: its answer, or the kind of the ProofError. */
function outcome(storage: ProofStorage, read: StorageRead): { answer: string | null } | { error: string } {
  try {
    return { answer: answerOf(storage, read) };
  } catch (e) {
    if (e instanceof ProofError) return { error: e.kind };
    throw e;
  }
}

/** Checks that each read through `proven` is answered as `expected` says, or is Incomplete; counts which. */
function expectEqualOrIncomplete(proven: ProofStorage, reads: readonly StorageRead[], expected: readonly (string | null)[], tally: { equal: number; incomplete: number }): void {
  reads.forEach((read, i) => {
    const got = outcome(proven, read);
    if ('error' in got) {
      expect(got.error).toBe('Incomplete');
      tally.incomplete++;
    } else {
      expect(got.answer).toBe(expected[i]);
      tally.equal++;
    }
  });
}

const entriesOf = (entries: HexEntries) => entries.map(([key, value]) => ({ key: fromHex(key), value }));
const sortedHex = (entries: HexEntries): [string, string][] => entries.map(([k, v]) => [k, toHex(v)] as [string, string]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe('the node codec', () => {
  test('decoding then encoding gives back every node of random tries, both state versions', () => {
    const random = prng(7);
    let nodes = 0;
    for (let trial = 0; trial < 20; trial++) {
      const entries = entriesOf(randomEntries(random, 1 + Math.floor(random() * 60))).sort((a, b) => compareBytes(a.key, b.key));
      for (const version of VERSIONS) {
        sortedTrieRoot(entries, version, 'blake2-256', (node: BuiltNode) => {
          expect(toHex(encodeNodeParts(decodeNode(node.encoded)))).toBe(toHex(node.encoded));
          return nodes++;
        });
      }
    }
    expect(nodes).toBeGreaterThan(500);
  });

  test.each([
    ['nothing', ''],
    ['the empty node with a byte after it', '0000'],
    ['the escape header of compact encodings', '01'],
    ['a header no node has', '0f'],
    ['an odd partial key whose padding nibble is not zero', '41f104aa'],
    ['a branch without children', '800000'],
    ['a child Merkle value of 33 bytes', '80010084' + '00'.repeat(33)],
    ['a byte after the node', '400000'],
    ['a value length not in its shortest form', '40' + '0100'],
    ['a node cut short', '4208aa'],
    ['a partial key longer than 65,535 nibbles', '7f' + 'ff'.repeat(257) + '00'],
  ])('refuses %s', (_what, hex) => {
    expect(() => decodeNode(fromHex(hex))).toThrow(NodeDecodeError);
  });
});

describe('createReadProof and ProofStorage against MapStorage', () => {
  test.each(VERSIONS)('state version %i: every read of the proof answered as MapStorage answers it; other reads equal or Incomplete', async (version) => {
    const random = prng(100 + version);
    let covered = 0;
    let incomplete = 0;
    let equalOutside = 0;
    for (let trial = 0; trial < 25; trial++) {
      const entries = randomEntries(random, 1 + Math.floor(random() * 80));
      const storage = new MapStorage(entries);
      const reads = randomReads(random, entries, 12);
      const proof = await createReadProof(storage, reads, { stateVersion: version });
      expect(toHex(proof.stateRoot)).toBe(toHex(trieRoot(entriesOf(entries), version)));
      const proven = new ProofStorage(proof.stateRoot, proof.nodes);
      for (const read of reads) {
        expect(outcome(proven, read)).toEqual({ answer: answerOf(storage, read) });
        covered++;
      }
      for (const read of randomReads(random, entries, 12)) {
        const got = outcome(proven, read);
        if ('error' in got) {
          expect(got.error).toBe('Incomplete');
          incomplete++;
        } else {
          expect(got.answer).toBe(answerOf(storage, read));
          equalOutside++;
        }
      }
    }
    expect(covered).toBe(300);
    expect(incomplete).toBeGreaterThan(30);
    expect(equalOutside).toBeGreaterThan(30);
  });

  test('an Incomplete read names its key and child trie; the proof lists its entries sorted, each once', async () => {
    const entries = randomEntries(prng(5), 40);
    const storage = new MapStorage(entries);
    const [first, second] = [fromHex(entries[0]![0]), fromHex(entries[1]![0])];
    const proof = await createReadProof(storage, [first, first, toHex(first)], { stateVersion: 1 });
    const sorted = [...proof.nodes].sort(compareBytes);
    expect(proof.nodes.map(toHex)).toEqual(sorted.map(toHex));
    expect(new Set(proof.nodes.map(toHex)).size).toBe(proof.nodes.length);
    const proven = new ProofStorage(toHex(proof.stateRoot), proof.nodes.map(toHex));
    expect(toHex(proven.get(first, null) as Uint8Array)).toBe(toHex(storage.get(first, null)!));
    let error: unknown;
    try {
      proven.get(second, null);
    } catch (e) {
      error = e;
    }
    // (The second key may share the first one's path to its end; then it is answered.)
    if (error !== undefined) {
      expect(error).toBeInstanceOf(ProofError);
      expect(error).toMatchObject({ kind: 'Incomplete', key: second, childTrie: null });
      expect((error as ProofError).message).toContain(toHex(second));
    }
  });

  test('a LayeredStorage is proven as it reads (its diffs over its base)', async () => {
    const random = prng(9);
    const entries = randomEntries(random, 50);
    const base = new MapStorage(entries);
    const layered = new LayeredStorage(base, {
      main: new Map<string, Uint8Array | null>([
        [entries[3]![0], null],
        [entries[4]![0], Uint8Array.of(1, 2, 3)],
        ['0x' + 'ee'.repeat(20), new Uint8Array(40).fill(7)],
      ]),
      children: new Map(),
      offchainIndex: new Map(),
    });
    const reads = randomReads(random, entries, 20).concat([{ kind: 'get', key: fromHex('0x' + 'ee'.repeat(20)), childTrie: null }]);
    const proof = await createReadProof(layered, reads, { stateVersion: 1 });
    const proven = new ProofStorage(proof.stateRoot, proof.nodes);
    for (const read of reads) {
      const expected = read.kind === 'get' ? layered.get(read.key, null) : layered.nextKey(read.key, null);
      const value = expected as Uint8Array | null | undefined;
      expect(outcome(proven, read)).toEqual({ answer: value === null || value === undefined ? null : toHex(value) });
    }
  });
});

describe('against smoldot (chopsticks-executor)', () => {
  test('create_proof of a whole state: its root is ours, ProofStorage decodes every entry and walks every next key', async () => {
    const random = prng(21);
    for (let trial = 0; trial < 8; trial++) {
      const entries = randomEntries(random, 5 + Math.floor(random() * 60)).filter(([key]) => key !== '0x');
      const hexEntries = sortedHex(entries);
      const [root, nodes] = (await create_proof([], hexEntries)) as [string, string[]];
      expect(root).toBe(toHex(trieRoot(entriesOf(entries), 0)));
      const proven = new ProofStorage(root, nodes);
      expect(proven.entries().map(({ key, value }) => [toHex(key), toHex(value)])).toEqual(hexEntries);
      const keys = hexEntries.map(([key]) => key);
      for (let i = 0; i < keys.length; i++) expect(answerOf(proven, { kind: 'nextKey', key: fromHex(keys[i]!), childTrie: null })).toBe(keys[i + 1] ?? null);
      expect(answerOf(proven, { kind: 'nextKey', key: new Uint8Array(), childTrie: null })).toBe(keys[0]);
    }
  });

  test.each(VERSIONS)('state version %i: decode_proof of our proofs lists what ProofStorage lists; calculate_state_root is our root', async (version) => {
    const random = prng(31 + version);
    let listed = 0;
    for (let trial = 0; trial < 10; trial++) {
      const entries = randomEntries(random, 5 + Math.floor(random() * 60));
      const storage = new MapStorage(entries);
      const proof = await createReadProof(storage, randomReads(random, entries, 10), { stateVersion: version });
      expect(await calculate_state_root(sortedHex(entries), version)).toBe(toHex(proof.stateRoot));
      const theirs = (await decode_proof(toHex(proof.stateRoot), proof.nodes.map(toHex))) as [string, string][];
      const ours = new ProofStorage(proof.stateRoot, proof.nodes).entries().map(({ key, value }) => [toHex(key), toHex(value)]);
      expect(ours).toEqual(theirs);
      listed += ours.length;
    }
    expect(listed).toBeGreaterThan(50);
  });
});

describe('child tries', () => {
  const random = prng(41);
  const main = randomEntries(random, 30);
  const childA = Uint8Array.from([1, 2, 3]);
  const childB = new TextEncoder().encode('crowdloan');
  const childEntries = new Map([
    [toHex(childA), randomEntries(random, 25)],
    [toHex(childB), randomEntries(random, 3)],
  ]);
  const storage = new MapStorage(main, [...childEntries].map(([child, entries]) => [child, entries] as const));

  test.each(VERSIONS)('state version %i: reads in child tries are proven through the child roots in the main trie', async (version) => {
    const reads = [
      ...randomReads(random, childEntries.get(toHex(childA))!, 15, childA),
      ...childEntries.get(toHex(childB))!.map(([key]) => ({ kind: 'get' as const, key: fromHex(key), childTrie: childB })),
      ...randomReads(random, childEntries.get(toHex(childB))!, 5, childB),
      ...randomReads(random, main, 5),
      { kind: 'get' as const, key: Uint8Array.of(9), childTrie: Uint8Array.of(0xde, 0xad) },
      { kind: 'nextKey' as const, key: new Uint8Array(), childTrie: Uint8Array.of(0xde, 0xad) },
    ];
    const proof = await createReadProof(storage, reads, { stateVersion: version });
    const rootKey = (child: Uint8Array) => concatBytes(DEFAULT_CHILD_STORAGE_PREFIX, child);
    const childRoot = (child: Uint8Array) => trieRoot(entriesOf(childEntries.get(toHex(child))!), version);
    const mainWithRoots = [...entriesOf(main), { key: rootKey(childA), value: childRoot(childA) }, { key: rootKey(childB), value: childRoot(childB) }];
    expect(toHex(proof.stateRoot)).toBe(toHex(trieRoot(mainWithRoots, version)));
    const proven = new ProofStorage(proof.stateRoot, proof.nodes);
    for (const read of reads) expect(outcome(proven, read)).toEqual({ answer: answerOf(storage, read) });
    expect(proven.entries(childB).map(({ key }) => toHex(key)).sort()).toEqual(childEntries.get(toHex(childB))!.map(([key]) => key).sort());
  });

  test('a child trie whose root the proof lacks is Incomplete, naming the child trie; fetch asks for the main trie’s path first', async () => {
    const read = { kind: 'get' as const, key: fromHex(childEntries.get(toHex(childA))![0]![0]), childTrie: childA };
    const mainOnly = await createReadProof(storage, [main[0]![0]], { stateVersion: 1, childTries: [childA, childB] });
    const proven = new ProofStorage(mainOnly.stateRoot, mainOnly.nodes);
    expect(() => proven.get(read.key, childA)).toThrow(expect.objectContaining({ kind: 'Incomplete', key: read.key, childTrie: childA }));

    const asked: string[] = [];
    const lazy = new ProofStorage(mainOnly.stateRoot, [], {
      fetch: async (key, childTrie, kind) => {
        asked.push(`${kind} ${childTrie === null ? 'main' : toHex(childTrie)} ${toHex(key)}`);
        return (await createReadProof(storage, [{ kind, key, childTrie }], { stateVersion: 1, childTries: [childA, childB] })).nodes;
      },
    });
    expect(toHex((await lazy.get(read.key, childA))!)).toBe(toHex(storage.get(read.key, childA)!));
    expect(asked).toEqual([`get main ${toHex(rootKey(childA))}`, `get ${toHex(childA)} ${toHex(read.key)}`]);
    function rootKey(child: Uint8Array) {
      return concatBytes(DEFAULT_CHILD_STORAGE_PREFIX, child);
    }
  });
});

describe('damaged proofs', () => {
  /** A state, the reads, their proof and what MapStorage answers. */
  async function fixture(seed: number, version: StateVersion) {
    const random = prng(seed);
    const entries = randomEntries(random, 60);
    const storage = new MapStorage(entries);
    const reads = randomReads(random, entries, 15);
    const proof = await createReadProof(storage, reads, { stateVersion: version });
    return { random, storage, reads, proof, expected: reads.map((read) => answerOf(storage, read)) };
  }

  test.each(VERSIONS)('state version %i: a bit flipped anywhere in any entry makes the proof Invalid', async (version) => {
    const { random, proof } = await fixture(51 + version, version);
    let cases = 0;
    for (let index = 0; index < proof.nodes.length; index++) {
      const entry = proof.nodes[index]!;
      for (const at of new Set([0, entry.length - 1, Math.floor(random() * entry.length), Math.floor(random() * entry.length)])) {
        const damaged = proof.nodes.map((node, i) => (i === index ? flipped(node, at, Math.floor(random() * 8)) : node));
        expect(() => new ProofStorage(proof.stateRoot, damaged)).toThrow(expect.objectContaining({ name: 'ProofError', kind: 'Invalid' }));
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(3 * proof.nodes.length);
  });

  test.each(VERSIONS)('state version %i: entries cut away (with everything below them): every read equal or Incomplete', async (version) => {
    const { random, reads, proof, expected } = await fixture(61 + version, version);
    const tally = { equal: 0, incomplete: 0 };
    for (let trial = 0; trial < 40; trial++) {
      const removed = new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => Math.floor(random() * proof.nodes.length)));
      const proven = new ProofStorage(proof.stateRoot, committedEntries(proof.stateRoot, proof.nodes, removed));
      expectEqualOrIncomplete(proven, reads, expected, tally);
    }
    expect(tally.incomplete).toBeGreaterThan(0);
    expect(tally.equal).toBeGreaterThan(0);
  });

  test.each(VERSIONS)('state version %i: one entry removed alone: the entries below it hang from nothing (Invalid), or reads are equal or Incomplete', async (version) => {
    const { reads, proof, expected } = await fixture(71 + version, version);
    const tally = { invalid: 0, equal: 0, incomplete: 0 };
    for (let index = 0; index < proof.nodes.length; index++) {
      const remaining = proof.nodes.filter((_, i) => i !== index);
      const orphans = remaining.length - committedEntries(proof.stateRoot, remaining, new Set()).length;
      let proven: ProofStorage;
      try {
        proven = new ProofStorage(proof.stateRoot, remaining);
      } catch (e) {
        expect(e).toMatchObject({ name: 'ProofError', kind: 'Invalid' });
        expect(orphans).toBeGreaterThan(0);
        tally.invalid++;
        continue;
      }
      expect(orphans).toBe(0);
      expectEqualOrIncomplete(proven, reads, expected, tally);
    }
    expect(tally.invalid + tally.incomplete).toBeGreaterThan(0);
  });

  test('refused nodes leave the proof as it was: the honest ones are accepted after', async () => {
    const { storage, reads, proof, expected } = await fixture(85, 1);
    const first = await createReadProof(storage, [reads[0]!], { stateVersion: 1 });
    const proven = new ProofStorage(proof.stateRoot, first.nodes);
    const size = proven.size;
    // The rest of the proof with its last entry altered: refused whole.
    const damaged = proof.nodes.map((node, i) => (i === proof.nodes.length - 1 ? flipped(node, 0, 7) : node));
    expect(() => proven.addNodes(damaged)).toThrow(expect.objectContaining({ kind: 'Invalid' }));
    expect(proven.size).toBe(size);
    expect(proven.addNodes(proof.nodes)).toBe(proof.nodes.length - size);
    reads.forEach((read, i) => expect(outcome(proven, read)).toEqual({ answer: expected[i] }));
  });

  test('a proof of another state root is Invalid', async () => {
    const { proof } = await fixture(81, 1);
    const other = await fixture(82, 1);
    expect(() => new ProofStorage(other.proof.stateRoot, proof.nodes)).toThrow(/no entry of the proof hashes to the state root/);
    // Empty, it is no proof of anything: every read is Incomplete.
    expect(() => new ProofStorage(other.proof.stateRoot, []).get(Uint8Array.of(1), null)).toThrow(expect.objectContaining({ kind: 'Incomplete' }));
  });

  /** A root node naming `children` (Merkle values) in slots 0, 1, ..., and the proof of it. */
  function craft(node: Parameters<typeof encodeNodeParts>[0], extra: Uint8Array[] = []) {
    const encoded = encodeNodeParts(node);
    return { root: blake2(encoded), nodes: [encoded, ...extra] };
  }
  const slots = (...children: (Uint8Array | null)[]) => [...children, ...new Array<null>(16 - children.length).fill(null)];

  test('a committed node that is malformed, or that no trie has, is Invalid', () => {
    const garbage = Uint8Array.from([0x0f, ...new Array<number>(40).fill(1)]);
    const leaf = encodeNodeParts({ partialKey: Uint8Array.of(1, 2), value: { type: 'inline', bytes: new Uint8Array(40) }, children: slots() });
    const cases = [
      craft({ partialKey: new Uint8Array(), value: NO_VALUE, children: slots(blake2(garbage), blake2(leaf)) }, [garbage, leaf]),
      craft({ partialKey: new Uint8Array(), value: NO_VALUE, children: slots(blake2(leaf)) }, [leaf]), // a valueless branch with one child
      craft({ partialKey: new Uint8Array(), value: NO_VALUE, children: slots(Uint8Array.of(0), blake2(leaf)) }, [leaf]), // an empty node as a child
      craft({ partialKey: new Uint8Array(), value: NO_VALUE, children: slots(new Uint8Array(), blake2(leaf)) }, [leaf]), // an empty Merkle value
    ];
    for (const { root, nodes } of cases) expect(() => new ProofStorage(root, nodes)).toThrow(expect.objectContaining({ kind: 'Invalid' }));
  });

  test('a value at a key of an odd number of nibbles, met by nextKey, is Invalid', () => {
    // Slot 0 then two nibbles: a key of three nibbles.
    const leaf = encodeNodeParts({ partialKey: Uint8Array.of(5, 5), value: { type: 'inline', bytes: new Uint8Array(40) }, children: slots() });
    const other = encodeNodeParts({ partialKey: Uint8Array.of(5, 5, 5, 5), value: { type: 'inline', bytes: new Uint8Array(40) }, children: slots() });
    const { root, nodes } = craft({ partialKey: new Uint8Array(), value: NO_VALUE, children: slots(blake2(leaf), blake2(other)) }, [leaf, other]);
    const proven = new ProofStorage(root, nodes);
    expect(() => proven.nextKey(new Uint8Array(), null)).toThrow(expect.objectContaining({ kind: 'Invalid', key: new Uint8Array() }));
  });

  test('a trie 20,000 nodes deep is checked and read without recursion', () => {
    // Node d: key of d zero bytes (slot 0, then partial key 0), value [d & 0xff], child d + 1.
    const depth = 20_000;
    const nodes: Uint8Array[] = [];
    let below: Uint8Array | null = null;
    for (let d = depth - 1; d >= 0; d--) {
      const encoded = encodeNodeParts({
        partialKey: d === 0 ? new Uint8Array() : Uint8Array.of(0),
        value: { type: 'inline', bytes: Uint8Array.of(d & 0xff) },
        children: slots(below === null ? null : blake2(below)),
      });
      nodes.push(encoded);
      below = encoded;
    }
    const proven = new ProofStorage(blake2(below!), nodes);
    expect(proven.size).toBe(depth);
    expect(proven.get(new Uint8Array(depth - 1), null)).toEqual(Uint8Array.of((depth - 1) & 0xff));
    expect(proven.get(new Uint8Array(depth), null)).toBeNull();
    expect(proven.nextKey(new Uint8Array(12_345), null)).toEqual(new Uint8Array(12_346));
    expect(proven.nextKey(new Uint8Array(depth - 1), null)).toBeNull();
  });

  test('an entry named by a 32-byte value that is not a node (a hash stored as a value) is committed as data', async () => {
    const code = new Uint8Array(500).fill(3);
    const entries: HexEntries = [
      ['0x01', blake2(code)],
      ['0x02', code],
    ];
    const storage = new MapStorage(entries);
    const proof = await createReadProof(storage, ['0x01', '0x02'], { stateVersion: 1 });
    const proven = new ProofStorage(proof.stateRoot, proof.nodes);
    expect(proven.get(Uint8Array.of(2), null)).toEqual(code);
    // Read as a child trie's root, it is refused.
    const asChild = await createReadProof(new MapStorage([[toHex(concatBytes(DEFAULT_CHILD_STORAGE_PREFIX, Uint8Array.of(7))), blake2(code)], ['0x02', code]]), ['0x02'], {
      stateVersion: 1,
    });
    const all = await createReadProof(new MapStorage([[toHex(concatBytes(DEFAULT_CHILD_STORAGE_PREFIX, Uint8Array.of(7))), blake2(code)], ['0x02', code]]), [
      toHex(concatBytes(DEFAULT_CHILD_STORAGE_PREFIX, Uint8Array.of(7))),
    ], { stateVersion: 1 });
    const mixed = new ProofStorage(all.stateRoot, [...new Set([...all.nodes, ...asChild.nodes].map(toHex))]);
    expect(() => mixed.get(Uint8Array.of(1), Uint8Array.of(7))).toThrow(expect.objectContaining({ kind: 'Invalid', childTrie: Uint8Array.of(7) }));
  });
});

describe('fetching more nodes', () => {
  const random = prng(91);
  const entries = randomEntries(random, 80);
  const storage = new MapStorage(entries);
  const reads = randomReads(random, entries, 40);

  test('from an empty proof, each read fetches what it lacks, asynchronously, and is answered as MapStorage answers', async () => {
    const stateRoot = trieRoot(entriesOf(entries), 1);
    const events: { added: number }[] = [];
    const kinds = new Set<string>();
    let fetches = 0;
    const proven = new ProofStorage(stateRoot, [], {
      fetch: async (key, childTrie, kind) => {
        fetches++;
        kinds.add(kind);
        await new Promise((resolve) => setImmediate(resolve));
        return (await createReadProof(storage, [{ kind, key, childTrie }], { stateVersion: 1 })).nodes.map(toHex);
      },
      onVerified: (event) => events.push(event),
    });
    for (const read of reads) {
      const answer = read.kind === 'get' ? proven.get(read.key, null) : proven.nextKey(read.key, null);
      const value = await answer;
      expect(value === null ? null : toHex(value)).toBe(answerOf(storage, read));
    }
    expect(fetches).toBe(events.length);
    expect(fetches).toBeGreaterThan(5);
    expect(kinds).toEqual(new Set(['get', 'nextKey']));
    // Once covered, a read is answered at once, without a promise.
    expect(proven.get(reads[0]!.key, null)).not.toBeInstanceOf(Promise);
    expect(events.reduce((sum, event) => sum + event.added, 0)).toBe(proven.size);
  });

  test('an answer without the missing node is Incomplete; tampered nodes are Invalid; a rejection passes through', async () => {
    const stateRoot = trieRoot(entriesOf(entries), 1);
    const key = fromHex(entries[0]![0]);
    const nothing = new ProofStorage(stateRoot, [], { fetch: () => [] });
    await expect(nothing.get(key, null)).rejects.toMatchObject({ name: 'ProofError', kind: 'Incomplete', key, childTrie: null });

    const proof = await createReadProof(storage, [key], { stateVersion: 1 });
    const tampered = new ProofStorage(stateRoot, [], { fetch: () => proof.nodes.map((node, i) => (i === 0 ? flipped(node, node.length - 1) : node)) });
    await expect(tampered.get(key, null)).rejects.toMatchObject({ name: 'ProofError', kind: 'Invalid', key });

    const failing = new ProofStorage(stateRoot, [], { fetch: () => Promise.reject(new Error('peer went away')) });
    await expect(failing.get(key, null)).rejects.toThrow('peer went away');
  });
});

describe('compact proofs (ext_trie_*_verify_proof)', () => {
  /**
   * Substrate's own vector (pallet-transaction-storage's benchmarks): the proof of chunk key
   * `16 15 01 00` among the 32,768 chunks of 256 zero bytes of an 8 MiB transaction, state
   * version 1, as `sp_transaction_storage_proof::build_proof` made it (SCALE
   * `TransactionStorageProof { chunk, proof }`). The chunk root is `blake2_256_ordered_root`.
   */
  const VECTOR = [
    '0104000000000000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000000000000000000',
    '00000000000000000000000000000000000000000000000000000000000014cd0780ffff8030',
    '2eb0a6d2f63b834d15f1e729d1c1004657e3048cf206d697eeb153f61a30ba0080302eb0a6d2',
    'f63b834d15f1e729d1c1004657e3048cf206d697eeb153f61a30ba80302eb0a6d2f63b834d15',
    'f1e729d1c1004657e3048cf206d697eeb153f61a30ba80302eb0a6d2f63b834d15f1e729d1c1',
    '004657e3048cf206d697eeb153f61a30ba80302eb0a6d2f63b834d15f1e729d1c1004657e304',
    '8cf206d697eeb153f61a30ba80302eb0a6d2f63b834d15f1e729d1c1004657e3048cf206d697',
    'eeb153f61a30ba80302eb0a6d2f63b834d15f1e729d1c1004657e3048cf206d697eeb153f61a',
    '30ba80302eb0a6d2f63b834d15f1e729d1c1004657e3048cf206d697eeb153f61a30ba80302e',
    'b0a6d2f63b834d15f1e729d1c1004657e3048cf206d697eeb153f61a30ba80302eb0a6d2f63b',
    '834d15f1e729d1c1004657e3048cf206d697eeb153f61a30ba80302eb0a6d2f63b834d15f1e7',
    '29d1c1004657e3048cf206d697eeb153f61a30ba80302eb0a6d2f63b834d15f1e729d1c10046',
    '57e3048cf206d697eeb153f61a30ba80302eb0a6d2f63b834d15f1e729d1c1004657e3048cf2',
    '06d697eeb153f61a30ba80302eb0a6d2f63b834d15f1e729d1c1004657e3048cf206d697eeb1',
    '53f61a30ba80302eb0a6d2f63b834d15f1e729d1c1004657e3048cf206d697eeb153f61a30ba',
    'bd058077778010fd81bc1359802f0b871aeb95e4410a8ec92b93af10ea767a2027cf4734e8de',
    '808da338e6b722f7bf2051901bd5bccee5e71d5cf6b1faff338ad7120b0256c28380221ce17f',
    '19117affa96e077905fe48a99723a065969c638593b7d9ab57b538438010fd81bc1359802f0b',
    '871aeb95e4410a8ec92b93af10ea767a2027cf4734e8de808da338e6b722f7bf2051901bd5bc',
    'cee5e71d5cf6b1faff338ad7120b0256c283008010fd81bc1359802f0b871aeb95e4410a8ec9',
    '2b93af10ea767a2027cf4734e8de808da338e6b722f7bf2051901bd5bccee5e71d5cf6b1faff',
    '338ad7120b0256c28380221ce17f19117affa96e077905fe48a99723a065969c638593b7d9ab',
    '57b538438010fd81bc1359802f0b871aeb95e4410a8ec92b93af10ea767a2027cf4734e8de80',
    '8da338e6b722f7bf2051901bd5bccee5e71d5cf6b1faff338ad7120b0256c28380221ce17f19',
    '117affa96e077905fe48a99723a065969c638593b7d9ab57b53843cd0780ffff804509f59593',
    'fd47b1a97189127ba65a5649cfb0346637f9836e155eaf891a939c00804509f59593fd47b1a9',
    '7189127ba65a5649cfb0346637f9836e155eaf891a939c804509f59593fd47b1a97189127ba6',
    '5a5649cfb0346637f9836e155eaf891a939c804509f59593fd47b1a97189127ba65a5649cfb0',
    '346637f9836e155eaf891a939c804509f59593fd47b1a97189127ba65a5649cfb0346637f983',
    '6e155eaf891a939c804509f59593fd47b1a97189127ba65a5649cfb0346637f9836e155eaf89',
    '1a939c804509f59593fd47b1a97189127ba65a5649cfb0346637f9836e155eaf891a939c8045',
    '09f59593fd47b1a97189127ba65a5649cfb0346637f9836e155eaf891a939c804509f59593fd',
    '47b1a97189127ba65a5649cfb0346637f9836e155eaf891a939c804509f59593fd47b1a97189',
    '127ba65a5649cfb0346637f9836e155eaf891a939c804509f59593fd47b1a97189127ba65a56',
    '49cfb0346637f9836e155eaf891a939c804509f59593fd47b1a97189127ba65a5649cfb03466',
    '37f9836e155eaf891a939c804509f59593fd47b1a97189127ba65a5649cfb0346637f9836e15',
    '5eaf891a939c804509f59593fd47b1a97189127ba65a5649cfb0346637f9836e155eaf891a93',
    '9c804509f59593fd47b1a97189127ba65a5649cfb0346637f9836e155eaf891a939ccd0780ff',
    'ff8078916e776c64ccea05e958559f015c082d9d06feafa3610fc44a5b2ef543cb818078916e',
    '776c64ccea05e958559f015c082d9d06feafa3610fc44a5b2ef543cb818078916e776c64ccea',
    '05e958559f015c082d9d06feafa3610fc44a5b2ef543cb818078916e776c64ccea05e958559f',
    '015c082d9d06feafa3610fc44a5b2ef543cb818078916e776c64ccea05e958559f015c082d9d',
    '06feafa3610fc44a5b2ef543cb81008078916e776c64ccea05e958559f015c082d9d06feafa3',
    '610fc44a5b2ef543cb818078916e776c64ccea05e958559f015c082d9d06feafa3610fc44a5b',
    '2ef543cb818078916e776c64ccea05e958559f015c082d9d06feafa3610fc44a5b2ef543cb81',
    '8078916e776c64ccea05e958559f015c082d9d06feafa3610fc44a5b2ef543cb818078916e77',
    '6c64ccea05e958559f015c082d9d06feafa3610fc44a5b2ef543cb818078916e776c64ccea05',
    'e958559f015c082d9d06feafa3610fc44a5b2ef543cb818078916e776c64ccea05e958559f01',
    '5c082d9d06feafa3610fc44a5b2ef543cb818078916e776c64ccea05e958559f015c082d9d06',
    'feafa3610fc44a5b2ef543cb818078916e776c64ccea05e958559f015c082d9d06feafa3610f',
    'c44a5b2ef543cb818078916e776c64ccea05e958559f015c082d9d06feafa3610fc44a5b2ef5',
    '43cb811044010000',
  ].join('');
  const chunkKey = Uint8Array.of(0x16, 0x15, 0x01, 0x00);

  function decodeVector(): { chunk: Uint8Array; proof: Uint8Array[] } {
    const reader = new ScaleReader(fromHex(VECTOR));
    const chunk = reader.bytesVec();
    const proof = Array.from({ length: reader.compactU32() }, () => reader.bytesVec());
    reader.end();
    return { chunk, proof };
  }
  const chunks = Array.from({ length: 32768 }, () => new Uint8Array(256));
  let chunkRoot: Uint8Array;
  beforeAll(() => {
    chunkRoot = orderedTrieRoot(chunks, 1);
  });

  test('Substrate’s transaction storage proof verifies; our generator makes the same bytes', () => {
    const { chunk, proof } = decodeVector();
    expect(proof.map((node) => node.length)).toEqual([499, 367, 499, 499, 4]);
    expect(verifyCompactProof(chunkRoot, proof, [{ key: chunkKey, value: chunk }], 1)).toBe(true);
    const ours = compactProof(chunks.map((value, index) => ({ key: encodeCompact(index), value })), [chunkKey], 1);
    expect(toHex(ours.root)).toBe(toHex(chunkRoot));
    expect(ours.proof.map(toHex)).toEqual(proof.map(toHex));
  });

  test('Substrate’s proof, altered in any way, fails', () => {
    const { chunk, proof } = decodeVector();
    const verify = (nodes: Uint8Array[], key = chunkKey, value: Uint8Array | null = chunk, version: StateVersion = 1, root = chunkRoot) =>
      verifyCompactProof(root, nodes, [{ key, value }], version);
    let cases = 0;
    const random = prng(101);
    for (let index = 0; index < proof.length; index++) {
      for (let i = 0; i < 12; i++) {
        const at = Math.floor(random() * proof[index]!.length);
        expect(verify(proof.map((node, j) => (j === index ? flipped(node, at, Math.floor(random() * 8)) : node)))).toBe(false);
        cases++;
      }
      expect(verify(proof.filter((_, j) => j !== index))).toBe(false);
    }
    expect(cases).toBe(60);
    expect(verify([...proof, proof[4]!])).toBe(false);
    expect(verify(proof, chunkKey, flipped(chunk, 0))).toBe(false);
    expect(verify(proof, chunkKey, null)).toBe(false);
    expect(verify(proof, Uint8Array.of(0x16, 0x15, 0x01, 0x01))).toBe(false);
    expect(verify(proof, chunkKey, chunk, 0)).toBe(false);
    expect(verify(proof, chunkKey, chunk, 1, flipped(chunkRoot, 3))).toBe(false);
    expect(verify([])).toBe(false);
  });

  test.each([
    ['blake2-256', 0],
    ['blake2-256', 1],
    ['keccak-256', 0],
    ['keccak-256', 1],
  ] as [TrieHash, StateVersion][])('random tries, %s, state version %i: true for what the trie holds, false for anything else', (hash, version) => {
    const random = prng(hash.length * 10 + version);
    const tally = { proven: 0, refused: 0 };
    for (let trial = 0; trial < 30; trial++) {
      const entries = randomEntries(random, 1 + Math.floor(random() * 40));
      const map = new Map(entries);
      const trieEntries = entriesOf(entries);
      const keys = randomReads(random, entries, 1 + Math.floor(random() * 4)).map((read) => read.key);
      const { root, proof } = compactProof(trieEntries, keys, version, hash);
      expect(toHex(root)).toBe(toHex(trieRoot(trieEntries, version, hash)));
      const items = [...new Map(keys.map((key) => [toHex(key), { key, value: map.get(toHex(key)) ?? null }] as const)).values()];
      expect(verifyCompactProof(root, proof, items, version, hash)).toBe(true);
      tally.proven++;
      const changed = items.map((item, i) => (i === 0 ? { key: item.key, value: item.value === null ? randomValue(random) : flipped(item.value.length === 0 ? Uint8Array.of(0) : item.value, 0) } : item));
      expect(verifyCompactProof(root, proof, changed, version, hash)).toBe(false);
      expect(verifyCompactProof(root, proof.slice(0, -1), items, version, hash)).toBe(false);
      expect(verifyCompactProof(root, [...proof, proof[0]!], items, version, hash)).toBe(false);
      tally.refused += 3;
    }
    expect(tally).toEqual({ proven: 30, refused: 90 });
  });
});
