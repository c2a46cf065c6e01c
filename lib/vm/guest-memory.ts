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
 * **The guest's memory within the real one.** On single-memory Asyncify
 * (`VmConfig.asyncifyStack`) the module's memory holds K reserved pages (the paused stack's)
 * below the guest's, which the code rewrite moved up (`transform/memory-shift.ts`):
 *
 * ```text
 * real memory   0            B = K * 64 KiB                          real size
 *               [ reserved ][ the guest's memory .............................]
 * guest address              0                                       guest size
 * ```
 *
 * Everything here speaks the guest's addresses and sizes: the host's byte `a` is the real
 * `B + a`, `memorySize()` is the real size minus K, a growth is checked against the guest's
 * maximum (and the 65535 pages the real memory may have), and the fast path's view
 * (`CURRENT_VIEW`) starts at `B`. The reserved pages are reachable through none of it. With
 * K = 0 (second-memory Asyncify, JSPI) the guest's memory is the real one.
 *
 * @module
 */

import { OutOfBoundsError, UsageError } from '../base/errors.js';
import { describeValue } from '../base/values.js';
import type { CallJournal } from './call-journal.js';
import {
  CURRENT_VIEW,
  type CurrentViewAccess,
  type GuestMemoryAccess,
  HOST_DATA,
  type HostDataAccess,
  MAX_PAGES,
  PAGE_SIZE,
} from '../base/guest-memory-access.js';
import { MAX_TOTAL_PAGES } from '../transform/memory-shift.js';

const EMPTY = new ArrayBuffer(0);
const EMPTY_VIEW = new DataView(EMPTY);

