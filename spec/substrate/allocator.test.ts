import { UsageError, VirtualMachinePrototype, WasmValue } from '../../lib/index.js';
import type { Prepare, VirtualMachine } from '../../lib/index.js';
import {
  AllocatorError,
  type AllocatorErrorKind,
  type AllocatorMemory,
  FreeingBumpAllocator,
  HEADER_SIZE,
  MAX_POSSIBLE_ALLOCATION,
  WASM_PAGE_SIZE,
} from '../../lib/substrate/heap/allocator.js';
import { wat } from '../support/wat.js';
import { AllocatorModel } from '../support/allocator-model.js';
import { FakeMemory, InPlaceFakeMemory } from '../support/allocator-fake-memory.js';
import { prng } from '../support/allocator-prng.js';

const PAGE = WASM_PAGE_SIZE;
const NIL = 0xffff_ffff;

// The library's state objects must be usable as the allocator's memory as they are.
const _prepareIsMemory = (p: Prepare): AllocatorMemory => p;
const _vmIsMemory = (vm: VirtualMachine): AllocatorMemory => vm;
void _prepareIsMemory;
void _vmIsMemory;

/** The two 32-bit halves of the header in front of `pointer`: [low, high]. */
function header(memory: FakeMemory, pointer: number): [number, number] {
  const view = new DataView(memory.memory.buffer);
  return [view.getUint32(pointer - 8, true), view.getUint32(pointer - 4, true)];
}

/** Runs `f`, expects an AllocatorError of `kind`, and returns it. */
function expectAllocatorError(kind: AllocatorErrorKind, f: () => unknown): AllocatorError {
  let thrown: unknown;
  try {
    f();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(AllocatorError);
  const error = thrown as AllocatorError;
  expect(error.kind).toBe(kind);
  expect(error.name).toBe('AllocatorError');
  expect(error.message.length).toBeGreaterThan(10);
  return error;
}

describe('layout', () => {
  test('the first block starts right after its header at the heap base', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    expect(allocator.malloc(memory, 1)).toBe(HEADER_SIZE);
  });

  test('the heap base is rounded up to a multiple of 8', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(13);
    expect(allocator.heapBase).toBe(16);
    expect(allocator.malloc(memory, 1)).toBe(24);
    expect(new FreeingBumpAllocator(16).heapBase).toBe(16);
  });

  test('sizes are rounded up to a power of two of at least 8, after an 8-byte header', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const a = allocator.malloc(memory, 1); // 8-byte block
    const b = allocator.malloc(memory, 9); // 16-byte block
    const c = allocator.malloc(memory, 0); // 8-byte block
    const d = allocator.malloc(memory, 1000); // 1024-byte block
    const e = allocator.malloc(memory, 1);
    expect([a, b, c, d, e]).toEqual([8, 24, 48, 64, 64 + 1024 + 8]);
  });

  test('a live block header holds its order and 1; a free one holds the next free header and 0', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const sizes = [0, 8, 9, 16, 17, 4096, 4097, MAX_POSSIBLE_ALLOCATION];
    const orders = [0, 0, 1, 1, 2, 9, 10, 22];
    const pointers = sizes.map((size) => allocator.malloc(memory, size));
    pointers.forEach((pointer, i) => expect(header(memory, pointer)).toEqual([orders[i], 1]));
    // Exact bytes of one live header: little-endian order, then 1.
    expect([...memory.bytes.subarray(pointers[2]! - 8, pointers[2]!)]).toEqual([1, 0, 0, 0, 1, 0, 0, 0]);

    allocator.free(memory, pointers[0]!);
    expect(header(memory, pointers[0]!)).toEqual([NIL, 0]);
    allocator.free(memory, pointers[1]!);
    expect(header(memory, pointers[1]!)).toEqual([pointers[0]! - 8, 0]);
  });

  test('every pointer is 8-aligned whatever the heap base and sizes', () => {
    const memory = new FakeMemory(1);
    for (const base of [0, 1, 7, 9, 1027]) {
      const allocator = new FreeingBumpAllocator(base);
      for (const size of [0, 1, 3, 8, 9, 33, 100]) expect(allocator.malloc(memory, size) % 8).toBe(0);
    }
  });

  test('a negative i32 argument is read as unsigned, as the guest meant it', () => {
    const memory = new FakeMemory(1);
    const error = expectAllocatorError('AllocationTooLarge', () => new FreeingBumpAllocator(0).malloc(memory, -1));
    expect(error.size).toBe(0xffff_ffff);
    const invalid = expectAllocatorError('InvalidPointer', () => new FreeingBumpAllocator(0).free(memory, -8));
    expect(invalid.pointer).toBe(0xffff_fff8);
  });
});

