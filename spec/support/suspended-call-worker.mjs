// The other side of spec/substrate/suspended-call.test.ts: a worker_threads Worker (or, run as
// a script, a child process) that makes the runtime from the same code with the built package
// (dist/, which `npm test` builds first), resumes the suspended call it is sent, answering the
// pending storage read (and any later one) from its own storage, and sends back the output.
// Plain JavaScript: it runs outside the test runner's TypeScript loader.
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { FileArtifactCache } from '../../dist/node/index.js';
import { MapStorage, SubstrateRuntime } from '../../dist/substrate/index.js';

/** Resumes `suspended` on a runtime of `codePath` and returns what the call gave, and what its storage was asked. */
export async function resume({ codePath, cacheDir, suspended }) {
  const runtime = await SubstrateRuntime.create({ code: readFileSync(codePath), backend: 'asyncify', cache: new FileArtifactCache(cacheDir) });
  const storage = new MapStorage();
  const asked = [];
  const step = await runtime.resumeCall(suspended, {
    storage: {
      get: (key, child) => {
        asked.push(Buffer.from(key).toString('hex'));
        return storage.get(key, child);
      },
    },
  });
  if (step.type !== 'finished') throw new Error('the resumed call was suspended again');
  return { output: step.result.output, pauses: step.result.pauses, asked };
}

if (parentPort !== null) {
  parentPort.once('message', async (message) => {
    try {
      parentPort.postMessage({ ok: await resume(message) });
    } catch (e) {
      parentPort.postMessage({ error: e instanceof Error ? `${e.name} (${e.kind}): ${e.message}` : String(e) });
    }
  });
}
