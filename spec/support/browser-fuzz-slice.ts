/**
 * The slice of the differential fuzz corpus (`fuzz/differential/`) the browser tests run in each
 * browser, and what Node.js makes of it. Node.js generates the modules (Binaryen's
 * `wasm-opt -ttf`) and runs each twice, in plain V8 and through the VM; the browser runs the VM
 * side on the same module with the same seed (hence the same calls, arguments and host), and its
 * record (results, float bits, trap kinds, import events, memory digests, globals) must match
 * plain V8's exactly as Node.js's VM record does.
 *
 * Which modules: eight of the `'default'` seeds that `spec/differential.test.ts` checks, the
 * cheapest to run (memory digests are SHA-1 in JavaScript in a page) that still cover every
 * generator choice: each initial content (none: 2, 5, 25, 31; memory operations: 12, 49; exported:
 * 52), with and without `--fuzz-passes`, the memory rewritten into an import (2, 5, 12, 49) or not,
 * the 1-page unwind buffer (5, 12, 52), and the module the VM refuses (21, a start function); and
 * two of its `'modern'` seeds (bulk memory and multi-value; 7 has references in frames that may
 * pause, which the Asyncify backend refuses: that refusal must be the same in a browser).
 */
import type { Backend } from '../../lib/index.js';
import { type Verdict, compareRecords } from '../../fuzz/differential/compare.js';
import { seededUnwindBufferPages } from '../../fuzz/differential/differential.js';
import { seededBounds } from '../../fuzz/differential/bounds.js';
import { Generator } from '../../fuzz/differential/generator.js';
import { planCalls } from '../../fuzz/differential/call-plan.js';
import { type ModuleShape, readModuleShape } from '../../fuzz/differential/module-shape.js';
import { type PlainRun, runPlain } from '../../fuzz/differential/plain-runner.js';
import { type VmRun, runVm } from '../../fuzz/differential/vm-runner.js';
import type { FuzzCase } from '../browser/fuzz.js';
import { type KnownDifference, withoutAmbiguity } from './engine-differences.js';

/** The seeds, by profile; see the module documentation. */
export const FUZZ_SLICE: readonly { readonly seed: number; readonly features: 'default' | 'modern' }[] = [
  ...[2, 5, 12, 21, 25, 31, 49, 52].map((seed) => ({ seed, features: 'default' as const })),
  ...[6, 7].map((seed) => ({ seed, features: 'modern' as const })),
];

/** One module of the slice, generated, with Node.js's runs of it. */
export interface CorpusModule {
  /** What the page is given (see `spec/browser/fuzz.ts`). */
  readonly browserCase: Omit<FuzzCase, 'url'>;
  readonly bytes: Uint8Array;
  readonly shape: ModuleShape;
  readonly plain: PlainRun;
  /** Node.js's VM side on each backend. */
  readonly node: Readonly<Record<Backend, VmRun>>;
  /**
   * The same with fuel, the stack limit and canonical NaNs as `npm run fuzz -- --bounds` chooses
   * them for the seed (`browserCase.bounds` set): plain V8 runs the rewritten module, every call's
   * fuel consumed and out-of-fuel points (random refills) part of the record.
   */
  readonly withBounds: Omit<CorpusModule, 'withBounds'>;
}

