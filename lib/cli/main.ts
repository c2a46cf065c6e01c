#!/usr/bin/env node
/**
 * The `resumable-wasm` command.
 *
 * ```text
 * resumable-wasm inspect <module-file> [--json] [--features f] [module options]
 * resumable-wasm run <runtime-file> <entry-point> [hex-input] [options]
 * resumable-wasm call <module-file> <export> [args...] [options]
 * resumable-wasm prepare <module-file> -o <artifact-file> [--heap-pages n] [--plain]
 * resumable-wasm [<command>] --help | --version
 * ```
 *
 * Whatever the input, a failure ends with one line on stderr saying what is wrong and an exit
 * status per kind of failure (`exit-status.ts`; `--help` lists them); never a stack trace. An
 * argument error adds the command's one-line synopsis, not the whole help.
 *
 * **Layer `cli/`**: the top of the library; it may import any layer.
 *
 * @module
 */

import { type OptionSpec, parseCommandLine } from './args.js';
import { CALL_OPTIONS, callCommand } from './call.js';
import { Trap } from '../base/errors.js';
import { backtraceLines, failureExportNames } from './format.js';
import { requireEngine } from './engine-check.js';
import { ExitStatus, type ExitStatusCode, failureOf } from './exit-status.js';
import { inspectModule, printInspectReport } from './inspect.js';
import { readInputFile } from './input-file.js';
import { MODULE_OPTION_FLAGS, MODULE_OPTION_VALUES, backendOption, moduleOptions } from './module-options.js';
import { PREPARE_OPTIONS, prepareCommand } from './prepare.js';
import { type CommandName, UsageProblem } from './problems.js';
import { RUN_OPTIONS, runCommand } from './run.js';
import { COMMANDS, commandHelp, generalHelp, shortUsage, versionLine } from './usage.js';

const INSPECT_OPTIONS: OptionSpec = { values: [...MODULE_OPTION_VALUES], flags: ['json', ...MODULE_OPTION_FLAGS] };
const OPTIONS: Readonly<Record<CommandName, OptionSpec>> = {
  inspect: INSPECT_OPTIONS,
  run: RUN_OPTIONS,
  call: CALL_OPTIONS,
  prepare: PREPARE_OPTIONS,
};

type Writer = (line: string) => void;

async function main(argv: readonly string[], out: Writer, err: Writer): Promise<ExitStatusCode> {
  const [first, ...rest] = argv;
  let command: CommandName | undefined;
  try {
    if (first === undefined) throw new UsageProblem('no command given');
    if (first === '--help' || first === '-h') return done(out, generalHelp());
    if (first === '--version' || first === '-V') return done(out, versionLine());
    if (first === 'help') {
      const topic = rest[0];
      if (topic === undefined) return done(out, generalHelp());
      if (!isCommand(topic)) throw new UsageProblem(`no command is named ${JSON.stringify(topic)}`);
      return done(out, commandHelp(topic));
    }
    if (!isCommand(first)) {
      throw new UsageProblem(first.startsWith('-') ? `unknown option ${first} (options follow the command)` : `unknown command ${JSON.stringify(first)}`);
    }
    command = first;
    const args = parseCommandLine(rest, OPTIONS[command], command);
    if (args.flags.has('help')) return done(out, commandHelp(command));

    if (command === 'inspect') {
      const [file, ...extra] = args.positional;
      if (file === undefined || extra.length > 0) throw new UsageProblem('inspect needs exactly one <module-file>', 'inspect');
      const options = moduleOptions(args, 'inspect');
      const report = inspectModule(file, await readInputFile(file), options);
      if (args.flags.has('json')) out(JSON.stringify(report, null, 2));
      else printInspectReport(report, out);
      // A refused module is a finding, not a failure of the command.
      return ExitStatus.Ok;
    }
    // The engine first: a command it cannot serve fails before reading anything.
    if (command === 'call') {
      requireEngine(backendOption(args, 'call'));
      return await callCommand(args, out, err);
    }
    if (command === 'prepare') {
      // An artifact is what prepare makes.
      requireEngine('auto', true);
      await prepareCommand(args, out, err);
    } else {
      // An artifact needs the backend that has artifacts; the cache is used only there (see run.ts).
      requireEngine(backendOption(args, 'run'), args.values.has('artifact'));
      await runCommand(args, out, err);
    }
    return ExitStatus.Ok;
  } catch (e) {
    const failure = failureOf(e);
    err(failure.line);
    // A trapped call (a runtime's, through the Substrate layer): where the guest was.
    for (let cause: unknown = e; cause instanceof Error; cause = cause.cause) {
      if (cause instanceof Trap) for (const line of backtraceLines(cause.frames, failureExportNames.get(e as object))) err(`  ${line}`);
    }
    if (failure.showUsage) err(shortUsage(e instanceof UsageProblem ? (e.command ?? command) : command));
    if (failure.status === ExitStatus.Internal && process.env['RESUMABLE_WASM_DEBUG'] && e instanceof Error && e.stack !== undefined) {
      err(e.stack);
    }
    return failure.status;
  }
}

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

function done(out: Writer, text: string): ExitStatusCode {
  out(text);
  return ExitStatus.Ok;
}

// `resumable-wasm inspect x.wasm | head`: a reader that goes away is not an error. Any other
// failure to write the output ends the command with one line, as every failure does.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(ExitStatus.Ok);
  process.stderr.write(`error: cannot write the output: ${error.message}\n`);
  process.exit(ExitStatus.File);
});

// A failure outside the command's own promise (an event handler's exception) is still one line.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    const failure = failureOf(error);
    process.stderr.write(`${failure.line}\n`);
    process.exit(failure.status);
  });
}

// Set the exit code rather than calling process.exit(), so that buffered output is not cut off.
process.exitCode = await main(
  process.argv.slice(2),
  (line) => process.stdout.write(`${line}\n`),
  (line) => process.stderr.write(`${line}\n`),
);
