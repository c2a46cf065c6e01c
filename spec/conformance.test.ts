/**
 * The WebAssembly MVP spec suite (`../shared/spec-mvp`, wast2json scripts) through the public
 * API, with the harness of `spec/conformance/` (its CLI is `spec/conformance/run.ts`).
 *
 * Which scripts: all of them. The "slice" was meant to keep this under a minute, but measured
 * on this 2-core machine the whole suite takes about 5 s under Jest (binaryen's first load
 * about 0.5 s; module creation is a few milliseconds for these small modules, ~3,400 of them
 * counting refusals; 9,600 invocations well under a millisecond each), so every script is the
 * most representative slice there is. `SLICE` below is where to narrow it should module
 * creation ever become expensive (e.g. heavier Binaryen post passes).
 *
 * It runs once per backend (Asyncify, then JSPI); each is held to the scripts' expected results,
 * which are what a plain engine gives, so together they compare plain, Asyncify and JSPI.
 *
 * What is asserted: no command fails except the diagnosed VM bugs of `known-failures.ts`,
 * each of which must still fail (remove its entry once it is fixed); every skip belongs to a
 * known class, and the count of each class is the one this data produces.
 */
import { KNOWN_FAILURES, knownFailure } from './conformance/known-failures.js';
import { SUITE_FEATURES } from './conformance/feature-set.js';
import { formatFailure, formatSkip } from './conformance/report.js';
import { type ScriptResult, sumTallies, totalSkipped } from './conformance/results.js';
import { runSuite } from './conformance/run-suite.js';
import { ALL_SKIP_REASONS, type SkipReason } from './conformance/skip-reasons.js';
import { SUITE_RELATIVE, listScripts } from './conformance/suite.js';
import { matchValue, toWasmValue } from './conformance/wasm-values.js';
import { BACKENDS } from './support/backends.js';
import { DEFAULT_MAX_STACK_HEIGHT } from '../lib/index.js';
import type { RunOptions } from './conformance/script-runner.js';
import { describeWithShared } from './support/shared.js';

/** The scripts to run (`null`: all of them); see the file comment. */
const SLICE: readonly string[] | null = null;

/**
 * Skipped commands per class over the whole suite, as measured. They depend on the data and the
 * harness only: a VM that refused a skipped module for another reason would make it a failure.
 */
const EXPECTED_SKIPS: Readonly<Record<SkipReason, number>> = {
  'text-module': 430,
  'spectest-import': 83,
  linking: 134,
  'start-function': 16,
  obsolete: 9,
  'non-i32-global': 0,
  'multi-result-call': 0,
  'reference-value-call': 0,
};

describeWithShared(SUITE_RELATIVE, 'WebAssembly MVP spec suite', (dir) => {
  describe.each(BACKENDS)('on %s', (backend) => {
    let results: ScriptResult[] = [];

    beforeAll(async () => {
      results = await runSuite(SLICE ?? listScripts(dir), { features: SUITE_FEATURES, backend, dir });
    });

    test('every script ran, and commands passed', () => {
      expect(results.filter((r) => r.error !== undefined).map((r) => `${r.script}: ${r.error}`)).toEqual([]);
      expect(sumTallies(results.map((r) => r.tally)).passed).toBeGreaterThan(11_000);
    });

    test('no command fails, except the known VM bugs', () => {
      const unexpected = results.flatMap((r) => r.failures).filter((f) => knownFailure(f) === null);
      expect(unexpected.map(formatFailure)).toEqual([]);
    });

    test('each known VM bug still fails (remove its entry from known-failures.ts once fixed)', () => {
      const failures = results.flatMap((r) => r.failures);
      const ran = new Set(results.map((r) => r.script));
      const fixed = KNOWN_FAILURES.filter((k) => ran.has(k.script) && !failures.some((f) => knownFailure(f) === k));
      expect(fixed.map((k) => k.id)).toEqual([]);
    });

    test('every skip belongs to a known class, with the expected counts', () => {
      const skips = results.flatMap((r) => r.skips);
      expect(skips.filter((s) => !ALL_SKIP_REASONS.includes(s.reason)).map(formatSkip)).toEqual([]);
      const total = sumTallies(results.map((r) => r.tally));
      expect(skips.length).toBe(totalSkipped(total));
      if (SLICE === null) expect(total.skipped).toEqual(EXPECTED_SKIPS);
    });
});
});

