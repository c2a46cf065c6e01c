/**
 * The memory accessors shared by {@link Prepare} and {@link VirtualMachine}, and the
 * consumption rule shared by every state of the machine.
 *
 * Each state object owns its live instance until a transition (`prepare()`, `start()`,
 * `intoPrototype()`, ...) hands the instance to the next state. From then on the old object
 * refuses every use with a {@link UsageError} of kind `Consumed`, so two objects can never
 * drive the same instance.
 *
 * @module
 */

import { UsageError } from './errors.js';
import type { GuestMemoryAccess } from './guest-memory.js';
import type { LiveInstance } from './live-instance.js';

/** Holds a live instance until a transition consumes it. */
export abstract class StateObject {
  #live: LiveInstance | null;
  #consumedBy = '';
  readonly #stateName: string;

  /** @internal */
  protected constructor(live: LiveInstance, stateName: string) {
    this.#live = live;
    this.#stateName = stateName;
  }

  /** The live instance; throws if a transition consumed this object. */
  protected live(): LiveInstance {
    if (this.#live === null) {
      throw new UsageError(
        'Consumed',
        `this ${this.#stateName} was consumed by ${this.#consumedBy}(); use the object that call returned`,
      );
    }
    return this.#live;
  }

  /** Hands the live instance over to a transition named `by`; this object is unusable afterwards. */
  protected consume(by: string): LiveInstance {
    const live = this.live();
    this.#live = null;
    this.#consumedBy = by;
    return live;
  }
}

/** Reading, writing and growing the guest's memory, in every state that has an instance. */
export abstract class MemoryAccess extends StateObject implements GuestMemoryAccess {
  /** The size of the guest's memory in pages of 64 KiB (0 for a module without memory). */
  memorySize(): number {
    return this.live().memory.memorySize();
  }

  /**
   * A copy of `size` bytes of the guest's memory starting at `offset`.
   * Throws {@link OutOfBoundsError} if the range is not inside the memory.
   */
  readMemory(offset: number, size: number): Uint8Array {
    return this.live().memory.readMemory(offset, size);
  }

  /**
   * Writes `data` into the guest's memory at `offset`; the guest sees it the next time it reads
   * there. Throws {@link OutOfBoundsError} (and writes nothing) if the range is not inside the
   * memory.
   */
  writeMemory(offset: number, data: Uint8Array): void {
    this.live().memory.writeMemory(offset, data);
  }

  /**
   * Grows the guest's memory by `pages` pages of 64 KiB, zeroed; the guest's `memory.size` sees
   * the new size. Throws {@link OutOfBoundsError} (and grows nothing) past the memory's maximum.
   */
  growMemory(pages: number): void {
    this.live().memory.growMemory(pages);
  }
}
