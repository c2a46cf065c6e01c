/**
 * Turns what the engine throws out of guest code into a {@link Trap}.
 *
 * Engines report WebAssembly traps as `WebAssembly.RuntimeError` and stack overflow as a
 * `RangeError` (V8, JavaScriptCore) or an `InternalError` (SpiderMonkey), distinguishing the
 * trap kinds only by message. The messages below are V8's (Node.js, Chromium), JavaScriptCore's
 * (Safari, WebKitGTK) and SpiderMonkey's (Firefox) where they are its own; anything else is still
 * a trap, of kind `Other`, with the engine's message kept. SpiderMonkey words an out-of-bounds
 * memory access and a `call_indirect` past its table alike ("index out of bounds": `Other`), and a
 * truncation out of range like a division overflow ("integer overflow": `IntegerOverflow`); the
 * trapping instruction, at the offset the error's stack names, would tell them apart.
 * (`spec/engine-traps.test.ts` holds each engine's messages.)
 *
 * @module
 */

import type { ThrowContext } from '../backends/call-driver.js';
import { Trap, type TrapKind } from '../base/errors.js';
import { HostFunctionFailure } from './inline-imports.js';

/**
 * Substrings of engine messages (lowercase), the kind they mean, and a description. Plain
 * substring tests rather than regular expressions: this runs right after the guest exhausted the
 * stack, with little of it left, and a regular expression may need to be compiled.
 */
const RUNTIME_ERROR_KINDS: readonly (readonly [readonly string[], TrapKind, string])[] = [
  [['unreachable'], 'Unreachable', 'unreachable executed'],
  [
    // A load, a store, a bulk memory operation; memory.init past the end of its data segment.
    ['memory access out of bounds', 'out of bounds memory access', 'data segment out of bounds'],
    'MemoryOutOfBounds',
    'out-of-bounds memory access',
  ],
  [['divide by zero', 'remainder by zero', 'division by zero'], 'DivisionByZero', 'integer divide by zero'],
  [['divide result unrepresentable', 'integer overflow'], 'IntegerOverflow', 'integer overflow'],
  [['float unrepresentable', 'invalid conversion', 'out of bounds trunc'], 'InvalidConversion', 'invalid conversion to integer'],
  [
    // call_indirect and table.get/set/fill/copy/init past the end of a table; table.init past
    // the end of its element segment.
    [
      'table index is out of bounds',
      'undefined element',
      'element segment out of bounds',
      'table access out of bounds',
      'out of bounds call_indirect',
      'out of bounds table access',
    ],
    'UndefinedElement',
    'undefined element (table index out of bounds)',
  ],
  [
    ['null function', 'signature mismatch', 'indirect call', 'call_indirect to a'],
    'IndirectCallMismatch',
    'indirect call to an uninitialized element or to a function of another type',
  ],
];

function mentions(message: string, needles: readonly string[]): boolean {
  const lower = message.toLowerCase();
  for (const needle of needles) if (lower.includes(needle)) return true;
  return false;
}

/** `true` if `error` is an engine's report of call stack overflow. */
function isStackOverflow(error: unknown): boolean {
  if (error instanceof RangeError) return mentions(error.message, ['call stack']);
  return error instanceof Error && error.name === 'InternalError' && mentions(error.message, ['recursion']);
}

/**
 * What the stack-limit import throws into the guest (`VmConfig.maxStackHeight`, see
 * `transform/stack-limit.ts`): the call is over, as a trap of kind `StackLimitExceeded`. Never
 * seen by a host. The guest's MVP code cannot catch it.
 */
export class StackLimitExceeded extends Error {
  override readonly name = 'StackLimitExceeded';
  constructor(readonly limit: number) {
    super(`the logical stack limit (maxStackHeight ${limit}) was exceeded`);
  }
}

/**
 * The trap for `error`, thrown by guest code while the call was in `context`; `null` if `error`
 * is not a guest fault (which the caller then lets propagate, since it is a bug here).
 * `unwindBufferSize` is used in the message of a paused stack that overflowed the buffer
 * (Asyncify); it is `null` where the engine holds paused stacks itself (JSPI).
 */
export function trapFromError(error: unknown, context: ThrowContext, unwindBufferSize: number | null): Trap | null {
  if (error instanceof HostFunctionFailure) return new Trap('HostFunction', error.message, error.cause);
  if (error instanceof StackLimitExceeded) {
    return new Trap(
      'StackLimitExceeded',
      `call stack limit exceeded: the guest's frames would have cost more than maxStackHeight (${error.limit} units)`,
      error,
    );
  }
  const isRuntimeError = error instanceof WebAssembly.RuntimeError;
  if (context === 'pausing' && (isRuntimeError || isStackOverflow(error))) {
    // While unwinding only Asyncify's own code runs, and the only thing it can run out of is
    // the buffer: a store past the end of the buffer's memory is what traps here.
    return new Trap(
      'StackExhausted',
      `call stack exhausted: the stack of the call paused at an import does not fit in the ` +
        `${formatBytes(unwindBufferSize ?? 0)} unwind buffer (raise \`unwindBufferPages\`)`,
      error,
    );
  }
  if (isStackOverflow(error)) {
    return new Trap(
      'StackExhausted',
      context === 'resuming'
        ? 'call stack exhausted while resuming the paused call: the engine stack available to ' +
            'run() is smaller than when the call paused'
        : unwindBufferSize === null
          ? 'call stack exhausted: the guest recursed deeper than the stack the engine gives each call allows'
          : 'call stack exhausted: the guest recursed deeper than the engine stack allows',
      error,
    );
  }
  if (!isRuntimeError) return null;
  const message = (error as Error).message;
  for (const [needles, kind, description] of RUNTIME_ERROR_KINDS) {
    if (mentions(message, needles)) return new Trap(kind, `trap: ${description}`, error);
  }
  return new Trap('Other', `trap: ${message}`, error);
}

function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB` : `${Math.round(bytes / 1024)} KiB`;
}
