/**
 * What the code rewrite's options cost (`VmConfig.fuel`, `maxStackHeight`, `canonicalizeNaNs`;
 * issue 21's targets), each against the same VM without them, measured in the same run:
 *
 * - **creation** on JSPI, each the first in a fresh process (`create-child.ts`: the modes `jspi`
 *   and `jspi-fuel`, `jspi-stack`, `jspi-nans`, `jspi-all`), the modes interleaved run by run so
 *   that a slow spell of the machine falls on all of them alike. Wall time (the target's measure),
 *   and the process's CPU time (every thread's) beside it, medians and minimums.
 * - **a long call**: `Metadata_metadata` on JSPI with the host inline (the allocator and logging
 *   answered without pausing: all of westend's imports for this call, so no pause at all), the
 *   fuel budget the largest there is, round-robin over the variants after a long warm-up; with a
 *   fresh instance per call and with `reuseGrownMemory` (no page faults of fresh memory: the
 *   code's own cost shows best). Wall and CPU time per call, medians and minimums, and the median
 *   of each round's ratio. Every variant's output is checked against the VM's without options
 *   before it is timed.
 */
import { DEFAULT_MAX_STACK_HEIGHT, type VmConfig } from '../lib/index.js';
import { MAX_FUEL } from '../lib/base/fuel-limit.js';
import { createRuntimePrototype, runVmAsync, type RuntimePrototype } from '../spec/support/substrate-harness.js';
import { child, type ChildResult } from './create.js';
import { median, type Row } from './support/stats.js';

/** The options of each variant, by name. */
const VARIANTS: readonly { readonly name: string; readonly mode: string; readonly bounds: Pick<VmConfig, 'fuel' | 'maxStackHeight' | 'canonicalizeNaNs'> }[] = [
  { name: 'none', mode: 'jspi', bounds: {} },
  { name: 'fuel', mode: 'jspi-fuel', bounds: { fuel: true } },
  { name: 'maxStackHeight', mode: 'jspi-stack', bounds: { maxStackHeight: DEFAULT_MAX_STACK_HEIGHT } },
  { name: 'canonicalizeNaNs', mode: 'jspi-nans', bounds: { canonicalizeNaNs: true } },
  { name: 'all three', mode: 'jspi-all', bounds: { fuel: true, maxStackHeight: DEFAULT_MAX_STACK_HEIGHT, canonicalizeNaNs: true } },
];

/** One creation variant: medians and minimums over its fresh processes. */
export interface BoundsCreateResult {
  readonly runtime: string;
  readonly options: string;
  readonly ms: number;
  readonly minMs: number;
  readonly cpuMs: number;
  readonly minCpuMs: number;
  /** `ms` over the median of the creation without options, and the same of the minimums and CPU times. */
  readonly x: number;
  readonly xMin: number;
  readonly xCpu: number;
  /** The median over the rounds of each round's wall-time ratio to the creation without options of the same round. */
  readonly xPaired: number;
  readonly runs: readonly ChildResult[];
}

/** One call variant: milliseconds per call. */
export interface BoundsRunResult {
  readonly runtime: string;
  readonly options: string;
  readonly memory: 'fresh instance' | 'reuseGrownMemory';
  readonly msPerCall: number;
  readonly minMsPerCall: number;
  /** The process's CPU time per call (every thread's), median. */
  readonly cpuMsPerCall: number;
  /** Over the same call without options: medians, minimums, CPU time medians. */
  readonly x: number;
  readonly xMin: number;
  readonly xCpu: number;
  /** The median over the rounds of each round's ratio (the variant's call over the call without options of the same round). */
  readonly xPaired: number;
}

