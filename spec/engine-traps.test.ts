/**
 * The trap kinds the library reports for each engine's own messages, as Chromium 153 (V8),
 * Firefox 153.8 ESR (SpiderMonkey) and WebKitGTK 2.50.6 (JavaScriptCore) word them (collected
 * in their pages by the browser suite's probes; `spec/browser.test.ts` checks the same in the
 * engines themselves where a backend runs). White-box: `trapFromError` is given the error the
 * engine would throw.
 */
import { trapFromError } from '../lib/vm/traps.js';

/** Each engine's message for each trap, and the kind the library must report. */
const MESSAGES: readonly (readonly [string, string, string])[] = [
  // [what, message, kind]
  ['V8 unreachable', 'unreachable', 'Unreachable'],
  ['V8 memory', 'memory access out of bounds', 'MemoryOutOfBounds'],
  ['V8 division', 'divide by zero', 'DivisionByZero'],
  ['V8 remainder', 'remainder by zero', 'DivisionByZero'],
  ['V8 overflow', 'divide result unrepresentable', 'IntegerOverflow'],
  ['V8 truncation', 'float unrepresentable in integer range', 'InvalidConversion'],
  ['V8 table', 'table index is out of bounds', 'UndefinedElement'],
  ['V8 null entry', 'null function', 'IndirectCallMismatch'],
  ['V8 signature', 'function signature mismatch', 'IndirectCallMismatch'],
  ['JavaScriptCore unreachable', "Unreachable code should not be executed (evaluating 'f()')", 'Unreachable'],
  ['JavaScriptCore memory', "Out of bounds memory access (evaluating 'f()')", 'MemoryOutOfBounds'],
  ['JavaScriptCore division', "Division by zero (evaluating 'f()')", 'DivisionByZero'],
  ['JavaScriptCore overflow', "Integer overflow (evaluating 'f()')", 'IntegerOverflow'],
  ['JavaScriptCore truncation', "Out of bounds Trunc operation (evaluating 'f()')", 'InvalidConversion'],
  ['JavaScriptCore table', "Out of bounds call_indirect (evaluating 'f()')", 'UndefinedElement'],
  ['JavaScriptCore null entry', "call_indirect to a null table entry (evaluating 'f()')", 'IndirectCallMismatch'],
  ['JavaScriptCore signature', "call_indirect to a signature that does not match (evaluating 'f()')", 'IndirectCallMismatch'],
  ['SpiderMonkey unreachable', 'unreachable executed', 'Unreachable'],
  ['SpiderMonkey division', 'integer divide by zero', 'DivisionByZero'],
  ['SpiderMonkey NaN truncation', 'invalid conversion to integer', 'InvalidConversion'],
  ['SpiderMonkey null entry', 'indirect call to null', 'IndirectCallMismatch'],
  ['SpiderMonkey signature', 'indirect call signature mismatch', 'IndirectCallMismatch'],
  // Known limitations (see lib/vm/traps.ts and spec/support/engine-differences.ts): the same
  // words for two kinds. Memory and table out of bounds:
  ['SpiderMonkey memory or table', 'index out of bounds', 'Other'],
  // Division overflow (IntegerOverflow) and truncation out of range (InvalidConversion):
  ['SpiderMonkey overflow or truncation', 'integer overflow', 'IntegerOverflow'],
];

describe("each engine's trap messages", () => {
  test.each(MESSAGES)('%s: "%s" is %s', (_what, message, kind) => {
    expect(trapFromError(new WebAssembly.RuntimeError(message), 'running', null)?.kind).toBe(kind);
  });

  test('stack overflow: V8 and JavaScriptCore (RangeError), SpiderMonkey (InternalError)', () => {
    expect(trapFromError(new RangeError('Maximum call stack size exceeded'), 'running', null)?.kind).toBe('StackExhausted');
    expect(trapFromError(new RangeError('Maximum call stack size exceeded.'), 'running', null)?.kind).toBe('StackExhausted');
    const internal = Object.assign(new Error('too much recursion'), { name: 'InternalError' });
    expect(trapFromError(internal, 'running', null)?.kind).toBe('StackExhausted');
  });
});
