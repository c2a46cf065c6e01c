/**
 * The state of one runtime call that the host functions work on, and the slot that says which
 * call is running.
 *
 * Inline host functions are bound once, when the runtime is created, and are shared by every
 * instance and every call; yet each call has its own heap allocator, counters and log settings.
 * The runtime therefore owns an {@link ActiveCall} slot, filled for exactly the duration of each
 * step of a call's virtual machine, and an inline function can only be entered from inside a
 * step. On Asyncify a step is synchronous, so JavaScript runs one at a time by itself. On JSPI a
 * step spans promise jobs, and another call's step could start in between and take the slot:
 * so the steps of one runtime's calls are queued, one at a time. Nothing is lost by it (a step
 * is guest code running on the one JavaScript thread), and calls still overlap where it matters:
 * while paused, waiting for their storage.
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
  /** Settles when the JSPI step in progress ends; `null` when none is. */
  #stepping: Promise<void> | null = null;

  /** The context of the call whose step is running; throws outside any step. */
  get current(): CallContext {
    if (this.#current === null) throw new Error('a host function was called outside a runtime call');
    return this.#current;
  }

  /**
   * Runs one step of `vm` with `context` active: synchronously on Asyncify, queued behind any
   * other step of this runtime on JSPI (see the module documentation).
   */
  step(vm: VirtualMachine, value: WasmValue | null, context: CallContext, synchronous: boolean): ExecOutcome | Promise<ExecOutcome> {
    if (!synchronous) return this.#stepAsync(vm, value, context);
    const previous = this.#current;
    this.#current = context;
    try {
      return vm.run(value);
    } finally {
      this.#current = previous;
    }
  }

  async #stepAsync(vm: VirtualMachine, value: WasmValue | null, context: CallContext): Promise<ExecOutcome> {
    while (this.#stepping !== null) await this.#stepping;
    let done!: () => void;
    this.#stepping = new Promise<void>((resolve) => (done = resolve));
    this.#current = context;
    try {
      return await vm.runAsync(value);
    } finally {
      this.#current = null;
      this.#stepping = null;
      done();
    }
  }
}
