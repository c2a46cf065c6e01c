/**
 * Builds the browser example into `outdir` with esbuild: the page (`main.ts`) and its Worker
 * (`worker.ts`) as ES modules with code splitting, and `index.html`. The package is imported by
 * name (`resumable-wasm`, resolved through its `exports` to `dist/`, so `npm run build` comes
 * first), exactly as in an application: no plugin, no alias, no setting beyond the platform.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The example's sources, whether this file runs from `examples/` or compiled from `build/examples/`. */
function sourceFolder(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.includes('/build/examples/') ? here.replace('/build/examples/', '/examples/') : here;
}

/** One output file and whether the page loads it at once (else: when a Worker or a transform needs it). */
export interface SiteFile {
  readonly file: string;
  readonly bytes: number;
  readonly initial: boolean;
}

export async function buildSite(outdir: string): Promise<SiteFile[]> {
  const source = sourceFolder();
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: [join(source, 'main.ts'), join(source, 'worker.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    splitting: true,
    minify: true,
    sourcemap: true,
    outdir,
    metafile: true,
    logLevel: 'warning',
  });
  copyFileSync(join(source, 'index.html'), join(outdir, 'index.html'));
  const outputs = result.metafile.outputs;
  const initial = new Set<string>();
  const visit = (path: string): void => {
    if (initial.has(path)) return;
    initial.add(path);
    for (const imported of outputs[path]!.imports) if (imported.kind === 'import-statement') visit(imported.path);
  };
  visit(Object.keys(outputs).find((path) => outputs[path]!.entryPoint?.endsWith('main.ts'))!);
  return Object.keys(outputs)
    .filter((path) => path.endsWith('.js'))
    .map((path) => ({ file: path.split('/').pop()!, bytes: statSync(path).size, initial: initial.has(path) }));
}
