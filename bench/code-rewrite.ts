/**
 * The code rewriter's costs (`lib/transform/code-rewrite.ts`), on westend v9300:
 *
 * 1. **the rewrite itself**, each option alone and all together: in a fresh process (the first
 *    rewrite of a process is what `create()` pays: the rewriter's own code is not compiled by
 *    the JIT yet) and warm (the median of 10 in one process); wall and CPU time;
 * 2. **creation on JSPI**: `VirtualMachinePrototype.create({ backend: 'jspi' })` of the guest's
 *    bytes, and the rewrite followed by the same creation of the rewritten bytes (an upper bound
 *    for the integrated pipeline, which will scan the guest's own, smaller, bytes), each in a
 *    fresh process;
 * 3. **run time**: `Metadata_metadata` on fresh instances (the median of 9), and hot loops written
 *    for the purpose (recursive calls, memory traffic, float arithmetic), plain and rewritten.
 *
 * Usage: `npm run build:scripts && node build/bench/code-rewrite.js [--quick]`. Needs
 * `../shared/runtimes/westend-runtime-v9300.wasm`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VirtualMachinePrototype } from '../lib/index.js';
import { type CodeRewriteOptions, rewriteCode } from '../lib/transform/code-rewrite.js';
import { RuntimeRunner } from '../spec/support/rewrite-runtime.js';
import { sharedPath } from '../spec/support/shared.js';
import { runtimeWasm } from '../spec/support/substrate-harness.js';
import { wat } from '../spec/support/wat.js';
import { median, table } from './support/stats.js';

const OPTIONS: Readonly<Record<string, CodeRewriteOptions>> = {
  none: {},
  memoryBase: { memoryBase: 16 },
  canonicalizeNaNs: { canonicalizeNaNs: true },
  fuel: { fuel: true },
  maxStackHeight: { maxStackHeight: 1_000_000 },
  all: { memoryBase: 16, canonicalizeNaNs: true, fuel: true, maxStackHeight: 1_000_000 },
};

function westend(): Uint8Array {
  const path = sharedPath('runtimes/westend-runtime-v9300.wasm');
  if (path === null) throw new Error('../shared/runtimes/westend-runtime-v9300.wasm is not present');
  return runtimeWasm(new Uint8Array(readFileSync(path)));
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/** Child mode: one measurement in this fresh process, printed as JSON. */
async function childMain(what: string, option: string): Promise<void> {
  const wasm = westend();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let result: Record<string, number> = {};
  if (what === 'rewrite') {
    const out = rewriteCode(wasm, OPTIONS[option]!);
    result = { bytes: out.bytes.length };
  } else if (what === 'create') {
    await VirtualMachinePrototype.create({ moduleBytes: wasm, backend: 'jspi', symbols: () => 0 });
  } else if (what === 'rewrite+create') {
    const out = rewriteCode(wasm, OPTIONS[option]!);
    result = { rewriteMs: performance.now() - started };
    // The rewritten module imports what the rewrite added (module `i`): resolved like the others.
    await VirtualMachinePrototype.create({ moduleBytes: out.bytes, backend: 'jspi', symbols: () => 0 });
  }
  console.log(JSON.stringify({ ms: performance.now() - started, cpuMs: cpuMs(cpu), ...result }));
}