describe('reuse after free', () => {
  test('a freed block is reused by the next request of the same order', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(13);
    const a = allocator.malloc(memory, 1);
    const b = allocator.malloc(memory, 9);
    allocator.free(memory, b);
    expect(allocator.malloc(memory, 16)).toBe(b); // 16 is the same order as 9
    allocator.free(memory, a);
    expect(allocator.malloc(memory, 9)).not.toBe(a); // another order: a new block
    expect(allocator.malloc(memory, 3)).toBe(a);
  });

  test('free lists are last in, first out', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const pointers = [0, 1, 2, 3].map(() => allocator.malloc(memory, 8));
    for (const pointer of pointers) allocator.free(memory, pointer);
    expect([0, 1, 2, 3].map(() => allocator.malloc(memory, 8))).toEqual([...pointers].reverse());

    // Freed in reverse order, they come back in the original order.
    for (const pointer of [...pointers].reverse()) allocator.free(memory, pointer);
    expect([0, 1, 2, 3].map(() => allocator.malloc(memory, 8))).toEqual(pointers);
  });

  test('the bump pointer never moves back, even when every block is free', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const big = allocator.malloc(memory, 32);
    allocator.free(memory, big);
    const small = allocator.malloc(memory, 8);
    expect(small).toBe(8 + 32 + 8);
  });
});

describe('memory growth', () => {
  test('the memory doubles when the bump pointer passes its end', () => {
    const memory = new FakeMemory(2);
    const allocator = new FreeingBumpAllocator(0);
    allocator.malloc(memory, PAGE); // ends at PAGE + 8: fits in 2 pages
    expect(memory.memorySize()).toBe(2);
    allocator.malloc(memory, PAGE); // ends at 2 * PAGE + 16
    expect(memory.memorySize()).toBe(4);
  });

  test('it grows to just the pages needed when that is more than double', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    allocator.malloc(memory, 2 * PAGE); // 8 + 128 KiB: 3 pages
    expect(memory.memorySize()).toBe(3);
  });

  test('a memory of 0 pages grows to the pages needed', () => {
    const memory = new FakeMemory(0);
    const allocator = new FreeingBumpAllocator(0);
    expect(allocator.malloc(memory, 100)).toBe(8);
    expect(memory.memorySize()).toBe(1);
  });

  test("doubling stops at the memory's own maximum (found by asking the memory)", () => {
    const memory = new FakeMemory(4, 7);
    const allocator = new FreeingBumpAllocator(2 * PAGE - 8);
    allocator.malloc(memory, 2 * PAGE); // its block ends exactly at the end of the 4 pages
    expect(memory.memorySize()).toBe(4);
    allocator.malloc(memory, 8); // needs 5 pages; doubling would be 8, the maximum is 7
    expect(memory.memorySize()).toBe(7);
  });

  test('doubling stops at maxMemoryPages', () => {
    const memory = new FakeMemory(4);
    const allocator = new FreeingBumpAllocator(2 * PAGE - 8, { maxMemoryPages: 6 });
    allocator.malloc(memory, 2 * PAGE);
    expect(memory.memorySize()).toBe(4);
    allocator.malloc(memory, 8);
    expect(memory.memorySize()).toBe(6);
  });

  test('memory grown by someone else is used before growing again', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    allocator.malloc(memory, PAGE / 2);
    memory.growMemory(1);
    allocator.malloc(memory, PAGE / 2);
    expect(memory.memorySize()).toBe(2);
    expect(memory.calls.growMemory).toBe(1);
  });

  test('OutOfMemory when the pages needed are past the maximum; nothing is grown', () => {
    const memory = new FakeMemory(1, 3);
    const allocator = new FreeingBumpAllocator(0);
    const error = expectAllocatorError('OutOfMemory', () => allocator.malloc(memory, 4 * PAGE));
    expect(error.size).toBe(4 * PAGE);
    expect(memory.memorySize()).toBe(1);
  });

  test('OutOfMemory when the memory is full and at its maximum', () => {
    const memory = new FakeMemory(1, 1);
    const allocator = new FreeingBumpAllocator(0);
    // 1638 blocks of 32 bytes + header fill 65520 bytes; 16 bytes are left, enough for one more 8-byte block.
    for (let i = 0; i < Math.floor(PAGE / 40); i++) allocator.malloc(memory, 32);
    expect(allocator.stats().addressSpaceUsed).toBe(PAGE - 16);
    allocator.malloc(memory, 8);
    expectAllocatorError('OutOfMemory', () => allocator.malloc(memory, 8));
  });

  test('OutOfMemory when maxMemoryPages is reached, even if the memory could grow', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0, { maxMemoryPages: 2 });
    allocator.malloc(memory, PAGE);
    expectAllocatorError('OutOfMemory', () => allocator.malloc(memory, PAGE));
    expect(memory.memorySize()).toBe(2);
  });
});

