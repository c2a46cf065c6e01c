/**
 * The memory a {@link FreeingBumpAllocator} works on.
 *
 * The allocator does not own the guest's memory; it borrows it for the length of one `malloc` or
 * `free`. The four methods below are exactly the memory accessors of the library's state
 * objects, so a {@link Prepare} (to place a call's input before it starts) and a
 * {@link VirtualMachine} (while it is paused at `ext_allocator_malloc_version_1`) can both be
 * passed as they are. Anything else with the same four methods works too, which is how the tests
 * drive the allocator on a bare `WebAssembly.Memory`.
 *
 * @module
 */

import type { OutOfBoundsError } from '../errors.js';
import type { Prepare } from '../prepare.js';
import type { VirtualMachine } from '../virtual-machine.js';
import type { FreeingBumpAllocator } from './allocator.js';

/** The size of a WebAssembly page, the unit of {@link AllocatorMemory.memorySize} and `growMemory`. */
export const WASM_PAGE_SIZE = 65536;

/** The largest number of pages a 32-bit WebAssembly memory can have (4 GiB). */
export const MAX_WASM_PAGES = 65536;

/**
 * Read, write and grow access to a guest's linear memory, as the allocator needs it.
 *
 * Implemented by {@link Prepare} and {@link VirtualMachine}.
 */
export interface AllocatorMemory {
  /** The current size of the memory, in pages of {@link WASM_PAGE_SIZE} bytes. */
  memorySize(): number;
  /**
   * A copy of `size` bytes starting at `offset`. Throws (e.g. {@link OutOfBoundsError}) if the
   * range is not inside the memory; the allocator only reads ranges it knows to be inside.
   */
  readMemory(offset: number, size: number): Uint8Array;
  /**
   * Writes `data` at `offset`. The allocator reuses the same array for every header it writes,
   * so an implementation must copy the bytes, not keep the array.
   */
  writeMemory(offset: number, data: Uint8Array): void;
  /**
   * Grows the memory by `pages` zeroed pages. Must throw {@link OutOfBoundsError}, and grow
   * nothing, when the memory cannot grow that much (past its maximum, or the engine refuses);
   * the allocator treats that error as "no room" and any other error as a bug to propagate.
   */
  growMemory(pages: number): void;
}
