/**
 * Bundles the pages the browser tests and the browser benchmark load, with esbuild: ES modules
 * with code splitting, the package imported by name from a consumer folder (so its `exports`
 * map resolves it to `dist/`, as in an application).
 *
 * The test pages also run the repository's own harnesses (the spec-suite runner, the fuzzer's VM
 * side, the Substrate harness), which import the library by relative path (`../../lib/...`) and
 * a Node.js built-in or two. Two plugins make that one bundle with one copy of the library:
 * - every import of a file under `lib/` resolves to its build in `dist/`, the very files the
 *   package name resolves to (two copies would have two `NewError` classes, two symbols...);
 * - the Node.js built-ins a harness imports resolve to stand-ins: `node:crypto` to SHA-1 by
 *   `@noble/hashes` (`spec/browser/node-crypto-sha1.ts`), and the ones listed in `stubs` to a
 *   module whose functions throw if called. Any other built-in fails the build.
 * The library itself needs none of this: `spec/bundle.test.ts` and the example page bundle it
 * with no plugin at all.
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { REPO_ROOT } from './shared.js';

/** The source of a stand-in for a Node.js built-in that a page must never call. */
function stubSource(builtin: string, names: readonly string[]): string {
  return names
    .map((name) => `export function ${name}() { throw new Error('${builtin} ${name}() is not available in a browser page'); }`)
    .join('\n');
}

/** The plugins described in the module documentation. */
function harnessPlugin(stubs: Readonly<Record<string, readonly string[]>>): Plugin {
  const lib = join(REPO_ROOT, 'lib') + sep;
  const dist = join(REPO_ROOT, 'dist') + sep;
  const sha1 = join(REPO_ROOT, 'spec', 'browser', 'node-crypto-sha1.ts');
  return {
    name: 'resumable-wasm-harness',
    setup(plugin) {
      plugin.onResolve({ filter: /^\.\.?\// }, (args) => {
        const target = resolve(args.resolveDir, args.path);
        if (!target.startsWith(lib)) return undefined;
        const built = join(dist, target.slice(lib.length)).replace(/\.ts$/, '.js');
        if (!existsSync(built)) return { errors: [{ text: `${built} does not exist: run npm run build first` }] };
        return { path: built };
      });
      plugin.onResolve({ filter: /^node:/ }, (args) => {
        if (args.path === 'node:crypto') return { path: sha1 };
        if (stubs[args.path] !== undefined) return { path: args.path, namespace: 'node-stub' };
        return { errors: [{ text: `${args.path} (imported by ${args.importer}) has no stand-in for browsers` }] };
      });
      plugin.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({ contents: stubSource(args.path, stubs[args.path]!), loader: 'js' }));
    },
  };
}

/** What {@link bundlePages} built. */
export interface PageBundle {
  readonly outdir: string;
  /** The output files' names (no folder), to serve at `/<name>`. */
  readonly files: readonly string[];
  readonly metafile: Metafile;
}

/**
 * Bundles `entryPoints` (absolute paths) into `outdir`. `consumer` is a folder whose
 * `node_modules/resumable-wasm` is this repository (`consumerFolder()` in `bundle.ts`).
 */
export async function bundlePages(options: {
  readonly entryPoints: readonly string[];
  readonly outdir: string;
  readonly consumer: string;
  /** Node.js built-ins to stand in for with throwing functions, with the names imported from each. */
  readonly stubs?: Readonly<Record<string, readonly string[]>>;
}): Promise<PageBundle> {
  const result = await build({
    entryPoints: [...options.entryPoints],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    splitting: true,
    outdir: options.outdir,
    metafile: true,
    logLevel: 'silent',
    nodePaths: [join(options.consumer, 'node_modules')],
    plugins: [harnessPlugin(options.stubs ?? {})],
  });
  const files = Object.keys(result.metafile.outputs).map((path) => path.split('/').pop()!);
  return { outdir: options.outdir, files, metafile: result.metafile };
}

/** The output file (its name) holding the input whose path ends with `suffix`, or `null`. */
export function outputHolding(bundle: PageBundle, suffix: string): string | null {
  const found = Object.entries(bundle.metafile.outputs).find(([, output]) => Object.keys(output.inputs).some((input) => input.endsWith(suffix)));
  return found === undefined ? null : found[0].split('/').pop()!;
}
