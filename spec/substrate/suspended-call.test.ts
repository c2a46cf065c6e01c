/**
 * Suspended runtime calls (`lib/substrate/runtime/suspended-call.ts`): a call stopped at a
 * storage read goes on, in this thread or as bytes in another Worker, to the very output of the
 * uninterrupted call; bytes that do not fit are refused before anything runs.
 *
 * With Rococo's genesis runtime from `../shared/runtimes` (its `Metadata_metadata` reads storage;
 * skipped with a message when the shared data is absent). The Worker side uses the built package
 * (`dist/`, which `npm test` builds first).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { blake2b } from '@noble/hashes/blake2.js';
import { SnapshotError, UsageError } from '../../lib/index.js';
import { FileArtifactCache } from '../../lib/node/index.js';
import { MapStorage, SubstrateRuntime, type SuspendedRuntimeCall } from '../../lib/substrate/index.js';
import { REPO_ROOT, describeWithShared, sharedPath } from '../support/shared.js';

const WORKER = join(REPO_ROOT, 'spec', 'support', 'suspended-call-worker.mjs');

/** Resumes `suspended` in a Worker of its own (see `suspended-call-worker.mjs`). */
function resumeInWorker(codePath: string, cacheDir: string, suspended: Uint8Array): Promise<{ output: Uint8Array; pauses: number; asked: string[] }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { execArgv: [] });
    worker.once('message', (message: { ok?: { output: Uint8Array; pauses: number; asked: string[] }; error?: string }) => {
      void worker.terminate();
      if (message.ok !== undefined) resolve(message.ok);
      else reject(new Error(`the worker failed: ${message.error}`));
    });
    worker.once('error', reject);
    worker.postMessage({ codePath, cacheDir, suspended });
  });
}

describeWithShared('runtimes/rococo-genesis.wasm', 'a runtime call suspended at a storage read (rococo genesis)', (codePath) => {
  let cacheDir: string;
  let runtime: SubstrateRuntime;
  let expected: { output: Uint8Array; pauses: number; asked: string[] };
  const storage = new MapStorage();
  /** A provider over `storage` that notes the keys it is asked. */
  const noting = (asked: string[]) => ({
    get: (key: Uint8Array, child: Uint8Array | null) => {
      asked.push(Buffer.from(key).toString('hex'));
      return storage.get(key, child);
    },
  });

  beforeAll(async () => {
    cacheDir = mkdtempSync(join(tmpdir(), 'resumable-wasm-suspended-'));
    runtime = await SubstrateRuntime.create({ code: readFileSync(codePath), backend: 'asyncify', cache: new FileArtifactCache(cacheDir) });
    const asked: string[] = [];
    const result = await runtime.call('Metadata_metadata', new Uint8Array(), { storage: noting(asked) });
    expected = { output: result.output, pauses: result.pauses, asked };
    // Not vacuous: the call reads storage, so it pauses.
    expect(result.pauses).toBeGreaterThan(0);
  });
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

  /** The call suspended at its storage read number `index` (0-based). */
  async function suspendAt(on: SubstrateRuntime, index: number, asked: string[]): Promise<SuspendedRuntimeCall> {
    const step = await on.callSuspendable('Metadata_metadata', new Uint8Array(), {
      storage: noting(asked),
      suspend: (pause) => pause.name === 'ext_storage_get_version_1' && pause.index === index,
    });
    if (step.type !== 'suspended') throw new Error('the call was not suspended');
    return step.call;
  }

  test('resumed in another Worker, the read answered there: byte-equal output', async () => {
    const askedHere: string[] = [];
    const suspended = await suspendAt(runtime, 0, askedHere);
    expect(suspended.pause).toMatchObject({ name: 'ext_storage_get_version_1', index: 0 });
    // Suspended before the host served the read: this side's storage was never asked.
    expect(askedHere).toEqual([]);
    const bytes = suspended.snapshot();
    await suspended.discard();
    const there = await resumeInWorker(codePath, cacheDir, bytes);
    expect(Buffer.compare(Buffer.from(there.output), Buffer.from(expected.output))).toBe(0);
    expect(there.pauses).toBe(expected.pauses);
    // The read (and every later one) was answered in the Worker.
    expect(there.asked).toEqual(expected.asked);
  });

  test('resumed in this thread, on Asyncify and on JSPI, with the same output; the bytes resume the same way here', async () => {
    for (const on of [runtime, await SubstrateRuntime.create({ code: readFileSync(codePath), backend: 'jspi' })]) {
      const asked: string[] = [];
      const suspended = await suspendAt(on, 0, asked);
      const step = await suspended.resume({ storage: noting(asked) });
      expect(step.type).toBe('finished');
      if (step.type !== 'finished') return;
      expect(Buffer.compare(Buffer.from(step.result.output), Buffer.from(expected.output))).toBe(0);
      expect(asked).toEqual(expected.asked);
      expect(() => suspended.snapshot()).toThrow(UsageError);
    }
    const suspended = await suspendAt(runtime, 0, []);
    const bytes = suspended.snapshot();
    await suspended.discard();
    const step = await runtime.resumeCall(bytes, { storage });
    expect(step.type === 'finished' && Buffer.compare(Buffer.from(step.result.output), Buffer.from(expected.output))).toBe(0);
  });

  test('hostile bytes are refused before anything runs: truncated, bit flips, another format version, another runtime', async () => {
    const suspended = await suspendAt(runtime, 0, []);
    const bytes = suspended.snapshot();
    await suspended.discard();
    const refusal = async (altered: Uint8Array, on: SubstrateRuntime = runtime): Promise<string> => {
      try {
        await on.resumeCall(altered, { storage });
        return 'resumed';
      } catch (e) {
        return e instanceof SnapshotError ? e.kind : `threw ${String(e)}`;
      }
    };
    expect(await refusal(bytes.subarray(0, bytes.length - 1))).toBe('Corrupted');
    expect(await refusal(bytes.subarray(0, 20))).toBe('Corrupted');
    expect(await refusal(new Uint8Array())).toBe('Corrupted');
    for (const at of [0, 9, 20, 200, Math.floor(bytes.length / 2), bytes.length - 40, bytes.length - 1]) {
      const flipped = bytes.slice();
      flipped[at]! ^= 0x10;
      expect([at, await refusal(flipped)]).toEqual([at, 'Corrupted']);
    }
    // Another format version, its checksum made right: refused for its version.
    const versioned = bytes.slice();
    versioned[8] = 2;
    versioned.set(blake2b(versioned.subarray(0, versioned.length - 32), { dkLen: 32 }), versioned.length - 32);
    expect(await refusal(versioned)).toBe('VersionMismatch');
    const westend = sharedPath('runtimes/westend-runtime-v9300.wasm');
    if (westend !== null) {
      const other = await SubstrateRuntime.create({ code: readFileSync(westend), backend: 'asyncify', cache: new FileArtifactCache(cacheDir) });
      expect(await refusal(bytes, other)).toBe('ModuleMismatch');
    }
    // After all the refusals the runtime still serves calls.
    expect(Buffer.compare(Buffer.from((await runtime.call('Metadata_metadata', new Uint8Array(), { storage })).output), Buffer.from(expected.output))).toBe(0);
  });
});
