/**
 * The unwind guard (`guardStoresBelow`): bounds checks on Asyncify's own stores, for Asyncify
 * without multi-memory, where its paused stack shares the module's one memory with the guest's
 * (shifted up by `memory-shift.ts`).
 *
 * Binaryen's Asyncify checks the end of its stack only when an unwind starts or ends
 * (`asyncify_start_unwind`, `asyncify_stop_unwind`, `asyncify_start_rewind`), never while it
 * saves a frame ("No check is done during unwinding or rewinding, to keep things fast", its
 * source says; next to the call index push: "TODO: add a check against the stack end here").
 * With the stack in a memory of its own (`asyncify-in-secondary-memory`) an overflow hits that
 * memory's end and traps. In a shared memory it does not: measured with Binaryen 132, a
 * recursion 4,000 frames deep paused with a 64 KiB buffer saved 192 KB of frames, two thirds of
 * them over the guest's first bytes, and only `asyncify_stop_unwind` trapped, afterwards
 * (`spec/code-rewrite-asyncify.test.ts` shows it, and the guard's effect).
 *
 * The fix, applied to Asyncify's output: every store whose static offset is below `B` (the
 * reserved bytes, `K * 65536`) is Asyncify's own, since the memory shift moved every guest
 * store's offset to `B` or above (the guest's bulk operations are not stores, and Asyncify never
 * emits those). Each such store gets a check that it ends at or below `B`:
 *
 * ```wat
 * local.set $v                     ;; the value, in a scratch local of its type
 * local.tee $a                     ;; the address
 * i32.const B - offset - size
 * i32.gt_u
 * if  unreachable  end             ;; it would write past the reserved pages
 * local.get $a  local.get $v
 * i64.store offset=...             ;; the store, unchanged
 * ```
 *
 * So an unwind too deep for the buffer traps at the first store that would pass `B`, before
 * writing it: nothing outside the reserved pages is ever written. The checks only run while
 * unwinding (Asyncify saves frames nowhere else), so a running guest pays nothing but code size.
 * The trap is an `unreachable` inside an unwind (`asyncify_get_state()` is 1): the VM reports
 * it as a `StackExhausted` trap naming the buffer. Loads are not checked: a rewind only reads
 * what an unwind wrote, and reading cannot harm the guest.
 *
 * @module
 */

import type { ByteWriter } from './byte-writer.js';

/**
 * Before a store of `size` bytes at static offset `offset` (its operands, address and value, on
 * the stack): traps if it would end past `end`. `a` is an i32 scratch local, `v` one of the
 * value's type.
 */
export function emitStoreGuard(w: ByteWriter, offset: number, size: number, end: number, a: number, v: number): void {
  w.ensure(40);
  w.byte(0x21); // local.set $v
  w.u32(v);
  const threshold = end - offset - size;
  if (threshold < 0) {
    w.byte(0x21); // local.set $a
    w.u32(a);
    w.byte(0x00); // unreachable: the store cannot fit whatever the address
  } else {
    w.byte(0x22); // local.tee $a
    w.u32(a);
    w.byte(0x41); // i32.const B - offset - size
    w.signed(threshold | 0);
    w.byte(0x4b); // i32.gt_u
    w.bytes2(0x04, 0x40); // if
    w.bytes2(0x00, 0x0b); // unreachable end
  }
  w.byte(0x20); // local.get $a
  w.u32(a);
  w.byte(0x20); // local.get $v
  w.u32(v);
}