function checkCount(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new OutOfBoundsError(`${what} must be a non-negative integer, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * The limits of the real memory for a guest memory of `guest` limits with `reservedPages` below
 * it: what an imported memory is allocated with, and what the rewritten module declares
 * (`transform/memory-shift.ts`).
 */
export function realMemoryLimits(
  guest: { readonly initial: number; readonly maximum: number | null },
  reservedPages: number,
): { readonly initial: number; readonly maximum: number | null } {
  if (reservedPages === 0) return guest;
  return { initial: guest.initial + reservedPages, maximum: Math.min((guest.maximum ?? MAX_TOTAL_PAGES) + reservedPages, MAX_TOTAL_PAGES) };
}

/** The guest's memory, or the absence of one (a module without memory has size 0). */
export class GuestMemory implements GuestMemoryAccess, CurrentViewAccess, HostDataAccess {
  /** The library's own host code's data for this instance (see `HOST_DATA`); emptied by a reset. */
  [HOST_DATA]: unknown = undefined;
  /**
   * With `VmConfig.journal`: the instance's journal, which records the host's writes and growths
   * made while no guest code runs (see `call-journal.ts`); `null` otherwise.
   */
  journal: CallJournal | null = null;
  /** How many inline imports' host functions are running (their writes are the guest's doing). */
  inlineDepth = 0;

  /** The real memory, `null` for a module without memory (see {@link attach}). */
  #memory: WebAssembly.Memory | null = null;
  /** Where the guest's byte 0 is in the real memory. */
  readonly #base: number;
  /** The most pages the guest's memory can have. */
  readonly #limit: number;
  /** The buffer {@link #view} was made of, and the view of the guest's part of it. */
  #viewBuffer: ArrayBuffer = EMPTY;
  #view: DataView<ArrayBuffer> = EMPTY_VIEW;

  constructor(
    /** The guest's declared maximum (capped by `maxMemoryPages`), in pages, or `null` if none. */
    readonly maximumPages: number | null,
    /** Pages reserved below the guest's memory (`BaseComponents.reservedPages`). */
    readonly reservedPages: number = 0,
  ) {
    this.#base = reservedPages * PAGE_SIZE;
    const declared = maximumPages ?? MAX_PAGES;
    this.#limit = reservedPages === 0 ? declared : Math.min(declared, MAX_TOTAL_PAGES - reservedPages);
  }

  /** Connects the real memory, once it exists (an exported memory only once the instance does). */
  attach(memory: WebAssembly.Memory): void {
    this.#memory = memory;
  }

  /** Whether the module has a memory. */
  get present(): boolean {
    return this.#memory !== null;
  }

  memorySize(): number {
    return this.#memory === null ? 0 : this.#memory.buffer.byteLength / PAGE_SIZE - this.reservedPages;
  }

  /**
   * The guest's memory as it is now, in place (empty without a memory); see `CURRENT_VIEW`.
   * `null` while a journal records the host's writes (they must go through the accessors).
   */
  [CURRENT_VIEW](): DataView<ArrayBuffer> | null {
    if (this.journal !== null && this.inlineDepth === 0) return null;
    const memory = this.#memory;
    if (memory === null) return EMPTY_VIEW;
    const buffer = memory.buffer as ArrayBuffer;
    if (buffer !== this.#viewBuffer) {
      this.#viewBuffer = buffer;
      this.#view = new DataView(buffer, this.#base);
    }
    return this.#view;
  }

  /**
   * The guest's memory as bytes, in place: a view of the real memory from the guest's byte 0
   * to its end, valid until the memory grows. For the VM's own use (resets, snapshots and forks,
   * tests' observations).
   */
  guestBytes(): Uint8Array<ArrayBuffer> {
    return this.#memory === null ? new Uint8Array(0) : new Uint8Array(this.#memory.buffer as ArrayBuffer, this.#base);
  }

  readMemory(offset: number, size: number): Uint8Array {
    const buffer = this.#range(offset, size, 'read');
    // Without a memory only an empty range passes, and there is no guest byte 0 to start at.
    return buffer === null ? new Uint8Array(0) : new Uint8Array(buffer, this.#base + offset, size).slice();
  }

  writeMemory(offset: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) {
      throw new UsageError('InvalidArgument', `writeMemory: data must be a Uint8Array, got ${describeValue(data)}`);
    }
    const buffer = this.#range(offset, data.length, 'write');
    if (buffer !== null) new Uint8Array(buffer).set(data, this.#base + offset);
    const journal = this.journal;
    if (journal !== null && this.inlineDepth === 0) journal.write(offset, data);
  }

  /**
   * Grows the guest's memory by `pages` already checked against its limits (a restore, whose
   * snapshot was checked), without recording it in a journal.
   */
  growUnrecorded(pages: number): void {
    this.#memory!.grow(pages);
  }

  growMemory(pages: number): void {
    checkCount('the number of pages to grow by', pages);
    const current = this.memorySize();
    // A module without memory has nothing to grow.
    const limit = this.#memory === null ? 0 : this.#limit;
    if (current + pages > limit) {
      throw new OutOfBoundsError(
        this.#memory === null
          ? `cannot grow the memory by ${pages} pages: the module has no memory`
          : `cannot grow the memory by ${pages} pages: it has ${current} and its maximum is ${limit}`,
      );
    }
    if (pages === 0) return;
    try {
      this.#memory!.grow(pages);
    } catch (e) {
      // Below the declared maximum, the engine may still be unable to reserve the memory.
      throw new OutOfBoundsError(`cannot grow the memory by ${pages} pages: ${(e as Error).message}`);
    }
    const journal = this.journal;
    if (journal !== null && this.inlineDepth === 0) journal.grow(pages);
  }

  /**
   * The real memory's buffer (`null` without a memory), after checking that the guest's range
   * `[offset, offset + size)` is inside the guest's memory.
   */
  #range(offset: number, size: number, what: string): ArrayBuffer | null {
    checkCount(`the ${what} offset`, offset);
    checkCount(`the ${what} size`, size);
    const buffer = this.#memory?.buffer;
    const length = buffer === undefined ? 0 : buffer.byteLength - this.#base;
    if (offset + size > length) {
      throw new OutOfBoundsError(
        `cannot ${what} ${size} bytes at offset ${offset}: the memory is ${length} bytes long`,
      );
    }
    return (buffer ?? null) as ArrayBuffer | null;
  }
}
