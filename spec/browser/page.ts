/**
 * The browser tests' page (main thread): exposes the suite as `window.suite`,
 * `window.inWorker(name, argument)` to run the same function in a module Worker, and
 * `window.pageLog`, what the page reported of errors (uncaught errors, unhandled rejections,
 * `console.error` and `console.warn`), which the test prints when it is not empty: every driver
 * can read a global, not every driver forwards the console.
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

const pageLog: string[] = [];
addEventListener('error', (event) => pageLog.push(`uncaught: ${event.message}`));
addEventListener('unhandledrejection', (event) => pageLog.push(`unhandled rejection: ${String(event.reason)}`));
for (const level of ['error', 'warn'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    pageLog.push(`console.${level}: ${args.map(String).join(' ')}`);
    original(...args);
  };
}

Object.assign(globalThis, { suite: SUITE, inWorker, pageLog });
document.title = 'ready';
