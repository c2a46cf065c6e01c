/**
 * The slice of the WebAssembly spec suites the browser tests run in each browser, and Node.js's
 * results for it. The browser runs the same runner (`spec/conformance/script-runner.ts`, bundled)
 * on the same data; each command's observation (status, the value with its bit pattern, the trap
 * or refusal kind) must equal Node.js's on the same backend.
 *
 * Which scripts: a fixed list, chosen for what can differ between engines rather than for size:
 * - traps of every kind (`traps`, `memory_trap`, `int_exprs`, `i32`, `i64`, `call_indirect`,
 *   `unreachable`, the non-trapping proposal's `conversions` with its trapping conversions too),
 *   which each engine reports with messages of its own that the library must map to its kinds;
 * - stack exhaustion (`call`: runaway recursion), a `RangeError` in V8 and JavaScriptCore and an
 *   `InternalError` in SpiderMonkey;
 * - float bit patterns and NaN payloads across the JavaScript boundary and through memory
 *   (`f32_bitwise`, `f64_bitwise`, `float_literals`, `float_memory`, `endianness`);
 * - memory growth and bounds (`memory_grow`, `address`, the bulk-memory proposal's `memory_fill`);
 * - control flow around pauses (`unwind`, `left-to-right`), sign extension (`i64` of its proposal).
 * About 60 modules and 4,500 commands: seconds per backend and engine.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Backend, DEFAULT_MAX_STACK_HEIGHT, type FeaturesOption } from '../../lib/index.js';
import { SUITE_FEATURES } from '../conformance/feature-set.js';
import { type Command, loadScript } from '../conformance/script.js';
import { type RunOptions, runScript } from '../conformance/script-runner.js';
import { PROPOSAL_SUITES, SUITE_DIR, proposalDir } from '../conformance/suite.js';
import { type KnownDifference, explainSpecDifference, failedObservation } from './engine-differences.js';
import { type SliceOutcome, sliceOutcomeOf } from './slice-outcome.js';

export type { SliceOutcome };

/** One script of the slice: its suite (`mvp` or a proposal folder of `spec/proposals/`) and name. */
export interface SliceScript {
  readonly suite: string;
  readonly script: string;
}

/** The slice; see the module documentation. */
export const SPEC_SLICE: readonly SliceScript[] = [
  ...[
    'address',
    'call',
    'call_indirect',
    'endianness',
    'f32_bitwise',
    'f64_bitwise',
    'float_literals',
    'float_memory',
    'i32',
    'i64',
    'int_exprs',
    'left-to-right',
    'memory_grow',
    'memory_trap',
    'traps',
    'unreachable',
    'unwind',
  ].map((script) => ({ suite: 'mvp', script })),
  { suite: 'nontrapping-float-to-int-conversions', script: 'conversions' },
  { suite: 'bulk-memory-operations', script: 'memory_fill' },
  { suite: 'sign-extension-ops', script: 'i64' },
];

/** The folder of `suite`, and whether it is there (the MVP suite is shared data, the proposals are committed). */
function folderOf(suite: string): string {
  return suite === 'mvp' ? SUITE_DIR : proposalDir(suite);
}

/** The scripts of the slice whose suite is present, and a one-line message about those that are not. */
export function presentSlice(): { scripts: SliceScript[]; missing: string | null } {
  const scripts = SPEC_SLICE.filter((s) => existsSync(join(folderOf(s.suite), `${s.script}.json`)));
  const absent = SPEC_SLICE.length - scripts.length;
  return {
    scripts,
    missing: absent === 0 ? null : `${absent} of the ${SPEC_SLICE.length} spec scripts of the browser slice are not present (the MVP suite is shared data: ${SUITE_DIR})`,
  };
}

/** The feature set a script of `suite` runs with (the MVP suite's, or its proposal's). */
export function featuresOf(suite: string): FeaturesOption {
  return suite === 'mvp' ? SUITE_FEATURES : PROPOSAL_SUITES.find((p) => p.name === suite)!.features;
}

/** The URL path the test serves a script's data at. */
export function sliceUrl(s: SliceScript): string {
  return `/spec/${s.suite}/${s.script}.json`;
}

