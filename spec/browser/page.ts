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

/**
 * How long a Worker may take to load its module and say it is ready: a hang guard, not a test
 * budget (as the test's `pageReady`). Once it is ready its task runs for as long as it takes.
 */
const WORKER_START_GUARD_MS = 120_000;

/**
 * Runs suite function `name` in a new module Worker. The task is posted only once the Worker has
 * said it is ready (its module evaluated, its listener in place), and a Worker that never gets
 * there, or whose message cannot be read, fails the call with what is known instead of leaving it
 * pending until the test's own timeout (seen once in Chromium: a Worker that loaded its chunks
 * and never answered, the test still waiting 20 minutes later).
 */
function inWorker(name: SuiteName, argument: unknown): Promise<unknown> {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      worker.terminate();
      reject(new Error(`the Worker for ${name} did not start within ${WORKER_START_GUARD_MS / 1000} s`));
    }, WORKER_START_GUARD_MS);
    worker.onmessage = (event: MessageEvent<WorkerReply | 'ready'>) => {
      if (event.data === 'ready') {
        clearTimeout(guard);
        worker.postMessage({ name, argument });
        return;
      }
      worker.terminate();
      if (event.data.ok) resolve(event.data.value);
      else reject(new Error(event.data.error));
    };
    worker.onmessageerror = () => {
      clearTimeout(guard);
      worker.terminate();
      reject(new Error(`the Worker's answer for ${name} could not be read`));
    };
    worker.onerror = (event) => {
      clearTimeout(guard);
      worker.terminate();
      reject(new Error(`the Worker failed: ${event.message}`));
    };
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
