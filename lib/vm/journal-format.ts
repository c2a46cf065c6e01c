/**
 * Journals as bytes: the events of `call-journal.ts` framed as `call-identity.ts` says (magic
 * `RWASMJNL`, format {@link JOURNAL_FORMAT}), for `vm.journal()` and `VirtualMachine.replay()`.
 *
 * The header names the module (SHA-256 and length), the options that shape what the guest sees
 * on either backend (features, floats, the memory rules and cap, the start function: not the
 * backend, nor the unwind buffer, so that a journal made on JSPI replays on Asyncify and the
 * other way round) and the import table as resolved; the body is the events, which
 * {@link readJournalEvents} reads back, refusing (`Corrupted`) any that is malformed or does not
 * fit the module (an import that does not exist, arguments that are not its types).
 *
 * @module
 */

import type { BaseComponents, JournalIdentity } from '../base/components.js';
import { SnapshotError } from '../base/errors.js';
import { type ValueType, describeBadValue } from '../base/values.js';
import { type CallIdentity, checkIdentity, frame, importsFingerprint, unframe } from './call-identity.js';
import { EndKind, JournalTag, VALUE_TYPES } from './call-journal.js';

/** The journal format version this library reads and writes. */
export const JOURNAL_FORMAT = 1;

const MAGIC = 'RWASMJNL';

/** What a journal of `components` (made with `VmConfig.journal`) names. */
export function journalIdentity(components: BaseComponents, journal: JournalIdentity): CallIdentity {
  return {
    module: { sha256: journal.moduleSha256, length: journal.moduleLength },
    options: journal.options,
    imports: importsFingerprint(components.imports),
  };
}

/** The bytes of a journal of `components` holding `events`. */
export function encodeJournal(components: BaseComponents, events: Uint8Array): Uint8Array {
  return frame(MAGIC, JOURNAL_FORMAT, { identity: journalIdentity(components, components.journal!) }, [events]);
}

/** A value of a journal event, with its type (`null`: none). */
export interface JournalValue {
  readonly type: ValueType | null;
  readonly raw: number | bigint | undefined;
}

/** One event of a journal; see `call-journal.ts`. */
export type JournalEvent =
  | { readonly tag: typeof JournalTag.Write; readonly offset: number; readonly data: Uint8Array }
  | { readonly tag: typeof JournalTag.Grow; readonly pages: number }
  | { readonly tag: typeof JournalTag.Call; readonly name: string; readonly args: readonly JournalValue[] }
  | { readonly tag: typeof JournalTag.StartFunction }
  | { readonly tag: typeof JournalTag.Step; readonly value: JournalValue }
  | { readonly tag: typeof JournalTag.Paused; readonly importIndex: number; readonly args: readonly JournalValue[] }
  | { readonly tag: typeof JournalTag.Ended; readonly kind: EndKind; readonly value: JournalValue; readonly trapKind: string };

/**
 * The events of the journal `bytes`, after the checks of `call-identity.ts` against
 * `components` (which must journal). Throws {@link SnapshotError}.
 */
export function decodeJournal(bytes: unknown, components: BaseComponents, identity: JournalIdentity): JournalEvent[] {
  const { header, body } = unframe(bytes, MAGIC, JOURNAL_FORMAT, 'journal');
  checkIdentity(header.identity, journalIdentity(components, identity), 'journal');
  return readJournalEvents(body, components);
}

/** The events in `body` (see `call-journal.ts`), each checked to fit `components`. */
export function readJournalEvents(body: Uint8Array, components: BaseComponents): JournalEvent[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  const bad = (what: string): never => {
    throw new SnapshotError('Corrupted', `the journal is malformed at byte ${at}: ${what}`);
  };
  const need = (count: number): void => {
    if (at + count > body.length) bad('it ends in the middle of an event');
  };
  const u8 = (): number => {
    need(1);
    return body[at++]!;
  };
  const u32 = (): number => {
    need(4);
    const value = view.getUint32(at, true);
    at += 4;
    return value;
  };
  const value = (): JournalValue => {
    const type = VALUE_TYPES[u8()];
    if (type === undefined) bad('a value has an unknown type');
    need(8);
    let raw: number | bigint | undefined;
    if (type === 'i64') raw = view.getBigInt64(at, true);
    else if (type === 'i32') raw = view.getInt32(at, true);
    else if (type !== null) raw = view.getFloat64(at, true);
    at += 8;
    return { type: type!, raw };
  };
  const values = (types: readonly ValueType[] | null): JournalValue[] => {
    const count = u8();
    const list: JournalValue[] = [];
    for (let i = 0; i < count; i++) list.push(value());
    if (types !== null && (list.length !== types.length || list.some((v, i) => v.type !== types[i]))) bad('arguments that are not of their types');
    return list;
  };
  const events: JournalEvent[] = [];
  while (at < body.length) {
    const tag = u8();
    switch (tag) {
      case JournalTag.Write: {
        const offset = u32();
        const length = u32();
        need(length);
        events.push({ tag, offset, data: body.subarray(at, at + length) });
        at += length;
        break;
      }
      case JournalTag.Grow:
        events.push({ tag, pages: u32() });
        break;
      case JournalTag.Call: {
        const length = u32();
        need(length);
        let name: string;
        try {
          name = decoder.decode(body.subarray(at, at + length));
        } catch {
          return bad('a function name is not UTF-8');
        }
        at += length;
        events.push({ tag, name, args: values(null) });
        break;
      }
      case JournalTag.StartFunction:
        events.push({ tag });
        break;
      case JournalTag.Step:
        events.push({ tag, value: value() });
        break;
      case JournalTag.Paused: {
        const importIndex = u32();
        const imported = components.imports[importIndex];
        if (imported === undefined || imported.inline !== null) bad(`import ${importIndex} is not a pausing import of the module`);
        events.push({ tag, importIndex, args: values(imported!.signature.params) });
        break;
      }
      case JournalTag.Ended: {
        const kind = u8();
        if (kind !== EndKind.Finished && kind !== EndKind.Trapped && kind !== EndKind.Failed) bad('an end of an unknown kind');
        const result = value();
        const length = u8();
        need(length);
        const trapKind = decoder.decode(body.subarray(at, at + length));
        at += length;
        events.push({ tag, kind: kind as EndKind, value: result, trapKind });
        break;
      }
      default:
        bad(`an event of unknown tag ${tag}`);
    }
  }
  for (const event of events) {
    if ((event.tag === JournalTag.Call || event.tag === JournalTag.Paused) && event.args.some((a) => a.type !== null && describeBadValue(a.type, a.raw) !== null)) {
      bad('a value out of its range');
    }
  }
  return events;
}
