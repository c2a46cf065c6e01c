/**
 * The time bounds the harness enforces, per phase of a case.
 *
 * The bounds follow the measured costs on the 2-core development machine (shared with other
 * work, so with a wide margin), and the path a module takes through `create()`:
 *
 * | phase | measured | bound |
 * |---|---|---|
 * | refusal before the transform (engine validation, feature scan, module rules, `symbols`) | ≤ 50 ms for a 6.3 MB runtime | 5 s |
 * | the deferred check of a valid runtime (the same steps plus renaming, without `create()`) | ≤ 100 ms | 5 s |
 * | `create()` through the Binaryen transform | 26 s (2.5 MB), 30 s (6.3 MB); ms for small modules | 20 s + 20 s per MB |
 * | exercising an accepted prototype, per export started | ms (small), ≤ seconds (runtime) | 5 s (< 1 MB), 60 s (larger) |
 *
 * A bound is a deadline for the worker process: when it passes, the supervisor kills the
 * worker. In the creation phases that is a violation ("hang"). In an export's run it may also
 * be a guest that never ends (no host can interrupt a guest loop that calls no import), which
 * the supervisor tells apart by running the same calls in plain V8 (`triage.ts`).
 *
 * @module
 */

const MB = 1024 * 1024;

/** A bound for each phase; see the module documentation. */
export interface TimeBounds {
  /** `create()` when the module is refused before the transform, or a malformed config. */
  readonly refusalMs: number;
  /** The deferred check of a runtime that would reach the transform. */
  readonly checkMs: number;
  /** `create()` through the transform, for a module of `bytes` bytes. */
  transformMs(bytes: number): number;
  /** Running one export of an accepted module of `bytes` bytes (and the checks before it). */
  runMs(bytes: number): number;
}

/** The bounds the CLI and the Jest slice enforce. */
export const DEFAULT_BOUNDS: TimeBounds = {
  refusalMs: 5_000,
  checkMs: 5_000,
  transformMs: (bytes) => 20_000 + Math.ceil((20_000 * bytes) / MB),
  runMs: (bytes) => (bytes < MB ? 5_000 : 60_000),
};

/** A table of the bounds, for the CLI's report. */
export function describeBounds(bounds: TimeBounds): string[] {
  return [
    `refusal before the transform: ${bounds.refusalMs} ms`,
    `deferred check of a valid runtime: ${bounds.checkMs} ms`,
    `create() through the transform: ${bounds.transformMs(0)} ms + ${bounds.transformMs(MB) - bounds.transformMs(0)} ms per MB ` +
      `(2.5 MB: ${(bounds.transformMs(2.5 * MB) / 1000).toFixed(0)} s, 6.3 MB: ${(bounds.transformMs(6.3 * MB) / 1000).toFixed(0)} s)`,
    `each export run of an accepted module: ${bounds.runMs(0)} ms under 1 MB, ${bounds.runMs(MB)} ms above`,
  ];
}
