/**
 * Storage writes through the host functions: the overlay (reads see the call's writes, the
 * state is asked only about other keys), nested transactions, append, clear_prefix with its
 * limit and counts, next_key over writes and deletions, the storage root (main trie and child
 * tries, both state versions, child roots written into the main trie), the storage diff a call
 * returns, and LayeredStorage running calls one on top of another.
 */
import {
  LayeredStorage,
  MapStorage,
  RuntimeCallError,
  type StorageProvider,
  SubstrateRuntime,
  emptyTrieRoot,
  fromHex,
  runtimeCall,
  toHex,
  trieRoot,
} from '../../lib/substrate/index.js';
import { BACKENDS } from '../support/backends.js';
import { GUEST_VERSION } from '../support/substrate-guest.js';
import { type Command, answers, script, scriptGuest } from '../support/script-guest.js';

const b = (hex: string) => fromHex(hex);
const text = (s: string) => new TextEncoder().encode(s);
const none = Uint8Array.of(0);
/** SCALE `Option<u32>`. */
const limit = (n: number | null) => (n === null ? none : Uint8Array.of(1, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24));

const GENESIS = new MapStorage([
  ['0x01', '0x0a'],
  ['0x0102', '0x0b'],
  ['0x0103', '0x0c'],
  ['0x02', '0x0d'],
  ['0x0301', '0x0e'],
  ['0x0302', '0x0f'],
]);

/** A provider that records every question. */
function recording(base: StorageProvider): { provider: StorageProvider; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    provider: {
      get: (key, child) => {
        asked.push(`get ${toHex(key)}`);
        return base.get(key, child);
      },
      nextKey: (key, child) => {
        asked.push(`next ${toHex(key)}`);
        return base.nextKey!(key, child);
      },
    },
  };
}

