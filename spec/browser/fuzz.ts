/**
 * The VM side of the differential fuzzer (`fuzz/differential/vm-runner.ts`) in a browser: the
 * test serves modules of the fuzz corpus that Node.js generated, with the options Node.js's
 * check would use; the page reads each module's shape, plans the same calls from the seed,
 * runs them through the library with the same deterministic host, and returns the record (call
 * outcomes, trap kinds, import events, memory digests, globals) for the test to compare with
 * plain V8's in Node.js.
 */
import type { Backend } from 'resumable-wasm';
import type { Bounds } from '../../fuzz/differential/bounds.js';
import { planCalls } from '../../fuzz/differential/call-plan.js';
import { readModuleShape } from '../../fuzz/differential/module-shape.js';
import { type VmRun, runVm } from '../../fuzz/differential/vm-runner.js';

/** One module of the corpus and how Node.js checks it. */
export interface FuzzCase {
  readonly url: string;
  readonly seed: number;
  readonly features: 'default' | 'modern';
  /** The VM's `unwindBufferPages` (`null`: its default), as Node.js's check chose it for the seed. */
  readonly unwindBufferPages: number | null;
  readonly startFunctions: boolean;
  /** Fuel, the stack limit and canonical NaNs as Node.js's check with `--bounds` chose them for the seed; `null`: none. */
  readonly bounds: Bounds | null;
}

/** Runs each case on `backend`; returns the VM's record of each, in order. */
export async function fuzzCases(request: { readonly backend: Backend; readonly cases: readonly FuzzCase[] }): Promise<VmRun[]> {
  const runs: VmRun[] = [];
  for (const c of request.cases) {
    const response = await fetch(c.url);
    if (!response.ok) throw new Error(`${c.url}: ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const shape = readModuleShape(bytes);
    runs.push(
      await runVm(bytes, shape, planCalls(shape, c.seed), { seed: c.seed, actions: true, exportCount: shape.exports.length }, {
        backend: request.backend,
        features: c.features,
        startFunctions: c.startFunctions,
        bounds: c.bounds,
        ...(c.unwindBufferPages === null ? {} : { unwindBufferPages: c.unwindBufferPages }),
      }),
    );
  }
  return runs;
}