/** Generates the slice's modules and runs each in Node.js: plain V8, and the VM on both backends. */
export async function prepareFuzzSlice(): Promise<CorpusModule[]> {
  const modules: CorpusModule[] = [];
  for (const features of ['default', 'modern'] as const) {
    const generator = new Generator(features);
    try {
      for (const { seed } of FUZZ_SLICE.filter((f) => f.features === features)) {
        const { bytes } = await generator.generate(seed);
        const shape = readModuleShape(bytes);
        const plan = planCalls(shape, seed);
        const hostOptions = { seed, actions: true, exportCount: shape.exports.length };
        const unwindBufferPages = seededUnwindBufferPages(seed) ?? null;
        const startFunctions = features === 'modern';
        /** The VM's run on both backends, with `bounds` (fuel, stack limit, NaNs) or without. */
        const onBothBackends = async (bounds: ReturnType<typeof seededBounds> | null): Promise<Record<Backend, VmRun>> => {
          const runs = {} as Record<Backend, VmRun>;
          for (const backend of ['asyncify', 'jspi'] as const) {
            runs[backend] = await runVm(bytes, shape, plan, hostOptions, {
              backend,
              features,
              startFunctions,
              ...(bounds === null ? {} : { bounds }),
              ...(unwindBufferPages === null || backend === 'jspi' ? {} : { unwindBufferPages }),
            });
          }
          return runs;
        };
        const node = await onBothBackends(null);
        const plain = runPlain(bytes, shape, node.asyncify.type === 'ran' || node.jspi.type === 'ran' ? plan : [], hostOptions);
        const bounds = seededBounds(seed);
        const nodeBounds = await onBothBackends(bounds);
        const ranBounds = nodeBounds.asyncify.type === 'ran' || nodeBounds.jspi.type === 'ran';
        const plainBounds = runPlain(bytes, shape, ranBounds ? plan : [], hostOptions, ranBounds ? bounds : null);
        const browserCase = { seed, features, unwindBufferPages, startFunctions, bounds: null };
        modules.push({
          browserCase,
          bytes,
          shape,
          plain,
          node,
          withBounds: { browserCase: { ...browserCase, bounds }, bytes, shape, plain: plainBounds, node: nodeBounds },
        });
      }
    } finally {
      generator.dispose();
    }
  }
  return modules;
}

/** What a refused run is, for comparison: the kind only (messages are the engine's). */
function acceptance(run: VmRun): string {
  return run.type === 'refused' ? `refused ${run.kind}` : 'ran';
}

/**
 * How the browser's run of `module` on `backend` differs from Node.js's (`null`: it does not):
 * accepted or refused alike (refusals by kind); run, its record matches plain V8's (or differs
 * only where a side ran out of stack: engines give a call different stack sizes, so this is
 * no divergence, as in the fuzzer itself), and where both VM records match plain V8's they match
 * each other; and the API contracts the runner checks hold. Where the engine cannot tell
 * out-of-bounds memory from table accesses (`applying`, with its shared `message`), every record
 * is compared without that distinction (see `engine-differences.ts`).
 */
export function fuzzDifference(
  module: Omit<CorpusModule, 'withBounds'>,
  backend: Backend,
  browser: VmRun,
  applying: readonly KnownDifference[] = [],
  message = '',
): string | null {
  const node = module.node[backend];
  const where = `seed ${module.browserCase.seed} (${module.browserCase.features}${module.browserCase.bounds === null ? '' : ', with bounds'})`;
  if (acceptance(node) !== acceptance(browser)) {
    const detail = (run: VmRun): string => (run.type === 'refused' ? ` (${run.message})` : '');
    return `${where}: Node.js ${acceptance(node)}${detail(node)}, the browser ${acceptance(browser)}${detail(browser)}`;
  }
  if (node.type !== 'ran' || browser.type !== 'ran') return null;
  if (browser.contractViolations.length > 0) return `${where}: API contract: ${browser.contractViolations.join('; ')}`;
  if (module.plain.type !== 'ran') return `${where}: plain V8 failed in Node.js: ${module.plain.message}`;
  const plain = withoutAmbiguity(module.plain.record, applying, message);
  const nodeRecord = withoutAmbiguity(node.record, applying, message);
  const browserRecord = withoutAmbiguity(browser.record, applying, message);
  const describe = (v: Verdict): string => (v.type === 'match' ? 'match' : `${v.type} at call ${v.callIndex} (${v.exportName}): ${v.what}: plain ${v.plain} | vm ${v.vm}`);
  const actual = compareRecords(plain, browserRecord).verdict;
  if (actual.type === 'divergence') return `${where}: against plain V8: ${describe(actual)}`;
  const expected = compareRecords(plain, nodeRecord).verdict;
  if (actual.type === 'match' && expected.type === 'match') {
    const direct = compareRecords(nodeRecord, browserRecord).verdict;
    if (direct.type !== 'match') return `${where}: against Node.js's VM record: ${describe(direct)}`;
  }
  return null;
}