/** Creation on JSPI with each option against none; each the first in a fresh process. */
export function benchBoundsCreate(runtime: string, options: { runs: number }): { results: BoundsCreateResult[]; rows: Row[] } {
  const runs = new Map(VARIANTS.map((v) => [v.name, [] as ChildResult[]]));
  // One unmeasured creation first: the operating system's file cache, not the variant, pays for
  // reading the runtime and Node.js itself.
  child(runtime, 'jspi', '');
  for (let round = 0; round < options.runs; round++) {
    for (const variant of VARIANTS) runs.get(variant.name)!.push(child(runtime, variant.mode, ''));
  }
  const stats = (name: string) => {
    const r = runs.get(name)!;
    return {
      ms: median(r.map((x) => x.ms)),
      minMs: Math.min(...r.map((x) => x.ms)),
      cpuMs: median(r.map((x) => x.cpuMs)),
      minCpuMs: Math.min(...r.map((x) => x.cpuMs)),
    };
  };
  const none = stats('none');
  const results = VARIANTS.map((v): BoundsCreateResult => {
    const s = stats(v.name);
    const mine = runs.get(v.name)!;
    const base = runs.get('none')!;
    const xPaired = median(mine.map((r, round) => r.ms / base[round]!.ms));
    return { runtime, options: v.name, ...s, x: s.ms / none.ms, xMin: s.minMs / none.minMs, xCpu: s.cpuMs / none.cpuMs, xPaired, runs: mine };
  });
  const rows: Row[] = results.map((r) => [`${runtime}: ${r.options}`, r.ms, r.x, r.minMs, r.xMin, r.cpuMs, r.xCpu, r.xPaired]);
  return { results, rows };
}

/** `Metadata_metadata` on JSPI, the host inline, with each option against none. */
export async function benchBoundsRun(runtime: string, wasm: Uint8Array, options: { runs: number; warmup: number }): Promise<{ results: BoundsRunResult[]; rows: Row[] }> {
  const input = new Uint8Array();
  const variants: { name: string; memory: BoundsRunResult['memory']; work: () => Promise<unknown> }[] = [];
  let reference: Uint8Array | null = null;
  for (const reuseGrownMemory of [false, true]) {
    for (const variant of VARIANTS) {
      let proto: RuntimePrototype = await createRuntimePrototype(wasm, { backend: 'jspi', inline: true, reuseGrownMemory, bounds: variant.bounds });
      const runOptions = variant.bounds.fuel === true ? { fuel: MAX_FUEL } : {};
      const first = await runVmAsync(proto, 'Metadata_metadata', input, runOptions);
      reference ??= first.run.output;
      if (Buffer.compare(Buffer.from(first.run.output), Buffer.from(reference)) !== 0) throw new Error(`${runtime}: ${variant.name}: the output differs from the VM's without options`);
      proto = first.runtime;
      variants.push({
        name: variant.name,
        memory: reuseGrownMemory ? 'reuseGrownMemory' : 'fresh instance',
        work: async () => (proto = (await runVmAsync(proto, 'Metadata_metadata', input, runOptions)).runtime),
      });
    }
  }
  const durations = variants.map(() => [] as number[]);
  const cpuTimes = variants.map(() => [] as number[]);
  for (let round = 0; round < options.warmup + options.runs; round++) {
    for (const [i, variant] of variants.entries()) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await variant.work();
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      if (round >= options.warmup) {
        durations[i]!.push(ms);
        cpuTimes[i]!.push((used.user + used.system) / 1000);
      }
    }
  }
  const measured = variants.map((v, i) => ({ ...v, i, ms: median(durations[i]!), minMs: Math.min(...durations[i]!), cpuMs: median(cpuTimes[i]!) }));
  const results = measured.map((m): BoundsRunResult => {
    const none = measured.find((n) => n.memory === m.memory && n.name === 'none')!;
    const paired = median(durations[m.i]!.map((d, round) => d / durations[none.i]![round]!));
    return {
      runtime,
      options: m.name,
      memory: m.memory,
      msPerCall: m.ms,
      minMsPerCall: m.minMs,
      cpuMsPerCall: m.cpuMs,
      x: m.ms / none.ms,
      xMin: m.minMs / none.minMs,
      xCpu: m.cpuMs / none.cpuMs,
      xPaired: paired,
    };
  });
  const rows: Row[] = results.map((r) => [`${runtime}: ${r.options}, ${r.memory}`, r.msPerCall, r.x, r.minMsPerCall, r.xMin, r.xCpu, r.xPaired]);
  return { results, rows };
}