/**
 * The same suite with the harness's two extensions that need opt-in behaviour of the VM:
 * function imports linked between modules through pauses, and start functions run through the
 * state machine (`startFunction: true`; start.wast's scripts then run, their prints pausing).
 */
const EXPECTED_SKIPS_EXTENDED: Readonly<Record<SkipReason, number>> = { ...EXPECTED_SKIPS, linking: 96, 'start-function': 0 };

describeWithShared(SUITE_RELATIVE, 'WebAssembly MVP spec suite, with linking and start functions', (dir) => {
  describe.each(BACKENDS)('on %s', (backend) => {
    let results: ScriptResult[] = [];

    beforeAll(async () => {
      results = await runSuite(listScripts(dir), { features: SUITE_FEATURES, backend, dir, linkFunctions: true, startFunctions: true });
    });

    test('no command fails, the expected number pass, and start functions paused', () => {
      expect(results.flatMap((r) => r.failures).map(formatFailure)).toEqual([]);
      expect(sumTallies(results.map((r) => r.tally)).passed).toBe(11_989);
      expect(results.find((r) => r.script === 'start')?.interrupts).toBeGreaterThan(0);
    });

    test('every skip belongs to a known class, with the expected counts', () => {
      expect(sumTallies(results.map((r) => r.tally)).skipped).toEqual(EXPECTED_SKIPS_EXTENDED);
    });
  });
});

/**
 * The scripts about memory (addresses, offsets, alignment, data segments, growth, traps) and
 * deep calls, on Asyncify with its paused stack in the guest's one memory
 * (`asyncifyStack: 'single-memory'`): every guest access moved up past the reserved pages must
 * still give the spec's values and traps. (`npm run spec:conformance -- --asyncify-stack
 * single-memory` runs every script, and the proposal suites: 0 failures.)
 */
const SINGLE_MEMORY_SLICE = [
  'address', 'align', 'data', 'endianness', 'float_memory', 'left-to-right', 'load', 'memory', 'memory_grow',
  'memory_redundancy', 'memory_size', 'memory_trap', 'store', 'traps', 'call', 'call_indirect', 'fac', 'start',
];

describeWithShared(SUITE_RELATIVE, 'WebAssembly MVP spec suite, the memory scripts on single-memory Asyncify', (dir) => {
  let results: ScriptResult[] = [];
  beforeAll(async () => {
    results = await runSuite(SINGLE_MEMORY_SLICE, { features: SUITE_FEATURES, backend: 'asyncify', asyncifyStack: 'single-memory', dir, startFunctions: true });
  });

  test('every script ran, and no command fails', () => {
    expect(results.map((r) => r.script).sort()).toEqual([...SINGLE_MEMORY_SLICE].sort());
    expect(results.filter((r) => r.error !== undefined).map((r) => `${r.script}: ${r.error}`)).toEqual([]);
    expect(results.flatMap((r) => r.failures).map(formatFailure)).toEqual([]);
    expect(sumTallies(results.map((r) => r.tally)).passed).toBeGreaterThan(1400);
  });
});

/**
 * The options for determinism and bounds, each alone and all three: every command passes as
 * without them (the same counts), with the harness holding each to more (see `spec-instance.ts`):
 * with fuel every call starts with none and runs out at once (it is refilled each time); with
 * the default stack limit every `assert_exhaustion` must be the limit's own trap, before the
 * engine's stack runs out; with canonical NaNs every NaN an arithmetic result may be is exactly
 * the canonical NaN.
 */
