/**
 * The transform's thread in Node.js: the entry of the `worker_threads` Worker that
 * `transform-thread.ts` starts. Node.js-only; nothing imports this file (the Worker is given its
 * URL), so bundles never see it.
 *
 * **Built** (`dist/`, as the package is installed): it runs the same bundle as a browser's
 * Worker, Binaryen included (`browser-worker-source.js`, written by the build), imported from a
 * `data:` URL. So an installed package needs no `binaryen` package (a devDependency, for the
 * build), and the bundle is read only here, when a transform runs: a JSPI or artifact user never
 * loads it.
 *
 * **From the TypeScript sources** (the tests), where that file is an empty stand-in, it serves
 * transforms with `worker-serve.ts` and the `binaryen` package. Node.js strips the types of this
 * file itself, but the sources import each other as `./x.js`, which exists only once compiled: a
 * resolve hook then finds `./x.ts` instead. Compiled, the hook is never installed.
 *
 * @module
 */

import { existsSync, readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';
import { parentPort } from 'node:worker_threads';

if (parentPort === null) throw new Error('node-worker.js is the entry of a worker thread, started by resumable-wasm');
const port = parentPort;

if (import.meta.url.endsWith('.ts')) {
  nodeModule.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts') === true) {
        const source = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
        if (existsSync(fileURLToPath(source))) return nextResolve(source.href, context);
      }
      return nextResolve(specifier, context);
    },
  });
}

const source = import.meta.url.endsWith('.ts') ? null : await builtWorkerSource();
if (source !== null) {
  // The bundle serves on parentPort itself (browser-worker.ts).
  await importSource(source);
} else {
  const { serveTransforms } = await import('./worker-serve.js');
  serveTransforms({
    post: (reply, transfer) => port.postMessage(reply, [...transfer]),
    listen: (handler) => port.on('message', handler),
  });
}

/** The bundle's UTF-8 source, from the built `browser-worker-source.js`; `null` for the stand-in. */
async function builtWorkerSource(): Promise<Uint8Array | null> {
  const { workerSourceOf } = await import('./worker-source-text.js');
  const source = workerSourceOf(readFileSync(new URL('./browser-worker-source.js', import.meta.url)));
  return source === null || source.length === 0 ? null : source;
}

/**
 * Imports the module whose source is `source`: served by a load hook under a URL of its own
 * where this Node.js has `module.registerHooks` (22.15, 23.5 and later), else from a `data:`
 * URL (which costs seconds more: the URL is parsed and decoded as a 23 MB string).
 */
async function importSource(source: Uint8Array): Promise<void> {
  if (typeof nodeModule.registerHooks !== 'function') {
    await import(`data:text/javascript;base64,${Buffer.from(source.buffer, source.byteOffset, source.length).toString('base64')}`);
    return;
  }
  const url = new URL('./transform-worker-bundle.js', import.meta.url).href;
  nodeModule.registerHooks({
    resolve: (specifier, context, nextResolve) => (specifier === url ? { url, shortCircuit: true } : nextResolve(specifier, context)),
    load: (loaded, context, nextLoad) => (loaded === url ? { format: 'module', source, shortCircuit: true } : nextLoad(loaded, context)),
  });
  await import(url);
}
