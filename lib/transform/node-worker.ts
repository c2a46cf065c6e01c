/**
 * The transform's thread in Node.js: the entry of the `worker_threads` Worker that
 * `transform-thread.ts` starts. Node.js-only; nothing imports this file (the Worker is given its
 * URL), so bundles never see it.
 *
 * Run from the TypeScript sources (the tests do), Node.js strips the types of this file itself,
 * but the sources import each other as `./x.js`, which exists only once compiled: a resolve hook
 * then finds `./x.ts` instead. Compiled (`dist/`), the hook is never installed.
 *
 * @module
 */

import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parentPort } from 'node:worker_threads';

if (parentPort === null) throw new Error('node-worker.js is the entry of a worker thread, started by resumable-wasm');
const port = parentPort;

if (import.meta.url.endsWith('.ts')) {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts') === true) {
        const source = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
        if (existsSync(fileURLToPath(source))) return nextResolve(source.href, context);
      }
      return nextResolve(specifier, context);
    },
  });
}

const { serveTransforms } = await import('./worker-serve.js');
serveTransforms({
  post: (reply, transfer) => port.postMessage(reply, [...transfer]),
  listen: (handler) => port.on('message', handler),
});
