/**
 * The consumption rule shared by every state of the machine.
 *
 * Each state object owns its live instance until a transition (`prepare()`, `start()`,
 * `intoPrototype()`, ...) hands the instance to the next state. From then on the old object
 * refuses every use with a {@link UsageError} of kind `Consumed`, so two objects can never
 * drive the same instance. The rule is written once, here; the states hold an {@link Ownership}
 * rather than inherit from a common class, so that no internal type shows in their public
 * declarations.
 *
 * @module
 */

import { UsageError } from '../base/errors.js';
import type { LiveInstance } from './live-instance.js';

/** Holds a live instance for one state object until a transition consumes it. */
export class Ownership {
  #live: LiveInstance | null;
  #consumedBy = '';

  constructor(
    live: LiveInstance,
    /** The public name of the state holding it, for messages. */
    private readonly stateName: string,
  ) {
    this.#live = live;
  }

  /** The live instance; throws {@link UsageError} `Consumed` if a transition took it. */
  get live(): LiveInstance {
    if (this.#live === null) {
      throw new UsageError(
        'Consumed',
        `this ${this.stateName} was consumed by ${this.#consumedBy}(); use the object that call returned`,
      );
    }
    return this.#live;
  }

  /** Hands the live instance over to a transition named `by`; the state is unusable afterwards. */
  take(by: string): LiveInstance {
    const live = this.live;
    this.#live = null;
    this.#consumedBy = by;
    return live;
  }
}
