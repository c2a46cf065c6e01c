/**
 * Imports answered inline: the JavaScript function the guest calls for an import that a host
 * function answers synchronously, in place, without pausing (`VmConfig.inlineImports`).
 *
 * The guest must never receive a value of the wrong type: the engine would silently convert
 * `undefined` to `0` for an `i32` result, or throw a `TypeError` for a `number` given to an
 * `i64`. So the host function's result is checked against the import's result type, and a host
 * function that throws or returns a bad value ends the call: the error is wrapped in a
 * {@link HostFunctionFailure}, which unwinds the guest's stack like any exception from an import
 * and which the VM reports as a `trapped` outcome of kind `HostFunction`.
 *
 * @module
 */

import type { InlineImport } from '../base/config.js';
import type { GuestMemoryAccess } from '../base/guest-memory-access.js';
import { type ValueType, describeBadValue, describeValue } from '../base/values.js';

/** Thrown through the guest's frames when an inline host function fails; see the module doc. */
export class HostFunctionFailure extends Error {
  override readonly name = 'HostFunctionFailure';
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

/** What the guest imports for an inline import: `fn` wrapped with the result check. */
export function inlineImportFunction(
  fn: InlineImport,
  memory: GuestMemoryAccess,
  result: ValueType | null,
  describe: () => string,
): (...args: (number | bigint)[]) => unknown {
  return (...args) => {
    let value: unknown;
    try {
      value = fn(memory, args);
    } catch (e) {
      throw new HostFunctionFailure(`the inline host function for ${describe()} threw: ${e instanceof Error ? e.message : describeValue(e)}`, e);
    }
    if (result === null) return undefined;
    // The common case first: a well-typed value costs one typeof and one range check.
    if (result === 'i32' ? typeof value === 'number' && (value | 0) === value : false) return value;
    const reason = describeBadValue(result, value);
    if (reason !== null) {
      const error = new TypeError(`expected an ${result} result: ${reason}`);
      throw new HostFunctionFailure(`the inline host function for ${describe()} returned a bad value: ${error.message}`, error);
    }
    return value;
  };
}

/**
 * `fn`, counted as guest code while it runs (`memory.inlineDepth`): under `VmConfig.journal`, what
 * an inline import writes is the guest's doing, which a replay reproduces, not the host's, which
 * the journal records (see `call-journal.ts`).
 */
export function inGuestCode(
  fn: (...args: (number | bigint)[]) => unknown,
  memory: { inlineDepth: number },
): (...args: (number | bigint)[]) => unknown {
  return (...args) => {
    memory.inlineDepth++;
    try {
      return fn(...args);
    } finally {
      memory.inlineDepth--;
    }
  };
}
