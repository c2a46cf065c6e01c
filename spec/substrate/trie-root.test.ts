/**
 * The storage trie's root: smoldot's published vectors (empty trie, one node, two and three
 * entries, both hash functions, both state versions), the node codec byte by byte, and random
 * tries checked against an independent implementation (smoldot's `calculate_root`, compiled
 * to wasm in chopsticks-executor), with values on both sides of the 33-byte threshold of state
 * version 1 and keys sharing long prefixes.
 */
import { calculate_state_root } from '@acala-network/chopsticks-executor';
import { blake2b } from '@noble/hashes/blake2.js';
import { toHex } from '../../lib/substrate/encoding/hex.js';
import { encodeNode } from '../../lib/substrate/state/trie-node.js';
import { emptyTrieRoot, orderedTrieRoot, trieRoot } from '../../lib/substrate/state/trie-root.js';
import { prng } from '../support/allocator-prng.js';

const text = (s: string) => new TextEncoder().encode(s);
const entry = (key: string | Uint8Array, value: string | Uint8Array) => ({
  key: typeof key === 'string' ? text(key) : key,
  value: typeof value === 'string' ? text(value) : value,
});
const blake = (data: Uint8Array) => blake2b(data, { dkLen: 32 });

describe('known vectors (smoldot trie.rs and calculate_root.rs)', () => {
  test('the empty trie', () => {
    expect(toHex(emptyTrieRoot())).toBe('0x03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314');
    expect(toHex(emptyTrieRoot('keccak-256'))).toBe('0xbc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a');
    expect(trieRoot([], 0)).toEqual(emptyTrieRoot());
    expect(trieRoot([], 1, 'keccak-256')).toEqual(emptyTrieRoot('keccak-256'));
  });

  test('two entries, one the prefix of the other, state version 0', () => {
    const entries = [entry('foo', 'bar'), entry('foobar', 'baz')];
    expect(toHex(trieRoot(entries, 0))).toBe('0xa61820b5fba9b01aee10b5bbd84aea80b8230318c5e8ca14b9a4940c76e09815');
    expect(toHex(trieRoot(entries, 0, 'keccak-256'))).toBe('0x6d0d2e042cc02579d5e6f8226c245617a434a2a5f86fec418e4776c42ccd8b91');
  });

  test('three entries, state version 1', () => {
    const entries = [entry('bar', 'foo'), entry('barfoo', 'hello'), entry('anotheritem', 'anothervalue')];
    expect(toHex(trieRoot(entries, 1))).toBe('0x441807c345ca7adf88bd21ab1b3cbadb15616abb89167eb9fe285dd5cecd04c8');
    expect(toHex(trieRoot(entries, 1, 'keccak-256'))).toBe('0xa3b6653a715d611319273aaaa7e1d4bb9d03e6155c81c426d4be3167f2000441');
  });

  test('one node, both versions', () => {
    const entries = [entry('abcd', 'hello world')];
    const expected = '0x7ab18659d3b2789ef2400d107104c7d4fb93d06d9ab6a8b641a5de7c3fecc851';
    expect(toHex(trieRoot(entries, 0))).toBe(expected);
    expect(toHex(trieRoot(entries, 1))).toBe(expected);
  });

  test('a single leaf, byte by byte', () => {
    // leaf header 0x40 | 2 nibbles, the key, compact length 1, the value
    expect(trieRoot([entry(Uint8Array.of(0xaa), Uint8Array.of(0xbb))], 0)).toEqual(blake(Uint8Array.of(0x42, 0xaa, 0x04, 0xbb)));
  });

  test('a branch with two inline leaves, byte by byte', () => {
    const entries = [entry(Uint8Array.of(0x48, 0x19), Uint8Array.of(0xfe)), entry(Uint8Array.of(0x13, 0x14), Uint8Array.of(0xff))];
    const expected = Uint8Array.of(
      0x80, 0x12, 0x00, // branch without value, no partial key; children 1 and 4
      0x05 << 2, 0x43, 0x03, 0x14, 0x01 << 2, 0xff, // child 1: a 5-byte leaf of 3 nibbles (3, 1, 4)
      0x05 << 2, 0x43, 0x08, 0x19, 0x01 << 2, 0xfe, // child 4: a 5-byte leaf of 3 nibbles (8, 1, 9)
    );
    expect(trieRoot(entries, 0)).toEqual(blake(expected));
    expect(trieRoot(entries, 1)).toEqual(blake(expected));
  });
});

