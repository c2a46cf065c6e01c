/**
 * Fuel (`fuel`): metering as a *resumable* interrupt, like wasmi's `ResumableCall::OutOfFuel`.
 * The guest pays for its instructions from a counter; when it cannot pay, it calls an import
 * that pauses it until the host adds fuel, then pays and goes on. Where it pauses depends only on
 * the guest's code and the fuel given, never on the engine or the pause mechanism.
 *
 * ## The unit
 *
 * Costs are counted on the guest's own instructions (what the rewrite adds is free):
 *
 * - every instruction costs **1**, except the structural markers `block`, `loop`, `else`,
 *   `end` and `nop`, which cost **0**;
 * - a bulk operation also costs its size, charged when it is reached (its operands known):
 *   `memory.fill`, `memory.copy`, `memory.init` **ceil(n / 64)** more (n bytes), and
 *   `table.fill`, `table.copy`, `table.init`, `table.grow` **ceil(n / 8)** more (n entries), so
 *   that one instruction cannot do unbounded work for 1 unit. (`memory.grow` costs 1: engines
 *   zero new pages lazily.)
 *
 * ## Fuel blocks: where fuel is charged
 *
 * Fuel is charged per *fuel block*, a run of instructions entered only at its first one, in full
 * when it is entered (as wasm-instrument's gas metering). A fuel block starts where control can
 * arrive other than from the instruction before:
 *
 * - the function's entry;
 * - after `loop` (its body: the target of the loop's branches);
 * - after `if` (the then-arm) and after `else` (the else-arm);
 * - after the `end` of an `if` (a join), of a `block` that some branch targets (a join), and of
 *   a `loop` (so that the code after a loop is not paid at every iteration).
 *
 * Nothing else starts one: not `block` (a branch to it goes to its `end`), not the `end` of a
 * block no branch targets (reached only from the code before it), not `br_if` (its fall-through
 * goes on in the same block, which therefore also pays the code after the `br_if` when the
 * branch is taken), not `call` and `call_indirect` (the code after a call was paid with the code
 * before it). `br`, `br_table`, `return` and `unreachable` end a block: the code after them up
 * to the next `else` or `end` is unreachable and charges nothing. A block's cost is the sum of
 * its instructions' costs, at most {@link MAX_BLOCK_COST}: the instruction that would pass it
 * starts a new block. A block of cost 0 charges nothing.
 *
 * **So, precisely:** fuel consumed = the costs of the fuel blocks entered + the sizes of the
 * bulk operations reached. A block counts in full as soon as it is entered, whether all of it
 * runs or a trap, a taken `br_if` or a pause inside a call ends it early; at an interrupt, the
 * fuel consumed covers everything that ran and the rest of each block on the stack. It depends
 * on the code and its inputs only, never on the engine, the pause mechanism or how the host
 * refilled the counter. (Fewer charge points than one per basic block keep the cost of metering
 * down: westend's 2.49 million instructions have about 88,000.)
 *
 * ## The code
 *
 * The counter is an appended mutable i64 global, exported as {@link FUEL_EXPORT}: the fuel left,
 * never negative between blocks. Each block begins with (C its cost, known when the block ends,
 * so written as a fixed-width LEB128 and patched)
 *
 * ```wat
 * global.get $fuel  i64.const C  i64.sub  global.set $fuel   ;; pay
 * global.get $fuel  i64.const 0  i64.lt_s                    ;; could not?
 * if  i64.const C  call $out_of_fuel  end
 * ```
 *
 * and `$out_of_fuel` (an appended function) puts the C back, then calls the import
 * {@link FUEL_IMPORT} with C, in a loop until the counter holds at least C, then pays:
 *
 * ```wat
 * (func $out_of_fuel (param $c i64)
 *   global.get $fuel  local.get $c  i64.add  global.set $fuel
 *   loop
 *     local.get $c  call $fuel_import              ;; pauses; the host adds fuel
 *     global.get $fuel  local.get $c  i64.lt_s  br_if 0
 *   end
 *   global.get $fuel  local.get $c  i64.sub  global.set $fuel)
 * ```
 *
 * While paused there, the counter holds the fuel left (less than C) and the block is not paid:
 * `fuelConsumed = fuel given - counter` at every moment outside a block's first instructions.
 * The pause is at the same instruction, before the same block, whatever the engine and however
 * many times the host refilled too little: the import is called again until the block is paid.
 *
 * With Asyncify, every function that charges fuel can reach the pausing import, so every such
 * function is instrumented (the price of fuel on that backend). The counter is a global: an
 * unwind and a rewind leave it alone, and Asyncify skips the code before a call when rewinding
 * and after it when unwinding, so each block is paid exactly once (see `stack-limit.ts` for the
 * same argument in full).
 *
 * @module
 */

import { FUEL_EXPORT, FUEL_IMPORT } from './abi.js';
import { ByteWriter } from './byte-writer.js';

export { FUEL_EXPORT, FUEL_IMPORT };

/** The most a fuel block costs: its cost is a 2-byte LEB128 patched when the block ends. */
export const MAX_BLOCK_COST = 8191;
/** The width of the patched cost's LEB128. */
export const COST_WIDTH = 2;
/** Bytes of memory per fuel unit of `memory.fill`, `memory.copy`, `memory.init` (a power of 2). */
export const BYTES_PER_UNIT = 64;
/** Table entries per fuel unit of `table.fill`, `table.copy`, `table.init`, `table.grow` (a power of 2). */
export const ENTRIES_PER_UNIT = 8;

