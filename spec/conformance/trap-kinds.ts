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

/** Spec message prefixes and the kind each stands for; the first matching prefix wins. */
const TRAP_MESSAGES: readonly (readonly [string, TrapKind])[] = [
  ['unreachable', 'Unreachable'],
  ['integer divide by zero', 'DivisionByZero'],
  ['integer overflow', 'IntegerOverflow'],
  ['invalid conversion to integer', 'InvalidConversion'],
  ['out of bounds memory access', 'MemoryOutOfBounds'],
  // "undefined element" (index past the table); older scripts say just "undefined".
  ['undefined', 'UndefinedElement'],
  // "uninitialized element" (an empty slot); older scripts say just "uninitialized".
  ['uninitialized', 'IndirectCallMismatch'],
  // "indirect call type mismatch"; older scripts say just "indirect call".
  ['indirect call', 'IndirectCallMismatch'],
  ['call stack exhausted', 'StackExhausted'],
];

/** The trap kind the VM must report for the spec message `text`, or `null` if the message is unknown. */
export function expectedTrapKind(text: string): TrapKind | null {
  for (const [prefix, kind] of TRAP_MESSAGES) if (text.startsWith(prefix)) return kind;
  return null;
}
