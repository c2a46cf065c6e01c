/**
 * A small pool of `worker_threads` Workers for runtime calls (Node.js only; no dependency): each
 * worker holds a `SubstrateRuntime` of the same code (see `worker.ts`) and serves one task at a
 * time, in order; tasks wait in a queue for the least busy worker, or for the worker they name.
 *
 * Tasks travel in batches: one message carries up to {@link MAX_BATCH} tasks and one message
 * brings back their replies, and each worker holds up to {@link PIPELINE_DEPTH} batches, so that
 * its next task is already there when one ends. A short call (westend's `Core_version`: about
 * 30 µs) costs less than a message's round trip, and with a message per call the pool's thread
 * and the workers' spent as much on messages as on calls. A batch is packed ({@link TaskBatch},
 * {@link ReplyBatch}): its calls' inputs in one buffer and its replies' outputs in another, each
 * moved (transferred) rather than copied, so that a message carries a few objects and two
 * buffers instead of an object and a buffer per task. A batch takes a fair share of what waits
 * (an eighth of the queue divided among every worker's batches: with 2 workers, one task a batch
 * once fewer than 33 wait), so that the last tasks are spread over the workers rather than left
 * in one worker's batch.
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

/**
 * What the pool sends a worker: tasks to serve in order, packed. A plain call travels as three
 * numbers and its input's bytes; any other task as itself, in `others`.
 */
export interface TaskBatch {
  /** How many tasks. */
  readonly count: number;
  /** The entry points the batch's calls name, each once. */
  readonly names: readonly string[];
  /**
   * Three numbers per task: its entry point (an index into `names`, or -1 for a task of
   * `others`), and where its input starts and ends in `inputs`.
   */
  readonly calls: Int32Array<ArrayBuffer>;
  /** Every call's input, one after the other. */
  readonly inputs: Uint8Array<ArrayBuffer>;
  /** The tasks that are not plain calls, with their position in the batch. */
  readonly others: readonly { readonly at: number; readonly task: PoolTask }[];
}

/**
 * What a worker sends back once it has served a batch: a reply per task, in order, packed. A
 * reply with an output travels as two numbers and the output's bytes; any other as itself, in
 * `others`.
 */
export interface ReplyBatch {
  /** The worker's thread. */
  readonly threadId: number;
  /**
   * Two numbers per reply: where its output ends in `outputs` (it starts where the previous one
   * ended; -1 for a reply of `others`), and its pauses.
   */
  readonly replies: Int32Array<ArrayBuffer>;
  /** Every output, one after the other. */
  readonly outputs: Uint8Array<ArrayBuffer>;
  /** The replies without output (a snapshot, an error), with their position in the batch. */
  readonly others: readonly { readonly at: number; readonly reply: PoolReply }[];
}

/** A worker's answer: the output, a suspended call's bytes, or an error; and which thread. */
export type PoolReply = { readonly threadId: number } & (
  /** The output is a view into its batch's buffer of outputs (copy it to keep it apart from the others). */
  | { readonly output: Uint8Array; readonly pauses: number }
  | { readonly snapshot: Uint8Array }
  | { readonly error: string }
);

/** Packs `tasks` for a worker; the buffers are to be transferred with it. */
export function packTasks(tasks: readonly PoolTask[]): TaskBatch {
  const names: string[] = [];
  const calls = new Int32Array(tasks.length * 3);
  const others: { at: number; task: PoolTask }[] = [];
  let total = 0;
  for (const task of tasks) if (task.type === 'call') total += task.input.length;
  const inputs = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]!;
    if (task.type !== 'call') {
      calls[i * 3] = -1;
      others.push({ at: i, task });
      continue;
    }
    let name = names.indexOf(task.entryPoint);
    if (name < 0) name = names.push(task.entryPoint) - 1;
    inputs.set(task.input, at);
    calls[i * 3] = name;
    calls[i * 3 + 1] = at;
    calls[i * 3 + 2] = at += task.input.length;
  }
  return { count: tasks.length, names, calls, inputs, others };
}

