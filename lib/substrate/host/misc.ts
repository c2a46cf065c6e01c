/**
 * The remaining host functions: another runtime's version, and transaction indexing.
 *
 * - `ext_misc_runtime_version_version_1(code: ps) -> ps` answers the SCALE-encoded
 *   `Option<RuntimeVersion>` of *other* runtime code (raw or zstd-compressed), or `None` if it
 *   cannot be read. A runtime calls it when a new runtime is set (`set_code` checks that the
 *   new code's `spec_name` matches and its `spec_version` grows). Reading the version may take a
 *   whole runtime instance (a nested `Core_version` call when the code has no version custom
 *   sections), so the call pauses and the call's `runtimeVersionOf` reader answers (by
 *   default: the custom sections, else a nested `SubstrateRuntime` calling `Core_version`).
 * - `ext_transaction_index_index_version_1(extrinsic: i32, size: i32, content_hash: i32)` and
 *   `ext_transaction_index_renew_version_1(extrinsic: i32, content_hash: i32)` ask the node to
 *   keep (or keep longer) the data of an extrinsic of the block being built, for the
 *   transaction storage pallet. They change nothing the runtime can see: the host checks the
 *   32-byte hash is readable and records the request, which the call returns as
 *   `transactionIndex` (smoldot ignores them).
 *
 * @module
 */

import { encodeOptionBytes } from '../encoding/scale.js';
import { type HostFunctionTable, ProviderError, argBuffer, argFixed, ask, i32, inline, pausing, ps, returnBytes, sig } from './definition.js';

const READER = 'the runtime version reader';

/** The misc host functions, by import name. */
export const MISC_HOST_FUNCTIONS: HostFunctionTable = {
  ext_misc_runtime_version_version_1: pausing(sig([ps], ps), function* (context, memory, [code]) {
    const codeBytes = argBuffer(memory, code, 'wasm');
    const version = yield* ask(READER, () => context.runtimeVersionOf(codeBytes));
    if (version !== null && !(version instanceof Uint8Array)) throw new ProviderError(READER, `answered ${typeof version}; expected a Uint8Array or null`);
    return returnBytes(context, memory, encodeOptionBytes(version));
  }),
  ext_transaction_index_index_version_1: inline(sig([i32, i32, i32], null), (context, memory, [extrinsic, size, hash]) => {
    const contentHash = argFixed(memory, hash, 32, 'context_hash');
    context.transactionIndex.push({ type: 'index', extrinsic: (extrinsic as number) >>> 0, size: (size as number) >>> 0, contentHash });
    return undefined;
  }),
  ext_transaction_index_renew_version_1: inline(sig([i32, i32], null), (context, memory, [extrinsic, hash]) => {
    const contentHash = argFixed(memory, hash, 32, 'context_hash');
    context.transactionIndex.push({ type: 'renew', extrinsic: (extrinsic as number) >>> 0, contentHash });
    return undefined;
  }),
};
