/**
 * Runs one case in the current process: predicts the path `create()` will take, creates (or,
 * for a deferred runtime, checks), judges the answer, and exercises an accepted prototype.
 *
 * The prediction is the library's own `checkModule` (steps 1–4 of `create()`: engine
 * validation, feature scan, module rules, `symbols`) followed by the renaming step. It costs
 * milliseconds and tells whether `create()` would refuse early or go through the transform,
 * which decides the time bound and, for a runtime, whether the case is fully created or
 * deferred (see `cases.ts`). Every case predicted to be refused is still created for real, and
 * `create()` must then give the same answer.
 *
 * This module never enforces time itself: it announces each phase and its bound through
 * `onPhase`, and the supervisor in the parent process holds the deadline (a hang in synchronous
 * code cannot be interrupted from inside the process).
 *
 * @module
 */

import { resolveConfig } from '../../lib/base/config.js';
import { NewError, UsageError, VirtualMachinePrototype } from '../../lib/index.js';
import { checkModule } from '../../lib/load/load-module.js';
import { type ModuleFacts, readModuleFacts } from '../../lib/load/module-facts.js';
import { renameImportsAndExports } from '../../lib/transform/rename.js';
import type { TimeBounds } from './bounds.js';
import { type CallPlan, makeCallPlan } from './call-plan.js';
import type { CaseClass, HostileCase } from './cases.js';
import { type ImportLedger, buildConfig } from './config-plan.js';
import { type ExerciseReport, exercise } from './exercise.js';
import { type Violation, ViolationError, describeThrown, judgeCreateError, violate } from './judge.js';
import { Prng } from './prng.js';

/** The phases a case goes through, each with its own time bound. */
export type Phase = 'check' | 'create' | 'run';

/** Announced by {@link executeCase} when a phase starts. */
export interface PhaseNotice {
  readonly phase: Phase;
  readonly boundMs: number;
  /** For `create`: the path the prediction chose. */
  readonly path?: CreatePath;
  /** For `run`: the plan being executed and the index of the call starting now. */
  readonly plan?: CallPlan;
  readonly callIndex?: number;
}

/** Which way `create()` goes for this case. */
export type CreatePath = 'refusal' | 'transform' | 'deferred';

/** Everything the summary needs about one case. */
export interface CaseResult {
  readonly index: number;
  readonly cls: CaseClass;
  readonly origin: string;
  readonly description: string;
  readonly sectionsHit: readonly string[];
  readonly size: number;
  /** `WebAssembly.validate` of the bytes: how many mutants stayed valid. */
  readonly engineValid: boolean;
  readonly path: CreatePath;
  /**
   * `refused:<NewError kind>`, `usage:<UsageError kind>`, `accepted`, `deferred`,
   * `guest-nonterminating` or `guest-slow` (set by the supervisor after triage), or
   * `violation:<type>`.
   */
  readonly label: string;
  /** Wall time of `create()` (or of the deferred check), and of the whole case. */
  readonly createMs: number;
  readonly totalMs: number;
  readonly exercise?: ExerciseReport;
  readonly violation?: Violation;
  /** Why a run that exceeded its bound is not a violation (see `triage.ts`). */
  readonly note?: string;
}

/** Number of planned calls, and interrupts before a call is abandoned, by module size. */
function callLimits(size: number): { calls: number; budget: number } {
  return size < 1 << 20 ? { calls: 4, budget: 2_000 } : { calls: 3, budget: 50_000 };
}

function labelOf(error: unknown): string {
  if (error instanceof NewError) return `refused:${error.kind}`;
  if (error instanceof UsageError) return `usage:${error.kind}`;
  return `other:${describeThrown(error)}`;
}

