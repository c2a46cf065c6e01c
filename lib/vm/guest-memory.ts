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

import { OutOfBoundsError, UsageError } from '../base/errors.js';
import { describeValue } from '../base/values.js';
import type { CallJournal } from './call-journal.js';
import {
  CURRENT_BUFFER,
  type CurrentBufferAccess,
  type GuestMemoryAccess,
  HOST_DATA,
  type HostDataAccess,
  MAX_PAGES,
  PAGE_SIZE,
} from '../base/guest-memory-access.js';

const EMPTY = new ArrayBuffer(0);

function checkCount(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new OutOfBoundsError(`${what} must be a non-negative integer, got ${describeValue(value)}`);
  }
  return value;
}

/** The guest's memory, or the absence of one (a module without memory has size 0). */
export class GuestMemory implements GuestMemoryAccess, CurrentBufferAccess, HostDataAccess {
  /** The library's own host code's data for this instance (see `HOST_DATA`); emptied by a reset. */
  [HOST_DATA]: unknown = undefined;
  /**
   * With `VmConfig.journal`: the instance's journal, which records the host's writes and growths
   * made while no guest code runs (see `call-journal.ts`); `null` otherwise.
   */
  journal: CallJournal | null = null;
  /** How many inline imports' host functions are running (their writes are the guest's doing). */
  inlineDepth = 0;

  constructor(
    /** `null` for a module without memory; set once the instance exists if it exports its memory. */
    public memory: WebAssembly.Memory | null,
    /** The declared maximum, in pages, or `null` if none. */
    readonly maximumPages: number | null,
  ) {}

  memorySize(): number {
    return this.memory === null ? 0 : this.memory.buffer.byteLength / PAGE_SIZE;
  }

  /**
   * The memory's current buffer (empty without a memory); see `CURRENT_BUFFER`. `null` while a
   * journal records the host's writes (they must go through the accessors).
   */
  [CURRENT_BUFFER](): ArrayBuffer | null {
    if (this.journal !== null && this.inlineDepth === 0) return null;
    return (this.memory?.buffer ?? EMPTY) as ArrayBuffer;
  }

  /**
   * The guest's bytes, in place: a view valid until the memory grows (snapshots and forks copy
   * through it). Empty for a module without memory.
   */
  guestBytes(): Uint8Array {
    return new Uint8Array((this.memory?.buffer ?? EMPTY) as ArrayBuffer);
  }

  readMemory(offset: number, size: number): Uint8Array {
    const buffer = this.#range(offset, size, 'read');
    return new Uint8Array(buffer, offset, size).slice();
  }

  writeMemory(offset: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) {
      throw new UsageError('InvalidArgument', `writeMemory: data must be a Uint8Array, got ${describeValue(data)}`);
    }
    const buffer = this.#range(offset, data.length, 'write');
    new Uint8Array(buffer).set(data, offset);
    const journal = this.journal;
    if (journal !== null && this.inlineDepth === 0) journal.write(offset, data);
  }

  growMemory(pages: number): void {
    checkCount('the number of pages to grow by', pages);
    const current = this.memorySize();
    // A module without memory has nothing to grow.
    const limit = this.memory === null ? 0 : (this.maximumPages ?? MAX_PAGES);
    if (current + pages > limit) {
      throw new OutOfBoundsError(
        this.memory === null
          ? `cannot grow the memory by ${pages} pages: the module has no memory`
          : `cannot grow the memory by ${pages} pages: it has ${current} and its maximum is ${limit}`,
      );
    }
    if (pages === 0) return;
    try {
      this.memory!.grow(pages);
    } catch (e) {
      // Below the declared maximum, the engine may still be unable to reserve the memory.
      throw new OutOfBoundsError(`cannot grow the memory by ${pages} pages: ${(e as Error).message}`);
    }
    const journal = this.journal;
    if (journal !== null && this.inlineDepth === 0) journal.grow(pages);
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
    return (buffer ?? EMPTY) as ArrayBuffer;
  }
}
