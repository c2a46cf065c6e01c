/**
 * The memory accessors shared by {@link Prepare} and {@link VirtualMachine}: the public face of
 * {@link GuestMemory} in every state that has an instance.
 *
 * @module
 */

import { CURRENT_VIEW, type GuestMemoryAccess, HOST_DATA } from '../base/guest-memory-access.js';
import type { Ownership } from './ownership.js';

/** Reading, writing and growing the guest's memory, in every state that has an instance. */
export abstract class MemoryAccess implements GuestMemoryAccess {
  /** @internal The state's hold on its instance (see `ownership.ts`). */
  protected readonly owner: Ownership;

  /** @internal */
  protected constructor(owner: Ownership) {
    this.owner = owner;
  }

  /** The size of the guest's memory in pages of 64 KiB (0 for a module without memory). */
  memorySize(): number {
    return this.owner.live.memory.memorySize();
  }

  /** @internal The guest memory's current view, for the library's own host code (see `CURRENT_VIEW`). */
  [CURRENT_VIEW](): DataView<ArrayBuffer> | null {
    return this.owner.live.memory[CURRENT_VIEW]();
  }

  /** @internal The instance's host data slot, for the library's own host code (see `HOST_DATA`). */
  get [HOST_DATA](): unknown {
    return this.owner.live.memory[HOST_DATA];
  }

  /** @internal */
  set [HOST_DATA](value: unknown) {
    this.owner.live.memory[HOST_DATA] = value;
  }

  /**
   * A copy of `size` bytes of the guest's memory starting at `offset`.
   * Throws {@link OutOfBoundsError} if the range is not inside the memory.
   */
  readMemory(offset: number, size: number): Uint8Array {
    return this.owner.live.memory.readMemory(offset, size);
  }

  /**
   * Writes `data` into the guest's memory at `offset`; the guest sees it the next time it reads
   * there. Throws {@link OutOfBoundsError} (and writes nothing) if the range is not inside the
   * memory.
   */
  writeMemory(offset: number, data: Uint8Array): void {
    this.owner.live.memory.writeMemory(offset, data);
  }

  /**
   * Grows the guest's memory by `pages` pages of 64 KiB, zeroed; the guest's `memory.size` sees
   * the new size. Throws {@link OutOfBoundsError} (and grows nothing) past the memory's maximum.
   */
  growMemory(pages: number): void {
    this.owner.live.memory.growMemory(pages);
  }
}
