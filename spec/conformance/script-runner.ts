/**
 * Runs one wast2json script through the library's public API and judges every command.
 *
 * The script is interpreted like the reference interpreter does: a `module` command creates an
 * instance that becomes the "current" module (and `$name`d, if it has a name); actions run on the
 * current or the named module; every invocation of a module shares its instance. Commands the VM
 * cannot run are skipped under one of the classes of `skip-reasons.ts`, and the commands on a
 * skipped module inherit its class.
 *
 * @module
 */

import { type FeaturesOption, GlobalValueError, type Signature, StartError, VirtualMachinePrototype } from '../../lib/index.js';
import { featureNames } from '../../lib/base/feature-set.js';
import { classifyModule } from './module-class.js';
import { mutatingExports } from './effects.js';
import { type ModuleHeader, readModuleHeader } from './module-header.js';
import { expectedRefusalKinds } from './refusal-kinds.js';
import { type CommandResult, type Failure, type ScriptResult, type Skip, count, emptyTally } from './results.js';
import type { Action, AssertRefusalCommand, Command, ModuleCommand, Script } from './script.js';
import { isObsolete, type SkipReason } from './skip-reasons.js';
import { type InstanceOptions, type SpecHost, SpecInstance, StartFunctionTrapped, newErrorKind, vmConfig } from './spec-instance.js';
import { SPECTEST, answerInterrupt, spectestSymbols } from './spectest-host.js';
import { expectedTrapKinds } from './trap-kinds.js';
import { formatScriptValue, formatWasmValue, isCanonicalNan, isSignallingNan, matchValue, toWasmValue } from './wasm-values.js';

/** How to run the scripts: for now, how to configure the VMs. */
export type RunOptions = InstanceOptions;

/** The first id of linked imports: below it, the ids of the spectest prints. */
const LINK_BASE = 1000;

/** A module of the script, as the commands after it see it. */
type ModuleSlot =
  | {
      readonly state: 'live';
      readonly file: string;
      readonly line: number;
      readonly instance: SpecInstance;
      readonly header: ModuleHeader | null;
      /** The exports whose calls may change the instance (`null`: unknown, any may). */
      readonly mutating: ReadonlySet<string> | null;
      /** The registered modules its function imports are linked to. */
      readonly linked: readonly ModuleSlot[];
      taint: SkipReason | null;
    }
  | { readonly state: 'skipped'; readonly file: string; readonly line: number; readonly reason: SkipReason }
  | { readonly state: 'failed'; readonly file: string; readonly line: number };

const passed: CommandResult = { status: 'passed' };
const fail = (detail: string): CommandResult => ({ status: 'failed', detail });
const skip = (reason: SkipReason, detail?: string): CommandResult =>
  detail === undefined ? { status: 'skipped', reason } : { status: 'skipped', reason, detail };

/** A thrown value for a report. */
function describeError(error: unknown): string {
  if (error instanceof Error) {
    const kind = (error as Error & { kind?: unknown }).kind;
    return `${error.name}${typeof kind === 'string' ? ` ${kind}` : ''}: ${error.message}`;
  }
  return String(error);
}

/** An action for a report, e.g. `invoke "add"(i32:1 (1), i32:2 (2))`. */
function describeAction(action: Action): string {
  const target = action.module === undefined ? '' : `${action.module}.`;
  if (action.type === 'get') return `get ${target}"${action.field}"`;
  return `invoke ${target}"${action.field}"(${action.args.map(formatScriptValue).join(', ')})`;
}

/**
 * The skip class of a call of the export `field` that the host cannot make (several results, or
 * reference-typed values), or `null` for a call the VM must run.
 */
function boundaryClass(header: ModuleHeader | null, field: string): SkipReason | null {
  const exported = header?.functionExports.find((e) => e.name === field);
  if (exported === undefined) return null;
  const types = [...exported.params, ...exported.results];
  if (types.some((t) => t === 'funcref' || t === 'externref')) return 'reference-value-call';
  if (exported.results.length > 1) return 'multi-result-call';
  return null;
}

/**
 * Why calls on `slot` cannot be trusted: its own taint, or that of a module it is linked to
 * (its calls may run there), or `null`.
 */
