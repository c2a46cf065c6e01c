/**
 * The transform's thread in a browser: the entry of the module Worker that
 * `transform-thread.ts` starts. The build (`scripts/build-browser-worker.mjs`) bundles this file
 * with `worker-serve.ts`, `instrument.ts` and Binaryen into one self-contained script, kept as a
 * string in `browser-worker-source.js`; the Worker runs it from a `blob:` URL. Nothing imports
 * this file.
 *
 * @module
 */

import { type TransformRequest, serveTransforms } from './worker-serve.js';

/** The dedicated worker's global scope, as much of it as this file uses. */
interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<TransformRequest>) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
serveTransforms({
  post: (reply, transfer) => scope.postMessage(reply, [...transfer]),
  listen: (handler) => scope.addEventListener('message', (event) => handler(event.data)),
});