/** The script as data for the page (`spec/browser/conformance.ts`'s `ScriptData`): commands and module files, base64. */
export function scriptData(s: SliceScript): string {
  const path = join(folderOf(s.suite), `${s.script}.json`);
  const json = JSON.parse(readFileSync(path, 'utf8')) as { source_filename: string; commands: Command[] };
  const modules: Record<string, string> = {};
  for (const command of json.commands) {
    if (!('filename' in command)) continue;
    if ('module_type' in command && command.module_type === 'text') continue;
    modules[command.filename] = readFileSync(join(dirname(path), command.filename)).toString('base64');
  }
  // The path keeps its last two parts, which is what the runner reads of it (the suite's folder).
  const suiteFolder = s.suite === 'mvp' ? 'spec-mvp' : s.suite;
  return JSON.stringify({ name: s.script, path: `/${suiteFolder}/${s.script}.json`, sourceFilename: json.source_filename, commands: json.commands, modules });
}


/**
 * The code rewrite's options the slice also runs with, in Node.js and in every browser: fuel
 * (every call starts with none and is refilled each time it runs out), the default logical stack
 * limit, canonical NaNs.
 */
export const SLICE_BOUNDS: NonNullable<RunOptions['bounds']> = { fuel: true, maxStackHeight: DEFAULT_MAX_STACK_HEIGHT, canonicalizeNaNs: true };

/** Runs `scripts` in Node.js on `backend`, with the code rewrite's options `bounds` if given. */
export async function runSliceInNode(scripts: readonly SliceScript[], backend: Backend, bounds?: RunOptions['bounds']): Promise<SliceOutcome[]> {
  const outcomes: SliceOutcome[] = [];
  for (const s of scripts) {
    const result = await runScript(loadScript(join(folderOf(s.suite), `${s.script}.json`)), { backend, features: featuresOf(s.suite), ...(bounds === undefined ? {} : { bounds }) });
    outcomes.push(sliceOutcomeOf(result));
  }
  return outcomes;
}

/** The commands of a slice script by their `.wast` line. */
function commandsByLine(s: SliceScript): Map<number, Command> {
  const json = JSON.parse(readFileSync(join(folderOf(s.suite), `${s.script}.json`), 'utf8')) as { commands: Command[] };
  return new Map(json.commands.map((c) => [c.line, c]));
}

/**
 * How a browser's run of `scripts` differs from Node.js's: `unexplained`, one line per command
 * whose observation differs for no reason `engine-differences.ts` knows, or that failed in the
 * browser for none of the known differences of this engine (`applying`); and how many commands
 * each known difference (or `spec`: both runs meet the spec) explained.
 */
export function sliceDifferences(
  scripts: readonly SliceScript[],
  node: readonly SliceOutcome[],
  browser: readonly SliceOutcome[],
  browserName: string,
  applying: readonly KnownDifference[],
): { unexplained: string[]; explained: Record<string, number> } {
  const unexplained: string[] = [];
  const explained: Record<string, number> = {};
  scripts.forEach((s, i) => {
    const expected = node[i]!;
    const actual = browser[i];
    if (actual === undefined || actual.script !== expected.script) {
      unexplained.push(`${s.suite}/${s.script}: not run in ${browserName}`);
      return;
    }
    // Fuel is counted in the guest's own instructions: every call's consumption and its times out
    // of fuel are the same everywhere, exactly.
    const fuelLength = Math.max(expected.fuel.length, actual.fuel.length);
    for (let k = 0; k < fuelLength; k++) {
      if (expected.fuel[k] !== actual.fuel[k]) {
        unexplained.push(`${s.suite}/${s.script}.wast: Node.js "${expected.fuel[k] ?? '(no call)'}" | ${browserName} "${actual.fuel[k] ?? '(no call)'}"`);
      }
    }
    const commands = commandsByLine(s);
    const length = Math.max(expected.observations.length, actual.observations.length);
    for (let k = 0; k < length; k++) {
      const n = expected.observations[k] ?? '(none)';
      const b = actual.observations[k] ?? '(none)';
      if (n === b && !failedObservation(b)) continue;
      const why = explainSpecDifference(n, b, commands.get(Number(/^\d+/.exec(b)?.[0])), applying);
      if (why === null || (failedObservation(b) && why === 'spec')) {
        unexplained.push(`${s.suite}/${s.script}.wast: Node.js "${n}" | ${browserName} "${b}"`);
      } else {
        explained[why] = (explained[why] ?? 0) + 1;
      }
    }
  });
  return { unexplained, explained };
}
