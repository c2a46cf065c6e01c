/**
 * A small pool of `worker_threads` Workers for runtime calls (Node.js only; no dependency): each
 * worker holds a `SubstrateRuntime` of the same code (see `worker.ts`) and serves one task at a
 * time, in order; tasks wait in a queue for the least busy worker, or for the worker they name.
 * Each worker is given up to {@link PIPELINE_DEPTH} tasks at once, so that its next task is
 * already there when one ends (a short call costs less than a message's round trip). Besides
 * plain calls, a call can be suspended at a pause in one worker and its bytes resumed in any
 * other (`SuspendedRuntimeCall.snapshot()` and `SubstrateRuntime.resumeCall()`, Asyncify), which
 * is how a pool moves a paused call off a busy or dying worker.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';

/** What each worker is started with. */
export interface PoolWorkerOptions {
  /** The runtime's code (raw or zstd wasm), read by each worker. */
  readonly codePath: string;
  /** `'asyncify'` to move paused calls as bytes; `'jspi'` (or `'auto'`) for calls only. */
  readonly backend: 'asyncify' | 'jspi' | 'auto';
  /** An artifact cache folder shared by the workers (Asyncify: one transform for all). */
  readonly cacheDir?: string;
  /**
   * `SubstrateRuntimeOptions.reuseGrownMemory`: calls reuse an instance's grown memory instead of
   * faulting in fresh pages, which the threads of one process take turns at (default `false`).
   */
  readonly reuseGrownMemory?: boolean;
}

/** A task for a worker. */
export type PoolTask =
  | { readonly type: 'call'; readonly entryPoint: string; readonly input: Uint8Array }
  /** The call, suspended at its pause number `pauseIndex` if that pause is of the import `pauseName`. */
  | { readonly type: 'suspend'; readonly entryPoint: string; readonly input: Uint8Array; readonly pauseName: string; readonly pauseIndex: number }
  | { readonly type: 'resume'; readonly snapshot: Uint8Array };

/** How many tasks a worker is given at once (it serves them one after the other). */
export const PIPELINE_DEPTH = 2;

/** A task as a worker receives it: numbered, for the reply. */
export type NumberedTask = PoolTask & { readonly id: number };

/** A worker's answer: the output, a suspended call's bytes, or an error; and which thread. */
export type PoolReply = { readonly threadId: number } & (
  | { readonly output: Uint8Array; readonly pauses: number }
  | { readonly snapshot: Uint8Array }
  | { readonly error: string }
);

interface Slot {
  readonly worker: Worker;
  readonly threadId: number;
  /** The tasks given to the worker and not yet answered, by id. */
  readonly inFlight: Map<number, (reply: PoolReply) => void>;
}

interface Queued {
  readonly task: PoolTask;
  readonly on: number | null;
  readonly done: (reply: PoolReply) => void;
}

/** See the module documentation. */
export class RuntimeWorkerPool {
  readonly #slots: Slot[];
  readonly #queue: Queued[] = [];
  #nextId = 0;

  private constructor(slots: Slot[]) {
    this.#slots = slots;
  }

  /** Starts `size` workers (default: the machine's parallelism) and waits until each has its runtime. */
  static async start(options: PoolWorkerOptions & { readonly size?: number; readonly workerUrl: URL }): Promise<RuntimeWorkerPool> {
    const size = options.size ?? availableParallelism();
    const { workerUrl, size: _, ...workerData } = options;
    const startOne = (): Promise<Slot> => {
      const worker = new Worker(workerUrl, { workerData });
      return new Promise<Slot>((resolve, reject) => {
        worker.once('error', reject);
        worker.once('message', (message: { ready: number }) => resolve({ worker, threadId: message.ready, inFlight: new Map() }));
      });
    };
    // The first alone: on Asyncify it fills the artifact cache, which the others then read
    // instead of each running the transform.
    const first = await startOne();
    const slots = [first, ...(await Promise.all(Array.from({ length: size - 1 }, startOne)))];
    const pool = new RuntimeWorkerPool(slots);
    for (const slot of slots) {
      slot.worker.on('message', ({ id, ...reply }: PoolReply & { id: number }) => {
        const done = slot.inFlight.get(id)!;
        slot.inFlight.delete(id);
        done(reply as PoolReply);
        pool.#dispatch();
      });
    }
    return pool;
  }

  /** The workers' thread ids, in order (the indexes {@link run} takes). */
  get threadIds(): number[] {
    return this.#slots.map((s) => s.threadId);
  }

  /** Runs `task` on the least busy worker, or on worker number `on`; resolves to its reply. */
  run(task: PoolTask, on: number | null = null): Promise<PoolReply> {
    return new Promise((done) => {
      this.#queue.push({ task, on, done });
      this.#dispatch();
    });
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  #dispatch(): void {
    for (let i = 0; i < this.#queue.length; ) {
      const queued = this.#queue[i]!;
      const slot = queued.on === null ? this.#leastBusy() : this.#slots[queued.on]!;
      if (slot === undefined || slot.inFlight.size >= PIPELINE_DEPTH) {
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
      const id = this.#nextId++;
      slot.inFlight.set(id, queued.done);
      slot.worker.postMessage({ ...queued.task, id } satisfies NumberedTask);
    }
  }

  /** The worker with the fewest tasks in flight (the first of them). */
  #leastBusy(): Slot {
    let best = this.#slots[0]!;
    for (const slot of this.#slots) if (slot.inFlight.size < best.inFlight.size) best = slot;
    return best;
  }
}
