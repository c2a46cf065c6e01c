/**
 * Runtime calls on a pool of Workers (`worker-pool/pool.ts`, Node.js), and a paused call moved
 * from one worker to another.
 *
 * ```sh
 * npm run example:worker-pool            # needs ../shared/runtimes (Rococo's genesis runtime)
 * ```
 *
 * Two workers, each with the runtime (Asyncify; the transform is made once and shared through a
 * file artifact cache). Calls go to whichever worker is idle. Then `Metadata_metadata`, which
 * reads storage, is started on worker 0 and suspended at its first storage read, before it was
 * answered; its bytes (`SuspendedRuntimeCall.snapshot()`) are sent to worker 1, which resumes it
 * (`SubstrateRuntime.resumeCall()`), answers the read from its own storage and finishes it: the
 * output is the same, byte for byte, as the call made in one go.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from '../spec/support/shared.js';
import { RuntimeWorkerPool } from './worker-pool/pool.js';

const codePath = sharedPath('runtimes/rococo-genesis.wasm');
if (codePath === null) {
  console.log('skipped: ../shared/runtimes/rococo-genesis.wasm is not present');
  process.exit(0);
}
const cacheDir = mkdtempSync(join(tmpdir(), 'resumable-wasm-pool-'));
const started = performance.now();
const pool = await RuntimeWorkerPool.start({
  size: 2,
  codePath,
  backend: 'asyncify',
  cacheDir,
  workerUrl: new URL('./worker-pool/worker.js', import.meta.url),
});
console.log(`2 workers ready in ${(performance.now() - started).toFixed(0)} ms (threads ${pool.threadIds.join(', ')})`);
try {
  const empty = new Uint8Array();
  const calls = await Promise.all(Array.from({ length: 6 }, () => pool.run({ type: 'call', entryPoint: 'Core_version', input: empty })));
  console.log(`6 Core_version calls served by threads ${calls.map((c) => c.threadId).join(', ')}`);

  const whole = await pool.run({ type: 'call', entryPoint: 'Metadata_metadata', input: empty }, 0);
  if (!('output' in whole)) throw new Error(`the call failed: ${'error' in whole ? whole.error : 'suspended'}`);

  const suspended = await pool.run({ type: 'suspend', entryPoint: 'Metadata_metadata', input: empty, pauseName: 'ext_storage_get_version_1', pauseIndex: 0 }, 0);
  if (!('snapshot' in suspended)) throw new Error('the call was not suspended');
  console.log(`Metadata_metadata suspended at its first storage read on thread ${suspended.threadId}: ${suspended.snapshot.length} bytes`);
  const resumed = await pool.run({ type: 'resume', snapshot: suspended.snapshot }, 1);
  if (!('output' in resumed)) throw new Error(`the resumption failed: ${'error' in resumed ? resumed.error : 'suspended again'}`);
  const same = Buffer.compare(Buffer.from(resumed.output), Buffer.from(whole.output)) === 0;
  console.log(`resumed and finished on thread ${resumed.threadId}: ${resumed.output.length} bytes of metadata, ${same ? 'identical to' : 'DIFFERENT from'} the call made in one go`);
  if (!same) process.exitCode = 1;
} finally {
  await pool.close();
  rmSync(cacheDir, { recursive: true, force: true });
}
