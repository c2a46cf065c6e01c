/**
 * Side 1: the module as the engine runs it without the VM. The original bytes are instantiated
 * with synchronous JavaScript imports that call the {@link Host} directly, and the planned
 * exports are called one after another on that one instance.
 *
 * The only change to the bytes: a defined memory that the module does not export gets an export
 * (see `rewrite.ts`), because the JavaScript API cannot otherwise read it. With bounds
 * (`bounds.ts`), the bytes are then rewritten by the library's code rewriter, as the VM's are,
 * and this side meters each call itself: the budget set in the fuel counter before the call,
 * the fuel import refilling from the same schedule as the VM's host, the stack-limit import
 * throwing what is recorded as a `StackLimitExceeded` trap.
 *
 * @module
 */

import type { ValueType } from '../../lib/index.js';
import type { PlannedCall } from './call-plan.js';
import { HOST_IMPORTS, Host, type HostOptions, type MemoryPort, NULL_MEMORY, findHostImport } from './host.js';
import { type ImportEntry, type ModuleShape, callableSignature } from './module-shape.js';
import {
  type CallRecord,
  type ImportEvent,
  type ModuleRecord,
  type Outcome,
  type Snapshot,
  describeError,
  digestBytes,
  formatValue,
  NO_INSTANCE,
  type StartRecord,
  outcomeOfPlainError,
} from './observation.js';
import { exposeMemory } from './rewrite.js';
import { type Bounds, FuelSchedule, outOfFuelEvent } from './bounds.js';
import { rewriteCode } from '../../lib/transform/code-rewrite.js';
import { FUEL_IMPORT, STACK_LIMIT_IMPORT } from '../../lib/transform/abi.js';

/** What the plain side's stack-limit import throws. */
class StackLimitReached extends Error {}

/** What {@link runPlain} produced: the record, or why the module could not even be instantiated. */
export type PlainRun = { readonly type: 'ran'; readonly record: ModuleRecord } | { readonly type: 'failed'; readonly message: string };