describe('the node codec', () => {
  const noChildren = new Array<Uint8Array | null>(16).fill(null);
  const hasher = blake;

  test('a partial key longer than the header bits: continuation bytes, 255 meaning "more"', () => {
    const key = new Uint8Array(200).fill(0x11);
    // 63 + 255 + 82 = 400 nibbles
    const node = encodeNode(key, 0, 400, Uint8Array.of(7), noChildren, 0, hasher);
    expect([...node.subarray(0, 4)]).toEqual([0x7f, 255, 82, 0x11]);
    // exactly 63 nibbles still needs a (zero) continuation byte; odd length: a 0 nibble in front
    const odd = encodeNode(key, 1, 64, Uint8Array.of(7), noChildren, 0, hasher);
    expect([...odd.subarray(0, 3)]).toEqual([0x7f, 0, 0x01]);
  });

  test('state version 1 hashes values of 33 bytes and more, and only those', () => {
    const key = Uint8Array.of(0xab);
    const v32 = new Uint8Array(32).fill(1);
    const v33 = new Uint8Array(33).fill(1);
    expect(encodeNode(key, 0, 2, v32, noChildren, 1, hasher)).toEqual(encodeNode(key, 0, 2, v32, noChildren, 0, hasher));
    const hashed = encodeNode(key, 0, 2, v33, noChildren, 1, hasher);
    expect(hashed[0]).toBe(0b001_00010); // hashed-value leaf, 2 nibbles
    expect(hashed.subarray(2)).toEqual(blake(v33));
    const withChild = [...noChildren];
    withChild[3] = Uint8Array.of(1, 2, 3);
    const branch = encodeNode(key, 0, 2, v33, withChild, 1, hasher);
    expect(branch[0]).toBe(0b0001_0010); // hashed-value branch, 2 nibbles
    expect([...branch.subarray(2, 4)]).toEqual([0x08, 0x00]); // bitmap: child 3
  });

  test('ordered roots: keys are the compact encodings of the indexes', () => {
    const values = Array.from({ length: 70 }, (_, i) => Uint8Array.of(i, i));
    const explicit = values.map((value, i) => ({ key: i < 64 ? Uint8Array.of(i << 2) : Uint8Array.of(((i << 2) | 1) & 0xff, i >> 6), value }));
    expect(orderedTrieRoot(values, 0)).toEqual(trieRoot(explicit, 0));
    expect(orderedTrieRoot([], 1)).toEqual(emptyTrieRoot());
  });

  test('a later duplicate key wins', () => {
    expect(trieRoot([entry('a', 'x'), entry('a', 'y')], 0)).toEqual(trieRoot([entry('a', 'y')], 0));
  });
});

describe('random tries against smoldot (chopsticks-executor calculate_state_root)', () => {
  const random = prng(0x7e1e);
  const bytes = (length: number) => Uint8Array.from({ length }, () => Math.floor(random() * 256));

  /** Keys drawn from a few shared prefixes so that the trie has branches at every depth. */
  function randomTrie(size: number): { key: Uint8Array; value: Uint8Array }[] {
    const prefixes = [new Uint8Array(), bytes(1), bytes(2), bytes(16), bytes(32)];
    const entries = [];
    for (let i = 0; i < size; i++) {
      const prefix = prefixes[Math.floor(random() * prefixes.length)]!;
      const key = new Uint8Array([...prefix, ...bytes(Math.floor(random() * 5))]);
      const valueLength = [0, 1, 31, 32, 33, 34, 100, 2000][Math.floor(random() * 8)]!;
      entries.push({ key, value: bytes(valueLength) });
    }
    return entries;
  }

  test.each([0, 1])('state version %i: 40 tries of up to 200 entries', async (version) => {
    for (let round = 0; round < 40; round++) {
      const entries = randomTrie(1 + Math.floor(random() * 200));
      // smoldot takes the map's last value for a duplicate key, as trieRoot does
      const deduplicated = new Map(entries.map((e) => [toHex(e.key), toHex(e.value)]));
      const expected = (await calculate_state_root([...deduplicated], version)) as string;
      expect(toHex(trieRoot(entries, version as 0 | 1))).toBe(expected);
    }
  });

  test('keys nested thousands of levels deep do not overflow the stack', () => {
    // each key extends the previous one: a chain of 3000 branch nodes
    const entries = Array.from({ length: 3000 }, (_, i) => ({ key: new Uint8Array(i + 1).fill(0x22), value: Uint8Array.of(1) }));
    expect(trieRoot(entries, 1)).toHaveLength(32);
  });
});
