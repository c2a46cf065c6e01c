/**
 * Where a browser engine may legitimately see something else than Node.js (V8) in the browser
 * tests' spec and fuzz slices, each derived from what the engine does (probed in its page by
 * `engineTraits` of `spec/browser/suite.ts`), never from its name. Every other difference fails.
 *
 * - **NaN boxing.** SpiderMonkey and JavaScriptCore keep every JavaScript value in a NaN-boxed
 *   word and canonicalise a NaN that becomes a JavaScript number: its sign and payload are lost.
 *   The public API carries floats as JavaScript numbers (`WasmValue.f32/f64`), so on those engines
 *   a NaN argument reaches the guest, and a NaN result reaches the host, as the canonical NaN.
 *   Inherent to numbers as the API's floats (V8 keeps the bits: it boxes doubles in heap
 *   numbers); the guest's own NaNs, in memory and locals, are untouched.
 * - **Ambiguous out-of-bounds traps.** SpiderMonkey reports an out-of-bounds memory access and a
 *   `call_indirect` past the end of its table with the same message ("index out of bounds"), so
 *   the library, which tells trap kinds by message, reports both as `Other`. A limitation of the
 *   library on that engine (fixable: the trapping instruction's offset, in the error's stack, says
 *   which it was); the test checks it still occurs, so that its entry goes once fixed.
 * - **Ambiguous integer overflow.** SpiderMonkey words a float-to-integer truncation out of range
 *   like a signed division overflow ("integer overflow", the spec interpreter's own words), so the
 *   library reports `IntegerOverflow` where its contract (`TrapKind`) says `InvalidConversion`
 *   for every failed conversion, as V8 lets it. The same limitation and fix as above.
 *
 * Where the spec itself lets engines differ (a trap the spec allows two kinds for, a NaN class),
 * a difference between two runs that both meet the spec is no difference either.
 */
import type { Command } from '../conformance/script.js';
import type { ModuleRecord, Outcome } from '../../fuzz/differential/observation.js';
import { wat } from './wat.js';

/** What `engineTraits` found in a page. */
export interface EngineTraits {
  /** The bits of the signalling NaN 0xfff4000000000001 after a trip through a JavaScript number and back. */
  readonly nanBits: string;
  readonly memoryOutOfBounds: string;
  readonly tableOutOfBounds: string;
  /** The messages of `i32.div_s` overflowing and of `i32.trunc_f32_s` out of range. */
  readonly divisionOverflow: string;
  readonly truncationOverflow: string;
}

/** The module `engineTraits` probes with: a NaN's trip through JavaScript, and two out-of-bounds traps. */
export function traitsModule(): Promise<Uint8Array> {
  return wat(`(module
    (memory 1)
    (table 1 funcref)
    (type $t (func))
    (func (export "nanBits") (param f64) (result i64) (i64.reinterpret_f64 (local.get 0)))
    (func (export "memory") (drop (i32.load (i32.const 1000000))))
    (func (export "table") (call_indirect (type $t) (i32.const 5)))
    (func (export "division") (drop (i32.div_s (i32.const 0x80000000) (i32.const -1))))
    (func (export "truncation") (drop (i32.trunc_f32_s (f32.const 1e10)))))`);
}

/** A known difference between an engine and Node.js; see the module documentation. */
export interface KnownDifference {
  readonly id: 'nan-boxing' | 'ambiguous-out-of-bounds' | 'ambiguous-integer-overflow';
  readonly diagnosis: string;
}

const NAN_BOXING: KnownDifference = {
  id: 'nan-boxing',
  diagnosis: 'the engine canonicalises a NaN that becomes a JavaScript number: NaN arguments and results lose their sign and payload at the API',
};
const AMBIGUOUS: KnownDifference = {
  id: 'ambiguous-out-of-bounds',
  diagnosis:
    'the engine words an out-of-bounds memory access and a call_indirect past its table alike, so the library reports both as trap kind Other',
};

const OVERFLOW: KnownDifference = {
  id: 'ambiguous-integer-overflow',
  diagnosis:
    'the engine words a truncation out of range like a division overflow, so the library reports IntegerOverflow where its contract says InvalidConversion',
};

/** The known differences that apply to an engine with `traits`. */
export function knownDifferences(traits: EngineTraits): KnownDifference[] {
  const applying: KnownDifference[] = [];
  // V8 quiets the signalling NaN (0xfffc000000000001) but keeps its sign and payload.
  if (!/^0xfff[4c]000000000001$/.test(traits.nanBits)) applying.push(NAN_BOXING);
  if (traits.memoryOutOfBounds === traits.tableOutOfBounds) applying.push(AMBIGUOUS);
  if (traits.divisionOverflow === traits.truncationOverflow) applying.push(OVERFLOW);
  return applying;
}

