/**
 * Runtime code as a chain stores it, and the WebAssembly module inside.
 *
 * A Substrate chain keeps its runtime under the storage key `:code`. The value is either a raw
 * WebAssembly module or, for almost every runtime since 2021, the module compressed with
 * Zstandard and prefixed with eight magic bytes, `52 bc 53 76 46 db 8e 05`, which can never
 * start a WebAssembly module (that starts with `00 61 73 6d`). Compression cuts a 6 MB runtime
 * to about 1.5 MB, which matters when a light client downloads it.
 *
 * The code comes from the network, so it is bounded: raw code larger than the limit is refused,
 * and compressed code is decompressed by {@link decompressBounded}, which stops a
 * decompression bomb at the limit instead of exhausting memory. Only the output is bounded, as in
 * smoldot and Substrate: the window a zstd frame declares is not (Paseo's relay runtime declares
 * 128 MiB for 12.4 MB of wasm), and is never allocated. The default limit is 50 MiB, the bound
 * Substrate itself applies to runtime code (`CODE_BLOB_BOMB_LIMIT`); real runtimes are 2 to
 * 13 MB.
 *
 * ```ts
 * const { wasm, compressed } = decodeRuntimeCode(codeFromStorage);
 * ```
 *
 * @module
 */

import { UsageError } from '../../base/errors.js';
import { RuntimeCodeError } from '../errors.js';
import { fromHex } from '../encoding/hex.js';
import { decompressBounded } from '../encoding/zstd.js';

/** The 8 bytes that mark zstd-compressed runtime code. */
export const ZSTD_PREFIX: Uint8Array = Uint8Array.of(0x52, 0xbc, 0x53, 0x76, 0x46, 0xdb, 0x8e, 0x05);

/** The default limit on the size of a runtime's WebAssembly (50 MiB, Substrate's `CODE_BLOB_BOMB_LIMIT`). */
export const DEFAULT_MAX_CODE_SIZE = 50 * 1024 * 1024;

/** Options of {@link decodeRuntimeCode}. */
export interface RuntimeCodeOptions {
  /** The largest WebAssembly module accepted, in bytes, after decompression. Default {@link DEFAULT_MAX_CODE_SIZE}. */
  readonly maxCodeSize?: number;
}

/** What {@link decodeRuntimeCode} found. */
export interface DecodedRuntimeCode {
  /** The WebAssembly module (not yet validated: `VirtualMachinePrototype.create` does that). */
  readonly wasm: Uint8Array;
  /** Whether the code was zstd-compressed with the Substrate prefix. */
  readonly compressed: boolean;
  /** The size of the code as given, in bytes (after hex decoding, prefix included). */
  readonly codeSize: number;
}

/** Whether `code` starts with {@link ZSTD_PREFIX}. */
export function isCompressedRuntimeCode(code: Uint8Array): boolean {
  return code.length >= ZSTD_PREFIX.length && ZSTD_PREFIX.every((byte, i) => code[i] === byte);
}

/**
 * The WebAssembly module in `code`: raw wasm is returned as it is, zstd-prefixed code is
 * decompressed. `code` may also be a `0x`-prefixed hex string (as in a chain spec's genesis
 * storage). Throws {@link RuntimeCodeError}: `TooLarge` past `maxCodeSize` (checked during
 * decompression, never after), `InvalidZstd` for a malformed compressed stream.
 */
export function decodeRuntimeCode(code: Uint8Array | string, options: RuntimeCodeOptions = {}): DecodedRuntimeCode {
  const limit = options.maxCodeSize ?? DEFAULT_MAX_CODE_SIZE;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new UsageError('InvalidArgument', `maxCodeSize must be a non-negative integer, got ${String(limit)}`);
  }
  const bytes = typeof code === 'string' ? fromHex(code) : code;
  if (!(bytes instanceof Uint8Array)) {
    throw new UsageError('InvalidArgument', 'the runtime code must be a Uint8Array or a hex string');
  }
  if (!isCompressedRuntimeCode(bytes)) {
    if (bytes.length > limit) {
      throw new RuntimeCodeError('TooLarge', `the code is ${bytes.length} bytes, more than the limit of ${limit} bytes`);
    }
    return { wasm: bytes, compressed: false, codeSize: bytes.length };
  }
  const wasm = decompressBounded(bytes.subarray(ZSTD_PREFIX.length), limit);
  return { wasm, compressed: true, codeSize: bytes.length };
}
