/**
 * The state of one runtime call that the host functions work on.
 *
 * Inline host functions are bound once, when the runtime is created, and are shared by every
 * instance and every call; yet each call has its own heap allocator, counters and log settings.
 * The runtime therefore holds an *active* context, set for exactly the duration of each
 * synchronous `run()` of a call's virtual machine. JavaScript runs one `run()` at a time, and
 * an inline function can only be entered from inside one, so the active context is always the
 * right one, even with several calls paused at once (each waiting for its storage).
 *
 * @module
 */

import type { FreeingBumpAllocator } from './allocator.js';
import type { HostCallEvent } from './host-call.js';
import type { LogEntry } from './logging.js';

/** The per-call state seen by host functions. */
export interface CallContext {
  /** The call's heap: the input, everything the runtime mallocs, everything the host hands back. */
  readonly allocator: FreeingBumpAllocator;
  /** Host calls so far, by import slot (the import's position among the runtime's function imports). */
  readonly counts: Uint32Array;
  /** Where log entries go, or `null` to drop them. */
  readonly onLog: ((entry: LogEntry) => void) | null;
  /** The answer to `ext_logging_max_level_version_1` (0 = off .. 5 = trace). */
  readonly maxLogLevel: number;
  /** Called for every host call, or `null`. */
  readonly trace: ((event: HostCallEvent) => void) | null;
}
