/**
 * The call state a suspended runtime call carries beside the core's snapshot
 * (`runtime/suspended-call.ts`): the heap allocator's and the storage overlay's state, exported
 * as data, sent through JSON (as the suspended call's bytes do), and imported into new objects,
 * which then behave exactly as the originals: the same next allocations and frees, the same diff
 * after the same writes, commits and rollbacks of the transactions open at the time. Data they
 * cannot have made is refused.
 */
import { FreeingBumpAllocator } from '../../lib/substrate/index.js';
import { StorageOverlay } from '../../lib/substrate/state/overlay.js';
import { FakeMemory } from '../support/allocator-fake-memory.js';
import { prng } from '../support/allocator-prng.js';

const HEAP_BASE = 1000;
const bytes = (...values: number[]) => Uint8Array.from(values);
/** A JSON round trip, Uint8Arrays aside (the ledger travels as bytes). */
const throughJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('allocator state', () => {
  test('an imported allocator over a copy of the memory allocates and frees exactly as the original', () => {
    const random = prng(7);
    const memory = new FakeMemory(1);
    const original = new FreeingBumpAllocator(HEAP_BASE);
    const live: number[] = [];
    for (let i = 0; i < 300; i++) {
      if (live.length > 0 && random() < 0.4) original.free(memory, live.splice(Math.floor(random() * live.length), 1)[0]!);
      else live.push(original.malloc(memory, 1 + Math.floor(random() * 5000)));
    }
    const state = original.exportState()!;
    const copy = new FakeMemory(memory.memorySize());
    copy.bytes.set(memory.bytes);
    const imported = new FreeingBumpAllocator(HEAP_BASE);
    imported.importState({ ...throughJson({ ...state, ledger: [] }), ledger: state.ledger.slice() });
    expect(imported.stats()).toEqual(original.stats());
    // The same sequence from here on gives the same addresses on both.
    const liveCopy = [...live];
    for (let i = 0; i < 300; i++) {
      const r = random();
      if (live.length > 0 && r < 0.4) {
        const at = Math.floor(random() * live.length);
        original.free(memory, live.splice(at, 1)[0]!);
        imported.free(copy, liveCopy.splice(at, 1)[0]!);
      } else {
        const size = 1 + Math.floor(random() * 5000);
        const a = original.malloc(memory, size);
        expect(imported.malloc(copy, size)).toBe(a);
        live.push(a);
        liveCopy.push(a);
      }
    }
    expect(imported.stats()).toEqual(original.stats());
    // The ledger came along: freeing what is not a block is still caught.
    expect(() => imported.free(copy, live[0]! + 8)).toThrow();
  });

  test('state it cannot have made is refused, the allocator unchanged', () => {
    const allocator = new FreeingBumpAllocator(HEAP_BASE);
    const memory = new FakeMemory(1);
    allocator.malloc(memory, 100);
    const state = allocator.exportState()!;
    const fresh = new FreeingBumpAllocator(HEAP_BASE);
    for (const bad of [
      { ...state, bumper: 3 },
      { ...state, bumper: state.bumper + 4 },
      { ...state, heads: state.heads.slice(1) },
      { ...state, ledger: state.ledger.subarray(1) },
      { ...state, counters: [1, 2, 3] },
      { ...state, counters: [-1, 0, 0, 0, 0] },
    ]) {
      expect(() => fresh.importState(bad)).toThrow(RangeError);
    }
    expect(fresh.stats().allocations).toBe(0);
  });
});

describe('storage overlay state', () => {
  test('open transactions, deletions and child tries come back: the same diff after the same commits and rollbacks', () => {
    const child = bytes(9, 9);
    const make = (): StorageOverlay => {
      const overlay = new StorageOverlay();
      overlay.set(null, bytes(1), bytes(10));
      overlay.set(null, bytes(2), null);
      overlay.startTransaction();
      overlay.set(null, bytes(1), bytes(11));
      overlay.set(child, bytes(3), bytes(30));
      overlay.setOffchainIndex(bytes(4), bytes(40));
      overlay.startTransaction();
      overlay.set(null, bytes(5), bytes(50));
      overlay.deletePrefix(null, bytes(1));
      return overlay;
    };
    const original = make();
    const imported = StorageOverlay.importState(throughJson(original.exportState()));
    expect(imported.transactionDepth).toBe(2);
    expect(imported.diff()).toEqual(original.diff());
    expect(imported.changedChildren()).toEqual(original.changedChildren());
    for (const overlay of [original, imported]) {
      overlay.rollbackTransaction();
      overlay.set(null, bytes(6), bytes(60));
      overlay.commitTransaction();
    }
    expect(imported.diff()).toEqual(original.diff());
    // And from another point: the inner transaction committed, the outer rolled back.
    const again = make();
    const againImported = StorageOverlay.importState(throughJson(again.exportState()));
    for (const overlay of [again, againImported]) {
      overlay.commitTransaction();
      overlay.rollbackTransaction();
    }
    expect(againImported.diff()).toEqual(again.diff());
    expect(againImported.diff().main.get('0x01')).toEqual(bytes(10));
  });

  test('state it cannot have made is refused', () => {
    const overlay = new StorageOverlay();
    overlay.startTransaction();
    overlay.set(null, bytes(1), bytes(2));
    const state = throughJson(overlay.exportState());
    for (const bad of [
      { ...state, tries: [['main', [['0x0', '0x00']]]] },
      { ...state, tries: [['main', [['0x01', 'zz']]]] },
      { ...state, tries: [['nonsense', []]] },
      { ...state, journals: [[['nowhere', '0x01', 0]]] },
      { ...state, journals: 'x' },
      { ...state, journals: Array.from({ length: 1025 }, () => []) },
    ]) {
      expect(() => StorageOverlay.importState(bad as never)).toThrow();
    }
  });
});
