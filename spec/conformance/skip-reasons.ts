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
  | 'non-i32-global'
  | 'multi-result-call'
  | 'reference-value-call';

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
  'multi-result-call':
    'calls an export with several results (multi-value): the host cannot call such a function (the refusal, StartError SignatureNotSupported, is checked); the guest calls them inside freely',
  'reference-value-call':
    'calls an export with a funcref/externref parameter or result (reference types): such values cannot cross the public API (the refusal, StartError SignatureNotSupported, is checked)',
};

/** Every skip class, in report order. */
export const ALL_SKIP_REASONS = Object.keys(SKIP_REASONS) as SkipReason[];

/**
 * The obsolete expectations, by suite, script name and `.wast` line: a "long" zero LEB in the
 * memory index of memory.size/grow, now read as a (multi-memory) memory index, and an
 * unreachable-code typing rule relaxed later. The MVP suite's are listed in its README; the
 * proposal suites repeat them (bulk memory and reference types at other lines; each was checked
 * against the `.wast` source).
 */
const OBSOLETE: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>> = {
  mvp: {
    binary: [163, 183, 202, 221, 260, 279, 297, 315],
    'unreached-invalid': [539],
  },
  'bulk-memory-operations': { binary: [169, 189, 208, 227, 266, 285, 303, 321] },
  'multi-value': { binary: [163, 183, 202, 221, 260, 279, 297, 315] },
  'sign-extension-ops': {},
  'nontrapping-float-to-int-conversions': {},
  'reference-types': { binary: [757, 777, 796, 815, 854, 873, 891, 909], 'unreached-invalid': [540] },
};

/**
 * `true` if the command at `line` of the script at `scriptPath` is an obsolete expectation. The
 * suite is the script's folder: a proposal suite's name, else the MVP suite.
 */
export function isObsolete(scriptPath: string, line: number): boolean {
  // The last two parts of the path, split by hand: this also runs in browsers (no node:path).
  const parts = scriptPath.split(/[\\/]/);
  const folder = parts[parts.length - 2] ?? '';
  const script = (parts[parts.length - 1] ?? '').replace(/\.json$/, '');
  return (OBSOLETE[folder] ?? OBSOLETE['mvp']!)[script]?.includes(line) ?? false;
}
