/**
 * What the harness observes of a run, in a form both sides produce identically when the guest
 * behaves identically: values as canonical strings, traps as {@link TrapKind} names, memory as
 * a digest.
 *
 * ## How values are compared
 *
 * Integers are compared exactly (`i32` as a signed 32-bit number, `i64` as a signed 64-bit
 * bigint). Floats are compared by their IEEE 754 bit pattern, so `-0` and `+0` differ and every
 * finite value and infinity must match bit for bit, *except NaN*: a NaN that crosses the
 * wasm-to-JS boundary (an export's result, an import's argument) is recorded only as "a NaN of
 * this type". Two reasons:
 * - the boundary converts an f32/f64 to a JavaScript number, and V8 does not promise to keep a
 *   NaN's sign and payload there (boxing a number may canonicalise it), so the bits the harness
 *   would read are not necessarily the bits the guest produced;
 * - WebAssembly itself leaves the sign and payload of a NaN produced by arithmetic
 *   nondeterministic, so even a perfect VM may legitimately differ there.
 *
 * NaNs that stay inside the guest (stored to memory, reinterpreted as integers) are still
 * compared exactly, through the memory digest and through any integer the guest derives from
 * them.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import type { TrapKind, ValueType } from '../../lib/index.js';
import { formatNaN } from './bounds.js';

/** The result of a run step as the harness records it. */
export type Outcome =
  /** The export returned; `value` is the canonical form of its result (`null`: no result). */
  | { readonly type: 'returned'; readonly value: string | null }
  /** The guest trapped; `kind` is a {@link TrapKind}, or `Unrecognised` for an unknown engine message. */
  | { readonly type: 'trapped'; readonly kind: TrapKind | 'Unrecognised'; readonly message: string }
  /**
   * Something that is neither a result nor a trap: the plain side's export threw a non-trap
   * error, the VM's `run()` or `start()` threw. Always a divergence.
   */
  | { readonly type: 'error'; readonly message: string };

/** One call the guest made to an import, and what the host did about it. */
export interface ImportEvent {
  /** The import's field name (all ttf imports come from `fuzzing-support`). */
  readonly name: string;
  /** The arguments, in canonical form. */
  readonly args: readonly string[];
  /** Size of the guest memory when the import was called, in pages. */
  readonly pages: number;
  /** Digest of the whole guest memory when the import was called; sampled, `null` when skipped. */
  readonly digest: string | null;
  /** What the host did to the memory before answering (writes, growth), `''` for nothing. */
  readonly action: string;
  /** The answer handed back to the guest, in canonical form (`null` for a void import). */
  readonly answer: string | null;
}

/** The state of the instance between calls. */
export interface Snapshot {
  /** `memory.size` in pages. */
  readonly pages: number;
  /** Digest of the whole guest memory. */
  readonly digest: string;
  /**
   * Exported globals by name: the value of an `i32` global as an unsigned 32-bit integer (the
   * form `VirtualMachinePrototype.globalValue` uses), or `invalid` for a global of another type
   * (for which `globalValue` must refuse with `Invalid`).
   */
  readonly globals: Readonly<Record<string, string>>;
}

/** One export call, as one side saw it. */
export interface CallRecord {
  readonly exportName: string;
  /** With bounds (`bounds.ts`): the fuel the call consumed; else absent. */
  readonly fuelConsumed?: string;
  /** What the host did to the memory before the call started (`''`: nothing). */
  readonly before: string;
  readonly events: readonly ImportEvent[];
  readonly outcome: Outcome;
  /** The instance after the call. */
  readonly after: Snapshot;
}

/**
 * A run of the module's start function: its import calls and how it ended. The host sees no
 * memory meanwhile (a memory of 0 pages, {@link NULL_MEMORY}): on the plain side the start
 * function runs inside `new WebAssembly.Instance`, before the instance and its exports exist.
 */
export interface StartRecord {
  /** With bounds (`bounds.ts`): the fuel the start function consumed; else absent. */
  readonly fuelConsumed?: string;
  readonly events: readonly ImportEvent[];
  readonly outcome: Outcome;
}

/** The snapshot of an instance whose start function trapped: there is no instance to look at. */
export const NO_INSTANCE: Snapshot = { pages: 0, digest: '(no instance: the start function trapped)', globals: {} };

