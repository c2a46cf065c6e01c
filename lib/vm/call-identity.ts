/**
 * What a snapshot or a journal names as the thing it belongs to, and the framing both share.
 *
 * ```text
 * offset 0   8 bytes "RWASMSNP" | "RWASMJNL"   magic
 *        8   u32 LE                           format version
 *        12  u32 LE                           header length H
 *        16  H bytes                          header: UTF-8 JSON (library version, module, options, imports, ...)
 *        16+H                                 the body (binary sections the header sizes)
 *        end-8  u64 LE                        xxHash64 of every byte before it
 * ```
 *
 * The checks, in this order, each with its {@link SnapshotError} kind: the magic, the length and
 * the checksum (`Corrupted`: truncated, bit flips, not one of ours); the format and library
 * versions (`VersionMismatch`); the module's SHA-256 (`ModuleMismatch`); the options and the
 * import table, which must have been resolved the same way, same ids included
 * (`OptionsMismatch`). Only then is the header's content read (`Corrupted` if it is malformed).
 * As for artifacts, the checksum catches accidents, not forgery: whoever can write a snapshot can
 * make the guest continue from any state its module can reach (inside the sandbox, never out of
 * it). Restore snapshots and replay journals only from a store you trust as much as your host.
 *
 * @module
 */

import { checksum } from '../base/digest.js';
import { SnapshotError } from '../base/errors.js';
import type { ResolvedImport } from '../base/components.js';
import { describeValue } from '../base/values.js';
import { LIBRARY_VERSION } from '../base/version.js';

const PREFIX = 16;
const TRAILER = 8;
const encoder = new TextEncoder();

/** What a snapshot or a journal belongs to: compared field by field with the prototype's. */
export interface CallIdentity {
  readonly module: { readonly sha256: string; readonly length: number };
  readonly options: Readonly<Record<string, unknown>>;
  /** The import table as resolved: module, name, signature, inline or pausing, and the pausing ones' ids. */
  readonly imports: string;
}

/** The import table of `imports` as {@link CallIdentity.imports} records it (hashed: a runtime has a hundred imports). */
export function importsFingerprint(imports: readonly ResolvedImport[]): string {
  const text = JSON.stringify(
    imports.map((i) => [i.module, i.name, i.signature.params.join(','), i.signature.result, i.inline === null ? i.id : 'inline']),
  );
  return checksum(encoder.encode(text)).toString(16).padStart(16, '0');
}

/** Frames `header` (JSON) and `sections` with the magic, the version and the checksum. */
export function frame(magic: string, format: number, header: object, sections: readonly Uint8Array[]): Uint8Array {
  const json = encoder.encode(JSON.stringify({ library: LIBRARY_VERSION, ...header }));
  const bodyLength = sections.reduce((sum, s) => sum + s.length, 0);
  const out = new Uint8Array(PREFIX + json.length + bodyLength + TRAILER);
  const view = new DataView(out.buffer);
  out.set(encoder.encode(magic), 0);
  view.setUint32(8, format, true);
  view.setUint32(12, json.length, true);
  out.set(json, PREFIX);
  let at = PREFIX + json.length;
  for (const section of sections) {
    out.set(section, at);
    at += section.length;
  }
  view.setBigUint64(out.length - TRAILER, checksum(out.subarray(0, out.length - TRAILER)), true);
  return out;
}

/**
 * Checks the framing, the checksum and the versions of `bytes` (see the module documentation)
 * and returns the header (not checked beyond being a JSON object) and the body. `what` names
 * the thing in messages (`snapshot`, `journal`).
 */
