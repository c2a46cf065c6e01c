/**
 * What a snapshot of a real paused call costs: westend's `Metadata_metadata`, every import an
 * interrupt on Asyncify (the minimal host of `spec/support/substrate-harness.ts`), paused at its
 * 10,000th interrupt. Measured, in one process, round-robin:
 *
 * - `vm.snapshot()`: its size and its time;
 * - restoring it: a new instance of the prototype (`cloneAsync()`) and
 *   `VirtualMachine.restore()` into it;
 * - the floor a restore is compared with: the same new instance and copying the paused call's
 *   memory into it (`growMemory` + `writeMemory`), nothing else.
 *
 * The restored machine is checked to finish with the uninterrupted call's output first.
 */
import { VirtualMachine, type VirtualMachinePrototype } from '../lib/index.js';
import { createRuntimePrototype, runVm, startSteps } from '../spec/support/substrate-harness.js';
import { type Row, median } from './support/stats.js';
import { sameBytes } from './support/bytes.js';

/** One measurement of the snapshot benchmark. */
export interface SnapshotResult {
  readonly runtime: string;
  readonly what: string;
  readonly value: number;
  readonly unit: 'ms' | 'bytes' | 'x' | 'pages';
}

/** The interrupt the call is paused at. */
const PAUSE_AT = 10_000;

/** Runs the benchmark on `wasm` (westend's raw module). */
export async function benchSnapshot(runtimeName: string, wasm: Uint8Array, options: { runs: number; warmup: number }): Promise<{ results: SnapshotResult[]; rows: Row[] }> {
  const runtime = await createRuntimePrototype(wasm, { backend: 'asyncify' });
  const template: VirtualMachinePrototype = runtime.proto.clone();
  const expected = runVm({ ...runtime, proto: template.clone() }, 'Metadata_metadata', new Uint8Array()).run.output;

  const { vm, answer, output } = startSteps(runtime, 'Metadata_metadata', new Uint8Array());
  let outcome = vm.run(null);
  for (let interrupts = 1; interrupts < PAUSE_AT; interrupts++) {
    if (outcome.type !== 'interrupted') throw new Error(`the call ended before interrupt ${PAUSE_AT}`);
    outcome = vm.run(answer(vm, outcome.id, outcome.params));
  }
  if (outcome.type !== 'interrupted') throw new Error(`the call ended before interrupt ${PAUSE_AT}`);
  const bytes = vm.snapshot();
  const pages = vm.memorySize();
  const memory = vm.readMemory(0, pages * 65536);

  // Checked once: the restored machine finishes as the uninterrupted call (the allocator's state
  // is left as the original's: the original is abandoned, never resumed).
  {
    const restored = await VirtualMachine.restore(await template.cloneAsync(), bytes);
    let step = restored.run(answer(restored, outcome.id, outcome.params));
    while (step.type === 'interrupted') step = restored.run(answer(restored, step.id, step.params));
    if (step.type !== 'finished' || !sameBytes(output(restored, step.value!.value as bigint), expected)) {
      throw new Error('the restored call did not finish with the uninterrupted output');
    }
    restored.intoPrototype();
  }

  const snapshotMs: number[] = [];
  const restoreMs: number[] = [];
  const floorMs: number[] = [];
  for (let round = 0; round < options.warmup + options.runs; round++) {
    let started = performance.now();
    vm.snapshot();
    const snapshotTime = performance.now() - started;

    started = performance.now();
    const restored = await VirtualMachine.restore(await template.cloneAsync(), bytes);
    const restoreTime = performance.now() - started;
    restored.intoPrototype();

    started = performance.now();
    const prepare = (await template.cloneAsync()).prepare();
    prepare.growMemory(pages - prepare.memorySize());
    prepare.writeMemory(0, memory);
    const floorTime = performance.now() - started;
    prepare.intoPrototype();

    if (round >= options.warmup) {
      snapshotMs.push(snapshotTime);
      restoreMs.push(restoreTime);
      floorMs.push(floorTime);
    }
  }
  vm.intoPrototype();

  const results: SnapshotResult[] = [
    { runtime: runtimeName, what: 'memory at the pause', value: pages, unit: 'pages' },
    { runtime: runtimeName, what: 'snapshot size', value: bytes.length, unit: 'bytes' },
    { runtime: runtimeName, what: 'vm.snapshot()', value: median(snapshotMs), unit: 'ms' },
    { runtime: runtimeName, what: 'cloneAsync() + VirtualMachine.restore()', value: median(restoreMs), unit: 'ms' },
    { runtime: runtimeName, what: 'cloneAsync() + copying the memory (floor)', value: median(floorMs), unit: 'ms' },
    { runtime: runtimeName, what: 'restore / floor', value: median(restoreMs) / median(floorMs), unit: 'x' },
  ];
  return { results, rows: results.map((r) => [`${r.runtime}: ${r.what}`, r.value, r.unit]) };
}