function taintOf(slot: ModuleSlot, seen: Set<ModuleSlot>): SkipReason | null {
  if (slot.state !== 'live' || seen.has(slot)) return null;
  seen.add(slot);
  if (slot.taint !== null) return slot.taint;
  for (const other of slot.linked) {
    const taint = taintOf(other, seen);
    if (taint !== null) return taint;
  }
  return null;
}

/** The state of one run of a script. */
class ScriptRun {
  private current: ModuleSlot | null = null;
  private readonly named = new Map<string, ModuleSlot>();
  /** Registered module names (`register ... as`), for the taint of linked modules. */
  private readonly registry = new Map<string, ModuleSlot>();
  readonly tally = emptyTally();
  readonly failures: Failure[] = [];
  readonly skips: Skip[] = [];
  /** What each command saw, one line per command: see {@link ScriptResult.observations}. */
  readonly observations: string[] = [];
  /** What the command in progress saw of the VM (a value, a trap kind, a refusal kind), if anything. */
  private observed: string | null = null;
  /** See {@link ScriptResult.fuel}. */
  readonly fuel: string[] = [];
  interrupts = 0;
  /** Function imports linked to registered modules' exports; an import's id is LINK_BASE + its index here. */
  private readonly links: { readonly slot: Extract<ModuleSlot, { state: 'live' }>; readonly field: string }[] = [];
  /** How every instance of the script resolves its imports and is answered when it pauses. */
  private readonly host: SpecHost = {
    symbols: (module, name, signature) => (module === SPECTEST ? spectestSymbols(module, name, signature) : this.link(module, name, signature)),
    answer: async (id, params) => {
      if (id < LINK_BASE) return { value: answerInterrupt(id, params) };
      const { slot, field } = this.links[id - LINK_BASE]!;
      const outcome = await slot.instance.invoke(field, params);
      this.interrupts += outcome.interrupts;
      if (outcome.type === 'trapped' && outcome.reset) slot.taint = 'linking';
      return outcome.type === 'finished' ? { value: outcome.value } : { trap: outcome.trap };
    },
  };

  constructor(
    private readonly script: Script,
    private readonly options: RunOptions,
  ) {}

  /**
   * The id of the import `module`.`name` of type `signature` linked to the export of that name
   * of the module registered as `module`, or `null` where the spec would find it unlinkable
   * (nothing registered under that name, no such function export, another type).
   */
  private link(module: string, name: string, signature: Signature): number | null {
    if (this.options.linkFunctions !== true) return null;
    const slot = this.registry.get(module);
    if (slot?.state !== 'live') return null;
    const exported = slot.header?.functionExports.find((e) => e.name === name);
    if (exported === undefined) return null;
    const results = signature.result === null ? [] : [signature.result];
    const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((t, i) => t === b[i]);
    if (!same(exported.params, signature.params) || !same(exported.results, results)) return null;
    this.links.push({ slot, field: name });
    return LINK_BASE + this.links.length - 1;
  }

  async run(): Promise<void> {
    for (const command of this.script.commands) {
      let result: CommandResult;
      this.observed = null;
      try {
        result = await this.runCommand(command);
      } catch (e) {
        // Anything unexpected (a VM exception out of run(), a harness bug) fails this command
        // only; the next command starts afresh.
        result = fail(`unexpected exception: ${describeError(e)}`);
        this.observed = 'exception';
      }
      const status = result.status === 'skipped' ? `skipped ${result.reason}` : result.status;
      this.observations.push(`${command.line} ${command.type}: ${status}${this.observed === null ? '' : ` -> ${this.observed}`}`);
      count(this.tally, result);
      if (result.status === 'failed') this.failures.push(this.failure(command, result.detail));
      if (result.status === 'skipped') {
        const { line, type } = command;
        this.skips.push({ script: this.script.name, line, command: type, reason: result.reason, detail: result.detail ?? null });
      }
    }
  }

  private failure(command: Command, detail: string): Failure {
    let module: string | null = null;
    let what: string;
    if ('filename' in command) {
      module = command.filename;
      what = `load ${command.filename}`;
    } else if ('action' in command) {
      const slot = this.slotFor(command.action);
      module = slot?.file ?? null;
      what = describeAction(command.action);
    } else {
      what = `register ${command.as}`;
    }
    return { script: this.script.name, line: command.line, command: command.type, module, what, detail };
  }