/** The tasks of a packed batch, in order (each call's input a view into the batch's buffer). */
export function unpackTasks(batch: TaskBatch): PoolTask[] {
  const tasks: PoolTask[] = new Array(batch.count);
  for (const { at, task } of batch.others) tasks[at] = task;
  const { calls, names, inputs } = batch;
  for (let i = 0; i < batch.count; i++) {
    const name = calls[i * 3]!;
    if (name >= 0) tasks[i] = { type: 'call', entryPoint: names[name]!, input: inputs.subarray(calls[i * 3 + 1], calls[i * 3 + 2]) };
  }
  return tasks;
}

/** Packs a worker's `replies`; the buffers are to be transferred with it. */
export function packReplies(threadId: number, replies: readonly PoolReply[]): ReplyBatch {
  const packed = new Int32Array(replies.length * 2);
  const others: { at: number; reply: PoolReply }[] = [];
  let total = 0;
  for (const reply of replies) if ('output' in reply) total += reply.output.length;
  const outputs = new Uint8Array(total);
  let end = 0;
  for (let i = 0; i < replies.length; i++) {
    const reply = replies[i]!;
    if (!('output' in reply)) {
      packed[i * 2] = -1;
      others.push({ at: i, reply });
      continue;
    }
    outputs.set(reply.output, end);
    packed[i * 2] = end += reply.output.length;
    packed[i * 2 + 1] = reply.pauses;
  }
  return { threadId, replies: packed, outputs, others };
}

/** The `count` replies of a packed batch, in order (each output a view into the batch's buffer). */
export function unpackReplies(batch: ReplyBatch, count: number): PoolReply[] {
  const replies: PoolReply[] = new Array(count);
  for (const { at, reply } of batch.others) replies[at] = reply;
  const { threadId, replies: packed, outputs } = batch;
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = packed[i * 2]!;
    if (end < 0) continue;
    replies[i] = { threadId, output: outputs.subarray(start, end), pauses: packed[i * 2 + 1]! };
    start = end;
  }
  return replies;
}

interface Slot {
  readonly worker: Worker;
  readonly threadId: number;
  /**
   * The batches given to the worker and not yet answered, oldest first (at most
   * {@link PIPELINE_DEPTH}; the worker answers them in order): each task's `done`.
   */
  readonly inFlight: ((reply: PoolReply) => void)[][];
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
        worker.once('message', (message: { ready: number }) => resolve({ worker, threadId: message.ready, inFlight: [], pinned: new TaskQueue() }));
      });
    };
    // The first alone: on Asyncify it fills the artifact cache, which the others then read
    // instead of each running the transform.
    const first = await startOne();
    const slots = [first, ...(await Promise.all(Array.from({ length: size - 1 }, startOne)))];
    const pool = new RuntimeWorkerPool(slots);
    for (const slot of slots) {
      slot.worker.on('message', (batch: ReplyBatch) => {
        const dones = slot.inFlight.shift()!;
        const replies = unpackReplies(batch, dones.length);
        for (let i = 0; i < dones.length; i++) dones[i]!(replies[i]!);
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
      while (slot.inFlight.length < PIPELINE_DEPTH && slot.pinned.length > 0) this.#send(slot, slot.pinned, slot.pinned.length);
    }
    while (this.#queue.length > 0) {
      const slot = this.#leastBusy();
      if (slot.inFlight.length >= PIPELINE_DEPTH) return;
      this.#send(slot, this.#queue, Math.ceil(this.#queue.length / (this.#slots.length * PIPELINE_DEPTH * BATCH_SPREAD)));
    }
  }

  /** Sends `slot` a batch of `share` tasks of `queue` (at least one, at most {@link MAX_BATCH}). */
  #send(slot: Slot, queue: TaskQueue, share: number): void {
    const count = Math.min(MAX_BATCH, Math.max(1, share), queue.length);
    const tasks: PoolTask[] = new Array(count);
    const dones: ((reply: PoolReply) => void)[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const queued = queue.shift()!;
      tasks[i] = queued.task;
      dones[i] = queued.done;
    }
    slot.inFlight.push(dones);
    const batch = packTasks(tasks);
    slot.worker.postMessage(batch satisfies TaskBatch, [batch.calls.buffer, batch.inputs.buffer]);
  }

  /** The worker with the fewest batches in flight (the first of them). */
  #leastBusy(): Slot {
    let best = this.#slots[0]!;
    for (const slot of this.#slots) if (slot.inFlight.length < best.inFlight.length) best = slot;
    return best;
  }
}
