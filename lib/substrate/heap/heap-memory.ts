/**
 * The memory a `FreeingBumpAllocator` works on.
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

import type { OutOfBoundsError } from '../../base/errors.js';
import { type GuestMemoryAccess, MAX_PAGES, PAGE_SIZE } from '../../base/guest-memory-access.js';
import type { Prepare, VirtualMachine } from '../../index.js';

/** The size of a WebAssembly page, the unit of {@link AllocatorMemory.memorySize} and `growMemory`. */
export const WASM_PAGE_SIZE = PAGE_SIZE;

/** The largest number of pages a 32-bit WebAssembly memory can have (4 GiB). */
export const MAX_WASM_PAGES = MAX_PAGES;

/**
 * Read, write and grow access to a guest's linear memory, as the allocator needs it.
 *
 * This is the library's {@link GuestMemoryAccess}, implemented by {@link Prepare},
 * {@link VirtualMachine} and the memory handed to inline host functions. What the allocator
 * relies on beyond that interface: `writeMemory` copies the bytes (the allocator reuses one
 * array for every header), and `growMemory` throws {@link OutOfBoundsError}, growing nothing,
 * when the memory cannot grow that much; any other error is a bug to propagate.
 */
export type AllocatorMemory = GuestMemoryAccess;
