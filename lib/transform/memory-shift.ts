/**
 * The memory shift (`memoryBase`): the guest's memory moved up by K pages inside the module's
 * one memory, so that the K pages below it can hold what the guest must never see (Asyncify's
 * paused stack, on engines without multi-memory), while the guest cannot tell.
 *
 * ```text
 * real memory   0            K*64Ki                                    (K + guest size)*64Ki
 *               [ reserved ][ the guest's memory, byte for byte ...........................]
 * guest address              0                                          guest size
 * ```
 *
 * Every way the guest reaches its memory is rewritten so that it sees exactly what it would see
 * in a memory of its own, at every point, traps included:
 *
 * - **loads and stores**: the static offset of the memory argument grows by `B = K * 65536`. An
 *   access traps when `address + offset + size` passes the memory's end; both sides of that
 *   comparison grow by `B`, so the same accesses trap. An offset that would pass `0xffffffff`
 *   (the encoding's limit) belonged to an access that always trapped (`offset > 2^32 - 1 - B`,
 *   more than the largest guest memory allows, see below): it becomes `0xffffffff`, which
 *   still always traps, with the same out-of-bounds trap.
 * - **`memory.size`** is followed by `i32.const K; i32.sub`.
 * - **`memory.grow`**: its result (the old size, or -1) becomes `r == -1 ? -1 : r - K`. The
 *   growth itself is unchanged: the limits below make the same requests succeed and fail.
 * - **`memory.fill`, `memory.copy`, `memory.init`**: their memory addresses (not `memory.init`'s
 *   segment offset, not the length) move by `B`. The operands are taken into scratch locals to
 *   reach the address under them. An address above `0xffffffff - B` would wrap around into the
 *   reserved pages: it becomes `0xffffffff` instead, which is out of bounds for any length
 *   (the guest's access was out of bounds too), so it traps before writing anything, as bulk
 *   memory operations check their whole range first.
 * - **active data segments**: their `i32.const` offset moves by `B`, clamped to `0xffffffff`
 *   like an address (a segment there could never be placed: instantiation still fails).
 * - **limits**: the initial size grows by K pages, and the maximum too, but is capped at
 *   {@link MAX_TOTAL_PAGES} (65535) pages, and set to it when the guest declares none.
 *
 * **Why 65535 pages and not 65536.** With at most 65535 pages (4 GiB - 64 KiB) in total, byte
 * `0xffffffff` is never inside the memory, which is what makes the clamped addresses and offsets
 * above trap for every length, including 0, with no exception to prove. The price: a guest whose
 * maximum is within K + 1 pages of 65536 (or that declares none: the engine's limit is 65536)
 * cannot grow past `65535 - K` pages; its `memory.grow` returns -1 where it would have succeeded
 * (and would then own almost 4 GiB, which light clients never give a runtime). A guest whose
 * *initial* size is over `65535 - K` pages cannot be shifted at all: the rewrite refuses it
 * (`RewriteError`).
 *
 * **What the host must do** (the VM, not this rewrite): read and write the guest's memory at
 * `B + address`, report `memory.size` minus K, grow it as the guest would, give an imported
 * memory K more pages than the guest declares, and keep the reserved pages for itself.
 *
 * **On Asyncify without multi-memory**, the reserved pages hold Asyncify's data structure at
 * address 0 and its stack in `[8, B)`. Binaryen's Asyncify does not check the stack's end while
 * unwinding (its source: "No check is done during unwinding or rewinding"), so an unwind too
 * deep for the buffer would write past `B`, into the guest's memory; `unwind-guard.ts` adds
 * that check to Asyncify's output.
 *
 * @module
 */

import type { ByteWriter } from './byte-writer.js';

/** Bytes in a page. */
export const PAGE_BYTES = 65536;
/** The most pages the shifted memory may have in total; see the module documentation. */
export const MAX_TOTAL_PAGES = 65535;

/** The shifted static offset of a load or store: `offset + base`, clamped to `0xffffffff`. */
export function shiftedOffset(offset: number, base: number): number {
  const shifted = offset + base;
  return shifted > 0xffff_ffff ? 0xffff_ffff : shifted;
}

/** After `memory.size`: the guest's size, `size - pages`. */
export function emitSizeAdjustment(w: ByteWriter, pages: number): void {
  w.ensure(8);
  w.byte(0x41); // i32.const K
  w.signed(pages);
  w.byte(0x6b); // i32.sub
}

/** After `memory.grow`: `r == -1 ? -1 : r - pages`, with `r` kept in the scratch local `t`. */
export function emitGrowAdjustment(w: ByteWriter, pages: number, t: number): void {
  w.ensure(32);
  w.byte(0x22); // local.tee t
  w.u32(t);
  w.byte(0x41); // i32.const K
  w.signed(pages);
  w.byte(0x6b); // i32.sub
  w.byte(0x20); // local.get t
  w.u32(t);
  w.byte(0x20); // local.get t
  w.u32(t);
  w.bytes2(0x41, 0x7f); // i32.const -1
  w.byte(0x47); // i32.ne
  w.byte(0x1b); // select: r != -1 ? r - K : r
}

/**
 * The address on top of the stack, shifted by `base`, or `0xffffffff` if that would wrap:
 * `t <= 0xffffffff - base ? t + base : 0xffffffff`, with the scratch local `t`.
 */
export function emitShiftAddress(w: ByteWriter, base: number, t: number): void {
  w.ensure(40);
  w.byte(0x22); // local.tee t
  w.u32(t);
  w.byte(0x41); // i32.const base
  w.signed(base | 0);
  w.byte(0x6a); // i32.add
  w.bytes2(0x41, 0x7f); // i32.const -1
  w.byte(0x20); // local.get t
  w.u32(t);
  w.byte(0x41); // i32.const 0xffffffff - base
  w.signed((0xffff_ffff - base) | 0);
  w.byte(0x4d); // i32.le_u
  w.byte(0x1b); // select
}

/**
 * Before `memory.fill` (`[d, value, n]`), `memory.copy` (`[d, s, n]`) or `memory.init`
 * (`[d, s, n]`, `s` an offset in the segment): shifts the memory addresses among the three
 * operands, using the scratch locals `t`, `a`, `b`. `sub` is the instruction's `0xfc`
 * sub-opcode.
 */
export function emitShiftBulkOperands(w: ByteWriter, sub: number, base: number, t: number, a: number, b: number): void {
  w.ensure(24);
  w.byte(0x21); // local.set a (n)
  w.u32(a);
  if (sub === 10) {
    // memory.copy: both addresses move.
    emitShiftAddress(w, base, t);
    w.ensure(24);
    w.byte(0x21); // local.set b (shifted s)
    w.u32(b);
  } else {
    w.byte(0x21); // local.set b (value, or the segment offset)
    w.u32(b);
  }
  emitShiftAddress(w, base, t);
  w.ensure(24);
  w.byte(0x20); // local.get b
  w.u32(b);
  w.byte(0x20); // local.get a
  w.u32(a);
}

/** The shifted offset of an active data segment: `offset + base` (as u32), clamped to `0xffffffff`. */
export function shiftedSegmentOffset(offset: number, base: number): number {
  return shiftedOffset(offset >>> 0, base);
}
