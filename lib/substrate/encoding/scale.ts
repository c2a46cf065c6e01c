/**
 * The few pieces of SCALE (Substrate's binary encoding) that host functions read from a runtime
 * and write back to it, done by hand with bounds checks.
 *
 * The runtime hands the host SCALE-encoded arguments (a `Vec<(Vec<u8>, Vec<u8>)>` to build a trie
 * root from, an `Option<u32>` limit, ...) and gets SCALE-encoded answers (an `Option<Vec<u8>>`
 * value, a `Result<[u8; 64], EcdsaVerifyError>`). The argument bytes come from untrusted code,
 * so every length is checked against the bytes that are actually there before anything is
 * allocated: a claimed length of 2^30 elements in a 10-byte buffer is an error, not an
 * allocation. Decoding is strict like `parity-scale-codec`: a compact number must use its
 * shortest form, and an argument must be consumed entirely.
 *
 * | encoding | bytes |
 * |---|---|
 * | compact `n < 2^6` | one byte, `n << 2` |
 * | compact `n < 2^14` | two bytes LE, `n << 2 \| 1` |
 * | compact `n < 2^30` | four bytes LE, `n << 2 \| 2` |
 * | compact, larger | `(byteCount - 4) << 2 \| 3`, then the bytes LE |
 * | `Vec<T>` | compact length, then the elements |
 * | `Option<T>` | `00`, or `01` followed by `T` |
 *
 * @module
 */

import { concatBytes as concatAll } from '../../base/bytes.js';

/** Thrown by {@link ScaleReader} for bytes that are not the expected encoding. */
export class ScaleError extends RangeError {
  override readonly name = 'ScaleError';
}

/** Reads SCALE values from a byte array, front to back, checking every length. */
export class ScaleReader {
  #offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** Bytes not read yet. */
  get remaining(): number {
    return this.bytes.length - this.#offset;
  }

  /** A compact-encoded unsigned number that must fit in 32 bits (lengths, counts). */
  compactU32(): number {
    const first = this.#byte();
    switch (first & 3) {
      case 0:
        return first >>> 2;
      case 1: {
        const value = (first | (this.#byte() << 8)) >>> 2;
        if (value < 1 << 6) throw new ScaleError('a compact number is not in its shortest form');
        return value;
      }
      case 2: {
        const value = (first | (this.#byte() << 8) | (this.#byte() << 16) | (this.#byte() << 24)) >>> 2;
        if (value < 1 << 14) throw new ScaleError('a compact number is not in its shortest form');
        return value;
      }
      default: {
        // Big-integer mode: only 4 bytes fit a u32, and then the value must be at least 2^30.
        if (first >>> 2 !== 0) throw new ScaleError('a compact number does not fit in 32 bits');
        const value = (this.#byte() | (this.#byte() << 8) | (this.#byte() << 16) | (this.#byte() << 24)) >>> 0;
        if (value < 2 ** 30) throw new ScaleError('a compact number is not in its shortest form');
        return value;
      }
    }
  }

  /** `length` raw bytes (a view, not a copy). */
  take(length: number): Uint8Array {
    if (length > this.remaining) throw new ScaleError(`${length} bytes are announced but only ${this.remaining} remain`);
    const out = this.bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return out;
  }

  /** A `Vec<u8>`: compact length, then the bytes. */
  bytesVec(): Uint8Array {
    return this.take(this.compactU32());
  }

  /**
   * The element count of a `Vec<T>` whose elements take at least `minElementSize` bytes each,
   * checked against the bytes left so that a hostile count cannot make the caller allocate.
   */
  vecLength(minElementSize: number): number {
    const count = this.compactU32();
    if (count * minElementSize > this.remaining) {
      throw new ScaleError(`a vector of ${count} elements cannot fit in the ${this.remaining} bytes that remain`);
    }
    return count;
  }

  /** An `Option` tag: `false` for `None`, `true` for `Some`. */
  optionTag(): boolean {
    const tag = this.#byte();
    if (tag > 1) throw new ScaleError(`an Option tag must be 0 or 1, got ${tag}`);
    return tag === 1;
  }

  /** A little-endian `u32`. */
  u32(): number {
    return (this.#byte() | (this.#byte() << 8) | (this.#byte() << 16) | (this.#byte() << 24)) >>> 0;
  }

  /** A little-endian `u64`. */
  u64(): bigint {
    const low = BigInt(this.u32());
    return (BigInt(this.u32()) << 32n) | low;
  }

  /** Throws unless every byte has been read: host function arguments must be consumed whole. */
  end(): void {
    if (this.remaining !== 0) throw new ScaleError(`${this.remaining} unexpected bytes after the value`);
  }

  #byte(): number {
    if (this.#offset >= this.bytes.length) throw new ScaleError('the encoding ends too early');
    return this.bytes[this.#offset++]!;
  }
}

/** The compact encoding of `value` (a non-negative integer below 2^32). */
export function encodeCompact(value: number): Uint8Array {
  if (value < 1 << 6) return Uint8Array.of(value << 2);
  if (value < 1 << 14) return Uint8Array.of(((value << 2) | 1) & 0xff, value >>> 6);
  if (value < 1 << 30) {
    const v = ((value << 2) | 2) >>> 0;
    return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  }
  return Uint8Array.of(3, value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
}

/** Concatenates byte arrays (`concatBytes` of the leaf layer, spread). */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  return concatAll(parts);
}

/** SCALE `Option<Vec<u8>>`: `00`, or `01` followed by the compact length and the bytes. */
export function encodeOptionBytes(value: Uint8Array | null): Uint8Array {
  return value === null ? Uint8Array.of(0) : concatBytes(Uint8Array.of(1), encodeCompact(value.length), value);
}

/** A little-endian `u32` as 4 bytes. */
export function encodeU32(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
}

/** Decodes a whole `Option<u32>` argument (the `limit` of `clear_prefix` and `storage_kill`). */
export function decodeOptionU32(bytes: Uint8Array): number | null {
  const reader = new ScaleReader(bytes);
  const value = reader.optionTag() ? reader.u32() : null;
  reader.end();
  return value;
}

/** Decodes a whole `Option<Vec<u8>>` argument. */
export function decodeOptionBytes(bytes: Uint8Array): Uint8Array | null {
  const reader = new ScaleReader(bytes);
  const value = reader.optionTag() ? reader.bytesVec() : null;
  reader.end();
  return value;
}
