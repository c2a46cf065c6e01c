/**
 * Experiment: where a JSPI creation with fuel, the stack limit and canonical NaNs spends its
 * time, first in a fresh process. Usage: node build/bench/bounds-phases-experiment.js [runs]
 * Each run is a fresh process (this script again, with `--child`) doing, in turn and not
 * overlapped: loading the rewriter's module, the engine's compilation of the guest's bytes (what
 * a creation without options compiles; with the options it still runs, to validate them), the
 * rewrite (cold: the first of the process), the compilation of the rewritten bytes, then the
 * same rewrite again (warm). Prints the minimum over the runs of each phase's wall and CPU time
 * (the process's, every thread's), in milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_STACK_HEIGHT } from '../lib/index.js';
import { sharedPath } from '../spec/support/shared.js';
import { runtimeWasm } from '../spec/support/substrate-harness.js';

type Phases = Record<string, { wall: number; cpu: number }>;

if (process.argv.includes('--child')) {
  const wasm = runtimeWasm(readFileSync(sharedPath('runtimes/westend-runtime-v9300.wasm')!)) as Uint8Array<ArrayBuffer>;
  const phases: Phases = {};
  const step = async <T>(name: string, work: () => T | Promise<T>): Promise<T> => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const result = await work();
    const used = process.cpuUsage(cpu);
    phases[name] = { wall: performance.now() - started, cpu: (used.user + used.system) / 1000 };
    return result;
  };
  const options = { fuel: true, maxStackHeight: DEFAULT_MAX_STACK_HEIGHT, canonicalizeNaNs: true, offsetMap: false };
  const { rewriteForVm } = await step('load the rewriter', () => import('../lib/load/bounds-rewrite.js'));
  await step('compile the guest', () => WebAssembly.compile(wasm));
  const rewritten = await step('rewrite (cold)', () => rewriteForVm(wasm, options));
  await step('compile the rewritten', () => WebAssembly.compile(rewritten.bytes as Uint8Array<ArrayBuffer>));
  await step('rewrite (warm)', () => rewriteForVm(wasm, options));
  console.log(JSON.stringify({ phases, growth: rewritten.bytes.length / wasm.length }));
} else {
  const runs = Number(process.argv[2] ?? 7);
  const script = fileURLToPath(import.meta.url);
  const all: { phases: Phases; growth: number }[] = [];
  for (let i = 0; i < runs; i++) all.push(JSON.parse(execFileSync(process.execPath, [script, '--child'], { encoding: 'utf8' }).trim().split('\n').pop()!));
  const names = Object.keys(all[0]!.phases);
  const min = (name: string, of: 'wall' | 'cpu'): number => Math.min(...all.map((r) => r.phases[name]![of]));
  for (const name of names) console.log(`${name.padEnd(24)} wall ${min(name, 'wall').toFixed(0).padStart(5)} ms   CPU ${min(name, 'cpu').toFixed(0).padStart(5)} ms`);
  console.log(`rewritten size: ${all[0]!.growth.toFixed(2)}x the guest's (${runs} fresh processes, minimums)`);
}
