/**
 * Test helper: a small seeded pseudo-random generator (mulberry32), so that a randomized test is
 * the same on every run and a failure can be replayed from the seed in its name.
 */

/** A generator of numbers in [0, 1) determined by `seed`. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
