/**
 * One worker of `pool.ts`: a `worker_threads` Worker holding a `SubstrateRuntime` of the code it
 * was started with, serving its tasks (which come in batches) one at a time, in the order they
 * came: a call to its end, a call suspended at a chosen pause (sent back as bytes), or the
 * resumption of such bytes, whichever worker made them. Storage is an empty `MapStorage` here (every read answers "none"); a real pool gives each
 * worker a provider of its own (a proof-backed one, say).
 */
import { readFileSync } from 'node:fs';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { FileArtifactCache } from '../../lib/node/index.js';
import { MapStorage, SubstrateRuntime, type SuspendableCallResult } from '../../lib/substrate/index.js';
import { type PoolReply, type PoolTask, type PoolWorkerOptions, type TaskBatch, packReplies, unpackTasks } from './pool.js';

const options = workerData as PoolWorkerOptions;
const runtime = await SubstrateRuntime.create({
  code: readFileSync(options.codePath),
  backend: options.backend,
  reuseGrownMemory: options.reuseGrownMemory ?? false,
  ...(options.cacheDir === undefined ? {} : { cache: new FileArtifactCache(options.cacheDir) }),
});
const storage = new MapStorage();

/** The reply for a call that finished or was suspended. */
async function replyOf(step: SuspendableCallResult): Promise<PoolReply> {
  if (step.type === 'finished') return { threadId, output: step.result.output, pauses: step.result.pauses };
  const snapshot = step.call.snapshot();
  await step.call.discard();
  return { threadId, snapshot };
}

async function serve(task: PoolTask): Promise<PoolReply> {
  switch (task.type) {
    case 'call':
      return replyOf(await runtime.callSuspendable(task.entryPoint, task.input, { storage }));
    case 'suspend':
      return replyOf(
        await runtime.callSuspendable(task.entryPoint, task.input, {
          storage,
          suspend: (pause) => pause.name === task.pauseName && pause.index === task.pauseIndex,
        }),
      );
    case 'resume':
      return replyOf(await runtime.resumeCall(task.snapshot, { storage }));
  }
}

// One task at a time, batch after batch in the order they came (the pool may send the next
// batch before this one ends); a batch's replies go back in one message once it is served, their
// outputs in one buffer, moved to the pool's thread rather than copied.
let previous: Promise<unknown> = Promise.resolve();
parentPort!.on('message', (batch: TaskBatch) => {
  previous = previous.then(async () => {
    const replies: PoolReply[] = [];
    for (const task of unpackTasks(batch)) {
      try {
        replies.push(await serve(task));
      } catch (e) {
        replies.push({ threadId, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      }
    }
    const packed = packReplies(threadId, replies);
    parentPort!.postMessage(packed, [packed.replies.buffer, packed.outputs.buffer]);
  });
});
parentPort!.postMessage({ ready: threadId });
