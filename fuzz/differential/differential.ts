/**
 * One differential check: a module, run three ways with the same plan and host (plain V8, the
 * VM on Asyncify, the VM on JSPI), each VM run compared with the plain one.
 *
 * {@link checkModule} is the core and takes any module bytes (a generated one, a saved failure,
 * a hand-written regression case); {@link fuzzSeed} generates the module for a seed first.
 * The seed drives everything after generation too (the export arguments and the host), so
 * `(module bytes, seed)` replays a check exactly.
 *
 * Refusals are judged too: the harness knows which of the VM's module rules a module breaks
 * (a start function, a table or global import, an import the host does not implement, a memory
 * that is imported under another name or comes with a second one, an export `memory` that is
 * not a memory), so a refusal of another kind, or an acceptance of a module that breaks a rule,
 * is reported like a divergence.
 *
 * @module
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AsyncifyStack } from '../../lib/index.js';
import { planCalls } from './call-plan.js';
import { compareRecords, type Verdict } from './compare.js';
import { type GeneratedModule, type Generator, type Profile, REPO_ROOT } from './generator.js';
import { type HostOptions, findHostImport } from './host.js';
import { type ModuleShape, callableSignature, readModuleShape } from './module-shape.js';
import { describeError } from './observation.js';
import { runPlain } from './plain-runner.js';
import { Prng } from './prng.js';
import { type VmRun, runVm } from './vm-runner.js';
import { OUT_OF_FUEL, seededBounds } from './bounds.js';
import { type MoveCounts, Mover } from './moves.js';

/** Options of a check. */
export interface CheckOptions {
  /**
   * Let the host write to and grow the memory before calls and at interrupts (see `host.ts`).
   * Default on.
   */
  readonly hostActions?: boolean;
  /**
   * Passed to the VM's config. Default: chosen by the seed, the VM's default (64 pages) three
   * times in four, else 1 page, so that a buffer that is mis-sized or mis-addressed in either
   * configuration shows. (Paused `-ttf` stacks are shallow: the hang limit caps recursion.)
   */
  readonly unwindBufferPages?: number;
  /** The VM feature preset the module is created with (`generator.ts`'s profiles). Default `'default'`. */
  readonly features?: Profile;
  /**
   * Create the VM with `startFunction: true` and run a module's start function as the plain
   * side's instantiation does (default: such modules are refused, as the module rules say).
   */
  readonly startFunctions?: boolean;
  /**
   * Where the Asyncify side keeps a paused stack (`VmConfig.asyncifyStack`); default the
   * engine's choice (`'auto'`: a second memory in Node.js). `'single-memory'` checks the
   * placement engines without multi-memory get.
   */
  readonly asyncifyStack?: AsyncifyStack;
  /**
   * Run with fuel, a logical stack limit and canonical NaNs (`bounds.ts`), chosen by the seed, on
   * both sides: the plain side then runs the module as the code rewriter makes it. Default off.
   */
  readonly bounds?: boolean;
  /**
   * Move paused calls at random interrupts of the VM side (snapshot and restore, in this thread
   * and through a Worker, fork, journal replay; see `moves.ts`): every outcome and digest must
   * still match plain V8's. Default off.
   */
  readonly moves?: boolean;
}

