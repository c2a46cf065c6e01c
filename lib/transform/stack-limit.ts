/**
 * The logical stack limit (`maxStackHeight`), as wasm-instrument's stack limiter for Substrate
 * contracts: a deterministic bound on recursion, the same on every engine, instead of whatever
 * native stack the engine happens to have.
 *
 * ## The unit
 *
 * Each guest function has a *cost*, in logical units, computed from its code:
 *
 * ```text
 * cost(f) = FRAME_COST + parameters + declared locals + max operand stack height
 * ```
 *
 * `FRAME_COST` is {@link FRAME_COST} (the return address and frame link of a real frame); the
 * maximum operand stack height is the most values the function's operand stack holds at once
 * (every value counts 1, whatever its type; unreachable code is not counted). Imported functions
 * cost 0: they have no WebAssembly frame. The scratch locals the rewrite adds do not count.
 *
 * ## The counter
 *
 * An appended mutable i32 global (exported as {@link STACK_HEIGHT_EXPORT}) holds the sum of the
 * costs of the guest frames active. Every guest function counts its own frame: its body becomes
 *
 * ```wat
 * global.get $h  i32.const cost(f)  i32.add  global.set $h
 * global.get $h  i32.const LIMIT  i32.gt_u
 * if  call $stack_limit  unreachable  end     ;; an import that throws
 * block (result ...)                          ;; the function's results
 *   ...the guest's body, each `return` now `br` to this block...
 * end
 * global.get $h  i32.const cost(f)  i32.sub  global.set $h
 * ```
 *
 * so a call that would take the height past the limit traps as its frame is entered, before any
 * of the guest's code runs in it: a chain of frames f1 -> ... -> fn runs iff
 * `cost(f1) + ... + cost(fn) <= LIMIT`. Every way out of the body that is not a trap goes
 * through the block's end (falling off the end, a branch to the function's label, which is now
 * the block's, and `return`, made a branch to it), and so through the height's decrease. A frame
 * is counted however it is entered: by a direct call, `call_indirect`, a table, an export called
 * by the host, the start function. (A function's cost is only known once its body has been
 * walked, so the prologue reserves a fixed-width LEB128 for it, patched at the end of the body;
 * a cost above `LIMIT` is written as `LIMIT + 1`: such a function can never be entered, and
 * traps the same way.) Counting at the callee rather than around each call site keeps the
 * output small: one prologue per function instead of the accounting at each of its call sites
 * (westend: 6,650 functions, 52,000 call sites).
 *
 * The counter is not reset by the rewrite: the VM sets it to 0 before each call it *starts*
 * (after a trap it still holds what it had reached, the refused frame's cost included), and
 * never when it resumes one.
 *
 * ## Why the counter stays right across an Asyncify pause
 *
 * Binaryen's Asyncify pauses by *unwinding*: from the import up, each instrumented frame saves
 * its locals and returns at once, skipping **everything after the call** it was in. It resumes by
 * *rewinding*: the host calls the export again and each frame, entered anew, skips
 * **everything before the call** it was in, reloads its locals, and re-enters that call, until
 * the import returns the host's value. The counter is a global, which neither saves nor restores.
 *
 * - Unwinding skips the `h -= cost` at the end of each frame on the stack: the height keeps
 *   counting every frame that is paused, as it must (they still exist, saved).
 * - Rewinding skips the `h += cost` (and the limit check) at the start of each frame it enters
 *   again: nothing is counted twice.
 * - After the resume, each frame returns normally through its end, runs its `h -= cost`, and
 *   the height falls back to what it was before that frame was entered, as in a run without a
 *   pause.
 *
 * So at every moment of a paused-and-resumed run the counter equals that of an uninterrupted
 * run at the same point. (This needs the check and the `h += cost` to be plain code, not calls
 * Asyncify would treat as possible pauses: the trap import is never among the pausing imports.)
 * JSPI suspends the real stack and runs nothing while paused, so it needs no argument. The same
 * reasoning holds for fuel (`fuel-metering.ts`), whose charges are plain code before calls.
 *
 * @module
 */

import { STACK_HEIGHT_EXPORT, STACK_LIMIT_IMPORT } from './abi.js';
import { ByteWriter, u32Length } from './byte-writer.js';

export { STACK_HEIGHT_EXPORT, STACK_LIMIT_IMPORT };

/** The constant part of every function's cost. */
export const FRAME_COST = 2;
/** The largest limit accepted: the height plus one cost must not overflow a u32 (`i32.gt_u`). */
export const MAX_LIMIT = 0x7fff_ffff;

/** The width of the LEB128 reserved for a function's cost in its prologue: enough for `limit + 1`. */
export function costWidth(limit: number): number {
  let n = 1;
  // A signed LEB128 of n bytes holds up to 2^(7n - 1) - 1.
  while (limit + 1 > 2 ** (7 * n - 1) - 1) n++;
  return n;
}

/** The cost a function's prologue charges when its computed cost is `cost`. */
export function chargedCost(cost: number, limit: number): number {
  return cost > limit ? limit + 1 : cost;
}

/**
 * A function's prologue: `h += cost; if (h > limit) trap`, the cost not known yet: a placeholder
 * of `width` bytes is written, and its position returned. The sequence ends with
 * `call $stack_limit  unreachable  end`: its call is at `w.pos - 3 - u32Length(trapImport)` right
 * after.
 */
export function emitEnter(w: ByteWriter, height: number, width: number, limit: number, trapImport: number): number {
  w.ensure(48);
  w.byte(0x23); // global.get $h
  w.u32(height);
  w.byte(0x41); // i32.const cost
  const placeholder = w.paddedSigned(0, width);
  w.byte(0x6a); // i32.add
  w.byte(0x24); // global.set $h
  w.u32(height);
  w.byte(0x23); // global.get $h
  w.u32(height);
  w.byte(0x41); // i32.const limit
  w.signed(limit);
  w.byte(0x4b); // i32.gt_u
  w.bytes2(0x04, 0x40); // if
  w.byte(0x10); // call $stack_limit
  w.u32(trapImport);
  w.byte(0x00); // unreachable (the import throws; this only guards a host that returns)
  w.byte(0x0b); // end
  return placeholder;
}

/** A function's epilogue: `h -= cost`. */
export function emitLeave(w: ByteWriter, height: number, cost: number): void {
  w.ensure(24);
  w.byte(0x23); // global.get $h
  w.u32(height);
  w.byte(0x41); // i32.const cost
  w.signed(cost);
  w.byte(0x6b); // i32.sub
  w.byte(0x24); // global.set $h
  w.u32(height);
}

/**
 * A function's prologue (`emitEnter`) as bytes with the function's cost left open: the height
 * global, the limit and the trap import are the same for every function of a module, so it is
 * built once, with the cost as a padded LEB128 of `width` bytes, copied at the start of every
 * body and patched once the body has been walked.
 */
export class PrologueTemplate {
  readonly bytes: Uint8Array;
  /** Where, in the prologue, the cost goes, and where its `call $stack_limit` is. */
  readonly cost: number;
  readonly trapCall: number;

  constructor(height: number, width: number, limit: number, trapImport: number) {
    const w = new ByteWriter(64);
    this.cost = emitEnter(w, height, width, limit, trapImport);
    this.trapCall = w.pos - 3 - u32Length(trapImport);
    this.bytes = w.toBytes();
  }
}
