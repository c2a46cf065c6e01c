/**
 * A small pool of `worker_threads` Workers for runtime calls (Node.js only; no dependency): each
 * worker holds a `SubstrateRuntime` of the same code (see `worker.ts`) and serves one task at a
 * time, in order; tasks wait in a queue for the least busy worker, or for the worker they name.
 *
 * Tasks travel in batches: one message carries up to {@link MAX_BATCH} tasks and one message
 * brings back their replies, and each worker holds up to {@link PIPELINE_DEPTH} batches, so that
 * its next task is already there when one ends. A short call (westend's `Core_version`: about
 * 70 µs) costs less than a message's round trip, and with a message per call the pool's thread
 * and the workers' spent as much on messages as on calls. A batch takes a fair share of what
 * waits (an eighth of the queue divided among every worker's batches: with 2 workers, one task a
 * batch once fewer than 33 wait), so that the last tasks are spread over the workers rather than
 * left in one worker's batch.
 *
 * Besides plain calls, a call can be suspended at a pause in one worker and its bytes resumed in
 * any other (`SuspendedRuntimeCall.snapshot()` and `SubstrateRuntime.resumeCall()`, Asyncify),
 * which is how a pool moves a paused call off a busy or dying worker.
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

/** How many batches a worker is given at once (it serves their tasks one after the other). */
export const PIPELINE_DEPTH = 2;

/** The most tasks one message carries. */
export const MAX_BATCH = 32;

/**
 * A batch takes at most this fraction of each worker's share of what waits (1 / BATCH_SPREAD), so
 * that batches shrink to one task well before the queue empties: otherwise one worker could still
 * hold a batch of long calls while the others have nothing left (a round of 80 westend
 * `Metadata_metadata` calls, 4 ms each, then ended with one worker idle for tens of ms).
 */
const BATCH_SPREAD = 8;

/** A task as a worker receives it: numbered, for the reply. */
export type NumberedTask = PoolTask & { readonly id: number };

/** What the pool sends a worker: tasks to serve in order. */
export interface TaskBatch {
  readonly tasks: readonly NumberedTask[];
}

/** What a worker sends back once it has served a batch: a reply per task, in order. */
export interface ReplyBatch {
  readonly replies: readonly (PoolReply & { readonly id: number })[];
}

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
  /** How many batches the worker holds (at most {@link PIPELINE_DEPTH}). */
  batches: number;
  /** The tasks waiting for this worker in particular (`run(task, on)`), oldest first. */
  readonly pinned: TaskQueue;
}

interface Queued {
  readonly task: PoolTask;
  readonly done: (reply: PoolReply) => void;
}

/**
 * A first-in first-out queue whose `shift` costs the same however long it is (an array's
 * `shift` or `splice` moves every element after: with thousands of calls submitted at once,
 * that alone took most of the pool's thread).
 */
class TaskQueue {
  #items: (Queued | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: Queued): void {
    this.#items.push(item);
  }

  shift(): Queued | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    // Drop the consumed front once it is half of the array.
    if (this.#head * 2 >= this.#items.length && this.#head > 1024) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

/** See the module documentation. */
export class RuntimeWorkerPool {
  readonly #slots: Slot[];
  /** Tasks for whichever worker is free first, oldest first. */
  readonly #queue = new TaskQueue();
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
        worker.once('message', (message: { ready: number }) => resolve({ worker, threadId: message.ready, inFlight: new Map(), batches: 0, pinned: new TaskQueue() }));
      });
    };
    // The first alone: on Asyncify it fills the artifact cache, which the others then read
    // instead of each running the transform.
    const first = await startOne();
    const slots = [first, ...(await Promise.all(Array.from({ length: size - 1 }, startOne)))];
    const pool = new RuntimeWorkerPool(slots);
    for (const slot of slots) {
      slot.worker.on('message', ({ replies }: ReplyBatch) => {
        slot.batches--;
        for (const { id, ...reply } of replies) {
          const done = slot.inFlight.get(id)!;
          slot.inFlight.delete(id);
          done(reply as PoolReply);
        }
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
    if (on !== null && this.#slots[on] === undefined) {
      return Promise.reject(new RangeError(`there is no worker ${on}: the pool has ${this.#slots.length}`));
    }
    return new Promise((done) => {
      (on === null ? this.#queue : this.#slots[on]!.pinned).push({ task, done });
      this.#dispatch();
    });
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  /**
   * Gives every worker with room its next batches: first of the tasks waiting for it in
   * particular, then of the shared queue, least busy worker first. Each step costs the same
   * however many tasks wait.
   */
  #dispatch(): void {
    for (const slot of this.#slots) {
      while (slot.batches < PIPELINE_DEPTH && slot.pinned.length > 0) this.#send(slot, slot.pinned, slot.pinned.length);
    }
    while (this.#queue.length > 0) {
      const slot = this.#leastBusy();
      if (slot.batches >= PIPELINE_DEPTH) return;
      this.#send(slot, this.#queue, Math.ceil(this.#queue.length / (this.#slots.length * PIPELINE_DEPTH * BATCH_SPREAD)));
    }
  }

  /** Sends `slot` a batch of `share` tasks of `queue` (at least one, at most {@link MAX_BATCH}). */
  #send(slot: Slot, queue: TaskQueue, share: number): void {
    const tasks: NumberedTask[] = [];
    const count = Math.min(MAX_BATCH, Math.max(1, share), queue.length);
    for (let i = 0; i < count; i++) {
      const queued = queue.shift()!;
      const id = this.#nextId++;
      slot.inFlight.set(id, queued.done);
      tasks.push({ ...queued.task, id });
    }
    slot.batches++;
    slot.worker.postMessage({ tasks } satisfies TaskBatch);
  }

  /** The worker with the fewest batches in flight (the first of them). */
  #leastBusy(): Slot {
    let best = this.#slots[0]!;
    for (const slot of this.#slots) if (slot.batches < best.batches) best = slot;
    return best;
  }
}