/** The report on one module. */
export type ModuleReport =
  /** The module could not be read (should not happen for generated modules). */
  | { readonly status: 'unusable'; readonly seed: number; readonly reason: string }
  /**
   * The VM refused the module, as its rules require (`kind` is the `NewError` kind; for a
   * feature outside the profile that the generator used anyway, `InvalidWasm (feature)`).
   */
  | { readonly status: 'refused'; readonly seed: number; readonly kind: string; readonly message: string }
  /** Both sides ran it. */
  | {
      readonly status: 'compared';
      readonly seed: number;
      readonly callsCompared: number;
      readonly callsPlanned: number;
      /** Import calls (interrupts) the VM side answered. */
      readonly interrupts: number;
      /** With bounds: the times the VM side ran out of fuel and was refilled. */
      readonly outOfFuel: number;
      /**
       * How the VM side's calls ended, by kind (`returned`, a trap kind, `error`), and how often
       * the memory size changed during a call (`memory changed size`): a measure of what the
       * modules exercise.
       */
      readonly outcomes: Readonly<Record<string, number>>;
      /** The VM's `unwindBufferPages` (`null`: its default). */
      readonly unwindBufferPages: number | null;
      /**
       * The backends compared with plain V8: both, or JSPI only when the Asyncify backend refused
       * the module because a function that may pause holds references (its documented limit).
       */
      readonly backends: 'both' | 'jspi';
      /** How the module's start function ended on the VM side (`null`: none, or not run). */
      readonly startFunction: string | null;
      /** With `moves`: the paused calls moved on each backend, by kind (`null`: that backend did not run the module). */
      readonly moves: { readonly asyncify: MoveCounts | null; readonly jspi: MoveCounts | null } | null;
      readonly verdict: Verdict;
    };

/** Whether `run` is the Asyncify backend's documented refusal of references in pausing frames. */
function isReferenceLimit(run: VmRun): boolean {
  return run.type === 'refused' && run.kind === 'InvalidWasm' && run.message.includes('binaryen#3739');
}

/** Whether `run` is a refusal of a feature outside the VM's feature set. */
function isFeatureRefusal(run: VmRun): boolean {
  return run.type === 'refused' && run.kind === 'InvalidWasm' && /which is outside the '[^']*' feature set/.test(run.message);
}

/**
 * The refusals the VM's rules (smoldot's, see `DESIGN.md`) call for: empty if the module must be
 * accepted. A module that breaks several rules may be refused for any of them.
 */
export function expectedRefusals(shape: ModuleShape, startFunctions = false): Set<string> {
  const kinds = new Set<string>();
  if (shape.hasStart && !startFunctions) kinds.add('StartFunctionNotSupported');
  for (const i of shape.imports) {
    if (i.kind === 'table' || i.kind === 'global') kinds.add('ImportTypeNotSupported');
    if (i.kind === 'memory' && (i.module !== 'env' || i.name !== 'memory')) kinds.add('MemoryNotNamedMemory');
  }
  const memoryExport = shape.exports.find((e) => e.name === 'memory');
  if (memoryExport !== undefined && memoryExport.kind !== 'memory') kinds.add('MemoryIsntMemory');
  if (shape.memoryCount > 1 || (shape.memory?.imported === true && memoryExport !== undefined)) kinds.add('TwoMemories');
  for (const i of shape.functionImports) {
    const type = callableSignature(i.type);
    const signature = type === null ? null : { params: type.params, result: type.results[0] ?? null };
    if (signature === null || findHostImport(i.module, i.name, signature) === null) kinds.add('UnresolvedFunctionImport');
  }
  return kinds;
}

/**
 * The VM's `unwindBufferPages` for `seed` when a check does not set it: its default (`undefined`,
 * 64 pages) three times in four, else 1 page (see {@link CheckOptions.unwindBufferPages}).
 */
export function seededUnwindBufferPages(seed: number): number | undefined {
  return new Prng(seed, 3).oneIn(4) ? 1 : undefined;
}

