/**
 * What running a script produces: one result per command, and the tallies the report prints.
 *
 * @module
 */

import { ALL_SKIP_REASONS, type SkipReason } from './skip-reasons.js';

/** The result of one command. */
export type CommandResult =
  | { readonly status: 'passed' }
  | { readonly status: 'skipped'; readonly reason: SkipReason; readonly detail?: string }
  | { readonly status: 'failed'; readonly detail: string };

/** A failed command, with what is needed to find and reproduce it. */
export interface Failure {
  readonly script: string;
  /** Line of the command in the `.wast` source. */
  readonly line: number;
  readonly command: string;
  /** The module file the command ran against or tried to load. */
  readonly module: string | null;
  /** What was done (e.g. `invoke "add"(i32:1 (1), i32:2 (2))`). */
  readonly what: string;
  readonly detail: string;
}

/** A skipped command: where, and why. */
export interface Skip {
  readonly script: string;
  readonly line: number;
  readonly command: string;
  readonly reason: SkipReason;
  /** What made it fall into its class (e.g. the VM's refusal kind, or the skipped module it runs on). */
  readonly detail: string | null;
}

/** Counts of one script or of a whole run. */
export interface Tally {
  passed: number;
  failed: number;
  skipped: Record<SkipReason, number>;
}

/** The outcome of one script. */
export interface ScriptResult {
  readonly script: string;
  readonly tally: Tally;
  readonly failures: readonly Failure[];
  readonly skips: readonly Skip[];
  /**
   * One line per command, in order: its line, type and status, and what the VM gave (a value with
   * its bit pattern, a trap kind, a refusal kind). Engine-neutral, so that two runs of a script
   * (Node.js and a browser, say) can be compared line for line.
   */
  readonly observations: readonly string[];
  /** Interrupts (calls of `spectest` imports) answered: shows the pause path was exercised. */
  readonly interrupts: number;
  /**
   * With `bounds.fuel`: one line per invocation of a command, its line, the fuel the call
   * consumed and how many times it ran out (refilled each time), for comparing runs as
   * `observations` are. Empty without fuel.
   */
  readonly fuel: readonly string[];
  /** Wall-clock time, in milliseconds. */
  readonly milliseconds: number;
  /** Set when the script could not be run at all (e.g. its JSON is unreadable). */
  readonly error?: string;
}

/** A tally with every count at zero. */
export function emptyTally(): Tally {
  const skipped = {} as Record<SkipReason, number>;
  for (const reason of ALL_SKIP_REASONS) skipped[reason] = 0;
  return { passed: 0, failed: 0, skipped };
}

/** Adds `result` to `tally`. */
export function count(tally: Tally, result: CommandResult): void {
  if (result.status === 'passed') tally.passed++;
  else if (result.status === 'failed') tally.failed++;
  else tally.skipped[result.reason]++;
}

/** The sum of `tallies`. */
export function sumTallies(tallies: readonly Tally[]): Tally {
  const total = emptyTally();
  for (const t of tallies) {
    total.passed += t.passed;
    total.failed += t.failed;
    for (const reason of ALL_SKIP_REASONS) total.skipped[reason] += t.skipped[reason];
  }
  return total;
}

/** Skipped commands in `tally`, all reasons together. */
export function totalSkipped(tally: Tally): number {
  return ALL_SKIP_REASONS.reduce((sum, reason) => sum + tally.skipped[reason], 0);
}
