/**
 * The hostile-input harness, from the command line:
 *
 * ```text
 * npm run fuzz:hostile -- [--cases N] [--seed S] [--mix long|fast] [--verbose]
 * npm run fuzz:hostile -- --seed S --case I [--mix M] [--verbose]
 * ```
 *
 * - `--cases N`: run cases `0 .. N-1` (default 1000).
 * - `--seed S`: the seed (default: derived from the clock, printed so the run can be repeated).
 * - `--mix`: `long` (default) or `fast` (the Jest slice's mix); see `cases.ts`.
 * - `--case I`: replay case `I` alone; a runtime that reaches the transform is then always
 *   fully created (never deferred).
 * - `--verbose`: one line per case, and the worker's output.
 *
 * Prints the cases by class and outcome, what happened to the inputs that stayed valid, the
 * slowest case per class and outcome, the time bounds, and every violation with the path of
 * its saved input and a one-line reproduction. Exit status 1 if there was a violation.
 *
 * @module
 */

import { parseArgs } from 'node:util';
import { DEFAULT_BOUNDS, describeBounds } from './bounds.js';
import { MIXES, type MixName } from './cases.js';
import { runSession } from './session.js';

function usage(message: string): never {
  console.error(`${message}\nusage: npm run fuzz:hostile -- [--cases N] [--seed S] [--mix long|fast] [--case I] [--verbose]`);
  process.exit(2);
}

function integer(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) usage(`--${name} must be a non-negative integer, got ${text}`);
  return value;
}

const { values } = parseArgs({
  options: {
    cases: { type: 'string' },
    seed: { type: 'string' },
    mix: { type: 'string' },
    case: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
  strict: true,
});

const mix = (values.mix ?? 'long') as MixName;
if (!(mix in MIXES)) usage(`--mix must be one of ${Object.keys(MIXES).join(', ')}`);
const seed = integer(values.seed, 'seed', Date.now() % 1_000_000_000);
const single = values.case === undefined ? null : integer(values.case, 'case', 0);
const count = integer(values.cases, 'cases', 1000);
const indices = single === null ? Array.from({ length: count }, (_, i) => i) : [single];
const verbose = values.verbose;

console.log(`hostile-input harness: mix ${mix}, seed ${seed}, ${single === null ? `${count} cases` : `case ${single} (full create)`}`);
console.log('time bounds (a worker that exceeds one is killed):');
for (const line of describeBounds(DEFAULT_BOUNDS)) console.log(`  ${line}`);

let lastProgress = performance.now();
const report = await runSession({
  seed,
  mix,
  indices,
  forceFull: single !== null,
  onResult: (result, done) => {
    if (verbose) {
      const extra = result.exercise === undefined ? '' : ` calls [${result.exercise.calls.join(', ')}], ${result.exercise.interrupts} interrupts`;
      console.log(
        `#${result.index} ${result.cls} ${result.origin} ${result.size} B valid=${result.engineValid} path=${result.path} -> ${result.label} ` +
          `(${result.totalMs.toFixed(0)} ms, create ${result.createMs.toFixed(0)} ms)${extra} | ${result.description}`,
      );
      if (result.violation !== undefined) console.log(`   ${result.violation.type} in ${result.violation.where}: ${result.violation.message}`);
      if (result.note !== undefined) console.log(`   note: ${result.note}`);
    } else if (performance.now() - lastProgress > 30_000 || done === indices.length) {
      lastProgress = performance.now();
      console.log(`  ... ${done}/${indices.length} cases`);
    }
  },
  ...(verbose ? { onOutput: (line: string) => console.log(`   [worker] ${line}`) } : {}),
});

console.log('');
for (const line of report.summary.render()) console.log(line);
const w = report.workers;
console.log('');
console.log(
  `workers: ${w.starts} started, max RSS ${w.maxRssMb} MB, ${w.canaries} canary checks, ${w.outputLines} lines printed by workers; ` +
    `runtimes: ${w.runtimes.join(', ') || 'none'}; wall time ${(report.wallMs / 1000).toFixed(0)} s`,
);
if (report.summary.violations.length > 0) {
  console.log(`FAILED: ${report.summary.violations.length} violation(s)`);
  process.exit(1);
}
console.log('no violations');
