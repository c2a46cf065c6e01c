/**
 * Tells a guest that never ends from a VM that hangs.
 *
 * `run()` is synchronous and the guest runs on the engine's JIT: a guest stuck in a loop that
 * calls no import cannot be interrupted by anyone, with or without this library, and a mutated
 * module can easily contain such a loop. So when an export's run exceeds its time bound, the
 * supervisor replays the same call plan (same exports, zero parameters, zero answers, same
 * interrupt budget, same abandonment) on the *uninstrumented* module in plain V8, in a worker
 * thread that can be terminated:
 *
 * - plain V8 does not finish either: the guest does not terminate; not a VM fault;
 * - plain V8 finishes in under a tenth of the bound: the VM hung where the guest did not;
 * - in between: a slow guest; reported, not counted as a violation (instrumented code is
 *   several times slower than plain code).
 *
 * The worker's code is plain JavaScript evaluated from a string, so that it runs the same way
 * under tsx and under Jest.
 *
 * @module
 */

import { Worker } from 'node:worker_threads';
import type { CallPlan } from './call-plan.js';

/** What plain V8 did with the plan. */
export type TriageResult =
  | { readonly status: 'completed'; readonly ms: number }
  | { readonly status: 'timeout' }
  | { readonly status: 'error'; readonly message: string };

const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, plan, upTo } = workerData;
const started = performance.now();
const module = new WebAssembly.Module(bytes);
const budgetExceeded = new Error('interrupt budget exceeded');
let pauses = 0;
function zeroOf(type) { return type === 'i64' ? 0n : type === null ? undefined : 0; }
function instantiate() {
  const imports = {};
  let functionIndex = 0;
  for (const imp of WebAssembly.Module.imports(module)) {
    imports[imp.module] ??= {};
    if (imp.kind === 'function') {
      const planned = plan.imports[functionIndex++] ?? { result: null, mode: 'pause' };
      const zero = zeroOf(planned.result);
      imports[imp.module][imp.name] =
        planned.mode === 'inline-throw' ? () => { throw new Error('inline import throws'); }
        : planned.mode === 'inline-zero' ? () => zero
        : () => { if (++pauses > plan.interruptBudget) throw budgetExceeded; return zero; };
    } else if (imp.kind === 'memory') {
      const m = plan.importedMemory ?? { initial: 0, maximum: null };
      imports[imp.module][imp.name] = new WebAssembly.Memory(m.maximum === null ? { initial: m.initial } : { initial: m.initial, maximum: m.maximum });
    }
  }
  return new WebAssembly.Instance(module, imports);
}
let instance = instantiate();
for (let i = 0; i <= upTo && i < plan.calls.length; i++) {
  const call = plan.calls[i];
  if (call.expect !== 'start') continue;
  pauses = 0;
  try {
    instance.exports[call.name](...call.params.map(zeroOf));
  } catch (e) {
    // A trap keeps the instance (the VM continues with intoPrepare()); an abandoned call does not.
    if (e === budgetExceeded) instance = instantiate();
  }
}
parentPort.postMessage({ status: 'completed', ms: performance.now() - started });
`;

/** Runs calls `0 .. upTo` of `plan` on `bytes` in plain V8, giving up after `timeoutMs`. */
export function runPlain(bytes: Uint8Array, plan: CallPlan, upTo: number, timeoutMs: number): Promise<TriageResult> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_CODE, { eval: true, workerData: { bytes, plan, upTo } });
    let settled = false;
    const settle = (result: TriageResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    };
    const timer = setTimeout(() => settle({ status: 'timeout' }), timeoutMs);
    worker.on('message', (message: TriageResult) => settle(message));
    worker.on('error', (error) => settle({ status: 'error', message: String(error) }));
    worker.on('exit', (code) => settle({ status: 'error', message: `the triage worker exited with code ${code}` }));
  });
}
