/**
 * `resumable-wasm call <module-file> <export> [args...]`: one call into any module, through the
 * public API, answering every import with a fixed value, and printing each interrupt, the
 * result, or the trap with its backtrace.
 *
 * A way to look at a guest from the command line: what it imports and when it calls, whether
 * the VM accepts it (with `--features`, `--start-function`, `--any-memory-import`, `--floats`),
 * and where it traps (file and line for a module with DWARF, e.g. clang's `-g`). The file may
 * hold whatever the other commands read (raw or zstd-compressed wasm, hex, a chain spec).
 *
 * `--fuel <n>` runs the call on a fuel budget (`VmConfig.fuel`): a call that runs out is stopped
 * (exit status 1) and the fuel consumed is printed either way; `--max-stack-height <n|default>`
 * sets the logical stack limit (`VmConfig.maxStackHeight`), `--canonicalize-nans` canonical NaNs.
 *
 * @module
 */

import {
  DEFAULT_MAX_STACK_HEIGHT,
  NewError,
  type Signature,
  type Trap,
  type ValueType,
  type VirtualMachine,
  VirtualMachinePrototype,
  WasmValue,
} from '../index.js';
import { readModuleFacts } from '../load/module-facts.js';
import { type OptionSpec, type ParsedArgs, integerOption } from './args.js';
import { ExitStatus, type ExitStatusCode } from './exit-status.js';
import { UsageProblem } from './problems.js';
import { backtraceLines, count, exportNamesOf } from './format.js';
import { readInputFile } from './input-file.js';
import { MODULE_OPTION_FLAGS, MODULE_OPTION_VALUES, backendOption, moduleOptions } from './module-options.js';
import { decodeRuntimeCode } from '../substrate/index.js';

/**
 * How many interrupts `call` answers before it gives up, unless `--max-interrupts` says
 * otherwise: a guest that calls its host in a loop until an answer it never gets (a reader
 * waiting for the end of its input, answered 3 forever) would otherwise run, and print, forever.
 */
export const DEFAULT_MAX_INTERRUPTS = 10_000;

/** An integer as the command line writes it: decimal or `0x` hex, with an optional sign. */
const INTEGER = /^([+-]?)(0x[0-9a-f]+|\d+)$/i;
/** A float: what `Number` reads, or `nan`, `inf`, `-inf`. */
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|infinity|nan)$/i;

/** An argument as `i32:5`, `i64:-1`, `f32:1.5`, `f64:2`, or a bare number (an `i32`). */
export function parseValue(text: string): WasmValue {
  const match = /^(?:(i32|i64|f32|f64):)?(.*)$/.exec(text)!;
  const type = (match[1] ?? 'i32') as ValueType;
  const raw = match[2]!;
  const refuse = (why: string): never => {
    throw new UsageProblem(`cannot read the argument ${JSON.stringify(text)}: ${why}`, 'call');
  };
  try {
    if (type === 'i32' || type === 'i64') {
      const integer = INTEGER.exec(raw);
      if (integer === null) return refuse(`an ${type} is an integer (5, -1, 0xff)${match[1] === undefined ? '; other types are written i64:5, f32:1.5, f64:2' : ''}`);
      const magnitude = BigInt(integer[2]!);
      const value = integer[1] === '-' ? -magnitude : magnitude;
      if (type === 'i64') return WasmValue.i64(value);
      if (value < -(2n ** 31n) || value >= 2n ** 32n) return refuse('out of the range of an i32 (-2147483648 to 4294967295)');
      return WasmValue.i32(Number(value));
    }
    if (!FLOAT.test(raw)) return refuse(`an ${type} is a number (1.5, -2, 1e3, nan, inf)`);
    const lower = raw.toLowerCase().replace(/^\+/, '');
    const value = lower === 'nan' || lower === '-nan' ? NaN : /inf/.test(lower) ? (lower.startsWith('-') ? -Infinity : Infinity) : Number(raw);
    return type === 'f32' ? WasmValue.f32(value) : WasmValue.f64(value);
  } catch (e) {
    if (e instanceof UsageProblem) throw e;
    return refuse((e as Error).message);
  }
}

