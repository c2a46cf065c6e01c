/**
 * The harness's own cursor over a module's bytes, shared by its two readers (`module-header.ts`,
 * `effects.ts`). Like them it is independent of the library's reader: the harness compares what
 * it reads with what the VM decides, which is only worth something if the two do not share code.
 *
 * @module
 */

/** A cursor over the bytes of a module, from `pos` to `end`; every read throws past `end`. */
export class Cursor {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  byte(): number {
    if (this.pos >= this.end) throw new Error('unexpected end');
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Error('LEB128 too long');
  }

  /** Skips a LEB128 of any length and signedness. */
  leb(): void {
    while ((this.byte() & 0x80) !== 0) {
      // continuation bytes
    }
  }

  skip(count: number): void {
    this.pos += count;
  }

  /** A name, decoded as UTF-8 (invalid UTF-8 throws). */
  name(): string {
    const length = this.u32();
    if (this.pos + length > this.end) throw new Error('unexpected end');
    const text = new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }

  /** Skips a name without decoding it. */
  skipName(): void {
    this.skip(this.u32());
  }

  /** Skips the limits of a table or memory. */
  limits(): void {
    const flags = this.u32();
    this.u32();
    if (flags & 1) this.u32();
  }
}
