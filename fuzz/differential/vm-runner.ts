/**
 * Side 2: the same module through the library's public API only, on one backend (the check
 * runs this side once per backend: Asyncify and JSPI).
 *
 * `VirtualMachinePrototype.create` with `floats: true` (ttf signatures use floats freely) and
 * `requireMemory: false` (ttf modules export their memory only sometimes), every import resolved
 * to an id and therefore an interrupt; then, for each planned call, `start()` and `run()` until
 * the call finishes or traps (driven through `runAsync`, which both backends have), answering
 * every interrupt through the same {@link Host} the plain
 * side uses, and `intoPrepare()` to keep the instance for the next call.
 *
 * Besides the run itself this side checks a few API contracts on the way, each of which would
 * show up as a difference: `symbols` is consulted once per function import, in order, with the
 * import's signature; `memoryMaxPages()` is the declared maximum; every interrupt's parameters
 * and every result carry the right types; the exported `i32` globals read through
 * `globalValue()` match the plain instance's after every call. (The API reads globals only on
 * a prototype; a `StartError` hands back the *same* instance as a prototype, so the harness
 * provokes one with an unused export name to get there without losing the instance's state.)
 * Finally a `clone()` taken before the first call and the
 * result of `intoPrototype()` after the last must both look freshly instantiated.
 *
 * @module
 */

import {
  type AsyncifyStack,
  type Backend,
  GlobalValueError,
  NewError,
  OutOfBoundsError,
  type Prepare,
  StartError,
  VirtualMachine,
  VirtualMachinePrototype,
  type WasmValue,
} from '../../lib/index.js';
import type { PlannedCall } from './call-plan.js';
import { type Bounds, FuelSchedule, outOfFuelEvent } from './bounds.js';
import { HOST_IMPORTS, Host, type HostOptions, type MemoryPort, NULL_MEMORY, findHostImport } from './host.js';
import type { ModuleShape } from './module-shape.js';
import type { MoveCounts, Mover, WorkerPrototype } from './moves.js';
import {
  type CallRecord,
  type ImportEvent,
  type ModuleRecord,
  NO_INSTANCE,
  type Outcome,
  type Snapshot,
  type StartRecord,
  describeError,
  digestBytes,
  formatValue,
} from './observation.js';

/** What {@link runVm} produced. */
export type VmRun =
  | {
      readonly type: 'ran';
      readonly record: ModuleRecord;
      readonly contractViolations: readonly string[];
      /** With `moves`: the paused calls moved, by kind (see `moves.ts`). */
      readonly moves: MoveCounts | null;
    }
  /** `create()` refused the module: `kind` is the `NewError` kind, or `threw` for anything else. */
  | { readonly type: 'refused'; readonly kind: string; readonly message: string };

/**
 * The id `symbols` hands out for `HOST_IMPORTS[index]`: arbitrary but distinct, and unlike any
 * import position, so that a VM mixing up ids and positions shows.
 */
function importId(index: number): number {
  return 1000 + 7 * index;
}

/** The inverse of {@link importId}, or `null` for an id `symbols` never handed out. */
function importIndexOfId(id: number): number | null {
  const index = (id - 1000) / 7;
  return Number.isInteger(index) && HOST_IMPORTS[index] !== undefined ? index : null;
}

/** The machine-level memory accessors shared by `Prepare` and `VirtualMachine`. */
type MemoryAccessor = Pick<Prepare, 'memorySize' | 'readMemory' | 'writeMemory' | 'growMemory'>;

/** A memory port over the VM's accessors (a growth past the maximum is `OutOfBoundsError`). */
function vmPort(access: MemoryAccessor): MemoryPort {
  return {
    pages: () => access.memorySize(),
    readAll: () => access.readMemory(0, access.memorySize() * 65536),
    write: (offset, data) => access.writeMemory(offset, data),
    grow: (pages) => {
      try {
        access.growMemory(pages);
        return true;
      } catch (e) {
        if (e instanceof OutOfBoundsError) return false;
        throw e;
      }
    },
  };
}

