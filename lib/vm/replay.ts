/**
 * Replaying a journal (`VirtualMachine.replay`): the events of `call-journal.ts` done again, in
 * order, on a fresh instance, through the state machine's own public steps — on either backend,
 * whichever made the journal.
 *
 * - a `write` or a `grow` is done through the accessors of the state at hand;
 * - a `call` or `start-function` starts the call (after `intoPrepare()` if a call came before);
 * - a `step` is taken with `runAsync`, after the writes the host made before the guest went on
 *   (those recorded between the step and its outcome: the host wrote them while the step was in
 *   progress, which is before the guest continued, since no host code but inline imports runs
 *   while the guest does); the outcome must then be the one the journal records next: a pause
 *   at the same import with the same arguments, or the same end (the same result, the same trap
 *   kind). Anything else is a `SnapshotError('JournalMismatch')` naming the step.
 *
 * Inline imports run again: they are host code, which must behave as when the journal was made.
 * The guest's determinism is the engine's: the same engine, or the determinism options
 * (`canonicalizeNaNs`, ...) across engines, give the same run.
 *
 * This file knows the states only by the few methods it uses (it is loaded lazily, with the
 * formats, and the states import it): {@link ReplayTarget}.
 *
 * @module
 */

import { SnapshotError } from '../base/errors.js';
import type { WasmValue } from '../base/values.js';
import { EndKind, JournalTag } from './call-journal.js';
import type { JournalEvent, JournalValue } from './journal-format.js';

/** A step's outcome, as the replay reads it (`ExecOutcome`; known structurally, see the module documentation). */
type ExecOutcome =
  | { readonly type: 'interrupted'; readonly params: readonly WasmValue[] }
  | { readonly type: 'finished'; readonly value: WasmValue | null }
  | { readonly type: 'trapped'; readonly trap: { readonly kind: string } }
  | { readonly type: 'outOfFuel' };

/** The memory accessors of a state. */
interface ReplayMemory {
  writeMemory(offset: number, data: Uint8Array): void;
  growMemory(pages: number): void;
}

/** A `Prepare`, as the replay uses it. */
export interface ReplayPrepare<M extends ReplayMachine> extends ReplayMemory {
  start(functionName: string, params: readonly WasmValue[]): M;
  callStartFunction(): M;
}

/** A `VirtualMachine`, as the replay uses it. */
export interface ReplayMachine extends ReplayMemory {
  runAsync(value: WasmValue | null): Promise<ExecOutcome>;
  intoPrepare(): ReplayPrepare<this>;
  /** The index of the import the call is paused at, or `null`. */
  _pausedImportIndex(): number | null;
}

/**
 * Replays `events` from `prepare` (a fresh instance) and returns the machine at the journal's
 * end (paused, ended or not yet run). Rejects with {@link SnapshotError} `JournalMismatch`
 * (the machine is then abandoned by `abandon`) or `Corrupted` (events out of order).
 */
