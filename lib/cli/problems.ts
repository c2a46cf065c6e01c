/**
 * The CLI's own failures: what went wrong before the library was even asked. Each class is one
 * kind of failure with its own exit status (see `exit-status.ts`), so that a script calling
 * `resumable-wasm` can tell a mistyped command line from a missing file from a file that holds
 * something else than a module, without parsing messages.
 *
 * The library's errors (`VmError` and its subclasses) are not wrapped: they already say what
 * was refused, and `exit-status.ts` maps their classes to statuses too.
 *
 * @module
 */

/** The commands, for errors that point at one command's usage. */
export type CommandName = 'inspect' | 'run' | 'call' | 'prepare';

/**
 * A command line that cannot be understood: an unknown command or option, a missing or
 * malformed argument. The CLI prints it with the short usage of `command` (or of every command
 * when it is not known), not the whole help: the help is one `--help` away.
 */
export class UsageProblem extends Error {
  override readonly name = 'UsageProblem';
  constructor(
    message: string,
    /** The command whose usage line to show, if the command was understood. */
    readonly command?: CommandName,
  ) {
    super(message);
  }
}

/** A file that cannot be read or written (missing, a folder, no permission, disk full). */
export class FileProblem extends Error {
  override readonly name = 'FileProblem';
}

/**
 * A file that was read but does not hold what the command needs: JSON that is neither a chain
 * spec nor a storage object, hex that is not hex. (A file that is not WebAssembly is refused by
 * the library's own checks, as `NewError(InvalidWasm)`.)
 */
export class InputProblem extends Error {
  override readonly name = 'InputProblem';
}
