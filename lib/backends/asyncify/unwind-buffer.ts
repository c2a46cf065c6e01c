/**
 * The unwind buffer: where a paused call's stack lives, and the one place the Asyncify driver
 * reaches it.
 *
 * Asyncify's data structure is at address 0 of the memory the instrumented module exports as
 * `u` (`transform/abi.ts`): two `i32`s, the stack's current position and its end, then the saved
 * frames from address 8 up. Which memory that is depends on the placement
 * (`VmConfig.asyncifyStack`, see `transform/instrument.ts`):
 *
 * ```text
 * 'second-memory'   u = a memory of its own, exactly the buffer's size; it never grows
 *                   [header][frames ......................................] end = its size
 * 'single-memory'   u = the module's one memory, the guest's with K pages reserved below it
 *                   [header][frames ..........] end = K * 64 KiB [ the guest's memory ...]
 * ```
 *
 * With one memory, a `memory.grow` (by the guest or the host) detaches the memory's
 * `ArrayBuffer`, so the header's view is made again whenever the buffer changed: checked at
 * every access, one comparison.
 *
 * While a call is paused, the header's position is the top of the saved frames: the bytes below
 * it ({@link UnwindBuffer.pausedStack}) are the whole paused stack as data.
 *
 * @module
 */

import { PAGE_SIZE } from '../../base/guest-memory-access.js';

/** Offset of the first saved frame in the unwind buffer, after Asyncify's 8-byte header. */
const FRAMES_START = 8;

/** See the module documentation. One per instance. */
export class UnwindBuffer {
  readonly #memory: WebAssembly.Memory;
  /** The address just past the buffer: the header's stack end. */
  readonly end: number;
  #buffer: ArrayBuffer | null = null;
  #header: Int32Array = new Int32Array(2);

  /**
   * The buffer in `memory` (the instance's export `u`): all of it when `reservedPages` is 0 (a
   * memory of its own), else its `reservedPages` lowest pages.
   */
  constructor(memory: WebAssembly.Memory, reservedPages: number) {
    this.#memory = memory;
    this.end = reservedPages > 0 ? reservedPages * PAGE_SIZE : memory.buffer.byteLength;
  }

  /** Writes Asyncify's header for a new unwind: no frames saved, the stack ending at {@link end}. */
  resetHeader(): void {
    const header = this.#currentHeader();
    header[0] = FRAMES_START;
    header[1] = this.end;
  }

  /**
   * A copy of the paused stack while a call is paused (before its resume): the header and every
   * saved frame, the buffer's bytes below the header's position.
   */
  pausedStack(): Uint8Array {
    const position = this.#currentHeader()[0]!;
    if (position < FRAMES_START || position > this.end) throw new Error(`internal error: the unwind buffer's position ${position} is outside it`);
    return new Uint8Array(this.#memory.buffer, 0, position).slice();
  }

  /**
   * Why `stack` cannot be a paused stack of this buffer (its header must describe exactly its
   * bytes, in a buffer of this size), or `null` if it can.
   */
  checkPausedStack(stack: Uint8Array): string | null {
    if (stack.length < FRAMES_START) return 'the saved stack is shorter than its header';
    const view = new DataView(stack.buffer, stack.byteOffset, stack.byteLength);
    const used = view.getInt32(0, true);
    const end = view.getInt32(4, true);
    if (used !== stack.length) return `the saved stack's header says ${used} bytes, it holds ${stack.length}`;
    if (end !== this.end) return `the saved stack was made for a buffer of ${end} bytes; this one has ${this.end}`;
    return null;
  }

  /**
   * Writes back a paused stack that {@link pausedStack} gave (of an instance of the same module
   * and placement), header included, so that a resume rewinds it. Throws a `RangeError` for bytes
   * that {@link checkPausedStack} refuses.
   */
  writePausedStack(stack: Uint8Array): void {
    const refusal = this.checkPausedStack(stack);
    if (refusal !== null) throw new RangeError(refusal);
    new Uint8Array(this.#memory.buffer).set(stack, 0);
  }

  #currentHeader(): Int32Array {
    const buffer = this.#memory.buffer;
    if (buffer !== this.#buffer) {
      this.#buffer = buffer as ArrayBuffer;
      this.#header = new Int32Array(buffer, 0, 2);
    }
    return this.#header;
  }
}
