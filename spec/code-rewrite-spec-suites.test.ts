/**
 * The WebAssembly spec test suites as a corpus for the code rewrites: every script of the MVP
 * suite (`../shared/spec-mvp`) and of the proposal suites (`spec/proposals/`) runs on plain
 * modules and on rewritten ones side by side (`support/rewrite-spec-scripts.ts`), each result
 * checked against the script's expectation and every trap, exhaustion and failed instantiation
 * against the plain module's.
 *
 * The scripts' address, memory, data and bulk memory tests are exactly the corners of the memory
 * shift (offsets up to 0xffffffff, accesses straddling the end, `memory.grow` to the maximum,
 * segments out of bounds); their float tests check NaN canonicalization by bits (every NaN
 * result must be the canonical NaN, which also passes `nan:canonical` and `nan:arithmetic`);
 * fuel (plenty of it) and the stack limit (high) must change nothing a script can see, except
 * that the limit stands in for the engine's stack exhaustion.
 */
import { join } from 'node:path';
import type { CodeRewriteOptions } from '../lib/transform/code-rewrite.js';
import { PROPOSAL_SUITES, listScripts, proposalDir, scriptPath } from './conformance/suite.js';
import { type ScriptTally, runScriptBothWays } from './support/rewrite-spec-scripts.js';
import { describeWithShared } from './support/shared.js';

const OPTION_SETS: readonly (readonly [string, CodeRewriteOptions])[] = [
  ['memory shift K = 1', { memoryBase: 1 }],
  ['memory shift K = 16 + NaN canonicalization', { memoryBase: 16, canonicalizeNaNs: true }],
  ['NaN canonicalization', { canonicalizeNaNs: true }],
  ['fuel + stack limit', { fuel: true, maxStackHeight: 1_000_000 }],
];

/**
 * The modules the rewriter may refuse here, and why: with the memory shift, a data segment placed
 * at an imported global (which the VM's module rules refuse anyway: no global imports); with fuel
 * or the stack limit, a module that already exports `f` or `h` (the names they add; the VM renames
 * every export first); and a module importing from a refused one.
 */
function expectedRefusal(reason: string, options: CodeRewriteOptions): boolean {
  if (/: module is not an object or function$/.test(reason)) return true;
  if ((options.memoryBase ?? 0) > 0 && /data segment \d+'s offset is not an i32.const/.test(reason)) return true;
  return (options.fuel === true || options.maxStackHeight != null) && /already exports "[fh]"/.test(reason);
}

function runAll(paths: readonly string[], options: CodeRewriteOptions): ScriptTally {
  const total: ScriptTally = { passed: 0, skipped: 0, refused: [], failures: [] };
  for (const path of paths) {
    const tally = runScriptBothWays(path, options);
    total.passed += tally.passed;
    total.skipped += tally.skipped;
    total.refused.push(...tally.refused);
    total.failures.push(...tally.failures);
  }
  return total;
}

describeWithShared('spec-mvp', 'code rewrites on the MVP spec suite', (dir) => {
  const paths = listScripts(dir).map((name) => scriptPath(name, dir));
  for (const [name, options] of OPTION_SETS) {
    test(`${name}: every assertion as expected and as the plain module`, () => {
      const tally = runAll(paths, options);
      console.info(`MVP suite, ${name}: ${tally.passed} passed, ${tally.skipped} skipped, ${tally.refused.length} modules refused, ${tally.failures.length} failed`);
      expect(tally.failures).toEqual([]);
      expect(tally.passed).toBeGreaterThan(9_500);
      expect(tally.refused.filter((r) => !expectedRefusal(r, options))).toEqual([]);
    });
  }
});

describe('code rewrites on the proposal spec suites', () => {
  const paths = PROPOSAL_SUITES.flatMap((suite) => listScripts(proposalDir(suite.name)).map((name) => join(proposalDir(suite.name), `${name}.json`)));
  for (const [name, options] of OPTION_SETS) {
    test(`${name}: every assertion as expected and as the plain module`, () => {
      const tally = runAll(paths, options);
      console.info(`proposal suites, ${name}: ${tally.passed} passed, ${tally.skipped} skipped, ${tally.refused.length} modules refused, ${tally.failures.length} failed`);
      expect(tally.failures).toEqual([]);
      expect(tally.passed).toBeGreaterThan(15_000);
      expect(tally.refused.filter((r) => !expectedRefusal(r, options))).toEqual([]);
    });
  }
});