export function unframe(
  bytes: unknown,
  magic: string,
  format: number,
  what: string,
): { header: Record<string, unknown> & { identity?: unknown }; body: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) throw new SnapshotError('Corrupted', `a ${what} must be a Uint8Array, got ${describeValue(bytes)}`);
  const expected = encoder.encode(magic);
  if (bytes.length < PREFIX + TRAILER || expected.some((b, i) => bytes[i] !== b)) {
    throw new SnapshotError('Corrupted', `not a ${what} of this library (bad magic number or too short)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (checksum(bytes.subarray(0, bytes.length - TRAILER)) !== view.getBigUint64(bytes.length - TRAILER, true)) {
    throw new SnapshotError('Corrupted', `the ${what} is corrupted or truncated: its checksum does not match its bytes`);
  }
  const version = view.getUint32(8, true);
  if (version !== format) {
    throw new SnapshotError('VersionMismatch', `the ${what} has format version ${version}; this library reads version ${format}`);
  }
  const headerLength = view.getUint32(12, true);
  if (PREFIX + headerLength > bytes.length - TRAILER) throw new SnapshotError('Corrupted', `the ${what} header is longer than the ${what}`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + headerLength)));
  } catch (e) {
    throw new SnapshotError('Corrupted', `the ${what} header is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof header !== 'object' || header === null) throw new SnapshotError('Corrupted', `the ${what} header is not an object`);
  const library = (header as { library?: unknown }).library;
  if (library !== LIBRARY_VERSION) {
    throw new SnapshotError('VersionMismatch', `the ${what} was made by resumable-wasm ${describeValue(library)}; this is version ${LIBRARY_VERSION}`);
  }
  return { header: header as Record<string, unknown>, body: bytes.subarray(PREFIX + headerLength, bytes.length - TRAILER) };
}

/** Checks a recorded identity against the prototype's (`ModuleMismatch`, then `OptionsMismatch`). */
export function checkIdentity(recorded: unknown, actual: CallIdentity, what: string): void {
  const r = recorded as Partial<CallIdentity> | null;
  if (typeof r !== 'object' || r === null || typeof r.module !== 'object' || r.module === null) {
    throw new SnapshotError('Corrupted', `the ${what} header is malformed: it names no module`);
  }
  if (r.module.sha256 !== actual.module.sha256) {
    throw new SnapshotError(
      'ModuleMismatch',
      `the ${what} was made from another module (${describeValue(r.module.length)} bytes, SHA-256 ${describeValue(r.module.sha256)}); ` +
        `the prototype's (${actual.module.length} bytes) has SHA-256 ${actual.module.sha256}`,
    );
  }
  const options = (typeof r.options === 'object' && r.options !== null ? r.options : {}) as Record<string, unknown>;
  const differing = Object.keys(actual.options).filter((key) => JSON.stringify(options[key]) !== JSON.stringify(actual.options[key]));
  if (differing.length > 0) {
    const list = differing.map((key) => `${key} ${JSON.stringify(options[key])} (the prototype's: ${JSON.stringify(actual.options[key])})`);
    throw new SnapshotError('OptionsMismatch', `the ${what} was made with other options: ${list.join(', ')}`);
  }
  if (r.imports !== actual.imports) {
    throw new SnapshotError(
      'OptionsMismatch',
      `the ${what} was made with imports resolved otherwise (another inline/pausing split, or other ids from symbols())`,
    );
  }
}

/** A raw value (the engine's representation) as header text: `i64:<decimal>` for a bigint, `f64:<bits>` for a number. */
export function encodeRaw(raw: unknown): string {
  if (typeof raw === 'bigint') return `i64:${BigInt.asIntN(64, raw)}`;
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, raw as number, true);
  return `f64:${bits.getBigUint64(0, true).toString(16)}`;
}

/** The inverse of {@link encodeRaw}; throws `Corrupted` for anything else. */
export function decodeRaw(text: unknown, what: string): number | bigint {
  if (typeof text === 'string') {
    const match = /^(i64|f64):(-?[0-9a-f]{1,20})$/.exec(text);
    if (match !== null) {
      try {
        if (match[1] === 'i64') return BigInt.asIntN(64, BigInt(match[2]!));
        const bits = new DataView(new ArrayBuffer(8));
        bits.setBigUint64(0, BigInt.asUintN(64, BigInt(`0x${match[2]!}`)), true);
        return bits.getFloat64(0, true);
      } catch {
        // Falls through to the refusal.
      }
    }
  }
  throw new SnapshotError('Corrupted', `the ${what} header is malformed: ${describeValue(text)} is not a value`);
}
