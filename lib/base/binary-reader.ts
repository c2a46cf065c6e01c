/**
 * A cursor over WebAssembly binary encoding, and the section framing of a module.
 *
 * The library walks raw bytes itself wherever it reads a module: the module facts (the header
 * sections), the feature scan over every instruction of a multi-megabyte runtime, renaming
 * imports and exports, reading custom sections. The modules it reads have normally been
 * validated by the engine, so a malformed encoding is unexpected; it still fails with a
 * {@link BinaryFormatError} rather than reading past the end.
 *
 * @module
 */

/** A malformed encoding met by {@link BinaryReader}. */
export class BinaryFormatError extends Error {
  override readonly name = 'BinaryFormatError';
}

// `ignoreBOM: true` keeps a leading U+FEFF as part of the name: "\uFEFF" and "" are different names.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A forward-only cursor over `bytes[pos .. end)`. (Fields assigned by hand rather than declared
 * as constructor parameters: the transform's thread runs this file from its TypeScript source
 * under Node.js's type stripping in the tests, which does not support parameter properties.)
 */
export class BinaryReader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  /** `true` once every byte up to `end` has been read. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  /** One byte. */
  u8(): number {
    if (this.pos >= this.end) throw new BinaryFormatError(`unexpected end at byte ${this.pos}`);
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    const first = this.u8();
    if (first < 0x80) return first; // the common case: one byte
    let result = first & 0x7f;
    for (let scale = 0x80; scale <= 0x1000_0000; scale *= 0x80) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (result > 0xffff_ffff) throw new BinaryFormatError(`u32 overflow at byte ${this.pos}`);
        return result;
      }
    }
    throw new BinaryFormatError(`LEB128 longer than 5 bytes at byte ${this.pos}`);
  }

  /** A signed LEB128 of at most 32 bits. */
  s32(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.u8();
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while ((byte & 0x80) !== 0 && shift < 35);
    return shift < 32 && (byte & 0x40) !== 0 ? result | (-1 << shift) : result;
  }

  /** Skips the limits of a memory or a table: a flags byte, the minimum and, if flagged, the maximum. */
  skipLimits(): void {
    const flags = this.u8();
    this.u32();
    if ((flags & 1) !== 0) this.u32();
  }

  /** Skips an import descriptor after its kind byte (0 function, 1 table, 2 memory, 3 global). */
  skipImportDescriptor(kind: number): void {
    switch (kind) {
      case 0:
        this.u32();
        return;
      case 1:
        this.u8();
        this.skipLimits();
        return;
      case 2:
        this.skipLimits();
        return;
      case 3:
        this.u8();
        this.u8();
        return;
      default:
        throw new BinaryFormatError(`unexpected import kind ${kind}`);
    }
  }

  /** Skips a LEB128 of any width (signed or unsigned immediates whose value is not needed). */
  skipLeb(): void {
    while ((this.u8() & 0x80) !== 0) {
      // continuation bytes
    }
  }

  /** Advances by `count` bytes. */
  skip(count: number): void {
    if (count < 0 || this.pos + count > this.end) {
      throw new BinaryFormatError(`cannot skip ${count} bytes at byte ${this.pos}`);
    }
    this.pos += count;
  }

  /** A length-prefixed UTF-8 name. */
  name(): string {
    const length = this.u32();
    const start = this.pos;
    this.skip(length);
    return utf8.decode(this.bytes.subarray(start, start + length));
  }
}

/** One section of a module: its id and where its payload lies in the module's bytes. */
export interface SectionSpan {
  readonly id: number;
  /** Offset of the section id byte. */
  readonly start: number;
  /** Offset of the first payload byte. */
  readonly payloadStart: number;
  /** Offset one past the last payload byte. */
  readonly end: number;
}

/** The magic number and version 1 that open every module binary. */
export const MODULE_HEADER = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);

/** Splits a module into its sections (the 8-byte header is checked, not returned). */
export function splitSections(bytes: Uint8Array): SectionSpan[] {
  if (bytes.length < 8 || MODULE_HEADER.some((b, i) => bytes[i] !== b)) {
    throw new BinaryFormatError('not a WebAssembly module (bad magic number or version)');
  }
  const reader = new BinaryReader(bytes, 8);
  const sections: SectionSpan[] = [];
  while (!reader.done) {
    const start = reader.pos;
    const id = reader.u8();
    const size = reader.u32();
    const payloadStart = reader.pos;
    reader.skip(size);
    sections.push({ id, start, payloadStart, end: reader.pos });
  }
  return sections;
}

/** Appends the unsigned LEB128 encoding of `value` (a u32) to `out`. */
export function writeU32(out: number[], value: number): void {
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

const utf8Encoder = new TextEncoder();

/** Appends a length-prefixed UTF-8 name to `out`. */
export function writeName(out: number[], name: string): void {
  const encoded = utf8Encoder.encode(name);
  writeU32(out, encoded.length);
  for (const byte of encoded) out.push(byte);
}
