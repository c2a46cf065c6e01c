/**
 * The browser tests' page (main thread): exposes the suite as `window.suite`, and
 * `window.inWorker(name, argument)` to run the same function in a module Worker.
 */
import { SUITE, type SuiteName } from './suite.js';

interface WorkerReply {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

function inWorker(name: SuiteName, argument: unknown): Promise<unknown> {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      worker.terminate();
      if (event.data.ok) resolve(event.data.value);
      else reject(new Error(event.data.error));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`the Worker failed: ${event.message}`));
    };
    worker.postMessage({ name, argument });
  });
}

Object.assign(globalThis, { suite: SUITE, inWorker });
document.title = 'ready';
