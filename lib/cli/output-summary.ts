/**
 * What `run` makes of an entry point's output: the outputs the Substrate layer knows how to
 * decode are shown decoded, since a hex dump of them says nothing to a reader (and a truncated
 * one even less). `Core_version` becomes the runtime version, `Metadata_metadata` a summary (the
 * metadata version, its size and, when it can be read cheaply, the number of pallets). Any other
 * output, or one that does not decode, stays bytes; `run --hex` prints them all.
 *
 * @module
 */

import { type RuntimeVersion, decodeOpaqueMetadata, decodeRuntimeVersion } from '../substrate/index.js';
import { countMetadataPallets } from '../substrate/code/metadata-pallets.js';

/** A summary of `Metadata_metadata`'s output. */
export interface MetadataSummary {
  /** The metadata version (14, 15, ...). */
  readonly version: number;
  /** The size of the metadata proper, in bytes (the output less its length prefix). */
  readonly size: number;
  /** The number of pallets, or `null` when it cannot be read without decoding the metadata. */
  readonly pallets: number | null;
}

/** An output as `run` shows it. */
export type DecodedOutput =
  | { readonly kind: 'runtime-version'; readonly version: RuntimeVersion }
  | { readonly kind: 'metadata'; readonly metadata: MetadataSummary }
  /** Not decoded: `note` says why when the entry point's output should have decoded. */
  | { readonly kind: 'bytes'; readonly note: string | null };

/** Decodes `output` according to what `entryPoint` is known to return. */
export function decodeOutput(entryPoint: string, output: Uint8Array): DecodedOutput {
  try {
    if (entryPoint === 'Core_version') return { kind: 'runtime-version', version: decodeRuntimeVersion(output) };
    if (entryPoint === 'Metadata_metadata') {
      const { bytes, version } = decodeOpaqueMetadata(output);
      return { kind: 'metadata', metadata: { version, size: bytes.length, pallets: countMetadataPallets(bytes) } };
    }
  } catch (e) {
    return { kind: 'bytes', note: `not decoded: ${(e as Error).message}` };
  }
  return { kind: 'bytes', note: null };
}