/** A whole module run by one side: the state after instantiation, every call, then fresh instances. */
export interface ModuleRecord {
  /**
   * The start function's run, before anything else (`null`: the module has none). If it did not
   * return, `initial` is {@link NO_INSTANCE} and there are no calls and no fresh instances.
   */
  readonly start: StartRecord | null;
  readonly initial: Snapshot;
  readonly calls: readonly CallRecord[];
  /**
   * Fresh instances of the module, looked at after all the calls: on the VM side a `clone()` of
   * the prototype taken before the first call, then the result of `intoPrototype()` after the
   * last; on the plain side two new instances. Both must look like a just-instantiated module,
   * whatever the calls did to the instance they ran on.
   */
  readonly fresh: readonly Snapshot[];
  /** The start function's run on each fresh instance (before its snapshot; `null`: none). */
  readonly freshStarts: readonly (StartRecord | null)[];
}

const f32View = new Float32Array(1);
const u32View = new Uint32Array(f32View.buffer);
const f64View = new Float64Array(1);
const u64View = new BigUint64Array(f64View.buffer);

/**
 * The canonical form of a value of type `type` in the engine's JavaScript representation. With
 * `nanBits`, a NaN keeps its bits (`f64:nan:0x7ff8000000000000`): for runs with canonical NaNs
 * (`bounds.ts`), where the NaNs arithmetic makes are the one NaN no boxing changes.
 */
export function formatValue(type: ValueType, raw: unknown, nanBits = false): string {
  switch (type) {
    case 'i32':
      if (typeof raw !== 'number' || !Number.isInteger(raw)) return `bad-i32(${String(raw)})`;
      return `i32:${raw | 0}`;
    case 'i64':
      if (typeof raw !== 'bigint') return `bad-i64(${String(raw)})`;
      return `i64:${BigInt.asIntN(64, raw)}`;
    case 'f32':
      if (typeof raw !== 'number') return `bad-f32(${String(raw)})`;
      if (Number.isNaN(raw)) return nanBits ? formatNaN('f32', raw) : 'f32:nan';
      f32View[0] = raw;
      return `f32:0x${u32View[0]!.toString(16).padStart(8, '0')}`;
    case 'f64':
      if (typeof raw !== 'number') return `bad-f64(${String(raw)})`;
      if (Number.isNaN(raw)) return nanBits ? formatNaN('f64', raw) : 'f64:nan';
      f64View[0] = raw;
      return `f64:0x${u64View[0]!.toString(16).padStart(16, '0')}`;
  }
}

/**
 * V8's messages for WebAssembly traps, mapped to the VM's trap kinds. Kept here rather than
 * imported from the library so that a wrong mapping there shows up as a divergence.
 * V8 reports a `call_indirect` through an empty slot with the same message as a signature
 * mismatch (before Node.js 26 "null function or function signature mismatch", since then
 * "function signature mismatch"), so both are `IndirectCallMismatch`.
 */
const V8_TRAP_MESSAGES: ReadonlyMap<string, TrapKind> = new Map([
  ['unreachable', 'Unreachable'],
  ['memory access out of bounds', 'MemoryOutOfBounds'],
  ['divide by zero', 'DivisionByZero'],
  ['remainder by zero', 'DivisionByZero'],
  ['divide result unrepresentable', 'IntegerOverflow'],
  ['float unrepresentable in integer range', 'InvalidConversion'],
  ['table index is out of bounds', 'UndefinedElement'],
  ['null function or function signature mismatch', 'IndirectCallMismatch'],
  // V8 13 (Node.js 26) words both cases this way.
  ['function signature mismatch', 'IndirectCallMismatch'],
]);

/** `true` for V8's report of a call stack overflow. */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /Maximum call stack size exceeded/.test(error.message);
}

/** The outcome for an error thrown by a plain (uninstrumented) export call. */
export function outcomeOfPlainError(error: unknown): Outcome {
  if (isStackOverflow(error)) {
    return { type: 'trapped', kind: 'StackExhausted', message: (error as Error).message };
  }
  if (error instanceof WebAssembly.RuntimeError) {
    const kind = V8_TRAP_MESSAGES.get(error.message) ?? 'Unrecognised';
    return { type: 'trapped', kind, message: error.message };
  }
  return { type: 'error', message: describeError(error) };
}

/** A one-line description of anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const kind = (error as { kind?: unknown }).kind;
    return `${error.name}${typeof kind === 'string' ? `(${kind})` : ''}: ${error.message}`;
  }
  return `non-Error thrown: ${String(error)}`;
}

/** A short digest of a memory's contents (SHA-1 is plenty to detect differences, and fast). */
export function digestBytes(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex').slice(0, 16);
}

/** Whether the host takes a memory digest at the `index`-th import event of a call (both sides use this rule). */
export function digestAtEvent(index: number): boolean {
  // The first few interrupts of every call, then every 8th: enough to catch a VM that touches
  // guest memory while pausing, without hashing a megabyte at every one of hundreds of calls.
  return index < 4 || index % 8 === 0;
}