describe('errors', () => {
  test('AllocationTooLarge above 32 MiB; exactly 32 MiB is fine', () => {
    const memory = new FakeMemory(1);
    expect(new FreeingBumpAllocator(0).malloc(memory, MAX_POSSIBLE_ALLOCATION)).toBe(8);
    expect(memory.memorySize()).toBe(513); // 32 MiB + 8 bytes of header
    const error = expectAllocatorError('AllocationTooLarge', () =>
      new FreeingBumpAllocator(0).malloc(memory, MAX_POSSIBLE_ALLOCATION + 1),
    );
    expect(error.size).toBe(MAX_POSSIBLE_ALLOCATION + 1);
    expect(error.message).toContain(String(MAX_POSSIBLE_ALLOCATION));
  });

  test('maxAllocation changes the limit', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0, { maxAllocation: 1024 });
    allocator.malloc(memory, 1024);
    expectAllocatorError('AllocationTooLarge', () => allocator.malloc(memory, 1025));
    expect(() => new FreeingBumpAllocator(0, { maxAllocation: 1000 })).toThrow(UsageError);
    expect(() => new FreeingBumpAllocator(0, { maxAllocation: 2 ** 32 })).toThrow(UsageError);
  });

  test.each([
    ['0 (null)', 0],
    ['below the heap base', 1000],
    ['the heap base itself', 1024],
    ['past the bump pointer', 1024 + 8 + 16 + 8],
    ['far past the end of memory', 0xffff_fff8],
    ['inside a block', 1024 + 16],
    ['misaligned', 1024 + 9],
  ])('InvalidPointer when freeing %s', (_name, pointer) => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(1024);
    expect(allocator.malloc(memory, 16)).toBe(1032);
    const error = expectAllocatorError('InvalidPointer', () => allocator.free(memory, pointer));
    expect(error.pointer).toBe(pointer);
    expect(memory.outOfBounds).toEqual([]);
  });

  test('InvalidPointer even when the guest forged a live-looking header there', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const a = allocator.malloc(memory, 64);
    // Inside `a`, the guest writes what a live header of order 0 looks like, and frees a + 16.
    new DataView(memory.memory.buffer).setUint32(a + 8, 0, true);
    new DataView(memory.memory.buffer).setUint32(a + 12, 1, true);
    expectAllocatorError('InvalidPointer', () => allocator.free(memory, a + 16));
  });

  test('DoubleFree when freeing a block twice', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const a = allocator.malloc(memory, 10);
    allocator.malloc(memory, 10);
    allocator.free(memory, a);
    const error = expectAllocatorError('DoubleFree', () => allocator.free(memory, a));
    expect(error.pointer).toBe(a);
  });

  test('a block freed, handed out again and freed again is not a double free', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const a = allocator.malloc(memory, 10);
    allocator.free(memory, a);
    expect(allocator.malloc(memory, 10)).toBe(a);
    allocator.free(memory, a);
    expectAllocatorError('DoubleFree', () => allocator.free(memory, a));
  });

  test('after an error every request is refused with Poisoned, citing the first error', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const a = allocator.malloc(memory, 10);
    expect(allocator.poisoned).toBe(false);
    const first = expectAllocatorError('AllocationTooLarge', () => allocator.malloc(memory, 2 ** 30));
    expect(allocator.poisoned).toBe(true);
    const then = expectAllocatorError('Poisoned', () => allocator.malloc(memory, 8));
    expect(then.cause).toBe(first);
    expect(then.message).toContain(first.message);
    expectAllocatorError('Poisoned', () => allocator.free(memory, a));
  });

  test('host misuse is a UsageError and does not poison', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    for (const bad of [1.5, Number.NaN, -(2 ** 31) - 1, 2 ** 32, Infinity]) {
      expect(() => allocator.malloc(memory, bad)).toThrow(UsageError);
      expect(() => allocator.free(memory, bad)).toThrow(UsageError);
    }
    expect(() => new FreeingBumpAllocator(-1)).toThrow(UsageError);
    expect(() => new FreeingBumpAllocator(2 ** 32)).toThrow(UsageError);
    expect(() => new FreeingBumpAllocator(0, { maxMemoryPages: 65537 })).toThrow(UsageError);
    expect(allocator.poisoned).toBe(false);
    expect(allocator.malloc(memory, 8)).toBe(8);
  });

  test('MemoryShrank when a smaller memory is passed than before', () => {
    const allocator = new FreeingBumpAllocator(0);
    allocator.malloc(new FakeMemory(2), 8);
    expectAllocatorError('MemoryShrank', () => allocator.malloc(new FakeMemory(1), 8));
  });

  test('an error from the memory object itself propagates and changes nothing', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const a = allocator.malloc(memory, 8);
    const broken: AllocatorMemory = {
      memorySize: () => memory.memorySize(),
      readMemory: (o, s) => memory.readMemory(o, s),
      writeMemory: () => {
        throw new Error('consumed');
      },
      growMemory: (p) => memory.growMemory(p),
    };
    expect(() => allocator.malloc(broken, 8)).toThrow('consumed');
    expect(() => allocator.free(broken, a)).toThrow('consumed');
    expect(allocator.poisoned).toBe(false);
    expect(allocator.malloc(memory, 8)).toBe(24);
    allocator.free(memory, a);
  });
});

