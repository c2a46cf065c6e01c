/**
 * The journal of one instance (`VmConfig.journal`): what the host did to it since it was fresh,
 * as a list of events, appended as they happen.
 *
 * ```text
 * write  offset, bytes      the host wrote the memory while no guest code ran
 * grow   pages              the host grew the memory while no guest code ran
 * call   name, args         Prepare.start(name, args)
 * start-function            Prepare.callStartFunction()
 * step   value | none       a step began: run(null) / runAsync(null), or a resume with value
 * paused import, args       the step ended at an interrupt: the guest called that import
 * ended  value | trap kind  the step ended the call: finished with value, or trapped
 * ```
 *
 * "While no guest code runs" is every moment but inside an inline import's host function (see
 * `VmConfig.inlineImports`): inline imports are host code that a replay runs again, so what they
 * write is the guest's doing, not recorded. Every other write reaches the memory through the
 * instance's {@link GuestMemory} (`writeMemory`, `growMemory` of every state, of
 * `runToCompletion`'s memory, of an inline import's memory object kept for later), which records
 * it here; its in-place fast path (`CURRENT_VIEW`) is refused meanwhile, so the library's own
 * host code (the Substrate allocator) writes through the accessors too. The host has no other
 * way to the memory. So a replay that applies the events in order, answering each pause from
 * the journal, gives the guest exactly what it saw (`journal-format.ts` reads them back,
 * `replay.ts` replays them).
 *
 * A reset (`intoPrototype()`) empties the journal: a journal always starts from a fresh
 * instance. Values are written with their type and 8 bytes (i32 and i64 as integers, floats as
 * the JavaScript number's float64 bits).
 *
 * @module
 */

import type { ValueType } from '../base/values.js';

/** The tag of each event; see the module documentation. */
export const JournalTag = { Write: 1, Grow: 2, Call: 3, StartFunction: 4, Step: 5, Paused: 6, Ended: 7 } as const;

/** The type byte of a value: none, then the four value types. */
export const VALUE_TYPES: readonly (ValueType | null)[] = [null, 'i32', 'i64', 'f32', 'f64'];

/** How an `ended` event says the call ended. */
export const EndKind = {
  Finished: 0,
  Trapped: 1,
  /** The backend's own code failed (not the guest's doing): the step's outcome was an error. */
  Failed: 2,
} as const;

/** One of {@link EndKind}. */
export type EndKind = (typeof EndKind)[keyof typeof EndKind];

const encoder = new TextEncoder();

/** The events recorded for one instance; see the module documentation. */
export class CallJournal {
  #bytes = new Uint8Array(256);
  #view = new DataView(this.#bytes.buffer);
  #length = 0;

  /** Bytes recorded so far (a mark for {@link truncate}). */
  get length(): number {
    return this.#length;
  }

  /** A copy of the events recorded so far. */
  events(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  /** Forgets every event (a reset: the instance is fresh again). */
  clear(): void {
    this.#length = 0;
  }

  /** Forgets the events after `mark` (a step that could not be taken after all). */
  truncate(mark: number): void {
    if (mark < this.#length) this.#length = mark;
  }

  /** Replaces the events with `events` (a restored snapshot's, or a fork's). */
  load(events: Uint8Array): void {
    this.#length = 0;
    this.#room(events.length);
    this.#bytes.set(events, 0);
    this.#length = events.length;
  }

  /** The host wrote `data` at `offset`. */
  write(offset: number, data: Uint8Array): void {
    this.#room(9 + data.length);
    this.#byte(JournalTag.Write);
    this.#u32(offset);
    this.#u32(data.length);
    this.#bytes.set(data, this.#length);
    this.#length += data.length;
  }

  /** The host grew the memory by `pages`. */
  grow(pages: number): void {
    this.#room(5);
    this.#byte(JournalTag.Grow);
    this.#u32(pages);
  }

  /** `Prepare.start(name, args)` (`args` in the engine's representation, typed by `types`). */
  call(name: string, types: readonly ValueType[], args: readonly unknown[]): void {
    const utf8 = encoder.encode(name);
    this.#room(6 + utf8.length + 9 * types.length);
    this.#byte(JournalTag.Call);
    this.#u32(utf8.length);
    this.#bytes.set(utf8, this.#length);
    this.#length += utf8.length;
    this.#values(types, args);
  }

  /** `Prepare.callStartFunction()`. */
  startFunction(): void {
    this.#room(1);
    this.#byte(JournalTag.StartFunction);
  }

  /** A step began with `raw` (of type `type`; `null`: the first step, or an import without result). */
  step(type: ValueType | null, raw: unknown): void {
    this.#room(10);
    this.#byte(JournalTag.Step);
    this.#value(type, raw);
  }

  /** The step ended at the import `index`, called with `args` (typed by `types`). */
  paused(index: number, types: readonly ValueType[], args: readonly unknown[]): void {
    this.#room(6 + 9 * types.length);
    this.#byte(JournalTag.Paused);
    this.#u32(index);
    this.#values(types, args);
  }

  /** The step ended the call: finished with `raw` of type `type`, trapped with `trapKind`, or failed. */
  ended(kind: EndKind, type: ValueType | null, raw: unknown, trapKind: string): void {
    const utf8 = encoder.encode(trapKind);
    this.#room(11 + utf8.length);
    this.#byte(JournalTag.Ended);
    this.#byte(kind);
    this.#value(kind === EndKind.Finished ? type : null, raw);
    this.#byte(utf8.length);
    this.#bytes.set(utf8, this.#length);
    this.#length += utf8.length;
  }

  #values(types: readonly ValueType[], args: readonly unknown[]): void {
    this.#byte(types.length);
    for (let i = 0; i < types.length; i++) this.#value(types[i]!, args[i]);
  }

  /** A type byte and 8 bytes (see the module documentation). */
  #value(type: ValueType | null, raw: unknown): void {
    const at = this.#length + 1;
    this.#byte(VALUE_TYPES.indexOf(type));
    const view = this.#view;
    if (type === 'i64') {
      view.setBigInt64(at, raw as bigint, true);
    } else if (type === 'i32') {
      view.setInt32(at, raw as number, true);
      view.setInt32(at + 4, 0, true);
    } else {
      view.setFloat64(at, type === null ? 0 : (raw as number), true);
    }
    this.#length += 8;
  }

  #byte(value: number): void {
    this.#bytes[this.#length++] = value;
  }

  #u32(value: number): void {
    this.#view.setUint32(this.#length, value, true);
    this.#length += 4;
  }

  /** Makes room for `count` more bytes. */
  #room(count: number): void {
    const needed = this.#length + count;
    if (needed <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }
}
