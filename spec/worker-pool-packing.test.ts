/**
 * The worker pool example's packed batches (`examples/worker-pool/pool.ts`): tasks and replies
 * cross to a worker and back as a few numbers and one buffer of bytes each, the tasks that are
 * not plain calls (and the replies without output) beside them. Whatever the mix, every task
 * and every reply comes out of the packing as it went in, in its place; a pool started for real
 * is run by `examples.test.ts` (`npm run example:worker-pool`).
 */
import { describe, expect, test } from '@jest/globals';
import { type PoolReply, type PoolTask, packReplies, packTasks, unpackReplies, unpackTasks } from '../examples/worker-pool/pool.js';

/** What a task or reply holds, its bytes as plain arrays (views into packed buffers compare by content). */
function plain(value: PoolTask | PoolReply): unknown {
  return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, field instanceof Uint8Array ? [...field] : field]));
}

describe('worker pool batches', () => {
  test('a mix of calls (empty inputs, repeated entry points), suspensions and resumptions unpacks as it was packed', () => {
    const tasks: PoolTask[] = [
      { type: 'call', entryPoint: 'Core_version', input: new Uint8Array() },
      { type: 'call', entryPoint: 'TransactionPaymentApi_query_info', input: Uint8Array.of(1, 2, 3) },
      { type: 'suspend', entryPoint: 'Metadata_metadata', input: Uint8Array.of(9), pauseName: 'ext_storage_get_version_1', pauseIndex: 2 },
      { type: 'call', entryPoint: 'Core_version', input: Uint8Array.of(4, 5) },
      { type: 'resume', snapshot: Uint8Array.of(7, 7, 7) },
      { type: 'call', entryPoint: 'Metadata_metadata', input: new Uint8Array() },
    ];
    const batch = packTasks(tasks);
    expect(batch.names).toEqual(['Core_version', 'TransactionPaymentApi_query_info', 'Metadata_metadata']);
    expect(batch.inputs.length).toBe(5);
    expect(unpackTasks(batch).map(plain)).toEqual(tasks.map(plain));
  });

  test('replies with outputs (one empty) and without (a snapshot, an error) unpack in their places', () => {
    const replies: PoolReply[] = [
      { threadId: 3, output: Uint8Array.of(1, 2), pauses: 0 },
      { threadId: 3, error: 'RuntimeCallError: no such entry point' },
      { threadId: 3, output: new Uint8Array(), pauses: 7 },
      { threadId: 3, snapshot: Uint8Array.of(5, 6) },
      { threadId: 3, output: Uint8Array.of(9, 8, 7), pauses: 2 ** 31 - 1 },
    ];
    const packed = packReplies(3, replies);
    expect(packed.outputs.length).toBe(5);
    expect(unpackReplies(packed, replies.length).map(plain)).toEqual(replies.map(plain));
  });

  test('300 random batches of up to 32 tasks and their replies round-trip', () => {
    let seed = 12345;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const bytes = (): Uint8Array => Uint8Array.from({ length: next(4) === 0 ? 0 : next(300) }, () => next(256));
    const names = ['a', 'b', 'Core_version', 'Metadata_metadata'];
    for (let round = 0; round < 300; round++) {
      const count = 1 + next(32);
      const tasks: PoolTask[] = Array.from({ length: count }, (): PoolTask => {
        const kind = next(6);
        if (kind === 0) return { type: 'resume', snapshot: bytes() };
        if (kind === 1) return { type: 'suspend', entryPoint: names[next(4)]!, input: bytes(), pauseName: 'x', pauseIndex: next(10) };
        return { type: 'call', entryPoint: names[next(4)]!, input: bytes() };
      });
      expect(unpackTasks(packTasks(tasks)).map(plain)).toEqual(tasks.map(plain));
      const replies: PoolReply[] = Array.from({ length: count }, (): PoolReply => {
        const kind = next(5);
        if (kind === 0) return { threadId: 1, error: `e${next(100)}` };
        if (kind === 1) return { threadId: 1, snapshot: bytes() };
        return { threadId: 1, output: bytes(), pauses: next(1000) };
      });
      expect(unpackReplies(packReplies(1, replies), count).map(plain)).toEqual(replies.map(plain));
    }
  });
});
