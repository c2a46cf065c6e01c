/**
 * Differential fuzzing of resumable-wasm against plain V8.
 *
 * Random valid modules come from Binaryen's `wasm-opt -ttf`, restricted to the VM's default
 * feature set. Each module runs twice, with the same exports called in the same order with the
 * same arguments, against the same deterministic host:
 *
 * 1. plain: the engine instantiates the bytes with synchronous JavaScript imports;
 * 2. vm: the library's public API, where every import is an interrupt that the harness answers.
 *
 * Per call the harness compares the import calls (arguments, memory at the interrupt, the host's
 * answer), the result or trap kind, and the memory, `memory.size` and exported globals after
 * the call. A difference is a divergence, unless a side ran out of stack (a stack-depth
 * difference: instrumented frames are larger, so the VM may legitimately overflow first).
 *
 * One concept per file:
 * - `prng.ts`: the seeded random streams everything derives from;
 * - `generator.ts`, `initial-content.ts`, `rewrite.ts`: from a seed to a module;
 * - `wasm-binary.ts`, `module-shape.ts`: reading what the harness needs of a module;
 * - `call-plan.ts`: which exports are called with which arguments;
 * - `host.ts`: what the imports mean, identically on both sides;
 * - `observation.ts`: what is recorded, and how values, traps and memory are made comparable;
 * - `plain-runner.ts`, `vm-runner.ts`: the two sides;
 * - `moves.ts`: with `moves`, paused calls of the VM side moved (snapshot, Worker, fork, replay);
 * - `compare.ts`: the comparison and the classification of differences;
 * - `differential.ts`: one module end to end, refusals, failure files;
 * - `summary.ts`, `run.ts`: totals and the command line.
 *
 * @module
 */

export { type PlannedCall, planCalls } from './call-plan.js';
export { type Comparison, type Difference, type Verdict, compareRecords } from './compare.js';
export {
  type CheckOptions,
  FAILURES_DIR,
  type ModuleReport,
  checkModule,
  describeVerdict,
  expectedRefusals,
  fuzzSeed,
  reproductionCommand,
  saveFailure,
} from './differential.js';
export { type GeneratedModule, type GenerationChoice, Generator, chooseGeneration } from './generator.js';
export { HOST_IMPORTS, Host, type HostOptions, type MemoryPort } from './host.js';
export { type ModuleShape, readModuleShape } from './module-shape.js';
export { type MoveCounts, type MoveKind, stopMoveWorker } from './moves.js';
export type { CallRecord, ImportEvent, ModuleRecord, Outcome, Snapshot } from './observation.js';
export { type PlainRun, runPlain } from './plain-runner.js';
export { Prng } from './prng.js';
export { Summary } from './summary.js';
export { type VmRun, runVm } from './vm-runner.js';
