/**
 * The library in real browsers, on every engine this machine has (`spec/support/engines.ts`):
 * Chromium (`@sparticuz/chromium`, npm), Firefox ESR (Debian `firefox-esr`, puppeteer-core over
 * WebDriver BiDi) and WebKitGTK (Debian `webkit2gtk-driver` under `xvfb-run`, W3C WebDriver).
 * Each loads a page bundled by esbuild from the built package (`spec/browser/`) and runs, on the
 * page's main thread and in a Worker, whatever the engine can run:
 *
 * - what the engine offers is probed in the page, never read from the user agent: JSPI and
 *   multi-memory directly, and each backend by `VirtualMachinePrototype.create` of a tiny module
 *   (on a probe page of its own: an Asyncify probe downloads Binaryen). A backend the probe says
 *   runs gets every test below; JSPI where the engine lacks it gets a test of the refusal
 *   (`NewError BackendUnsupported` naming what is missing, on both threads). Asyncify runs on
 *   every engine: its paused stack in a second memory where the engine has multi-memory, else in
 *   pages reserved below the guest's memory (`asyncifyStack: 'single-memory'`, WebKitGTK), as the
 *   probe must report; an Asyncify refusal is a failure;
 * - real runtimes, byte-equal to Node.js: Rococo Asset Hub (`Core_version`, `Metadata_metadata`)
 *   and westend v9300 (`Metadata_metadata`, shared data), on JSPI from the code and on Asyncify
 *   from an artifact made by Node.js;
 * - a slice of the spec suites (`spec/support/browser-spec-slice.ts`), each command's value (bit
 *   pattern included), trap kind or refusal kind equal to Node.js's on the same backend; and a
 *   slice of the differential fuzz corpus (`spec/support/browser-fuzz-slice.ts`), each record
 *   (results, trap kinds, import events, memory digests, globals) matching plain V8's in Node.js;
 * - both slices again with fuel, a logical stack limit and canonical NaNs on (`VmConfig.fuel`,
 *   `maxStackHeight`, `canonicalizeNaNs`): the spec slice with the default limit, every call
 *   starting with no fuel and refilled, each call's fuel consumed and times out of fuel equal to
 *   Node.js's; the fuzz slice as `npm run fuzz -- --bounds` runs it (seeded limits, random
 *   refills), fuel consumed, out-of-fuel points, stack-limit traps and NaN bits equal to plain V8's
 *   run of the rewritten module in Node.js;
 * - the engine's limit on synchronous instantiation (Chromium: modules over 8 MB on the main
 *   thread) as the engine states it: the typed refusal of `clone()`/`intoPrototype()` where the
 *   engine refuses a synchronous compile, the synchronous forms where it does not;
 * - an Asyncify transform in the browser, on its Worker, with the main thread's event loop running
 *   during the pass; with the IndexedDB artifact cache, the second visit does no transform and
 *   does not download Binaryen; the cache's rules;
 * - the example page (`examples/browser`), and what the page downloads: never Binaryen's chunk
 *   unless a transform runs.
 *
 * An engine that is not installed, or does not start, is skipped with one line saying why.
 * `BROWSER_ENGINES=firefox,webkitgtk` runs the suite on some engines only.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type ArtifactCache, type Backend, VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { FileArtifactCache } from '../lib/node/index.js';
import { SubstrateRuntime, runtimeCall } from '../lib/substrate/index.js';
import { assetHubGenesis } from '../examples/known-chain.js';
import { buildSite } from '../examples/browser/build-site.js';
import type { BackendProbe, SUITE } from './browser/suite.js';
import { type BrowserEngine, type BrowserPage, firstLine } from './support/browser-engine.js';
import { bundlePages, outputHolding } from './support/browser-bundle.js';
import { type CorpusModule, FUZZ_SLICE, fuzzDifference, prepareFuzzSlice } from './support/browser-fuzz-slice.js';
import { CANONICAL_NAN, OUT_OF_FUEL } from '../fuzz/differential/bounds.js';
import {
  SLICE_BOUNDS,
  type SliceOutcome,
  type SliceScript,
  featuresOf,
  presentSlice,
  runSliceInNode,
  scriptData,
  sliceDifferences,
  sliceUrl,
} from './support/browser-spec-slice.js';
import { REPO_ROOT, consumerFolder } from './support/bundle.js';
import { type EngineTraits, isAmbiguousTrap, knownDifferences, traitsModule } from './support/engine-differences.js';
import { busyGuest } from './support/busy-guest.js';
import { selectedEngines } from './support/engines.js';
import { ARTIFACT_DIR, readGenesis } from './support/genesis-chains.js';
import { largeModule } from './support/large-module.js';
import { SHARED_DIR, sharedPath } from './support/shared.js';
import { type StaticServer, startStaticServer } from './support/static-server.js';

type Suite = typeof SUITE;
type Result<N extends keyof Suite> = Awaited<ReturnType<Suite[N]>>;
type SuccessfulCall = Exclude<Result<'substrateCall'>, { refused: unknown }>;

const BACKENDS: readonly Backend[] = ['jspi', 'asyncify'];
const LABEL: Readonly<Record<Backend, string>> = { jspi: 'JSPI', asyncify: 'Asyncify' };
/** What JSPI needs of the engine, as its refusal must name it (Asyncify needs nothing more than WebAssembly). */
const JSPI_NEEDS = { what: 'JavaScript Promise Integration', named: /Promise Integration/ } as const;
/**
 * The suite's page. A classic script first records errors, so that a module script that fails
 * to load or to run is reported rather than waited for.
 */