export async function replayEvents<M extends ReplayMachine>(
  events: readonly JournalEvent[],
  prepare: ReplayPrepare<M>,
  abandon: (machine: M) => void,
): Promise<M> {
  let current: ReplayPrepare<M> | null = prepare;
  let machine: M | null = null;
  let step = 0;
  const mismatch = (message: string): never => {
    if (machine !== null) abandon(machine);
    throw new SnapshotError('JournalMismatch', `the replay left the journal at step ${step}: ${message}`, { step });
  };
  const corrupted = (message: string): never => {
    if (machine !== null) abandon(machine);
    throw new SnapshotError('Corrupted', `the journal is malformed: ${message}`);
  };
  const memory = (): ReplayMemory => machine ?? current!;
  const prepared = (): ReplayPrepare<M> => {
    if (machine !== null) {
      current = machine.intoPrepare();
      machine = null;
    }
    return current!;
  };
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    switch (event.tag) {
      case JournalTag.Write:
        memory().writeMemory(event.offset, event.data);
        break;
      case JournalTag.Grow:
        memory().growMemory(event.pages);
        break;
      case JournalTag.Call:
        machine = prepared().start(event.name, event.args.map(wasmValue) as WasmValue[]);
        current = null;
        break;
      case JournalTag.StartFunction:
        machine = prepared().callStartFunction();
        current = null;
        break;
      case JournalTag.Step: {
        step++;
        if (machine === null) return corrupted('a step before any call');
        // The host's writes while the step was in progress: before the guest went on.
        let end = i + 1;
        while (end < events.length && (events[end]!.tag === JournalTag.Write || events[end]!.tag === JournalTag.Grow)) end++;
        for (let j = i + 1; j < end; j++) {
          const write = events[j]!;
          if (write.tag === JournalTag.Write) machine.writeMemory(write.offset, write.data);
          else if (write.tag === JournalTag.Grow) machine.growMemory(write.pages);
        }
        const expected = events[end];
        let outcome: ExecOutcome | null = null;
        let failure: unknown = null;
        try {
          outcome = await machine.runAsync(wasmValue(event.value));
        } catch (e) {
          failure = e;
        }
        if (expected === undefined) {
          // The journal was taken while this step was in progress: nothing to check it against.
          if (failure !== null) throw failure;
          return machine;
        }
        check(expected, outcome, failure, machine, mismatch, corrupted);
        i = end;
        break;
      }
      default:
        return corrupted('an outcome without a step');
    }
  }
  return machine ?? corrupted('no call');
}

/** Checks a step's outcome against the journal's next event. */
function check(
  expected: JournalEvent,
  outcome: ExecOutcome | null,
  failure: unknown,
  machine: ReplayMachine,
  mismatch: (message: string) => never,
  corrupted: (message: string) => never,
): void {
  const got = outcome === null ? `a failure (${String(failure)})` : describeOutcome(outcome, machine);
  if (expected.tag === JournalTag.Paused) {
    if (outcome?.type !== 'interrupted') return mismatch(`the journal says the guest paused at import ${expected.importIndex}; it gave ${got}`);
    const index = machine._pausedImportIndex();
    if (index !== expected.importIndex) return mismatch(`the journal says the guest called import ${expected.importIndex}; it called import ${index}`);
    const same = outcome.params.length === expected.args.length && outcome.params.every((p, k) => Object.is(p.value, expected.args[k]!.raw));
    if (!same) {
      return mismatch(
        `the guest called import ${index} with (${outcome.params.map((p) => String(p.value)).join(', ')}), ` +
          `the journal says (${expected.args.map((a) => String(a.raw)).join(', ')})`,
      );
    }
    return;
  }
  if (expected.tag !== JournalTag.Ended) return corrupted('a step followed by neither a pause nor an end');
  if (expected.kind === EndKind.Failed) {
    if (outcome === null) return;
    return mismatch(`the journal says the step failed; it gave ${got}`);
  }
  if (expected.kind === EndKind.Finished) {
    if (outcome?.type !== 'finished') return mismatch(`the journal says the call finished; it gave ${got}`);
    const value = outcome.value;
    if ((value?.type ?? null) !== expected.value.type || (value !== null && !Object.is(value.value, expected.value.raw))) {
      return mismatch(`the journal says the call finished with ${String(expected.value.raw)}; it gave ${got}`);
    }
    return;
  }
  if (outcome?.type !== 'trapped' || outcome.trap.kind !== expected.trapKind) {
    return mismatch(`the journal says the call trapped (${expected.trapKind}); it gave ${got}`);
  }
}

function describeOutcome(outcome: ExecOutcome, machine: ReplayMachine): string {
  switch (outcome.type) {
    case 'interrupted':
      return `a pause at import ${machine._pausedImportIndex()}`;
    case 'finished':
      return `an end with ${outcome.value === null ? 'no value' : String(outcome.value.value)}`;
    case 'trapped':
      return `a trap (${outcome.trap.kind})`;
    case 'outOfFuel':
      return 'a pause out of fuel';
  }
}

/** A journal value as the state machine takes it. */
function wasmValue(value: JournalValue): WasmValue | null {
  return value.type === null ? null : ({ type: value.type, value: value.raw } as WasmValue);
}