describe('statistics', () => {
  test('bytes in use, peak, sum, address space and counts, headers included', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(13);
    expect(allocator.stats()).toEqual({
      bytesAllocated: 0,
      bytesAllocatedPeak: 0,
      bytesAllocatedSum: 0,
      addressSpaceUsed: 0,
      allocations: 0,
      frees: 0,
    });
    const a = allocator.malloc(memory, 9); // 16 + 8
    const b = allocator.malloc(memory, 100); // 128 + 8
    allocator.free(memory, a);
    allocator.malloc(memory, 16); // reuses a
    allocator.free(memory, b);
    expect(allocator.stats()).toEqual({
      bytesAllocated: 24,
      bytesAllocatedPeak: 160,
      bytesAllocatedSum: 24 + 136 + 24,
      addressSpaceUsed: 160,
      allocations: 3,
      frees: 2,
    });
  });

  test('failed requests are not counted', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    expectAllocatorError('AllocationTooLarge', () => allocator.malloc(memory, 2 ** 31));
    expect(allocator.stats().allocations).toBe(0);
  });
});

describe('corrupted headers', () => {
  function view(memory: FakeMemory): DataView {
    return new DataView(memory.memory.buffer);
  }

  test("freeing a block whose header the guest overwrote is HeaderCorrupted", () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const a = allocator.malloc(memory, 8);
    view(memory).setUint32(a - 8, 22, true); // claims to be 32 MiB
    const error = expectAllocatorError('HeaderCorrupted', () => allocator.free(memory, a));
    expect(error.pointer).toBe(a - 8);
  });

  test.each([
    ['an address past the end of memory', 0xffff_fff0],
    ['an address inside a block', 40],
    ['a live block', 'live'],
    ['itself', 'self'],
    ['a free block of another size', 'other'],
  ])('a free-list link rewritten to %s is HeaderCorrupted, without reaching outside memory', (_name, target) => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const a = allocator.malloc(memory, 8);
    const live = allocator.malloc(memory, 8);
    const other = allocator.malloc(memory, 100);
    allocator.free(memory, other);
    allocator.free(memory, a);
    const link = target === 'live' ? live - 8 : target === 'self' ? a - 8 : target === 'other' ? other - 8 : target;
    view(memory).setUint32(a - 8, link as number, true);
    expectAllocatorError('HeaderCorrupted', () => allocator.malloc(memory, 8));
    expect(memory.outOfBounds).toEqual([]);
  });

  test('a free header marked live again is HeaderCorrupted', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const a = allocator.malloc(memory, 8);
    allocator.free(memory, a);
    view(memory).setUint32(a - 4, 1, true);
    expectAllocatorError('HeaderCorrupted', () => allocator.malloc(memory, 8));
  });

  test('a link rewritten to another free block of the same size is followed, as Substrate does', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const [a, b, c] = [0, 1, 2].map(() => allocator.malloc(memory, 8)) as [number, number, number];
    allocator.free(memory, a);
    allocator.free(memory, b);
    allocator.free(memory, c); // list: c -> b -> a
    view(memory).setUint32(c - 8, a - 8, true); // c -> a: b is lost
    expect(allocator.malloc(memory, 8)).toBe(c);
    expect(allocator.malloc(memory, 8)).toBe(a);
    expect(allocator.malloc(memory, 8)).toBe(c + 16); // a new block; b is never handed out again
  });

  test('a cycle among free blocks cannot hand the same block out twice', () => {
    const memory = new FakeMemory(1);
    const allocator = new FreeingBumpAllocator(0);
    const [a, b] = [0, 1].map(() => allocator.malloc(memory, 8)) as [number, number];
    allocator.free(memory, a);
    allocator.free(memory, b); // b -> a
    view(memory).setUint32(a - 8, b - 8, true); // a -> b: a cycle
    expect(allocator.malloc(memory, 8)).toBe(b);
    expectAllocatorError('HeaderCorrupted', () => allocator.malloc(memory, 8)); // a links to the live b
  });

  test.each([
    ['through the accessors', FakeMemory],
    ['in place', InPlaceFakeMemory],
  ])('random scribbles over the heap (%s): only AllocatorErrors, no overlap, no access outside memory, bounded work', (_how, Memory) => {
    const random = prng(0x5eed);
    const kinds = new Set<string>();
    for (let round = 0; round < 200; round++) {
      const memory = new Memory(1, 64);
      const allocator = new FreeingBumpAllocator(100);
      const live = new Map<number, number>(); // pointer -> block size
      const everHandedOut: number[] = [];
      for (let step = 0; step < 200 && !allocator.poisoned; step++) {
        const before = memory.totalCalls();
        const r = random();
        try {
          if (r < 0.15 && everHandedOut.length > 0) {
            // The guest scribbles over a header, or somewhere near one.
            const target = everHandedOut[Math.floor(random() * everHandedOut.length)]! - 8 + 4 * Math.floor(random() * 4 - 1);
            const values = [0, 1, NIL, 22, 0xffff_fff0, everHandedOut[0]! - 8, Math.floor(random() * 2 ** 32)];
            const value = values[Math.floor(random() * values.length)]!;
            if (target >= 0 && target + 4 <= memory.bytes.length) view(memory).setUint32(target, value, true);
          } else if (r < 0.55 && live.size > 0) {
            const pointers = [...live.keys()];
            const pointer = pointers[Math.floor(random() * pointers.length)]!;
            live.delete(pointer);
            allocator.free(memory, pointer);
          } else if (r < 0.6) {
            // Frees that are wrong: a random pointer, or one already freed.
            const freed = everHandedOut.filter((pointer) => !live.has(pointer));
            const wrong = random() < 0.5 || freed.length === 0 ? Math.floor(random() * 2 ** 32) : freed[0]!;
            allocator.free(memory, wrong);
          } else {
            const size = Math.floor(random() ** 3 * 5000);
            const pointer = allocator.malloc(memory, size);
            const block = Math.max(8, 2 ** Math.ceil(Math.log2(Math.max(size, 1))));
            expect(pointer % 8).toBe(0);
            expect(pointer - 8).toBeGreaterThanOrEqual(allocator.heapBase);
            expect(pointer + block).toBeLessThanOrEqual(memory.bytes.length);
            for (const [other, otherBlock] of live) {
              const disjoint = pointer + block <= other - 8 || other + otherBlock <= pointer - 8;
              expect(disjoint).toBe(true);
            }
            live.set(pointer, block);
            everHandedOut.push(pointer);
          }
        } catch (error) {
          if (!(error instanceof AllocatorError)) throw error;
          kinds.add(error.kind);
        }
        // Fixed work per operation: a size check, one header read, one header write, and growth
        // (at most 2 attempts plus 16 for the bisection at the memory's maximum).
        expect(memory.totalCalls() - before).toBeLessThanOrEqual(3 + 18);
      }
      expect(memory.outOfBounds).toEqual([]);
    }
    // The scribbles did exercise the checks.
    expect([...kinds].sort()).toEqual(['DoubleFree', 'HeaderCorrupted', 'InvalidPointer']);
  });
});

