/**
 * The offchain host functions: `ext_offchain_*`.
 *
 * Two groups. The **index** functions (`index_set(key, value)`, `index_clear(key)`) are called
 * while importing blocks: they leave data for offchain workers in the node's offchain
 * database. They change nothing on chain, so they are answered inline and recorded in the
 * call's overlay (rolled back with its transactions), and the call returns them as
 * `storageDiff.offchainIndex`.
 *
 * The others are the **offchain worker's** view of the node, and each pauses the call and asks
 * the call's {@link OffchainHost} (a method it lacks fails the call with
 * `UnsupportedHostFunction`):
 *
 * | function | answer |
 * |---|---|
 * | `is_validator() -> i32` | 1 or 0 |
 * | `submit_transaction(xt: ps) -> ps` | `Result<(), ()>`: `00` accepted, `01` refused |
 * | `network_state() -> ps` | `Result<OpaqueNetworkState, ()>` |
 * | `timestamp() -> i64` | milliseconds since the Unix epoch |
 * | `sleep_until(deadline: i64)` | returns at the deadline |
 * | `random_seed() -> i32` | a pointer to 32 random bytes |
 * | `local_storage_get(kind, key) -> ps` | `Option<Vec<u8>>` |
 * | `local_storage_set(kind, key, value)`, `local_storage_clear(kind, key)` | |
 * | `local_storage_compare_and_set(kind, key, old: ps, new: ps) -> i32` | `old` is a SCALE `Option<Vec<u8>>`; 1 if it matched and `new` was written |
 *
 * `kind` is the variant index of Substrate's `StorageKind`: 0 (persistent) or 1 (local), as
 * smoldot reads it (runtimes pass enums by index: log levels arrive the same way, error as 0);
 * any other value fails the call. (The Polkadot host specification writes 1 and 2, the enum's
 * discriminants.)
 *
 * Not served (they go to the `onHostCall` handler, as in smoldot): `ext_offchain_http_*`.
 *
 * @module
 */

import type { CallContext } from '../call/context.js';
import { hostFunctionFailed } from '../errors.js';
import type { OffchainHost, OffchainStorageKind } from '../call/offchain-host.js';
import { concatBytes, decodeOptionBytes, encodeOptionBytes } from '../encoding/scale.js';
import {
  type HostFunctionTable,
  ProviderError,
  type RawValue,
  UnservedError,
  argBuffer,
  ask,
  i32,
  i64,
  inline,
  pausing,
  ps,
  returnBytes,
  returnPointer,
  sig,
} from './definition.js';

const OFFCHAIN = 'the offchain host';

/** The offchain host's method `method`, or an {@link UnservedError}. */
function method<K extends keyof OffchainHost>(context: CallContext, name: K): NonNullable<OffchainHost[K]> {
  const host = context.offchain;
  if (host === null) throw new UnservedError('the call has no offchain host');
  const fn = host[name];
  if (typeof fn !== 'function') throw new UnservedError(`the offchain host has no ${name} method`);
  return fn.bind(host) as NonNullable<OffchainHost[K]>;
}

function kindArg(name: string, value: RawValue | undefined): OffchainStorageKind {
  if (value === 0) return 'persistent';
  if (value === 1) return 'local';
  throw hostFunctionFailed(name, `the storage kind must be 0 (persistent) or 1 (local), got ${String(value)}`);
}

function expect<T>(value: unknown, test: (v: unknown) => boolean, what: string, expected: string): T {
  if (!test(value)) throw new ProviderError(OFFCHAIN, `answered ${what} with ${typeof value}; expected ${expected}`);
  return value as T;
}

const isBytes = (v: unknown) => v instanceof Uint8Array;
const isBoolean = (v: unknown) => typeof v === 'boolean';
const isOptionalBytes = (v: unknown) => v === null || v === undefined || v instanceof Uint8Array;

