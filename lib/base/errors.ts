/**
 * Every error this library reports.
 *
 * All of them extend {@link VmError} and carry a `kind` string that is typed per class, so a
 * caller matches on `err instanceof NewError && err.kind === 'NoMemory'` and the compiler checks
 * the spelling; the `message` is for humans and says what was wrong with which import, export
 * or argument.
 *
 * Guest faults are not errors: a trap is a normal outcome of {@link VirtualMachine.run}
 * (`{ type: 'trapped', trap }`), and {@link Trap} is the value describing it.
 *
 * @module
 */

import type { ValueType } from './values.js';

/**
 * Base class of every error (and of {@link Trap}) produced by this library. `K` is the union of
 * the subclass's kinds, so `kind` is checked by the compiler wherever it is matched.
 */
export abstract class VmError<K extends string = string> extends Error {
  /** What went wrong, as a machine-readable name. */
  readonly kind: K;

  constructor(kind: K, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.kind = kind;
  }
}

/** Why {@link VirtualMachinePrototype.create} refused a module. */
export type NewErrorKind =
  /** Not a valid WebAssembly binary, or it uses a feature outside the configured feature set. */
  | 'InvalidWasm'
  /** The module is valid but instantiating it failed (e.g. a data segment out of bounds). */
  | 'Instantiation'
  /** The `symbols` callback refused a function import, or its signature cannot cross the boundary. */
  | 'UnresolvedFunctionImport'
  /** The module has a start function, which would run guest code before the host can interpose. */
  | 'StartFunctionNotSupported'
  /** The module exports something named `memory` that is not a memory. */
  | 'MemoryIsntMemory'
  /** The module imports a memory under a name other than `env`.`memory`. */
  | 'MemoryNotNamedMemory'
  /** The module has no memory the host can reach, and `requireMemory` is on. */
  | 'NoMemory'
  /** The module has more than one memory. */
  | 'TwoMemories'
  /** The engine could not allocate the memory the module asks for. */
  | 'CouldntAllocateMemory'
  /** The module imports a table, a global or a tag; only functions and one memory can be imported. */
  | 'ImportTypeNotSupported'
  /**
   * `backend: 'jspi'` on an engine without JavaScript Promise Integration
   * (`WebAssembly.Suspending`/`promising`), or any backend on an engine that lacks what it needs
   * (Asyncify: multi-memory). Reported before any other work; the message names what is missing.
   */
  | 'BackendUnsupported'
  /**
   * The Asyncify transform could not run: its thread (a Worker) could not start or died before
   * it finished (out of memory; in a browser, a Content-Security-Policy without
   * `worker-src blob:`), or the engine has no threads at all. Says nothing about the module;
   * the next `create()` tries a new thread. JSPI and artifacts need no transform.
   */
  | 'TransformUnavailable';

/**
 * One reason {@link VirtualMachinePrototype.create} refused a module: a module that breaks
 * several rules is refused with all of them at once ({@link NewError.refusals}).
 */
export interface Refusal {
  /** Which rule is broken. */
  readonly kind: NewErrorKind;
  /** What is wrong, where, and how to allow it if an option does: a sentence for humans. */
  readonly message: string;
  /**
   * Where in the module, e.g. `function 25 (exported as "f")`, `the import "env"."mem"`, `the
   * start section`; `null` when it is about the module as a whole.
   */
  readonly where: string | null;
  /**
   * The `VmConfig` option that allows what is refused, e.g. `features: 'modern'` or
   * `startFunction: true`; `null` if no option does.
   */
  readonly allowedBy: string | null;
  /** For `UnresolvedFunctionImport`: the module name of the refused import. */
  readonly moduleName?: string;
  /** For `UnresolvedFunctionImport`: the field name of the refused import. */
  readonly functionName?: string;
}

/**
 * Thrown (as a rejected promise) by {@link VirtualMachinePrototype.create}. `refusals` lists
 * every rule the module breaks (the checks that can run on a refused module all run); `kind`,
 * `moduleName` and `functionName` are the first refusal's, and `message` is that refusal's
 * message when there is one, else a list of all of them.
 */
export class NewError extends VmError<NewErrorKind> {
  override readonly name = 'NewError';
  /** For `UnresolvedFunctionImport`: the module name of the refused import. */
  declare readonly moduleName?: string;
  /** For `UnresolvedFunctionImport`: the field name of the refused import. */
  declare readonly functionName?: string;
  /** Every reason the module was refused, in the order of the checks; at least one. */
  readonly refusals: readonly Refusal[];