const PAGE =
  '<!doctype html><meta charset="utf-8"><title>loading</title>' +
  '<script>window.loadErrors = []; addEventListener("error", (e) => loadErrors.push(e.message + " (" + e.filename + ":" + e.lineno + ")"));</script>' +
  '<script type="module" src="/page.js"></script>';

// The site every engine loads: one bundle, one server, one set of modules.
const folder = consumerFolder('resumable-wasm-browser-');
const bundle = await bundlePages({
  entryPoints: [join(REPO_ROOT, 'spec/browser/page.ts'), join(REPO_ROOT, 'spec/browser/worker.ts')],
  outdir: join(folder, 'out'),
  consumer: folder,
});
/** The output file of the lazy chunk that holds the transform Worker (and Binaryen). */
const workerChunk = `/${outputHolding(bundle, 'dist/transform/browser-worker-source.js')}`;
const server: StaticServer = await startStaticServer();
server.route('/', { body: PAGE, type: 'text/html; charset=utf-8' });
server.route('/probe/', { body: PAGE, type: 'text/html; charset=utf-8' });
for (const file of bundle.files) server.route(`/${file}`, { file: join(bundle.outdir, file) });
const small = await busyGuest(40);
server.route('/small.wasm', { body: small });
server.route('/traits.wasm', { body: await traitsModule() });

/** An engine the suite runs on: the browser, and what its probe page found. */
interface EngineUnderTest {
  readonly engine: BrowserEngine;
  /** The engine's own capabilities (probed directly), and the library's verdict on each backend. */
  readonly probe: {
    readonly where: Result<'where'>;
    readonly backends: Readonly<Record<Backend, BackendProbe>>;
    /** What the engine does at the JavaScript boundary and in its trap messages. */
    readonly traits: EngineTraits;
  } | null;
  /** Why the probe itself failed (a bug: reported as a failing test). */
  readonly probeError: string | null;
}

/** Starts every selected engine and probes it; an engine that does not start is reported in one line. */
async function startEngines(): Promise<EngineUnderTest[]> {
  const started: EngineUnderTest[] = [];
  for (const launcher of selectedEngines()) {
    const start = await launcher.start();
    if ('unavailable' in start) {
      console.warn(`skipping the browser tests on ${launcher.label}: ${start.unavailable}`);
      continue;
    }
    const engine = start.engine;
    try {
      const page = await engine.openPage(`${server.origin}/probe/`);
      try {
        await pageReady(page);
        const where = await page.evaluate(() => (globalThis as unknown as { suite: Suite }).suite.where());
        const backends = {} as Record<Backend, BackendProbe>;
        for (const backend of BACKENDS) {
          backends[backend] = await page.evaluate(
            (b) => (globalThis as unknown as { suite: Suite }).suite.backendProbe({ moduleUrl: '/small.wasm', backend: b }),
            backend,
          );
        }
        const traits = await page.evaluate(() => (globalThis as unknown as { suite: Suite }).suite.engineTraits({ moduleUrl: '/traits.wasm' }));
        started.push({ engine, probe: { where, backends, traits }, probeError: null });
      } finally {
        await page.close();
      }
    } catch (e) {
      started.push({ engine, probe: null, probeError: firstLine(e) });
    }
  }
  return started;
}

/**
 * Resolves once the suite's page has run its module script (WebDriver may hand the page over
 * on its load event before that); rejects with what the page reported if the script failed.
 */
async function pageReady(page: BrowserPage): Promise<void> {
  const state = await page.evaluate(
    () =>
      new Promise<{ title: string; errors: string[] }>((resolve) => {
        // A hang guard, not a test budget: a module script that neither runs nor fails.
        const deadline = Date.now() + 120_000;
        const check = (): void => {
          const errors = (globalThis as unknown as { loadErrors?: string[] }).loadErrors ?? [];
          if (document.title === 'ready' || errors.length > 0 || Date.now() > deadline) resolve({ title: document.title, errors });
          else setTimeout(check, 10);
        };
        check();
      }),
  );
  if (state.title !== 'ready') throw new Error(`the page did not start (title "${state.title}"): ${state.errors.join('; ') || 'nothing reported'}`);
}

const engines = await startEngines();

// Real runtimes from the shared data, where present.
const westendPath = sharedPath('runtimes/westend-runtime-v9300.wasm');
if (westendPath === null) console.warn(`skipping westend in the browsers: ${SHARED_DIR}/runtimes/westend-runtime-v9300.wasm is not present (shared test data)`);
const paseoPath = sharedPath('runtimes/paseo-substitute.json');
if (paseoPath === null) console.warn(`skipping the 8 MB runtime in the browsers: ${SHARED_DIR}/runtimes/paseo-substitute.json is not present (shared test data)`);
const specSlice = presentSlice();
if (specSlice.missing !== null) console.warn(`skipping part of the spec slice in the browsers: ${specSlice.missing}`);