/** A value for humans: `i32 42`. */
function show(value: WasmValue | null): string {
  return value === null ? 'nothing' : `${value.type} ${String(value.value)}`;
}

/** `answer` as a value of `type`, the answer to every import. */
function answerOf(type: ValueType | null, answer: number): WasmValue | null {
  switch (type) {
    case null:
      return null;
    case 'i32':
      return WasmValue.i32(answer);
    case 'i64':
      return WasmValue.i64(BigInt(answer));
    case 'f32':
      return WasmValue.f32(answer);
    case 'f64':
      return WasmValue.f64(answer);
  }
}

/** The options of `call`. */
export const CALL_OPTIONS: OptionSpec = {
  values: [...MODULE_OPTION_VALUES, 'backend', 'answer', 'max-interrupts', 'fuel', 'max-stack-height'],
  flags: [...MODULE_OPTION_FLAGS, 'canonicalize-nans'],
};

/** `--fuel <n>`: the call's fuel budget (a non-negative integer below 2^63), or `undefined`. */
function fuelOption(args: ParsedArgs): bigint | undefined {
  const raw = args.values.get('fuel');
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? BigInt(raw) : -1n;
  if (value < 0n || value >= 1n << 63n) throw new UsageProblem(`--fuel must be an integer from 0 to 2^63 - 1, got ${JSON.stringify(raw)}`, 'call');
  return value;
}

/** `--max-stack-height <n|default>`: the logical stack limit, or `undefined`. */
function maxStackHeightOption(args: ParsedArgs): number | undefined {
  if (args.values.get('max-stack-height') === 'default') return DEFAULT_MAX_STACK_HEIGHT;
  const value = integerOption(args, 'max-stack-height', 'call');
  if (value !== undefined && value > 0x7fff_ffff) throw new UsageProblem('--max-stack-height must be at most 2147483647', 'call');
  return value;
}

/**
 * Runs `call`; returns its exit status: 0 when the call finished, 1 when it trapped (the
 * backtrace is printed) or was stopped after `--max-interrupts` interrupts, 4 when the VM
 * refused the module (every refusal is printed). A wrong export name or wrong arguments are
 * thrown (`StartError`), for `exit-status.ts` to map as it maps `run`'s.
 */
