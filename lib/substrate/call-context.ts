/**
 * The state of one runtime call that the host functions work on, and the slot that says which
 * call is running.
 *
 * Inline host functions are bound once, when the runtime is created, and are shared by every
 * instance and every call; yet each call has its own heap allocator, counters and log settings.
 * The runtime therefore owns an {@link ActiveCall} slot, filled for exactly the duration of each
 * synchronous step of a call's virtual machine. JavaScript runs one step at a time, and an
 * inline function can only be entered from inside one, so the slot always holds the right
 * context, even with several calls paused at once (each waiting for its storage).
 *
 * @module
 */

import type { ExecOutcome, VirtualMachine, WasmValue } from '../index.js';
import type { FreeingBumpAllocator } from './allocator.js';
import type { HostCallEvent } from './host-call.js';
import type { LogEntry } from './logging.js';

/** The per-call state seen by host functions. */
export class CallContext {
  /** Host calls so far, by import slot (the import's position among the runtime's function imports). */
  readonly counts: Uint32Array;

  constructor(
    /** The call's heap: the input, everything the runtime mallocs, everything the host hands back. */
    readonly allocator: FreeingBumpAllocator,
    importCount: number,
    /** Where log entries go, or `null` to drop them. */
    readonly onLog: ((entry: LogEntry) => void) | null,
    /** The answer to `ext_logging_max_level_version_1` (0 = off .. 5 = trace). */
    readonly maxLogLevel: number,
    /** Called for every host call, or `null`. */
    readonly trace: ((event: HostCallEvent) => void) | null,
  ) {
    this.counts = new Uint32Array(importCount);
  }

  /** Counts a host call of the import in `slot` and reports it to the tracer, if there is one. */
  record(slot: number, event: () => HostCallEvent): void {
    this.counts[slot]! += 1;
    if (this.trace === null) return;
    try {
      this.trace(event());
    } catch {
      // Tracing is a side channel: a failing observer must not fail the runtime's call.
    }
  }
}

/** Which call's context the inline host functions see; owned by the runtime (see the module doc). */
export class ActiveCall {
  #current: CallContext | null = null;

  /** The context of the call whose step is running; throws outside any step. */
  get current(): CallContext {
    if (this.#current === null) throw new Error('a host function was called outside a runtime call');
    return this.#current;
  }

  /** Runs one step of `vm` (`run(value)`) with `context` active. */
  step(vm: VirtualMachine, value: WasmValue | null, context: CallContext): ExecOutcome {
    const previous = this.#current;
    this.#current = context;
    try {
      return vm.run(value);
    } finally {
      this.#current = previous;
    }
  }
}
