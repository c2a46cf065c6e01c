/**
 * Per-call cost of `Metadata_metadata` of a real runtime, side by side in one process:
 * plain WebAssembly with synchronous imports (the limit), this VM on each backend with every
 * import an interrupt and with the host answered inline, the library's Substrate layer
 * (`runtimeCall`, its own inline set), and chopsticks-executor's `run_task` (smoldot's executor
 * with the wasmi interpreter, compiled to wasm: what light clients in JavaScript run today).
 *
 * Minimal hand-written JSPI drivers over the same host, without the library, are the floor of
 * the JSPI rows: what pausing at every import costs the engine itself, driven by an `async` loop
 * (as through `runAsync`) or by callbacks (as `runToCompletion` drives).
 *
 * Two ways to start each call over, each with its own plain baseline:
 * - a fresh instance per call (the VM through `intoPrototype()`, plain V8 through
 *   `new WebAssembly.Instance`): the call's memory growth lands on pages the operating system
 *   maps one fault at a time as they are first touched;
 * - the same instance, its memory put back but not shrunk (the VM with
 *   `VmConfig.reuseGrownMemory`, an option of the Substrate layer; plain V8 by hand): no new pages.
 * Every side's output is checked against plain V8's.
 */
import { run_task } from '@acala-network/chopsticks-executor';
import { MemoryArtifactCache } from '../lib/index.js';
import { MapStorage, SubstrateRuntime, runtimeCall } from '../lib/substrate/index.js';
import { createRuntimePrototype, minimalJspiRunner, plainRunner, runVm, runVmAsync, type RuntimePrototype } from '../spec/support/substrate-harness.js';
import { type Row, median } from './support/stats.js';
import { sameBytes } from './support/bytes.js';

/** One measurement: milliseconds per call. */
export interface MetadataResult {
  readonly runtime: string;
  readonly how: string;
  readonly msPerCall: number;
  readonly hostCalls: number;
}

const NO_STORAGE = {
  getStorage: async () => undefined,
  getNextKey: async () => undefined,
  offchainGetStorage: async () => undefined,
  offchainTimestamp: async () => 0,
  offchainRandomSeed: async () => `0x${'00'.repeat(32)}`,
  offchainSubmitTransaction: async () => false,
};

/**
 * Runs the benchmark for one runtime. `code` is what chopsticks is given (the on-chain code,
 * possibly compressed); `wasm` is the raw module.
 */
