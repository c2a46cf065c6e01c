/**
 * What host code may do with a guest's memory, and the unit it is measured in.
 *
 * @module
 */

/** The size of a WebAssembly page in bytes: the unit of `memorySize()` and `growMemory()`. */
export const PAGE_SIZE = 65536;

/** The largest number of pages a 32-bit WebAssembly memory can have (4 GiB). */
export const MAX_PAGES = 65536;

/**
 * Reading, writing and growing a guest's memory. Implemented by {@link Prepare} and
 * {@link VirtualMachine}, and handed to inline host functions (`VmConfig.inlineImports`), so
 * host code written against it (an allocator, a host function) works in all three places.
 */
export interface GuestMemoryAccess {
  /** The size of the guest's memory in pages of 64 KiB (0 for a module without memory). */
  memorySize(): number;
  /**
   * A copy of `size` bytes of the guest's memory starting at `offset`.
   * Throws {@link OutOfBoundsError} if the range is not inside the memory.
   */
  readMemory(offset: number, size: number): Uint8Array;
  /**
   * Writes `data` into the guest's memory at `offset`; the guest sees it the next time it reads
   * there. Throws {@link OutOfBoundsError} (and writes nothing) if the range is not inside the
   * memory. The bytes are copied: the caller may reuse `data` afterwards.
   */
  writeMemory(offset: number, data: Uint8Array): void;
  /**
   * Grows the guest's memory by `pages` pages of 64 KiB, zeroed; the guest's `memory.size` sees
   * the new size. Throws {@link OutOfBoundsError} (and grows nothing) past the memory's maximum.
   */
  growMemory(pages: number): void;
}

/**
 * The key of a fast path that the library's own memory objects ({@link Prepare},
 * {@link VirtualMachine}, the memory handed to inline host functions and to a `runToCompletion`
 * host) offer its own host code.
 *
 * `readMemory` and `writeMemory` check their arguments and copy, which is right for host code in
 * general but is most of the cost of the Substrate allocator, which reads and writes one 8-byte
 * header per `malloc` or `free`, tens of thousands of times per call. Through this key it gets
 * a `DataView` of exactly the guest's memory as it is now (after the same consumption check as
 * every accessor): byte `a` of the view is the guest's byte `a`, its length the guest's memory
 * size, and it cannot reach anything else (the pages reserved below the guest's memory for a
 * paused stack lie before the view's start). The view is made once per memory buffer: the same
 * object is returned until the memory grows (which detaches the buffer), so callers fetch it for
 * each operation and compare it with the one they hold. Not public (the package does not export
 * it, and the public classes' declarations omit the method): user objects implementing
 * {@link GuestMemoryAccess} simply lack it, and get the accessors.
 */
export const CURRENT_VIEW: unique symbol = Symbol('resumable-wasm: the guest memory view');

/**
 * A memory object offering the {@link CURRENT_VIEW} fast path (internal: not exported by the
 * package). It may return `null` where the fast path is refused for now (a journaled instance
 * while no guest code runs, see `VmConfig.journal`): the caller then uses the accessors.
 */
export interface CurrentViewAccess {
  [CURRENT_VIEW](): DataView<ArrayBuffer> | null;
}

/** The guest memory's current view if `memory` offers the fast path, else `null`. */
export function currentViewOf(memory: GuestMemoryAccess): DataView<ArrayBuffer> | null {
  const fast = (memory as Partial<CurrentViewAccess>)[CURRENT_VIEW];
  return fast === undefined ? null : fast.call(memory);
}

/**
 * The key of a slot on the library's own memory objects in which its own host code keeps data
 * of one instance for as long as the instance serves one use: the Substrate layer keeps there
 * the context of the runtime call running on the instance, which its inline host functions
 * (handed the instance's memory) read. Every state of one instance ({@link Prepare},
 * {@link VirtualMachine}) and the memory handed to its inline host functions share the slot; a
 * reset empties it. Not public, as {@link CURRENT_VIEW}.
 */
export const HOST_DATA: unique symbol = Symbol('resumable-wasm: host data');

/** A memory object with the {@link HOST_DATA} slot (internal: not exported by the package). */
export interface HostDataAccess {
  [HOST_DATA]: unknown;
}

/** The {@link HOST_DATA} slot of `memory`, `undefined` for a memory object without one. */
export function hostDataOf(memory: GuestMemoryAccess): unknown {
  return (memory as Partial<HostDataAccess>)[HOST_DATA];
}
