/**
 * How the CLI writes things for humans: sizes with thousands separators, durations in seconds,
 * byte previews, signatures, and a progress reporter for the long phases.
 *
 * @module
 */

import type { TransformStep } from '../base/progress.js';
import type { GuestFrame } from '../index.js';
import type { RuntimeProgressEvent } from '../substrate/index.js';

/** `1234567` as `1,234,567`. */
export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** A size in bytes, e.g. `6,348,887 bytes`. */
export function bytes(value: number): string {
  return `${count(value)} byte${value === 1 ? '' : 's'}`;
}

/** Milliseconds as seconds or milliseconds, whichever reads better. */
export function duration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}

/** `0x`-hex of at most `limit` bytes of `data`, with `...` when cut. */
export function hexPreview(data: Uint8Array, limit = 32): string {
  let hex = '0x';
  for (const byte of data.subarray(0, limit)) hex += byte.toString(16).padStart(2, '0');
  return data.length > limit ? `${hex}...` : hex;
}

/** A function type as `(i32, i64) -> i32`; `nil` for no result. */
export function signature(params: readonly string[], results: readonly string[]): string {
  return `(${params.join(', ')}) -> ${results.length === 0 ? 'nil' : results.join(', ')}`;
}

/** Left-aligned columns: each row's cells padded to the widest cell of their column. */
export function columns(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

/** What each long phase is called in progress lines. */
const PHASE_LABELS: Record<string, string> = {
  'decode-code': 'decoding the code',
  'cache-lookup': 'looking in the artifact cache',
  validate: 'validating',
  inspect: 'reading the module',
  transform: 'transforming (Asyncify; seconds for a real runtime)',
  'load-artifact': 'loading the cached artifact',
  compile: 'compiling',
  instantiate: 'instantiating',
  'cache-store': 'storing the artifact',
  'runtime-version': 'calling Core_version',
};

/** What each step of the transform is, for its line. */
const STEP_LABELS: Record<TransformStep, string> = {
  'load-binaryen': 'loading Binaryen',
  rewrite: 'moving the guest memory up (single-memory Asyncify)',
  read: 'reading the module',
  asyncify: 'the Asyncify pass (the long step)',
  'post-passes': 'the post passes',
  emit: 'writing the instrumented module',
  'unwind-guard': "bounding Asyncify's stores",
};

/**
 * How long a transform takes per megabyte of wasm, for the estimate shown while it runs:
 * measured on a 2-core machine, Asset Hub (2.5 MB) 12.2 s, westend (6.3 MB) 22.5 s, the Paseo
 * relay (12.4 MB, machine loaded) 76 s. An estimate, and said to be one.
 */
const TRANSFORM_MS_PER_MB = 4_500;

/** How often a line says the transform is still running. */
const TICK_MS = 5_000;

/**
 * A progress listener that writes one line per finished phase to `write` (stderr in the CLI),
 * announces the long phases as they start, and during the transform (which runs on a thread of
 * its own, so this one is free) writes each of its steps as it begins and, every few seconds,
 * the time so far and an estimate of the time left from the module's size (`wasmSize`, bytes).
 * Also records each phase's duration.
 */
export function progressPrinter(
  write: (line: string) => void,
  options: { readonly wasmSize?: number } = {},
): {
  listener: (event: RuntimeProgressEvent) => void;
  durations: Map<string, number>;
  /** Stops the transform's ticker (for a creation that failed before the transform ended). */
  stop: () => void;
} {
  const durations = new Map<string, number>();
  let ticker: ReturnType<typeof setInterval> | null = null;
  const stopTicker = (): void => {
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
  };
  const estimateMs = options.wasmSize === undefined ? null : (options.wasmSize / 1e6) * TRANSFORM_MS_PER_MB;
  const listener = (event: RuntimeProgressEvent): void => {
    const label = PHASE_LABELS[event.phase] ?? event.phase;
    if (event.status === 'progress') {
      if (event.step !== undefined) write(`    ${STEP_LABELS[event.step]}... [${duration(event.elapsedMs)} elapsed]`);
      return;
    }
    if (event.status === 'start') {
      if (event.phase === 'transform' || event.phase === 'runtime-version') write(`  ${label}...`);
      if (event.phase === 'transform') {
        const started = performance.now();
        const estimate = estimateMs === null ? '' : `; about ${duration(estimateMs)} in all for ${(options.wasmSize! / 1e6).toFixed(1)} MB of wasm (an estimate)`;
        write(`    (it runs on a thread of its own${estimate})`);
        ticker = setInterval(() => {
          const so = performance.now() - started;
          const left = estimateMs === null ? '' : so < estimateMs ? `, about ${duration(estimateMs - so)} left` : ', longer than estimated';
          write(`    still transforming: ${duration(so)} so far${left}`);
        }, TICK_MS);
        // A ticker must never keep the process alive.
        ticker.unref?.();
      }
      return;
    }
    if (event.phase === 'transform') stopTicker();
    durations.set(event.phase, event.durationMs ?? 0);
    const hit = event.cacheHit === undefined ? '' : event.cacheHit ? ' (hit)' : ' (miss)';
    write(`  ${label}: ${duration(event.durationMs ?? 0)}${hit} [${duration(event.elapsedMs)} elapsed]`);
  };
  return { listener, durations, stop: stopTicker };
}

/**
 * The export names of a module's functions, by function index (imports first, as in
 * `GuestFrame.functionIndex`): the names a backtrace falls back on for a frame that the name
 * section does not name (a module built without one still names its exports).
 */
export function exportNamesOf(facts: { readonly exports: readonly { readonly name: string; readonly kind: string; readonly index: number }[] }): Map<number, string> {
  const names = new Map<number, string>();
  for (const e of facts.exports) if (e.kind === 'function' && !names.has(e.index)) names.set(e.index, e.name);
  return names;
}

/**
 * Export names for the backtrace of a failure thrown by a command (`run`'s trapped call), for
 * `main.ts`, which prints it but never saw the module.
 */
export const failureExportNames = new WeakMap<object, ReadonlyMap<number, string>>();

/**
 * A trap's backtrace, one line per guest frame, innermost first:
 * `  #0 depth_three (function 2) at guest.c:5:16`. A frame without a name in the module's name
 * section is named by its export, if it has one (`#1 <export count_words> (function 4)`).
 */
export function backtraceLines(frames: readonly GuestFrame[], exportNames?: ReadonlyMap<number, string>): string[] {
  if (frames.length === 0) return ['backtrace: no guest frame (the engine recorded none)'];
  return [
    'backtrace (innermost first):',
    ...frames.map((f, i) => {
      const exported = exportNames?.get(f.functionIndex);
      const name = f.functionName ?? (exported === undefined ? '<unnamed>' : `<export ${JSON.stringify(exported)}>`);
      const where = f.file === null ? (f.offset === null ? '' : ` at offset 0x${f.offset.toString(16)}`) : ` at ${f.file}:${f.line}${f.column === null ? '' : `:${f.column}`}`;
      return `  #${i} ${name} (function ${f.functionIndex})${where}`;
    }),
  ];
}
