/**
 * The human-readable report of a run (a table of counts per script and in total, the skip
 * classes with their reasons, every failure) and its JSON form.
 *
 * @module
 */

import { type KnownFailure, knownFailure } from './known-failures.js';
import type { Failure, ScriptResult, Skip, Tally } from './results.js';
import { sumTallies } from './results.js';
import { ALL_SKIP_REASONS, SKIP_REASONS } from './skip-reasons.js';

/** Pads `cells` into aligned columns; the first column is left-aligned, the others right-aligned. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '))
    .join('\n');
}

function row(name: string, tally: Tally, milliseconds: number): string[] {
  return [
    name,
    String(tally.passed),
    String(tally.failed),
    ...ALL_SKIP_REASONS.map((r) => String(tally.skipped[r])),
    (milliseconds / 1000).toFixed(1),
  ];
}

/** The table of counts: one row per script, then the total. */
export function formatTable(results: readonly ScriptResult[], totalMilliseconds: number): string {
  const header = ['script', 'passed', 'failed', ...ALL_SKIP_REASONS.map((r) => `skip:${r}`), 'seconds'];
  const rows = results.map((r) => row(r.script, r.tally, r.milliseconds));
  const total = row(`TOTAL (${results.length} scripts)`, sumTallies(results.map((r) => r.tally)), totalMilliseconds);
  return table([header, ...rows, total]);
}

/** What each skip class means. */
export function formatSkipLegend(): string {
  return ALL_SKIP_REASONS.map((r) => `  skip:${r}: ${SKIP_REASONS[r]}`).join('\n');
}

/** One failure, on three lines: where (and the known VM bug it is, if any), what was done, what happened. */
export function formatFailure(f: Failure): string {
  const known = knownFailure(f);
  const where =
    `${f.script}.wast:${f.line} ${f.command}${f.module === null ? '' : ` [${f.module}]`}` +
    (known === null ? '' : ` (known VM bug: ${known.id})`);
  return `${where}\n    ${f.what}\n    ${f.detail}`;
}

/** The known VM bugs among `failures`, with their diagnoses and how many failures each causes. */
export function formatKnownFailures(failures: readonly Failure[]): string {
  const counts = new Map<KnownFailure, number>();
  for (const f of failures) {
    const known = knownFailure(f);
    if (known !== null) counts.set(known, (counts.get(known) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `  ${k.id} (${k.script}.wast, ${n} failure(s)): ${k.diagnosis}`).join('\n');
}

/** One skipped command on one line. */
export function formatSkip(s: Skip): string {
  return `${s.script}.wast:${s.line} ${s.command}: skip:${s.reason}${s.detail === null ? '' : ` (${s.detail})`}`;
}

/** The JSON document of a run. */
export function toJson(results: readonly ScriptResult[], meta: Record<string, unknown>): unknown {
  return {
    ...meta,
    total: sumTallies(results.map((r) => r.tally)),
    skipReasons: SKIP_REASONS,
    scripts: results.map((r) => ({
      script: r.script,
      ...r.tally,
      interrupts: r.interrupts,
      milliseconds: Math.round(r.milliseconds),
      ...(r.error === undefined ? {} : { error: r.error }),
    })),
    failures: results.flatMap((r) => r.failures.map((f) => ({ ...f, knownBug: knownFailure(f)?.id ?? null }))),
    skips: results.flatMap((r) => r.skips),
  };
}
