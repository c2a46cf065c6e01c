/**
 * Just enough of the WebAssembly binary format for the harness: split a module into sections,
 * read LEB128 integers and names, and encode them again.
 *
 * The harness deliberately does not reuse the library's own binary reader (`lib/base/binary-reader.ts`):
 * a differential test must not share code with the thing it tests, or a bug in that code would
 * be invisible on both sides.
 *
 * @module
 */

/** The 8 bytes every module starts with: `\0asm` and version 1. */
export const MODULE_HEADER: Uint8Array = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);

/** Section ids of the MVP binary format. */
export const SectionId = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
} as const;

/** One section of a module, as byte offsets into the module. */
export interface Section {
  readonly id: number;
  /** Offset of the section's id byte. */
  readonly start: number;
  /** Offset of the first byte of the payload (after the size). */
  readonly payloadStart: number;
  /** Offset just past the payload. */
  readonly end: number;
}

/** A cursor over a byte range; every read checks the range, so malformed input throws. */
export class ByteReader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) throw new Error(`unexpected end of data at offset ${this.pos}`);
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 integer of at most 32 bits. */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new Error(`LEB128 too long at offset ${this.pos}`);
    }
    return result;
  }

  /** A signed LEB128 integer of any width (only skipped or used for constants here). */
  sleb(): bigint {
    let result = 0n;
    let shift = 0n;
    let byte: number;
    do {
      byte = this.u8();
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
    } while ((byte & 0x80) !== 0);
    if ((byte & 0x40) !== 0) result -= 1n << shift;
    return result;
  }

  /** A length-prefixed UTF-8 name. */
  name(): string {
    const length = this.u32();
    if (this.pos + length > this.end) throw new Error(`name past the end at offset ${this.pos}`);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }

  skip(count: number): void {
    if (this.pos + count > this.end) throw new Error(`unexpected end of data at offset ${this.pos}`);
    this.pos += count;
  }
}

/** The sections of `bytes`, in order. Throws on a malformed header or section size. */
export function splitSections(bytes: Uint8Array): Section[] {
  for (let i = 0; i < MODULE_HEADER.length; i++) {
    if (bytes[i] !== MODULE_HEADER[i]) throw new Error('not a WebAssembly binary module (bad header)');
  }
  const sections: Section[] = [];
  const reader = new ByteReader(bytes, MODULE_HEADER.length, bytes.length);
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

/** Appends the unsigned LEB128 encoding of `value` to `out`. */
export function pushU32(out: number[], value: number): void {
  let rest = value >>> 0;
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
}

/** Appends a length-prefixed UTF-8 name to `out`. */
export function pushName(out: number[], name: string): void {
  const encoded = new TextEncoder().encode(name);
  pushU32(out, encoded.length);
  for (const byte of encoded) out.push(byte);
}

/** A whole section (id, size, payload) as bytes. */
export function encodeSection(id: number, payload: readonly number[]): Uint8Array {
  const head: number[] = [id];
  pushU32(head, payload.length);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/** Concatenates byte chunks. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
