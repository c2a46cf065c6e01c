/**
 * The image a reset writes back (`lib/vm/memory-image.ts`): whatever mix of zero blocks and data
 * the image is, and whatever the memory held before, a restore leaves exactly the image's bytes
 * (and nothing past it changed). The real runtimes' resets are compared with new instances in
 * `reset.test.ts`.
 */
import { describe, expect, test } from '@jest/globals';
import { MemoryImage } from '../lib/vm/memory-image.js';

/** A small deterministic generator (xorshift32). */
function random(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** An image of `blocks` 4 KiB blocks (plus `tail` bytes), each zero or not as `pick` says; data blocks have a single nonzero byte somewhere. */
function image(blocks: number, tail: number, pick: (block: number) => boolean, next: () => number): Uint8Array {
  const bytes = new Uint8Array(blocks * 4096 + tail);
  for (let block = 0; block * 4096 < bytes.length; block++) {
    if (!pick(block)) continue;
    const end = Math.min((block + 1) * 4096, bytes.length);
    // One byte anywhere in the block, often at its edges (where a run's bound would be off by one).
    const at = [block * 4096, end - 1, block * 4096 + Math.floor(next() * (end - block * 4096))][Math.floor(next() * 3)]!;
    bytes[at] = 1 + Math.floor(next() * 255);
  }
  return bytes;
}

/** Where `a` and `b` first differ (in length or in a byte), or -1 (Jest's toEqual is slow on large arrays). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

function restoreOverGarbage(bytes: Uint8Array, next: () => number, extra: number): Uint8Array {
  const memory = new Uint8Array(bytes.length + extra);
  for (let i = 0; i < memory.length; i++) memory[i] = Math.floor(next() * 256);
  const past = memory.slice(bytes.length);
  new MemoryImage(bytes.slice()).restore(memory);
  expect(firstDifference(memory.subarray(bytes.length), past)).toBe(-1);
  return memory.subarray(0, bytes.length);
}

describe('MemoryImage.restore', () => {
  test('westend-like: a zero stack, data, a zero tail', () => {
    const next = random(1);
    const bytes = image(336, 0, (block) => block >= 256 && block < 332, next);
    expect(firstDifference(restoreOverGarbage(bytes, next, 8192), bytes)).toBe(-1);
  });

  test('all zero, all data, empty, and a length that is not a whole number of blocks', () => {
    const next = random(2);
    for (const [blocks, tail, pick] of [
      [16, 0, () => false],
      [16, 0, () => true],
      [0, 0, () => true],
      [0, 3, () => true],
      [5, 1001, (block: number) => block % 2 === 0],
      [5, 1001, (block: number) => block % 2 === 1],
    ] as const) {
      const bytes = image(blocks, tail, pick, next);
      expect(firstDifference(restoreOverGarbage(bytes, next, 100), bytes)).toBe(-1);
    }
  });

  test('200 random mixes, restored twice over different garbage', () => {
    const next = random(3);
    for (let round = 0; round < 200; round++) {
      const density = next();
      const bytes = image(1 + Math.floor(next() * 40), Math.floor(next() * 3) * 1000, () => next() < density, next);
      const kept = new MemoryImage(bytes.slice());
      for (let again = 0; again < 2; again++) {
        const memory = new Uint8Array(bytes.length);
        for (let i = 0; i < memory.length; i += 7) memory[i] = 1 + Math.floor(next() * 255);
        kept.restore(memory);
        expect(firstDifference(memory, bytes)).toBe(-1);
      }
    }
  });

  test('an unaligned image (a view into a larger buffer) restores the same', () => {
    const next = random(4);
    const bytes = image(8, 10, (block) => block % 3 === 0, next);
    const backing = new Uint8Array(bytes.length + 1);
    backing.set(bytes, 1);
    const memory = new Uint8Array(bytes.length).fill(9);
    new MemoryImage(backing.subarray(1)).restore(memory);
    expect(firstDifference(memory, bytes)).toBe(-1);
  });
});
