/**
 * Browser bundles, as a page's bundler makes them from the published package: esbuild, for the
 * browser, with code splitting and minification and no other setting (no plugin, no external,
 * no alias). Each entry point must bundle without a Node.js built-in, Binaryen must only be in a
 * chunk loaded when a transform runs, and what a page downloads before it runs must stay within
 * the budget: the core API 35 KB gzip, the core and the Substrate layer 95 KB gzip (80 until the
 * Merkle proof checks of light clients, `ProofStorage` and `ext_trie_*_verify_proof`, added about
 * 5 KB; 85 until fuel, the stack limit and single-memory Asyncify, whose machine states, config
 * checks and guest-memory view are in the core, added about 3.5 KB; their code rewriter is a
 * lazy chunk). The core was 30 until snapshots and journals: the machine's journal hooks and
 * snapshot methods added about 3.5 KB; the formats, the checks and the replay are a lazy chunk.
 * The Substrate layer's suspended calls (`callSuspendable`, `resumeCall`: their framing and the
 * call's state) added about 3 KB to core+substrate: 90 became 95.
 */
import { rmSync } from 'node:fs';
import { type Bundle, bundleForBrowser, consumerFolder } from './support/bundle.js';
import { documentedNumbers, recordNumbers } from './support/numbers.js';

const KB = 1024;

/** What each page imports, and its budget for the initial download (gzip). */
const PAGES = [
  { name: 'core', source: "export * from 'resumable-wasm';", budget: 35 * KB },
  { name: 'core+substrate', source: "export * from 'resumable-wasm';\nexport * from 'resumable-wasm/substrate';", budget: 95 * KB },
  { name: 'browser', source: "export * from 'resumable-wasm';\nexport * from 'resumable-wasm/browser';", budget: 36 * KB },
] as const;

let folder: string;
const bundles = new Map<string, Bundle>();

beforeAll(async () => {
  folder = consumerFolder();
  for (const page of PAGES) bundles.set(page.name, await bundleForBrowser(folder, page.source, page.name.replace('+', '-')));
  const lines = PAGES.map((page) => {
    const bundle = bundles.get(page.name)!;
    const initial = bundle.chunks.filter((c) => c.initial);
    const lazy = bundle.chunks.filter((c) => !c.initial);
    return (
      `${page.name}: initial ${(bundle.initialGzipBytes / KB).toFixed(1)} KB gzip ` +
      `(${(initial.reduce((s, c) => s + c.bytes, 0) / KB).toFixed(1)} KB minified; budget ${page.budget / KB} KB); ` +
      `lazy: ${lazy.map((c) => `${(c.bytes / 1e6).toFixed(1)} MB (${(c.gzipBytes / 1e6).toFixed(2)} MB gzip)`).join(', ')}`
    );
  });
  console.info(lines.join('\n'));
  const worker = bundles.get('core')!.chunks.find((c) => !c.initial && c.bytes > 10_000_000)!;
  recordNumbers('bundle', {
    ...Object.fromEntries(PAGES.map((page) => [`bundle.${page.name}.kb`, Number((bundles.get(page.name)!.initialGzipBytes / KB).toFixed(1))])),
    'bundle.worker.mb': Number((worker.bytes / 1e6).toFixed(1)),
    'bundle.worker.gzip-mb': Number((worker.gzipBytes / 1e6).toFixed(1)),
  });
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe.each(PAGES)('$name', (page) => {
  test('bundles with no Node.js built-in', () => {
    // The build itself would have failed on one; and none is left external.
    const inputs = Object.keys(bundles.get(page.name)!.metafile.inputs);
    expect(inputs.filter((path) => path.startsWith('node:'))).toEqual([]);
    for (const output of Object.values(bundles.get(page.name)!.metafile.outputs)) {
      expect(output.imports.filter((i) => i.external)).toEqual([]);
    }
  });

  test(`what a page downloads first is within ${page.budget / KB} KB gzip`, () => {
    expect(bundles.get(page.name)!.initialGzipBytes).toBeLessThanOrEqual(page.budget);
  });

  test('Binaryen is only in the lazy chunk of the transform Worker', () => {
    const chunks = bundles.get(page.name)!.chunks;
    for (const chunk of chunks.filter((c) => c.initial)) {
      expect(chunk.inputs).not.toContain('binaryen');
      expect(chunk.inputs).not.toContain('resumable-wasm/dist/transform/browser-worker-source.js');
    }
    const lazy = chunks.filter((c) => !c.initial);
    // The lazy chunks: the worker's source (Binaryen bundled into a string), the Asyncify
    // backend's loading (the transform's thread, artifacts, the cache), and the artifacts'
    // checksum hasher (xxhash-wasm; an empty stub where the Substrate layer's own hashing
    // already loads it); nothing imports binaryen itself.
    const worker = lazy.filter((c) => c.bytes > 10_000_000);
    expect(worker).toHaveLength(1);
    expect(worker[0]!.inputs).toEqual(['resumable-wasm/dist/transform']);
    // The others are small: the loading of a backend used only when it runs, a hasher.
    for (const other of lazy.filter((c) => c !== worker[0])) expect(other.bytes).toBeLessThan(60_000);
    expect(chunks.flatMap((c) => c.inputs)).not.toContain('binaryen');
  });
});

test("resumable-wasm/node resolves to a stand-in in a browser bundle, so code for both environments bundles", async () => {
  const source = `import { FileArtifactCache } from 'resumable-wasm/node';
import { IndexedDbArtifactCache } from 'resumable-wasm/browser';
export const cacheFor = (node) => (node ? new FileArtifactCache('.cache') : new IndexedDbArtifactCache());`;
  const bundle = await bundleForBrowser(folder, source, 'both');
  const inputs = Object.keys(bundle.metafile.inputs);
  expect(inputs.some((path) => path.endsWith('dist/node/browser-stand-in.js'))).toBe(true);
  expect(inputs.some((path) => path.endsWith('dist/node/file-artifact-cache.js'))).toBe(false);
  expect(inputs.filter((path) => path.startsWith('node:'))).toEqual([]);
  // Constructed in a browser, the stand-in says what to use instead.
  const { FileArtifactCache } = await import('../lib/node/browser-stand-in.js');
  expect(() => new FileArtifactCache('.cache')).toThrow(expect.objectContaining({ name: 'UsageError', kind: 'UnsupportedEnvironment' }));
  expect(() => new FileArtifactCache('.cache')).toThrow(/IndexedDbArtifactCache from resumable-wasm\/browser/);
});

test('the Substrate layer is what adds the crypto libraries', () => {
  const core = bundles.get('core')!.chunks.flatMap((c) => c.inputs);
  const substrate = bundles.get('core+substrate')!.chunks.flatMap((c) => c.inputs);
  expect(core).not.toContain('@noble/curves');
  expect(substrate).toEqual(expect.arrayContaining(['@noble/curves', '@scure/sr25519', 'fzstd']));
});

test("the README's table is this run's sizes (within 10%: npm run docs:numbers writes them)", () => {
  const documented = documentedNumbers();
  for (const page of PAGES) {
    const measured = bundles.get(page.name)!.initialGzipBytes / KB;
    expect(Math.abs(Number(documented[`bundle.${page.name}.kb`]!.value) - measured) / measured).toBeLessThan(0.1);
  }
});
