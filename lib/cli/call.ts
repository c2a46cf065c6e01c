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
 * @module
 */

import { NewError, type Signature, type Trap, type ValueType, VirtualMachinePrototype, type VmConfig, WasmValue } from '../index.js';
import { isFeatureName, isFeatureSetName } from '../base/feature-set.js';
import { type OptionSpec, type ParsedArgs, integerOption } from './args.js';
import { ExitStatus, type ExitStatusCode } from './exit-status.js';
import { UsageProblem } from './problems.js';
import { backtraceLines } from './format.js';
import { readInputFile } from './input-file.js';
import { decodeRuntimeCode } from '../substrate/index.js';

/** An argument as `i32:5`, `i64:-1`, `f32:1.5`, `f64:2`, or a bare integer (an `i32`). */
function parseValue(text: string): WasmValue {
  const match = /^(?:(i32|i64|f32|f64):)?(.+)$/.exec(text);
  const type = (match?.[1] ?? 'i32') as ValueType;
  const raw = match?.[2] ?? '';
  try {
    switch (type) {
      case 'i32':
        return WasmValue.i32(Number(raw));
      case 'i64':
        return WasmValue.i64(BigInt(raw));
      case 'f32':
        return WasmValue.f32(Number(raw));
      case 'f64':
        return WasmValue.f64(Number(raw));
    }
  } catch (e) {
    throw new UsageProblem(`cannot read the argument ${JSON.stringify(text)}: ${(e as Error).message}`);
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

/** The `features` option of a command line: a preset or a comma-separated list. */
function featuresOption(text: string | undefined): VmConfig['features'] {
  if (text === undefined) return undefined;
  const items = text.split(',');
  if (!items.every((f) => isFeatureSetName(f) || isFeatureName(f))) {
    throw new UsageProblem(`--features must be a preset (mvp, default, modern) or a comma-separated list of presets and features, got ${text}`);
  }
  return items.length === 1 && isFeatureSetName(items[0]) ? items[0] : (items as NonNullable<VmConfig['features']> & readonly string[]);
}

/** Runs the command; returns the exit status (0 finished, 1 trapped or refused). */
/** The options of `call`. */
export const CALL_OPTIONS: OptionSpec = {
  values: ['features', 'backend', 'answer'],
  flags: ['start-function', 'any-memory-import', 'floats', 'no-memory'],
};

/**
 * Runs `call`; returns its exit status: 0 when the call finished, 1 when it trapped (the
 * backtrace is printed), 4 when the VM refused the module (every refusal is printed).
 */
export async function callCommand(args: ParsedArgs, out: (line: string) => void, err: (line: string) => void): Promise<ExitStatusCode> {
  const [file, exportName, ...rest] = args.positional;
  if (file === undefined || exportName === undefined) throw new UsageProblem('call needs <module-file> and <export>', 'call');
  const params = rest.map(parseValue);
  const answer = integerOption(args, 'answer') ?? 0;
  const backend = args.values.get('backend') ?? 'auto';
  if (backend !== 'asyncify' && backend !== 'jspi' && backend !== 'auto') throw new UsageProblem('--backend must be asyncify, jspi or auto', 'call');
  const input = await readInputFile(file);

  const imports: { module: string; name: string; signature: Signature }[] = [];
  let prototype: VirtualMachinePrototype;
  try {
    const features = featuresOption(args.values.get('features'));
    prototype = await VirtualMachinePrototype.create({
      moduleBytes: decodeRuntimeCode(input.code).wasm,
      symbols: (module, name, signature) => imports.push({ module, name, signature }) - 1,
      ...(features === undefined ? {} : { features }),
      floats: args.flags.has('floats'),
      startFunction: args.flags.has('start-function'),
      anyMemoryImport: args.flags.has('any-memory-import'),
      requireMemory: !args.flags.has('no-memory'),
      backend,
    });
  } catch (e) {
    if (!(e instanceof NewError)) throw e;
    err(`refused: ${e.refusals.length} reason${e.refusals.length === 1 ? '' : 's'}`);
    for (const r of e.refusals) err(`  ${r.kind}${r.where === null ? '' : ` in ${r.where}`}${r.allowedBy === null ? '' : ` [allowed by ${r.allowedBy}]`}: ${r.message}`);
    return ExitStatus.Input;
  }
  out(`${file}: accepted, backend ${prototype.backend}`);

  let prepare = prototype.prepare();
  /** Runs `vm` to its end, printing its interrupts; returns the trap, if it trapped. */
  const run = async (vm: ReturnType<typeof prepare.start>): Promise<{ trap: Trap | null; value: WasmValue | null }> => {
    let outcome = await vm.runAsync(null);
    while (outcome.type === 'interrupted') {
      const imported = imports[outcome.id]!;
      const value = answerOf(imported.signature.result, answer);
      out(`  ${imported.module}.${imported.name}(${outcome.params.map(show).join(', ')}) -> ${show(value)}`);
      outcome = await vm.runAsync(value);
    }
    prepare = vm.intoPrepare();
    return outcome.type === 'trapped' ? { trap: outcome.trap, value: null } : { trap: null, value: outcome.value };
  };
  const report = (trap: Trap): ExitStatusCode => {
    out(`trapped: ${trap.kind}: ${trap.message}`);
    for (const line of backtraceLines(trap.frames)) out(line);
    return ExitStatus.CallFailed;
  };

  if (prepare.startFunctionPending) {
    out('start function:');
    const started = await run(prepare.callStartFunction());
    if (started.trap !== null) return report(started.trap);
  }
  out(`${exportName}(${params.map(show).join(', ')}):`);
  const ended = await run(prepare.start(exportName, params));
  if (ended.trap !== null) return report(ended.trap);
  out(`finished: ${show(ended.value)}`);
  return ExitStatus.Ok;
}