/** Runs `plan` through the VM; see the module documentation. */
export async function runVm(
  bytes: Uint8Array,
  shape: ModuleShape,
  plan: readonly PlannedCall[],
  hostOptions: HostOptions,
  config: {
    readonly unwindBufferPages?: number;
    readonly backend?: Backend;
    readonly asyncifyStack?: AsyncifyStack;
    readonly features?: 'default' | 'modern';
    readonly startFunctions?: boolean;
    /** Fuel, the stack limit and canonical NaNs (`bounds.ts`); default none. */
    readonly bounds?: Bounds | null;
    /**
     * Move paused calls at random interrupts with the movers this makes (see `moves.ts`, Node.js
     * only: given by the caller, so that this file also runs in browsers); the prototypes
     * journal. Not with `bounds`.
     */
    readonly newMover?: (...args: ConstructorParameters<typeof Mover>) => Mover;
  } = {},
): Promise<VmRun> {
  const bounds = config.bounds ?? null;
  const options = () => ({
    floats: true,
    requireMemory: false,
    features: config.features ?? 'default',
    startFunction: config.startFunctions === true,
    backend: config.backend ?? 'asyncify',
    journal: config.newMover !== undefined,
    ...(config.asyncifyStack === undefined ? {} : { asyncifyStack: config.asyncifyStack }),
    ...(config.unwindBufferPages === undefined ? {} : { unwindBufferPages: config.unwindBufferPages }),
    ...(bounds ?? {}),
  });
  const ids: Record<string, number> = {};
  const newMover = config.newMover ?? null;
  const schedule = bounds === null ? null : new FuelSchedule(hostOptions.seed);
  const violations: string[] = [];
  const symbolCalls: string[] = [];
  let prototype: VirtualMachinePrototype;
  try {
    prototype = await VirtualMachinePrototype.create({
      moduleBytes: bytes,
      symbols: (module, name, signature) => {
        symbolCalls.push(`${module}.${name}(${signature.params.join(',')})->${signature.result ?? 'nil'}`);
        const index = findHostImport(module, name, signature);
        if (index !== null) ids[`${module}\0${name}`] = importId(index);
        return index === null ? null : importId(index);
      },
      ...options(),
    });
  } catch (e) {
    if (e instanceof NewError) return { type: 'refused', kind: e.kind, message: e.message };
    return { type: 'refused', kind: 'threw', message: describeError(e) };
  }

  const expectedSymbols = shape.functionImports.map(
    (i) => `${i.module}.${i.name}(${i.type.params.join(',')})->${i.type.results[0] ?? 'nil'}`,
  );
  if (symbolCalls.join('\n') !== expectedSymbols.join('\n')) {
    violations.push(`symbols() was called with [${symbolCalls.join('; ')}], expected [${expectedSymbols.join('; ')}]`);
  }

  const maxPages = prototype.memoryMaxPages();
  if (maxPages !== (shape.memory?.maximum ?? null)) {
    violations.push(`memoryMaxPages() is ${maxPages}, the module declares ${shape.memory?.maximum ?? null}`);
  }

  const globalExports = shape.exports.filter((e) => e.kind === 'global');
  const readGlobals = (proto: VirtualMachinePrototype): Record<string, string> => {
    const globals: Record<string, string> = {};
    for (const e of globalExports) {
      try {
        globals[e.name] = String(proto.globalValue(e.name));
      } catch (error) {
        globals[e.name] = error instanceof GlobalValueError && error.kind === 'Invalid' ? 'invalid' : describeError(error);
      }
    }
    return globals;
  };
  // An export name the module does not have, to provoke the StartError that gives the instance
  // back as a prototype.
  let probeName = '\u0000differential-probe';
  while (shape.exports.some((e) => e.name === probeName)) probeName += '_';

  /** The snapshot of `prepare`'s instance; returns the `Prepare` to continue with. */
  const snapshot = (prepare: Prepare, globals: Record<string, string> | null): [Snapshot, Prepare] => {
    const port = vmPort(prepare);
    const pages = port.pages();
    const digest = digestBytes(port.readAll());
    if (globals === null && globalExports.length > 0) {
      let thrown: unknown = null;
      try {
        prepare.start(probeName, []);
      } catch (e) {
        thrown = e;
      }
      if (!(thrown instanceof StartError) || thrown.kind !== 'FunctionNotFound') {
        // The instance is gone (or a call started): nothing sensible can follow.
        throw new Error(`start() of the unknown export ${JSON.stringify(probeName)} gave ${describeError(thrown)}`);
      }
      globals = readGlobals(thrown.prototype);
      prepare = thrown.prototype.prepare();
    }
    return [{ pages, digest, globals: globals ?? {} }, prepare];
  };

  let mover: Mover | null = null;
  if (newMover !== null) {
    const asyncify = prototype.backend === 'asyncify';
    const worker: WorkerPrototype | null = asyncify ? { artifact: prototype.toArtifact(), moduleBytes: bytes, options: options(), ids } : null;
    mover = newMover(hostOptions.seed, prototype.clone(), asyncify, worker, violations);
  }
  const host = new Host(hostOptions);
  /**
   * Runs the start function of `pending`'s instance, if it has one, as the plain side's
   * instantiation does (the host sees no memory meanwhile). Returns its record and the
   * `Prepare` to continue with (`null` if it did not return: the instance is unusable).
   */
  const runStart = async (pending: Prepare): Promise<[StartRecord | null, Prepare | null]> => {
    if (!pending.startFunctionPending) return [null, pending];
    const events: ImportEvent[] = [];
    const [outcome, vm] = await drive(pending.callStartFunction(schedule === null ? undefined : { fuel: schedule.startBudget }), START_CALL, host, events, violations, NULL_MEMORY, schedule);
    const fuel = schedule === null || outcome.type !== 'returned' ? {} : { fuelConsumed: String(vm.fuelConsumed) };
    const after = vm.intoPrepare();
    return [{ ...fuel, events, outcome }, outcome.type === 'returned' ? after : null];
  };
  // A clone taken now must be untouched by everything the calls below do to the original.
  const clone = prototype.clone();
  let prepare: Prepare;
  let initial: Snapshot;
  let start: StartRecord | null;
  {
    const [record, started] = await runStart(prototype.prepare());
    start = record;
    if (started === null) {
      return { type: 'ran', record: { start, initial: NO_INSTANCE, calls: [], fresh: [], freshStarts: [] }, contractViolations: violations, moves: mover?.counts ?? null };
    }
    // Globals are read on a prototype: a StartError hands the same instance back as one.
    [initial, prepare] = snapshot(started, null);
  }

  const calls: CallRecord[] = [];
  for (const call of plan) {
    const before = host.beginCall(vmPort(prepare));
    const events: ImportEvent[] = [];
    let outcome: Outcome;
    let vm: VirtualMachine | null = null;
    // Drawn whether or not start() accepts the call, as the plain side draws it for every call.
    const budget = schedule?.budget();
    try {
      vm = prepare.start(call.exportName, call.args, budget === undefined ? undefined : { fuel: budget });
    } catch (e) {
      outcome = { type: 'error', message: `start() threw ${describeError(e)}` };
      if (e instanceof StartError) prepare = e.prototype.prepare();
      else throw e;
    }
    let fuel = {};
    if (vm !== null) {
      [outcome, vm] = await drive(vm, call, host, events, violations, null, schedule, mover);
      if (schedule !== null) fuel = { fuelConsumed: String(vm.fuelConsumed) };
      try {
        prepare = vm.intoPrepare();
      } catch (e) {
        // Only possible if run() threw in the middle of a call: the instance is lost.
        violations.push(`intoPrepare() threw ${describeError(e)} after ${JSON.stringify(call.exportName)}`);
        prepare = vm.intoPrototype().prepare();
      }
    }
    let after: Snapshot;
    [after, prepare] = snapshot(prepare, null);
    calls.push({ exportName: call.exportName, ...fuel, before, events, outcome: outcome!, after });
  }
  const fresh: Snapshot[] = [];
  const freshStarts: (StartRecord | null)[] = [];
  for (const proto of [clone, prepare.intoPrototype()]) {
    const [record, started] = await runStart(proto.prepare());
    freshStarts.push(record);
    fresh.push(started === null ? NO_INSTANCE : snapshot(started, null)[0]);
  }
  return { type: 'ran', record: { start, initial, calls, fresh, freshStarts }, contractViolations: violations, moves: mover?.counts ?? null };
}