/** Runs `bytes` on both sides with the plan and host of `seed`, and compares. */
export async function checkModule(bytes: Uint8Array, seed: number, options: CheckOptions = {}): Promise<ModuleReport> {
  let shape: ModuleShape;
  try {
    shape = readModuleShape(bytes);
  } catch (e) {
    return { status: 'unusable', seed, reason: `cannot read the module: ${describeError(e)}` };
  }
  const plan = planCalls(shape, seed);
  const hostOptions: HostOptions = { seed, actions: options.hostActions ?? true, exportCount: shape.exports.length };
  const startFunctions = options.startFunctions === true;
  const expected = expectedRefusals(shape, startFunctions);

  const unwindBufferPages = options.unwindBufferPages ?? seededUnwindBufferPages(seed);
  const features = options.features ?? 'default';
  const asyncifyStack = options.asyncifyStack;
  const bounds = options.bounds === true ? seededBounds(seed) : null;
  const moves = options.moves === true ? { newMover: (...args: ConstructorParameters<typeof Mover>) => new Mover(...args) } : {};
  if (options.moves === true && bounds !== null) throw new Error('moves and bounds cannot be combined (a snapshot or a journal does not carry fuel yet)');
  const asyncify = await runVm(bytes, shape, plan, hostOptions, {
    unwindBufferPages,
    backend: 'asyncify',
    features,
    startFunctions,
    bounds,
    ...moves,
    ...(asyncifyStack === undefined ? {} : { asyncifyStack }),
  });
  const jspi = await runVm(bytes, shape, plan, hostOptions, { backend: 'jspi', features, startFunctions, bounds, ...moves });
  // A module the Asyncify backend documents it cannot instrument is compared on JSPI alone.
  const jspiOnly = isReferenceLimit(asyncify) && jspi.type === 'ran';
  const vm = jspiOnly ? jspi : asyncify;
  const divergence = (what: string, plain: string, vmText: string): ModuleReport => ({
    status: 'compared',
    seed,
    callsCompared: 0,
    callsPlanned: plan.length,
    interrupts: 0,
    outOfFuel: 0,
    outcomes: {},
    unwindBufferPages: unwindBufferPages ?? null,
    backends: 'both',
    startFunction: null,
    moves: null,
    verdict: { type: 'divergence', callIndex: -1, exportName: '(create)', what, plain, vm: vmText },
  });

  const expectedText = `refusal ${[...expected].join(' or ')}`;
  // Module rules and NewError kinds are the same on both backends.
  const acceptance = (run: typeof vm): string => (run.type === 'refused' ? `refused ${run.kind}` : 'accepted');
  if (!jspiOnly && acceptance(vm) !== acceptance(jspi)) {
    return divergence('acceptance on Asyncify and JSPI', `asyncify ${acceptance(vm)}`, `jspi ${acceptance(jspi)}`);
  }
  if (vm.type === 'refused') {
    if (expected.has(vm.kind)) return { status: 'refused', seed, kind: vm.kind, message: vm.message };
    // Binaryen's generator sometimes emits an instruction of a feature it was not given (e.g.
    // ref.as_non_null of typed function references with reference types only): the engine
    // accepts it, the VM's feature scan must not.
    if (isFeatureRefusal(vm)) return { status: 'refused', seed, kind: 'InvalidWasm (feature)', message: vm.message };
    // The engine itself may refuse to instantiate (a data segment out of bounds, say); the VM
    // then reports `Instantiation` and that is a legitimate refusal too.
    const plain = expected.size === 0 ? runPlain(bytes, shape, [], hostOptions) : null;
    if (plain?.type === 'failed' && vm.kind === 'Instantiation') {
      return { status: 'refused', seed, kind: vm.kind, message: vm.message };
    }
    return divergence(
      'module acceptance',
      expected.size === 0 ? `accepted (plain V8 ${plain?.type === 'ran' ? 'runs it' : 'fails too'})` : expectedText,
      `refused ${vm.kind}: ${vm.message}`,
    );
  }
  if (expected.size > 0) return divergence('module acceptance', expectedText, 'accepted');

  const plain = runPlain(bytes, shape, plan, hostOptions, bounds);
  if (plain.type === 'failed') return divergence('instantiation', `failed: ${plain.message}`, 'instantiated');

  const outOfFuel = vm.record.calls.reduce((sum, c) => sum + c.events.filter((e) => e.name === OUT_OF_FUEL).length, 0);
  const interrupts = vm.record.calls.reduce((sum, c) => sum + c.events.length, 0) - outOfFuel;
  const outcomes: Record<string, number> = {};
  let pages = vm.record.initial.pages;
  for (const call of vm.record.calls) {
    const key = call.outcome.type === 'trapped' ? call.outcome.kind : call.outcome.type;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (call.after.pages !== pages) outcomes['memory changed size'] = (outcomes['memory changed size'] ?? 0) + 1;
    pages = call.after.pages;
  }
  const comparison = compareRecords(plain.record, vm.record);
  let verdict = withContract(comparison.verdict, vm);
  if (verdict.type === 'match' && jspi.type === 'ran' && !jspiOnly) {
    // The JSPI run against the same plain record: a divergence names its backend.
    const jspiVerdict = withContract(compareRecords(plain.record, jspi.record).verdict, jspi);
    if (jspiVerdict.type !== 'match') verdict = { ...jspiVerdict, what: `${jspiVerdict.what} (on JSPI)` };
  }
  return {
    status: 'compared',
    seed,
    callsCompared: comparison.callsCompared,
    callsPlanned: plan.length,
    interrupts,
    outOfFuel,
    outcomes,
    unwindBufferPages: unwindBufferPages ?? null,
    backends: jspiOnly ? 'jspi' : 'both',
    startFunction: vm.record.start === null ? null : vm.record.start.outcome.type === 'trapped' ? `trapped ${vm.record.start.outcome.kind}` : vm.record.start.outcome.type,
    moves: options.moves === true ? { asyncify: jspiOnly ? null : vm.moves, jspi: jspi.type === 'ran' ? jspi.moves : null } : null,
    verdict,
  };
}

