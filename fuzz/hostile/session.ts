/**
 * A run of the harness: cases `first .. first+count-1` of a seed and mix, through one
 * supervisor, with violations saved. Shared by the CLI (`run.ts`) and the Jest slice.
 *
 * @module
 */

import { type MixName } from './cases.js';
import type { CaseResult } from './execute.js';
import { reproductionCommand, saveFailure } from './failures.js';
import { Summary } from './summary.js';
import { Supervisor, type WorkerStats } from './supervisor.js';

/** Options of {@link runSession}. */
export interface SessionOptions {
  readonly seed: number;
  readonly mix: MixName;
  /** The case indices to run. */
  readonly indices: readonly number[];
  /** Fully create every runtime that reaches the transform (replaying one case). */
  readonly forceFull?: boolean;
  /** Save violating inputs to `fuzz/failures/` (default true). */
  readonly saveFailures?: boolean;
  /** Called after every case. */
  readonly onResult?: (result: CaseResult, done: number) => void;
  /** Receives the lines the worker prints. */
  readonly onOutput?: (line: string) => void;
}

/** What a session produced. */
export interface SessionReport {
  readonly summary: Summary;
  readonly workers: WorkerStats;
  readonly wallMs: number;
}

/** Runs the cases; see the module documentation. */
export async function runSession(options: SessionOptions): Promise<SessionReport> {
  const started = performance.now();
  const supervisor = new Supervisor({
    mix: options.mix,
    seed: options.seed,
    ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
  });
  const summary = new Summary();
  try {
    let done = 0;
    for (const index of options.indices) {
      const result = await supervisor.runCase(index, options.forceFull ?? false);
      summary.add(result);
      if (result.violation !== undefined) {
        const c = await supervisor.regenerate(index);
        const saved = options.saveFailures === false ? null : saveFailure(c, result);
        summary.addViolation(result, saved, reproductionCommand(c));
      }
      options.onResult?.(result, ++done);
    }
  } finally {
    await supervisor.close();
  }
  return { summary, workers: supervisor.stats, wallMs: performance.now() - started };
}
