/**
 * Checks that an accepted module is a *working* prototype: every public method answers within
 * its contract, and every planned call ends as `finished`, `trapped` or (when the host stops
 * answering) an abandoned `interrupted`, never as an exception.
 *
 * For a prototype it checks `memoryMaxPages()` against the declared limits (and the config's cap), `globalValue()` on
 * every exported global, `clone()`, and the memory accessors of `prepare()` (including that the
 * first byte past the end is refused). Then it starts each planned export with zero-valued
 * parameters and drives it: every interrupt must name an id the `symbols` callback handed out,
 * with parameters of that import's types, and is answered with a zero value of its result type
 * (reading the memory at every interrupt, as a host would). A finished call must return a value
 * of the export's result type; a trapped one must carry a documented {@link Trap} and leave the
 * machine poisoned. After a call ends the next one starts on the same instance through
 * `intoPrepare()`; a call still interrupted after the plan's budget is abandoned through
 * `intoPrototype()`.
 *
 * @module
 */

import {
  type ExecOutcome,
  GlobalValueError,
  OutOfBoundsError,
  type Prepare,
  RunError,
  StartError,
  type VirtualMachine,
  type VirtualMachinePrototype,
  WasmValue,
} from '../../lib/index.js';
import type { CallPlan, PlannedCall } from './call-plan.js';
import type { ImportLedger } from './config-plan.js';
import { checkTrap, describeThrown, violate } from './judge.js';

/** The slice of the library's module facts the checks need. */
export interface ExerciseFacts {
  readonly exports: readonly { readonly name: string; readonly kind: string; readonly index: number }[];
  readonly globals: readonly { readonly valueType: string }[];
  readonly memories: readonly { readonly limits: { readonly initial: number; readonly maximum: number | null } }[];
}

/** What running the plan produced, for the summary. */
export interface ExerciseReport {
  /** Outcome labels of the planned calls: `finished`, `trapped:<kind>`, `abandoned`, `start:<StartError kind>`. */
  readonly calls: string[];
  /** Interrupts answered over all calls. */
  interrupts: number;
}

/** Runs `action`, turning anything it throws into a `leaked-exception` violation at `where`. */
function guarded<T>(where: string, action: () => T): T {
  try {
    return action();
  } catch (e) {
    return violate('leaked-exception', where, describeThrown(e));
  }
}

/** Whether `value` is a valid payload of a value of `type`, as the library hands them out. */
function isValueOf(type: string, value: unknown): boolean {
  switch (type) {
    case 'i32':
      return typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
    case 'i64':
      return typeof value === 'bigint' && value >= -(2n ** 63n) && value < 2n ** 63n;
    case 'f32':
    case 'f64':
      return typeof value === 'number';
    default:
      return false;
  }
}

function zeroValue(type: string): WasmValue {
  switch (type) {
    case 'i64':
      return WasmValue.i64(0n);
    case 'f32':
      return WasmValue.f32(0);
    case 'f64':
      return WasmValue.f64(0);
    default:
      return WasmValue.i32(0);
  }
}

/**
 * The maximum `memoryMaxPages()` must report: the module's own, lowered to the config's
 * `maxMemoryPages` cap if there is one (`null` without a memory, or without either limit).
 */
function expectedMaxPages(facts: ExerciseFacts, cap: number | null): number | null {
  const memory = facts.memories[0];
  if (memory === undefined) return null;
  const own = memory.limits.maximum;
  if (cap === null) return own;
  return Math.min(own ?? cap, cap);
}

/** Checks the prototype-level methods. */
function checkPrototype(proto: VirtualMachinePrototype, facts: ExerciseFacts, cap: number | null): void {
  const expected = expectedMaxPages(facts, cap);
  const maxPages = guarded('memoryMaxPages', () => proto.memoryMaxPages());
  if (maxPages !== expected) {
    violate('bad-result', 'memoryMaxPages', `returned ${String(maxPages)}; declared ${String(facts.memories[0]?.limits.maximum)}, cap ${String(cap)}`);
  }
  for (const e of facts.exports) {
    if (e.kind !== 'global') continue;
    const where = `globalValue ${JSON.stringify(e.name)}`;
    const type = facts.globals[e.index]?.valueType;
    let value: unknown;
    try {
      value = proto.globalValue(e.name);
    } catch (error) {
      if (error instanceof GlobalValueError && error.kind === 'Invalid' && type !== 'i32') continue;
      violate(error instanceof GlobalValueError ? 'wrong-error' : 'leaked-exception', where, describeThrown(error));
    }
    if (type !== 'i32') violate('bad-result', where, `returned ${String(value)} for a global of type ${String(type)}`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      violate('bad-result', where, `returned ${String(value)}, not a u32`);
    }
  }
  // A clone is a fresh instance of the same module: check its memory, then drop it.
  const clone = guarded('clone', () => proto.clone());
  const clonePrepare = guarded('clone().prepare', () => clone.prepare());
  checkMemory(clonePrepare, facts, 'clone().prepare');
}

/** Checks the memory accessors of a fresh instance. */
function checkMemory(access: Prepare | VirtualMachine, facts: ExerciseFacts, where: string): void {
  const pages = guarded(`${where}.memorySize`, () => access.memorySize());
  const initial = facts.memories[0]?.limits.initial ?? 0;
  if (pages !== initial) violate('bad-result', `${where}.memorySize`, `a fresh instance has ${pages} pages, the module declares ${initial}`);
  readAround(access, `${where}.readMemory`);
}

