/**
 * Hostile and broken input never crashes, hangs or leaks an engine error out of the library:
 * a fast, seeded slice of the hostile-input harness (`fuzz/hostile/`): random bytes,
 * hand-written small modules unchanged, mutated and truncated, extreme modules, and truncated
 * and mutated real runtimes, each run in a supervised worker process with a time bound per
 * phase. Every case must end as a `NewError`, a `UsageError` for a malformed config, or a
 * working prototype whose calls all end as documented outcomes. (The long run is
 * `npm run fuzz:hostile -- --cases 10000`.)
 */
import { runSession } from '../fuzz/hostile/session.js';
import { sharedPath } from './support/shared.js';

describe('creation fuzzing (fast slice of fuzz/hostile)', () => {
  const CASES = 800;
  const SEED = 20_251_123;

  test(`${CASES} seeded hostile inputs end as NewError, UsageError or a working prototype, within their time bounds`, async () => {
    if (sharedPath('runtimes/westend-runtime-v9300.wasm') === null) {
      console.warn('hostile slice: ../shared/runtimes/westend-runtime-v9300.wasm is absent; its cases use the Asset Hub runtime instead');
    }
    const report = await runSession({
      seed: SEED,
      mix: 'fast',
      indices: Array.from({ length: CASES }, (_, i) => i),
    });
    const text = report.summary.render().join('\n');
    if (report.summary.violations.length > 0) console.error(text);
    expect(report.summary.violations.map((v) => `#${v.result.index} ${v.result.violation!.type}: ${v.result.violation!.message}`)).toEqual([]);
    // Both branches were exercised: refusals of several kinds, and accepted modules that ran.
    const totals = report.summary.totals();
    expect(totals.get('accepted') ?? 0).toBeGreaterThanOrEqual(50);
    expect([...totals.keys()].filter((label) => label.startsWith('refused:')).length).toBeGreaterThanOrEqual(4);
    expect(totals.get('usage:InvalidArgument') ?? 0).toBeGreaterThan(0);
    expect(totals.get('deferred') ?? 0).toBeGreaterThan(0);
    expect(report.summary.callOutcomes.get('finished') ?? 0).toBeGreaterThan(0);
    expect([...report.summary.callOutcomes.keys()].some((label) => label.startsWith('trapped:'))).toBe(true);
    // The library prints nothing, whatever it is fed.
    expect(report.workers.outputLines).toBe(0);
    console.info(`hostile slice: ${CASES} cases in ${(report.wallMs / 1000).toFixed(1)} s\n${text}`);
  });
});
