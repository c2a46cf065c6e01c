/**
 * A small seeded pseudo-random stream for the hostile-input harness.
 *
 * Every decision the harness makes about a case (its class, its bytes, its config, which
 * exports it runs) comes from a stream derived from `(seed, case index)` alone, never from
 * `Math.random` or from the cases before it. That is what makes a single case replayable with
 * `--seed S --case I`, in another process, without generating the cases before it.
 *
 * The generator is xoshiro128** (Blackman and Vigna), whose 128-bit state is filled from the
 * seed and the case index by the splitmix32 mixing function, so that neighbouring seeds and
 * indices give unrelated streams.
 *
 * @module
 */

/** splitmix32's output function: a well-mixed 32-bit value from any 32-bit input. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A deterministic random stream for one `(seed, index)` pair; see the module documentation. */
export class Prng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /** A stream for `seed` and `index` (both non-negative safe integers). */
  constructor(seed: number, index = 0) {
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    let h = mix32(mix32(seed >>> 0) ^ hi);
    h = mix32(h ^ mix32(index >>> 0) ^ Math.floor(index / 2 ** 32));
    this.#s0 = h;
    this.#s1 = mix32(h + 1);
    this.#s2 = mix32(h + 2);
    this.#s3 = mix32(h + 3);
    // An all-zero state would only ever produce zeros.
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** A float in `[0, 1)`. */
  float(): number {
    return this.u32() / 2 ** 32;
  }

  /** An integer in `0 .. n-1` (`n` ≥ 1). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in `lo .. hi` inclusive. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** `true` with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  /** One key of `weights`, chosen with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let x = this.float() * total;
    for (const [key, weight] of entries) {
      x -= weight;
      if (x < 0) return key;
    }
    return entries[entries.length - 1]![0];
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}
