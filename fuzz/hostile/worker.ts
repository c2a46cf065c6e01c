/**
 * The worker process: generates and runs cases on the supervisor's request.
 *
 * Started by `supervisor.ts` as `node --import <binaryen> --import tsx worker.ts <mix>`, with an
 * IPC channel. Binaryen is imported *before* tsx registers its loader: loaded through tsx, its
 * 12 MB of JavaScript takes 7–15 s to load on this machine, directly about 0.5 s, and a worker
 * is restarted after every hang and every crash.
 *
 * A case runs in this process because it is the part that can hang or crash; the supervisor,
 * which holds the deadlines, stays responsive. After a case the worker reports its resident
 * set size, so the supervisor can recycle it before Binaryen's heap (about 2 GB after a runtime
 * transform) grows too large, and runs the canary when the case may have left damage.
 *
 * @module
 */

import { DEFAULT_BOUNDS } from './bounds.js';
import { canaryProblem } from './canary.js';
import { type CaseInputs, MIXES, type MixName, generateCase } from './cases.js';
import { executeCase } from './execute.js';
import type { RunCaseMessage, WorkerMessage } from './protocol.js';
import { loadRuntimes } from './runtimes.js';
import { loadSmallCorpus } from './small-corpus.js';

const CANARY_EVERY = 50;

function send(message: WorkerMessage): void {
  process.send!(message);
}

async function main(): Promise<void> {
  const mixName = process.argv[2] as MixName;
  const mix = MIXES[mixName];
  if (mix === undefined || process.send === undefined) {
    console.error('worker.ts is started by supervisor.ts, with an IPC channel and a mix name');
    process.exit(2);
  }
  // A stray rejection or exception from the library (a promise nobody awaits, a callback
  // thrown from a timer) would otherwise vanish or kill the process without a word.
  const fatal = (error: unknown): void => {
    send({ type: 'fatal', message: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error) });
    setTimeout(() => process.exit(70), 100);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);

  const inputs: CaseInputs = { small: await loadSmallCorpus(), runtimes: await loadRuntimes(mix.runtimes) };
  let sinceCanary = 0;
  process.on('message', (message: RunCaseMessage) => {
    void (async () => {
      const generated = generateCase(message.seed, message.index, mix, inputs);
      const c = message.forceFull ? { ...generated, fullCreate: true } : generated;
      let result = await executeCase(c, DEFAULT_BOUNDS, (notice) => send({ type: 'phase', index: c.index, ...notice }));
      sinceCanary++;
      const suspicious = result.violation !== undefined || (result.path === 'transform' && result.label !== 'accepted');
      let canary = false;
      if (suspicious || sinceCanary >= CANARY_EVERY) {
        canary = true;
        sinceCanary = 0;
        const problem = await canaryProblem();
        if (problem !== null && result.violation === undefined) {
          result = {
            ...result,
            label: 'violation:poisoned-process',
            violation: { type: 'poisoned-process', where: 'canary after this case', message: problem },
          };
        }
      }
      send({ type: 'result', result, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20), canary });
    })();
  });
  send({ type: 'ready', runtimes: [...inputs.runtimes.keys()], mix: mixName });
}

await main();
