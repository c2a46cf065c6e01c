/**
 * What a host function is, for this layer: the shape every area file (`allocator.ts`,
 * `storage.ts`, `crypto.ts`, ...) implements, and the helpers they share for reading arguments
 * and handing results back.
 *
 * A host function is served one of two ways, fixed when the runtime is created:
 *
 * - **inline**: a synchronous function that runs *inside* the runtime's call of the import and
 *   returns the result at once; the call never pauses (the core's `inlineImports`). For
 *   everything that needs nothing from outside the host: the allocator, hashing, logging,
 *   signature checks, trie roots, storage *writes* (they only touch the call's overlay).
 * - **pausing**: the call pauses and the call loop runs the function's *task*, a generator that
 *   may wait for the caller's providers (the storage, the offchain host, the `onHostCall`
 *   handler) by yielding a {@link Wait}; a provider that answers synchronously costs no
 *   promise at all. For everything that may need an answer from outside: storage reads, the
 *   storage root, offchain functions, the runtime version of other code.
 *
 * Either way the function gets the call's {@link CallContext} (its heap, its overlay, its
 * options), the guest's memory, and the raw arguments (`i32` as a number, `i64` as a bigint), and
 * returns the raw result (`undefined` for none). Whatever it throws fails the call with a
 * {@link RuntimeCallError} naming it ({@link toRuntimeCallError}).
 *
 * ## Arguments come from untrusted code
 *
 * Every pointer and length is checked to lie inside the memory before it is read
 * ({@link argBuffer}, {@link argFixed}); every SCALE argument is decoded with its lengths
 * checked against the bytes there (`encoding/scale.ts`); every block handed back comes from the call's
 * allocator, which bounds each allocation and the heap. A failed check throws before the host
 * has changed anything, so a refused call leaves the host's state as it was.
 *
 * @module
 */

import type { GuestMemoryAccess } from '../../base/guest-memory-access.js';
import { isPromiseLike } from '../../base/promise-like.js';
import { type Signature, type ValueType, WasmValue } from '../../base/values.js';
import { AllocatorError } from '../heap/allocator-error.js';
import type { CallContext } from '../call/context.js';
import { RuntimeCallError, hostFunctionFailed } from '../errors.js';
import { describeOutOfRange, packPointerSizeBigint, readPointerSize } from '../heap/pointer-size.js';
import { ScaleError } from '../encoding/scale.js';
import type { MaybePromise } from '../state/providers.js';

/** A value as the engine passes it: `i32` as a number, `i64` as a bigint. */
export type RawValue = number | bigint;

/** A pause of a host function's task, waiting for a provider's promise. */
export interface Wait {
  readonly promise: PromiseLike<unknown>;
  /** Who answers (`the storage provider`), for error messages. */
  readonly who: string;
}

/**
 * The work of a pausing host function: yields a {@link Wait} whenever it needs to wait for a
 * promise (and is resumed with its value), returns the function's raw result.
 */
export type HostTask = Generator<Wait, RawValue | undefined, unknown>;

/** The implementation of an inline host function. */
export type InlineRun = (context: CallContext, memory: GuestMemoryAccess, params: readonly RawValue[]) => RawValue | undefined;

/** The implementation of a pausing host function. */
export type PausingRun = (context: CallContext, memory: GuestMemoryAccess, params: readonly RawValue[]) => HostTask;

/** A host function served without pausing. */
export interface InlineHostFunction {
  readonly route: 'inline';
  readonly signature: Signature;
  readonly run: InlineRun;
}

/** A host function whose call pauses while its task runs. */
export interface PausingHostFunction {
  readonly route: 'pausing';
  readonly signature: Signature;
  readonly run: PausingRun;
}

/** A host function this layer serves. */
export type HostFunction = InlineHostFunction | PausingHostFunction;

/** A table of host functions by import name. */
export type HostFunctionTable = Readonly<Record<string, HostFunction>>;

/** Shorthands for signatures: `ps` is a pointer-size (`i64`). */
export const i32: ValueType = 'i32';
export const i64: ValueType = 'i64';
export const ps: ValueType = 'i64';

/** A signature. */
export function sig(params: readonly ValueType[], result: ValueType | null): Signature {
  return { params, result };
}

/** An inline host function. */
export function inline(signature: Signature, run: InlineRun): InlineHostFunction {
  return { route: 'inline', signature, run };
}

/** A pausing host function. */
export function pausing(signature: Signature, run: PausingRun): PausingHostFunction {
  return { route: 'pausing', signature, run };
}

/**
 * Thrown by a provider (synchronously) or when its answer has the wrong shape; the call fails
 * with `HostFunctionFailed` saying who and what.
 */
