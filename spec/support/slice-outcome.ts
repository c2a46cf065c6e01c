/**
 * What a run of the spec slice gives per script, made the same way in Node.js
 * (`browser-spec-slice.ts`) and in a browser page (`spec/browser/conformance.ts`), so that the two
 * compare field by field. Browser-safe: no Node.js module.
 */
import { knownFailure } from '../conformance/known-failures.js';
import { formatFailure } from '../conformance/report.js';
import type { ScriptResult, Tally } from '../conformance/results.js';

/** What a run of the slice gives, per script: the same shape in Node.js and in a browser. */
export interface SliceOutcome {
  readonly script: string;
  readonly tally: Tally;
  readonly unexpectedFailures: readonly string[];
  readonly observations: readonly string[];
  /** With fuel: each invocation's fuel consumed and times out of fuel (`ScriptResult.fuel`). */
  readonly fuel: readonly string[];
  readonly interrupts: number;
  readonly milliseconds: number;
}

/** The outcome of one script's run: its failures other than the known ones, formatted. */
export function sliceOutcomeOf(result: ScriptResult): SliceOutcome {
  return {
    script: result.script,
    tally: result.tally,
    unexpectedFailures: result.failures.filter((f) => knownFailure(f) === null).map(formatFailure),
    observations: result.observations,
    fuel: result.fuel,
    interrupts: result.interrupts,
    milliseconds: result.milliseconds,
  };
}