/** Reads the first bytes and checks that the first byte past the end is refused. */
function readAround(access: Prepare | VirtualMachine, where: string): void {
  const length = guarded(where, () => access.memorySize()) * 65536;
  const head = guarded(where, () => access.readMemory(0, Math.min(length, 64)));
  if (!(head instanceof Uint8Array) || head.length !== Math.min(length, 64)) violate('bad-result', where, 'readMemory returned the wrong length');
  try {
    access.readMemory(length, 1);
  } catch (error) {
    if (error instanceof OutOfBoundsError) return;
    violate('leaked-exception', where, describeThrown(error));
  }
  violate('bad-result', where, `reading 1 byte at ${length}, the end of the memory, was not refused`);
}

/**
 * Runs `plan` on `proto` (consuming it). `cap` is the config's `maxMemoryPages` (or `null`).
 * `onCall(i)` is called before the i-th planned call, so that the caller can restart its time
 * bound. Throws a `ViolationError` on the first violation.
 */
export function exercise(
  proto: VirtualMachinePrototype,
  facts: ExerciseFacts,
  cap: number | null,
  plan: CallPlan,
  ledger: ImportLedger,
  onCall: (index: number, call: PlannedCall) => void,
): ExerciseReport {
  const report: ExerciseReport = { calls: [], interrupts: 0 };
  checkPrototype(proto, facts, cap);
  let prepare = guarded('prepare', () => proto.prepare());
  checkMemory(prepare, facts, 'prepare');

  // A start function (`startFunction: true`) runs first, as a host must run it; if it does not
  // finish, the instance cannot be used (as a failed instantiation) and the plan ends there.
  if (prepare.startFunctionPending) {
    const startCall: PlannedCall = { name: '(start function)', params: [], result: null, expect: 'start' };
    const vm = guarded('callStartFunction', () => prepare.callStartFunction());
    const label = drive(vm, startCall, plan, ledger, report);
    report.calls.push(`start function:${label}`);
    if (label !== 'finished') {
      const fresh = guarded('intoPrototype().prepare', () => vm.intoPrototype().prepare());
      if (!fresh.startFunctionPending) violate('bad-result', 'intoPrototype', 'the fresh instance has no start function pending');
      guarded('intoPrototype', () => fresh.intoPrototype());
      return report;
    }
    prepare = guarded('intoPrepare', () => vm.intoPrepare());
  }

  plan.calls.forEach((call, index) => {
    onCall(index, call);
    const where = `start ${JSON.stringify(call.name)}`;
    let vm: VirtualMachine;
    try {
      vm = prepare.start(call.name, call.params.map(zeroValue));
    } catch (error) {
      if (!(error instanceof StartError)) violate('leaked-exception', where, describeThrown(error));
      if (error.kind !== call.expect) violate('wrong-error', where, `expected ${call.expect}, got ${describeThrown(error)}`);
      report.calls.push(`start:${error.kind}`);
      prepare = guarded(`${where}: error.prototype.prepare`, () => error.prototype.prepare());
      return;
    }
    if (call.expect !== 'start') violate('bad-result', where, `expected StartError(${call.expect}), the call started`);
    const label = drive(vm, call, plan, ledger, report);
    report.calls.push(label);
    prepare =
      label === 'abandoned'
        ? guarded('intoPrototype().prepare', () => vm.intoPrototype().prepare())
        : guarded('intoPrepare', () => vm.intoPrepare());
  });
  guarded('intoPrototype', () => prepare.intoPrototype());
  return report;
}

/** Drives one started call to its end or to the interrupt budget; returns its outcome label. */
function drive(vm: VirtualMachine, call: PlannedCall, plan: CallPlan, ledger: ImportLedger, report: ExerciseReport): string {
  const where = `run ${JSON.stringify(call.name)}`;
  let answer: WasmValue | null = null;
  for (let interrupts = 0; ; interrupts++) {
    const outcome: ExecOutcome = guarded(where, () => vm.run(answer));
    switch (outcome?.type) {
      case 'interrupted': {
        if (interrupts >= plan.interruptBudget) return 'abandoned';
        report.interrupts++;
        const signature = ledger.get(outcome.id);
        if (signature === undefined) violate('bad-result', where, `interrupted with id ${outcome.id}, which symbols() never returned`);
        const params = outcome.params;
        if (!Array.isArray(params) || params.length !== signature.params.length) {
          violate('bad-result', where, `interrupt ${outcome.id} has ${String(params?.length)} params, its import takes ${signature.params.length}`);
        }
        params.forEach((p, i) => {
          if (p?.type !== signature.params[i] || !isValueOf(p.type, p.value)) {
            violate('bad-result', where, `interrupt ${outcome.id} param ${i} is ${JSON.stringify(p, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}, expected an ${signature.params[i]}`);
          }
        });
        readAround(vm, `${where}: memory while interrupted`);
        answer = signature.result === null ? null : zeroValue(signature.result);
        continue;
      }
      case 'finished': {
        const value = outcome.value;
        if (call.result === null ? value !== null : value?.type !== call.result || !isValueOf(value.type, value.value)) {
          violate('bad-result', where, `finished with ${describeValue(value)}, the export returns ${call.result ?? 'nothing'}`);
        }
        expectPoisoned(vm, where);
        return 'finished';
      }
      case 'trapped': {
        const kind = checkTrap(outcome.trap, where);
        expectPoisoned(vm, where);
        return `trapped:${kind}`;
      }
      default:
        return violate('bad-result', where, `run() returned ${describeValue(outcome)}`);
    }
  }
}

function expectPoisoned(vm: VirtualMachine, where: string): void {
  try {
    vm.run(null);
  } catch (error) {
    if (error instanceof RunError && error.kind === 'Poisoned') return;
    violate('wrong-error', `${where} after the end`, `expected RunError(Poisoned), got ${describeThrown(error)}`);
  }
  violate('bad-result', `${where} after the end`, 'run() after the end of the call did not throw');
}

function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