function child(what: string, option: string): Record<string, number> {
  const script = fileURLToPath(import.meta.url);
  const output = execFileSync(process.execPath, [script, '--child', what, option], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(output.trim().split('\n').pop()!) as Record<string, number>;
}

const HOT_LOOPS = `(module
  (memory (export "mem") 32)
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add end)
  ;; memory traffic: a byte-wise checksum and copy over 1 MiB, n times
  (func (export "memory") (param $n i32) (result i32) (local $i i32) (local $sum i32)
    loop $rounds
      i32.const 0 local.set $i
      loop $bytes
        local.get $i i32.const 1048576 i32.add
        local.get $i i32.load8_u local.get $sum i32.add local.tee $sum
        i32.store8
        local.get $i i32.const 1 i32.add local.tee $i i32.const 1048576 i32.lt_u br_if $bytes
      end
      local.get $n i32.const 1 i32.sub local.tee $n br_if $rounds
    end
    local.get $sum)
  ;; float arithmetic: a polynomial evaluated n times
  (func (export "float") (param $n i32) (result f64) (local $x f64) (local $acc f64)
    loop
      local.get $acc local.get $x f64.mul f64.const 1.5 f64.add local.get $x f64.sqrt f64.sub local.set $acc
      local.get $x f64.const 0.001 f64.add local.set $x
      local.get $n i32.const 1 i32.sub local.tee $n br_if 0
    end
    local.get $acc))`;

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const coldRuns = quick ? 3 : 7;
  const wasm = westend();
  console.log(`westend v9300: ${wasm.length} bytes; node ${process.version}`);

  // 1. The rewrite.
  const rewriteRows: (string | number)[][] = [];
  for (const [name, options] of Object.entries(OPTIONS)) {
    const cold = Array.from({ length: coldRuns }, () => child('rewrite', name));
    const warm: number[] = [];
    const warmCpu: number[] = [];
    let size = 0;
    for (let i = 0; i < 10; i++) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      size = rewriteCode(wasm, options).bytes.length;
      warm.push(performance.now() - started);
      warmCpu.push(cpuMs(cpu));
    }
    rewriteRows.push([
      name,
      median(cold.map((c) => c.ms!)),
      median(cold.map((c) => c.cpuMs!)),
      median(warm),
      median(warmCpu),
      size,
      size / wasm.length,
    ]);
  }
  console.log(`\n## The rewrite of westend (ms; cold: a fresh process each, median of ${coldRuns}; warm: median of 10)\n`);
  console.log(table(['options', 'cold wall', 'cold cpu', 'warm wall', 'warm cpu', 'bytes', 'x input'], rewriteRows));

  // 2. Creation on JSPI.
  const createRows: (string | number)[][] = [];
  const baseline = Array.from({ length: coldRuns }, () => child('create', 'none'));
  createRows.push(['create (no rewrite)', median(baseline.map((c) => c.ms!)), median(baseline.map((c) => c.cpuMs!)), '', 1]);
  const base = median(baseline.map((c) => c.ms!));
  for (const name of ['memoryBase', 'canonicalizeNaNs', 'fuel', 'maxStackHeight', 'all']) {
    const runs = Array.from({ length: coldRuns }, () => child('rewrite+create', name));
    const ms = median(runs.map((c) => c.ms!));
    createRows.push([`rewrite (${name}) + create`, ms, median(runs.map((c) => c.cpuMs!)), median(runs.map((c) => c.rewriteMs!)), ms / base]);
  }
  console.log(`\n## Creation on JSPI, a fresh process each (ms, median of ${coldRuns})\n`);
  console.log(table(['what', 'wall', 'cpu', 'of which rewrite', 'x create'], createRows));

  // 3. Run time.
  const runRows: (string | number)[][] = [];
  const runners = Object.entries(OPTIONS).map(([name, options]) => [name, new RuntimeRunner(wasm, name === 'none' ? {} : { rewrite: options, fuel: 10n ** 15n })] as const);
  const metadata: Record<string, number[]> = {};
  // The first rounds let the engine tier the hot functions up (Liftoff, then TurboFan): not measured.
  const warmup = quick ? 2 : 5;
  for (let round = 0; round < warmup + (quick ? 3 : 11); round++) {
    for (const [name, runner] of runners) {
      const started = performance.now();
      runner.run('Metadata_metadata', new Uint8Array());
      if (round >= warmup) (metadata[name] ??= []).push(performance.now() - started);
    }
  }
  for (const [name] of runners) runRows.push([`Metadata_metadata, ${name}`, median(metadata[name]!), median(metadata[name]!) / median(metadata['none']!)]);

  const loops = await wat(HOT_LOOPS);
  const instances = Object.entries(OPTIONS).map(([name, options]) => {
    const bytes = name === 'none' ? loops : rewriteCode(loops, { ...options, initialFuel: 10n ** 15n }).bytes;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {
      i: { fuel: () => {}, stack: () => { throw new Error('stack'); } },
    });
    return [name, instance.exports as Record<string, (n: number) => number>] as const;
  });
  for (const [loop, argument] of [['fib', 30], ['memory', 8], ['float', 5_000_000]] as const) {
    const times: Record<string, number[]> = {};
    for (let round = 0; round < warmup + (quick ? 3 : 11); round++) {
      for (const [name, exports] of instances) {
        const started = performance.now();
        exports[loop]!(argument);
        if (round >= warmup) (times[name] ??= []).push(performance.now() - started);
      }
    }
    for (const [name] of instances) runRows.push([`${loop}(${argument}), ${name}`, median(times[name]!), median(times[name]!) / median(times['none']!)]);
  }
  console.log('\n## Run time (ms, median after warm-up rounds; rounds interleave the variants)\n');
  console.log(table(['what', 'ms', 'x plain'], runRows));
}

if (process.argv[2] === '--child') await childMain(process.argv[3]!, process.argv[4]!);
else await main();
