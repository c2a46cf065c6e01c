/**
 * The classes of commands the harness does not run, each with the reason why. Every skipped
 * command is counted under exactly one of them, so that nothing is dropped silently; the Jest
 * test checks that no other class appears.
 *
 * @module
 */

/** A class of skipped commands. */
export type SkipReason =
  | 'text-module'
  | 'spectest-import'
  | 'linking'
  | 'start-function'
  | 'obsolete'
  | 'non-i32-global';

/** Why each class is skipped, for the report. */
export const SKIP_REASONS: Readonly<Record<SkipReason, string>> = {
  'text-module':
    'module in the text format (assert_malformed of a .wat file): the VM only takes binaries, and a parser of the text format is not part of it',
  'spectest-import':
    'imports a spectest global, table or memory: the VM can only import functions and "env"."memory" (the refusal is checked), so the module and the commands on it cannot run',
  linking:
    'register or cross-module linking (a module importing from a registered module, and the commands on a module another one links to): one VM instance cannot link to another',
  'start-function':
    'module with a start function: the VM refuses start functions by design (the refusal, NewError StartFunctionNotSupported, is checked), so the commands on it cannot run',
  obsolete:
    'obsolete expectation listed in the suite README: a later, ratified proposal made engines accept it',
  'non-i32-global':
    'reads an exported global that is not an i32: the public API reads i32 globals only (globalValue)',
};

/** Every skip class, in report order. */
export const ALL_SKIP_REASONS = Object.keys(SKIP_REASONS) as SkipReason[];

/**
 * The obsolete expectations of the suite README, by script name and `.wast` line: a "long" zero
 * LEB in the memory index of memory.size/grow, now read as a (multi-memory) memory index, and an
 * unreachable-code typing rule relaxed later.
 */
const OBSOLETE: Readonly<Record<string, readonly number[]>> = {
  binary: [163, 183, 202, 221, 260, 279, 297, 315],
  'unreached-invalid': [539],
};

/** `true` if the command of `script` at `line` is one of the README's obsolete expectations. */
export function isObsolete(script: string, line: number): boolean {
  return OBSOLETE[script]?.includes(line) ?? false;
}