/** What is wrong with the heap, compared with what the caller and the model know. */
function problems(
  heapBase: number,
  memory: FakeMemory,
  live: Map<number, { block: number; contents: Buffer }>,
  model: AllocatorModel,
): string[] {
  const found: string[] = [...memory.outOfBounds];
  const buffer = Buffer.from(memory.memory.buffer);
  const sorted = [...live.entries()].sort((x, y) => x[0] - y[0]);
  let previousEnd = heapBase;
  for (const [pointer, { block, contents }] of sorted) {
    if (pointer % 8 !== 0) found.push(`${pointer} is not 8-aligned`);
    if (pointer - 8 < previousEnd) found.push(`${pointer}'s header overlaps the previous block or the heap base`);
    if (pointer + block > buffer.length) found.push(`${pointer} + ${block} is past the end of memory`);
    previousEnd = pointer + block;
    if (buffer.readUInt32LE(pointer - 4) !== 1 || buffer.readUInt32LE(pointer - 8) !== AllocatorModel.orderOf(contents.length)) {
      found.push(`${pointer}'s header is not live with its order`);
    }
    if (!buffer.subarray(pointer, pointer + contents.length).equals(contents)) found.push(`${pointer}'s contents changed`);
  }
  for (const list of model.freeLists) {
    list?.forEach((headerAddress, i) => {
      const link = i === 0 ? NIL : list[i - 1];
      if (buffer.readUInt32LE(headerAddress + 4) !== 0 || buffer.readUInt32LE(headerAddress) !== link) {
        found.push(`the free header at ${headerAddress} does not link to ${link}`);
      }
    });
  }
  return found;
}

