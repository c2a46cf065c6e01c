/**
 * What a caller sees of the host functions this layer does not serve itself: the
 * {@link HostFunctionHandler} that answers them, and the {@link HostCallEvent}s that trace every
 * host call.
 *
 * This layer serves the Substrate host interface (see `host/catalogue.ts`), but not the
 * functions that need the node's own resources (its keystore, HTTP for offchain workers, proof
 * verification) nor a chain's own extensions. Rather than guessing, the layer hands them to the
 * caller: the call pauses, the handler gets the
 * function's name, its arguments and the paused runtime's memory, and returns the result (or a
 * promise of it). Helpers on {@link HostCall} do the usual chores with the same bounds checks
 * and the same allocator as the built-in functions.
 *
 * ```ts
 * onHostCall: (call) => {
 *   if (call.name === 'ext_crypto_sr25519_sign_version_1') return call.allocatePointerSize(sign(call));
 *   return undefined; // not served: the call fails with UnsupportedHostFunction
 * }
 * ```
 *
 * @module
 */

import type { GuestMemoryAccess } from '../../base/guest-memory-access.js';
import type { Signature, WasmValue } from '../../base/values.js';
import type { MaybePromise } from '../state/providers.js';

/** One call of the runtime to a host function answered by a {@link HostFunctionHandler}. */
export interface HostCall {
  /** The import's module, normally `env`. */
  readonly module: string;
  /** The import's name, e.g. `ext_crypto_ed25519_verify_version_1`. */
  readonly name: string;
  readonly signature: Signature;
  readonly params: readonly WasmValue[];
  /** The paused runtime's memory. Valid until the handler returns (or its promise settles). */
  readonly memory: GuestMemoryAccess;
  /**
   * The bytes a pointer-size argument designates (pass the argument's index). Throws a
   * `RangeError` if they do not lie inside the memory, which fails the call.
   */
  readBuffer(paramIndex: number): Uint8Array;
  /** Allocates `data.length` bytes in the runtime's heap, copies `data` there and returns the pointer. */
  allocate(data: Uint8Array): number;
  /** {@link allocate}, returning the pointer-size as an `i64` value, ready to be returned. */
  allocatePointerSize(data: Uint8Array): WasmValue;
}

/**
 * Answers the host functions that are neither built in nor storage reads. Return the result (a
 * {@link WasmValue} of the function's result type, or `null` for a function without result), or
 * a promise of it; return `undefined` to decline, which fails the call with
 * `UnsupportedHostFunction`. Throwing or rejecting fails the call with `HostFunctionFailed`.
 */
export type HostFunctionHandler = (call: HostCall) => MaybePromise<WasmValue | null | undefined>;

/** One host call, reported to a call's `trace` callback as it happens. */
export interface HostCallEvent {
  /** The import's name. */
  readonly name: string;
  /** How it is served: `inline` calls run in place; the others paused the call. */
  readonly route: 'inline' | 'pausing' | 'handler';
  /** The arguments, in the engine's representation (`i32` as a number, `i64` as a bigint). */
  readonly params: readonly (number | bigint)[];
}
