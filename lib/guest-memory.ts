/**
 * Checked access to the guest's linear memory, shared by {@link Prepare} and
 * {@link VirtualMachine}.
 *
 * Every offset, size and page count is checked to be a non-negative integer and every range to
 * lie inside the memory before anything is read or written, so a bad argument (negative,
 * fractional, past 2^32, or simply past the end) is an {@link OutOfBoundsError} and never a
 * partial write. The memory's `buffer` is fetched on each access because growing the memory
 * (by the host or by the guest's `memory.grow`) detaches the previous one.
 *
 * @module
 */

import { OutOfBoundsError } from './errors.js';
import { PAGE_SIZE } from './instrument.js';

/** The largest number of pages a 32-bit memory can have. */
const MAX_PAGES = 65536;

function checkCount(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new OutOfBoundsError(`${what} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/** The guest's memory, or the absence of one (a module without memory has size 0). */
export class GuestMemory {
  constructor(
    readonly memory: WebAssembly.Memory | null,
    /** The declared maximum, in pages, or `null` if none. */
    readonly maximumPages: number | null,
  ) {}

  /** Current size in pages of 64 KiB. */
  sizeInPages(): number {
    return this.memory === null ? 0 : this.memory.buffer.byteLength / PAGE_SIZE;
  }

  /** A copy of `size` bytes at `offset`. */
  read(offset: number, size: number): Uint8Array {
    const buffer = this.#range(offset, size, 'read');
    return new Uint8Array(buffer, offset, size).slice();
  }

  /** Writes `data` at `offset`. */
  write(offset: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`writeMemory: data must be a Uint8Array, got ${Object.prototype.toString.call(data)}`);
    }
    const buffer = this.#range(offset, data.length, 'write');
    new Uint8Array(buffer).set(data, offset);
  }

  /** Adds `pages` pages; the new pages are zeroed. */
  grow(pages: number): void {
    checkCount('the number of pages to grow by', pages);
    const current = this.sizeInPages();
    const limit = this.maximumPages ?? MAX_PAGES;
    if (current + pages > limit) {
      throw new OutOfBoundsError(
        `cannot grow the memory by ${pages} pages: it has ${current} and its maximum is ${limit}`,
      );
    }
    if (pages === 0) return;
    try {
      this.memory!.grow(pages);
    } catch (e) {
      // Below the declared maximum, the engine may still be unable to reserve the memory.
      throw new OutOfBoundsError(`cannot grow the memory by ${pages} pages: ${(e as Error).message}`);
    }
  }

  #range(offset: number, size: number, what: string): ArrayBuffer {
    checkCount(`the ${what} offset`, offset);
    checkCount(`the ${what} size`, size);
    const buffer = this.memory?.buffer;
    const length = buffer?.byteLength ?? 0;
    if (offset + size > length) {
      throw new OutOfBoundsError(
        `cannot ${what} ${size} bytes at offset ${offset}: the memory is ${length} bytes long`,
      );
    }
    return (buffer ?? new ArrayBuffer(0)) as ArrayBuffer;
  }
}
