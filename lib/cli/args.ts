/**
 * Command-line parsing for the `resumable-wasm` CLI: positional arguments and `--name value`
 * (or `--name=value`) options, checked against what each command declares. Small on purpose:
 * the CLI has two commands and a handful of options, and no dependency is worth that.
 *
 * @module
 */

/** Thrown for a command line that cannot be understood; the CLI prints it with the usage. */
export class UsageProblem extends Error {
  override readonly name = 'UsageProblem';
}

/** What a command accepts: which options take a value, and which are flags. */
export interface OptionSpec {
  readonly values: readonly string[];
  readonly flags: readonly string[];
}

/** A parsed command line. */
export interface ParsedArgs {
  readonly positional: readonly string[];
  readonly values: ReadonlyMap<string, string>;
  readonly flags: ReadonlySet<string>;
}

/** Splits `argv` (without the program and command names) according to `spec`. */
export function parseArgs(argv: readonly string[], spec: OptionSpec): ParsedArgs {
  const positional: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (/^-[a-zA-Z]$/.test(arg) && spec.values.includes(arg.slice(1))) {
      // A one-letter option with a value, as in `-o file`.
      const value = argv[++i];
      if (value === undefined) throw new UsageProblem(`${arg} needs a value`);
      values.set(arg.slice(1), value);
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positional.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    if (spec.flags.includes(name)) {
      if (equals !== -1) throw new UsageProblem(`--${name} takes no value`);
      flags.add(name);
    } else if (spec.values.includes(name)) {
      const value = equals === -1 ? argv[++i] : arg.slice(equals + 1);
      if (value === undefined) throw new UsageProblem(`--${name} needs a value`);
      values.set(name, value);
    } else {
      throw new UsageProblem(`unknown option --${name}`);
    }
  }
  return { positional, values, flags };
}

/** The option `name` as a non-negative integer, or `undefined` if absent. */
export function integerOption(args: ParsedArgs, name: string): number | undefined {
  const raw = args.values.get(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new UsageProblem(`--${name} must be a non-negative integer, got ${raw}`);
  return value;
}