/** The offchain host functions, by import name. */
export const OFFCHAIN_HOST_FUNCTIONS: HostFunctionTable = {
  ext_offchain_index_set_version_1: inline(sig([ps, ps], null), (context, memory, [key, value]) => {
    const keyBytes = argBuffer(memory, key, 'key');
    context.overlay.setOffchainIndex(keyBytes, argBuffer(memory, value, 'value'));
    return undefined;
  }),
  ext_offchain_index_clear_version_1: inline(sig([ps], null), (context, memory, [key]) => {
    context.overlay.setOffchainIndex(argBuffer(memory, key, 'key'), null);
    return undefined;
  }),
  ext_offchain_is_validator_version_1: pausing(sig([], i32), function* (context) {
    const fn = method(context, 'isValidator');
    return expect<boolean>(yield* ask(OFFCHAIN, () => fn()), isBoolean, 'isValidator', 'a boolean') ? 1 : 0;
  }),
  ext_offchain_submit_transaction_version_1: pausing(sig([ps], ps), function* (context, memory, [data]) {
    const extrinsic = argBuffer(memory, data, 'data');
    const fn = method(context, 'submitTransaction');
    const accepted = expect<boolean>(yield* ask(OFFCHAIN, () => fn(extrinsic)), isBoolean, 'submitTransaction', 'a boolean');
    return returnBytes(context, memory, Uint8Array.of(accepted ? 0 : 1));
  }),
  ext_offchain_network_state_version_1: pausing(sig([], ps), function* (context, memory) {
    const fn = method(context, 'networkState');
    const state = expect<Uint8Array | null | undefined>(yield* ask(OFFCHAIN, () => fn()), isOptionalBytes, 'networkState', 'a Uint8Array or null');
    return returnBytes(context, memory, state === null || state === undefined ? Uint8Array.of(1) : concatBytes(Uint8Array.of(0), state));
  }),
  ext_offchain_timestamp_version_1: pausing(sig([], i64), function* (context) {
    const fn = method(context, 'timestamp');
    const time = yield* ask(OFFCHAIN, () => fn());
    if (!(typeof time === 'bigint' || (typeof time === 'number' && Number.isSafeInteger(time) && time >= 0))) {
      throw new ProviderError(OFFCHAIN, `answered timestamp with ${String(time)}; expected milliseconds as a non-negative integer`);
    }
    return BigInt.asIntN(64, BigInt(time));
  }),
  ext_offchain_sleep_until_version_1: pausing(sig([i64], null), function* (context, _memory, [deadline]) {
    const fn = method(context, 'sleepUntil');
    yield* ask(OFFCHAIN, () => fn(BigInt.asUintN(64, deadline as bigint)));
    return undefined;
  }),
  ext_offchain_random_seed_version_1: pausing(sig([], i32), function* (context, memory) {
    const fn = method(context, 'randomSeed');
    const seed = expect<Uint8Array>(yield* ask(OFFCHAIN, () => fn()), (v) => isBytes(v) && (v as Uint8Array).length === 32, 'randomSeed', '32 bytes');
    return returnPointer(context, memory, seed);
  }),
  ext_offchain_local_storage_get_version_1: pausing(sig([i32, ps], ps), function* (context, memory, [kind, key]) {
    const storageKind = kindArg('ext_offchain_local_storage_get_version_1', kind);
    const keyBytes = argBuffer(memory, key, 'key');
    const fn = method(context, 'localStorageGet');
    const value = expect<Uint8Array | null | undefined>(yield* ask(OFFCHAIN, () => fn(storageKind, keyBytes)), isOptionalBytes, 'localStorageGet', 'a Uint8Array or null');
    return returnBytes(context, memory, encodeOptionBytes(value ?? null));
  }),
  ext_offchain_local_storage_set_version_1: pausing(sig([i32, ps, ps], null), function* (context, memory, [kind, key, value]) {
    const storageKind = kindArg('ext_offchain_local_storage_set_version_1', kind);
    const keyBytes = argBuffer(memory, key, 'key');
    const valueBytes = argBuffer(memory, value, 'value');
    const fn = method(context, 'localStorageSet');
    yield* ask(OFFCHAIN, () => fn(storageKind, keyBytes, valueBytes));
    return undefined;
  }),
  ext_offchain_local_storage_clear_version_1: pausing(sig([i32, ps], null), function* (context, memory, [kind, key]) {
    const storageKind = kindArg('ext_offchain_local_storage_clear_version_1', kind);
    const keyBytes = argBuffer(memory, key, 'key');
    const fn = method(context, 'localStorageSet');
    yield* ask(OFFCHAIN, () => fn(storageKind, keyBytes, null));
    return undefined;
  }),
  ext_offchain_local_storage_compare_and_set_version_1: pausing(sig([i32, ps, ps, ps], i32), function* (context, memory, [kind, key, old, value]) {
    const storageKind = kindArg('ext_offchain_local_storage_compare_and_set_version_1', kind);
    const keyBytes = argBuffer(memory, key, 'key');
    const expected = decodeOptionBytes(argBuffer(memory, old, 'old_value'));
    const valueBytes = argBuffer(memory, value, 'new_value');
    const fn = method(context, 'localStorageCompareAndSet');
    return expect<boolean>(yield* ask(OFFCHAIN, () => fn(storageKind, keyBytes, expected, valueBytes)), isBoolean, 'localStorageCompareAndSet', 'a boolean') ? 1 : 0;
  }),
};
