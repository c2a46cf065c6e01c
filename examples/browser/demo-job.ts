/**
 * The browser example's job, the same on the page's main thread and in a Worker: load the
 * Rococo Asset Hub genesis runtime (from `@substrate/connect-known-chains`), create it, read its
 * version, run `Metadata_metadata`, then `AuraApi_authorities`, whose storage reads pause the
 * call while the genesis state answers them asynchronously (as a light client's network
 * would). Everything it does is reported as plain-data events, so that a Worker can post them
 * to the page as they happen.
 */
import { type Backend } from 'resumable-wasm';
import { IndexedDbArtifactCache } from 'resumable-wasm/browser';
import {
  MapStorage,
  type RuntimeCallResult,
  type StorageProvider,
  SubstrateRuntime,
  decodeOpaqueMetadata,
  runtimeCall,
} from 'resumable-wasm/substrate';
import { assetHubGenesis } from '../known-chain.js';

/** What the page asks for. */
export interface DemoOptions {
  readonly backend: Backend | 'auto';
  /** Keep Asyncify's artifact in IndexedDB, so that the next visit skips the transform. */
  readonly cache: boolean;
}

/** The steps of the job, in order (the page's progress bar counts them). */
export const STEPS = ['chain-spec', 'create', 'Metadata_metadata', 'Metadata_metadata again', 'AuraApi_authorities'] as const;
export type Step = (typeof STEPS)[number];

/** What the job reports, in order. */
export type DemoEvent =
  | { readonly type: 'step'; readonly step: Step; readonly status: 'start' | 'end'; readonly ms?: number }
  /** A phase of the runtime's creation (or a step of the transform, `status: 'progress'`). */
  | { readonly type: 'phase'; readonly phase: string; readonly status: string; readonly detail?: string; readonly ms?: number }
  | {
      readonly type: 'runtime';
      readonly where: 'main thread' | 'Worker';
      readonly name: string;
      readonly backend: Backend;
      readonly version: { specName: string; specVersion: number; implName: string; implVersion: number; transactionVersion: number | null; apis: number };
      readonly codeBytes: number;
      readonly wasmBytes: number;
    }
  /** During a call: host calls and pauses so far. */
  | { readonly type: 'calls'; readonly step: Step; readonly hostCalls: number; readonly pauses: number }
  | {
      readonly type: 'result';
      readonly step: Step;
      readonly ms: number;
      readonly waitingMs: number;
      readonly hostCalls: number;
      readonly pauses: number;
      readonly outputBytes: number;
      readonly summary: string;
      readonly busiest: readonly (readonly [string, number])[];
    }
  | { readonly type: 'done'; readonly ms: number }
  | { readonly type: 'error'; readonly message: string };

/** How often a running call reports its counts: every this many host calls. */
const CALLS_EVERY = 250;
/** The latency of each storage read, as from a network. */
const STORAGE_LATENCY_MS = 15;

/** Runs the job, reporting to `report`; never throws (a failure is an `error` event). */
export async function runDemo(options: DemoOptions, report: (event: DemoEvent) => void): Promise<void> {
  const started = performance.now();
  const step = async <T>(name: Step, work: () => Promise<T>): Promise<T> => {
    report({ type: 'step', step: name, status: 'start' });
    const stepStarted = performance.now();
    const result = await work();
    report({ type: 'step', step: name, status: 'end', ms: performance.now() - stepStarted });
    return result;
  };
  try {
    const genesis = await step('chain-spec', () => assetHubGenesis());
    const runtime = await step('create', () =>
      SubstrateRuntime.create({
        code: genesis.code,
        backend: options.backend,
        ...(options.cache ? { cache: new IndexedDbArtifactCache() } : {}),
        onProgress: (event) =>
          report({
            type: 'phase',
            phase: event.phase,
            status: event.status,
            ...(event.step === undefined ? {} : { detail: event.step }),
            ...(event.cacheHit === undefined ? {} : { detail: event.cacheHit ? 'hit' : 'miss' }),
            ...(event.durationMs === undefined ? {} : { ms: event.durationMs }),
          }),
      }),
    );
    const v = runtime.version;
    report({
      type: 'runtime',
      where: typeof document === 'undefined' ? 'Worker' : 'main thread',
      name: genesis.name,
      backend: runtime.backend,
      version: {
        specName: v.specName,
        specVersion: v.specVersion,
        implName: v.implName,
        implVersion: v.implVersion,
        transactionVersion: v.transactionVersion,
        apis: v.apis.length,
      },
      codeBytes: runtime.code.codeSize,
      wasmBytes: runtime.code.wasmSize,
    });

    const call = (name: Step, storage: StorageProvider, summarize: (result: RuntimeCallResult) => string) =>
      step(name, async () => {
        let hostCalls = 0;
        let pauses = 0;
        const result = await runtimeCall(runtime, name.split(' ')[0]!, new Uint8Array(), {
          storage: {
            get: (key, child) => {
              pauses++;
              report({ type: 'calls', step: name, hostCalls, pauses });
              return storage.get(key, child);
            },
            nextKey: (key, child) => storage.nextKey!(key, child),
          },
          trace: () => {
            if (++hostCalls % CALLS_EVERY === 0) report({ type: 'calls', step: name, hostCalls, pauses });
          },
        });
        report({
          type: 'result',
          step: name,
          ms: result.durationMs,
          waitingMs: result.waitingMs,
          hostCalls: result.totalHostCalls,
          pauses: result.pauses,
          outputBytes: result.output.length,
          summary: summarize(result),
          busiest: [...result.hostCalls].sort((a, b) => b[1] - a[1]).slice(0, 5),
        });
      });

    // Metadata_metadata reads no storage: it runs start to finish without a pause. The first
    // call also pays for the engine compiling the functions it runs; the second shows the
    // steady state (each call runs on a fresh instance all the same).
    const metadataSummary = (result: RuntimeCallResult) => {
      const metadata = decodeOpaqueMetadata(result.output);
      return `metadata version ${metadata.version}, ${metadata.bytes.length.toLocaleString('en-US')} bytes`;
    };
    const noStorage: StorageProvider = { get: () => null, nextKey: () => null };
    await call('Metadata_metadata', noStorage, metadataSummary);
    await call('Metadata_metadata again', noStorage, metadataSummary);
    // AuraApi_authorities reads the chain's state: each read pauses the call until it arrives.
    const state = new MapStorage(Object.entries(genesis.storage));
    const delayed: StorageProvider = {
      get: async (key, child) => {
        await new Promise((resolve) => setTimeout(resolve, STORAGE_LATENCY_MS));
        return state.get(key, child);
      },
      nextKey: async (key, child) => state.nextKey(key, child),
    };
    await call('AuraApi_authorities', delayed, (result) => `${result.output[0]! >> 2} authorities (SCALE: ${result.output.length} bytes)`);
    report({ type: 'done', ms: performance.now() - started });
  } catch (e) {
    report({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
}
