/**
 * Drives an Asyncify-instrumented instance: pauses a call at an import and resumes it.
 *
 * How a pause works. Every pausing import of the instance is a small JavaScript function made
 * here. When the guest calls one during normal execution, it records which import was called
 * and with what, writes the unwind buffer's header, calls `asyncify_start_unwind` and returns a
 * placeholder. From then on every instrumented frame saves its locals and its position into the
 * buffer and returns at once, so the exported function returns to {@link AsyncifyDriver.call},
 * which reports `paused`.
 *
 * While the call is paused, Asyncify stays in its "unwinding" state: no guest code runs until
 * the resume, whose `asyncify_start_rewind` sets the state it needs.
 *
 * To resume, {@link AsyncifyDriver.resume} calls `asyncify_start_rewind` and calls the same
 * exported function again. Every frame reloads its locals and skips forward to the call it
 * stopped in, until the innermost frame calls the import again; this time the import calls
 * `asyncify_stop_rewind` and returns the host's value, and the guest continues as if the import
 * had returned it the first time.
 *
 * The buffer (`unwind-buffer.ts`, the one place that knows where it lives) is a secondary
 * memory of its own or the pages reserved below the guest's memory (`VmConfig.asyncifyStack`):
 * its first 8 bytes are Asyncify's header (current position, end), the rest is the stack of
 * saved frames. A paused stack too deep for it makes a store trap during the unwind, before
 * writing past the buffer (past the memory's end, or the unwind guard's check past the reserved
 * pages): the VM reports a trap during the unwind (the driver is `'pausing'`) as stack
 * exhaustion. Nothing outside the buffer is ever written.
 *
 * The import functions do not allocate beyond the arguments array the engine gives them, and the
 * driver keeps its state in fields rather than in per-call objects: this is the hot path of
 * every host call.
 *
 * @module
 */

import type { CallDriver, ExportedFunction, PausedStack, Settle, Step, ThrowContext } from '../call-driver.js';
import { type AsyncifyExports, UNWIND_MEMORY_EXPORT } from '../../transform/abi.js';
import { UnwindBuffer } from './unwind-buffer.js';

/** `asyncify_get_state()` while a call is paused: the stack is unwound (and stays so until the resume). */
const STATE_UNWOUND = 1;

/** See the module documentation. One driver per instance. */
export class AsyncifyDriver implements CallDriver {
  result: unknown = undefined;
  error: unknown = undefined;
  throwContext: ThrowContext = 'running';
  pausedImport = -1;
  pausedArgs: readonly unknown[] = [];

  #fn: ExportedFunction | null = null;
  #args: readonly unknown[] = [];
  #unwinding = false;
  #rewinding = false;
  #resumeValue: unknown = undefined;
  /** A call threw and Asyncify's state has not been put back yet (see {@link #reset}). */
  #needsReset = false;
  #buffer: UnwindBuffer | null = null;
  #exports: AsyncifyExports | null = null;

  /**
   * A driver for an instance whose unwind buffer is its own memory (`reservedPages` 0) or the
   * `reservedPages` lowest pages of its one memory (`BaseComponents.reservedPages`).
   */
  constructor(private readonly reservedPages: number) {}

  /**
   * The function to import for the pausing import at `index` (in the function index space).
   * `placeholder` is a value of the import's result type, returned while unwinding; the guest
   * never sees it (Asyncify discards an import's result while unwinding), but the engine checks
   * its type.
   */
  pausingImport(index: number, placeholder: unknown): ExportedFunction {
    return (...args: unknown[]) => this.#onImport(index, args, placeholder);
  }

  /** Connects the driver to its instance, once the instance exists. */
  attach(exports: WebAssembly.Exports): void {
    this.#buffer = new UnwindBuffer(exports[UNWIND_MEMORY_EXPORT] as WebAssembly.Memory, this.reservedPages);
    this.#exports = exports as unknown as AsyncifyExports;
  }

  /** Size of the unwind buffer, in bytes (its 8-byte header included). */
  get bufferSize(): number {
    return this.#buffer!.end;
  }

  /**
   * Nothing to release (the paused stack is data in the buffer, overwritten by the next call),
   * but Asyncify stays in its unwinding state while a call is paused: the next call puts it
   * back first.
   */
  abandon(): void {
    this.#unwinding = false;
    this.#rewinding = false;
    this.#resumeValue = undefined;
    this.#needsReset = true;
  }

  /** Always: Asyncify's state is put back at the start of the next call if it needs to be. */
  get reusable(): boolean {
    return true;
  }

  /** Always: the paused stack is data in the buffer. */
  readonly reusableAfterAbandon = true;

