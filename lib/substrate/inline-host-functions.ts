/**
 * The host functions answered inline: allocator, hashing, logging and panics.
 *
 * Each implementation receives the active call's context, the guest's memory and the raw
 * arguments (`i32` as a number, `i64` as a bigint), and returns the raw result. Whatever it
 * throws ends the call: the core turns it into a `HostFunction` trap, which `runtimeCall`
 * reports as a `RuntimeCallError` naming the function.
 *
 * Every pointer-size argument is checked to lie inside the memory before it is read, and every
 * block handed to the runtime comes from the call's allocator, which bounds each allocation
 * (32 MiB) and the heap as a whole (the runtime's heap pages). A hostile runtime therefore cannot
 * make the host read out of range or allocate without limit through these functions.
 *
 * @module
 */

import type { GuestMemoryAccess } from '../base/guest-memory-access.js';
import type { CallContext } from './call-context.js';
import { RuntimeCallError } from './errors.js';
import type { HashFunctionName, Hashers } from './hashing.js';
import { toHex } from './hex.js';
import { type LogEntry, levelFromNumber, logText } from './logging.js';
import { readPointerSize } from './pointer-size.js';

/** An inline host function: the context of the active call, the memory, the raw arguments. */
export type InlineHostFunction = (
  context: CallContext,
  memory: GuestMemoryAccess,
  params: readonly (number | bigint)[],
) => number | bigint | undefined;

/** The implementation of the inline host function `name`, or `null` if it is not one. */
export function inlineHostFunction(name: string, hashers: Hashers): InlineHostFunction | null {
  const hash = /^ext_hashing_(.+)_version_1$/.exec(name)?.[1];
  if (hash !== undefined && hash in hashers) return hashFunction(hashers[hash as HashFunctionName]);
  switch (name) {
    case 'ext_allocator_malloc_version_1':
      return (context, memory, [size]) => context.allocator.malloc(memory, size as number) | 0;
    case 'ext_allocator_free_version_1':
      return (context, memory, [pointer]) => {
        context.allocator.free(memory, pointer as number);
        return undefined;
      };
    case 'ext_logging_max_level_version_1':
      return (context) => context.maxLogLevel;
    case 'ext_logging_log_version_1':
      return (context, memory, [level, target, message]) => {
        const levelName = levelFromNumber(level as number);
        // A level the host did not ask for, or an unknown one, is dropped unread.
        if (context.onLog === null || levelName === null || (level as number) > context.maxLogLevel) return undefined;
        emit(context, {
          level: levelName,
          target: logText(readPointerSize(memory, target as bigint, 'the target argument')),
          message: logText(readPointerSize(memory, message as bigint, 'the message argument')),
        });
        return undefined;
      };
    case 'ext_misc_print_utf8_version_1':
      return printer((memory, data) => logText(readPointerSize(memory, data as bigint, 'the data argument')));
    case 'ext_misc_print_hex_version_1':
      return printer((memory, data) => toHex(readPointerSize(memory, data as bigint, 'the data argument')));
    case 'ext_misc_print_num_version_1':
      return printer((_memory, value) => BigInt.asUintN(64, value as bigint).toString());
    case 'ext_panic_handler_abort_on_panic_version_1':
      return (_context, memory, [message]) => {
        const text = logText(readPointerSize(memory, message as bigint, 'the message argument'));
        throw new RuntimeCallError('Panic', `the runtime panicked: ${text}`, {
          function: 'ext_panic_handler_abort_on_panic_version_1',
        });
      };
    default:
      return null;
  }
}

/** A hashing function: read the data, hash it, hand the digest back in a fresh heap block. */
function hashFunction(hash: (data: Uint8Array) => Uint8Array): InlineHostFunction {
  return (context, memory, [data]) => {
    const digest = hash(readPointerSize(memory, data as bigint, 'the data argument'));
    const pointer = context.allocator.malloc(memory, digest.length);
    memory.writeMemory(pointer, digest);
    return pointer | 0;
  };
}

/** An `ext_misc_print_*` function: a `debug` entry with the target `runtime`, as Substrate prints them. */
function printer(format: (memory: GuestMemoryAccess, argument: number | bigint) => string): InlineHostFunction {
  return (context, memory, [argument]) => {
    if (context.onLog !== null && context.maxLogLevel >= 4) {
      emit(context, { level: 'debug', target: 'runtime', message: format(memory, argument!) });
    }
    return undefined;
  };
}

/** Hands an entry to the caller's log sink; a sink that throws must not fail the runtime's call. */
function emit(context: CallContext, entry: LogEntry): void {
  try {
    context.onLog!(entry);
  } catch {
    // Logging is a side channel: ignore the sink's failure.
  }
}