/** Node.js's side of everything the browsers are compared with; filled in `beforeAll`. */
const node = {
  outputs: new Map<string, Buffer>(),
  assetHubVersion: { specName: '', specVersion: 0 },
  busyResult: 0,
  smallResult: 0,
  spec: {} as Record<Backend, SliceOutcome[]>,
  /** The same slice with fuel, the default stack limit and canonical NaNs (`SLICE_BOUNDS`). */
  specBounds: {} as Record<Backend, SliceOutcome[]>,
  fuzz: [] as CorpusModule[],
};

/** What `main(1)` of a busy guest returns in Node.js when every pause is answered with 1. */
async function guestResult(moduleBytes: Uint8Array): Promise<number> {
  const proto = await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0, backend: 'jspi' });
  const vm = proto.prepare().start('main', [WasmValue.i32(1)]);
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') outcome = await vm.runAsync(WasmValue.i32(1));
  return (outcome as { value: WasmValue & { type: 'i32' } }).value.value;
}

/**
 * The URL of the Asyncify artifact of runtime `name` (its `code`) made by Node.js through the
 * Substrate layer, with the paused stack where the engine needs it (`asyncifyStack`, as the
 * engine's probe reported it; `null` before the library had the option: its only placement).
 * Made once per machine (kept in the artifact cache between runs) and per placement.
 */
const artifacts = new Map<string, Promise<string>>();
function artifactUrl(name: string, code: Uint8Array | string, asyncifyStack: string | null): Promise<string> {
  const key = `${name}-${asyncifyStack ?? 'default'}`;
  let made = artifacts.get(key);
  if (made === undefined) {
    made = (async () => {
      const files = new FileArtifactCache(ARTIFACT_DIR);
      let artifact: Uint8Array | null = null;
      const recording: ArtifactCache = {
        get: async (k) => (artifact = (await files.get(k)) ?? null),
        set: async (k, bytes) => {
          artifact = bytes;
          await files.set(k, bytes);
        },
      };
      const placement: Record<string, unknown> = asyncifyStack === null ? {} : { asyncifyStack };
      await SubstrateRuntime.create({ code, backend: 'asyncify', cache: recording, ...placement });
      server.route(`/artifacts/${key}.bin`, { body: artifact! });
      return `/artifacts/${key}.bin`;
    })();
    artifacts.set(key, made);
  }
  return made;
}

/** The placement of the paused stack an engine's Asyncify probe reported. */
const stackOf = (e: EngineUnderTest): string | null => (e.probe?.backends.asyncify.ok === true ? e.probe.backends.asyncify.asyncifyStack : null);

beforeAll(async () => {
  if (engines.length === 0) return;
  const { code } = await assetHubGenesis();
  server.route('/asset-hub.txt', { body: code });
  const busy = await busyGuest(600);
  server.route('/busy.wasm', { body: busy });
  server.route('/large.wasm', { body: largeModule(9_000_000) });
  const runtime = await SubstrateRuntime.create({ code, backend: 'jspi' });
  node.assetHubVersion = runtime.version;
  for (const entryPoint of ['Core_version', 'Metadata_metadata']) {
    node.outputs.set(`asset-hub ${entryPoint}`, Buffer.from((await runtimeCall(runtime, entryPoint, new Uint8Array(), { storage: { get: () => null } })).output));
  }
  if (westendPath !== null) {
    const westend = readFileSync(westendPath);
    server.route('/westend.wasm', { body: westend });
    const runtime = await SubstrateRuntime.create({ code: westend, backend: 'jspi' });
    node.outputs.set('westend Metadata_metadata', Buffer.from((await runtimeCall(runtime, 'Metadata_metadata', new Uint8Array(), { storage: { get: () => null } })).output));
  }
  node.busyResult = await guestResult(busy);
  node.smallResult = await guestResult(small);
  // The artifacts the engines with Asyncify will load.
  for (const e of engines) {
    if (e.probe?.backends.asyncify.ok !== true) continue;
    await artifactUrl('asset-hub', code, stackOf(e));
    if (westendPath !== null) await artifactUrl('westend', readFileSync(westendPath), stackOf(e));
  }
  for (const s of specSlice.scripts) server.route(sliceUrl(s), { body: scriptData(s), type: 'application/json' });
  for (const backend of BACKENDS) node.spec[backend] = await runSliceInNode(specSlice.scripts, backend);
  for (const backend of BACKENDS) node.specBounds[backend] = await runSliceInNode(specSlice.scripts, backend, SLICE_BOUNDS);
  node.fuzz = await prepareFuzzSlice();
  node.fuzz.forEach((m, i) => server.route(`/fuzz/${i}.wasm`, { body: m.bytes }));
});

afterAll(async () => {
  for (const e of engines) await e.engine.close();
  await server.close();
  rmSync(folder, { recursive: true, force: true });
});

/** Whether Binaryen's chunk was requested since request number `since`. */
const downloadedBinaryen = (since: number): boolean => server.requests.slice(since).includes(workerChunk);

if (engines.length === 0) test.skip('the browser tests [skipped: no browser engine could be started]', () => undefined);

