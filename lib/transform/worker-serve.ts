/**
 * The transform's thread, its side: answers transform requests with Binaryen's Asyncify
 * (`instrument.ts`), reporting each step as it begins. The two worker entries (`node-worker.ts`
 * for Node.js's `worker_threads`, `browser-worker.ts` for a browser's `Worker`) only connect
 * this to their message port; the calling thread's side is `transform-thread.ts`.
 *
 * Requests are served one at a time, in order: Binaryen's settings are process-wide (here:
 * thread-wide), and one transform at a time already uses the whole thread.
 *
 * @module
 */

import type { TransformStep } from '../base/progress.js';
import { describeThrown } from '../base/values.js';
import { type InstrumentOptions, type Instrumented, instrument } from './instrument.js';

/** A request from the calling thread: instrument `bytes` (already renamed) with `options`. */
export interface TransformRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly options: InstrumentOptions;
}

/** A reply to the request `id`: a step begins, the instrumented module, or why it failed. */
export type TransformReply =
  | { readonly id: number; readonly type: 'step'; readonly step: TransformStep }
  | { readonly id: number; readonly type: 'done'; readonly result: Instrumented }
  | { readonly id: number; readonly type: 'failed'; readonly message: string };

/** What a worker entry provides: its way of replying and of receiving requests. */
export interface WorkerEndpoint {
  /** Sends `reply`, handing over the buffers in `transfer` (the instrumented module's). */
  post(reply: TransformReply, transfer: readonly ArrayBuffer[]): void;
  /** Calls `handler` for each request. */
  listen(handler: (request: TransformRequest) => void): void;
}

/** Serves transform requests on `endpoint` until the thread is terminated. */
export function serveTransforms(endpoint: WorkerEndpoint): void {
  let queue: Promise<void> = Promise.resolve();
  endpoint.listen((request) => {
    queue = queue.then(() => serve(endpoint, request));
  });
}

async function serve(endpoint: WorkerEndpoint, { id, bytes, options }: TransformRequest): Promise<void> {
  let result: Instrumented;
  try {
    result = await instrument(bytes, options, (step) => endpoint.post({ id, type: 'step', step }, []));
  } catch (e) {
    // Binaryen throws non-Error values; the calling thread gets the explanation as text.
    endpoint.post({ id, type: 'failed', message: describeThrown(e) }, []);
    return;
  }
  // Binaryen's emitBinary returns a copy of its own: its buffer can be handed over, not copied.
  const binary = result.binary;
  const whole = binary.byteOffset === 0 && binary.byteLength === binary.buffer.byteLength;
  endpoint.post({ id, type: 'done', result }, whole ? [binary.buffer as ArrayBuffer] : []);
}
