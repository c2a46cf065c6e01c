/**
 * The hashing host functions: `ext_hashing_*_version_1(data: pointer-size) -> pointer`.
 *
 * A runtime hashes constantly (every storage key is built from hashes of pallet and item names,
 * and of map keys), and a hash needs no data from outside, so these are answered inline. Each
 * one reads the data, hashes it, writes the digest into a block from the runtime's heap and
 * returns the block's address; the digest's length is implied by the function.
 *
 * | function | digest |
 * |---|---|
 * | `twox_64` | xxHash64 with seed 0, little-endian (8 bytes) |
 * | `twox_128` | xxHash64 with seeds 0 and 1, concatenated (16 bytes) |
 * | `twox_256` | xxHash64 with seeds 0 to 3, concatenated (32 bytes) |
 * | `blake2_128`, `blake2_256` | BLAKE2b with a 16- or 32-byte output, no key |
 * | `keccak_256`, `keccak_512` | Keccak (the pre-standard SHA-3 Ethereum uses) |
 * | `sha2_256` | SHA-256 |
 *
 * "twox" is not a cryptographic hash: Substrate uses it for keys that users cannot choose.
 *
 * xxHash comes from `xxhash-wasm`, a small WebAssembly module whose initialisation is
 * asynchronous; {@link loadHashers} does it once per process, and everything after is
 * synchronous, as inline host functions must be.
 *
 * @module
 */

import { blake2b } from '@noble/hashes/blake2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256, keccak_512 } from '@noble/hashes/sha3.js';
import xxhash from 'xxhash-wasm';

/** The name of a hashing host function, without the `ext_hashing_` prefix and `_version_1` suffix. */
export type HashFunctionName =
  | 'twox_64'
  | 'twox_128'
  | 'twox_256'
  | 'blake2_128'
  | 'blake2_256'
  | 'keccak_256'
  | 'keccak_512'
  | 'sha2_256';

/** Every hashing host function, by name. */
export type Hashers = Readonly<Record<HashFunctionName, (data: Uint8Array) => Uint8Array>>;

let loaded: Promise<Hashers> | null = null;

/** The hash functions, ready to use synchronously. Loads xxHash the first time; later calls share that. */
export function loadHashers(): Promise<Hashers> {
  loaded ??= xxhash().then(
    (api) => {
      const twox = (data: Uint8Array, seeds: number): Uint8Array => {
        const out = new Uint8Array(8 * seeds);
        const view = new DataView(out.buffer);
        for (let seed = 0; seed < seeds; seed++) view.setBigUint64(8 * seed, api.h64Raw(data, BigInt(seed)), true);
        return out;
      };
      return {
        twox_64: (data) => twox(data, 1),
        twox_128: (data) => twox(data, 2),
        twox_256: (data) => twox(data, 4),
        blake2_128: (data) => blake2b(data, { dkLen: 16 }),
        blake2_256: (data) => blake2b(data, { dkLen: 32 }),
        keccak_256: (data) => keccak_256(data),
        keccak_512: (data) => keccak_512(data),
        sha2_256: (data) => sha256(data),
      };
    },
    (error: unknown) => {
      // Let a later call try again rather than remember the failure forever.
      loaded = null;
      throw error;
    },
  );
  return loaded;
}
