/**
 * The spec suites of the post-MVP proposals the VM can allow (bulk memory, reference types,
 * multi-value, sign-extension, non-trapping float-to-int), committed in `spec/proposals/` as
 * wast2json output (see its README.md), through the public API with the harness of
 * `spec/conformance/` (its CLI: `npm run spec:conformance -- --suite proposals`).
 *
 * Each suite runs with its proposal's features on top of `'default'` (reference types with
 * `'modern'`: its scripts also use bulk memory and multi-value), on both backends, held to the
 * scripts' expected results with the MVP suite's bar: no command fails, every skip belongs to a
 * known class, and the count of each class is the one this data produces.
 *
 * Unlike the MVP suite's first run, these link function imports between modules (a registered
 * module's export answers the import of a later one, each call crossing as a pause of the
 * caller answered by running the callee to its end), which most of bulk memory's and reference
 * types' table scripts need, and run start functions (`VmConfig.startFunction`, through the
 * state machine before the module's first command). Every run therefore pauses: the interrupt
 * counts are checked too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROPOSAL_SUITES, proposalDir, listScripts } from './conformance/suite.js';
import { KNOWN_FAILURES, knownFailure } from './conformance/known-failures.js';
import { formatFailure, formatSkip } from './conformance/report.js';
import { type ScriptResult, sumTallies, totalSkipped } from './conformance/results.js';
import { runSuite } from './conformance/run-suite.js';
import { ALL_SKIP_REASONS, type SkipReason } from './conformance/skip-reasons.js';
import { BACKENDS } from './support/backends.js';

/** Per suite: commands passed, interrupts answered, and skipped commands per class, as measured. */
const EXPECTED: Readonly<Record<string, { passed: number; interrupts: number; skipped: Partial<Record<SkipReason, number>> }>> = {
  'bulk-memory-operations': {
    passed: 6709,
    interrupts: 88,
    skipped: { 'text-module': 16, 'spectest-import': 82, linking: 98, obsolete: 8 },
  },
  'reference-types': {
    passed: 8638,
    interrupts: 290,
    skipped: {
      'text-module': 36,
      'spectest-import': 85,
      linking: 109,
      obsolete: 9,
      'multi-result-call': 118,
      'reference-value-call': 145,
    },
  },
  'multi-value': { passed: 930, interrupts: 0, skipped: { 'text-module': 82, obsolete: 8, 'multi-result-call': 162 } },
  'sign-extension-ops': { passed: 872, interrupts: 0, skipped: {} },
  'nontrapping-float-to-int-conversions': { passed: 615, interrupts: 0, skipped: {} },
};

describe.each(PROPOSAL_SUITES.map((s) => [s.name, s] as const))('the %s spec suite', (name, suite) => {
  const expected = EXPECTED[name]!;

  describe.each(BACKENDS)('on %s', (backend) => {
    let results: ScriptResult[] = [];

    beforeAll(async () => {
      const dir = proposalDir(name);
      results = await runSuite(listScripts(dir), { features: suite.features, backend, dir, linkFunctions: true, startFunctions: true });
    });

    test('every script ran, and the expected number of commands passed', () => {
      expect(results.filter((r) => r.error !== undefined).map((r) => `${r.script}: ${r.error}`)).toEqual([]);
      expect(sumTallies(results.map((r) => r.tally)).passed).toBe(expected.passed);
      expect(results.reduce((sum, r) => sum + r.interrupts, 0)).toBe(expected.interrupts);
    });

    test('no command fails', () => {
      const unexpected = results.flatMap((r) => r.failures).filter((f) => knownFailure(f) === null);
      expect(unexpected.map(formatFailure)).toEqual([]);
      expect(KNOWN_FAILURES.filter((k) => results.some((r) => r.script === k.script))).toEqual([]);
    });

    test('every skip belongs to a known class, with the expected counts', () => {
      const skips = results.flatMap((r) => r.skips);
      expect(skips.filter((s) => !ALL_SKIP_REASONS.includes(s.reason)).map(formatSkip)).toEqual([]);
      const total = sumTallies(results.map((r) => r.tally));
      expect(skips.length).toBe(totalSkipped(total));
      const counts = Object.fromEntries(ALL_SKIP_REASONS.map((reason) => [reason, expected.skipped[reason] ?? 0]));
      expect(total.skipped).toEqual(counts);
    });
  });
});

describe("the bulk memory suite with 'modern': expectations reference types lifted are checked reversed", () => {
  // The 2019 bulk-memory suite calls a module with several tables invalid; reference types
  // (in 'modern') made it valid. Run with 'modern', those commands must see a valid module
  // (the engine validates it, the VM does not call it invalid), not be skipped or fail.
  test.each(BACKENDS)('on %s: the imports script passes every command it ran, the lifted ones included', async (backend) => {
    const dir = proposalDir('bulk-memory-operations');
    const [own] = await runSuite(['imports'], { features: ['default', 'bulk-memory'], backend, dir, linkFunctions: true, startFunctions: true });
    const [modern] = await runSuite(['imports'], { features: 'modern', backend, dir, linkFunctions: true, startFunctions: true });
    expect(modern!.failures.map(formatFailure)).toEqual([]);
    expect(own!.failures.map(formatFailure)).toEqual([]);
    // The same commands pass either way: 3 refusals under the proposal's own features, 3
    // valid modules under 'modern'.
    expect(modern!.tally.passed).toBe(own!.tally.passed);
    expect(modern!.tally.passed).toBeGreaterThan(0);
  });

  test('the reversed check fails for a module the engine calls invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifted-'));
    try {
      writeFileSync(join(dir, 'broken.0.wasm'), Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff));
      const commands = [{ type: 'assert_invalid', line: 7, filename: 'broken.0.wasm', text: 'multiple tables', module_type: 'binary' }];
      writeFileSync(join(dir, 'broken.json'), JSON.stringify({ source_filename: 'broken.wast', commands }));
      const [result] = await runSuite(['broken'], { features: 'modern', backend: 'jspi', dir });
      expect(result!.failures.map((f) => f.detail)).toEqual([expect.stringContaining('the engine says the module is invalid')]);
      // Without reference types the expectation stands, and a broken module meets it.
      const [mvp] = await runSuite(['broken'], { features: 'default', backend: 'jspi', dir });
      expect(mvp!.failures).toEqual([]);
      expect(mvp!.tally.passed).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
