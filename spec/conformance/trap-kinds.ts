/**
 * Which {@link TrapKind} the VM must report for the message an `assert_trap` or
 * `assert_exhaustion` expects.
 *
 * The spec interpreter's messages are matched by prefix, as the reference harness does
 * ("uninitialized element 7" is an "uninitialized element"). The mapping follows the contract
 * in `lib/errors.ts`: an index past the table is `UndefinedElement`; an empty table slot and a
 * slot holding a function of another type are both `IndirectCallMismatch` (engines report the
 * two the same way).
 *
 * @module
 */

import type { TrapKind } from '../../lib/index.js';

/** Spec message prefixes and the kinds each stands for; the first matching prefix wins. */
const TRAP_MESSAGES: readonly (readonly [string, TrapKind | readonly TrapKind[]])[] = [
  ['unreachable', 'Unreachable'],
  ['integer divide by zero', 'DivisionByZero'],
  ['integer overflow', 'IntegerOverflow'],
  ['invalid conversion to integer', 'InvalidConversion'],
  ['out of bounds memory access', 'MemoryOutOfBounds'],
  // Bulk memory and reference types: an index past the end of a table (table.get/set/fill/
  // copy/init) is UndefinedElement, as for call_indirect (engines report both the same way).
  ['out of bounds table access', 'UndefinedElement'],
  // Older bulk-memory scripts say just "out of bounds", for memories and tables alike.
  ['out of bounds', ['MemoryOutOfBounds', 'UndefinedElement']],
  // "undefined element" (index past the table); older scripts say just "undefined".
  ['undefined', 'UndefinedElement'],
  // "uninitialized element" (an empty slot); older scripts say just "uninitialized".
  ['uninitialized', 'IndirectCallMismatch'],
  // "indirect call type mismatch"; older scripts say just "indirect call".
  ['indirect call', 'IndirectCallMismatch'],
  ['call stack exhausted', 'StackExhausted'],
];

/**
 * The trap kinds the VM may report for the spec message `text` of an action on the export
 * `field`, or `null` if the message is unknown.
 *
 * One exception to the table: the reference interpreter reports a float-to-integer truncation
 * of a value outside the integer's range as "integer overflow", where the library's contract
 * (`TrapKind`) has `InvalidConversion` for every failed conversion, NaN or out of range (V8
 * reports both the same way). The scripts name such exports after the instruction
 * (`i32.trunc_f32_s`), which is how they are recognised here.
 */
export function expectedTrapKinds(text: string, field: string): readonly TrapKind[] | null {
  for (const [prefix, kinds] of TRAP_MESSAGES) {
    if (!text.startsWith(prefix)) continue;
    if (kinds === 'IntegerOverflow' && /trunc/.test(field)) return ['InvalidConversion'];
    return typeof kinds === 'string' ? [kinds] : kinds;
  }
  return null;
}
