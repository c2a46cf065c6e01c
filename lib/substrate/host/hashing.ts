/**
 * The hashing host functions: `ext_hashing_<hash>_version_1(data: ps) -> i32`, answered inline
 * (see `encoding/hashers.ts` for the algorithms). Each reads the data, hashes it, and hands the digest
 * back in a fresh heap block; the digest's length is implied by the function.
 *
 * @module
 */

import type { HashFunctionName } from '../encoding/hashers.js';
import { type HostFunctionTable, type InlineHostFunction, argBuffer, i32, inline, ps, returnPointer, sig } from './definition.js';

const NAMES: readonly HashFunctionName[] = ['twox_64', 'twox_128', 'twox_256', 'blake2_128', 'blake2_256', 'keccak_256', 'keccak_512', 'sha2_256'];

function hashFunction(name: HashFunctionName): InlineHostFunction {
  return inline(sig([ps], i32), (context, memory, [data]) => returnPointer(context, memory, context.hashers[name](argBuffer(memory, data, 'data'))));
}

/** The hashing host functions, by import name. */
export const HASHING_HOST_FUNCTIONS: HostFunctionTable = Object.fromEntries(NAMES.map((name) => [`ext_hashing_${name}_version_1`, hashFunction(name)]));
