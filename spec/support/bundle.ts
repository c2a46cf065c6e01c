/**
 * Bundling the built package (`dist/`, which `npm test` builds first) as a page would, with
 * esbuild: from a consumer folder where `node_modules/resumable-wasm` is this repository, so
 * that the package's `exports` map is what resolves the entry points. For the size budget
 * (`spec/bundle.test.ts`) and the pages of the browser tests (`spec/browser.test.ts`).
 */
import { build, type Metafile } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, lstatSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A folder whose `node_modules/resumable-wasm` is this repository. */
export function consumerFolder(prefix = 'resumable-wasm-bundle-'): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(folder, 'node_modules'));
  symlinkSync(REPO_ROOT, join(folder, 'node_modules', 'resumable-wasm'), 'dir');
  return folder;
}

/** A consumer project that installed the package from its packed tarball, as a user does. */
export interface PackedConsumer {
  readonly folder: string;
  /** The tarball: its size, unpacked size and file count, as `npm pack --json` reports them. */
  readonly tarball: { readonly bytes: number; readonly unpackedBytes: number; readonly files: number; readonly paths: readonly string[] };
  /** The bytes of every file under the consumer's `node_modules` (what `du -b` counts as content). */
  readonly nodeModulesBytes: number;
}

/**
 * A new project (`package.json` with `"type": "module"`) in which `npm install` installed this
 * package from the tarball `npm pack` makes of `dist/` as built (scripts not run again), its
 * dependencies from the npm cache the project's own install filled (`--prefer-offline`).
 */
export function packedConsumerFolder(prefix = 'resumable-wasm-packed-'): PackedConsumer {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  const run = (args: string[], cwd: string): string => {
    const result = spawnSync('npm', args, { cwd, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    return result.stdout;
  };
  const [packed] = JSON.parse(run(['pack', '--json', '--ignore-scripts', '--pack-destination', folder], REPO_ROOT)) as {
    filename: string;
    size: number;
    unpackedSize: number;
    entryCount: number;
    files: { path: string }[];
  }[];
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run(['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', `./${packed!.filename}`], folder);
  return {
    folder,
    tarball: { bytes: packed!.size, unpackedBytes: packed!.unpackedSize, files: packed!.entryCount, paths: packed!.files.map((f) => f.path) },
    nodeModulesBytes: contentBytes(join(folder, 'node_modules')),
  };
}

/** The sizes of the files under `dir`, added up (links not followed). */
function contentBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += contentBytes(path);
    else if (entry.isFile()) total += lstatSync(path).size;
  }
  return total;
}

/** One output file of a bundle. */
export interface Chunk {
  readonly path: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Whether the page loads it at once: the entry, or a chunk the entry imports statically. */
  readonly initial: boolean;
  /** The package inputs in it (`binaryen`, `@noble/curves`, `resumable-wasm/dist/...`). */
  readonly inputs: readonly string[];
}

/** The result of {@link bundleForBrowser}. */
export interface Bundle {
  readonly outdir: string;
  readonly chunks: readonly Chunk[];
  /** What a page downloads before it runs: the initial chunks, minified, gzip level 9. */
  readonly initialGzipBytes: number;
  readonly metafile: Metafile;
}

/**
 * Bundles the module `source` (written as `entry.js` in `folder`) for browsers: ES modules
 * with code splitting (a dynamic import becomes a chunk of its own), minified, no plugins, no
 * configuration beyond the platform. esbuild fails the build on anything it cannot resolve for
 * a browser (a Node.js built-in), which then rejects here.
 */
export async function bundleForBrowser(folder: string, source: string, name = 'entry'): Promise<Bundle> {
  const entry = join(folder, `${name}.js`);
  writeFileSync(entry, source);
  const outdir = join(folder, `out-${name}`);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    splitting: true,
    minify: true,
    outdir,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: folder,
  });
  const metafile = result.metafile;
  const outputs = metafile.outputs;
  const entryOutput = Object.keys(outputs).find((path) => outputs[path]!.entryPoint !== undefined)!;
  const initial = new Set<string>();
  const visit = (path: string): void => {
    if (initial.has(path)) return;
    initial.add(path);
    for (const imported of outputs[path]!.imports) if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
  };
  visit(entryOutput);
  const chunks = Object.entries(outputs)
    .filter(([path]) => path.endsWith('.js'))
    .map(([path, output]) => {
      const bytes = readFileSync(join(folder, path));
      return {
        path,
        bytes: bytes.length,
        gzipBytes: gzipSync(bytes, { level: 9 }).length,
        initial: initial.has(path),
        inputs: [...new Set(Object.keys(output.inputs).map(packageOf))],
      };
    });
  return {
    outdir,
    chunks,
    initialGzipBytes: chunks.filter((c) => c.initial).reduce((sum, c) => sum + c.gzipBytes, 0),
    metafile,
  };
}

/** `node_modules/<package>` (or this repository's `dist/<folder>`) of an input path. */
function packageOf(input: string): string {
  const dist = /(?:^|\/)dist\/(?:([^/]+)\/)?[^/]+$/.exec(input);
  if (!input.includes('node_modules/') || input.includes('node_modules/resumable-wasm/')) {
    return dist === null ? input : `resumable-wasm/dist/${dist[1] ?? ''}`;
  }
  const match = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return match === null ? input : match[1]!;
}