export async function callCommand(args: ParsedArgs, out: (line: string) => void, err: (line: string) => void): Promise<ExitStatusCode> {
  const [file, exportName, ...rest] = args.positional;
  if (file === undefined || exportName === undefined) throw new UsageProblem('call needs <module-file> and <export>', 'call');
  const params = rest.map(parseValue);
  const answer = integerOption(args, 'answer', 'call') ?? 0;
  const maxInterrupts = integerOption(args, 'max-interrupts', 'call') ?? DEFAULT_MAX_INTERRUPTS;
  const backend = backendOption(args, 'call');
  const options = moduleOptions(args, 'call');
  const fuel = fuelOption(args);
  const maxStackHeight = maxStackHeightOption(args);
  const bounds = {
    ...(fuel === undefined ? {} : { fuel: true }),
    ...(maxStackHeight === undefined ? {} : { maxStackHeight }),
    ...(args.flags.has('canonicalize-nans') ? { canonicalizeNaNs: true } : {}),
  };
  const budget = fuel === undefined ? undefined : { fuel };
  const input = await readInputFile(file);
  const wasm = decodeRuntimeCode(input.code).wasm;

  const imports: { module: string; name: string; signature: Signature }[] = [];
  let prototype: VirtualMachinePrototype;
  try {
    prototype = await VirtualMachinePrototype.create({
      moduleBytes: wasm,
      symbols: (module, name, signature) => imports.push({ module, name, signature }) - 1,
      ...options,
      ...bounds,
      backend,
    });
  } catch (e) {
    if (!(e instanceof NewError) || (e.kind as string) === 'BackendUnsupported') throw e;
    err(`refused: ${e.refusals.length} reason${e.refusals.length === 1 ? '' : 's'}`);
    for (const r of e.refusals) err(`  ${r.kind}${r.where === null ? '' : ` in ${r.where}`}${r.allowedBy === null ? '' : ` [allowed by ${r.allowedBy}]`}: ${r.message}`);
    return ExitStatus.Input;
  }
  // Names for the backtrace's frames that the module's name section does not name.
  let exportNames: ReadonlyMap<number, string> = new Map();
  try {
    exportNames = exportNamesOf(readModuleFacts(wasm));
  } catch {
    // Accepted modules have readable headers; without them, frames keep their indexes.
  }
  let prepare = prototype.prepare();
  // Checked by start(): an export that is not there is StartError(FunctionNotFound), arguments
  // that do not fit its signature StartError(InvalidParameters), before anything is printed
  // (a module with a start function must run it first).
  let vm = prepare.startFunctionPending ? null : prepare.start(exportName, params, budget);
  out(`${file}: accepted, backend ${prototype.backend}`);
  let interrupts = 0;
  type Ended = { trap: Trap | null; value: WasmValue | null; stopped: boolean; outOfFuel?: boolean };
  /** Prints the fuel `vm`'s call consumed (with `--fuel`). */
  const reportFuel = (vm: VirtualMachine): void => {
    if (fuel !== undefined) out(`  fuel consumed: ${vm.fuelConsumed} of ${fuel}`);
  };
  /** Runs `vm` to its end, printing its interrupts, or stops it after `maxInterrupts` or when out of fuel. */
  const run = async (vm: VirtualMachine): Promise<Ended> => {
    let outcome = await vm.runAsync(null);
    while (outcome.type === 'interrupted' || outcome.type === 'outOfFuel') {
      if (outcome.type === 'outOfFuel') {
        reportFuel(vm);
        prepare = vm.intoPrototype().prepare();
        return { trap: null, value: null, stopped: true, outOfFuel: true };
      }
      if (interrupts === maxInterrupts) {
        // Abandoned: the paused call is let go of (on JSPI, its stack unwinds).
        prepare = vm.intoPrototype().prepare();
        return { trap: null, value: null, stopped: true };
      }
      interrupts++;
      const imported = imports[outcome.id]!;
      const value = answerOf(imported.signature.result, answer);
      out(`  ${imported.module}.${imported.name}(${outcome.params.map(show).join(', ')}) -> ${show(value)}`);
      outcome = await vm.runAsync(value);
    }
    reportFuel(vm);
    prepare = vm.intoPrepare();
    return outcome.type === 'trapped' ? { trap: outcome.trap, value: null, stopped: false } : { trap: null, value: outcome.value, stopped: false };
  };
  const failed = (ended: Ended): ExitStatusCode | null => {
    if (ended.outOfFuel === true) {
      out(`stopped: out of fuel (--fuel ${fuel})`);
      return ExitStatus.CallFailed;
    }
    if (ended.stopped) {
      out(`stopped: ${count(maxInterrupts)} interrupts answered and the call still running (--max-interrupts ${maxInterrupts})`);
      return ExitStatus.CallFailed;
    }
    if (ended.trap === null) return null;
    out(`trapped: ${ended.trap.kind}: ${ended.trap.message}`);
    for (const line of backtraceLines(ended.trap.frames, exportNames)) out(line);
    return ExitStatus.CallFailed;
  };

  if (vm === null) {
    out('start function:');
    const status = failed(await run(prepare.callStartFunction(budget)));
    if (status !== null) return status;
    vm = prepare.start(exportName, params, budget);
  }
  out(`${exportName}(${params.map(show).join(', ')}):`);
  const ended = await run(vm);
  const status = failed(ended);
  if (status !== null) return status;
  out(`finished: ${show(ended.value)}`);
  return ExitStatus.Ok;
}
