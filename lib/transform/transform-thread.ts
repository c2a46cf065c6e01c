/**
 * The transform off the calling thread.
 *
 * Binaryen's Asyncify pass runs to completion without yielding: seconds for a real runtime
 * (tens of seconds for the largest). On the calling thread that would freeze a page, or stop a
 * server's (or the CLI's) event loop, for as long. So the transform runs on a thread of its own:
 *
 * - **Node.js**: a `worker_threads` Worker running `node-worker.ts` (reached through
 *   `process.getBuiltinModule`, never an `import`, so that browser bundles see no Node.js
 *   built-in), which runs the same bundle as browsers once built (see `node-worker.ts`);
 * - **browsers** (and any engine with a `Worker` but no `worker_threads`): a module Worker
 *   whose source, `browser-worker.ts` bundled with Binaryen, is imported lazily from
 *   `browser-worker-source.ts` and started from a `blob:` URL. Bundlers put that import in a
 *   chunk of its own, so Binaryen is downloaded only when a transform runs.
 *
 * One thread serves every transform of the process (or page), one at a time, and stays a while
 * after the last one: loading Binaryen costs about a second, which the next transform then
 * skips. It ends after {@link IDLE_MS} without work, and never keeps a Node.js process alive on
 * its own. If it fails (it could not start, or it died: out of memory, a `Content-Security-
 * Policy` without `worker-src blob:`), every transform waiting on it fails with
 * `NewError('TransformUnavailable')`, and the next one starts a new thread.
 *
 * @module
 */

import { NewError } from '../base/errors.js';
import type { TransformStep } from '../base/progress.js';
import type { InstrumentOptions, Instrumented } from './transform-options.js';
import type { TransformReply, TransformRequest } from './worker-serve.js';

/** How long the thread stays after its last transform, in milliseconds. */
export const IDLE_MS = 20_000;

/** A transform in flight. */
interface Job {
  readonly onStep: (step: TransformStep) => void;
  readonly resolve: (result: Instrumented) => void;
  readonly reject: (error: unknown) => void;
}

/** What the two kinds of Worker have in common, as used here. */
interface ThreadHandle {
  post(request: TransformRequest): void;
  terminate(): void;
  /** Node.js: whether the thread keeps the process alive (while a transform is pending). */
  keepAlive(on: boolean): void;
}

/** The transform that failed on the thread itself (Binaryen refused the module). */
export class TransformRefused extends Error {
  override readonly name = 'TransformRefused';
}

/**
 * Instruments `bytes` (already renamed) on the transform's thread, calling `onStep` as each
 * step begins there. Rejects with {@link TransformRefused} (Binaryen refused the module) or
 * `NewError('TransformUnavailable')` (no thread could do it).
 */
export function transformOnThread(
  bytes: Uint8Array,
  options: InstrumentOptions,
  onStep: (step: TransformStep) => void,
): Promise<Instrumented> {
  return (sharedThread ??= new TransformThread()).run(bytes, options, onStep);
}

let sharedThread: TransformThread | null = null;

class TransformThread {
  #handle: ThreadHandle | null = null;
  readonly #jobs = new Map<number, Job>();
  #nextId = 0;
  #idleTimer: ReturnType<typeof setTimeout> | null = null;

  async run(bytes: Uint8Array, options: InstrumentOptions, onStep: (step: TransformStep) => void): Promise<Instrumented> {
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const id = this.#nextId++;
    const result = new Promise<Instrumented>((resolve, reject) => this.#jobs.set(id, { onStep, resolve, reject }));
    try {
      const handle = (this.#handle ??= await startThread(
        (reply) => this.#onReply(reply),
        (error) => this.#onFailure(error),
      ));
      handle.keepAlive(true);
      // A structured clone: the caller keeps its bytes.
      handle.post({ id, bytes, options });
    } catch (e) {
      this.#onFailure(e);
    }
    return result;
  }

  #onReply(reply: TransformReply): void {
    const job = this.#jobs.get(reply.id);
    if (job === undefined) return;
    if (reply.type === 'step') {
      try {
        job.onStep(reply.step);
      } catch {
        // A display that fails must not fail the transform.
      }
      return;
    }
    this.#jobs.delete(reply.id);
    if (reply.type === 'done') job.resolve(reply.result);
    else job.reject(new TransformRefused(reply.message));
    if (this.#jobs.size === 0) this.#idle();
  }

