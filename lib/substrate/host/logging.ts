/**
 * Logging, printing and panicking: `ext_logging_*`, `ext_misc_print_*` and
 * `ext_panic_handler_abort_on_panic_version_1`, all answered inline (see `call/log-entry.ts` for the
 * levels and how entries reach the caller).
 *
 * A level the caller did not ask for is dropped without reading its text, so a runtime that
 * logs at `trace` costs little when nobody listens. A panic ends the call with a
 * `RuntimeCallError` of kind `Panic` carrying the runtime's message.
 *
 * @module
 */

import type { GuestMemoryAccess } from '../../base/guest-memory-access.js';
import type { CallContext } from '../call/context.js';
import { RuntimeCallError } from '../errors.js';
import { toHex } from '../encoding/hex.js';
import { type LogEntry, levelFromNumber, logText } from '../call/log-entry.js';
import { type HostFunctionTable, type InlineHostFunction, type RawValue, argBuffer, i32, inline, ps, sig } from './definition.js';

/** An `ext_misc_print_*` function: a `debug` entry with the target `runtime`, as Substrate prints them. */
function printer(signatureParam: 'i64', format: (memory: GuestMemoryAccess, argument: RawValue) => string): InlineHostFunction {
  return inline(sig([signatureParam], null), (context, memory, [argument]) => {
    if (context.onLog !== null && context.maxLogLevel >= 4) emit(context, { level: 'debug', target: 'runtime', message: format(memory, argument!) });
    return undefined;
  });
}

/** Hands an entry to the caller's log sink; a sink that throws must not fail the runtime's call. */
function emit(context: CallContext, entry: LogEntry): void {
  try {
    context.onLog!(entry);
  } catch {
    // Logging is a side channel: ignore the sink's failure.
  }
}

/** The logging, printing and panic host functions, by import name. */
export const LOGGING_HOST_FUNCTIONS: HostFunctionTable = {
  ext_logging_max_level_version_1: inline(sig([], i32), (context) => context.maxLogLevel),
  ext_logging_log_version_1: inline(sig([i32, ps, ps], null), (context, memory, [level, target, message]) => {
    const levelName = levelFromNumber(level as number);
    // A level the host did not ask for, or an unknown one, is dropped unread (entry levels count from 0, the filter from 1).
    if (context.onLog === null || levelName === null || (level as number) + 1 > context.maxLogLevel) return undefined;
    emit(context, {
      level: levelName,
      target: logText(argBuffer(memory, target, 'target')),
      message: logText(argBuffer(memory, message, 'message')),
    });
    return undefined;
  }),
  ext_misc_print_utf8_version_1: printer('i64', (memory, data) => logText(argBuffer(memory, data, 'data'))),
  ext_misc_print_hex_version_1: printer('i64', (memory, data) => toHex(argBuffer(memory, data, 'data'))),
  ext_misc_print_num_version_1: printer('i64', (_memory, value) => BigInt.asUintN(64, value as bigint).toString()),
  ext_panic_handler_abort_on_panic_version_1: inline(sig([ps], null), (_context, memory, [message]) => {
    const text = logText(argBuffer(memory, message, 'message'));
    throw new RuntimeCallError('Panic', `the runtime panicked: ${text}`, { function: 'ext_panic_handler_abort_on_panic_version_1' });
  }),
};
