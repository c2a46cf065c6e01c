#!/usr/bin/env node
/**
 * The `resumable-wasm` command.
 *
 * ```text
 * resumable-wasm inspect <module-file> [--json]
 * resumable-wasm run <runtime-file> <entry-point> [hex-input] [options]
 * resumable-wasm call <module-file> <export> [args...] [options]
 * resumable-wasm prepare <module-file> -o <artifact-file> [--heap-pages n] [--plain]
 * ```
 *
 * Exit status: 0 on success, 1 when the module or the call failed (the error is printed with
 * its class and kind), 2 for a command line that could not be understood.
 *
 * **Layer `cli/`**: the top of the library; it may import any layer.
 *
 * @module
 */

import { Trap, VmError } from '../base/errors.js';
import { callCommand } from './call.js';
import { backtraceLines } from './format.js';
import { type OptionSpec, UsageProblem, parseArgs } from './args.js';
import { inspectModule, printInspectReport } from './inspect.js';
import { readInputFile } from './input-file.js';
import { prepareCommand } from './prepare.js';
import { runCommand } from './run.js';

const USAGE = `usage:
  resumable-wasm inspect <module-file> [--json]
      Imports (with signatures and, for a Substrate runtime, how each is served), exports,
      memory, custom sections, the runtime version, and whether VirtualMachinePrototype.create
      accepts the module (and why not).

  resumable-wasm run <runtime-file> <entry-point> [hex-input] [options]
      Calls an entry point of a Substrate runtime and prints its output, the host calls by
      import and the time spent. The transform takes seconds; progress goes to stderr.
      --storage <file>     storage for the call: a chain spec (genesis.raw.top) or a JSON
                           object of 0x keys to 0x values (default: the runtime file's genesis
                           storage if it is a chain spec, else empty)
      --heap-pages <n>     heap pages (default 2048)
      --cache <dir>        keep transformed modules in <dir> (the next run skips the transform)
      --artifact <file>    load the transformed module from an artifact made by \`prepare\`
      --log <level>        the runtime's log level: off, error, warn, info, debug, trace
      --out <file>         also write the raw output bytes to <file>
      --json               print the result as JSON
      --quiet              no progress lines

  resumable-wasm call <module-file> <export> [args...] [options]
      Calls an export of any module, answering every import with --answer (default 0) and
      printing each interrupt, then the result, or the trap with its backtrace (file and line
      for a module with DWARF, e.g. clang -g). Arguments: 5 (an i32), i64:5, f32:1.5, f64:2.
      --features <f>        mvp, default, modern, or a comma-separated list of presets and
                            features (bulk-memory, multi-value, reference-types, ...)
      --start-function      accept a start function (it runs first, through the pauses)
      --any-memory-import   accept a memory imported under any name
      --floats              allow f32/f64 in signatures
      --no-memory           accept a module without a memory the host can reach
      --backend <b>         asyncify, jspi or auto (default)

  resumable-wasm prepare <module-file> -o <artifact-file> [--heap-pages <n>] [--plain]
      Runs the transform once and writes an artifact that \`run --artifact\` (or
      VirtualMachinePrototype.fromArtifact) loads without it. A Substrate runtime is prepared as
      \`run\` will load it (same --heap-pages); --plain prepares any module for a host where
      every import pauses.

  Files may hold raw wasm, zstd-compressed runtime code (Substrate's prefix), the same as 0x hex,
  or a chain spec (the code is its :code).`;

const SPECS: Record<string, OptionSpec> = {
  inspect: { values: [], flags: ['json'] },
  run: { values: ['storage', 'heap-pages', 'cache', 'artifact', 'log', 'out'], flags: ['json', 'quiet'] },
  prepare: { values: ['o', 'output', 'heap-pages'], flags: ['plain', 'quiet'] },
  call: { values: ['features', 'backend', 'answer'], flags: ['start-function', 'any-memory-import', 'floats', 'no-memory'] },
};

async function main(argv: readonly string[]): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    const spec = SPECS[command];
    if (spec === undefined) throw new UsageProblem(`unknown command ${JSON.stringify(command)}`);
    const args = parseArgs(rest, spec);
    if (command === 'inspect') {
      const [file, ...extra] = args.positional;
      if (file === undefined || extra.length > 0) throw new UsageProblem('inspect needs exactly one <module-file>');
      const report = inspectModule(file, await readInputFile(file));
      if (args.flags.has('json')) out(JSON.stringify(report, null, 2));
      else printInspectReport(report, out);
      // A refused module is a finding, not a failure of the command: exit 0 either way.
      return 0;
    }
    if (command === 'call') return await callCommand(args, out, err);
    if (command === 'prepare') await prepareCommand(args, out, err);
    else await runCommand(args, out, err);
    return 0;
  } catch (e) {
    if (e instanceof UsageProblem) {
      err(`error: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof VmError) {
      err(`error: ${e.name}(${e.kind}): ${e.message}`);
      let cause: unknown = e;
      for (let first = true; cause instanceof Error; first = false, cause = cause.cause) {
        if (!first) err(`  caused by ${cause.name}${cause instanceof VmError ? `(${cause.kind})` : ''}: ${cause.message}`);
        // A trapped call (a runtime's, through the Substrate layer): where the guest was.
        if (cause instanceof Trap) for (const line of backtraceLines(cause.frames)) err(`  ${line}`);
      }
      return 1;
    }
    throw e;
  }
}

// `resumable-wasm inspect x.wasm | head`: a reader that goes away is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// Set the exit code rather than calling process.exit(), so that buffered output is not cut off.
process.exitCode = await main(process.argv.slice(2));
