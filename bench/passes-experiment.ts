/**
 * Experiment: which Binaryen passes after Asyncify buy back run speed, and what they cost.
 * Usage: tsx bench/passes-experiment.ts "<pass,pass>" ["<pass,pass>" ...]   ("" = none)
 * For each pass list: transform time of the westend runtime, Metadata_metadata time per call
 * (median of the last runs), and the deepest recursion that still pauses and resumes.
 */
import { readFileSync } from 'node:fs';
import { VirtualMachinePrototype, WasmValue, type Signature } from '../lib/index.js';
import { sharedPath } from '../spec/support/shared.js';
import { runVm, runtimeWasm } from '../spec/support/substrate-harness.js';
import { wat } from '../spec/support/wat.js';

const westend = runtimeWasm(readFileSync(sharedPath('runtimes/westend-runtime-v9300.wasm')!));
const recursive = await wat(`(module
  (import "env" "leaf" (func $leaf (result i32)))
  (func $rec (export "rec") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $leaf))
      (else (i32.add (local.get $n) (call $rec (i32.sub (local.get $n) (i32.const 1))))))))`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function depth(postPasses: string[]): Promise<number> {
  let proto = await VirtualMachinePrototype._createTuned({ moduleBytes: recursive, symbols: () => 0, requireMemory: false }, { postPasses });
  const ok = (n: number): boolean => {
    const vm = proto.prepare().start('rec', [WasmValue.i32(n)]);
    let o = vm.run(null);
    let good = false;
    if (o.type === 'interrupted') {
      o = vm.run(WasmValue.i32(7));
      good = o.type === 'finished' && o.value!.value === (((n * (n + 1)) / 2 + 7) | 0);
    }
    proto = vm.intoPrototype();
    return good;
  };
  let lo = 1;
  let hi = 1 << 18;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

for (const arg of process.argv.slice(2)) {
  const postPasses = arg.split(',').filter(Boolean);
  const names: string[] = [];
  const t0 = performance.now();
  let proto = await VirtualMachinePrototype._createTuned(
    { moduleBytes: westend, symbols: (_m: string, n: string, _s: Signature) => names.push(n) - 1 },
    { postPasses },
  );
  const createMs = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < 12; i++) {
    const t = performance.now();
    const r = runVm(proto, names, 'Metadata_metadata', new Uint8Array());
    times.push(performance.now() - t);
    proto = r.proto;
  }
  console.log(
    JSON.stringify({ postPasses: arg || '(none)', createMs: Math.round(createMs), metadataMs: +median(times.slice(4)).toFixed(1), depth: await depth(postPasses) }),
  );
}
