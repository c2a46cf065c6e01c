/**
 * A small seeded pseudo-random generator, so that every fuzzing decision (the bytes `wasm-opt
 * -ttf` turns into a module, the generator options, the arguments of every export call, the
 * host's answers) follows from one integer seed and a failure can be replayed exactly.
 *
 * The algorithm is sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator), seeded through
 * splitmix32 so that neighbouring seeds give unrelated streams. `Math.random` is never used.
 *
 * @module
 */

/** One step of splitmix32: a well-mixed 32-bit value from a counter. */
function splitmix32(state: number): [next: number, output: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/** A deterministic random stream; see the module documentation. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  /**
   * A stream for `seed` (any safe integer). `stream` separates independent uses of the same
   * seed (generator input, call arguments, host answers): each gets its own sequence, so
   * changing how many values one of them draws does not shift the others.
   */
  constructor(seed: number, stream = 0) {
    let s = (seed ^ Math.imul(stream + 1, 0x27d4eb2d) ^ Math.floor(seed / 2 ** 32)) | 0;
    let out: number;
    [s, out] = splitmix32(s);
    this.#a = out;
    [s, out] = splitmix32(s);
    this.#b = out;
    [, out] = splitmix32(s);
    this.#c = out;
    // Discard the first outputs, as the algorithm's author recommends.
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** An integer in `0 .. n-1` (`n` ≥ 1). */
  below(n: number): number {
    return Math.floor((this.u32() / 2 ** 32) * n);
  }

  /** An integer in `min .. max` inclusive. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** `true` with probability 1/`n`. */
  oneIn(n: number): boolean {
    return this.below(n) === 0;
  }

  /** An element of `items` (non-empty). */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  /** A uniformly random signed 64-bit integer. */
  i64(): bigint {
    return BigInt.asIntN(64, (BigInt(this.u32()) << 32n) | BigInt(this.u32()));
  }

  /** `count` random bytes. */
  bytes(count: number): Uint8Array {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i += 4) {
      const word = this.u32();
      for (let j = 0; j < 4 && i + j < count; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return out;
  }
}
