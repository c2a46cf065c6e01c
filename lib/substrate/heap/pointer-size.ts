/**
 * The "pointer-size" convention of Substrate's host interface.
 *
 * A runtime passes a buffer to the host (a storage key, data to hash, a log message) as one `i64`
 * packing two unsigned 32-bit halves: the length in the high half, the address in the low half.
 * Entry points return their output the same way, and so do host functions that hand back
 * variable-length data (`ext_storage_get_version_1` returns the pointer-size of a buffer the
 * host allocated in the runtime's heap).
 *
 * ```text
 *  63            32 31             0
 * +----------------+----------------+
 * |     length     |    pointer     |
 * +----------------+----------------+
 * ```
 *
 * The values come from the guest, so every range is checked against the memory before anything
 * is read: a pointer-size that does not lie inside the memory is an error naming the function
 * and the argument, never a read out of range (and never a read larger than the memory).
 *
 * @module
 */

import type { GuestMemoryAccess } from '../../base/guest-memory-access.js';
import { WasmValue } from '../../base/values.js';
import { WASM_PAGE_SIZE } from './heap-memory.js';

/** A buffer in the guest's memory. Both halves are unsigned 32-bit numbers. */
export interface PointerSize {
  readonly pointer: number;
  readonly length: number;
}

/** Splits an `i64` pointer-size (signed or unsigned bigint) into its halves. */
export function unpackPointerSize(packed: bigint): PointerSize {
  const bits = BigInt.asUintN(64, packed);
  return { pointer: Number(bits & 0xffff_ffffn), length: Number(bits >> 32n) };
}

/** Packs a pointer and a length (unsigned 32-bit numbers) into an `i64` {@link WasmValue}. */
export function packPointerSize(pointer: number, length: number): WasmValue {
  return WasmValue.i64((BigInt(length >>> 0) << 32n) | BigInt(pointer >>> 0));
}

/** The same packing as a bigint, for inline host functions (which return raw engine values). */
export function packPointerSizeBigint(pointer: number, length: number): bigint {
  return BigInt.asIntN(64, (BigInt(length >>> 0) << 32n) | BigInt(pointer >>> 0));
}

/**
 * Why `range` is not inside `memory`, or `null` if it is. Computed before any access so that the
 * error can say which argument of which function was wrong.
 */
export function describeOutOfRange(memory: GuestMemoryAccess, range: PointerSize): string | null {
  const memoryBytes = memory.memorySize() * WASM_PAGE_SIZE;
  if (range.pointer + range.length <= memoryBytes) return null;
  return `${range.length} bytes at 0x${range.pointer.toString(16)} do not lie inside the memory (${memoryBytes} bytes)`;
}

/**
 * Reads the buffer a pointer-size designates. Throws a `RangeError` whose message names `what`
 * if it does not lie inside the memory.
 */
export function readPointerSize(memory: GuestMemoryAccess, packed: bigint, what: string): Uint8Array {
  const range = unpackPointerSize(packed);
  const problem = describeOutOfRange(memory, range);
  if (problem !== null) throw new RangeError(`${what}: ${problem}`);
  return memory.readMemory(range.pointer, range.length);
}
