/**
 * The transform's thread as the build bundles it: the entry of the module Worker that
 * `transform-thread.ts` starts in a browser, and of the `worker_threads` Worker it starts in
 * Node.js (through `node-worker.ts`). The build (`scripts/build-browser-worker.mjs`) bundles
 * this file with `worker-serve.ts`, `instrument.ts` and Binaryen into one self-contained script,
 * kept as a string in `browser-worker-source.js`: a browser's Worker runs it from a `blob:`
 * URL, Node.js's worker imports it from a `data:` URL. Nothing imports this file.
 *
 * It serves on Node.js's `parentPort` where there is one, else on the Worker's global scope.
 *
 * @module
 */

import { type TransformRequest, type WorkerEndpoint, serveTransforms } from './worker-serve.js';

/** The dedicated worker's global scope, as much of it as this file uses. */
interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<TransformRequest>) => void): void;
}

/** Node.js's `parentPort`, reached without an import (this file is bundled for browsers). */
interface ParentPort {
  postMessage(message: unknown, transfer: readonly ArrayBuffer[]): void;
  on(event: 'message', listener: (request: TransformRequest) => void): void;
}

function endpoint(): WorkerEndpoint {
  const process = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  const port = (process?.getBuiltinModule?.('node:worker_threads') as { parentPort?: ParentPort | null } | undefined)?.parentPort;
  if (port !== undefined && port !== null) {
    return { post: (reply, transfer) => port.postMessage(reply, [...transfer]), listen: (handler) => port.on('message', handler) };
  }
  const scope = globalThis as unknown as WorkerScope;
  return {
    post: (reply, transfer) => scope.postMessage(reply, [...transfer]),
    listen: (handler) => scope.addEventListener('message', (event) => handler(event.data)),
  };
}

serveTransforms(endpoint());