/** `verdict`, or a divergence for the API contracts `run` found violated. */
function withContract(verdict: Verdict, run: VmRun): Verdict {
  if (verdict.type !== 'match' || run.type !== 'ran' || run.contractViolations.length === 0) return verdict;
  return { type: 'divergence', callIndex: -1, exportName: '(api)', what: 'API contract', plain: '-', vm: run.contractViolations.join('; ') };
}

/** Generates the module for `seed` and checks it. */
export async function fuzzSeed(
  generator: Generator,
  seed: number,
  options: CheckOptions = {},
): Promise<{ module: GeneratedModule; report: ModuleReport }> {
  const module = await generator.generate(seed);
  return { module, report: await checkModule(module.bytes, seed, options) };
}

/** Where failing modules are saved (git-ignored). */
export const FAILURES_DIR = join(REPO_ROOT, 'fuzz', 'failures');

/** Saves `bytes` as `fuzz/failures/<seed>.wasm`; returns the path. */
export function saveFailure(seed: number, bytes: Uint8Array): string {
  mkdirSync(FAILURES_DIR, { recursive: true });
  const path = join(FAILURES_DIR, `${seed}.wasm`);
  writeFileSync(path, bytes);
  return path;
}

/** The command that replays the check of `seed` (from the repository root). */
export function reproductionCommand(seed: number, options: CheckOptions = {}): string {
  const extra =
    (options.hostActions === false ? ' --passive-host' : '') +
    (options.features === 'modern' ? ' --features modern' : '') +
    (options.startFunctions === true ? ' --start-functions' : '') +
    (options.asyncifyStack === undefined ? '' : ` --asyncify-stack ${options.asyncifyStack}`) +
    (options.bounds === true ? ' --bounds' : '') +
    (options.moves === true ? ' --moves' : '');
  return `npm run fuzz -- --seed ${seed} --count 1 --verbose${extra}`;
}

/** A one-line description of a verdict. */
export function describeVerdict(verdict: Verdict): string {
  if (verdict.type === 'match') return 'match';
  const where = verdict.callIndex < 0 ? verdict.exportName : `call ${verdict.callIndex} (${JSON.stringify(verdict.exportName)})`;
  const outcomes = verdict.outcomes === undefined ? '' : ` (${verdict.outcomes})`;
  return `${verdict.type} at ${where}, ${verdict.what}: plain ${verdict.plain} | vm ${verdict.vm}${outcomes}`;
}
