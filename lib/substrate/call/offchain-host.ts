/**
 * What the caller provides for a runtime's *offchain* host functions: the {@link OffchainHost}.
 *
 * Offchain workers (`OffchainWorkerApi_offchain_worker`) and some runtime APIs run code that
 * talks to the node rather than to the chain: the wall-clock time, randomness, a local
 * key-value store that survives across blocks, submitting a transaction to the pool. None of
 * this is part of the chain's state, and a light client or a test harness has its own idea of
 * each, so every one of them is a question to the caller: the call pauses, the offchain host
 * answers (synchronously or with a promise), the call resumes. A method the host does not
 * implement makes a runtime that calls it fail with `UnsupportedHostFunction`.
 *
 * The HTTP functions (`ext_offchain_http_*`) are not part of this interface: they go to the
 * call's `onHostCall` handler, like any function this layer does not serve.
 *
 * @module
 */

import type { MaybePromise } from '../state/providers.js';

/**
 * Which local storage a runtime addresses (`kind` 0 and 1 in the host interface):
 * `persistent` (kept across forks; the kind Substrate's offchain workers use) or `local`
 * (fork-aware; Substrate's node has never implemented it).
 */
export type OffchainStorageKind = 'persistent' | 'local';

/** Answers the offchain host functions; every method is optional. */
export interface OffchainHost {
  /** `ext_offchain_is_validator`: whether the node is a validator. */
  isValidator?(): MaybePromise<boolean>;
  /** `ext_offchain_submit_transaction`: submits an encoded extrinsic to the pool; `true` if accepted. */
  submitTransaction?(extrinsic: Uint8Array): MaybePromise<boolean>;
  /** `ext_offchain_network_state`: the SCALE-encoded `OpaqueNetworkState`, or `null` for an error. */
  networkState?(): MaybePromise<Uint8Array | null>;
  /** `ext_offchain_timestamp`: the current time, in milliseconds since the Unix epoch. */
  timestamp?(): MaybePromise<number | bigint>;
  /** `ext_offchain_sleep_until`: resolves at `deadline` (milliseconds since the Unix epoch). */
  sleepUntil?(deadline: bigint): MaybePromise<void>;
  /** `ext_offchain_random_seed`: 32 random bytes. */
  randomSeed?(): MaybePromise<Uint8Array>;
  /** `ext_offchain_local_storage_get`: the value under `key`, or `null`. */
  localStorageGet?(kind: OffchainStorageKind, key: Uint8Array): MaybePromise<Uint8Array | null | undefined>;
  /** `ext_offchain_local_storage_set` (`value`) and `_clear` (`null`). */
  localStorageSet?(kind: OffchainStorageKind, key: Uint8Array, value: Uint8Array | null): MaybePromise<void>;
  /**
   * `ext_offchain_local_storage_compare_and_set`: sets `key` to `value` if its current value is
   * `expected` (`null`: absent), atomically; `true` if it was set.
   */
  localStorageCompareAndSet?(kind: OffchainStorageKind, key: Uint8Array, expected: Uint8Array | null, value: Uint8Array): MaybePromise<boolean>;
}
