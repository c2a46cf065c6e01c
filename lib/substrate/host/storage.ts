/**
 * The main trie's host functions: `ext_storage_*`.
 *
 * | function | does |
 * |---|---|
 * | `get(key) -> ps` | `Option<Vec<u8>>` in the heap: `00`, or `01`, compact length, value |
 * | `read(key, out: ps, offset: u32) -> ps` | copies `value[offset..]` into `out` (what fits) and answers `Option<u32>`: the length of `value[offset..]` |
 * | `exists(key) -> i32` | 1 if the key has a value |
 * | `next_key(key) -> ps` | `Option<Vec<u8>>`: the first key after `key` with a value |
 * | `set(key, value)`, `clear(key)` | write to the call's overlay (ignored for keys under `:child_storage:`) |
 * | `append(key, item)` | appends `item` to the SCALE vector under `key` |
 * | `clear_prefix(prefix)` (v1), `clear_prefix(prefix, limit: Option<u32>) -> ps` (v2) | deletes the keys under `prefix`; v2 answers `00`/`01` (all removed / some remain) and the `u32` count |
 * | `root() -> ps` (v1: state version 0), `root(version: i32) -> ps` (v2) | the 32-byte storage root |
 * | `changes_root(parent_hash) -> ps` | always `None`: changes tries were removed from Substrate in 2021 |
 * | `start_transaction`, `commit_transaction`, `rollback_transaction` | nested transactions of the overlay |
 * | `proof_size_storage_proof_size() -> i64` | the size of the storage proof so far: the call's `storageProofSize` option |
 *
 * Reads, `append`, `clear_prefix` and `root` pause when the state must be asked (see
 * `state.ts`); writes and transactions only touch the overlay and are answered inline.
 *
 * @module
 */

import type { GuestMemoryAccess } from '../../base/guest-memory-access.js';
import type { CallContext } from '../call/context.js';
import { RuntimeCallError, hostFunctionFailed } from '../errors.js';
import { concatBytes, decodeOptionU32, encodeOptionBytes, encodeU32 } from '../encoding/scale.js';
import type { StateVersion } from '../state/trie-root.js';
import {
  type HostFunctionTable,
  type RawValue,
  UnservedError,
  argBuffer,
  argOutput,
  i32,
  i64,
  inline,
  pausing,
  ps,
  returnBytes,
  sig,
} from './definition.js';
import { CHILD_STORAGE_PREFIX, appendValue, clearPrefix, nextKey, readValue, startsWith, storageRoot } from './state-access.js';

/**
 * `read`'s answer: copies `value[offset..]` (as much as fits) into `out` and returns the
 * `Option<u32>` length of `value[offset..]` (an offset past the end reads nothing: length 0).
 */
export function readInto(
  context: CallContext,
  memory: GuestMemoryAccess,
  value: Uint8Array | null,
  out: { pointer: number; length: number },
  offset: number,
): bigint {
  if (value === null) return returnBytes(context, memory, Uint8Array.of(0));
  const rest = value.subarray(Math.min(offset, value.length));
  memory.writeMemory(out.pointer, rest.subarray(0, Math.min(rest.length, out.length)));
  return returnBytes(context, memory, concatBytes(Uint8Array.of(1), encodeU32(rest.length)));
}

/** A state version argument: 0 or 1; anything else is a malformed call. */
export function stateVersionArg(name: string, value: RawValue | undefined): StateVersion {
  if (value === 0 || value === 1) return value;
  throw hostFunctionFailed(name, `the state version must be 0 or 1, got ${String(value)}`);
}

/** `KillStorageResult`: `00` (all removed) or `01` (some remain), then the `u32` count. */
export function encodeKillResult(removed: number, someRemain: boolean): Uint8Array {
  return concatBytes(Uint8Array.of(someRemain ? 1 : 0), encodeU32(removed));
}

/** A main-trie key the runtime may not write (a child trie's root). */
function isChildStorageKey(key: Uint8Array): boolean {
  return startsWith(key, CHILD_STORAGE_PREFIX);
}