// Headers are read and written through the accessors for any memory object, and in place
// (through the buffer) for the library's own: both ways are checked against the model.
describe.each([
  ['through the accessors', FakeMemory],
  ['in place', InPlaceFakeMemory],
])('randomized against a model, %s', (_how, Memory) => {
  // The last seed runs on a small memory, so that it ends in an OutOfMemory the model predicts.
  test.each([
    [1, 512],
    [2, 512],
    [3, 512],
    [4, 512],
    [5, 20],
  ])('seed %i, at most %i pages: 3000 operations', (seed, maxPages) => {
    const random = prng(seed);
    const heapBase = 1 + Math.floor(random() * 5000);
    const memory = new Memory(1, maxPages);
    const allocator = new FreeingBumpAllocator(heapBase);
    const model = new AllocatorModel(heapBase, 1, maxPages);
    let outOfMemory = false;
    const live = new Map<number, { block: number; contents: Buffer }>();
    const freed = new Set<number>();

    for (let step = 0; step < 3000; step++) {
      const freeProbability = Math.min(0.9, live.size / 100);
      if (live.size > 0 && random() < freeProbability) {
        const pointers = [...live.keys()];
        const pointer = pointers[Math.floor(random() * pointers.length)]!;
        live.delete(pointer);
        allocator.free(memory, pointer);
        model.free(pointer);
        freed.add(pointer);
      } else {
        const r = random();
        // Mostly small requests, some medium, a few large enough to make the memory grow.
        const size =
          r < 0.7
            ? Math.floor(random() * 65)
            : r < 0.95
              ? 65 + Math.floor(random() * 960)
              : 1025 + Math.floor(random() * 150_000);
        const expected = model.malloc(size);
        if ('error' in expected) {
          expectAllocatorError(expected.error, () => allocator.malloc(memory, size));
          outOfMemory = true;
          break;
        }
        const pointer = allocator.malloc(memory, size);
        expect(pointer).toBe(expected.pointer);
        freed.delete(pointer);
        // The caller fills its block with its own bytes.
        const contents = Buffer.alloc(size);
        for (let i = 0; i < size; i++) contents[i] = (pointer * 7 + i * 13 + step) & 0xff;
        memory.bytes.set(contents, pointer);
        live.set(pointer, { block: 8 * 2 ** AllocatorModel.orderOf(size), contents });
      }

      // After every step: the memory has the model's size; live blocks are 8-aligned, inside the
      // memory, disjoint (headers included), hold their order in their header and still hold the
      // caller's bytes; free blocks' headers chain as the model's free lists say. (Checked in
      // plain code and asserted once: an expect() per block would dominate the run time.)
      expect(memory.memorySize()).toBe(model.pages);
      expect(problems(allocator.heapBase, memory, live, model)).toEqual([]);
    }

    // The run did what it is meant to exercise: growth, reuse, and the end it was set up for.
    expect(outOfMemory).toBe(maxPages < 512);
    expect(model.pages).toBeGreaterThan(4);
    const stats = allocator.stats();
    expect(stats.frees).toBeGreaterThan(500);
    expect(stats.bytesAllocatedSum).toBeGreaterThan(2 * stats.addressSpaceUsed);
    expect(stats.addressSpaceUsed).toBe(model.bumper - allocator.heapBase);
    expect(stats.bytesAllocated).toBe([...live.values()].reduce((sum, { block }) => sum + block + 8, 0));
    expect(stats.allocations - stats.frees).toBe(live.size);
    // In place means in place: no header went through the accessors.
    if (memory instanceof InPlaceFakeMemory) {
      expect(memory.bufferFetches).toBeGreaterThanOrEqual(stats.allocations + stats.frees);
      expect([memory.calls.readMemory, memory.calls.writeMemory]).toEqual([0, 0]);
    }
  });
});

