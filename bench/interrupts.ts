/**
 * Micro-benchmarks of one interrupt round trip: a guest loop calls a trivial import; each call
 * is answered (a) synchronously in plain WebAssembly (the floor), (b) by the VM on Asyncify
 * through an interrupt (`run()` returns, the host calls `run(value)`), (b') the same through
 * `runAsync`, (c) by the VM inline, (d) by `asyncify-wasm` (the npm package: Asyncify with the
 * unwind data in the guest's memory, each import answered by a resolved Promise), (e) by the VM
 * on JSPI through `runAsync`, and (f) by a minimal hand-written JSPI loop (one `Suspending`
 * import, one `promising` export, one promise per pause: the floor for JSPI). Also how the round
 * trip grows when the import is called at the bottom of a deeper stack.
 */
import binaryen from 'binaryen';
import * as asyncifyWasm from 'asyncify-wasm';
import { VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { wat } from '../spec/support/wat.js';
import { median, type Row } from './support/stats.js';

const GUEST = `(module
  (import "env" "tick" (func $tick (param i32) (result i32)))
  (memory (export "memory") 1)
  (func $loop (export "loop") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call $tick (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $acc))
  (func $deep (export "deep") (param $d i32) (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $d))
      (then (call $loop (local.get $n)))
      (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get $d) (i32.const 1)) (local.get $n)))))))`;

/** One measurement: nanoseconds per import call. */
export interface InterruptResult {
  readonly how: string;
  readonly depth: number;
  readonly nsPerCall: number;
}

const ONE = WasmValue.i32(1);

/** Median over `rounds` of the time per call of `run(calls)`, after a warm-up round. */
function perCall(run: (calls: number) => void, calls: number, rounds: number): number {
  run(calls);
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    run(calls);
    samples.push(((performance.now() - started) * 1e6) / calls);
  }
  return median(samples);
}

async function perCallAsync(run: (calls: number) => Promise<void>, calls: number, rounds: number): Promise<number> {
  await run(calls);
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await run(calls);
    samples.push(((performance.now() - started) * 1e6) / calls);
  }
  return median(samples);
}

