/**
 * `npm run bench -- --browsers`: the cost of a pause on every browser engine this machine has
 * (`spec/support/engines.ts`: Chromium from npm, Firefox ESR and WebKitGTK from Debian), in one
 * run. Each engine loads the page of `bench/browser/page.ts` (bundled by esbuild) and measures
 * `Metadata_metadata` of westend v9300 (shared data, where present; a shallow stack at its host
 * calls) and of the Rococo Asset Hub genesis runtime (npm; a few giant functions, a deep
 * Asyncify unwind) with every import an interrupt, on the page's main thread: plain WebAssembly, the minimal hand-written JSPI
 * drivers (no library), the VM on JSPI and the VM on Asyncify (from an artifact made here; its
 * paused stack in a second memory, or in single memory where the engine has no multi-memory).
 *
 * Per call: the median over the measured rounds, and the ratio to plain. Per pause: what a
 * variant adds to plain, divided by the host calls (every one a pause). Engines that lack a
 * backend say so; an engine that is not installed is skipped with one line. `BROWSER_ENGINES`
 * (`spec/support/engines.ts`) measures some engines only.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ArtifactCache } from '../lib/index.js';
import { FileArtifactCache } from '../lib/node/index.js';
import { ARTIFACT_DIR } from '../spec/support/genesis-chains.js';
import { bundlePages } from '../spec/support/browser-bundle.js';
import { consumerFolder } from '../spec/support/bundle.js';
import { startChromium } from '../spec/support/chromium.js';
import { selectedEngines } from '../spec/support/engines.js';
import { REPO_ROOT, sharedPath } from '../spec/support/shared.js';
import { startStaticServer } from '../spec/support/static-server.js';
import { assetHubRuntime, createRuntimePrototype, runtimeWasm } from '../spec/support/substrate-harness.js';
import type { VariantResult } from './browser/page.js';
import type { Row } from './support/stats.js';

/** One engine's measurements. */
export interface BrowserBenchResult {
  readonly engine: string;
  readonly runtime: string;
  readonly hostCalls: number;
  readonly results: readonly (VariantResult & { readonly xPlain: number; readonly usPerPause: number | null })[];
  readonly missing: readonly string[];
}

/** Runs the benchmark on every engine: `warmup` unmeasured rounds, then `rounds` measured ones. */
export async function benchBrowsers(options: {
  readonly warmup: number;
  readonly rounds: number;
  /** The runtimes to measure (`westend`, `asset-hub`); default both. */
  readonly runtimes?: readonly string[];
}): Promise<{ results: BrowserBenchResult[]; rows: Row[]; skipped: string[] }> {
  const westend = sharedPath('runtimes/westend-runtime-v9300.wasm');
  if (westend === null) console.log('(westend skipped in the browsers: ../shared/runtimes is not present)');
  const runtimes: { name: string; wasm: Uint8Array }[] = [
    ...(westend === null ? [] : [{ name: 'westend', wasm: runtimeWasm(readFileSync(westend)) }]),
    { name: 'asset-hub', wasm: await assetHubRuntime() },
  ].filter((r) => options.runtimes === undefined || options.runtimes.includes(r.name));

  // The Asyncify artifacts a page may ask for, by cache key: made here, as a page would ship them
  // (kept between runs in the folder `bench/asyncify-stack.ts` uses: the same routing, every
  // import an interrupt, and the same options).
  const artifacts = new Map<string, Uint8Array>();
  const artifactFolder = join(ARTIFACT_DIR, 'bench-stack-interrupt');
  mkdirSync(artifactFolder, { recursive: true });
  const files = new FileArtifactCache(artifactFolder);
  const recording: ArtifactCache = {
    get: async (key) => {
      const bytes = await files.get(key);
      if (bytes !== undefined) artifacts.set(key, bytes);
      return bytes;
    },
    set: async (key, bytes) => {
      artifacts.set(key, bytes);
      await files.set(key, bytes);
    },
  };
  // Both placements of the paused stack: a second memory, and single memory for engines without multi-memory.
  for (const { wasm } of runtimes) {
    for (const asyncifyStack of ['second-memory', 'single-memory'] as const) {
      await createRuntimePrototype(wasm, { backend: 'asyncify', asyncifyStack, reuseGrownMemory: true, cache: recording });
    }
  }

  const folder = consumerFolder('resumable-wasm-bench-browsers-');
  const server = await startStaticServer();
  const results: BrowserBenchResult[] = [];
  const skipped: string[] = [];
  try {
    const bundle = await bundlePages({
      entryPoints: [join(REPO_ROOT, 'bench/browser/page.ts')],
      outdir: join(folder, 'out'),
      consumer: folder,
      // The harness decompresses runtime code with node:zlib; the page is given raw wasm.
      stubs: { 'node:zlib': ['zstdDecompressSync'] },
    });
    server.route('/', { body: '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="/page.js"></script>', type: 'text/html; charset=utf-8' });
    for (const file of bundle.files) server.route(`/${file}`, { file: join(bundle.outdir, file) });
    for (const { name, wasm } of runtimes) server.route(`/${name}.wasm`, { body: wasm });
    for (const [key, bytes] of artifacts) server.route(`/artifact/${key}`, { body: bytes });

    for (const launcher of selectedEngines()) {
      // Chromium with its trap handler (the fast code): these guests never trap.
      const started = launcher.name === 'chromium' ? await startChromium({ explicitBoundsChecks: false }) : await launcher.start();
      if ('unavailable' in started) {
        skipped.push(`${launcher.label}: ${started.unavailable}`);
        console.log(`(${launcher.label} skipped: ${started.unavailable})`);
        continue;
      }
      const engine = started.engine;
      try {
        const page = await engine.openPage(`${server.origin}/`);
        const multiMemory = await page.evaluate(() =>
          WebAssembly.validate(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00)),
        );
        for (const { name } of runtimes) {
          const measured = await page.evaluate(
            (request: { wasmUrl: string; warmup: number; rounds: number; artifactPrefix: string; multiMemory: boolean }) =>
              (
                globalThis as unknown as { bench: { metadataBench: (r: typeof request) => Promise<{ hostCalls: number; results: VariantResult[]; missing: string[] }> } }
              ).bench.metadataBench(request),
            { wasmUrl: `/${name}.wasm`, warmup: options.warmup, rounds: options.rounds, artifactPrefix: '/artifact/', multiMemory },
          );
          const plain = measured.results.find((r) => r.how === 'plain')!.msPerCall;
          results.push({
            engine: engine.version,
            runtime: name,
            hostCalls: measured.hostCalls,
            missing: measured.missing,
            results: measured.results.map((r) => ({
              ...r,
              xPlain: r.msPerCall / plain,
              usPerPause: r.how === 'plain' ? null : ((r.msPerCall - plain) * 1000) / measured.hostCalls,
            })),
          });
          console.log(`(${engine.version}, ${name}: measured)`);
        }
      } finally {
        await engine.close();
      }
    }
  } finally {
    await server.close();
    rmSync(folder, { recursive: true, force: true });
  }
  const rows: Row[] = results.flatMap((r) => [
    ...r.results.map((v): Row => [`${r.engine}, ${r.runtime}: ${v.how}`, v.msPerCall, v.xPlain, v.usPerPause === null ? '' : v.usPerPause]),
    ...r.missing.map((m): Row => [`${r.engine}, ${r.runtime}: ${m}`, 'n/a', '', '']),
  ]);
  return { results, rows, skipped };
}
