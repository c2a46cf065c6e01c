/**
 * The output of `Metadata_metadata`, recognised without decoding the metadata itself.
 *
 * The entry point returns an `OpaqueMetadata`, which is a SCALE `Vec<u8>`: a compact length,
 * then that many bytes. Those bytes are the metadata proper, which starts with the magic number
 * `meta` (`6d 65 74 61`) and a version byte (14, 15, ...). Decoding further (pallets, types,
 * calls) is the job of a metadata library; checking the envelope is enough to tell that a call
 * produced metadata and which version.
 *
 * @module
 */

import { compact } from 'scale-ts';
import { MetadataError } from '../errors.js';

/** Metadata found in a `Metadata_metadata` output. */
export interface OpaqueMetadata {
  /** The metadata proper, starting with `meta` (a view into the output). */
  readonly bytes: Uint8Array;
  /** The metadata version (the byte after `meta`). */
  readonly version: number;
}

const MAGIC = [0x6d, 0x65, 0x74, 0x61];

/**
 * The metadata inside the output of `Metadata_metadata`. Throws {@link MetadataError} if the
 * output is not a SCALE `Vec<u8>` of exactly its own length whose content starts with `meta`
 * and a version byte.
 */
export function decodeOpaqueMetadata(output: Uint8Array): OpaqueMetadata {
  if (output.length === 0) throw new MetadataError('the output is empty, not a SCALE Vec<u8> of metadata');
  let length: number;
  let prefix: number;
  try {
    // scale-ts reads from the start of the underlying buffer: give it a copy of the prefix.
    const decoded = compact.dec(output.slice(0, 9));
    length = Number(decoded);
    // The prefix is as long as the value's (canonical) encoding.
    prefix = compact.enc(decoded).length;
  } catch (e) {
    throw new MetadataError(`the output does not start with a SCALE compact length: ${(e as Error).message}`);
  }
  if (prefix + length !== output.length) {
    throw new MetadataError(
      `the output's compact prefix announces ${length} bytes, but ${output.length - prefix} follow it`,
    );
  }
  const bytes = output.subarray(prefix);
  if (bytes.length < 5 || MAGIC.some((byte, i) => bytes[i] !== byte)) {
    throw new MetadataError('the output holds bytes that do not start with the metadata magic number "meta"');
  }
  return { bytes, version: bytes[4]! };
}