/** The main trie's host functions, by import name. */
export const STORAGE_HOST_FUNCTIONS: HostFunctionTable = {
  ext_storage_get_version_1: pausing(sig([ps], ps), function* (context, memory, [key]) {
    const value = yield* readValue(context, null, argBuffer(memory, key, 'key'));
    return returnBytes(context, memory, encodeOptionBytes(value));
  }),
  ext_storage_read_version_1: pausing(sig([ps, ps, i32], ps), function* (context, memory, [key, out, offset]) {
    const keyBytes = argBuffer(memory, key, 'key');
    const output = argOutput(memory, out, 'value_out');
    const value = yield* readValue(context, null, keyBytes);
    return readInto(context, memory, value, output, (offset as number) >>> 0);
  }),
  ext_storage_exists_version_1: pausing(sig([ps], i32), function* (context, memory, [key]) {
    return (yield* readValue(context, null, argBuffer(memory, key, 'key'))) === null ? 0 : 1;
  }),
  ext_storage_next_key_version_1: pausing(sig([ps], ps), function* (context, memory, [key]) {
    const next = yield* nextKey(context, null, argBuffer(memory, key, 'key'));
    return returnBytes(context, memory, encodeOptionBytes(next));
  }),
  ext_storage_set_version_1: inline(sig([ps, ps], null), (context, memory, [key, value]) => {
    const keyBytes = argBuffer(memory, key, 'key');
    const valueBytes = argBuffer(memory, value, 'value');
    if (!isChildStorageKey(keyBytes)) context.overlay.set(null, keyBytes, valueBytes);
    return undefined;
  }),
  ext_storage_clear_version_1: inline(sig([ps], null), (context, memory, [key]) => {
    const keyBytes = argBuffer(memory, key, 'key');
    if (!isChildStorageKey(keyBytes)) context.overlay.set(null, keyBytes, null);
    return undefined;
  }),
  ext_storage_append_version_1: pausing(sig([ps, ps], null), function* (context, memory, [key, item]) {
    const keyBytes = argBuffer(memory, key, 'key');
    const itemBytes = argBuffer(memory, item, 'value');
    if (!isChildStorageKey(keyBytes)) yield* appendValue(context, null, keyBytes, itemBytes);
    return undefined;
  }),
  ext_storage_clear_prefix_version_1: pausing(sig([ps], null), function* (context, memory, [prefix]) {
    yield* clearPrefix(context, null, argBuffer(memory, prefix, 'prefix'), null);
    return undefined;
  }),
  ext_storage_clear_prefix_version_2: pausing(sig([ps, ps], ps), function* (context, memory, [prefix, limit]) {
    const prefixBytes = argBuffer(memory, prefix, 'prefix');
    const limitValue = decodeOptionU32(argBuffer(memory, limit, 'limit'));
    const { removed, someRemain } = yield* clearPrefix(context, null, prefixBytes, limitValue);
    return returnBytes(context, memory, encodeKillResult(removed, someRemain));
  }),
  ext_storage_root_version_1: pausing(sig([], ps), function* (context, memory) {
    return returnBytes(context, memory, yield* storageRoot(context, null, 0));
  }),
  ext_storage_root_version_2: pausing(sig([i32], ps), function* (context, memory, [version]) {
    const stateVersion = stateVersionArg('ext_storage_root_version_2', version);
    return returnBytes(context, memory, yield* storageRoot(context, null, stateVersion));
  }),
  ext_storage_changes_root_version_1: inline(sig([ps], ps), (context, memory, [parentHash]) => {
    argBuffer(memory, parentHash, 'parent_hash');
    return returnBytes(context, memory, Uint8Array.of(0));
  }),
  ext_storage_start_transaction_version_1: inline(sig([], null), (context) => {
    context.overlay.startTransaction();
    return undefined;
  }),
  ext_storage_commit_transaction_version_1: inline(sig([], null), (context) => {
    if (!context.overlay.commitTransaction()) throw noTransaction('ext_storage_commit_transaction_version_1');
    return undefined;
  }),
  ext_storage_rollback_transaction_version_1: inline(sig([], null), (context) => {
    if (!context.overlay.rollbackTransaction()) throw noTransaction('ext_storage_rollback_transaction_version_1');
    return undefined;
  }),
  ext_storage_proof_size_storage_proof_size_version_1: inline(sig([], i64), (context) => {
    if (context.storageProofSize === null) throw new UnservedError('the call has no storageProofSize option');
    return BigInt.asIntN(64, context.storageProofSize);
  }),
};

function noTransaction(name: string): RuntimeCallError {
  return hostFunctionFailed(name, 'no storage transaction is open');
}