/** The start function, as a call of {@link drive}. */
const START_CALL: PlannedCall = { exportName: '(start function)', args: [], results: [] };

/**
 * Runs one started call to its end, answering every interrupt through `host` (which sees
 * `memory`, default the guest's); with `mover`, the paused call may be moved at interrupts.
 * Returns the outcome and the machine the call ended on.
 */
async function drive(
  vm: VirtualMachine,
  call: PlannedCall,
  host: Host,
  events: ImportEvent[],
  violations: string[],
  memory: MemoryPort | null = null,
  schedule: FuelSchedule | null = null,
  mover: Mover | null = null,
): Promise<[Outcome, VirtualMachine]> {
  mover?.beginCall();
  const { raw, ...outcome } = await driveSteps();
  if (mover !== null) {
    const text = outcome.type === 'trapped' ? `trapped ${outcome.kind}` : outcome.type === 'returned' ? `finished ${String(raw)}` : outcome.type;
    await mover.endCall(text, digestBytes(vm.readMemory(0, vm.memorySize() * 65536)));
  }
  return [outcome, vm];

  async function driveSteps(): Promise<Outcome & { raw?: unknown }> {
  let value: WasmValue | null = null;
  for (;;) {
    let step;
    try {
      step = await vm.runAsync(value);
    } catch (e) {
      return { type: 'error', message: `runAsync() threw ${describeError(e)}` };
    }
    switch (step.type) {
      case 'outOfFuel': {
        if (schedule === null) return { type: 'error', message: 'out of fuel without fuel' };
        const port = memory ?? vmPort(vm);
        const refill = schedule.refill();
        events.push(outOfFuelEvent(vm.fuelConsumed, refill, port.pages()));
        vm.addFuel(refill);
        value = null;
        break;
      }
      case 'interrupted': {
        const index = importIndexOfId(step.id);
        if (index === null) return { type: 'error', message: `interrupted with the unknown id ${step.id}` };
        if (mover !== null) {
          vm = await mover.atInterrupt(vm);
          mover.beforeAnswer();
        }
        const port = memory ?? (mover === null ? vmPort(vm) : mover.port(vmPort(vm)));
        const { name, signature } = HOST_IMPORTS[index]!;
        const types = step.params.map((p) => p.type).join(',');
        if (types !== signature.params.join(',')) {
          violations.push(`interrupt of ${name} carries parameters of types (${types}), expected (${signature.params.join(',')})`);
        }
        const { answer, event } = host.handle(
          index,
          step.params.map((p) => p.value),
          port,
        );
        events.push(event);
        value = signature.result === null ? null : ({ type: signature.result, value: answer } as WasmValue);
        mover?.answered(value);
        break;
      }
      case 'finished': {
        const expected = call.results[0] ?? null;
        if ((step.value?.type ?? null) !== expected) {
          violations.push(`${call.exportName} finished with a value of type ${step.value?.type ?? 'none'}, expected ${expected ?? 'none'}`);
        }
        return {
          type: 'returned',
          value: expected === null || step.value === null ? null : formatValue(expected, step.value.value, schedule !== null),
          raw: step.value?.value,
        };
      }
      case 'trapped':
        return { type: 'trapped', kind: step.trap.kind, message: step.trap.message };
    }
  }
  }
}
