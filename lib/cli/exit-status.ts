/**
 * How the CLI ends: one exit status per kind of failure, and the one line that says what went
 * wrong. Whatever the input, the CLI never prints a stack trace: a script reads the status, a
 * person reads the line. The table below is printed by `--help` and repeated in the README;
 * the status numbers are part of the CLI's contract.
 *
 * @module
 */

import { ArtifactError, NewError, UsageError, VmError } from '../base/errors.js';
import { StartError } from '../index.js';
import { RuntimeCallError } from '../substrate/index.js';
import { FileProblem, InputProblem, UsageProblem } from './problems.js';

/** The exit statuses, by meaning. */
export const ExitStatus = {
  /** Done (for `inspect`: also a module the VM refuses; the report says why). */
  Ok: 0,
  /** `run`, `call`: the module was accepted but the call failed (trap, panic, no such entry point or export, ...). */
  CallFailed: 1,
  /** The command line could not be understood. */
  Usage: 2,
  /** A file could not be read or written. */
  File: 3,
  /** An input is not usable: not WebAssembly, truncated, refused by the VM, not a Substrate runtime, ... */
  Input: 4,
  /** `run --artifact`: the artifact is not one of this runtime with these options. */
  Artifact: 5,
  /** This JavaScript engine cannot run the VM. */
  Engine: 6,
  /** A bug in resumable-wasm: an error it does not know. */
  Internal: 70,
} as const;

/** One of {@link ExitStatus}'s values. */
export type ExitStatusCode = (typeof ExitStatus)[keyof typeof ExitStatus];

/** The exit statuses with what each means, for `--help` (and the README, which a test keeps equal). */
export const EXIT_STATUS_TABLE: readonly (readonly [ExitStatusCode, string])[] = [
  [ExitStatus.Ok, 'success; for inspect, also a module the VM refuses (the report says why)'],
  [
    ExitStatus.CallFailed,
    'run, call: the call failed (trap, panic, no such entry point or export, a host function not served, ' +
      'more interrupts than call --max-interrupts)',
  ],
  [
    ExitStatus.Usage,
    "the command line is wrong: unknown command or option, missing or malformed argument, call arguments that do not fit the export's signature",
  ],
  [ExitStatus.File, 'a file cannot be read or written'],
  [
    ExitStatus.Input,
    'the input is not usable: not WebAssembly, truncated, bad runtime code or chain spec, refused by the VM, ' +
      'not a Substrate runtime (no __heap_base), no readable runtime version',
  ],
  [ExitStatus.Artifact, 'run --artifact: not an artifact of this runtime with these options (or corrupted, or from another version)'],
  [ExitStatus.Engine, 'this JavaScript engine cannot run the VM (NewError BackendUnsupported)'],
  [ExitStatus.Internal, 'a bug in resumable-wasm (set RESUMABLE_WASM_DEBUG=1 to see the stack)'],
];

/** How the CLI ends after `error`: its exit status and the line to print on stderr. */
export interface Failure {
  readonly status: ExitStatusCode;
  /** One line, starting with `error:`. */
  readonly line: string;
  /** Whether the command's short usage should follow the line. */
  readonly showUsage: boolean;
}

/** The exit status and the one line for `error`, whatever was thrown. */
export function failureOf(error: unknown): Failure {
  if (error instanceof UsageProblem) return { status: ExitStatus.Usage, line: `error: ${oneLine(error.message)}`, showUsage: true };
  if (error instanceof FileProblem) return { status: ExitStatus.File, line: `error: ${oneLine(error.message)}`, showUsage: false };
  if (error instanceof InputProblem) return { status: ExitStatus.Input, line: `error: ${oneLine(error.message)}`, showUsage: false };
  if (error instanceof VmError) {
    const status = statusOfLibraryError(error);
    return { status, line: `error: ${describeWithCauses(error)}`, showUsage: status === ExitStatus.Usage };
  }
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return {
    status: ExitStatus.Internal,
    line: `error: internal error, please report it: ${oneLine(what)} (set RESUMABLE_WASM_DEBUG=1 for the stack)`,
    showUsage: false,
  };
}

function statusOfLibraryError(error: VmError): ExitStatusCode {
  if (error instanceof RuntimeCallError) return ExitStatus.CallFailed;
  // `call`'s export, as `run`'s entry point: not there is a failed call; arguments that do not
  // fit it are a wrong command line.
  if (error instanceof StartError) {
    if (error.kind === 'FunctionNotFound' || error.kind === 'NotAFunction') return ExitStatus.CallFailed;
    if (error.kind === 'InvalidParameters') return ExitStatus.Usage;
  }
  if (error instanceof ArtifactError) return ExitStatus.Artifact;
  // A value the library refused as an argument came from the command line (e.g. --heap-pages).
  if (error instanceof UsageError) return ExitStatus.Usage;
  // The kind of the engine check (see DESIGN.md); compared as a string so that this file does
  // not depend on when the kind joins NewErrorKind.
  if (error instanceof NewError && (error.kind as string) === 'BackendUnsupported') return ExitStatus.Engine;
  // NewError, RuntimeCodeError, SubstrateRuntimeError, RuntimeVersionError, MetadataError: the
  // input is not something the library can host.
  return ExitStatus.Input;
}

/** `Name(kind): message`, followed by each cause whose message the line does not already hold. */
function describeWithCauses(error: VmError): string {
  let line = `${error.name}(${error.kind}): ${error.message}`;
  let cause = error.cause;
  while (cause instanceof Error) {
    if (!line.includes(cause.message)) line += `; caused by ${cause.name}${cause instanceof VmError ? `(${cause.kind})` : ''}: ${cause.message}`;
    cause = cause.cause;
  }
  return oneLine(line);
}

/** `text` with its line breaks (an engine's message, a JSON parser's) turned into spaces. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
