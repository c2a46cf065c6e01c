/**
 * A growable byte buffer with the WebAssembly encodings the code rewriter emits: LEB128
 * integers (minimal, or padded to a fixed width so that they can be patched once their value is
 * known), raw bytes, and runs copied from the input.
 *
 * The rewriter writes megabytes through it one instruction at a time, so it is a plain
 * `Uint8Array` and a position, grown by doubling, with no per-call allocation.
 *
 * @module
 */

/** The bytes of an unsigned LEB128 of `value` (a u32). */
export function u32Length(value: number): number {
  let v = value >>> 0;
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

/** A growable byte buffer; see the module documentation. */
export class ByteWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  /** Makes room for `count` more bytes. */
  ensure(count: number): void {
    const needed = this.pos + count;
    if (needed <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }

  /** One byte (room must have been ensured). */
  byte(value: number): void {
    this.buf[this.pos++] = value;
  }

  /** Bytes given one by one (room must have been ensured). */
  bytes2(a: number, b: number): void {
    const buf = this.buf;
    buf[this.pos] = a;
    buf[this.pos + 1] = b;
    this.pos += 2;
  }

  /** A minimal unsigned LEB128 of a u32 (room must have been ensured: 5 bytes). */
  u32(value: number): void {
    let v = value >>> 0;
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  /** A minimal signed LEB128 of an integer of at most 53 bits (room: 8 bytes). */
  signed(value: number): void {
    let v = value;
    const buf = this.buf;
    for (;;) {
      const low = ((v % 128) + 128) % 128;
      v = Math.floor(v / 128);
      if ((v === 0 && low < 0x40) || (v === -1 && low >= 0x40)) {
        buf[this.pos++] = low;
        return;
      }
      buf[this.pos++] = low | 0x80;
    }
  }

  /**
   * A signed LEB128 padded to exactly `width` bytes (room must have been ensured); `value` must
   * fit. Returns where it starts, for {@link patchSigned}.
   */
  paddedSigned(value: number, width: number): number {
    const at = this.pos;
    this.patchSigned(at, value, width);
    this.pos += width;
    return at;
  }

  /** Rewrites the padded signed LEB128 of `width` bytes at `at` with `value`. */
  patchSigned(at: number, value: number, width: number): void {
    let v = value;
    const buf = this.buf;
    for (let i = 0; i < width - 1; i++) {
      buf[at + i] = (((v % 128) + 128) % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[at + width - 1] = ((v % 128) + 128) % 128;
  }

  /** Reserves a 5-byte padded unsigned LEB128 (a size not known yet); returns where it is. */
  reserveU32(): number {
    this.ensure(5);
    const at = this.pos;
    this.pos += 5;
    return at;
  }

  /** Writes `value` as the 5-byte padded unsigned LEB128 reserved at `at`. */
  patchU32(at: number, value: number): void {
    let v = value >>> 0;
    const buf = this.buf;
    for (let i = 0; i < 4; i++) {
      buf[at + i] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[at + 4] = v;
  }

  /** Copies `source[start .. end)`. */
  copy(source: Uint8Array, start: number, end: number): void {
    const count = end - start;
    if (count <= 0) return;
    this.ensure(count);
    if (count < 24) {
      const buf = this.buf;
      let o = this.pos;
      for (let i = start; i < end; i++) buf[o++] = source[i]!;
    } else {
      this.buf.set(source.subarray(start, end), this.pos);
    }
    this.pos += count;
  }

  /**
   * Appends a short sequence (a template the rewrites copy at every use: a block's charge, a
   * function's prologue) byte by byte, which is faster than a `set` for a few dozen bytes, and
   * returns where it starts.
   */
  template(sequence: Uint8Array): number {
    this.ensure(sequence.length);
    const at = this.pos;
    const buf = this.buf;
    for (let i = 0; i < sequence.length; i++) buf[at + i] = sequence[i]!;
    this.pos = at + sequence.length;
    return at;
  }

  /** Appends every byte of `data`. */
  append(data: Uint8Array | readonly number[]): void {
    this.ensure(data.length);
    if (data instanceof Uint8Array) this.buf.set(data, this.pos);
    else for (let i = 0; i < data.length; i++) this.buf[this.pos + i] = data[i]!;
    this.pos += data.length;
  }

  /** A copy of everything written. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** A growable list of 32-bit integers (positions, indices), without per-item allocation. */
export class IntList {
  data: Int32Array;
  length = 0;

  constructor(capacity = 256) {
    this.data = new Int32Array(Math.max(4, capacity));
  }

  /** Appends `value`. */
  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }
}
