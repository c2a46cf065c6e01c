/**
 * The library in a real browser: headless Chromium (`@sparticuz/chromium` with `puppeteer-core`,
 * see `spec/support/chromium.ts`) loads a page bundled by esbuild from the built package with no
 * setting beyond the platform (`spec/browser/`), and runs, on the page's main thread and in a
 * Worker:
 *
 * - a real runtime (Rococo Asset Hub genesis): `Core_version` and `Metadata_metadata` on JSPI
 *   (from the code) and on Asyncify (from an artifact made by Node.js), outputs byte-equal to
 *   Node.js's;
 * - Chromium's real limit on synchronous instantiation (modules over 8 MB, main thread only):
 *   the typed refusal of `clone()`/`intoPrototype()` and the asynchronous forms, on both
 *   backends;
 * - an Asyncify transform in the browser, on its Worker, with the main thread's event loop
 *   running during the pass; with the IndexedDB artifact cache, the second visit to the page
 *   does no transform and does not download Binaryen;
 * - what the page downloads: never Binaryen's chunk unless a transform runs.
 *
 * If Chromium cannot start, the suite is skipped with a message saying why.
 */
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { type ArtifactCache, VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { FileArtifactCache } from '../lib/node/index.js';
import { SubstrateRuntime, runtimeCall } from '../lib/substrate/index.js';
import { assetHubGenesis } from '../examples/known-chain.js';
import { buildSite } from '../examples/browser/build-site.js';
import type { SUITE } from './browser/suite.js';
import { REPO_ROOT, consumerFolder } from './support/bundle.js';
import { busyGuest } from './support/busy-guest.js';
import { startChromium } from './support/chromium.js';
import { ARTIFACT_DIR, readGenesis } from './support/genesis-chains.js';
import { SHARED_DIR, sharedPath } from './support/shared.js';
import { largeModule } from './support/large-module.js';
import { type StaticServer, startStaticServer } from './support/static-server.js';

type Suite = typeof SUITE;
type Result<N extends keyof Suite> = Awaited<ReturnType<Suite[N]>>;

const started = await startChromium();
if ('unavailable' in started) console.warn(`skipping the browser tests: ${started.unavailable}`);
const describeInBrowser = 'browser' in started ? describe : describe.skip;
const version = 'browser' in started ? started.version : 'Chromium';

describeInBrowser(`in ${version}`, () => {
  const browser = 'browser' in started ? started.browser : null!;
  let server: StaticServer;
  let folder: string;
  let page: Page;
  /** The output file of the lazy chunk that holds the transform Worker (and Binaryen). */
  let workerChunk: string;
  /** What the page printed and threw, shown when a test fails. */
  const pageLog: string[] = [];
  /** Node.js's outputs of the same calls, to compare with the browser's byte for byte. */
  const nodeOutputs = new Map<string, Buffer>();
  let busyResult: number;
  let smallResult: number;
  let nodeVersion: { specName: string; specVersion: number };

  beforeAll(async () => {
    folder = consumerFolder('resumable-wasm-browser-');
    const outdir = join(folder, 'out');
    const result = await build({
      entryPoints: [join(REPO_ROOT, 'spec/browser/page.ts'), join(REPO_ROOT, 'spec/browser/worker.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      splitting: true,
      outdir,
      metafile: true,
      logLevel: 'silent',
      // The suite imports the package by name, resolved from the consumer folder.
      nodePaths: [join(folder, 'node_modules')],
    });
    workerChunk = Object.entries(result.metafile.outputs).find(([, output]) =>
      Object.keys(output.inputs).some((input) => input.endsWith('dist/transform/browser-worker-source.js')),
    )![0];
    workerChunk = '/' + workerChunk.split('/').pop();

    server = await startStaticServer();
    server.route('/', { body: '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="/page.js"></script>', type: 'text/html; charset=utf-8' });
    for (const file of readdirSync(outdir)) server.route(`/${file}`, { file: join(outdir, file) });

    const { code } = await assetHubGenesis();
    server.route('/asset-hub.txt', { body: code });
    const busy = await busyGuest(600);
    server.route('/busy.wasm', { body: busy });
    const small = await busyGuest(40);
    server.route('/small.wasm', { body: small });
    server.route('/large.wasm', { body: largeModule(9_000_000) });

    // Node.js's answers: the runtime calls, and the busy guest's result.
    const runtime = await SubstrateRuntime.create({ code, backend: 'jspi' });
    nodeVersion = runtime.version;
    for (const entryPoint of ['Core_version', 'Metadata_metadata']) {
      nodeOutputs.set(entryPoint, Buffer.from((await runtimeCall(runtime, entryPoint, new Uint8Array(), { storage: { get: () => null } })).output));
    }
    busyResult = await guestResult(busy);
    smallResult = await guestResult(small);

    // The Asyncify artifact of the runtime, made by Node.js once per machine (the transform
    // takes tens of seconds in a browser; this is how a page would ship it).
    const files = new FileArtifactCache(ARTIFACT_DIR);
    let artifact: Uint8Array | null = null;
    const recording: ArtifactCache = {
      get: async (key) => (artifact = (await files.get(key)) ?? null),
      set: async (key, bytes) => {
        artifact = bytes;
        await files.set(key, bytes);
      },
    };
    await SubstrateRuntime.create({ code, backend: 'asyncify', cache: recording });
    server.route('/asset-hub.artifact', { body: artifact! });

    page = await browser.newPage();
    page.on('console', (message) => pageLog.push(`console.${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => pageLog.push(`pageerror: ${(error as Error).message}`));
    await page.goto(server.origin + '/');
    await page.waitForFunction(() => document.title === 'ready', { timeout: 0 });
  });

  /** What `main(1)` of a busy guest returns in Node.js when every pause is answered with 1. */
  async function guestResult(moduleBytes: Uint8Array): Promise<number> {
    const proto = await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0, backend: 'jspi' });
    const vm = proto.prepare().start('main', [WasmValue.i32(1)]);
    let outcome = await vm.runAsync(null);
    while (outcome.type === 'interrupted') outcome = await vm.runAsync(WasmValue.i32(1));
    return (outcome as { value: WasmValue & { type: 'i32' } }).value.value;
  }

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
    if (pageLog.length > 0) console.log(`the page's console:\n${pageLog.join('\n')}`);
  });

  /** Runs suite function `name` on the page's main thread. */
  function onPage<N extends keyof Suite>(name: N, argument: Parameters<Suite[N]>[0]): Promise<Result<N>> {
    return page.evaluate((n, a) => (globalThis as unknown as { suite: Record<string, (a: unknown) => unknown> }).suite[n]!(a), name, argument) as Promise<
      Result<N>
    >;
  }

  /** Runs suite function `name` in a module Worker started by the page. */
  function inWorker<N extends keyof Suite>(name: N, argument: Parameters<Suite[N]>[0]): Promise<Result<N>> {
    return page.evaluate((n, a) => (globalThis as unknown as { inWorker: (n: string, a: unknown) => unknown }).inWorker(n, a), name, argument) as Promise<
      Result<N>
    >;
  }

  /** Whether the page requested Binaryen's chunk since request number `since`. */
  const downloadedBinaryen = (since: number): boolean => server.requests.slice(since).includes(workerChunk);

  test('the page loads without downloading Binaryen', async () => {
    expect(server.requests).toContain('/page.js');
    expect(downloadedBinaryen(0)).toBe(false);
    expect(await onPage('where', undefined)).toEqual({ thread: 'main', jspi: true });
    expect(await inWorker('where', undefined)).toEqual({ thread: 'worker', jspi: true });
  });

  const runtimeCases = [
    ['JSPI, from the code', { backend: 'jspi' }],
    ['Asyncify, from an artifact made by Node.js', { backend: 'asyncify', artifactUrl: '/asset-hub.artifact' }],
  ] as const;
  describe.each(runtimeCases)('Asset Hub on %s', (_name, options) => {
    test.each([
      ['the main thread', onPage],
      ['a Worker', inWorker],
    ] as const)('in %s: Core_version and Metadata_metadata, byte-equal to Node.js', async (_where, run) => {
      const since = server.requests.length;
      const result = await run('substrateCall', { codeUrl: '/asset-hub.txt', entryPoints: ['Core_version', 'Metadata_metadata'], ...options });
      expect(result.backend).toBe(options.backend);
      expect(result.specName).toBe(nodeVersion.specName);
      expect(result.specVersion).toBe(nodeVersion.specVersion);
      for (const output of result.outputs) {
        const expected = nodeOutputs.get(output.entryPoint)!;
        const actual = Buffer.from(output.base64, 'base64');
        expect(actual.length).toBe(expected.length);
        expect(actual.equals(expected)).toBe(true);
      }
      expect(result.phases).not.toContain('transform');
      // Neither JSPI nor an artifact needs Binaryen.
      expect(downloadedBinaryen(since)).toBe(false);
      console.log(
        `${options.backend} in ${result.where.thread}: create ${result.createMs.toFixed(0)} ms; ` +
          result.outputs.map((o) => `${o.entryPoint} ${o.ms.toFixed(0)} ms, ${o.pauses} pauses`).join('; '),
      );
    });
  });

  // A runtime over Chromium's 8 MB limit even uninstrumented: the Substrate layer must make
  // every instance asynchronously on the main thread.
  const paseo = sharedPath('runtimes/paseo-substitute.json');
  (paseo === null ? test.skip : test)('a runtime over 8 MB (the Paseo relay, shared data) on JSPI on the main thread, byte-equal to Node.js', async () => {
    const wasm = readGenesis(paseo!).wasm;
    server.route('/paseo.wasm', { body: wasm });
    const runtime = await SubstrateRuntime.create({ code: wasm, backend: 'jspi' });
    const expected = (await runtimeCall(runtime, 'Metadata_metadata', new Uint8Array(), { storage: { get: () => null } })).output;
    const result = await onPage('substrateCall', { codeUrl: '/paseo.wasm', backend: 'jspi', entryPoints: ['Metadata_metadata', 'Metadata_metadata'] });
    expect(result.codeBytes).toBeGreaterThan(8 * 1024 * 1024);
    expect(result.where.thread).toBe('main');
    for (const output of result.outputs) expect(Buffer.from(output.base64, 'base64').equals(Buffer.from(expected))).toBe(true);
    console.log(`paseo (${(result.codeBytes / 1e6).toFixed(1)} MB) in main: create ${result.createMs.toFixed(0)} ms; ${result.outputs.map((o) => `${o.ms.toFixed(0)} ms`).join(', ')}`);
  });
  if (paseo === null) console.warn(`skipping the 8 MB runtime in the browser: ${SHARED_DIR}/runtimes/paseo-substitute.json is not present (shared test data)`);

  describe.each(['jspi', 'asyncify'] as const)("Chromium's limit on synchronous instantiation (a 9 MB module) on %s", (backend) => {
    test('on the main thread: clone() and intoPrototype() refuse with a typed error and consume nothing; the asynchronous forms work', async () => {
      const result = await onPage('instantiationLimit', { moduleUrl: '/large.wasm', backend, cache: true });
      expect(result.wireBytes).toBeGreaterThan(8 * 1024 * 1024);
      expect(result).toMatchObject({
        where: { thread: 'main' },
        clone: 'UsageError SynchronousInstantiationRefused',
        cloneAsync: '0,1,2,3',
        intoPrototype: 'UsageError SynchronousInstantiationRefused',
        stillUsable: 'ok',
        renewedState: `${Math.ceil(9_000_000 / 65536) + 1} pages, 0,1,2,3`,
        // A reset needs no instantiation: the synchronous form works where it can.
        resetIntoPrototype: 'ok',
      });
    });

    test('in a Worker: the synchronous forms work', async () => {
      const result = await inWorker('instantiationLimit', { moduleUrl: '/large.wasm', backend, cache: true });
      expect(result).toMatchObject({
        where: { thread: 'worker' },
        clone: 'ok',
        intoPrototype: 'ok',
        stillUsable: 'consumed',
        renewedState: `${Math.ceil(9_000_000 / 65536) + 1} pages, 0,1,2,3`,
      });
    });
  });

  test('an Asyncify transform in the browser runs on its Worker; with the IndexedDB cache, the second visit skips it and never downloads Binaryen', async () => {
    const first = await onPage('asyncifyCreate', { moduleUrl: '/busy.wasm', cache: true, clearCache: true });
    expect(first.cacheHit).toBe(false);
    expect(first.events.filter((e) => e.startsWith('transform:'))).toEqual(
      expect.arrayContaining(['transform:start', 'transform:read', 'transform:asyncify', 'transform:post-passes', 'transform:emit', 'transform:end']),
    );
    expect(first.events).toContain('cache-store:end');
    expect(first.result).toBe(busyResult);
    // The page's thread kept running its event loop all through the pass.
    expect(first.roundTripsDuringPass).toBeGreaterThanOrEqual(20);
    console.log(
      `first visit: create ${first.createMs.toFixed(0)} ms (Asyncify pass ${first.passMs!.toFixed(0)} ms, ` +
        `${first.roundTripsDuringPass} message round trips on the page's thread meanwhile)`,
    );

    // The second visit: a new page load, the same origin.
    await page.reload();
    await page.waitForFunction(() => document.title === 'ready', { timeout: 0 });
    const since = server.requests.length;
    const second = await onPage('asyncifyCreate', { moduleUrl: '/busy.wasm', cache: true });
    expect(second.cacheHit).toBe(true);
    expect(second.events.filter((e) => e.startsWith('transform:'))).toEqual([]);
    expect(second.events).toContain('load-artifact:end');
    expect(second.result).toBe(busyResult);
    expect(downloadedBinaryen(since)).toBe(false);
    console.log(`second visit: create ${second.createMs.toFixed(0)} ms from IndexedDB`);
  });

  test.each(['worker', 'main'])('the example page (examples/browser) runs Asset Hub in %s', async (thread) => {
    const site = join(folder, 'example');
    const files = await buildSite(site);
    for (const file of files) server.route(`/example/${file.file}`, { file: join(site, file.file) });
    server.route('/example/', { body: readFileSync(join(site, 'index.html')), type: 'text/html; charset=utf-8' });
    const example = await browser.newPage();
    try {
      await example.goto(`${server.origin}/example/?backend=jspi&thread=${thread}`);
      await example.waitForFunction(() => document.body.dataset['state'] === 'done' || document.body.dataset['state'] === 'error', { timeout: 0 });
      const text = await example.evaluate(() => document.body.innerText);
      expect(text).toContain(`${nodeVersion.specName} ${nodeVersion.specVersion}`);
      expect(text).toContain(`runs in\t${thread === 'main' ? 'main thread' : 'Worker'}`);
      expect(text).toMatch(/Metadata_metadata\tmetadata version 14, [\d,]+ bytes/);
      expect(text).toMatch(/AuraApi_authorities\t4 authorities/);
      expect(text).toMatch(/done in [\d.]+ (ms|s)/);
    } finally {
      await example.close();
    }
  });

  test("the IndexedDB cache's rules: keys, exact bytes, foreign values, a damaged artifact rebuilt and replaced", async () => {
    const result = await onPage('cacheRules', { moduleUrl: '/small.wasm' });
    expect(result.badKeys).toEqual([': TypeError', '../escape: TypeError', `${'A'.repeat(64)}: TypeError`, `${'0'.repeat(63)}: TypeError`]);
    expect(result.storedBytes).toEqual([10, 11, 12, 13]);
    expect(result.foreign).toBe('undefined');
    // The damaged entry is found, refused by the artifact's checksum, transformed again and replaced.
    expect(result.damaged.events).toEqual(expect.arrayContaining(['cache-lookup:hit', 'transform', 'cache-store']));
    expect(result.damaged.events).not.toContain('load-artifact');
    expect(result.damaged.replaced).toBe(true);
  });

  test('an Asyncify transform started in a Worker runs on a Worker of its own', async () => {
    const result = await inWorker('asyncifyCreate', { moduleUrl: '/small.wasm', cache: false });
    expect(result.where.thread).toBe('worker');
    expect(result.events).toEqual(expect.arrayContaining(['transform:asyncify', 'transform:end']));
    expect(result.result).toBe(smallResult);
  });
});
