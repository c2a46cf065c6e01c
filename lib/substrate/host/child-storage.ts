/**
 * The default child tries' host functions: `ext_default_child_storage_*`.
 *
 * A child trie is a separate storage trie, named by a key, whose root the main trie stores
 * under `:child_storage:default:` + that key (contracts and crowdloans keep their data in
 * them). Each function takes the child trie's key (without the prefix) first and otherwise
 * works like its `ext_storage_*` counterpart (see `storage.ts`), on that trie:
 *
 * | function | does |
 * |---|---|
 * | `get`, `read`, `exists`, `next_key`, `set`, `clear` | as in the main trie |
 * | `clear_prefix(child, prefix)` (v1), `(child, prefix, limit) -> ps` (v2) | as `ext_storage_clear_prefix` |
 * | `storage_kill(child)` (v1), `(child, limit) -> i32` (v2: 1 if all removed), `(child, limit) -> ps` (v3: like `clear_prefix` v2) | deletes the whole child trie (up to `limit` keys of the state) |
 * | `root(child)` (v1: state version 0), `root(child, version)` (v2) | the child trie's root, also written into the main trie |
 *
 * A child trie exists while it has entries: when the last one goes, its root entry leaves the
 * main trie at the next root computation (or at the end of the call).
 *
 * @module
 */

import { decodeOptionU32, encodeOptionBytes } from '../encoding/scale.js';
import { type HostFunctionTable, argBuffer, argOutput, i32, inline, pausing, ps, returnBytes, sig } from './definition.js';
import { clearPrefix, nextKey, readValue, storageRoot } from './state-access.js';
import { encodeKillResult, readInto, stateVersionArg } from './storage.js';

const EMPTY = new Uint8Array();

/** The child tries' host functions, by import name. */
export const CHILD_STORAGE_HOST_FUNCTIONS: HostFunctionTable = {
  ext_default_child_storage_get_version_1: pausing(sig([ps, ps], ps), function* (context, memory, [child, key]) {
    const childKey = argBuffer(memory, child, 'child storage key');
    const value = yield* readValue(context, childKey, argBuffer(memory, key, 'key'));
    return returnBytes(context, memory, encodeOptionBytes(value));
  }),
  ext_default_child_storage_read_version_1: pausing(sig([ps, ps, ps, i32], ps), function* (context, memory, [child, key, out, offset]) {
    const childKey = argBuffer(memory, child, 'child storage key');
    const keyBytes = argBuffer(memory, key, 'key');
    const output = argOutput(memory, out, 'value_out');
    const value = yield* readValue(context, childKey, keyBytes);
    return readInto(context, memory, value, output, (offset as number) >>> 0);
  }),
  ext_default_child_storage_exists_version_1: pausing(sig([ps, ps], i32), function* (context, memory, [child, key]) {
    const childKey = argBuffer(memory, child, 'child storage key');
    return (yield* readValue(context, childKey, argBuffer(memory, key, 'key'))) === null ? 0 : 1;
  }),
  ext_default_child_storage_next_key_version_1: pausing(sig([ps, ps], ps), function* (context, memory, [child, key]) {
    const childKey = argBuffer(memory, child, 'child storage key');
    const next = yield* nextKey(context, childKey, argBuffer(memory, key, 'key'));
    return returnBytes(context, memory, encodeOptionBytes(next));
  }),
  ext_default_child_storage_set_version_1: inline(sig([ps, ps, ps], null), (context, memory, [child, key, value]) => {
    const childKey = argBuffer(memory, child, 'child storage key');
    const keyBytes = argBuffer(memory, key, 'key');
    context.overlay.set(childKey, keyBytes, argBuffer(memory, value, 'value'));
    return undefined;
  }),
  ext_default_child_storage_clear_version_1: inline(sig([ps, ps], null), (context, memory, [child, key]) => {
    const childKey = argBuffer(memory, child, 'child storage key');
    context.overlay.set(childKey, argBuffer(memory, key, 'key'), null);
    return undefined;
  }),
  ext_default_child_storage_clear_prefix_version_1: pausing(sig([ps, ps], null), function* (context, memory, [child, prefix]) {
    const childKey = argBuffer(memory, child, 'child storage key');
    yield* clearPrefix(context, childKey, argBuffer(memory, prefix, 'prefix'), null);
    return undefined;
  }),
  ext_default_child_storage_clear_prefix_version_2: pausing(sig([ps, ps, ps], ps), function* (context, memory, [child, prefix, limit]) {
    const childKey = argBuffer(memory, child, 'child storage key');
    const prefixBytes = argBuffer(memory, prefix, 'prefix');
    const limitValue = decodeOptionU32(argBuffer(memory, limit, 'limit'));
    const { removed, someRemain } = yield* clearPrefix(context, childKey, prefixBytes, limitValue);
    return returnBytes(context, memory, encodeKillResult(removed, someRemain));
  }),
  ext_default_child_storage_storage_kill_version_1: pausing(sig([ps], null), function* (context, memory, [child]) {
    yield* clearPrefix(context, argBuffer(memory, child, 'child storage key'), EMPTY, null);
    return undefined;
  }),
  ext_default_child_storage_storage_kill_version_2: pausing(sig([ps, ps], i32), function* (context, memory, [child, limit]) {
    const childKey = argBuffer(memory, child, 'child storage key');
    const limitValue = decodeOptionU32(argBuffer(memory, limit, 'limit'));
    const { someRemain } = yield* clearPrefix(context, childKey, EMPTY, limitValue);
    return someRemain ? 0 : 1;
  }),
  ext_default_child_storage_storage_kill_version_3: pausing(sig([ps, ps], ps), function* (context, memory, [child, limit]) {
    const childKey = argBuffer(memory, child, 'child storage key');
    const limitValue = decodeOptionU32(argBuffer(memory, limit, 'limit'));
    const { removed, someRemain } = yield* clearPrefix(context, childKey, EMPTY, limitValue);
    return returnBytes(context, memory, encodeKillResult(removed, someRemain));
  }),
  ext_default_child_storage_root_version_1: pausing(sig([ps], ps), function* (context, memory, [child]) {
    const childKey = argBuffer(memory, child, 'child storage key');
    return returnBytes(context, memory, yield* storageRoot(context, childKey, 0));
  }),
  ext_default_child_storage_root_version_2: pausing(sig([ps, i32], ps), function* (context, memory, [child, version]) {
    const childKey = argBuffer(memory, child, 'child storage key');
    const stateVersion = stateVersionArg('ext_default_child_storage_root_version_2', version);
    return returnBytes(context, memory, yield* storageRoot(context, childKey, stateVersion));
  }),
};
