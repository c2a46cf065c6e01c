/**
 * The shape of a wast2json script: the JSON file `wast2json` writes for one `.wast` file of the
 * WebAssembly spec test-suite, and how to read one.
 *
 * Only the fields the 2019 MVP suite uses are typed; `wast2json` (wabt 1.0.32) writes every
 * integer as an unsigned decimal string and every float as the decimal string of its bit
 * pattern, so nothing is lost in JSON's doubles.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** One argument or expected result. `value` is absent in the result types of `assert_trap`. */
export interface ScriptValue {
  readonly type: 'i32' | 'i64' | 'f32' | 'f64';
  /** Unsigned decimal (integers), decimal bit pattern (floats), or `nan:canonical` / `nan:arithmetic`. */
  readonly value?: string;
}

/** Calling an export, or reading an exported global. `module` names a `$name`d module; absent: the latest module. */
export type Action =
  | { readonly type: 'invoke'; readonly module?: string; readonly field: string; readonly args: readonly ScriptValue[] }
  | { readonly type: 'get'; readonly module?: string; readonly field: string };

/** Fields every command has. */
interface CommandBase {
  /** The line of the command in the original `.wast` file: what a failure report points at. */
  readonly line: number;
}

/** Defines a module, which becomes the latest module (and `name`, if given). */
export interface ModuleCommand extends CommandBase {
  readonly type: 'module';
  readonly filename: string;
  readonly name?: string;
}

/** Makes a module's exports importable under the module name `as`. */
export interface RegisterCommand extends CommandBase {
  readonly type: 'register';
  readonly as: string;
  /** The `$name` of the registered module; absent: the latest module. */
  readonly name?: string;
}

/** Runs an action whose result is ignored (it must not trap). */
export interface ActionCommand extends CommandBase {
  readonly type: 'action';
  readonly action: Action;
}

/** Runs an action and compares its results with `expected`. */
export interface AssertReturnCommand extends CommandBase {
  readonly type: 'assert_return';
  readonly action: Action;
  readonly expected: readonly ScriptValue[];
}

/** Runs an action that must trap (`assert_trap`) or exhaust the call stack (`assert_exhaustion`) with `text`. */
export interface AssertTrapCommand extends CommandBase {
  readonly type: 'assert_trap' | 'assert_exhaustion';
  readonly action: Action;
  readonly text: string;
}

/** The kinds of command whose module must be refused. */
export type RefusalType = 'assert_invalid' | 'assert_malformed' | 'assert_unlinkable' | 'assert_uninstantiable';

/** A module that must be refused, for the reason `text`. */
export interface AssertRefusalCommand extends CommandBase {
  readonly type: RefusalType;
  readonly filename: string;
  readonly text: string;
  /** `text` modules are `.wat` files that must fail to parse; the VM only takes binaries. */
  readonly module_type: 'binary' | 'text';
}

/** Any command of a script. */
export type Command =
  | ModuleCommand
  | RegisterCommand
  | ActionCommand
  | AssertReturnCommand
  | AssertTrapCommand
  | AssertRefusalCommand;

/**
 * A parsed script: its name (the `.json` file's base name without extension), its commands, and
 * the module files they name. Nothing in it needs a file system once made: the browser tests
 * make scripts from data (`spec/browser/conformance.ts`).
 */
export interface Script {
  readonly name: string;
  /** The `.json` file, absolute (in a browser: the path it had where it was read). */
  readonly path: string;
  readonly sourceFilename: string;
  readonly commands: readonly Command[];
  /** The bytes of the module file `filename` that a command names. */
  readonly module: (filename: string) => Uint8Array;
}

/** Reads and parses the wast2json script at `path`. The module files it names sit next to it. */
export function loadScript(path: string): Script {
  const json = JSON.parse(readFileSync(path, 'utf8')) as { source_filename: string; commands: Command[] };
  return {
    name: basename(path, '.json'),
    path,
    sourceFilename: json.source_filename,
    commands: json.commands,
    // The API takes a Uint8Array: pass exactly that, not Node's Buffer subclass.
    module: (filename) => new Uint8Array(readFileSync(join(dirname(path), filename))),
  };
}