/** A memory port over a `WebAssembly.Memory` (or none: size 0). */
function plainPort(memory: WebAssembly.Memory | null): MemoryPort {
  return {
    pages: () => (memory === null ? 0 : memory.buffer.byteLength / 65536),
    readAll: () => (memory === null ? new Uint8Array(0) : new Uint8Array(memory.buffer).slice()),
    write: (offset, data) => new Uint8Array(memory!.buffer).set(data, offset),
    grow: (pages) => {
      // A module without memory behaves as a memory of 0 pages that cannot grow (growing it by
      // 0 pages succeeds, as it does for any memory), which is what the VM's accessors promise.
      if (memory === null) return pages === 0;
      try {
        memory.grow(pages);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Whether `args`, as the engine passed them to an import, fit the parameter types `params`. */
function matchesArguments(params: readonly ValueType[], args: readonly unknown[]): boolean {
  return params.length === args.length && params.every((type, i) => (type === 'i64') === (typeof args[i] === 'bigint'));
}

/** An export name that the module does not use. */
function freeExportName(shape: ModuleShape, base: string): string {
  let name = base;
  for (let i = 0; shape.exports.some((e) => e.name === name); i++) name = `${base}${i}`;
  return name;
}

/** Runs `plan` on a plain instance of `bytes`; see the module documentation. */
export function runPlain(
  bytes: Uint8Array,
  shape: ModuleShape,
  plan: readonly PlannedCall[],
  hostOptions: HostOptions,
  bounds: Bounds | null = null,
): PlainRun {
  const host = new Host(hostOptions);
  const schedule = bounds === null ? null : new FuelSchedule(hostOptions.seed);
  let events: ImportEvent[] = [];
  let port: MemoryPort = plainPort(null);

  let runBytes = bytes;
  let memoryExport = shape.exports.find((e) => e.kind === 'memory')?.name ?? null;
  if (shape.memory !== null && !shape.memory.imported && memoryExport === null) {
    memoryExport = freeExportName(shape, '__differential_memory');
    runBytes = exposeMemory(bytes, memoryExport);
  }

  // With bounds, the module the rewriter makes of it (the start function's budget baked in).
  let counters: { fuel: string; height: string } | null = null;
  if (bounds !== null) {
    try {
      const rewritten = rewriteCode(runBytes, { ...bounds, initialFuel: schedule!.startBudget });
      runBytes = rewritten.bytes;
      counters = { fuel: rewritten.fuel!.counterExport, height: rewritten.stack!.heightExport };
    } catch (e) {
      return { type: 'failed', message: `the code rewrite failed: ${describeError(e)}` };
    }
  }
  /** The fuel given to the call running now (its budget and refills). */
  let given = 0n;
  let fuelCounter: WebAssembly.Global | null = null;

  // The import object, except the memory: each instance gets a memory of its own.
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  if (bounds !== null) {
    imports[FUEL_IMPORT.module] = {
      [FUEL_IMPORT.name]: () => {
        // During a start function the counter is not reachable yet: it runs from the budget baked in.
        const left = fuelCounter === null ? null : (fuelCounter.value as bigint);
        const refill = schedule!.refill();
        events.push(outOfFuelEvent(left === null ? -1n : given - left, refill, port.pages()));
        given += refill;
        if (fuelCounter === null) throw new Error('the start function ran out of fuel on the plain side (not comparable)');
        fuelCounter.value = left! + refill;
      },
      [STACK_LIMIT_IMPORT.name]: () => {
        throw new StackLimitReached();
      },
    };
  }
  let memoryImport: Extract<ImportEntry, { kind: 'memory' }> | null = null;
  const candidatesByName: Record<string, number[]> = {};
  for (const entry of shape.imports) {
    const moduleImports = (imports[entry.module] ??= {});
    if (entry.kind === 'function') {
      const type = callableSignature(entry.type);
      const index = type === null ? null : findHostImport(entry.module, entry.name, { params: type.params, result: type.results[0] ?? null });
      if (index === null) {
        return { type: 'failed', message: `the host does not implement ${entry.module}.${entry.name}` };
      }
      // A JavaScript import object has one function per name, but a module may import the same
      // name with two signatures (`log-i64` as i64 and, legalized, as two i32s): the function
      // tells them apart by the arguments the engine passes. (Signatures that differ only in
      // their result, like `get-i64` and its legalized form, never meet in one module: the
      // legalization replaces the import.)
      const candidates = (candidatesByName[`${entry.module}\0${entry.name}`] ??= []);
      candidates.push(index);
      moduleImports[entry.name] = (...args: unknown[]) => {
        const chosen = candidates.find((c) => matchesArguments(HOST_IMPORTS[c]!.signature.params, args)) ?? candidates[0]!;
        const { answer, event } = host.handle(chosen, args, port);
        events.push(event);
        return answer;
      };
    } else if (entry.kind === 'memory') {
      memoryImport = entry;
    } else {
      return { type: 'failed', message: `the harness cannot provide the ${entry.kind} import ${entry.module}.${entry.name}` };
    }
  }

  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(runBytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    return { type: 'failed', message: describeError(e) };
  }

  /**
   * A new instance and its memory port, and the run of its start function. Throws what the
   * engine throws, except a trap of the start function, which is recorded (`exports: null`).
   */
  const instantiate = (): { exports: WebAssembly.Exports | null; port: MemoryPort; start: StartRecord | null } => {
    let importedMemory: WebAssembly.Memory | null = null;
    if (memoryImport !== null) {
      const { initial, maximum } = memoryImport.limits;
      importedMemory = new WebAssembly.Memory(maximum === null ? { initial } : { initial, maximum });
      imports[memoryImport.module]![memoryImport.name] = importedMemory;
    }
    // The start function runs inside the constructor: its import calls see no memory.
    port = NULL_MEMORY;
    const startEvents: ImportEvent[] = [];
    events = startEvents;
    let exports: WebAssembly.Exports;
    fuelCounter = null;
    given = schedule?.startBudget ?? 0n;
    try {
      exports = new WebAssembly.Instance(module, imports).exports;
    } catch (e) {
      // Segments out of bounds fail the instantiation itself, before any start function.
      if (!shape.hasStart || /segment/i.test(describeError(e))) throw e;
      return { exports: null, port: NULL_MEMORY, start: { events: startEvents, outcome: plainOutcome(e) } };
    }
    const memory = importedMemory ?? (memoryExport === null ? null : (exports[memoryExport] as WebAssembly.Memory));
    const startFuel =
      counters === null ? {} : { fuelConsumed: String(given - ((exports[counters.fuel] as WebAssembly.Global).value as bigint)) };
    const start: StartRecord | null = shape.hasStart ? { ...startFuel, events: startEvents, outcome: { type: 'returned', value: null } } : null;
    return { exports, port: plainPort(memory), start };
  };

  /** The state of an instance: its memory and its exported globals. */
  const snapshotOf = (exports: WebAssembly.Exports, of: MemoryPort): Snapshot => {
    const globals: Record<string, string> = {};
    for (const e of shape.exports) {
      if (e.kind !== 'global') continue;
      const value = (exports[e.name] as WebAssembly.Global).value as unknown;
      globals[e.name] = shape.globals[e.index]?.type === 'i32' ? String((value as number) >>> 0) : 'invalid';
    }
    return { pages: of.pages(), digest: digestBytes(of.readAll()), globals };
  };

  let exports: WebAssembly.Exports | null;
  let start: StartRecord | null;
  try {
    ({ exports, port, start } = instantiate());
  } catch (e) {
    return { type: 'failed', message: describeError(e) };
  }
  if (exports === null) return { type: 'ran', record: { start, initial: NO_INSTANCE, calls: [], fresh: [], freshStarts: [] } };
  const live: WebAssembly.Exports = exports;
  const snapshot = (): Snapshot => snapshotOf(live, port);

  const initial = snapshot();
  const calls: CallRecord[] = [];
  for (const call of plan) {
    const before = host.beginCall(port);
    events = [];
    const fn = live[call.exportName] as (...args: unknown[]) => unknown;
    let outcome: Outcome;
    if (counters !== null) {
      // The call's counters, as the VM sets them at each start.
      fuelCounter = live[counters.fuel] as WebAssembly.Global;
      given = schedule!.budget();
      fuelCounter.value = given;
      (live[counters.height] as WebAssembly.Global).value = 0;
    }
    try {
      const result = fn(...call.args.map((a) => a.value));
      outcome = { type: 'returned', value: call.results.length === 0 ? null : formatValue(call.results[0]!, result, bounds !== null) };
    } catch (e) {
      outcome = plainOutcome(e);
    }
    const fuel = fuelCounter === null ? {} : { fuelConsumed: String(given - (fuelCounter.value as bigint)) };
    fuelCounter = null;
    calls.push({ exportName: call.exportName, ...fuel, before, events, outcome, after: snapshot() });
  }
  // Two fresh instances after all the calls: what the VM's clone() (taken before the calls)
  // and intoPrototype() (after them) must look like.
  const fresh: Snapshot[] = [];
  const freshStarts: (StartRecord | null)[] = [];
  for (let i = 0; i < 2; i++) {
    const other = instantiate();
    freshStarts.push(other.start);
    fresh.push(other.exports === null ? NO_INSTANCE : snapshotOf(other.exports, other.port));
  }
  return { type: 'ran', record: { start, initial, calls, fresh, freshStarts } };
}

/** The outcome of an error thrown by a plain export call, the stack-limit import's included. */
function plainOutcome(error: unknown): Outcome {
  if (error instanceof StackLimitReached) return { type: 'trapped', kind: 'StackLimitExceeded', message: 'the logical stack limit' };
  return outcomeOfPlainError(error);
}