export async function benchMetadata(
  runtimeName: string,
  code: Uint8Array,
  wasm: Uint8Array,
  options: { runs: number; warmup: number },
): Promise<{ results: MetadataResult[]; rows: Row[]; createMs: number }> {
  const input = new Uint8Array();
  /** Every way of making the call: what it is, one call, its host calls, and its baseline's name. */
  const variants: { how: string; work: () => unknown; hostCalls: number; baseline: string; every: number }[] = [];

  const plain = await plainRunner(wasm);
  const reference = plain('Metadata_metadata', input);
  const plainFresh = 'plain V8, synchronous imports, a fresh instance per call';
  variants.push({ how: plainFresh, work: () => plain('Metadata_metadata', input), hostCalls: reference.totalCalls, baseline: plainFresh, every: 1 });
  const plainReused = await plainRunner(wasm, { reuseInstance: true });
  const plainKept = 'plain V8, synchronous imports, one instance, memory put back';
  variants.push({ how: plainKept, work: () => plainReused('Metadata_metadata', input), hostCalls: reference.totalCalls, baseline: plainKept, every: 1 });

  // The floor of every JSPI row: a minimal hand-written JSPI driver, no library, the same host.
  for (const [reuseInstance, style] of [[false, 'loop'], [true, 'loop'], [false, 'callback'], [true, 'callback']] as const) {
    const driver = await minimalJspiRunner(wasm, { reuseInstance, style });
    const how = `minimal hand-written JSPI ${style === 'loop' ? 'loop' : 'callbacks'}, every import an interrupt, ${reuseInstance ? 'one instance, memory put back' : 'a fresh instance per call'}`;
    const run = await driver('Metadata_metadata', input);
    if (!sameBytes(run.output, reference.output) || run.totalCalls !== reference.totalCalls) {
      throw new Error(`${runtimeName}: ${how}: the output differs from plain V8's`);
    }
    variants.push({ how, work: () => driver('Metadata_metadata', input), hostCalls: reference.totalCalls, baseline: reuseInstance ? plainKept : plainFresh, every: 1 });
  }

  const same = (run: { output: Uint8Array; totalCalls: number }, what: string): void => {
    if (!sameBytes(run.output, reference.output) || run.totalCalls !== reference.totalCalls) {
      throw new Error(`${runtimeName}: ${what}: the output differs from plain V8's`);
    }
  };
  let createMs = 0;
  // The grown-memory variants are the same modules: the second Asyncify creation of each is a
  // cache hit rather than another transform of seconds. One cache per routing: the cache key
  // does not tell inline imports from pausing ones (a mismatched entry is transformed again).
  const caches = [new MemoryArtifactCache(), new MemoryArtifactCache()];
  for (const reuseGrownMemory of [false, true]) {
    const suffix = reuseGrownMemory ? ', grown memory reused' : '';
    const baseline = reuseGrownMemory ? plainKept : plainFresh;
    for (const inline of [false, true]) {
      const mode = inline ? 'allocator and logging inline' : 'every import an interrupt';
      const hostCalls = inline ? 0 : reference.totalCalls;
      const createStarted = performance.now();
      let asyncify: RuntimePrototype = await createRuntimePrototype(wasm, { inline, reuseGrownMemory, cache: caches[inline ? 1 : 0]! });
      if (!inline && !reuseGrownMemory) createMs = performance.now() - createStarted;
      const first = runVm(asyncify, 'Metadata_metadata', input);
      same(first.run, `Asyncify, ${mode}`);
      asyncify = first.runtime;
      variants.push({ how: `Asyncify, ${mode}${suffix}`, work: () => (asyncify = runVm(asyncify, 'Metadata_metadata', input).runtime), hostCalls, baseline, every: 1 });
      // JSPI: no transform; each pause suspends the engine's stack, driven through runAsync.
      let jspi: RuntimePrototype = await createRuntimePrototype(wasm, { backend: 'jspi', inline, reuseGrownMemory });
      const firstJspi = await runVmAsync(jspi, 'Metadata_metadata', input);
      same(firstJspi.run, `JSPI, ${mode}`);
      jspi = firstJspi.runtime;
      variants.push({
        how: `JSPI, ${mode}${suffix}`,
        work: async () => (jspi = (await runVmAsync(jspi, 'Metadata_metadata', input)).runtime),
        hostCalls,
        baseline,
        every: 1,
      });
      if (!inline) {
        // The same through the library's own loop, runToCompletion (the README's first example).
        let driven: RuntimePrototype = await createRuntimePrototype(wasm, { backend: 'jspi', reuseGrownMemory });
        const firstDriven = await runVmAsync(driven, 'Metadata_metadata', input, { drive: 'runToCompletion' });
        same(firstDriven.run, `JSPI, ${mode}, runToCompletion`);
        driven = firstDriven.runtime;
        variants.push({
          how: `JSPI, ${mode}, runToCompletion${suffix}`,
          work: async () => (driven = (await runVmAsync(driven, 'Metadata_metadata', input, { drive: 'runToCompletion' })).runtime),
          hostCalls,
          baseline,
          every: 1,
        });
      }
    }
  }

  // The library's Substrate layer as a user runs it: its host functions (allocator, logging,
  // hashing, ...) inline, storage reads pausing (none answered); by default (a memory of the
  // initial size for every call) and with reuseGrownMemory.
  const storage = new MapStorage();
  for (const reuseGrownMemory of [false, true]) {
    const substrate = await SubstrateRuntime.create({ code, backend: 'jspi', reuseGrownMemory });
    const layerCall = async () => (await runtimeCall(substrate, 'Metadata_metadata', input, { storage })).output;
    if (!sameBytes(await layerCall(), reference.output)) throw new Error(`${runtimeName}: the Substrate layer's output differs`);
    variants.push({
      how: `the Substrate layer: runtimeCall on JSPI, its inline set${reuseGrownMemory ? ', reuseGrownMemory' : ''}`,
      work: layerCall,
      hostCalls: 0,
      baseline: reuseGrownMemory ? plainKept : plainFresh,
      every: 1,
    });
  }

  const wasmHex = `0x${Buffer.from(code).toString('hex')}`;
  let taskId = 0;
  const chopsticks = async (): Promise<Uint8Array> => {
    const response = (await run_task(
      {
        id: taskId++,
        wasm: wasmHex,
        calls: [['Metadata_metadata', ['0x']]],
        mockSignatureHost: false,
        allowUnresolvedImports: false,
        runtimeLogLevel: 0,
        storageProofSize: 0,
      },
      NO_STORAGE as never,
    )) as { Call?: { result: string }; Error?: string };
    if (response.Call === undefined) throw new Error(`chopsticks-executor: ${response.Error}`);
    return Uint8Array.from(Buffer.from(response.Call.result.slice(2), 'hex'));
  };
  if (!sameBytes(await chopsticks(), reference.output)) throw new Error(`${runtimeName}: chopsticks' output differs`);
  const chopsticksHow = 'chopsticks-executor run_task (smoldot + wasmi)';
  // At 70-200 ms a call, one round in four.
  variants.push({ how: chopsticksHow, work: chopsticks, hostCalls: reference.totalCalls, baseline: plainFresh, every: 4 });

  // Round-robin: each round makes one call of every variant, so that a slow spell of the
  // machine (these are shared) falls on all of them alike rather than on whichever ran then.
  const durations = new Map(variants.map((v) => [v.how, [] as number[]]));
  for (let round = 0; round < options.warmup + options.runs; round++) {
    for (const variant of variants) {
      if (round % variant.every !== 0) continue;
      const started = performance.now();
      await variant.work();
      if (round >= options.warmup) durations.get(variant.how)!.push(performance.now() - started);
    }
  }
  const results: MetadataResult[] = variants.map((v) => ({
    runtime: runtimeName,
    how: v.how,
    msPerCall: median(durations.get(v.how)!),
    hostCalls: v.hostCalls,
  }));
  const ms = (how: string): number => results.find((r) => r.how === how)!.msPerCall;
  const rows: Row[] = variants.map((v) => [`${runtimeName}: ${v.how}`, ms(v.how), ms(v.how) / ms(v.baseline), ms(chopsticksHow) / ms(v.how)]);
  return { results, rows, createMs };
}