/** Runs `c`; see the module documentation. Never throws: a violation is part of the result. */
export async function executeCase(c: HostileCase, bounds: TimeBounds, onPhase: (notice: PhaseNotice) => void): Promise<CaseResult> {
  const started = performance.now();
  const malformed = c.plan.malformed !== undefined;
  const isRuntime = c.cls === 'runtime-truncated' || c.cls === 'runtime-mutated';
  const base = {
    ...caseFacts(c),
  };
  let path: CreatePath = 'refusal';
  let createMs = 0;
  let exerciseReport: ExerciseReport | undefined;
  const finish = (label: string, violation?: Violation): CaseResult => ({
    ...base,
    path,
    label,
    createMs,
    totalMs: performance.now() - started,
    ...(exerciseReport === undefined ? {} : { exercise: exerciseReport }),
    ...(violation === undefined ? {} : { violation }),
  });

  try {
    // Prediction (and, for a deferred runtime, the whole check).
    onPhase({ phase: 'check', boundMs: bounds.checkMs });
    let predicted: string | null = null;
    const checkStart = performance.now();
    try {
      const resolved = resolveConfig(buildConfig(c.plan, c.bytes, new Map()));
      const { facts } = checkModule(resolved);
      const memory = facts.memories[0] ?? null;
      // Step 5's first half, which runs before Binaryen and is cheap. (The harness sets no
      // memory cap, so the defined memory keeps its own maximum.)
      renameImportsAndExports(resolved.moduleBytes, { exportDefinedMemory: memory !== null && !memory.imported, definedMemoryMaximum: null });
    } catch (error) {
      predicted = labelOf(error);
    }
    path = predicted !== null ? 'refusal' : isRuntime && !c.fullCreate ? 'deferred' : 'transform';
    if (path === 'deferred') {
      createMs = performance.now() - checkStart;
      return finish('deferred');
    }

    onPhase({ phase: 'create', path, boundMs: path === 'refusal' ? bounds.refusalMs : bounds.transformMs(c.bytes.length) });
    const ledger: ImportLedger = new Map();
    const config = buildConfig(c.plan, c.bytes, ledger);
    const createStart = performance.now();
    let proto: VirtualMachinePrototype;
    try {
      proto = await VirtualMachinePrototype.create(config);
    } catch (error) {
      createMs = performance.now() - createStart;
      const label = judgeCreateError(error, malformed);
      if (predicted !== null && predicted !== label) {
        violate('predictor-mismatch', 'create', `steps 1-4 refused with ${predicted}, create() with ${label}`);
      }
      return finish(label);
    }
    createMs = performance.now() - createStart;
    if (malformed) violate('wrong-error', 'create', `the malformed config (${c.plan.malformed}) was accepted`);
    if (predicted !== null) violate('predictor-mismatch', 'create', `steps 1-4 refused with ${predicted}, create() accepted`);

    let facts: ModuleFacts;
    try {
      facts = readModuleFacts(c.bytes);
    } catch (error) {
      return violate('bad-result', 'readModuleFacts', `the module was accepted but its facts cannot be read: ${describeThrown(error)}`);
    }
    const limits = callLimits(c.bytes.length);
    const plan = makeCallPlan(new Prng(c.exerciseSeed, 1), facts, c.plan, limits.calls, limits.budget);
    const runBound = bounds.runMs(c.bytes.length);
    onPhase({ phase: 'run', boundMs: runBound, plan, callIndex: -1 });
    exerciseReport = exercise(proto, facts, c.plan.maxMemoryPages ?? null, plan, ledger, (callIndex) => onPhase({ phase: 'run', boundMs: runBound, plan, callIndex }));
    return finish('accepted');
  } catch (error) {
    if (error instanceof ViolationError) return finish(`violation:${error.violation.type}`, error.violation);
    // A bug in the harness itself: report it as such rather than blame the library.
    return finish('violation:leaked-exception', { type: 'leaked-exception', where: 'harness', message: describeThrown(error) });
  }
}

/** What every result says about its case, whatever happened to it. */
export function caseFacts(
  c: HostileCase,
): Pick<CaseResult, 'index' | 'cls' | 'origin' | 'description' | 'sectionsHit' | 'size' | 'engineValid'> {
  return {
    index: c.index,
    cls: c.cls,
    origin: c.origin,
    description: c.description,
    sectionsHit: c.sectionsHit,
    size: c.bytes.length,
    engineValid: WebAssembly.validate(c.bytes as Uint8Array<ArrayBuffer>),
  };
}