const BOUNDS_SETS: readonly (readonly [string, NonNullable<RunOptions['bounds']>])[] = [
  ['fuel', { fuel: true }],
  ['the default stack limit', { maxStackHeight: DEFAULT_MAX_STACK_HEIGHT }],
  ['canonical NaNs', { canonicalizeNaNs: true }],
  ['all three', { fuel: true, maxStackHeight: DEFAULT_MAX_STACK_HEIGHT, canonicalizeNaNs: true }],
];

describeWithShared(SUITE_RELATIVE, 'WebAssembly MVP spec suite, with fuel, the stack limit and canonical NaNs', (dir) => {
  describe.each(BACKENDS)('on %s', (backend) => {
    test.each(BOUNDS_SETS)('%s: no command fails, and as many pass and are skipped as without', async (_name, bounds) => {
      const results = await runSuite(listScripts(dir), { features: SUITE_FEATURES, backend, dir, linkFunctions: true, startFunctions: true, bounds });
      expect(results.flatMap((r) => r.failures).map(formatFailure)).toEqual([]);
      const total = sumTallies(results.map((r) => r.tally));
      expect(total.passed).toBe(11_989);
      expect(total.skipped).toEqual(EXPECTED_SKIPS_EXTENDED);
      // Not vacuous: with fuel every call ran out at least once (its budget is 0).
      if (bounds.fuel === true) expect(results.reduce((sum, r) => sum + r.interrupts, 0)).toBeGreaterThan(9_000);
    });
  });
});

// The comparisons the harness relies on, checked without the suite.
describe('conformance harness: value comparison', () => {
  const f32 = (bits: number) => toWasmValue({ type: 'f32', value: String(bits >>> 0) });
  const f64 = (bits: bigint) => toWasmValue({ type: 'f64', value: String(bits) });
  const exact = { ignoreQuietBit: false };

  test('integers compare as unsigned bit patterns', () => {
    expect(matchValue({ type: 'i32', value: '4294967295' }, { type: 'i32', value: -1 }, exact)).toBeNull();
    expect(matchValue({ type: 'i64', value: '18446744073709551615' }, { type: 'i64', value: -1n }, exact)).toBeNull();
    expect(matchValue({ type: 'i32', value: '1' }, { type: 'i32', value: 2 }, exact)).not.toBeNull();
  });

  test('floats compare by bits: -0 is not 0, quiet NaN payloads must match', () => {
    expect(matchValue({ type: 'f32', value: String(0x8000_0000) }, f32(0), exact)).not.toBeNull();
    expect(matchValue({ type: 'f64', value: String(0x7ff8_0000_0000_0001n) }, f64(0x7ff8_0000_0000_0001n), exact)).toBeNull();
    expect(matchValue({ type: 'f64', value: String(0x7ff8_0000_0000_0001n) }, f64(0x7ff8_0000_0000_0002n), exact)).not.toBeNull();
    expect(matchValue({ type: 'f32', value: String(0xffc0_0123) }, f32(0x7fc0_0123), exact)).not.toBeNull();
  });

  test('NaN classes', () => {
    expect(matchValue({ type: 'f32', value: 'nan:canonical' }, f32(0xffc0_0000), exact)).toBeNull();
    expect(matchValue({ type: 'f32', value: 'nan:canonical' }, f32(0x7fc0_0001), exact)).not.toBeNull();
    expect(matchValue({ type: 'f64', value: 'nan:arithmetic' }, f64(0x7ff8_0000_0000_0001n), exact)).toBeNull();
    expect(matchValue({ type: 'f64', value: 'nan:canonical' }, f64(0x7ff8_0000_0000_0001n), exact)).not.toBeNull();
    expect(matchValue({ type: 'f64', value: 'nan:arithmetic' }, { type: 'f64', value: 1 }, exact)).not.toBeNull();
  });

  test('a signalling NaN is compared without its quiet bit, which the boundary sets', () => {
    const signalling = { type: 'f64', value: String(0x7ff4_0000_0000_0001n) } as const;
    expect(matchValue(signalling, f64(0x7ffc_0000_0000_0001n), exact)).toBeNull();
    expect(matchValue(signalling, f64(0x7ffc_0000_0000_0002n), exact)).not.toBeNull();
  });
});
