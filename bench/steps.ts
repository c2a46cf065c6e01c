/**
 * What the library adds to every interrupt, against the least a host can do without it: a
 * real runtime's `Metadata_metadata` with every import an interrupt, the grown memory reused
 * (so that page faults do not drown the difference), driven by `runToCompletion` on JSPI, and
 * by a minimal hand-written JSPI driver of the same shape (callbacks, one promise job per
 * pause) with no library at all: the floor. Same host, same runtime, rounds interleaved so that
 * a slow spell of the machine falls on both alike. Every side's output is checked against plain
 * V8's.
 *
 * Time is the process's CPU time (`process.cpuUsage()`, user + system) per call, not the wall
 * clock: on a shared machine a call waits for a core as long as others hold it, and CPU time
 * leaves that wait out (measured here: wall-clock medians of the floor moved 2.7x between two
 * runs while other work ran, CPU-time medians by a few percent).
 */
import { createRuntimePrototype, minimalJspiRunner, plainRunner, runVmAsync, type RuntimePrototype } from '../spec/support/substrate-harness.js';
import { type Row, median } from './support/stats.js';
import { sameBytes } from './support/bytes.js';

/** One runtime's measurement. */
export interface StepsResult {
  readonly runtime: string;
  readonly interrupts: number;
  /** CPU milliseconds per call: the hand-written floor. */
  readonly floorMs: number;
  /** CPU milliseconds per call: `runToCompletion` on JSPI. */
  readonly runToCompletionMs: number;
  /** `runToCompletionMs / floorMs`. */
  readonly ratio: number;
  /** What the library adds per interrupt, in nanoseconds. */
  readonly addedNsPerInterrupt: number;
}

/** Measures one runtime (`wasm`: the raw module). */
export async function benchSteps(runtimeName: string, wasm: Uint8Array, options: { runs: number; warmup: number }): Promise<{ result: StepsResult; rows: Row[] }> {
  const input = new Uint8Array();
  const reference = (await plainRunner(wasm))('Metadata_metadata', input);
  const floor = await minimalJspiRunner(wasm, { reuseInstance: true, style: 'callback' });
  let vm: RuntimePrototype = await createRuntimePrototype(wasm, { backend: 'jspi', reuseGrownMemory: true });
  const check = (run: { output: Uint8Array; totalCalls: number }, what: string): void => {
    if (!sameBytes(run.output, reference.output) || run.totalCalls !== reference.totalCalls) {
      throw new Error(`${runtimeName}: ${what}: the output differs from plain V8's`);
    }
  };
  check(await floor('Metadata_metadata', input), 'the floor');
  const first = await runVmAsync(vm, 'Metadata_metadata', input, { drive: 'runToCompletion' });
  check(first.run, 'runToCompletion');
  vm = first.runtime;

  const floorTimes: number[] = [];
  const vmTimes: number[] = [];
  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  for (let round = 0; round < options.warmup + options.runs; round++) {
    let started = process.cpuUsage();
    await floor('Metadata_metadata', input);
    if (round >= options.warmup) floorTimes.push(cpuMs(started));
    started = process.cpuUsage();
    vm = (await runVmAsync(vm, 'Metadata_metadata', input, { drive: 'runToCompletion' })).runtime;
    if (round >= options.warmup) vmTimes.push(cpuMs(started));
  }
  const floorMs = median(floorTimes);
  const runToCompletionMs = median(vmTimes);
  const result: StepsResult = {
    runtime: runtimeName,
    interrupts: reference.totalCalls,
    floorMs,
    runToCompletionMs,
    ratio: runToCompletionMs / floorMs,
    addedNsPerInterrupt: ((runToCompletionMs - floorMs) * 1e6) / reference.totalCalls,
  };
  return {
    result,
    rows: [[`${runtimeName} (${reference.totalCalls} interrupts)`, floorMs, runToCompletionMs, result.ratio, result.addedNsPerInterrupt]],
  };
}