  private runCommand(command: Command): Promise<CommandResult> | CommandResult {
    switch (command.type) {
      case 'module':
        return this.defineModule(command);
      case 'register': {
        // Registering itself needs nothing from the VM; what cannot run is the linking it
        // enables, and the modules doing it are skipped (and taint this one) when they come.
        const slot = command.name === undefined ? this.current : this.named.get(command.name);
        if (slot !== null && slot !== undefined) this.registry.set(command.as, slot);
        // With function linking, registering a live module is what later imports rely on.
        return this.options.linkFunctions === true && slot?.state === 'live' ? passed : skip('linking');
      }
      case 'action':
      case 'assert_return':
      case 'assert_trap':
      case 'assert_exhaustion':
        return this.runAction(command);
      case 'assert_invalid':
      case 'assert_malformed':
      case 'assert_unlinkable':
      case 'assert_uninstantiable':
        return this.expectRefusal(command);
    }
  }

  private readModule(filename: string): Uint8Array {
    return this.script.module(filename);
  }

  /** Marks the registered modules that `linkedTo` names: their state may depend on skipped linking. */
  private taint(linkedTo: readonly string[]): void {
    for (const name of linkedTo) {
      const slot = this.registry.get(name);
      if (slot?.state === 'live') slot.taint = 'linking';
    }
  }

  private setCurrent(command: ModuleCommand, slot: ModuleSlot): void {
    this.current = slot;
    if (command.name !== undefined) this.named.set(command.name, slot);
  }

  private async defineModule(command: ModuleCommand): Promise<CommandResult> {
    const file = command.filename;
    const line = command.line;
    const bytes = this.readModule(file);
    const header = readModuleHeader(bytes);
    const moduleClass = classifyModule(header, this.options.linkFunctions, this.options.startFunctions);
    if (moduleClass !== null) {
      this.taint(moduleClass.linkedTo);
      this.setCurrent(command, { state: 'skipped', file, line, reason: moduleClass.reason });
      // The VM must refuse the module, and for the documented reason.
      try {
        await VirtualMachinePrototype.create(vmConfig(bytes, this.options, this.host));
      } catch (e) {
        const kind = newErrorKind(e);
        if (kind !== null && moduleClass.refusals.includes(kind)) return skip(moduleClass.reason, `refused: ${kind}`);
        return fail(`expected a refusal of kind ${moduleClass.refusals.join(' | ')} (${moduleClass.reason}), got ${describeError(e)}`);
      }
      return fail(`the VM accepted a module it must refuse (${moduleClass.reason}: ${moduleClass.refusals.join(' | ')})`);
    }
    try {
      const linksBefore = this.links.length;
      const instance = await SpecInstance.create(bytes, this.options, this.host);
      this.interrupts += instance.startInterrupts;
      const linked = [...new Set(this.links.slice(linksBefore).map((l) => l.slot))];
      this.setCurrent(command, { state: 'live', file, line, instance, header, mutating: mutatingExports(bytes), linked, taint: null });
      return passed;
    } catch (e) {
      this.setCurrent(command, { state: 'failed', file, line });
      return fail(`the module was refused: ${describeError(e)}`);
    }
  }

  private slotFor(action: Action): ModuleSlot | null {
    return action.module === undefined ? this.current : (this.named.get(action.module) ?? null);
  }

