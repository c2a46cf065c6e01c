/**
 * What counts as a correct answer from the library, and the violations the harness reports.
 *
 * The documented contract (`lib/errors.ts`, `DESIGN.md`): `create()` rejects with a
 * {@link NewError} of a documented kind, or with a {@link UsageError} `InvalidArgument` for a
 * malformed config, and with nothing else; `run()` returns `interrupted`, `finished` or
 * `trapped`, with a {@link Trap} of a documented kind, and never throws for a guest fault.
 * Anything else — a `TypeError`, a `WebAssembly.CompileError`, a Binaryen abort, a non-Error
 * value, a `NewError` with a made-up kind — is an engine or implementation error leaking out
 * of the library, and is a violation.
 *
 * @module
 */

import { NewError, type NewErrorKind, Trap, type TrapKind, UsageError, VmError } from '../../lib/index.js';

/** Every documented `NewError` kind. */
export const NEW_ERROR_KINDS: readonly NewErrorKind[] = [
  'InvalidWasm',
  'Instantiation',
  'UnresolvedFunctionImport',
  'StartFunctionNotSupported',
  'MemoryIsntMemory',
  'MemoryNotNamedMemory',
  'NoMemory',
  'TwoMemories',
  'CouldntAllocateMemory',
  'ImportTypeNotSupported',
];

/** Every documented trap kind. */
export const TRAP_KINDS: readonly TrapKind[] = [
  'Unreachable',
  'MemoryOutOfBounds',
  'DivisionByZero',
  'IntegerOverflow',
  'InvalidConversion',
  'UndefinedElement',
  'IndirectCallMismatch',
  'StackExhausted',
  'HostFunction',
  'Other',
];

/** Kinds of violation; each is a failure of the harness's property. */
export type ViolationType =
  /** Something other than a documented error escaped a public method. */
  | 'leaked-exception'
  /** A documented error class, but the wrong one for the situation, or malformed (kind, message, fields). */
  | 'wrong-error'
  /** A public method returned something outside its contract. */
  | 'bad-result'
  /** A phase did not finish within its time bound. */
  | 'timeout'
  /** The worker process died. */
  | 'crash'
  /** After this case, a known-good module no longer works in the same process. */
  | 'poisoned-process'
  /** The cheap prediction of `create()`'s path disagreed with `create()` itself. */
  | 'predictor-mismatch';

/** A violation of the harness's property. */
export interface Violation {
  readonly type: ViolationType;
  /** Which step: `create`, `globalValue`, `start "name"`, `run "name"`, ... */
  readonly where: string;
  readonly message: string;
}

/** Thrown inside the harness to abort a case with a violation. */
export class ViolationError extends Error {
  constructor(readonly violation: Violation) {
    super(`${violation.type} in ${violation.where}: ${violation.message}`);
  }
}

/** Throws a {@link ViolationError}. */
export function violate(type: ViolationType, where: string, message: string): never {
  throw new ViolationError({ type, where, message });
}

/** A short description of any thrown value: its class (or type) and message. */
export function describeThrown(error: unknown): string {
  if (error instanceof Error) {
    const kind = (error as { kind?: unknown }).kind;
    return `${error.constructor?.name ?? 'Error'}${typeof kind === 'string' ? `(${kind})` : ''}: ${error.message.slice(0, 300)}`;
  }
  let text: string;
  try {
    text = String(error);
  } catch {
    text = Object.prototype.toString.call(error);
  }
  return `non-Error ${typeof error}: ${text.slice(0, 300)}`;
}

/** The outcome label of a refused `create()`. */
export type RefusalLabel = `refused:${NewErrorKind}` | `usage:${UsageError['kind']}`;

/**
 * Judges what `create()` threw: the label of a correct refusal, or a thrown violation.
 * `malformed`: the config was deliberately malformed, so only `UsageError('InvalidArgument')` is right.
 */
export function judgeCreateError(error: unknown, malformed: boolean): RefusalLabel {
  if (!(error instanceof VmError)) violate('leaked-exception', 'create', describeThrown(error));
  if (typeof error.message !== 'string' || error.message.length === 0) violate('wrong-error', 'create', `${error.name} with an empty message`);
  if (malformed) {
    if (error instanceof UsageError && error.kind === 'InvalidArgument') return 'usage:InvalidArgument';
    violate('wrong-error', 'create', `a malformed config must give UsageError(InvalidArgument), got ${describeThrown(error)}`);
  }
  if (!(error instanceof NewError)) violate('wrong-error', 'create', `a well-formed config must give a NewError, got ${describeThrown(error)}`);
  if (!NEW_ERROR_KINDS.includes(error.kind)) violate('wrong-error', 'create', `undocumented NewError kind ${String(error.kind)}`);
  if (error.kind === 'UnresolvedFunctionImport' && (typeof error.moduleName !== 'string' || typeof error.functionName !== 'string')) {
    violate('wrong-error', 'create', 'UnresolvedFunctionImport without moduleName/functionName');
  }
  return `refused:${error.kind}`;
}

/** Checks that a trap is a documented {@link Trap}. */
export function checkTrap(trap: unknown, where: string): TrapKind {
  if (!(trap instanceof Trap)) violate('bad-result', where, `the trap is not a Trap: ${describeThrown(trap)}`);
  if (!TRAP_KINDS.includes(trap.kind)) violate('bad-result', where, `undocumented trap kind ${String(trap.kind)}`);
  if (trap.message.length === 0) violate('bad-result', where, 'a trap with an empty message');
  return trap.kind;
}
