/**
 * Compares what the two sides observed, call by call, and classifies the first difference.
 *
 * Everything in a {@link CallRecord} must be equal: the host's action before the call, the
 * import calls (names, arguments, memory size and sampled memory digest at each interrupt, the
 * host's actions and answers), the outcome (result, or trap kind; trap messages differ by design
 * and are not compared), and the instance after the call (memory size, memory digest, exported
 * globals). So must the state right after instantiation, and the fresh instances made at the end
 * (see {@link ModuleRecord.fresh}).
 *
 * A difference in a call where either side ran out of stack is a **stack-depth difference**,
 * not a divergence: instrumented frames are larger and a paused stack must also fit in the
 * unwind buffer, so the VM legitimately overflows earlier than plain V8. Its details are kept
 * so that a suspicious one (say, the VM exhausting its stack at depth 3) can still be judged.
 *
 * The comparison stops at the first difference: after it the two instances are in different
 * states, and everything that follows would differ for that reason alone.
 *
 * @module
 */

import type { CallRecord, ImportEvent, ModuleRecord, Outcome, Snapshot, StartRecord } from './observation.js';

/** A difference between the sides. */
export interface Difference {
  /** Index of the call in the plan; -1 for the state right after instantiation. */
  readonly callIndex: number;
  readonly exportName: string;
  /** What differs, e.g. `outcome`, `import call 3`, `memory contents after the call`. */
  readonly what: string;
  readonly plain: string;
  readonly vm: string;
  /** When the difference is not in the outcome itself: how the call ended on each side. */
  readonly outcomes?: string;
}

/** The verdict on a module. */
export type Verdict =
  | { readonly type: 'match' }
  | ({ readonly type: 'divergence' } & Difference)
  | ({ readonly type: 'stack-depth' } & Difference);

/** The result of {@link compareRecords}. */
export interface Comparison {
  readonly verdict: Verdict;
  /** Calls compared, including the one with the difference. */
  readonly callsCompared: number;
}

function describeOutcome(outcome: Outcome): string {
  switch (outcome.type) {
    case 'returned':
      return `returned ${outcome.value ?? 'nothing'}`;
    case 'trapped':
      return `trapped ${outcome.kind} (${outcome.message})`;
    case 'error':
      return `error: ${outcome.message}`;
  }
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'returned') return a.value === (b as typeof a).value;
  if (a.type === 'trapped') return a.kind === (b as typeof a).kind;
  // An error on either side is never "the same": it is a harness or library failure to look at.
  return false;
}

function describeEvent(event: ImportEvent | undefined): string {
  if (event === undefined) return '(no such import call)';
  const answer = event.answer === null ? '' : ` -> ${event.answer}`;
  const action = event.action === '' ? '' : ` [host: ${event.action}]`;
  const digest = event.digest === null ? '' : ` digest ${event.digest}`;
  return `${event.name}(${event.args.join(', ')})${answer} at ${event.pages} pages${digest}${action}`;
}

function sameEvent(a: ImportEvent, b: ImportEvent): boolean {
  return (
    a.name === b.name &&
    a.args.join() === b.args.join() &&
    a.pages === b.pages &&
    a.digest === b.digest &&
    a.action === b.action &&
    a.answer === b.answer
  );
}

/** The first difference between two snapshots, as `[what, plain, vm]`. */
function snapshotDifference(plain: Snapshot, vm: Snapshot, when: string): [string, string, string] | null {
  if (plain.pages !== vm.pages) return [`memory.size ${when}`, `${plain.pages} pages`, `${vm.pages} pages`];
  if (plain.digest !== vm.digest) return [`memory contents ${when}`, plain.digest, vm.digest];
  const names = new Set([...Object.keys(plain.globals), ...Object.keys(vm.globals)]);
  for (const name of names) {
    if (plain.globals[name] !== vm.globals[name]) {
      return [`exported global ${JSON.stringify(name)} ${when}`, String(plain.globals[name]), String(vm.globals[name])];
    }
  }
  return null;
}

/** The first difference within one call, as `[what, plain, vm]`. */
function callDifference(plain: CallRecord, vm: CallRecord): [string, string, string] | null {
  if (plain.before !== vm.before) return ['host action before the call', plain.before, vm.before];
  const count = Math.max(plain.events.length, vm.events.length);
  for (let i = 0; i < count; i++) {
    const p = plain.events[i];
    const v = vm.events[i];
    if (p === undefined || v === undefined || !sameEvent(p, v)) {
      return [`import call ${i}`, describeEvent(p), describeEvent(v)];
    }
  }
  if (!sameOutcome(plain.outcome, vm.outcome)) return ['outcome', describeOutcome(plain.outcome), describeOutcome(vm.outcome)];
  if (plain.fuelConsumed !== vm.fuelConsumed) return ['fuel consumed', String(plain.fuelConsumed), String(vm.fuelConsumed)];
  return snapshotDifference(plain.after, vm.after, 'after the call');
}