export class ProviderError extends Error {
  constructor(
    /** Who answered (`the storage provider`). */
    readonly who: string,
    /** What went wrong, after `who` (`threw`, `answered a string; expected ...`). */
    readonly what: string,
    cause?: unknown,
  ) {
    super(`${who} ${what}`, { cause });
  }
}

/**
 * Thrown when the runtime needs something the caller did not give the call (no storage
 * provider, no offchain host, ...): the call fails with `UnsupportedHostFunction`.
 */
export class UnservedError extends Error {}

/**
 * Asks a provider: calls `question`, and if it answers with a promise, waits for it (the call
 * stays paused). A synchronous throw becomes a {@link ProviderError}; a rejection is reported by
 * the call loop with the same `who`.
 */
export function* ask<T>(who: string, question: () => MaybePromise<T>): Generator<Wait, T, unknown> {
  let answer: MaybePromise<T>;
  try {
    answer = question();
  } catch (e) {
    if (e instanceof RuntimeCallError) throw e;
    throw new ProviderError(who, 'threw', e);
  }
  if (!isPromiseLike(answer)) return answer;
  return (yield { promise: answer, who }) as T;
}

/** Runs a task that never waits (a pausing function's work reused inline); throws if it would. */
export function runToEnd<T>(task: Generator<Wait, T, unknown>): T {
  const step = task.next();
  if (!step.done) throw new Error('a synchronous host function tried to wait for a provider');
  return step.value;
}

/** The buffer a pointer-size argument designates, checked to lie inside the memory. */
export function argBuffer(memory: GuestMemoryAccess, param: RawValue | undefined, what: string): Uint8Array {
  return readPointerSize(memory, param as bigint, `the ${what} argument`);
}

/** The `length` bytes at the pointer argument `param`, checked to lie inside the memory. */
export function argFixed(memory: GuestMemoryAccess, param: RawValue | undefined, length: number, what: string): Uint8Array {
  const pointer = (param as number) >>> 0;
  const problem = describeOutOfRange(memory, { pointer, length });
  if (problem !== null) throw new RangeError(`the ${what} argument: ${problem}`);
  return memory.readMemory(pointer, length);
}

/** Checks that a pointer-size argument lies inside the memory (for an output buffer) and returns it. */
export function argOutput(memory: GuestMemoryAccess, param: RawValue | undefined, what: string): { pointer: number; length: number } {
  const bits = BigInt.asUintN(64, param as bigint);
  const range = { pointer: Number(bits & 0xffff_ffffn), length: Number(bits >> 32n) };
  const problem = describeOutOfRange(memory, range);
  if (problem !== null) throw new RangeError(`the ${what} argument: ${problem}`);
  return range;
}

/** Allocates `data` in the runtime's heap and returns its pointer-size (the raw `i64`). */
export function returnBytes(context: CallContext, memory: GuestMemoryAccess, data: Uint8Array): bigint {
  const pointer = context.allocator.malloc(memory, data.length);
  memory.writeMemory(pointer, data);
  return packPointerSizeBigint(pointer, data.length);
}

/** Allocates `data` in the runtime's heap and returns its pointer (the raw `i32`). */
export function returnPointer(context: CallContext, memory: GuestMemoryAccess, data: Uint8Array): number {
  const pointer = context.allocator.malloc(memory, data.length);
  memory.writeMemory(pointer, data);
  return pointer | 0;
}

/** The raw result as a {@link WasmValue} of the function's result type (`null` for none). */
export function resultValue(type: ValueType | null, raw: RawValue | undefined): WasmValue | null {
  if (type === null) return null;
  if (type === 'i32') return WasmValue.i32(raw as number);
  return WasmValue.i64(raw as bigint);
}

/** What a host function `name` threw, as the {@link RuntimeCallError} that fails the call. */
export function toRuntimeCallError(name: string, error: unknown): RuntimeCallError {
  if (error instanceof RuntimeCallError) return error;
  if (error instanceof UnservedError) {
    return new RuntimeCallError('UnsupportedHostFunction', `the runtime called ${name}, but ${error.message}`, { function: name, cause: error });
  }
  if (error instanceof ProviderError) return hostFunctionFailed(name, error.message, error.cause);
  if (error instanceof ScaleError) return hostFunctionFailed(name, 'an argument is not valid SCALE', error);
  if (error instanceof AllocatorError) return hostFunctionFailed(name, `the heap allocator refused (${error.kind})`, error);
  if (error instanceof RangeError) return hostFunctionFailed(name, 'an argument is out of range', error);
  return hostFunctionFailed(name, 'the host function threw', error);
}