  /** The thread failed: every waiting transform fails with it, and the next one starts anew. */
  #onFailure(error: unknown): void {
    const handle = this.#handle;
    this.#handle = null;
    handle?.terminate();
    const failure =
      error instanceof NewError
        ? error
        : new NewError('TransformUnavailable', `the transform's thread failed: ${describe(error)}`, { cause: error });
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    for (const job of jobs) job.reject(failure);
  }

  #idle(): void {
    this.#handle?.keepAlive(false);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#jobs.size > 0) return;
      this.#handle?.terminate();
      this.#handle = null;
    }, IDLE_MS);
    // Node.js: an idle thread's timer must not keep the process alive either.
    (this.#idleTimer as { unref?: () => void }).unref?.();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Node.js's `worker_threads`, reached without an import (see the module documentation). */
type WorkerThreads = typeof import('node:worker_threads');

function nodeWorkerThreads(): WorkerThreads | undefined {
  const process = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  return process?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
}

/** Starts the transform's thread for this engine. */
async function startThread(onReply: (reply: TransformReply) => void, onFailure: (error: unknown) => void): Promise<ThreadHandle> {
  const threads = nodeWorkerThreads();
  if (threads !== undefined) return startNodeThread(threads, onReply, onFailure);
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
  if (node !== undefined && typeof Worker !== 'function') {
    throw new NewError(
      'TransformUnavailable',
      `Node.js ${node} has no process.getBuiltinModule, through which the Asyncify transform reaches worker_threads: use Node.js 22.3 or later`,
    );
  }
  if (typeof Worker === 'function') return startBrowserThread(onReply, onFailure);
  throw new NewError(
    'TransformUnavailable',
    "this JavaScript engine has neither Web Workers nor Node.js's worker_threads, which the Asyncify transform runs on: " +
      "use backend 'jspi', or an artifact made elsewhere (fromArtifact, a cache)",
  );
}

/**
 * The file of the Node.js worker, next to this one: `.js` once compiled, `.ts` when running
 * from the sources (a variable, so that no bundler takes it for an asset to copy).
 */
function nodeWorkerFile(): string {
  return import.meta.url.endsWith('.ts') ? './node-worker.ts' : './node-worker.js';
}

/**
 * The Node.js options the worker is given: only those of the process's options that concern
 * the worker's own messages (warnings) or reading TypeScript sources, never the rest.
 *
 * A Worker inherits the process's options unless it is given a list, and refuses to start on
 * either path when they hold options it may not have: `--input-type` (valid only with
 * `--eval`, so `node --input-type=module -e ...` would get a worker that cannot start), or the
 * per-process options with which Node.js's test runner starts each test file
 * (`--stack-trace-limit`, `--v8-pool-size`, ...: `ERR_WORKER_INVALID_EXEC_ARGV`). Vitest,
 * Mocha, Jest and any other host may start a process with options of their own. The transform
 * needs none of them, so the worker gets an explicit list, built from an allowlist rather than
 * by removing the options known to be refused; {@link startNodeThread} retries with no option
 * at all if this Node.js still refuses one of them.
 */
export function workerExecArgv(execArgv: readonly string[] = processExecArgv()): string[] {
  return execArgv.filter((arg) => WORKER_OPTIONS.some((allowed) => arg === allowed || arg.startsWith(`${allowed}=`)));
}

/** The options passed on to the worker (see {@link workerExecArgv}). */
const WORKER_OPTIONS = ['--no-warnings', '--disable-warning', '--no-deprecation', '--experimental-strip-types', '--no-experimental-strip-types'];

function processExecArgv(): readonly string[] {
  return (globalThis as { process?: { execArgv?: string[] } }).process?.execArgv ?? [];
}

function startNodeThread(
  threads: WorkerThreads,
  onReply: (reply: TransformReply) => void,
  onFailure: (error: unknown) => void,
): ThreadHandle {
  const file = nodeWorkerFile();
  // Not `new URL(file, import.meta.url)` written out: webpack takes that form for a file to
  // bundle, and warns about a request it cannot resolve.
  const here = import.meta.url;
  const url = new URL(file, here);
  let worker: InstanceType<WorkerThreads['Worker']>;
  try {
    worker = new threads.Worker(url, { name: 'resumable-wasm transform', execArgv: workerExecArgv() });
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    worker = new threads.Worker(url, { name: 'resumable-wasm transform', execArgv: [] });
  }
  worker.on('message', onReply);
  worker.on('error', onFailure);
  let terminating = false;
  worker.on('exit', (code) => {
    if (!terminating) onFailure(new Error(`the transform's thread (${file}) exited with code ${code}`));
  });
  return {
    post: (request) => worker.postMessage(request),
    terminate: () => {
      terminating = true;
      void worker.terminate();
    },
    keepAlive: (on) => (on ? worker.ref() : worker.unref()),
  };
}

/** The `blob:` URL of the browser worker's source, made once per page. */
let browserWorkerUrl: Promise<string> | null = null;

async function startBrowserThread(onReply: (reply: TransformReply) => void, onFailure: (error: unknown) => void): Promise<ThreadHandle> {
  browserWorkerUrl ??= import('./browser-worker-source.js').then(({ WORKER_SOURCE }) => {
    if (WORKER_SOURCE === '') {
      throw new NewError(
        'TransformUnavailable',
        "the browser transform worker's source is missing: this copy of resumable-wasm was not built (npm run build)",
      );
    }
    return URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  });
  let url: string;
  try {
    url = await browserWorkerUrl;
  } catch (e) {
    browserWorkerUrl = null;
    throw e;
  }
  const worker = new Worker(url, { type: 'module', name: 'resumable-wasm transform' });
  worker.addEventListener('message', (event: MessageEvent<TransformReply>) => onReply(event.data));
  worker.addEventListener('error', (event: ErrorEvent) => {
    event.preventDefault();
    onFailure(
      new Error(
        `${event.message || 'the Worker could not start'} (a Content-Security-Policy must allow worker-src blob: for the transform's Worker)`,
      ),
    );
  });
  return {
    post: (request) => worker.postMessage(request),
    terminate: () => worker.terminate(),
    keepAlive: () => {},
  };
}
