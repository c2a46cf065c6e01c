/**
 * The browser benchmark's page (`npm run bench -- --browsers`, see `bench/browsers.ts`): a
 * runtime's `Metadata_metadata` with every import an interrupt, on the page's main thread, by
 * the same harness as Node.js's benchmark (`spec/support/substrate-harness.ts`: Substrate's
 * allocator, logging off, the same host on every side), round-robin over the variants:
 *
 * - plain WebAssembly with synchronous imports (the baseline);
 * - the minimal hand-written JSPI drivers, no library (an `async` loop, and callbacks): what
 *   pausing at every import costs the engine itself;
 * - the VM on JSPI, through a loop over `runAsync` and through `runToCompletion`;
 * - the VM on Asyncify, from an artifact made by Node.js, through the synchronous `run()` (its
 *   paused stack in single memory where the engine has no multi-memory).
 *
 * Every call starts over on one instance with its memory put back (`reuseInstance` by hand;
 * `reuseGrownMemory` for the VM): no page faults of fresh memory in the numbers, and no
 * synchronous instantiation, which Chromium refuses on a page's main thread for modules over
 * 8 MB (westend instrumented is 12 MB). Every side's output is checked against plain's first.
 */
import type { ArtifactCache } from 'resumable-wasm';
import {
  type RuntimePrototype,
  createRuntimePrototype,
  minimalJspiRunner,
  plainRunner,
  runVm,
  runVmAsync,
} from '../../spec/support/substrate-harness.js';

/** One variant's result. */
export interface VariantResult {
  readonly how: string;
  /** Median milliseconds per call. */
  readonly msPerCall: number;
  /** Every measured call, in milliseconds. */
  readonly samples: readonly number[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Measures every variant on the raw module at `wasmUrl`: `warmup` unmeasured rounds, then
 * `rounds` measured ones, each round one call of every variant in turn. `artifactUrl(key)` is
 * where the Asyncify artifact of a cache key is served (404 where Node.js made none for it).
 * Variants whose backend the engine lacks are left out, and said so in `missing`.
 */
export async function metadataBench(request: { wasmUrl: string; warmup: number; rounds: number; artifactPrefix: string; multiMemory: boolean }): Promise<{
  hostCalls: number;
  results: VariantResult[];
  missing: string[];
}> {
  const wasm = await fetchBytes(request.wasmUrl);
  const input = new Uint8Array();
  const entry = 'Metadata_metadata';
  const missing: string[] = [];
  const plain = await plainRunner(wasm, { reuseInstance: true });
  const reference = plain(entry, input);
  const check = (output: Uint8Array, how: string): void => {
    if (!same(output, reference.output)) throw new Error(`${how}: the output differs from plain's`);
  };
  const variants: { how: string; work: () => unknown }[] = [{ how: 'plain', work: () => plain(entry, input) }];
  const jspi = typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === 'function';
  if (jspi) {
    for (const style of ['loop', 'callback'] as const) {
      const driver = await minimalJspiRunner(wasm, { reuseInstance: true, style });
      const how = `minimal JSPI ${style === 'loop' ? 'loop' : 'callbacks'} (no library)`;
      check((await driver(entry, input)).output, how);
      variants.push({ how, work: () => driver(entry, input) });
    }
    for (const drive of ['runAsync', 'runToCompletion'] as const) {
      let runtime: RuntimePrototype = await createRuntimePrototype(wasm, { backend: 'jspi', reuseGrownMemory: true });
      const first = await runVmAsync(runtime, entry, input, { drive });
      const how = `VM on JSPI, ${drive === 'runAsync' ? 'a runAsync loop' : 'runToCompletion'}`;
      check(first.run.output, how);
      runtime = first.runtime;
      variants.push({ how, work: async () => (runtime = (await runVmAsync(runtime, entry, input, { drive })).runtime) });
    }
  } else {
    missing.push('JSPI (no WebAssembly.Suspending)');
  }
  {
    // The artifact Node.js made for this very configuration (the paused stack placed where this
    // engine can keep it: a second memory, or single memory without multi-memory): the cache key says which.
    const cache: ArtifactCache = {
      get: async (key) => {
        const response = await fetch(`${request.artifactPrefix}${key}`);
        return response.ok ? new Uint8Array(await response.arrayBuffer()) : undefined;
      },
      set: async () => undefined,
    };
    let runtime: RuntimePrototype = await createRuntimePrototype(wasm, { backend: 'asyncify', reuseGrownMemory: true, cache });
    const first = runVm(runtime, entry, input);
    check(first.run.output, 'VM on Asyncify');
    runtime = first.runtime;
    const stack = request.multiMemory ? 'second-memory' : 'single-memory';
    if (runtime.proto.asyncifyStack !== stack) throw new Error(`VM on Asyncify: the paused stack in ${runtime.proto.asyncifyStack}, expected ${stack}`);
    variants.push({ how: 'VM on Asyncify, run()', work: () => (runtime = runVm(runtime, entry, input).runtime) });
  }

  const samples = new Map(variants.map((v) => [v.how, [] as number[]]));
  for (let round = 0; round < request.warmup + request.rounds; round++) {
    for (const variant of variants) {
      const started = performance.now();
      await variant.work();
      if (round >= request.warmup) samples.get(variant.how)!.push(performance.now() - started);
    }
  }
  return {
    hostCalls: reference.totalCalls,
    results: variants.map((v) => ({ how: v.how, msPerCall: median(samples.get(v.how)!), samples: samples.get(v.how)! })),
    missing,
  };
}

Object.assign(globalThis, { bench: { metadataBench } });
document.title = 'ready';
