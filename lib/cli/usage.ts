/**
 * What the CLI says about itself: a one-line synopsis per command (shown under an argument
 * error, so the mistake stays on screen), the help of each command (`resumable-wasm run --help`)
 * and the general help (`resumable-wasm --help`), which ends with the exit statuses.
 *
 * @module
 */

import { DEFAULT_MAX_STACK_HEIGHT } from '../base/config.js';
import { LIBRARY_VERSION } from '../base/version.js';
import { DEFAULT_MAX_INTERRUPTS } from './call.js';
import { EXIT_STATUS_TABLE, ExitStatus } from './exit-status.js';
import type { CommandName } from './problems.js';

/** One command's help: its synopsis, a one-line summary and the details. */
interface CommandHelp {
  readonly synopsis: string;
  readonly summary: string;
  readonly details: string;
  /** The exit statuses this command can end with. */
  readonly statuses: readonly number[];
}

const INPUT_FILES = `Files may hold raw wasm, zstd-compressed runtime code (Substrate's prefix), the same as 0x hex,
or a chain spec (the code is its :code).`;

/** The options `call` and `inspect` share: which modules the VM accepts. */
const MODULE_OPTIONS_HELP = `  --features <f>        mvp, default, modern, or a comma-separated list of presets and
                        features (bulk-memory, multi-value, reference-types, ...)
  --start-function      accept a start function (call runs it first, through the pauses)
  --any-memory-import   accept a memory imported under any name
  --floats              allow f32/f64 in signatures
  --no-memory           accept a module without a memory the host can reach`;

/** The commands, in the order the help lists them. */
export const COMMANDS: Readonly<Record<CommandName, CommandHelp>> = {
  inspect: {
    synopsis: 'resumable-wasm inspect <module-file> [--json] [module options]',
    summary: "what is in a module, and whether VirtualMachinePrototype.create accepts it (and why not)",
    details: `Imports (with signatures and, for a Substrate runtime, how each is served), exports,
memory, custom sections, the runtime version, and whether VirtualMachinePrototype.create
accepts the module (and why not) with the default options, or with the module options that
\`call\` takes. A refused module is a finding, not a failure: exit 0.
  --json                print the report as JSON
${MODULE_OPTIONS_HELP}`,
    statuses: [0, 2, 3, 4],
  },
  run: {
    synopsis: 'resumable-wasm run <runtime-file> <entry-point> [hex-input] [options]',
    summary: 'calls an entry point of a Substrate runtime and prints its output',
    details: `Calls an entry point of a Substrate runtime and prints its output (Core_version decoded as
JSON, Metadata_metadata as a summary, anything else as hex), the host calls by import and the
time spent. The module is checked first (valid WebAssembly, accepted by the VM, exports
__heap_base); on JSPI (where the engine has it) the runtime is then ready in milliseconds, on
Asyncify its transform takes seconds (tens for a large runtime), with progress on stderr.
  --backend <b>        jspi, asyncify or auto (default: JSPI where the engine has it)
  --storage <file>     storage for the call: a chain spec (genesis.raw.top) or a JSON
                       object of 0x keys to 0x values (default: the runtime file's genesis
                       storage if it is a chain spec, else empty)
  --heap-pages <n>     heap pages (default 2048)
  --cache <dir>        on Asyncify, keep transformed modules in <dir> (the next run skips the
                       transform); not used on JSPI, which has no transform
  --artifact <file>    load the transformed module from an artifact made by \`prepare\` (so
                       Asyncify); one made from another runtime or with other options is an error
  --log <level>        the runtime's log level: off, error, warn, info, debug, trace
  --out <file>         also write the raw output bytes to <file>
  --hex                print the whole output as hex instead of decoding it
  --json               print the result as JSON
  --quiet              no progress lines`,
    statuses: [0, 1, 2, 3, 4, 5, 6],
  },
  call: {
    synopsis: 'resumable-wasm call <module-file> <export> [args...] [options]',
    summary: 'calls an export of any module, printing each interrupt, the result, or the trap with its backtrace',
    details: `Calls an export of any module, answering every import with --answer (default 0) and
printing each interrupt, then the result, or the trap with its backtrace (file and line for a
module with DWARF, e.g. clang -g). Arguments: 5 (an i32), -1, 0xff, i64:5, f32:1.5, f64:2.
A call still running after --max-interrupts interrupts, or out of --fuel, is stopped (exit
status 1).
${MODULE_OPTIONS_HELP}
  --backend <b>         asyncify, jspi or auto (default)
  --answer <n>          what every import returns (default 0)
  --max-interrupts <n>  stop the call after <n> interrupts (default ${DEFAULT_MAX_INTERRUPTS})
  --fuel <n>            meter the call: stop it once it has consumed <n> units of fuel (1 per
                        instruction; see docs/features.md) and print what it consumed
  --max-stack-height <n|default>
                        trap (StackLimitExceeded) once the call's frames cost more than <n>
                        logical units (default: ${DEFAULT_MAX_STACK_HEIGHT}), the same on every engine
  --canonicalize-nans   every NaN a float operation makes is the canonical NaN`,
    statuses: [0, 1, 2, 3, 4, 6],
  },
  prepare: {
    synopsis: 'resumable-wasm prepare <module-file> -o <artifact-file> [--heap-pages <n>] [--plain] [--asyncify-stack <where>]',
    summary: 'runs the transform once and writes an artifact that later runs load in milliseconds',
    details: `Runs the transform once and writes an artifact that \`run --artifact\` (or
VirtualMachinePrototype.fromArtifact) loads without it. A Substrate runtime is prepared as
\`run\` will load it (same --heap-pages); --plain prepares any module for a host where
every import pauses.
  -o, --output <file>  where to write the artifact
  --heap-pages <n>     heap pages (default 2048), as \`run\` will be given them
  --plain              prepare for a host where every import pauses
  --asyncify-stack <where>
                       where a paused stack is kept: second-memory (needs the engine's
                       multi-memory), single-memory (every engine, Safari and WebKitGTK
                       included) or auto (default: second-memory where this engine has it)
  --quiet              no progress lines`,
    statuses: [0, 2, 3, 4, 6],
  },
};