  private async runAction(
    command: Extract<Command, { type: 'action' | 'assert_return' | 'assert_trap' | 'assert_exhaustion' }>,
  ): Promise<CommandResult> {
    const slot = this.slotFor(command.action);
    if (slot === null) return fail(`no module ${command.action.module ?? '(current)'} is defined`);
    if (slot.state === 'skipped') return skip(slot.reason, `on ${slot.file} (line ${slot.line})`);
    if (slot.state === 'failed') return fail(`its module ${slot.file} (line ${slot.line}) failed to load`);
    const taint = taintOf(slot, new Set());
    if (taint !== null) return skip(taint, `on ${slot.file}, which a skipped module links to (or which calls one that does)`);
    const action = command.action;

    if (action.type === 'get') {
      if (command.type !== 'assert_return') return fail(`a ${command.type} of a global makes no sense`);
      let value: number;
      try {
        value = slot.instance.getGlobal(action.field);
      } catch (e) {
        if (e instanceof GlobalValueError && e.kind === 'Invalid') return skip('non-i32-global');
        return fail(`reading the global failed: ${describeError(e)}`);
      }
      const expected = command.expected[0];
      if (command.expected.length !== 1 || expected === undefined) return fail('expected exactly one value');
      if (expected.type !== 'i32') return skip('non-i32-global');
      // globalValue reads the i32 as unsigned; compare as the i32 the API would report.
      const why = matchValue(expected, { type: 'i32', value: value | 0 }, { ignoreQuietBit: false });
      return why === null ? passed : fail(why);
    }

    const boundary = boundaryClass(slot.header, action.field);
    if (boundary !== null) {
      // The host cannot call this function: the VM must refuse the call, and say why.
      try {
        await slot.instance.invoke(action.field, []);
      } catch (e) {
        if (e instanceof StartError && e.kind === 'SignatureNotSupported') {
          // If the call could have changed the instance, what later commands on the module see
          // could differ from the script's expectations: they are skipped too.
          if (slot.mutating?.has(action.field) !== false) slot.taint = boundary;
          return skip(boundary, `refused: ${e.kind}`);
        }
        return fail(`expected StartError SignatureNotSupported (${boundary}), got ${describeError(e)}`);
      }
      return fail(`the VM called a function it cannot call (${boundary})`);
    }
    const args = action.args.map(toWasmValue);
    const outcome = await slot.instance.invoke(action.field, args);
    this.interrupts += outcome.interrupts;
    if (outcome.fuel !== null) this.fuel.push(`${command.line} ${action.field}: fuel ${outcome.fuel.consumed}, out of fuel ${outcome.fuel.outOfFuel} times`);
    this.observed = outcome.type === 'finished' ? formatWasmValue(outcome.value) : `trap ${outcome.trap.kind}`;
    // A linked callee trapped: the caller's instance was made fresh, later commands cannot run on it.
    if (outcome.type === 'trapped' && outcome.reset) slot.taint = 'linking';
    switch (command.type) {
      case 'action':
        return outcome.type === 'finished' ? passed : fail(`trapped: ${outcome.trap.kind}: ${outcome.trap.message}`);
      case 'assert_return': {
        if (outcome.type === 'trapped') {
          return fail(`expected ${command.expected.map(formatScriptValue).join(', ') || 'no value'}, trapped: ${outcome.trap.kind}: ${outcome.trap.message}`);
        }
        const expected = command.expected[0];
        if (expected === undefined) {
          return outcome.value === null ? passed : fail(`expected no value, got ${formatWasmValue(outcome.value)}`);
        }
        if (command.expected.length > 1) return fail('expected several values, from a function with one result');
        const why = matchValue(expected, outcome.value, { ignoreQuietBit: action.args.some(isSignallingNan) });
        if (why !== null) return fail(why);
        // With canonical NaNs, a NaN the script leaves to the engine (made by arithmetic) is exactly the canonical one.
        if (this.options.bounds?.canonicalizeNaNs === true && expected.value?.startsWith('nan:') === true && !isCanonicalNan(outcome.value)) {
          return fail(`${formatWasmValue(outcome.value)} is not the canonical NaN (canonicalizeNaNs)`);
        }
        return passed;
      }
      case 'assert_trap':
      case 'assert_exhaustion': {
        // With the logical stack limit (set far below the engine's stack), it traps first.
        const limited = command.type === 'assert_exhaustion' && this.options.bounds?.maxStackHeight != null;
        const kinds = limited ? (['StackLimitExceeded'] as const) : expectedTrapKinds(command.text, action.field);
        if (kinds === null) return fail(`unknown trap message ${JSON.stringify(command.text)}`);
        const kind = kinds.join(' | ');
        if (outcome.type === 'finished') {
          return fail(`expected a trap ${kind} ("${command.text}"), finished with ${formatWasmValue(outcome.value)}`);
        }
        return kinds.includes(outcome.trap.kind)
          ? passed
          : fail(`expected a trap ${kind} ("${command.text}"), got ${outcome.trap.kind}: ${outcome.trap.message}`);
      }
    }
  }