/** Runs the interrupt micro-benchmarks. */
export async function benchInterrupts(options: { rounds: number }): Promise<{ results: InterruptResult[]; rows: Row[] }> {
  const bytes = await wat(GUEST);
  const results: InterruptResult[] = [];
  const depths = [0, 10, 100, 1000];

  // (a) plain WebAssembly, synchronous import.
  const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { env: { tick: () => 1 } });
  const plainDeep = plain.exports['deep'] as (d: number, n: number) => number;
  for (const depth of depths) {
    results.push({ how: 'plain V8, synchronous import', depth, nsPerCall: perCall((n) => void plainDeep(depth, n), 1_000_000, options.rounds) });
  }

  // (b) the VM, every call an interrupt.
  let proto = await VirtualMachinePrototype.create({ moduleBytes: bytes, symbols: () => 0 });
  for (const depth of depths) {
    const calls = depth >= 1000 ? 20_000 : 100_000;
    const ns = perCall(
      (n) => {
        const vm = proto.prepare().start('deep', [WasmValue.i32(depth), WasmValue.i32(n)]);
        let outcome = vm.run(null);
        while (outcome.type === 'interrupted') outcome = vm.run(ONE);
        proto = vm.intoPrototype();
      },
      calls,
      options.rounds,
    );
    results.push({ how: 'this VM, every call an interrupt', depth, nsPerCall: ns });
  }

  // (c) the VM, the import answered inline.
  let inline = await VirtualMachinePrototype.create({ moduleBytes: bytes, symbols: () => 0, inlineImports: () => () => 1 });
  for (const depth of depths) {
    const ns = perCall(
      (n) => {
        const vm = inline.prepare().start('deep', [WasmValue.i32(depth), WasmValue.i32(n)]);
        vm.run(null);
        inline = vm.intoPrototype();
      },
      1_000_000,
      options.rounds,
    );
    results.push({ how: 'this VM, import answered inline', depth, nsPerCall: ns });
  }

  // (d) asyncify-wasm: the guest instrumented with Binaryen's default Asyncify (unwind data in
  // the guest's memory, where asyncify-wasm puts it), each import answered by a Promise.
  const module = binaryen.readBinary(bytes);
  binaryen.setOptimizeLevel(0);
  module.runPasses(['asyncify']);
  const instrumented = module.emitBinary();
  module.dispose();
  const { instance } = (await asyncifyWasm.instantiate(instrumented as Uint8Array<ArrayBuffer>, {
    env: { tick: () => Promise.resolve(1) },
  })) as unknown as { instance: WebAssembly.Instance };
  const asyncDeep = instance.exports['deep'] as unknown as (d: number, n: number) => Promise<number>;
  // asyncify-wasm keeps the paused stack in 1,008 bytes of the guest's memory: deeper stacks
  // overflow it (and corrupt the guest's memory on the way), so only shallow ones are measured.
  for (const depth of depths.filter((d) => d <= 10)) {
    const calls = depth >= 1000 ? 5_000 : 20_000;
    results.push({
      how: 'asyncify-wasm, every call a Promise',
      depth,
      nsPerCall: await perCallAsync(async (n) => void (await asyncDeep(depth, n)), calls, options.rounds),
    });
  }

  // (b') the VM on Asyncify through runAsync (a promise job per step).
  let viaAsync = await VirtualMachinePrototype.create({ moduleBytes: bytes, symbols: () => 0 });
  for (const depth of depths) {
    const calls = depth >= 1000 ? 10_000 : 50_000;
    const ns = await perCallAsync(
      async (n) => {
        const vm = viaAsync.prepare().start('deep', [WasmValue.i32(depth), WasmValue.i32(n)]);
        let outcome = await vm.runAsync(null);
        while (outcome.type === 'interrupted') outcome = await vm.runAsync(ONE);
        viaAsync = vm.intoPrototype();
      },
      calls,
      options.rounds,
    );
    results.push({ how: 'this VM on Asyncify, runAsync', depth, nsPerCall: ns });
  }

  // (e) the VM on JSPI: every call an interrupt, through runAsync.
  let jspi = await VirtualMachinePrototype.create({ moduleBytes: bytes, symbols: () => 0, backend: 'jspi' });
  for (const depth of depths) {
    const calls = depth >= 1000 ? 10_000 : 50_000;
    const ns = await perCallAsync(
      async (n) => {
        const vm = jspi.prepare().start('deep', [WasmValue.i32(depth), WasmValue.i32(n)]);
        let outcome = await vm.runAsync(null);
        while (outcome.type === 'interrupted') outcome = await vm.runAsync(ONE);
        jspi = vm.intoPrototype();
      },
      calls,
      options.rounds,
    );
    results.push({ how: 'this VM on JSPI, runAsync', depth, nsPerCall: ns });
  }

  // (f) a minimal hand-written JSPI loop: what any JSPI host must do at least.
  for (const depth of depths) {
    const calls = depth >= 1000 ? 10_000 : 50_000;
    results.push({ how: 'minimal JSPI loop (hand-written)', depth, nsPerCall: await perCallAsync((n) => minimalJspi(bytes, depth, n), calls, options.rounds) });
  }

  const floor = results.find((r) => r.how.startsWith('plain') && r.depth === 0)!.nsPerCall;
  const rows: Row[] = results.map((r) => [r.how, r.depth, r.nsPerCall, r.nsPerCall / floor]);
  return { results, rows };
}

let minimal: { deep: (d: number, n: number) => Promise<unknown>; resume: { next: ((v: number) => void) | null; paused: (() => void) | null } } | null = null;

/**
 * Runs `deep(depth, calls)` with a hand-written JSPI driver: each import returns a promise, the
 * host learns of the pause through one more promise, and resumes by resolving the first. The
 * same shape as the library's driver with nothing else: no checks, no typed values, no states.
 */
async function minimalJspi(bytes: Uint8Array, depth: number, calls: number): Promise<void> {
  if (minimal === null) {
    const state: { next: ((v: number) => void) | null; paused: (() => void) | null } = { next: null, paused: null };
    const api = WebAssembly as unknown as {
      Suspending: new (f: () => Promise<number>) => unknown;
      promising: (f: unknown) => (d: number, n: number) => Promise<unknown>;
    };
    const tick = new api.Suspending(
      () =>
        new Promise<number>((resolve) => {
          state.next = resolve;
          state.paused!();
        }),
    );
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { env: { tick: tick as WebAssembly.ImportValue } });
    minimal = { deep: api.promising(instance.exports['deep']), resume: state };
  }
  const { deep, resume } = minimal;
  let done = false;
  let pause = new Promise<void>((resolve) => (resume.paused = resolve));
  const finished = deep(depth, calls).then(() => {
    done = true;
    resume.paused!();
  });
  for (;;) {
    await pause;
    if (done) break;
    pause = new Promise<void>((resolve) => (resume.paused = resolve));
    resume.next!(1);
  }
  await finished;
}