describe.each(BACKENDS)('%s', (backend) => {
  let runtime: SubstrateRuntime;
  let runtimeV1: SubstrateRuntime;
  beforeAll(async () => {
    runtime = await SubstrateRuntime.create({ code: await scriptGuest(), backend });
    runtimeV1 = await SubstrateRuntime.create({ code: await scriptGuest({ ...GUEST_VERSION, transactionVersion: 1, stateVersion: 1 }), backend });
    expect([runtime.backend, runtimeV1.backend]).toEqual([backend, backend]);
  });

  const run = async (commands: Command[], storage: StorageProvider = GENESIS, on = runtime) => {
    const result = await runtimeCall(on, 'run', script(...commands), { storage });
    return { ...result, answers: answers(result.output).map(toHex) };
  };

  describe('the overlay', () => {
    test('reads see the call’s writes; the state is only asked about other keys', async () => {
      const { provider, asked } = recording(GENESIS);
      const result = await run(
        [
          ['set', b('0x01'), b('0xaa')],
          ['get', b('0x01')],
          ['clear', b('0x02')],
          ['get', b('0x02')],
          ['exists', b('0x02')],
          ['get', b('0x0301')],
        ],
        provider,
      );
      expect(result.answers).toEqual(['0x0104aa', '0x00', '0x00000000', '0x01040e']);
      expect(asked).toEqual(['get 0x0301']);
      expect(result.storageDiff.main).toEqual(new Map([['0x01', b('0xaa')], ['0x02', null]]));
    });

    test('writes under :child_storage: are ignored, as in Substrate', async () => {
      const key = text(':child_storage:default:x');
      const result = await run([['set', key, b('0x01')], ['get', key]]);
      expect(result.answers).toEqual(['0x00']);
      expect(result.storageDiff.main.size).toBe(0);
    });

    test('next_key merges the call’s keys and skips its deletions', async () => {
      const result = await run([
        ['set', b('0x0101'), b('0x01')],
        ['clear', b('0x0102')],
        ['clear', b('0x0103')],
        ['clear', b('0x02')],
        ['nextKey', b('0x01')],
        ['nextKey', b('0x0101')],
        ['nextKey', b('0x0103')],
        ['set', b('0x04'), b('0x01')],
        ['clear', b('0x0301')],
        ['clear', b('0x0302')],
        ['nextKey', b('0x03')],
        ['nextKey', b('0x04')],
      ]);
      expect(result.answers).toEqual(['0x01080101', '0x01080301', '0x01080301', '0x010404', '0x00']);
    });

    test('append: to nothing, to a vector, to a value that is not a vector', async () => {
      const state = new MapStorage([['0x10', '0x080102'], ['0x11', '0xff']]);
      const result = await run(
        [
          ['append', b('0x12'), b('0x07')],
          ['append', b('0x12'), b('0x08')],
          ['append', b('0x10'), b('0x03')],
          ['append', b('0x11'), b('0x09')],
          ['get', b('0x10')],
          ['get', b('0x11')],
          ['get', b('0x12')],
        ],
        state,
      );
      expect(result.answers).toEqual(['0x0110' + '0c010203', '0x0108' + '0409', '0x010c' + '080708']);
    });

    test('append grows the compact length across its 1-byte limit', async () => {
      // 63 elements: a 1-byte compact; the 64th needs 2 bytes
      const state = new MapStorage([['0x20', toHex(Uint8Array.of(63 << 2, ...new Array<number>(63).fill(5)))]]);
      const result = await run([['append', b('0x20'), b('0x06')], ['get', b('0x20')]], state);
      const value = fromHex(result.answers[0]!).subarray(3); // 01, compact length of the value (2 bytes)
      expect([...value.subarray(0, 2)]).toEqual([((64 << 2) | 1) & 0xff, (64 << 2) >> 8]); // 0x0101, little-endian
      expect(value.length).toBe(2 + 64);
      expect(value[65]).toBe(6);
    });
  });

  describe('transactions', () => {
    test('nested: a rollback undoes only its transaction; commits merge outward', async () => {
      const result = await run([
        ['set', b('0x01'), b('0x11')],
        ['start'],
        ['set', b('0x01'), b('0x22')],
        ['set', b('0x05'), b('0x55')],
        ['start'],
        ['clear', b('0x02')],
        ['set', b('0x06'), b('0x66')],
        ['rollback'],
        ['get', b('0x02')],
        ['get', b('0x06')],
        ['start'],
        ['set', b('0x07'), b('0x77')],
        ['commit'],
        ['commit'],
        ['start'],
        ['set', b('0x08'), b('0x88')],
        ['rollback'],
      ]);
      expect(result.answers).toEqual(['0x01040d', '0x00']);
      // 0x06 and 0x08 were added then rolled back: they are not in the diff at all
      expect([...result.storageDiff.main]).toEqual([
        ['0x01', b('0x22')],
        ['0x05', b('0x55')],
        ['0x07', b('0x77')],
      ]);
    });

    test('an outer rollback undoes committed inner transactions', async () => {
      const result = await run([['start'], ['start'], ['set', b('0x09'), b('0x99')], ['commit'], ['offchainIndexSet', b('0xaa'), b('0xbb')], ['rollback']]);
      expect(result.storageDiff.main.size).toBe(0);
      expect(result.storageDiff.offchainIndex.size).toBe(0);
    });

    test('commit or rollback without a transaction, and a call that returns with one open, fail the call', async () => {
      await expect(run([['commit']])).rejects.toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_storage_commit_transaction_version_1' });
      await expect(run([['rollback']])).rejects.toMatchObject({ kind: 'HostFunctionFailed', message: expect.stringMatching(/no storage transaction is open/) });
      await expect(run([['start'], ['set', b('0x01'), b('0x01')]])).rejects.toMatchObject({
        kind: 'UnclosedTransaction',
        message: 'run returned with 1 storage transaction still open',
      });
    });

    test('a runtime cannot open transactions without bound', async () => {
      const error = await run(Array.from({ length: 1100 }, (): Command => ['start'])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RuntimeCallError);
      expect(error).toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_storage_start_transaction_version_1' });
    });
  });

  describe('clear_prefix', () => {
    test('deletes the state’s keys under the prefix (the prefix itself included) and counts them', async () => {
      const result = await run([['clearPrefix', b('0x01'), limit(null)], ['get', b('0x01')], ['nextKey', b('0x')]]);
      expect(result.answers).toEqual(['0x0003000000', '0x00', '0x010402']);
      expect([...result.storageDiff.main.keys()]).toEqual(['0x01', '0x0102', '0x0103']);
    });

    test('a limit stops the deletion and says that keys remain; an exact limit says none remain', async () => {
      const result = await run([
        ['clearPrefix', b('0x01'), limit(2)],
        ['clearPrefix', b('0x03'), limit(2)],
        ['clearPrefix', b('0x02'), limit(0)],
      ]);
      expect(result.answers).toEqual(['0x0102000000', '0x0002000000', '0x0100000000']);
      expect(result.storageDiff.main.get('0x0103')).toBeUndefined();
    });

    test('the call’s own keys under the prefix go too, uncounted, as in Substrate', async () => {
      const result = await run([
        ['set', b('0x0105'), b('0x01')],
        ['set', b('0x0102'), b('0x02')],
        ['clearPrefix', b('0x01'), limit(null)],
        ['get', b('0x0105')],
      ]);
      // 0x01 and 0x0103 counted; 0x0102 (written by the call) and 0x0105 deleted uncounted
      expect(result.answers).toEqual(['0x0002000000', '0x00']);
      expect([...result.storageDiff.main]).toEqual([
        ['0x01', null],
        ['0x0102', null],
        ['0x0103', null],
        ['0x0105', null],
      ]);
    });

    test('the child tries’ roots cannot be cleared from the main trie', async () => {
      const state = new MapStorage([[toHex(text(':child_storage:default:c')), '0x01']]);
      const result = await run([['clearPrefix', text(':child'), limit(null)], ['clearPrefix', text(':child_storage:default:'), limit(null)]], state);
      expect(result.answers).toEqual(['0x0000000000', '0x0000000000']);
      expect(result.storageDiff.main.size).toBe(0);
    });
  });

  describe('the storage root', () => {
    const merged = (changes: [string, string | null][]) => {
      const map = new Map(GENESIS_ENTRIES);
      for (const [key, value] of changes) {
        if (value === null) map.delete(key);
        else map.set(key, value);
      }
      return [...map].map(([key, value]) => ({ key: b(key), value: b(value) }));
    };
    const GENESIS_ENTRIES: [string, string][] = [
      ['0x01', '0x0a'],
      ['0x0102', '0x0b'],
      ['0x0103', '0x0c'],
      ['0x02', '0x0d'],
      ['0x0301', '0x0e'],
      ['0x0302', '0x0f'],
    ];
    const big = toHex(new Uint8Array(40).fill(7));

    test('is the root of the state with the call’s changes, for both state versions', async () => {
      const result = await run([['set', b('0x04'), b(big)], ['clear', b('0x0102')], ['root', 0], ['root', 1], ['rootV1']]);
      const entries = merged([['0x04', big], ['0x0102', null]]);
      expect(result.answers).toEqual([toHex(trieRoot(entries, 0)), toHex(trieRoot(entries, 1)), toHex(trieRoot(entries, 0))]);
      expect(result.answers[0]).not.toBe(result.answers[1]); // the 40-byte value is hashed in version 1 only
    });

    test('of the untouched state; of an empty state', async () => {
      expect((await run([['root', 1]])).answers).toEqual([toHex(trieRoot(merged([]), 1))]);
      expect((await run([['root', 1]], new MapStorage())).answers).toEqual([toHex(emptyTrieRoot())]);
    });

    test('a state version other than 0 or 1 fails the call', async () => {
      await expect(run([['root', 2]])).rejects.toMatchObject({ kind: 'HostFunctionFailed', message: expect.stringMatching(/state version must be 0 or 1/) });
    });

    test('a provider whose nextKey goes backwards fails the call instead of looping', async () => {
      const looping: StorageProvider = { get: () => null, nextKey: () => b('0x00') };
      await expect(run([['root', 0]], looping)).rejects.toMatchObject({ kind: 'HostFunctionFailed', message: expect.stringMatching(/does not follow it/) });
    });
  });

  describe('child tries', () => {
    const child = text('kids');
    const childRootKey = toHex(new Uint8Array([...text(':child_storage:default:'), ...child]));
    const childState = () =>
      new MapStorage([['0x01', '0x0a']], [[toHex(child), [['0x01', '0xc1'], ['0x02', '0xc2']]]]);

    test('reads, writes, next_key; the child root is written into the main trie by the main root', async () => {
      const result = await run(
        [
          ['childSet', child, b('0x03'), b('0xc3')],
          ['childClear', child, b('0x01')],
          ['childGet', child, b('0x03')],
          ['childGet', child, b('0x01')],
          ['childNextKey', child, b('0x')],
          ['root', 1],
        ],
        childState(),
      );
      const childRoot = trieRoot([{ key: b('0x02'), value: b('0xc2') }, { key: b('0x03'), value: b('0xc3') }], 1);
      const mainRoot = trieRoot([{ key: b('0x01'), value: b('0x0a') }, { key: b(childRootKey), value: childRoot }], 1);
      expect(result.answers).toEqual(['0x0104c3', '0x00', '0x010402', toHex(mainRoot)]);
      expect(result.storageDiff.children.get(toHex(child))).toEqual(new Map([['0x01', null], ['0x03', b('0xc3')]]));
      expect(result.storageDiff.main.get(childRootKey)).toEqual(childRoot);
    });

    test('the child root function answers the root and writes it; a call that changes a child trie writes its root at the end', async () => {
      const explicit = await run([['childSet', child, b('0x09'), b('0x99')], ['childRoot', child, 0]], childState());
      const expected = trieRoot([{ key: b('0x01'), value: b('0xc1') }, { key: b('0x02'), value: b('0xc2') }, { key: b('0x09'), value: b('0x99') }], 0);
      expect(explicit.answers).toEqual([toHex(expected)]);
      expect(explicit.storageDiff.main.get(childRootKey)).toEqual(expected);
      const implicit = await run([['childSet', child, b('0x09'), b('0x99')]], childState());
      expect(implicit.storageDiff.main.get(childRootKey)).toEqual(expected);
    });

    test('killing a child trie removes its entries, and its root from the main trie', async () => {
      const state = new MapStorage([['0x01', '0x0a'], [childRootKey, '0x1234']], [[toHex(child), [['0x01', '0xc1'], ['0x02', '0xc2']]]]);
      const result = await run([['childKill', child, limit(null)], ['childGet', child, b('0x02')]], state);
      expect(result.answers).toEqual(['0x0002000000', '0x00']);
      expect(result.storageDiff.main.get(childRootKey)).toBeNull();
      const partial = await run([['childKill', child, limit(1)], ['childGet', child, b('0x02')]], state);
      expect(partial.answers).toEqual(['0x0101000000', '0x0104c2']);
    });

    test('a new child trie in a runtime of state version 1: its root hashes long values', async () => {
      const long = new Uint8Array(50).fill(3);
      const result = await run([['childSet', child, b('0x01'), long]], new MapStorage(), runtimeV1);
      expect(result.storageDiff.main.get(childRootKey)).toEqual(trieRoot([{ key: b('0x01'), value: long }], 1));
    });
  });

  describe('the storage diff and LayeredStorage', () => {
    test('calls run on top of each other’s diffs', async () => {
      const state = new LayeredStorage(GENESIS);
      const first = await run([['set', b('0x0101'), b('0x01')], ['clear', b('0x0102')], ['offchainIndexSet', b('0x77'), b('0x78')]], state);
      expect(first.storageDiff.offchainIndex).toEqual(new Map([['0x77', b('0x78')]]));
      state.apply(first.storageDiff);
      const second = await run([['get', b('0x0101')], ['get', b('0x0102')], ['nextKey', b('0x01')], ['nextKey', b('0x0101')]], state);
      expect(second.answers).toEqual(['0x010401', '0x00', '0x01080101', '0x01080103']);
      expect(second.storageDiff.main.size).toBe(0);
      expect(state.changes()).toEqual(new Map([['0x0101', b('0x01')], ['0x0102', null]]));
    });
  });
});

describe('LayeredStorage', () => {
  test('over an asynchronous base, deletions are skipped in order', async () => {
    const slow: StorageProvider = {
      get: async (key, child) => GENESIS.get(key, child),
      nextKey: async (key, child) => GENESIS.nextKey(key, child),
    };
    const state = new LayeredStorage(slow, {
      main: new Map([['0x0102', null], ['0x0103', null], ['0x0104', b('0x01')]]),
      children: new Map(),
      offchainIndex: new Map(),
    });
    expect(toHex((await state.nextKey(b('0x01'), null))!)).toBe('0x0104');
    expect(toHex((await state.nextKey(b('0x0104'), null))!)).toBe('0x02');
    expect(await state.get(b('0x0102'), null)).toBeNull();
  });
});