  constructor(
    kind: NewErrorKind,
    message: string,
    details?: {
      readonly moduleName?: string;
      readonly functionName?: string;
      readonly where?: string | null;
      readonly allowedBy?: string | null;
      readonly cause?: unknown;
    },
  ) {
    super(kind, message, details?.cause);
    if (details?.moduleName !== undefined) this.moduleName = details.moduleName;
    if (details?.functionName !== undefined) this.functionName = details.functionName;
    const refusal: Refusal = { kind, message, where: details?.where ?? null, allowedBy: details?.allowedBy ?? null };
    if (details?.moduleName !== undefined) Object.assign(refusal, { moduleName: details.moduleName });
    if (details?.functionName !== undefined) Object.assign(refusal, { functionName: details.functionName });
    this.refusals = [Object.freeze(refusal)];
  }

  /** The error for `refusals` (at least one), see the class documentation. */
  static of(refusals: readonly Refusal[], cause?: unknown): NewError {
    const first = refusals[0];
    if (first === undefined) throw new TypeError('NewError.of needs at least one refusal');
    const message = refusals.length === 1 ? first.message : listRefusals(refusals);
    const error = new NewError(first.kind, message, {
      ...(first.moduleName === undefined ? {} : { moduleName: first.moduleName }),
      ...(first.functionName === undefined ? {} : { functionName: first.functionName }),
      cause,
    });
    (error as { refusals: readonly Refusal[] }).refusals = Object.freeze(refusals.map((r) => Object.freeze({ ...r })));
    return error;
  }
}

/**
 * The message of several refusals: one line each, except that identical lines (two imports of the
 * same name refused alike, say) are written once with their count; `refusals` keeps them all.
 */
