/**
 * Artifacts: a prototype's base components serialised, so that a prototype can be rebuilt
 * without running the transform (and without loading Binaryen at all).
 *
 * ```text
 * offset 0   "RWASMART"                 magic
 *        8   u32 LE                     format version ({@link ARTIFACT_FORMAT})
 *        12  u32 LE                     header length H
 *        16  H bytes                    header: UTF-8 JSON ({@link ArtifactHeader})
 *        16+H                           the instrumented module
 *        end-8  u64 LE                  xxHash64 of every byte before it
 * ```
 *
 * The header records the library version, the SHA-256 of the original module, the options that
 * shaped the transform, and the facts the VM needs (imports with their signatures and whether
 * each was answered inline, exports, memory). Loading checks, in order: the magic, the length
 * and the checksum (`Corrupted`), the format and library versions (`VersionMismatch`), the
 * module's digest (`ModuleMismatch`) and the options and the inline/pausing split of the imports
 * (`OptionsMismatch`); then the compiled module's imports and exports must have the shape the
 * header announces.
 *
 * Trust model: the checksum catches accidents (truncation, bit flips), not forgery. An artifact
 * is code: whoever can write it can make the guest do anything the guest could do, inside the
 * WebAssembly sandbox (never outside it: an artifact cannot reach the host beyond the imports
 * the host resolves). Load artifacts only from a store you trust as much as this library.
 *
 * @module
 */

import { loadChecksum, checksum } from '../base/digest.js';
import { ArtifactError } from '../base/errors.js';
import type { ArtifactOptions, DeclaredMemory, ExportInfo, FunctionIndexShift, MeteringFacts } from '../base/components.js';
import type { RawSignature } from '../base/values.js';
import { describeValue } from '../base/values.js';
import { LIBRARY_VERSION } from '../base/version.js';

/** The artifact format version this library reads and writes. */
export const ARTIFACT_FORMAT = 4;

const MAGIC = new TextEncoder().encode('RWASMART');
const PREFIX = 16;
const TRAILER = 8;

/** A function import as the artifact records it. */
export interface ArtifactImport {
  readonly module: string;
  readonly name: string;
  readonly signature: RawSignature;
  /** Whether it was answered inline (and so not instrumented as a pausing import). */
  readonly inline: boolean;
}

/** The JSON header of an artifact. */
export interface ArtifactHeader {
  readonly library: string;
  readonly module: { readonly sha256: string; readonly length: number };
  readonly options: ArtifactOptions;
  readonly imports: readonly ArtifactImport[];
  readonly exports: readonly (readonly [string, ExportInfo])[];
  readonly memory: DeclaredMemory | null;
  /** The export names of the module's mutable globals (see `BaseComponents.mutableGlobals`). */
  readonly mutableGlobals: readonly string[];
  /** See `BaseComponents.resetBlocker`. */
  readonly resetBlocker: string | null;
  /** See `BaseComponents.startFunction`. */
  readonly startFunction: boolean;
  /**
   * What backtraces need of the transform (`BaseComponents.backtrace`; the debugging sections
   * are read again from the module given to `fromArtifact`): the function count, and the offset
   * map as base64 of `[engine offsets..., guest offsets...]` (32-bit little-endian), or `null`.
   */
  readonly backtrace: {
    readonly functionCount: number;
    readonly offsetMap: string | null;
    /** How the code rewrite moved the function index space (`BacktraceFacts.functionShift`). */
    readonly functionShift: FunctionIndexShift | null;
  };
  /** The fuel and stack-height counters the code rewrite added (`BaseComponents.metering`). */
  readonly metering: MeteringFacts | null;
}

/** Serialises a header and an instrumented module. {@link loadChecksum} must have completed. */
export function encodeArtifact(header: ArtifactHeader, instrumented: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(PREFIX + json.length + instrumented.length + TRAILER);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(8, ARTIFACT_FORMAT, true);
  view.setUint32(12, json.length, true);
  out.set(json, PREFIX);
  out.set(instrumented, PREFIX + json.length);
  const body = out.subarray(0, out.length - TRAILER);
  view.setBigUint64(out.length - TRAILER, checksum(body), true);
  return out;
}

/**
 * Parses and checks an artifact's framing, checksum and versions. Throws {@link ArtifactError}
 * (`Corrupted` or `VersionMismatch`). The instrumented module is returned as a copy, so the
 * caller's array may be reused, unless `copy` is off (an artifact the library read itself, from
 * a cache: a copy of tens of megabytes costs as much as reading them).
 */
export async function decodeArtifact(
  bytes: Uint8Array,
  options: { readonly copy: boolean } = { copy: true },
): Promise<{ header: ArtifactHeader; instrumented: Uint8Array<ArrayBuffer> }> {
  if (!(bytes instanceof Uint8Array)) throw new ArtifactError('Corrupted', 'an artifact must be a Uint8Array');
  if (bytes.length < PREFIX + TRAILER || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ArtifactError('Corrupted', 'not an artifact of this library (bad magic number or too short)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  await loadChecksum();
  const expected = view.getBigUint64(bytes.length - TRAILER, true);
  if (checksum(bytes.subarray(0, bytes.length - TRAILER)) !== expected) {
    throw new ArtifactError('Corrupted', 'the artifact is corrupted or truncated: its checksum does not match its bytes');
  }
  const format = view.getUint32(8, true);
  if (format !== ARTIFACT_FORMAT) {
    throw new ArtifactError('VersionMismatch', `the artifact has format version ${format}; this library reads version ${ARTIFACT_FORMAT}`);
  }
  const headerLength = view.getUint32(12, true);
  if (PREFIX + headerLength > bytes.length - TRAILER) {
    throw new ArtifactError('Corrupted', 'the artifact header is longer than the artifact');
  }
  let header: ArtifactHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + headerLength)));
  } catch (e) {
    throw new ArtifactError('Corrupted', `the artifact header is not valid JSON: ${(e as Error).message}`, e);
  }
  if (header.library !== LIBRARY_VERSION) {
    throw new ArtifactError(
      'VersionMismatch',
      `the artifact was made by resumable-wasm ${typeof header.library === 'string' ? header.library : describeValue(header.library)}; this is version ${LIBRARY_VERSION}`,
    );
  }
  const module = bytes.subarray(PREFIX + headerLength, bytes.length - TRAILER) as Uint8Array<ArrayBuffer>;
  return { header, instrumented: options.copy ? module.slice() : module };
}

/** The names of the options in which `actual` differs from `expected`. */
export function differingOptions(expected: ArtifactOptions, actual: ArtifactOptions): (keyof ArtifactOptions)[] {
  return (Object.keys(expected) as (keyof ArtifactOptions)[]).filter((key) => expected[key] !== actual[key]);
}