for (const e of engines) describe(`in ${e.engine.version}`, () => {
  if (e.probe === null) {
    test('the probe page runs', () => {
      throw new Error(`the probe page failed: ${e.probeError}`);
    });
    return;
  }
  const probe = e.probe;
  const differences = knownDifferences(probe.traits);
  let page: BrowserPage;
  /** Requests before the suite's page was opened. */
  let opened = 0;

  beforeAll(async () => {
    opened = server.requests.length;
    page = await e.engine.openPage(`${server.origin}/`);
    await pageReady(page);
  });

  afterAll(async () => {
    const log = page === undefined ? [] : await page.evaluate(() => (globalThis as unknown as { pageLog: string[] }).pageLog).catch(() => []);
    if (log.length > 0) console.log(`${e.engine.version}: the page reported:\n${log.join('\n')}`);
  });

  /** Runs suite function `name` on the page's main thread. */
  function onPage<N extends keyof Suite>(name: N, argument: Parameters<Suite[N]>[0]): Promise<Result<N>> {
    return page.evaluate(
      (n: string, a: unknown) => (globalThis as unknown as { suite: Record<string, (a: unknown) => unknown> }).suite[n]!(a),
      name as string,
      argument as unknown,
    ) as Promise<Result<N>>;
  }

  /** Runs suite function `name` in a module Worker started by the page. */
  function inWorker<N extends keyof Suite>(name: N, argument: Parameters<Suite[N]>[0]): Promise<Result<N>> {
    return page.evaluate(
      (n: string, a: unknown) => (globalThis as unknown as { inWorker: (n: string, a: unknown) => unknown }).inWorker(n, a),
      name as string,
      argument as unknown,
    ) as Promise<Result<N>>;
  }

  const threads = [
    ['the main thread', onPage],
    ['a Worker', inWorker],
  ] as const;

  test('the page loads without downloading Binaryen; the engine offers the same on the main thread and in a Worker', async () => {
    expect(server.requests.slice(opened)).toContain('/page.js');
    expect(downloadedBinaryen(opened)).toBe(false);
    expect(await onPage('where', undefined)).toEqual({ ...probe.where, thread: 'main' });
    expect(await inWorker('where', undefined)).toEqual({ ...probe.where, thread: 'worker' });
    // Asyncify's paused stack where the engine can keep it: a second memory, or single memory without multi-memory.
    expect(probe.backends.asyncify).toMatchObject({ ok: true, result: node.smallResult, asyncifyStack: probe.where.multiMemory ? 'second-memory' : 'single-memory' });
    console.log(
      `${e.engine.version}: JSPI ${probe.where.jspi ? 'yes' : 'no'}, multi-memory ${probe.where.multiMemory ? 'yes' : 'no'}; ` +
        BACKENDS.map((b) => {
          const verdict = probe.backends[b];
          return `${LABEL[b]} ${verdict.ok ? `runs${verdict.asyncifyStack === null ? '' : ` (${verdict.asyncifyStack})`}` : 'refused'}`;
        }).join(', ') +
        `; differences from V8 it is known for: ${differences.map((d) => d.id).join(', ') || 'none'}`,
    );
  });

  // 'auto' with a cache, measured by the library on the engine itself (never told which engine it
  // is): where the engine has both backends, V8's cheap JSPI pause keeps JSPI; SpiderMonkey's
  // (10-20 us against Asyncify's 1-4, docs/performance.md) makes the first create() JSPI at once
  // and every later one Asyncify, from the artifact made meanwhile. Where only one backend runs,
  // that one.
  test("'auto' with a cache: the faster backend once both are ready", async () => {
    const both = probe.backends.jspi.ok && probe.backends.asyncify.ok;
    if (!probe.backends.jspi.ok && !probe.backends.asyncify.ok) {
      // Nothing runs here (yet): 'auto' is refused as each backend is.
      await expect(onPage('autoChoice', { moduleUrl: '/small.wasm', awaitArtifact: false })).rejects.toThrow(/BackendUnsupported|multi-memory|Promise Integration/);
      return;
    }
    const slowJspi = e.engine.name === 'firefox';
    const choice = await onPage('autoChoice', { moduleUrl: '/small.wasm', awaitArtifact: both && slowJspi });
    expect(choice.results).toEqual([node.smallResult, node.smallResult]);
    const only = probe.backends.jspi.ok ? 'jspi' : 'asyncify';
    expect(choice).toMatchObject(both ? { first: 'jspi', second: slowJspi ? 'asyncify' : 'jspi' } : { first: only, second: only });
    console.log(`${e.engine.version}: 'auto' with a cache chose ${choice.first}, then ${choice.second}`);
  });

  /** Byte-equality of a runtime's outputs with Node.js's. */
  function expectNodeOutputs(runtime: string, result: SuccessfulCall): void {
    for (const output of result.outputs) {
      const expected = node.outputs.get(`${runtime} ${output.entryPoint}`)!;
      const actual = Buffer.from(output.base64, 'base64');
      expect(actual.length).toBe(expected.length);
      expect(actual.equals(expected)).toBe(true);
    }
  }

  /** A runtime call that must not be refused. */
  function ran(result: Result<'substrateCall'>): SuccessfulCall {
    if ('refused' in result) throw new Error(`refused: ${result.refused.kind}: ${result.refused.message}`);
    return result;
  }

  /** JSPI where the engine's probe refused it: the refusal itself, on both threads. */
  function refusedJspi(refusal: BackendProbe & { ok: false }): void {
    test(`JSPI is refused with NewError BackendUnsupported naming ${JSPI_NEEDS.what}, on the main thread and in a Worker`, async () => {
      // Refused only where the engine lacks it.
      expect(probe.where.jspi).toBe(false);
      expect(refusal).toMatchObject({ ok: false, error: 'NewError', kind: 'BackendUnsupported' });
      expect(refusal.message).toMatch(JSPI_NEEDS.named);
      for (const [, run] of threads) {
        const result = await run('substrateCall', { codeUrl: '/asset-hub.txt', backend: 'jspi', entryPoints: ['Core_version'] });
        expect(result).toMatchObject({ refused: { error: 'NewError', kind: 'BackendUnsupported' } });
      }
    });
  }

  /** The tests of each backend; see the file comment. */
  const backendTests: Record<Backend, Record<string, () => Promise<void>>> = { jspi: {}, asyncify: {} };
  for (const backend of BACKENDS) {
    const tests = backendTests[backend];
    const label = LABEL[backend];
    const source = backend === 'jspi' ? 'from the code' : 'from an artifact made by Node.js';
    for (const [where, run] of threads) {
      tests[`${label}: Asset Hub ${source} in ${where}: Core_version and Metadata_metadata, byte-equal to Node.js`] = async () => {
        const since = server.requests.length;
        const artifact = backend === 'asyncify' ? { artifactUrl: await artifactUrl('asset-hub', (await assetHubGenesis()).code, stackOf(e)) } : {};
        const result = ran(await run('substrateCall', { codeUrl: '/asset-hub.txt', entryPoints: ['Core_version', 'Metadata_metadata'], backend, ...artifact }));
        expect(result.backend).toBe(backend);
        expect(result.specName).toBe(node.assetHubVersion.specName);
        expect(result.specVersion).toBe(node.assetHubVersion.specVersion);
        expectNodeOutputs('asset-hub', result);
        expect(result.phases).not.toContain('transform');
        // Neither JSPI nor an artifact needs Binaryen.
        expect(downloadedBinaryen(since)).toBe(false);
        console.log(
          `${e.engine.version}, ${label} in ${result.where.thread}: create ${result.createMs.toFixed(0)} ms; ` +
            result.outputs.map((o) => `${o.entryPoint} ${o.ms.toFixed(0)} ms, ${o.pauses} pauses`).join('; '),
        );
      };
      if (westendPath !== null) {
        tests[`${label}: westend v9300 ${source} in ${where}: Metadata_metadata, byte-equal to Node.js`] = async () => {
          const artifact = backend === 'asyncify' ? { artifactUrl: await artifactUrl('westend', readFileSync(westendPath), stackOf(e)) } : {};
          const result = ran(await run('substrateCall', { codeUrl: '/westend.wasm', entryPoints: ['Metadata_metadata'], backend, ...artifact }));
          expect(result.backend).toBe(backend);
          expect(result.specName).toBe('westend');
          expectNodeOutputs('westend', result);
          console.log(`${e.engine.version}, ${label} in ${result.where.thread}: westend create ${result.createMs.toFixed(0)} ms; Metadata_metadata ${result.outputs[0]!.ms.toFixed(0)} ms`);
        };
      }
      tests[`${label}: the engine's limit on synchronous instantiation (a 9 MB module) in ${where}: the typed refusal where the engine refuses, the synchronous forms elsewhere; the asynchronous forms always`] =
        async () => {
          const synchronous = await run('synchronousCompile', { moduleUrl: '/large.wasm' });
          const result = await run('instantiationLimit', { moduleUrl: '/large.wasm', backend, cache: true });
          expect(result.wireBytes).toBeGreaterThan(8 * 1024 * 1024);
          const common = { cloneAsync: '0,1,2,3', renewedState: `${Math.ceil(9_000_000 / 65536) + 1} pages, 0,1,2,3`, resetIntoPrototype: 'ok' };
          if (synchronous === 'ok') {
            expect(result).toMatchObject({ ...common, clone: 'ok', intoPrototype: 'ok', stillUsable: 'consumed' });
          } else {
            expect(result).toMatchObject({
              ...common,
              clone: 'UsageError SynchronousInstantiationRefused',
              intoPrototype: 'UsageError SynchronousInstantiationRefused',
              stillUsable: 'ok',
            });
          }
          console.log(`${e.engine.version}, ${label} in ${result.where.thread}: a synchronous compile of 9 MB: ${synchronous === 'ok' ? 'allowed' : firstLine(synchronous)}`);
        };
    }
    tests[`${label}: the spec slice (${specSlice.scripts.length} scripts) on the main thread: every command as in Node.js (values and their bits, trap and refusal kinds)`] = async () => {
      const scripts = specSlice.scripts.map((s: SliceScript) => ({ url: sliceUrl(s), features: featuresOf(s.suite) }));
      const started = performance.now();
      const results = await onPage('specScripts', { backend, scripts });
      const seconds = (performance.now() - started) / 1000;
      // Node.js itself meets the spec on the slice.
      expect(node.spec[backend].flatMap((r) => r.unexpectedFailures)).toEqual([]);
      const { unexplained, explained } = sliceDifferences(specSlice.scripts, node.spec[backend], results, e.engine.version, differences);
      expect(unexplained).toEqual([]);
      // Each known difference of this engine shows in the slice (an entry no longer needed must go).
      expect(differences.filter((d) => (explained[d.id] ?? 0) === 0).map((d) => d.id)).toEqual([]);
      const commands = results.reduce((sum, r) => sum + r.observations.length, 0);
      const passed = results.reduce((sum, r) => sum + r.tally.passed, 0);
      expect(passed).toBeGreaterThan(0);
      console.log(
        `${e.engine.version}, ${label}: spec slice, ${commands} commands (${passed} passed), ` +
          (Object.keys(explained).length === 0
            ? 'exactly as in Node.js'
            : `as in Node.js but ${Object.entries(explained).map(([id, n]) => `${n} for ${id === 'spec' ? 'what the spec leaves to the engine' : id}`).join(', ')}`) +
          `, in ${seconds.toFixed(1)} s`,
      );
    };
    tests[`${label}: the spec slice with fuel, the default stack limit and canonical NaNs on the main thread: every command, and every call's fuel consumed and times out of fuel, as in Node.js`] = async () => {
      const scripts = specSlice.scripts.map((s: SliceScript) => ({ url: sliceUrl(s), features: featuresOf(s.suite) }));
      const started = performance.now();
      const results = await onPage('specScripts', { backend, scripts, bounds: SLICE_BOUNDS });
      const seconds = (performance.now() - started) / 1000;
      const expected = node.specBounds[backend];
      // Node.js itself meets the spec with the options (assert_exhaustion: the limit's trap; nan:* results canonical).
      expect(expected.flatMap((r) => r.unexpectedFailures)).toEqual([]);
      // The known differences of this engine may not show here (canonical NaNs hide those of NaN bits): none is required.
      const { unexplained, explained } = sliceDifferences(specSlice.scripts, expected, results, e.engine.version, differences);
      expect(unexplained).toEqual([]);
      const calls = results.reduce((sum, r) => sum + r.fuel.length, 0);
      const consumed = results.reduce((sum, r) => r.fuel.reduce((n, line) => n + BigInt(/fuel (\d+)/.exec(line)![1]!), sum), 0n);
      const exhausted = results.reduce((sum, r) => sum + r.observations.filter((o) => o.includes('assert_exhaustion: passed -> trap StackLimitExceeded')).length, 0);
      // Not vacuous: every call metered (each starts with no fuel), the stack limit reached before the engine's stack ran out.
      expect(calls).toBeGreaterThan(1000);
      expect(calls).toBe(expected.reduce((sum, r) => sum + r.fuel.length, 0));
      expect(exhausted).toBeGreaterThan(0);
      console.log(
        `${e.engine.version}, ${label}: spec slice with fuel, stack limit, canonical NaNs: ${results.reduce((sum, r) => sum + r.observations.length, 0)} commands ` +
          `(${results.reduce((sum, r) => sum + r.tally.passed, 0)} passed), ${calls} calls, ${consumed} fuel in all, ${exhausted} stack limit traps, as in Node.js` +
          (Object.keys(explained).length === 0 ? '' : ` but ${Object.entries(explained).map(([id, n]) => `${n} for ${id}`).join(', ')}`) +
          `, in ${seconds.toFixed(1)} s`,
      );
    };
    tests[`${label}: the fuzz corpus slice (${FUZZ_SLICE.length} modules) in a Worker: every record as in Node.js (results, trap kinds, import events, memory digests, globals)`] = async () => {
      const cases = node.fuzz.map((m, i) => ({ ...m.browserCase, url: `/fuzz/${i}.wasm`, unwindBufferPages: backend === 'jspi' ? null : m.browserCase.unwindBufferPages }));
      const started = performance.now();
      const runs = await inWorker('fuzzCases', { backend, cases });
      const seconds = (performance.now() - started) / 1000;
      expect(runs.length).toBe(node.fuzz.length);
      const message = probe.traits.memoryOutOfBounds;
      expect(node.fuzz.map((m, i) => fuzzDifference(m, backend, runs[i]!, differences, message)).filter((d) => d !== null)).toEqual([]);
      const ambiguous = runs.reduce((n, r) => n + (r.type === 'ran' ? r.record.calls.filter((c) => isAmbiguousTrap(c.outcome, message)).length : 0), 0);
      const ran = runs.filter((r) => r.type === 'ran');
      const interrupts = ran.reduce((sum, r) => sum + (r.type === 'ran' ? r.record.calls.reduce((n, c) => n + c.events.length, 0) : 0), 0);
      expect(ran.length).toBeGreaterThan(node.fuzz.length / 2);
      console.log(
        `${e.engine.version}, ${label}: fuzz slice, ${ran.length} of ${runs.length} modules run (${interrupts} interrupts), the rest refused as in Node.js` +
          (differences.some((d) => d.id === 'ambiguous-out-of-bounds') ? `; ${ambiguous} out-of-bounds traps compared without their kind` : '') +
          `, in ${seconds.toFixed(1)} s`,
      );
    };
    tests[`${label}: the fuzz corpus slice (${FUZZ_SLICE.length} modules) with fuel, a stack limit and canonical NaNs in a Worker: every record as in Node.js (fuel consumed, out-of-fuel points with random refills, stack-limit traps, NaN bits)`] = async () => {
      const modules = node.fuzz.map((m) => m.withBounds);
      const cases = modules.map((m, i) => ({ ...m.browserCase, url: `/fuzz/${i}.wasm`, unwindBufferPages: backend === 'jspi' ? null : m.browserCase.unwindBufferPages }));
      const started = performance.now();
      const runs = await inWorker('fuzzCases', { backend, cases });
      const seconds = (performance.now() - started) / 1000;
      expect(runs.length).toBe(modules.length);
      const message = probe.traits.memoryOutOfBounds;
      expect(modules.map((m, i) => fuzzDifference(m, backend, runs[i]!, differences, message)).filter((d) => d !== null)).toEqual([]);
      const ran = runs.filter((r) => r.type === 'ran');
      expect(ran.length).toBeGreaterThan(modules.length / 2);
      // Not vacuous: the calls ran out of fuel and were refilled, and the records hold the points.
      const outOfFuel = ran.reduce((sum, r) => sum + (r.type === 'ran' ? r.record.calls.reduce((n, c) => n + c.events.filter((event) => event.name === OUT_OF_FUEL).length, 0) : 0), 0);
      expect(outOfFuel).toBeGreaterThan(0);
      const limited = ran.reduce((sum, r) => sum + (r.type === 'ran' ? r.record.calls.filter((c) => c.outcome.type === 'trapped' && c.outcome.kind === 'StackLimitExceeded').length : 0), 0);
      // A NaN result that is not canonical (the guest's own bits, from a constant or a reinterpretation) loses them where the engine boxes NaNs.
      const boxed = differences.some((d) => d.id === 'nan-boxing')
        ? modules.reduce((sum, m) => sum + (m.plain.type === 'ran' ? m.plain.record.calls.filter((c) => c.outcome.type === 'returned' && /:nan:0x/.test(c.outcome.value ?? '') && !Object.values(CANONICAL_NAN).includes(c.outcome.value as never)).length : 0), 0)
        : 0;
      console.log(
        `${e.engine.version}, ${label}: fuzz slice with bounds, ${ran.length} of ${runs.length} modules run, ${outOfFuel} out-of-fuel points, ${limited} stack-limit traps, ` +
          `the rest refused as in Node.js (${runs.flatMap((r) => (r.type === 'refused' ? [r.kind] : [])).join(', ')})` +
          (boxed === 0 ? '' : `; ${boxed} non-canonical NaN results compared without their bits (nan-boxing)`) +
          `, in ${seconds.toFixed(1)} s`,
      );
    };
  }

  // What only one backend has: a transform in the browser and the artifact cache (Asyncify);
  // the example page, on JSPI, and a runtime over 8 MB.
  backendTests.asyncify['Asyncify: a transform in the browser runs on its Worker; with the IndexedDB cache, the second visit skips it and never downloads Binaryen'] = async () => {
    const first = await onPage('asyncifyCreate', { moduleUrl: '/busy.wasm', cache: true, clearCache: true });
    expect(first.cacheHit).toBe(false);
    expect(first.events.filter((event) => event.startsWith('transform:'))).toEqual(
      expect.arrayContaining(['transform:start', 'transform:read', 'transform:asyncify', 'transform:post-passes', 'transform:emit', 'transform:end']),
    );
    expect(first.events).toContain('cache-store:end');
    expect(first.result).toBe(node.busyResult);
    // The page's thread kept running its event loop all through the pass.
    expect(first.roundTripsDuringPass).toBeGreaterThanOrEqual(20);
    console.log(
      `${e.engine.version}: first visit: create ${first.createMs.toFixed(0)} ms (Asyncify pass ${first.passMs!.toFixed(0)} ms, ` +
        `${first.roundTripsDuringPass} message round trips on the page's thread meanwhile)`,
    );
    // The second visit: a new page load, the same origin.
    await page.reload();
    await pageReady(page);
    const since = server.requests.length;
    const second = await onPage('asyncifyCreate', { moduleUrl: '/busy.wasm', cache: true });
    expect(second.cacheHit).toBe(true);
    expect(second.events.filter((event) => event.startsWith('transform:'))).toEqual([]);
    expect(second.events).toContain('load-artifact:end');
    expect(second.result).toBe(node.busyResult);
    expect(downloadedBinaryen(since)).toBe(false);
    console.log(`${e.engine.version}: second visit: create ${second.createMs.toFixed(0)} ms from IndexedDB`);
  };
  backendTests.asyncify["Asyncify asked for each placement of its paused stack: single memory runs on every engine, a second memory only with multi-memory (else refused naming it)"] = async () => {
    const single = await onPage('backendProbe', { moduleUrl: '/small.wasm', backend: 'asyncify', asyncifyStack: 'single-memory' });
    expect(single).toEqual({ ok: true, result: node.smallResult, asyncifyStack: 'single-memory' });
    const second = await onPage('backendProbe', { moduleUrl: '/small.wasm', backend: 'asyncify', asyncifyStack: 'second-memory' });
    if (probe.where.multiMemory) {
      expect(second).toEqual({ ok: true, result: node.smallResult, asyncifyStack: 'second-memory' });
    } else {
      expect(second).toMatchObject({ ok: false, error: 'NewError', kind: 'BackendUnsupported' });
      expect((second as { message: string }).message).toMatch(/multi-memory/);
    }
  };
  backendTests.asyncify["Asyncify: the IndexedDB cache's rules: keys, exact bytes, foreign values, a damaged artifact rebuilt and replaced"] = async () => {
    const result = await onPage('cacheRules', { moduleUrl: '/small.wasm' });
    expect(result.badKeys).toEqual([': TypeError', '../escape: TypeError', `${'A'.repeat(64)}: TypeError`, `${'0'.repeat(63)}: TypeError`]);
    expect(result.storedBytes).toEqual([10, 11, 12, 13]);
    expect(result.foreign).toBe('undefined');
    // The damaged entry is found, refused by the artifact's checksum, transformed again and replaced.
    expect(result.damaged.events).toEqual(expect.arrayContaining(['cache-lookup:hit', 'transform', 'cache-store']));
    expect(result.damaged.events).not.toContain('load-artifact');
    expect(result.damaged.replaced).toBe(true);
  };
  backendTests.asyncify['Asyncify: a transform started in a Worker runs on a Worker of its own'] = async () => {
    const result = await inWorker('asyncifyCreate', { moduleUrl: '/small.wasm', cache: false });
    expect(result.where.thread).toBe('worker');
    expect(result.events).toEqual(expect.arrayContaining(['transform:asyncify', 'transform:end']));
    expect(result.result).toBe(node.smallResult);
  };
  for (const thread of ['worker', 'main']) {
    backendTests.jspi[`JSPI: the example page (examples/browser) runs Asset Hub in ${thread}`] = async () => {
      await exampleSite();
      const example = await e.engine.openPage(`${server.origin}/example/?backend=jspi&thread=${thread}`);
      try {
        const text = await example.evaluate(
          () =>
            new Promise<string>((resolve) => {
              const check = (): void => {
                const state = document.body.dataset['state'];
                if (state === 'done' || state === 'error') resolve(document.body.innerText);
                else setTimeout(check, 20);
              };
              check();
            }),
        );
        expect(text).toContain(`${node.assetHubVersion.specName} ${node.assetHubVersion.specVersion}`);
        expect(text).toMatch(new RegExp(`runs in\\s+${thread === 'main' ? 'main thread' : 'Worker'}`));
        expect(text).toMatch(/Metadata_metadata\s+metadata version 14, [\d,]+ bytes/);
        expect(text).toMatch(/AuraApi_authorities\s+4 authorities/);
        expect(text).toMatch(/done in [\d.]+ (ms|s)/);
      } finally {
        await example.close();
      }
    };
  }
  if (paseoPath !== null) {
    backendTests.jspi['JSPI: a runtime over 8 MB (the Paseo relay, shared data) on the main thread, byte-equal to Node.js'] = async () => {
      const wasm = readGenesis(paseoPath).wasm;
      server.route('/paseo.wasm', { body: wasm });
      const runtime = await SubstrateRuntime.create({ code: wasm, backend: 'jspi' });
      const expected = Buffer.from((await runtimeCall(runtime, 'Metadata_metadata', new Uint8Array(), { storage: { get: () => null } })).output);
      const result = ran(await onPage('substrateCall', { codeUrl: '/paseo.wasm', backend: 'jspi', entryPoints: ['Metadata_metadata', 'Metadata_metadata'] }));
      expect(result.codeBytes).toBeGreaterThan(8 * 1024 * 1024);
      expect(result.where.thread).toBe('main');
      for (const output of result.outputs) expect(Buffer.from(output.base64, 'base64').equals(expected)).toBe(true);
      console.log(
        `${e.engine.version}: paseo (${(result.codeBytes / 1e6).toFixed(1)} MB) in main: create ${result.createMs.toFixed(0)} ms; ` +
          result.outputs.map((o) => `${o.ms.toFixed(0)} ms`).join(', '),
      );
    };
  }

  for (const backend of BACKENDS) {
    const verdict = probe.backends[backend];
    describe(LABEL[backend], () => {
      if (verdict.ok) {
        for (const [name, body] of Object.entries(backendTests[backend])) test(name, body);
      } else if (backend === 'jspi') {
        refusedJspi(verdict);
      } else {
        test('Asyncify runs (it needs nothing beyond WebAssembly: single-memory where the engine has no multi-memory)', () => {
          throw new Error(`Asyncify was refused: ${verdict.kind}: ${verdict.message}`);
        });
      }
    });
  }
});

/** Builds the example site once and serves it at `/example/`. */
let exampleBuilt: Promise<void> | null = null;
function exampleSite(): Promise<void> {
  exampleBuilt ??= (async () => {
    const site = join(folder, 'example');
    const files = await buildSite(site);
    for (const file of files) server.route(`/example/${file.file}`, { file: join(site, file.file) });
    server.route('/example/', { body: readFileSync(join(site, 'index.html')), type: 'text/html; charset=utf-8' });
  })();
  return exampleBuilt;
}
