/**
 * Prototype creation: on Asyncify cold (validation, transform, compilation), from an artifact,
 * and from the file cache; on JSPI; and the engine alone (validate + compile + instantiate of the
 * same bytes, the floor JSPI is compared with). Each creation runs in a fresh process (see
 * `create-child.ts`), so that time and peak memory are its own and V8's in-process cache of
 * compiled modules cannot help.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, type Row } from './support/stats.js';

/** One creation mode's result: medians over the runs. */
export interface CreateResult {
  readonly runtime: string;
  readonly mode: 'cold' | 'artifact' | 'cache hit' | 'jspi' | 'bare engine';
  readonly ms: number;
  readonly maxRssMb: number;
  readonly phases: Record<string, number>;
}

/** What one creation in a fresh process measured (`create-child.ts`). */
export interface ChildResult {
  ms: number;
  cpuMs: number;
  maxRssMb: number;
  phases: Record<string, number>;
}

/** Runs one creation of `runtime` in `mode` in a fresh process. */
export function child(runtime: string, mode: string, path: string): ChildResult {
  const script = fileURLToPath(new URL('./create-child.js', import.meta.url));
  const output = execFileSync(process.execPath, [script, runtime, mode, path], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(output.trim().split('\n').pop()!) as ChildResult;
}

function summarise(runtime: string, mode: CreateResult['mode'], runs: ChildResult[]): CreateResult {
  const ms = median(runs.map((r) => r.ms));
  // The phases of the median run.
  const closest = runs.reduce((best, r) => (Math.abs(r.ms - ms) < Math.abs(best.ms - ms) ? r : best));
  return { runtime, mode, ms, maxRssMb: Math.max(...runs.map((r) => r.maxRssMb)), phases: closest.phases };
}

/** Runs the creation benchmark for one runtime. */
export function benchCreate(runtime: string, options: { coldRuns: number; warmRuns: number }): { results: CreateResult[]; rows: Row[] } {
  const folder = mkdtempSync(join(tmpdir(), 'resumable-wasm-bench-'));
  try {
    const artifact = join(folder, 'artifact.rwasm');
    const cache = join(folder, 'cache');
    const cold = Array.from({ length: options.coldRuns }, () => child(runtime, 'cold', artifact));
    const fromArtifact = Array.from({ length: options.warmRuns }, () => child(runtime, 'artifact', artifact));
    child(runtime, 'cache', cache); // the miss that fills the cache
    const hits = Array.from({ length: options.warmRuns }, () => child(runtime, 'cache', cache));
    const jspi = Array.from({ length: options.warmRuns }, () => child(runtime, 'jspi', ''));
    const bare = Array.from({ length: options.warmRuns }, () => child(runtime, 'bare', ''));
    const results = [
      summarise(runtime, 'cold', cold),
      summarise(runtime, 'artifact', fromArtifact),
      summarise(runtime, 'cache hit', hits),
      summarise(runtime, 'jspi', jspi),
      summarise(runtime, 'bare engine', bare),
    ];
    const floor = results.find((r) => r.mode === 'bare engine')!.ms;
    const rows: Row[] = results.map((r) => [
      `${runtime}: ${r.mode}`,
      r.ms,
      r.ms / floor,
      r.maxRssMb,
      Object.entries(r.phases)
        .map(([phase, ms]) => `${phase} ${ms}`)
        .join(', '),
    ]);
    return { results, rows };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