describe('reset', () => {
  /** A fixed mix of requests and frees; returns every pointer malloc gave. */
  function workload(allocator: FreeingBumpAllocator, memory: AllocatorMemory): number[] {
    const pointers: number[] = [];
    for (let i = 0; i < 400; i++) {
      pointers.push(allocator.malloc(memory, (i * 37) % 3000));
      if (i % 3 === 0) allocator.free(memory, pointers[i]!);
    }
    return pointers;
  }

  test.each([
    ['through the accessors', FakeMemory],
    ['in place', InPlaceFakeMemory],
  ])('a reset allocator (%s) hands out what a new one would, and forgets every block', (_how, Memory) => {
    const used = new FreeingBumpAllocator(100, { maxMemoryPages: 64 });
    const first = workload(used, new Memory(1));
    expectAllocatorError('InvalidPointer', () => used.free(new Memory(64), 1)); // poisons it
    used.reset();
    expect(used.poisoned).toBe(false);
    expect(used.stats()).toEqual(new FreeingBumpAllocator(100).stats());
    // A fresh instance's memory (of the initial size: the allocator must not remember the old size).
    const again = workload(used, new Memory(1));
    expect(again).toEqual(workload(new FreeingBumpAllocator(100, { maxMemoryPages: 64 }), new Memory(1)));
    expect(again).toEqual(first);
    // Blocks of before the reset are unknown now, not live or free.
    const latest = new FreeingBumpAllocator(100);
    const memory = new Memory(1);
    latest.malloc(memory, 8);
    const old = latest.malloc(memory, 5000);
    latest.reset();
    expect(latest.malloc(memory, 5000)).toBeLessThan(old); // old now lies inside this block
    expectAllocatorError('InvalidPointer', () => latest.free(memory, old));
  });
});

