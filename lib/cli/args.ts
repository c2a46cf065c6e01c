/**
 * Command-line parsing for the `resumable-wasm` CLI, on Node's own `util.parseArgs`: positional
 * arguments, `--name value` or `--name=value` options, one-letter aliases (`-o file`), and `--`
 * to end the options. What this file adds is the part `parseArgs` leaves to its caller: a
 * declaration of what each command accepts, and messages short enough for one line (Node's say
 * how to quote a positional that starts with a dash, in three sentences).
 *
 * @module
 */

import { parseArgs } from 'node:util';
import { type CommandName, UsageProblem } from './problems.js';

/** What a command accepts: options that take a value, and flags (options without one). */
export interface OptionSpec {
  /** Options that take a value, by long name. */
  readonly values: readonly string[];
  /** Options without a value, by long name. `help` is added to every command. */
  readonly flags: readonly string[];
  /** One-letter aliases: `{ o: 'output' }` makes `-o file` mean `--output file`. */
  readonly short?: Readonly<Record<string, string>>;
}

/** A parsed command line. */
export interface ParsedArgs {
  readonly positional: readonly string[];
  /** Options with a value, by long name; the last occurrence wins. */
  readonly values: ReadonlyMap<string, string>;
  /** Flags that were given, by long name. */
  readonly flags: ReadonlySet<string>;
}

/** The `code` Node gives each kind of `parseArgs` failure. */
interface ParseArgsError extends TypeError {
  readonly code?: string;
}

/**
 * Splits `argv` (without the program and command names) according to `spec`. Throws
 * {@link UsageProblem}, naming `command`, for an unknown option, an option without its value or
 * a flag given one.
 */
export function parseCommandLine(argv: readonly string[], spec: OptionSpec, command?: CommandName): ParsedArgs {
  type Option = { type: 'string' | 'boolean'; short?: string };
  const options: Record<string, Option> = { help: { type: 'boolean', short: 'h' } };
  for (const name of spec.values) options[name] = { type: 'string' };
  for (const name of spec.flags) options[name] = { type: 'boolean' };
  for (const [letter, name] of Object.entries(spec.short ?? {})) {
    if (options[name] === undefined) throw new TypeError(`the alias -${letter} names no option of the spec (--${name})`);
    options[name] = { ...options[name], short: letter };
  }

  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageProblem(reword(e as ParseArgsError), command);
  }
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === 'string') values.set(name, value);
    else if (value === true) flags.add(name);
  }
  return { positional: parsed.positionals, values, flags };
}

/** A `parseArgs` error in a few words, for one line after `error:`. */
function reword(error: ParseArgsError): string {
  // Node quotes the option as it was written ('--storage', '-x', '--storage <value>').
  const option = /'(-[^' ]+)/.exec(error.message)?.[1];
  if (option !== undefined) {
    if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
    if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (/does not take an argument/.test(error.message)) return `${option} takes no value`;
      if (/ambiguous/.test(error.message)) return `${option} needs a value (write ${option}=<value> for a value that starts with "-")`;
      return `${option} needs a value`;
    }
  }
  // A wording this Node does not use yet: its first sentence is still one line.
  return error.message.split('\n')[0]!;
}

/** The option `name` as a non-negative integer, or `undefined` if absent. */
export function integerOption(args: ParsedArgs, name: string, command?: CommandName): number | undefined {
  const raw = args.values.get(name);
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value)) throw new UsageProblem(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`, command);
  return value;
}
