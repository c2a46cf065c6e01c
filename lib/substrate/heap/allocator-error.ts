/**
 * The error a `FreeingBumpAllocator` reports when it refuses a `malloc` or a `free`.
 *
 * Every kind except `Poisoned` describes something the guest asked for or did: a runtime calling
 * `ext_allocator_malloc_version_1` / `ext_allocator_free_version_1`. Substrate treats each of
 * them as fatal to the runtime call (the host function fails, the call traps), and after the
 * first one the allocator refuses every later request with `Poisoned`, as Substrate's does: its
 * state may no longer describe the guest's memory.
 *
 * Misuse by the host (a size or pointer that is not an integer) is a {@link UsageError} instead,
 * and does not poison the allocator.
 *
 * @module
 */

import { VmError } from '../../base/errors.js';
import type { UsageError } from '../../base/errors.js';

/** Why a `FreeingBumpAllocator` refused a request. */
export type AllocatorErrorKind =
  /**
   * `malloc`: the block does not fit below the bump pointer's limit and the memory cannot grow
   * enough (its maximum, or the allocator's `maxMemoryPages`, is reached). Substrate's
   * `AllocatorOutOfSpace`.
   */
  | 'OutOfMemory'
  /** `malloc`: the size is above the allocator's maximum (32 MiB by default). Substrate's `RequestedAllocationTooLarge`. */
  | 'AllocationTooLarge'
  /** `free`: the pointer was never returned by `malloc` (not the start of a block of this heap). */
  | 'InvalidPointer'
  /** `free`: the pointer was returned by `malloc` but has already been freed (and not handed out again). */
  | 'DoubleFree'
  /**
   * `malloc` or `free`: an 8-byte block header in the guest's memory no longer holds what the
   * allocator wrote there, or a free list links to something that is not a free block of the
   * same size. The guest wrote over the allocator's bookkeeping.
   */
  | 'HeaderCorrupted'
  /** The memory passed in is smaller than one passed to an earlier call. Substrate's `MemoryShrinked`. */
  | 'MemoryShrank'
  /** An earlier request failed; the allocator refuses everything since. `cause` is that first error. */
  | 'Poisoned';

/** Thrown by `FreeingBumpAllocator.malloc` and `FreeingBumpAllocator.free`. */
export class AllocatorError extends VmError<AllocatorErrorKind> {
  override readonly name = 'AllocatorError';
  /** For `free` errors and `HeaderCorrupted`: the pointer (or header address) concerned, as an unsigned 32-bit number. */
  declare readonly pointer?: number;
  /** For `malloc` errors: the requested size, as an unsigned 32-bit number. */
  declare readonly size?: number;

  constructor(kind: AllocatorErrorKind, message: string, details?: { pointer?: number; size?: number; cause?: unknown }) {
    super(kind, message, details?.cause);
    if (details?.pointer !== undefined) this.pointer = details.pointer;
    if (details?.size !== undefined) this.size = details.size;
  }
}