/** The static cost of each single-byte opcode: 0 for block, loop, else, end, nop; 1 otherwise. */
export const STATIC_COST: Uint8Array = (() => {
  const costs = new Uint8Array(256).fill(1);
  for (const op of [0x01, 0x02, 0x03, 0x05, 0x0b]) costs[op] = 0;
  return costs;
})();

/**
 * The charge of a block, as bytes with its cost left open (see the module documentation): the
 * counter's and `$out_of_fuel`'s indices are the same for every block of a module, so the
 * sequence is built once and copied for each block, and its cost written in when the block ends.
 */
export class ChargeTemplate {
  readonly bytes: Uint8Array;
  /** Where, in the template, the two cost placeholders and the `call $out_of_fuel` are. */
  readonly first: number;
  readonly second: number;
  readonly call: number;

  constructor(counter: number, helper: number) {
    const w = new ByteWriter(64);
    w.ensure(40);
    w.byte(0x23); // global.get $fuel
    w.u32(counter);
    w.byte(0x42); // i64.const C
    this.first = w.paddedSigned(0, COST_WIDTH);
    w.byte(0x7d); // i64.sub
    w.byte(0x24); // global.set $fuel
    w.u32(counter);
    w.byte(0x23); // global.get $fuel
    w.u32(counter);
    w.bytes2(0x42, 0x00); // i64.const 0
    w.byte(0x53); // i64.lt_s
    w.bytes2(0x04, 0x40); // if
    w.byte(0x42); // i64.const C
    this.second = w.paddedSigned(0, COST_WIDTH);
    this.call = w.pos;
    w.byte(0x10); // call $out_of_fuel
    w.u32(helper);
    w.byte(0x0b); // end
    this.bytes = w.toBytes();
  }

  /** Writes a charge at the end of `w`; returns where it starts. */
  emit(w: ByteWriter): number {
    return w.template(this.bytes);
  }

  /** Writes `cost` (at most {@link MAX_BLOCK_COST}) into the charge written at `at`. */
  patch(w: ByteWriter, at: number, cost: number): void {
    const buf = w.buf;
    const low = (cost & 0x7f) | 0x80;
    const high = cost >> 7;
    buf[at + this.first] = low;
    buf[at + this.first + 1] = high;
    buf[at + this.second] = low;
    buf[at + this.second + 1] = high;
  }
}

/**
 * Before a bulk operation whose size `n` (an i32) is on top of the stack: charges
 * `ceil(n / unit)` (`unit` a power of 2), with the scratch locals `a` (i32) and `d` (i64).
 * Returns the position of its `call $out_of_fuel`.
 */
export function emitSizeCharge(w: ByteWriter, unit: number, counter: number, helper: number, a: number, d: number): number {
  w.ensure(64);
  w.byte(0x22); // local.tee a (n stays on the stack)
  w.u32(a);
  w.byte(0x20); // local.get a
  w.u32(a);
  w.byte(0xad); // i64.extend_i32_u
  w.byte(0x42); // i64.const unit - 1
  w.signed(unit - 1);
  w.byte(0x7c); // i64.add
  w.byte(0x42); // i64.const log2(unit)
  w.signed(Math.log2(unit));
  w.byte(0x88); // i64.shr_u
  w.byte(0x21); // local.set d
  w.u32(d);
  w.byte(0x23); // global.get $fuel
  w.u32(counter);
  w.byte(0x20); // local.get d
  w.u32(d);
  w.byte(0x7d); // i64.sub
  w.byte(0x24); // global.set $fuel
  w.u32(counter);
  w.byte(0x23); // global.get $fuel
  w.u32(counter);
  w.bytes2(0x42, 0x00); // i64.const 0
  w.byte(0x53); // i64.lt_s
  w.bytes2(0x04, 0x40); // if
  w.byte(0x20); // local.get d
  w.u32(d);
  const call = w.pos;
  w.byte(0x10); // call $out_of_fuel
  w.u32(helper);
  w.byte(0x0b); // end
  return call;
}

/**
 * The body of `$out_of_fuel` (type `(i64) -> ()`, no locals besides its parameter), with its
 * local declarations, as the code section holds it (without the size).
 */
export function outOfFuelBody(w: ByteWriter, counter: number, fuelImport: number): void {
  w.ensure(64);
  w.byte(0x00); // no locals
  w.byte(0x23); // global.get $fuel
  w.u32(counter);
  w.bytes2(0x20, 0x00); // local.get $c
  w.byte(0x7c); // i64.add
  w.byte(0x24); // global.set $fuel
  w.u32(counter);
  w.bytes2(0x03, 0x40); // loop
  w.bytes2(0x20, 0x00); // local.get $c
  w.byte(0x10); // call $fuel_import
  w.u32(fuelImport);
  w.byte(0x23); // global.get $fuel
  w.u32(counter);
  w.bytes2(0x20, 0x00); // local.get $c
  w.byte(0x53); // i64.lt_s
  w.bytes2(0x0d, 0x00); // br_if 0
  w.byte(0x0b); // end
  w.byte(0x23); // global.get $fuel
  w.u32(counter);
  w.bytes2(0x20, 0x00); // local.get $c
  w.byte(0x7d); // i64.sub
  w.byte(0x24); // global.set $fuel
  w.u32(counter);
  w.byte(0x0b); // end
}