describe('on a real VirtualMachine', () => {
  const guest = `(module
    (import "env" "ext_allocator_malloc_version_1" (func $malloc (param i32) (result i32)))
    (import "env" "ext_allocator_free_version_1" (func $free (param i32)))
    (memory (export "memory") 1 16)
    (global (export "__heap_base") i32 (i32.const 1028))
    ;; Sums the input bytes, then: a = malloc(100); b = malloc(200000) (the memory must grow);
    ;; writes through b; free(a); c = malloc(120) (a's order: must reuse a).
    ;; Returns sum * 1000 + (c == a) * 100 + memory.size.
    (func (export "run") (param $input i32) (param $len i32) (result i32)
      (local $sum i32) (local $i i32) (local $a i32) (local $b i32) (local $c i32)
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
          (local.set $sum (i32.add (local.get $sum) (i32.load8_u (i32.add (local.get $input) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      (call $free (local.get $input))
      (local.set $a (call $malloc (i32.const 100)))
      (local.set $b (call $malloc (i32.const 200000)))
      (i32.store (i32.add (local.get $b) (i32.const 199996)) (i32.const 7))
      (call $free (local.get $a))
      (local.set $c (call $malloc (i32.const 120)))
      (i32.add (i32.mul (local.get $sum) (i32.const 1000))
        (i32.add (i32.mul (i32.eq (local.get $a) (local.get $c)) (i32.const 100)) (memory.size))))
    ;; Overwrites the header in front of its argument, then frees it.
    (func (export "scribble") (param $p i32)
      (i64.store (i32.sub (local.get $p) (i32.const 8)) (i64.const 0x100000005))
      (call $free (local.get $p))))`;

  async function prototype(): Promise<VirtualMachinePrototype> {
    const ids: Record<string, number> = { ext_allocator_malloc_version_1: 0, ext_allocator_free_version_1: 1 };
    return VirtualMachinePrototype.create({ moduleBytes: await wat(guest), symbols: (_module, name) => ids[name] });
  }

  test('the allocator serves a paused guest: input through Prepare, malloc/free at each interrupt, growth', async () => {
    const proto = await prototype();
    const allocator = new FreeingBumpAllocator(proto.globalValue('__heap_base'));
    expect(allocator.heapBase).toBe(1032);
    const prepare = proto.prepare();
    const input = allocator.malloc(prepare, 3);
    prepare.writeMemory(input, new Uint8Array([1, 2, 3]));
    const vm = prepare.start('run', [WasmValue.i32(input), WasmValue.i32(3)]);

    const calls: string[] = [];
    let outcome = vm.run(null);
    while (outcome.type === 'interrupted') {
      const argument = outcome.params[0]!.value as number;
      if (outcome.id === 0) {
        const pointer = allocator.malloc(vm, argument);
        calls.push(`malloc(${argument}) = ${pointer}`);
        outcome = vm.run(WasmValue.i32(pointer));
      } else {
        allocator.free(vm, argument);
        calls.push(`free(${argument})`);
        outcome = vm.run(null);
      }
    }
    // The input block (8 bytes at 1040), a (128 bytes at 1056), b (256 KiB at 1192: ends at
    // byte 263336, in page 5), then c reuses a.
    expect(calls).toEqual(['free(1040)', 'malloc(100) = 1056', 'malloc(200000) = 1192', 'free(1056)', 'malloc(120) = 1056']);
    expect(outcome).toEqual({ type: 'finished', value: { type: 'i32', value: 6 * 1000 + 100 + 5 } });
    expect(vm.memorySize()).toBe(5);
    expect(allocator.stats()).toMatchObject({ allocations: 4, frees: 2, bytesAllocated: 136 + 262152 });
  });

  test("growth stops at the module's declared maximum", async () => {
    const proto = await prototype();
    const allocator = new FreeingBumpAllocator(proto.globalValue('__heap_base'));
    const prepare = proto.prepare();
    allocator.malloc(prepare, 8 * PAGE); // 9 pages needed: doubling from 1 is 2, so 9
    expect(prepare.memorySize()).toBe(9);
    allocator.malloc(prepare, 4 * PAGE); // 13 pages needed: doubling is 18, the maximum 16
    expect(prepare.memorySize()).toBe(16);
    expectAllocatorError('OutOfMemory', () => allocator.malloc(prepare, 4 * PAGE));
    expect(prepare.memorySize()).toBe(16);
  });

  test('a guest that overwrites a header gets an error at its free, while paused', async () => {
    const proto = await prototype();
    const allocator = new FreeingBumpAllocator(proto.globalValue('__heap_base'));
    const prepare = proto.prepare();
    const pointer = allocator.malloc(prepare, 16);
    const vm = prepare.start('scribble', [WasmValue.i32(pointer)]);
    const outcome = vm.run(null);
    expect(outcome).toEqual({ type: 'interrupted', id: 1, params: [{ type: 'i32', value: pointer }] });
    expectAllocatorError('HeaderCorrupted', () => allocator.free(vm, pointer));
  });
});