function ranOutOfStack(record: CallRecord): boolean {
  return record.outcome.type === 'trapped' && record.outcome.kind === 'StackExhausted';
}

/** The first difference between two runs of the start function, as `[what, plain, vm]`. */
function startDifference(plain: StartRecord | null, vm: StartRecord | null): [string, string, string] | null {
  if (plain === null || vm === null) {
    return plain === vm ? null : ['start function', plain === null ? 'none' : 'ran', vm === null ? 'none' : 'ran'];
  }
  const count = Math.max(plain.events.length, vm.events.length);
  for (let i = 0; i < count; i++) {
    const p = plain.events[i];
    const v = vm.events[i];
    if (p === undefined || v === undefined || !sameEvent(p, v)) return [`start function's import call ${i}`, describeEvent(p), describeEvent(v)];
  }
  if (!sameOutcome(plain.outcome, vm.outcome)) return ["start function's outcome", describeOutcome(plain.outcome), describeOutcome(vm.outcome)];
  if (plain.fuelConsumed !== vm.fuelConsumed) {
    return ["start function's fuel consumed", String(plain.fuelConsumed), String(vm.fuelConsumed)];
  }
  return null;
}

/** Names of the fresh instances of {@link ModuleRecord.fresh}, by position. */
const FRESH_INSTANCES = ['the clone() taken before the calls', 'the intoPrototype() after the calls'];

/** Compares the records of the two sides; see the module documentation. */
export function compareRecords(plain: ModuleRecord, vm: ModuleRecord): Comparison {
  const found = (
    type: 'divergence' | 'stack-depth',
    callIndex: number,
    exportName: string,
    [what, plainText, vmText]: [string, string, string],
    callsCompared: number,
    outcomes?: string,
  ): Comparison => ({
    verdict: { type, callIndex, exportName, what, plain: plainText, vm: vmText, ...(outcomes === undefined ? {} : { outcomes }) },
    callsCompared,
  });

  const start = startDifference(plain.start, vm.start);
  if (start !== null) return found('divergence', -1, '(start function)', start, 0);
  const initial = snapshotDifference(plain.initial, vm.initial, 'after instantiation');
  if (initial !== null) return found('divergence', -1, '(instantiation)', initial, 0);

  const count = Math.min(plain.calls.length, vm.calls.length);
  for (let i = 0; i < count; i++) {
    const p = plain.calls[i]!;
    const v = vm.calls[i]!;
    const difference = callDifference(p, v);
    if (difference !== null) {
      const type = ranOutOfStack(p) || ranOutOfStack(v) ? 'stack-depth' : 'divergence';
      const outcomes = `plain ${describeOutcome(p.outcome)}; vm ${describeOutcome(v.outcome)}`;
      return found(type, i, p.exportName, difference, i + 1, difference[0] === 'outcome' ? undefined : outcomes);
    }
  }
  if (plain.calls.length !== vm.calls.length) {
    const lengths: [string, string, string] = ['number of calls', String(plain.calls.length), String(vm.calls.length)];
    return found('divergence', count, '(end)', lengths, count);
  }

  for (let i = 0; i < Math.max(plain.fresh.length, vm.fresh.length); i++) {
    const p = plain.fresh[i];
    const v = vm.fresh[i];
    const name = FRESH_INSTANCES[i] ?? `fresh instance ${i}`;
    const freshStart = startDifference(plain.freshStarts[i] ?? null, vm.freshStarts[i] ?? null);
    if (freshStart !== null) return found('divergence', count, '(fresh instance)', [`${freshStart[0]} of ${name}`, freshStart[1], freshStart[2]], count);
    const difference: [string, string, string] | null =
      p === undefined || v === undefined
        ? [name, p === undefined ? 'missing' : 'present', v === undefined ? 'missing' : 'present']
        : snapshotDifference(p, v, `of ${name}`);
    if (difference !== null) return found('divergence', count, '(fresh instance)', difference, count);
  }
  return { verdict: { type: 'match' }, callsCompared: count };
}
