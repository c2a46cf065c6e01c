/**
 * The messages between the supervisor (parent process) and the worker (child process) that
 * runs the cases. The channel is Node's IPC with the `advanced` serialisation (structured
 * clone), so typed arrays and bigints cross it as they are.
 *
 * @module
 */

import type { MixName } from './cases.js';
import type { CaseResult, PhaseNotice } from './execute.js';

/** Parent to child: run one case. */
export interface RunCaseMessage {
  readonly type: 'case';
  readonly seed: number;
  readonly index: number;
  /** Create a runtime that reaches the transform even if its coin says "deferred" (for replays). */
  readonly forceFull: boolean;
}

/** Child to parent. */
export type WorkerMessage =
  /** Inputs loaded; `runtimes` lists the runtimes actually present. */
  | { readonly type: 'ready'; readonly runtimes: readonly string[]; readonly mix: MixName }
  /** A phase of the current case started; the deadline restarts. */
  | ({ readonly type: 'phase'; readonly index: number } & PhaseNotice)
  /** The current case ended. `rssMb` is the worker's resident set size after it. */
  | { readonly type: 'result'; readonly result: CaseResult; readonly rssMb: number; readonly canary: boolean }
  /** An uncaught exception or unhandled rejection: the worker exits right after. */
  | { readonly type: 'fatal'; readonly message: string };