/** Whether an f32/f64 bit pattern in the script's decimal notation (or a NaN class) is a NaN. */
function isNanText(type: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value.startsWith('nan:')) return true;
  if (type === 'f32') return (Number(value) & 0x7f80_0000) === 0x7f80_0000 && (Number(value) & 0x007f_ffff) !== 0;
  if (type === 'f64') {
    const bits = BigInt(value);
    return (bits & 0x7ff0_0000_0000_0000n) === 0x7ff0_0000_0000_0000n && (bits & 0x000f_ffff_ffff_ffffn) !== 0n;
  }
  return false;
}

/** One observation line of the runner: `<line> <type>: <status>[ -> <seen>]`. */
function parseObservation(text: string): { line: number; status: string; seen: string } {
  const match = /^(\d+) [a-z_]+: ([^>]*?)(?: -> (.*))?$/.exec(text);
  return match === null ? { line: -1, status: text, seen: '' } : { line: Number(match[1]), status: match[2]!, seen: match[3] ?? '' };
}

/**
 * Why the browser's observation `browser` of a spec command may differ from Node.js's `node`
 * (both lines of the runner's `observations`; `command` the script's command at that line): a
 * known difference's id, `spec` where both runs meet the spec, or `null` where nothing explains it.
 */
export function explainSpecDifference(node: string, browser: string, command: Command | undefined, applying: readonly KnownDifference[]): string | null {
  const n = parseObservation(node);
  const b = parseObservation(browser);
  if (n.line !== b.line) return null;
  if (applying.includes(NAN_BOXING) && command !== undefined && 'action' in command) {
    const action = command.action;
    const nanArgument = action.type === 'invoke' && action.args.some((a) => isNanText(a.type, a.value));
    const nanResult = 'expected' in command && command.expected.some((e) => isNanText(e.type, e.value));
    if (nanArgument || nanResult || /\(NaN\)/.test(n.seen) || /\(NaN\)/.test(b.seen)) return NAN_BOXING.id;
  }
  if (applying.includes(AMBIGUOUS) && /^trap (MemoryOutOfBounds|UndefinedElement)$/.test(n.seen) && b.seen === 'trap Other') return AMBIGUOUS.id;
  if (applying.includes(OVERFLOW) && n.seen === 'trap InvalidConversion' && b.seen === 'trap IntegerOverflow') return OVERFLOW.id;
  if (n.status === 'passed' && b.status === 'passed') return 'spec';
  return null;
}

/** Whether a browser observation line is a failed command. */
export function failedObservation(text: string): boolean {
  return parseObservation(text).status === 'failed';
}

/**
 * `record` with the distinctions the engine cannot make removed, where they apply: out of
 * bounds (`MemoryOutOfBounds`, `UndefinedElement` and `Other` with the engine's shared
 * `message` become one kind), overflow (`IntegerOverflow` and `InvalidConversion`) and NaN
 * boxing (a NaN result's bits, see below). Applied to both sides of a fuzz comparison.
 */
export function withoutAmbiguity(record: ModuleRecord, applying: readonly KnownDifference[], message: string): ModuleRecord {
  if (!applying.includes(AMBIGUOUS) && !applying.includes(OVERFLOW) && !applying.includes(NAN_BOXING)) return record;
  const merged = (outcome: Outcome): Outcome => {
    // NaN boxing: a NaN result recorded with its bits (as runs with canonical NaNs record them)
    // keeps only its type. The engine makes every NaN that becomes a JavaScript number canonical,
    // so a non-canonical NaN the guest returns (a constant, a reinterpretation) cannot cross the
    // API with its bits.
    if (outcome.type === 'returned' && applying.includes(NAN_BOXING) && outcome.value !== null) {
      const nan = /^(f32|f64):nan:0x[0-9a-f]+$/.exec(outcome.value);
      return nan === null ? outcome : { ...outcome, value: `${nan[1]}:nan (bits left to the engine's boxing)` };
    }
    if (outcome.type !== 'trapped') return outcome;
    const kind = outcome.kind;
    if (applying.includes(AMBIGUOUS) && (kind === 'MemoryOutOfBounds' || kind === 'UndefinedElement' || (kind === 'Other' && outcome.message.includes(message)))) {
      return { ...outcome, kind: 'Other' as const, message: `(out of bounds: memory or table) ${outcome.message}` };
    }
    if (applying.includes(OVERFLOW) && (kind === 'IntegerOverflow' || kind === 'InvalidConversion')) return { ...outcome, kind: 'IntegerOverflow' as const };
    return outcome;
  };
  return {
    ...record,
    start: record.start === null ? null : { ...record.start, outcome: merged(record.start.outcome) },
    calls: record.calls.map((call) => ({ ...call, outcome: merged(call.outcome) })),
    freshStarts: record.freshStarts.map((start) => (start === null ? null : { ...start, outcome: merged(start.outcome) })),
  };
}

/** Whether the trap `outcome` is one the ambiguity merges (for counting that it occurred). */
export function isAmbiguousTrap(outcome: Outcome, message: string): boolean {
  return outcome.type === 'trapped' && outcome.kind === 'Other' && outcome.message.includes(message);
}