/** The lines under an argument error: the synopsis of `command` (of every command if unknown). */
export function shortUsage(command?: CommandName): string {
  const names = command === undefined ? (Object.keys(COMMANDS) as CommandName[]) : [command];
  const synopses = names.map((name, i) => `${i === 0 ? 'usage: ' : '       '}${COMMANDS[name].synopsis}`);
  return `${synopses.join('\n')}\n(resumable-wasm ${command === undefined ? '' : `${command} `}--help for more)`;
}

/** `resumable-wasm <command> --help`. */
export function commandHelp(command: CommandName): string {
  const help = COMMANDS[command];
  return `usage: ${help.synopsis}\n\n${help.details}\n\n${INPUT_FILES}\n\n${exitStatusText(help.statuses)}`;
}

/** `resumable-wasm --help`. */
export function generalHelp(): string {
  const commands = (Object.keys(COMMANDS) as CommandName[]).map((name) => `  ${COMMANDS[name].synopsis}\n      ${COMMANDS[name].summary}`);
  return (
    `resumable-wasm ${LIBRARY_VERSION}: run WebAssembly as a resumable, interrupt-driven state machine\n\n` +
    `usage:\n${commands.join('\n')}\n  resumable-wasm --version\n\n` +
    `resumable-wasm <command> --help describes a command and its options.\n\n${INPUT_FILES}\n\n${exitStatusText()}`
  );
}

/** `resumable-wasm --version`. */
export function versionLine(): string {
  return `resumable-wasm ${LIBRARY_VERSION}`;
}

/** The exit statuses (only `statuses`, if given), one per line. */
function exitStatusText(statuses?: readonly number[]): string {
  // Any command can meet a bug.
  const rows = EXIT_STATUS_TABLE.filter(([status]) => statuses === undefined || statuses.includes(status) || status === ExitStatus.Internal);
  return `exit status:\n${rows.map(([status, meaning]) => wrap(`  ${String(status).padStart(2)}  ${meaning}`, '      ')).join('\n')}`;
}

/** `text` broken at spaces into lines of at most {@link WIDTH} characters, continued with `indent`. */
function wrap(text: string, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/(?<=\S) (?=\S)/)) {
    if (line !== '' && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line].join('\n');
}

/** The width the help is written for. */
const WIDTH = 96;
