/**
 * What the placement of Asyncify's paused stack costs (`VmConfig.asyncifyStack`): westend's
 * `Metadata_metadata` on Asyncify with the stack in a second memory (multi-memory) and in pages
 * reserved below the guest's memory (single memory: every guest load and store shifted by the
 * reserved bytes, and the host's accessors with it), every import an interrupt and the host
 * answered inline, in one process.
 *
 * Rounds are interleaved (each round one call of every variant, so that a slow spell of the
 * machine falls on all alike); each call's time is the process's CPU time (`process.cpuUsage()`,
 * user + system), which leaves out the wait for a core on a shared machine. The ratio is taken
 * between minimums (the least each variant needed) and shown between medians too. The grown
 * memory is reused (`reuseGrownMemory`) so that page faults do not drown the difference; every
 * output is checked against plain V8's.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AsyncifyStack } from '../lib/index.js';
import { FileArtifactCache } from '../lib/node/index.js';
import { ARTIFACT_DIR } from '../spec/support/genesis-chains.js';
import { createRuntimePrototype, plainRunner, runVm, type RuntimePrototype } from '../spec/support/substrate-harness.js';
import { type Row, median } from './support/stats.js';
import { sameBytes } from './support/bytes.js';

/** One variant's measurement: CPU milliseconds per call. */
export interface AsyncifyStackResult {
  readonly runtime: string;
  /** `'second-memory'` or `'single-memory'`. */
  readonly asyncifyStack: AsyncifyStack;
  /** `'interrupt'`: every import an interrupt; `'inline'`: the host answers inline. */
  readonly imports: 'interrupt' | 'inline';
  readonly hostCalls: number;
  readonly minMs: number;
  readonly medianMs: number;
  /** Against the same import routing with the stack in a second memory, minimums. */
  readonly xSecondMemory: number;
  /** The same between medians. */
  readonly xSecondMemoryMedian: number;
}

/** Measures runtime `runtimeName` (`wasm`: the raw module) on both placements and both routings. */
export async function benchAsyncifyStack(
  runtimeName: string,
  wasm: Uint8Array,
  options: { runs: number; warmup: number },
): Promise<{ results: AsyncifyStackResult[]; rows: Row[] }> {
  const input = new Uint8Array();
  const reference = (await plainRunner(wasm))('Metadata_metadata', input);
  const variants: { stack: AsyncifyStack; imports: 'interrupt' | 'inline'; runtime: RuntimePrototype; times: number[] }[] = [];
  for (const imports of ['interrupt', 'inline'] as const) {
    // Kept between runs (a transform of westend takes tens of seconds); one folder per routing,
    // as the cache key does not tell inline imports from pausing ones.
    const folder = join(ARTIFACT_DIR, `bench-stack-${imports}`);
    mkdirSync(folder, { recursive: true });
    const cache = new FileArtifactCache(folder);
    for (const stack of ['second-memory', 'single-memory'] as const) {
      let runtime = await createRuntimePrototype(wasm, { asyncifyStack: stack, inline: imports === 'inline', reuseGrownMemory: true, cache });
      if (runtime.proto.asyncifyStack !== stack) throw new Error(`${runtimeName}: asked for ${stack}, the prototype has ${runtime.proto.asyncifyStack}`);
      const first = runVm(runtime, 'Metadata_metadata', input);
      if (!sameBytes(first.run.output, reference.output) || first.run.totalCalls !== reference.totalCalls) {
        throw new Error(`${runtimeName}: Asyncify, ${stack}, ${imports}: the output differs from plain V8's`);
      }
      runtime = first.runtime;
      variants.push({ stack, imports, runtime, times: [] });
    }
  }
  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  for (let round = 0; round < options.warmup + options.runs; round++) {
    for (const variant of variants) {
      const started = process.cpuUsage();
      variant.runtime = runVm(variant.runtime, 'Metadata_metadata', input).runtime;
      if (round >= options.warmup) variant.times.push(cpuMs(started));
    }
  }
  const results: AsyncifyStackResult[] = variants.map((v) => {
    const base = variants.find((b) => b.imports === v.imports && b.stack === 'second-memory')!;
    return {
      runtime: runtimeName,
      asyncifyStack: v.stack,
      imports: v.imports,
      hostCalls: v.imports === 'inline' ? 0 : reference.totalCalls,
      minMs: Math.min(...v.times),
      medianMs: median(v.times),
      xSecondMemory: Math.min(...v.times) / Math.min(...base.times),
      xSecondMemoryMedian: median(v.times) / median(base.times),
    };
  });
  const rows: Row[] = results.map((r) => [
    `${runtimeName}: Asyncify, ${r.asyncifyStack}, ${r.imports === 'inline' ? 'host inline' : `every import an interrupt (${r.hostCalls})`}`,
    r.minMs,
    r.medianMs,
    r.xSecondMemory,
    r.xSecondMemoryMedian,
  ]);
  return { results, rows };
}