function listRefusals(refusals: readonly Refusal[]): string {
  const counts = new Map<string, number>();
  for (const r of refusals) {
    const line = `${r.kind}: ${r.message}`;
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  const lines = [...counts].map(([line, count]) => `  - ${line}${count > 1 ? ` (${count} times)` : ''}`);
  return `the module is refused for ${refusals.length} reasons:\n${lines.join('\n')}`;
}

/** Why {@link Prepare.start} refused to start a call. */
export type StartErrorKind =
  /** No export has that name. */
  | 'FunctionNotFound'
  /** The export exists but is not a function. */
  | 'NotAFunction'
  /** The function's signature uses a type that cannot cross the boundary (f32/f64 without `floats`). */
  | 'SignatureNotSupported'
  /** The parameters do not match the function's signature in number, type or range. */
  | 'InvalidParameters'
  /**
   * The module's start function has not finished on this instance (`VmConfig.startFunction`):
   * run it first with `Prepare.callStartFunction()`; after it trapped, the instance can only be
   * replaced (`intoPrototype()`).
   */
  | 'StartFunctionPending'
  /** `Prepare.callStartFunction()` with no start function left to run: none, or it already ran. */
  | 'NoStartFunctionPending';

/** Why {@link VirtualMachine.run} refused to run. The machine stays usable after each of them. */
export type RunErrorKind =
  /** The call already finished or trapped; use `intoPrepare()` or `intoPrototype()`. */
  | 'Poisoned'
  /** The value's type is not the interrupted import's result type (or `null` was expected). */
  | 'BadValueType'
  /** The value has the right type but its payload is not a valid value of that type. */
  | 'InvalidValue'
  /**
   * `runToCompletion`: the call ran out of fuel (`VmConfig.fuel`) and its `onOutOfFuel` added
   * none (or there was none). The machine is paused out of fuel: `addFuel()` and run it again.
   */
  | 'OutOfFuel';

/** Thrown by {@link VirtualMachine.run}. */
export class RunError extends VmError<RunErrorKind> {
  override readonly name = 'RunError';
  /** For `BadValueType` and `InvalidValue`: the type the guest expects (`null`: no value). */
  declare readonly expected?: ValueType | null;
  /**
   * For `BadValueType` and `InvalidValue`: the type of the value that was passed (`null`: none;
   * absent: not a `WasmValue` at all).
   */
  declare readonly obtained?: ValueType | null;

  constructor(kind: RunErrorKind, message: string, types?: { expected: ValueType | null; obtained?: ValueType | null }) {
    super(kind, message);
    if (types !== undefined) {
      this.expected = types.expected;
      // Absent when what was passed is not a WasmValue at all.
      if ('obtained' in types) this.obtained = types.obtained;
    }
  }
}

/** Why {@link VirtualMachinePrototype.globalValue} failed. */
export type GlobalValueErrorKind =
  /** No export of that name is a global. */
  | 'NotFound'
  /** The exported global is not an `i32`. */
  | 'Invalid';

/** Thrown by {@link VirtualMachinePrototype.globalValue}. */
export class GlobalValueError extends VmError<GlobalValueErrorKind> {
  override readonly name = 'GlobalValueError';
}

/**
 * Thrown by the memory accessors when a range is outside the memory, when an offset or size is
 * not a non-negative integer, or when growing would pass the memory's maximum.
 */
export class OutOfBoundsError extends VmError<'OutOfBounds'> {
  override readonly name = 'OutOfBoundsError';
  constructor(message: string) {
    super('OutOfBounds', message);
  }
}

/** How the API was misused. */
export type UsageErrorKind =
  /** The object was consumed by a state transition; use the object that transition returned. */
  | 'Consumed'
  /** `intoPrepare()` was called while the call is still running (not finished or trapped). */
  | 'CallInProgress'
  /** An argument has the wrong shape (e.g. `moduleBytes` is not a `Uint8Array`). */
  | 'InvalidArgument'
  /** `run()` on a JSPI machine, whose resume is always asynchronous: use `runAsync()`. */
  | 'SynchronousRunUnsupported'
  /**
   * A step of the call is still running: a `runAsync()` whose promise has not settled (or a
   * `run()` entered again from inside one of its own inline imports). Await it first; memory
   * access stays allowed.
   */
  | 'StepInProgress'
  /**
   * The operation does not exist on this prototype's backend (`toArtifact()` on JSPI, whose
   * module has no transform to save; `snapshot()` and `fork()` on JSPI, whose paused stack is
   * the engine's and cannot be copied: journal the call and `replay` it instead).
   */
  | 'UnsupportedOnBackend'
  /** `snapshot()` or `fork()` while the call is not paused at an interrupt (it has not started, or it ended). */
  | 'NotInterrupted'
  /** `journal()` on a machine whose prototype was created without `VmConfig.journal`. */
  | 'NotJournaled'
  /**
   * A fuel operation (a budget given to `start()`, `addFuel()`, `fuelConsumed`) on a prototype
   * created without `VmConfig.fuel`.
   */
  | 'FuelNotEnabled'
  /**
   * A synchronous transition that needs a new instance (`clone()`, or `intoPrototype()` when the
   * used instance cannot be reset) was refused by the engine's limit on synchronous
   * instantiation: Chromium allows `new WebAssembly.Instance` on a page's main thread only for
   * modules of at most 8 MB. Nothing was consumed: use the asynchronous form (`cloneAsync()`,
   * `intoPrototypeAsync()`), which every engine allows on every thread, or run in a Worker.
   */
  | 'SynchronousInstantiationRefused'
  /**
   * The API needs what this JavaScript environment does not have: `FileArtifactCache` (a file
   * system) in a browser bundle, where `resumable-wasm/node` resolves to a stand-in so that code
   * meant for both still bundles.
   */
  | 'UnsupportedEnvironment';

/** Thrown when an object is used in a way its current state does not allow. */
export class UsageError extends VmError<UsageErrorKind> {
  override readonly name = 'UsageError';
}

/** Why an artifact was refused (see {@link VirtualMachinePrototype.fromArtifact}). */
export type ArtifactErrorKind =
  /** Not an artifact, truncated, or its checksum does not match its bytes. */
  | 'Corrupted'
  /** Made by another version of this library (or of its artifact format). */
  | 'VersionMismatch'
  /** Made from another module than the `moduleBytes` given. */
  | 'ModuleMismatch'
  /**
   * Made with other options (features, floats, requireMemory, unwindBufferPages, the transform
   * itself) or with another split between inline and pausing imports.
   */
  | 'OptionsMismatch';

/** Thrown (as a rejected promise) by {@link VirtualMachinePrototype.fromArtifact}. Nothing is run. */
export class ArtifactError extends VmError<ArtifactErrorKind> {
  override readonly name = 'ArtifactError';
}

/** Why a snapshot or a journal was refused (see {@link SnapshotError}). */
export type SnapshotErrorKind =
  /** Not a snapshot (or journal) of this library, truncated, or its checksum does not match its bytes. */
  | 'Corrupted'
  /** Made by another version of this library or of its snapshot (journal) format. */
  | 'VersionMismatch'
  /** Made from another module than the prototype's. */
  | 'ModuleMismatch'
  /**
   * Made with other options (features, floats, memory cap, unwind buffer, the transform) or with
   * imports resolved otherwise (another inline/pausing split, other ids) than the prototype's.
   */
  | 'OptionsMismatch'
  /**
   * Replaying a journal, the guest did something else than the journal says (another import,
   * other arguments, an end where it paused): {@link SnapshotError.step} names the step.
   */
  | 'JournalMismatch'
  /**
   * The machine holds state a snapshot cannot carry: a module that can change its tables or drop
   * its segments (bulk memory, reference types), or a global holding a reference.
   */
  | 'Unsupported';

/**
 * Thrown (or a rejection) by `VirtualMachine.restore`, `VirtualMachine.replay`,
 * `vm.snapshot()` and `vm.fork()` for what a snapshot or journal cannot be: bytes that are not
 * one of this library's, corrupted or truncated, made for another module, another version or
 * other options, a journal the guest does not follow, or a state a snapshot cannot carry. A
 * refused snapshot or journal is never run.
 */
export class SnapshotError extends VmError<SnapshotErrorKind> {
  override readonly name = 'SnapshotError';
  /**
   * For `JournalMismatch`: the step of the journal at which the guest went another way (1 for
   * the first step of the first call, counting every start and every resume).
   */
  declare readonly step?: number;

  constructor(kind: SnapshotErrorKind, message: string, details?: { readonly step?: number; readonly cause?: unknown }) {
    super(kind, message, details?.cause);
    if (details?.step !== undefined) this.step = details.step;
  }
}

/** What kind of fault stopped the guest. */
export type TrapKind =
  /** The guest executed `unreachable`. */
  | 'Unreachable'
  /**
   * A load, a store or a bulk memory operation (`memory.copy`, `memory.fill`, `memory.init`)
   * outside the guest's memory, or `memory.init` past the end of its data segment.
   */
  | 'MemoryOutOfBounds'
  /** Integer division or remainder by zero. */
  | 'DivisionByZero'
  /** Signed integer division overflow (`INT_MIN / -1`). */
  | 'IntegerOverflow'
  /** A float-to-integer conversion of NaN or of a value outside the integer's range. */
  | 'InvalidConversion'
  /**
   * An index past the end of a table: `call_indirect`, and with bulk memory and reference types
   * `table.get`/`set`/`fill`/`copy`/`init` (also `table.init` past the end of its element segment).
   */
  | 'UndefinedElement'
  /**
   * `call_indirect` through an empty table slot, or to a function of another type. Engines
   * report both the same way, so they cannot be told apart.
   */
  | 'IndirectCallMismatch'
  /** The call stack was too deep: for the engine, or for the buffer that holds a paused stack. */
  | 'StackExhausted'
  /**
   * The call's guest frames would have passed the logical stack limit
   * (`VmConfig.maxStackHeight`): deterministic, at the same depth on every backend and engine,
   * unlike `StackExhausted`, which is the engine's own limit.
   */
  | 'StackLimitExceeded'
  /**
   * An inline host function (`VmConfig.inlineImports`) threw, or returned a value that is not of
   * the import's result type. The trap's `cause` is the error.
   */
  | 'HostFunction'
  /** A fault the engine reported in a way this library does not recognise. */
  | 'Other';

/**
 * One guest frame of a trap's backtrace ({@link Trap.frames}), innermost first: the function
 * and, where the module says, the source position.
 */
export interface GuestFrame {
  /** The function's index in the guest's own module (imports first), whatever the backend ran. */
  readonly functionIndex: number;
  /** Its name from the module's `name` section (Rust symbols demangled), or `null`. */
  readonly functionName: string | null;
  /**
   * The byte offset, in the guest's own module, of the instruction: the one that trapped in the
   * innermost frame, the call in the others. `null` where it is not known (on Asyncify, for a
   * module without DWARF line tables: see `docs/features.md`).
   */
  readonly offset: number | null;
  /** The source file, from the module's DWARF line tables (`.debug_line`), or `null`. */
  readonly file: string | null;
  /** The 1-based source line, from the DWARF line tables, or `null`. */
  readonly line: number | null;
  /** The 1-based source column, or `null`. */
  readonly column: number | null;
}

/** How a trap's frames are worked out, once, when first asked for. */
const frameResolvers = new WeakMap<Trap, () => readonly GuestFrame[]>();

/**
 * A guest fault: the `trap` of a `{ type: 'trapped' }` outcome. Never thrown by this library.
 * `cause` holds the engine's original error.
 */
export class Trap extends VmError<TrapKind> {
  override readonly name = 'Trap';
  #frames: readonly GuestFrame[] | null = null;

  /**
   * The guest's frames when it trapped, innermost first: the function (its index in the guest's
   * own module and its name), and, where the module has DWARF line tables, the file and line.
   * Worked out from the engine's stack trace when first read, so it holds as many frames as the
   * engine records (`Error.stackTraceLimit` in V8, 10 by default: raise it to see deeper). Empty
   * for a trap with no guest frame (e.g. the engine failed to switch stacks).
   */
  get frames(): readonly GuestFrame[] {
    if (this.#frames === null) {
      const resolve = frameResolvers.get(this);
      let frames: readonly GuestFrame[] = [];
      try {
        frames = resolve === undefined ? [] : resolve();
      } catch {
        // A backtrace is a diagnostic: an unreadable stack or debug section gives none.
      }
      this.#frames = Object.freeze(frames.map((f) => Object.freeze({ ...f })));
    }
    return this.#frames;
  }
}

/** @internal Sets how `trap.frames` is worked out (the VM does, for every trap it reports). */
export function attachFrames(trap: Trap, resolve: () => readonly GuestFrame[]): Trap {
  frameResolvers.set(trap, resolve);
  return trap;
}