  /** Runs the call to its first pause or its end; the step is settled before this returns. */
  call(fn: ExportedFunction, args: readonly unknown[], settle: Settle): void {
    if (this.#needsReset) this.#reset();
    this.#fn = fn;
    this.#args = args;
    settle(this.#enter(), false, true);
  }

  /** Rewinds the paused call and runs it to its next pause or its end; settled before this returns. */
  resume(value: unknown, settle: Settle): void {
    if (this.#needsReset) this.#reset();
    // If this call overflows the host's stack, it does so on entry, before changing anything.
    this.#exports!.asyncify_start_rewind(0);
    this.#resumeValue = value;
    this.#rewinding = true;
    settle(this.#enter(), false, true);
  }

  #onImport(index: number, args: unknown[], placeholder: unknown): unknown {
    if (this.#rewinding) {
      // The rewind has reached the import that paused: the guest continues from here.
      this.#exports!.asyncify_stop_rewind();
      this.#rewinding = false;
      const value = this.#resumeValue;
      this.#resumeValue = undefined;
      return value;
    }
    this.pausedImport = index;
    this.pausedArgs = args;
    this.#buffer!.resetHeader();
    this.#exports!.asyncify_start_unwind(0);
    this.#unwinding = true;
    return placeholder;
  }

  #enter(): Step {
    let result: unknown;
    try {
      result = this.#fn!(...this.#args);
    } catch (e) {
      // The host's own stack may be nearly exhausted here (that is one reason the guest threw),
      // so record the failure with field writes only; putting Asyncify back into its normal
      // state takes a call into the instance, which waits for the next call (#reset).
      this.throwContext = this.#unwinding ? 'pausing' : this.#rewinding ? 'resuming' : 'running';
      this.error = e;
      this.#needsReset = true;
      this.#unwinding = false;
      this.#rewinding = false;
      this.#resumeValue = undefined;
      this.#fn = null;
      this.#args = [];
      return 'threw';
    }
    if (this.#unwinding) {
      // Asyncify stays in its unwinding state while the call is paused: no guest code runs
      // until the resume, and `asyncify_start_rewind` sets the state it needs. Not calling
      // `asyncify_stop_unwind` here saves a call per interrupt and cannot overflow the stack.
      this.#unwinding = false;
      return 'paused';
    }
    if (this.#rewinding) {
      // Cannot happen with a correctly instrumented module; fail loudly rather than hand the
      // guest's next call a half-rewound state.
      this.#needsReset = true;
      this.#rewinding = false;
      throw new Error('internal error: the rewind did not reach the paused import');
    }
    this.result = result;
    this.#fn = null;
    this.#args = [];
    return 'returned';
  }

  /**
   * The paused call's stack: the import, its arguments, Asyncify's state and the buffer's used
   * bytes (the header, whose first word is the end of the saved frames, then the frames).
   */
  pausedStack(): PausedStack {
    return {
      importIndex: this.pausedImport,
      args: [...this.pausedArgs],
      state: this.#exports!.asyncify_get_state(),
      bytes: this.#buffer!.pausedStack(),
    };
  }

  /** See `CallDriver.checkPausedStack`: the header must describe exactly these bytes in a buffer of this size. */
  checkPausedStack(stack: PausedStack): string | null {
    if (stack.state !== STATE_UNWOUND) return `the pause mechanism's state is ${stack.state}, not an unwound stack (${STATE_UNWOUND})`;
    return this.#buffer!.checkPausedStack(stack.bytes);
  }

  /**
   * See `CallDriver.restorePausedStack`: the saved bytes back in the buffer, Asyncify unwound
   * over them (`asyncify_start_unwind`, as at the pause: the state is then exactly the paused
   * call's), and the call's function and arguments kept for the rewind.
   */
  restorePausedStack(fn: ExportedFunction, args: readonly unknown[], stack: PausedStack): void {
    if (this.#needsReset) this.#reset();
    this.#buffer!.writePausedStack(stack.bytes);
    this.#exports!.asyncify_start_unwind(0);
    this.#fn = fn;
    this.#args = args;
    this.pausedImport = stack.importIndex;
    this.pausedArgs = [...stack.args];
    this.#unwinding = false;
    this.#rewinding = false;
    this.#resumeValue = undefined;
  }

  /**
   * After a throw: Asyncify may still be "unwinding" or "rewinding", and a full buffer leaves a
   * header that `asyncify_stop_unwind` would reject. Reset the header, then the state. Runs
   * before the instance's next call; if it overflows the stack itself, nothing has changed and
   * it runs again next time.
   */
  #reset(): void {
    this.#buffer!.resetHeader();
    this.#exports!.asyncify_stop_unwind();
    this.#needsReset = false;
  }
}