  /**
   * A refusal {@link liftedByFeatures} lifted, checked the other way round: the engine validates
   * the module, and the VM does not call it invalid. It may still refuse it for what it never
   * supports (a table import, say), like any valid module.
   */
  private async expectValid(bytes: Uint8Array, command: AssertRefusalCommand): Promise<CommandResult> {
    const lifted = `"${command.text}" no longer applies with ${JSON.stringify(this.options.features)}`;
    if (!WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) return fail(`${lifted}, but the engine says the module is invalid`);
    try {
      await VirtualMachinePrototype.create(vmConfig(bytes, this.options, this.host));
    } catch (e) {
      const kind = newErrorKind(e);
      if (kind === null || kind === 'InvalidWasm') {
        return fail(`${lifted}: the module is valid, but the VM refused it with ${describeError(e)}`);
      }
    }
    return passed;
  }

  private async expectRefusal(command: AssertRefusalCommand): Promise<CommandResult> {
    if (command.module_type === 'text') return skip('text-module');
    if (isObsolete(this.script.path, command.line)) return skip('obsolete');
    const bytes = this.readModule(command.filename);
    if (liftedByFeatures(command, this.options.features)) return this.expectValid(bytes, command);
    const moduleClass = classifyModule(readModuleHeader(bytes), this.options.linkFunctions, this.options.startFunctions);
    if (moduleClass !== null) this.taint(moduleClass.linkedTo);
    const expected = expectedRefusalKinds(command.type, command.text);
    try {
      // With start functions, instantiating includes running it: a trap is the spec's uninstantiable module.
      if (this.options.startFunctions === true && moduleClass === null) await SpecInstance.create(bytes, this.options, this.host);
      else await VirtualMachinePrototype.create(vmConfig(bytes, this.options, this.host));
    } catch (e) {
      if (e instanceof StartFunctionTrapped) {
        return command.type === 'assert_uninstantiable'
          ? passed
          : fail(`expected a refusal of kind ${expected.join(' | ')} ("${command.text}"), got ${e.message}`);
      }
      const kind = newErrorKind(e);
      this.observed = kind === null ? 'threw' : `refused ${kind}`;
      if (kind !== null && expected.includes(kind)) return passed;
      // Refused for a reason of its skip class before the spec's reason could be reached: only
      // possible for link- and instantiation-time reasons, which come after the VM's module
      // rules. Invalid and malformed modules must be caught by validation, which comes first.
      const linkTime = command.type === 'assert_unlinkable' || command.type === 'assert_uninstantiable';
      if (linkTime && kind !== null && moduleClass?.refusals.includes(kind)) {
        return skip(moduleClass.reason, `refused: ${kind}`);
      }
      return fail(`expected a refusal of kind ${expected.join(' | ')} ("${command.text}"), got ${describeError(e)}`);
    }
    this.observed = 'accepted';
    return fail(`the VM accepted the module; expected a refusal of kind ${expected.join(' | ')} ("${command.text}")`);
  }
}

/**
 * `true` for a refusal the suite expects that a feature enabled in this run lifts: the 2019
 * bulk-memory suite calls a module with several tables invalid, which reference types made
 * valid. (Run with each proposal's own features, as `npm test` does, nothing is lifted.)
 */
function liftedByFeatures(command: AssertRefusalCommand, features: FeaturesOption): boolean {
  return command.type === 'assert_invalid' && command.text === 'multiple tables' && featureNames(features).includes('reference-types');
}

/** Runs `script` and returns its tally and failures. Never throws for a command's failure. */
export async function runScript(script: Script, options: RunOptions): Promise<ScriptResult> {
  const started = performance.now();
  const run = new ScriptRun(script, options);
  await run.run();
  return {
    script: script.name,
    tally: run.tally,
    failures: run.failures,
    skips: run.skips,
    observations: run.observations,
    fuel: run.fuel,
    interrupts: run.interrupts,
    milliseconds: performance.now() - started,
  };
}
