/**
 * A paused call as data: everything that makes an instance paused at an interrupt what it is,
 * taken out of one instance ({@link capturePausedCall}) and put into another
 * ({@link applyPausedCall}). `vm.fork()` does both at once; `vm.snapshot()` and
 * `VirtualMachine.restore()` put the bytes of `snapshot-format.ts` in between.
 *
 * What it holds, on a backend whose paused stack is plain data (`VmBackend.snapshots`: Asyncify):
 *
 * - **the call**: which export (or the start function), its parameters and result types, and
 *   the arguments it was called with (the rewind calls the same export again);
 * - **the instance's history that matters**: whether the start function is pending, finished
 *   or trapped, and with `VmConfig.journal` the journal so far;
 * - **the memory**: its size in pages and every byte of it;
 * - **every global the compiled module exports**: the guest's own, the mutable ones the
 *   transform exports so that they can be put back, and the counters the code rewrite adds;
 *   immutable ones are carried too and never differ (a snapshot of another module is refused);
 * - **the paused stack** ({@link PausedStack}): the import and its raw arguments, the pause
 *   mechanism's state, the saved frames and their header, wherever the driver keeps them.
 *
 * Tables are not carried: they cannot change unless the module uses `table.set`, `table.grow`,
 * ... or drops segments (`BaseComponents.resetBlocker`), and such a module cannot be captured
 * (`SnapshotError('Unsupported')`). Neither is what the host keeps outside the instance: the
 * state of its inline imports and, say, the Substrate layer's call context, which that layer
 * carries beside the snapshot itself.
 *
 * @module
 */

import type { ExportInfo } from '../base/components.js';
import { SnapshotError } from '../base/errors.js';
import { HOST_DATA, PAGE_SIZE } from '../base/guest-memory-access.js';
import { type Signature, type ValueType, describeBadValue, toSignature } from '../base/values.js';
import type { ExportedFunction, PausedStack } from '../backends/call-driver.js';
import type { LiveInstance, StartFunctionState } from './live-instance.js';

/** Which call is paused: an export by its original name, or the module's start function (`null`). */
export interface PausedCallee {
  readonly functionName: string | null;
  readonly signature: Signature;
  /** The call's arguments, in the engine's representation. */
  readonly args: readonly unknown[];
}

/** See the module documentation. */
export interface PausedCall {
  readonly callee: PausedCallee;
  readonly startFunction: StartFunctionState;
  readonly pages: number;
  /** The guest's memory: a copy, or (for a fork) a view valid until the source changes. */
  readonly memory: Uint8Array;
  /** Every exported global, by export name, in the compiled module's export order. */
  readonly globals: readonly (readonly [string, number | bigint])[];
  readonly stack: PausedStack;
  /** With `VmConfig.journal`: the events so far (`call-journal.ts`); else `null`. */
  readonly journal: Uint8Array | null;
}

/**
 * The paused call of `live`, which must be paused at an interrupt inside `callee`. `copy`: the
 * memory is copied (a snapshot), else viewed in place (a fork, which copies it once into the new
 * instance), on a backend whose paused stack is data (the caller checks). Throws
 * {@link SnapshotError} `Unsupported` for state a snapshot cannot carry.
 */
export function capturePausedCall(live: LiveInstance, callee: PausedCallee, copy: boolean, what: string): PausedCall {
  if (live.components.metering !== null) {
    // Not yet carried: the counters and the fuel given would have to travel with the call.
    throw new SnapshotError(
      'Unsupported',
      `${what}: the prototype was created with fuel or a stack limit (VmConfig.fuel, maxStackHeight), whose counters a snapshot does not carry yet`,
    );
  }
  if (live.components.resetBlocker !== null) {
    throw new SnapshotError(
      'Unsupported',
      `${what}: the module can change its tables or drop its segments (${live.components.resetBlocker}), which a snapshot cannot carry`,
    );
  }
  const globals: [string, number | bigint][] = [];
  for (const [name, global] of live.exportedGlobals()) {
    const value = global.value as unknown;
    if (typeof value !== 'number' && typeof value !== 'bigint') {
      throw new SnapshotError('Unsupported', `${what}: the global exported as ${JSON.stringify(name)} holds a reference, which a snapshot cannot carry`);
    }
    globals.push([name, value]);
  }
  const bytes = live.memory.guestBytes();
  return {
    callee,
    startFunction: live.startFunction,
    pages: live.memory.memorySize(),
    memory: copy ? bytes.slice() : bytes,
    globals,
    stack: live.driver.pausedStack(),
    journal: live.journal === null ? null : live.journal.events(),
  };
}

/**
 * The function `callee` names on `live`, with its signature; or why it cannot be called there
 * (for a snapshot of another module or with other options, which must have been refused before).
 */
export function calleeOn(live: LiveInstance, callee: PausedCallee): { fn: ExportedFunction } | string {
  if (callee.functionName === null) {
    return live.components.startFunction ? { fn: live.startFunctionExport() } : 'the module has no start function';
  }
  const info: ExportInfo | undefined = live.components.exports.get(callee.functionName);
  if (info === undefined || info.kind !== 'function') return `the module exports no function named ${JSON.stringify(callee.functionName)}`;
  const signature = toSignature(info.signature!, live.components.floats);
  if (typeof signature === 'string' || !sameSignature(signature, callee.signature)) {
    return `the function ${JSON.stringify(callee.functionName)} has another signature`;
  }
  return { fn: live.exportValue(callee.functionName, info) as ExportedFunction };
}

/**
 * Why `call` cannot be put into `live` (another module's globals or function, a memory past its
 * maximum or smaller than `live`'s, a stack that does not fit its buffer), or `null` if it can.
 * Changes nothing.
 */
export function whyNotApplicable(live: LiveInstance, call: PausedCall): string | null {
  const callee = calleeOn(live, call.callee);
  if (typeof callee === 'string') return callee;
  if (!fits(call.callee.signature.params, call.callee.args)) return "the call's arguments do not fit its signature";
  const names = live.exportedGlobals().map(([name]) => name);
  if (names.join('\n') !== call.globals.map(([name]) => name).join('\n')) return 'the module exports other globals';
  if (call.memory.length !== call.pages * PAGE_SIZE) return `the memory holds ${call.memory.length} bytes for ${call.pages} pages`;
  const maximum = !live.memory.present ? 0 : (live.memory.maximumPages ?? 65536);
  if (call.pages > maximum) return `the memory has ${call.pages} pages, past the module's maximum of ${maximum}`;
  if (live.components.startFunction !== (call.startFunction !== 'none')) return "the start function's state does not fit the module";
  const imported = live.components.imports[call.stack.importIndex];
  if (imported === undefined || imported.inline !== null) return `the call is paused at import ${call.stack.importIndex}, which is not a pausing import`;
  if (!fits(imported.signature.params, call.stack.args)) return "the paused import's arguments do not fit its signature";
  return live.driver.checkPausedStack(call.stack);
}

/** Whether {@link applyPausedCall} needs a new instance: `live`'s memory is larger than the call's (a memory cannot shrink). */
export function needsNewInstance(live: LiveInstance, call: PausedCall): boolean {
  return live.memory.memorySize() > call.pages;
}

/**
 * Makes `live` (checked by {@link whyNotApplicable}, not larger than the call's memory, with no
 * call in progress) paused at `call`: memory grown and written, globals set, the start function's
 * state and the journal taken over, the paused stack handed to the driver for the next resume.
 * Throws {@link SnapshotError} `Corrupted` if the instance refuses a value (an immutable global
 * that differs, which only a forged snapshot can hold): the instance must then be discarded.
 */
export function applyPausedCall(live: LiveInstance, call: PausedCall): void {
  const memory = live.memory;
  const grow = call.pages - memory.memorySize();
  if (grow > 0) memory.growUnrecorded(grow);
  if (call.memory.length > 0) memory.guestBytes().set(call.memory, 0);
  const globals = live.exportedGlobals();
  for (let i = 0; i < globals.length; i++) {
    const global = globals[i]![1];
    const value = call.globals[i]![1];
    if (Object.is(global.value, value)) continue;
    try {
      global.value = value;
    } catch (e) {
      throw new SnapshotError('Corrupted', `the global exported as ${JSON.stringify(globals[i]![0])} cannot take the value ${String(value)}`, {
        cause: e,
      });
    }
  }
  live.startFunction = call.startFunction;
  memory[HOST_DATA] = undefined;
  if (live.journal !== null) {
    if (call.journal === null) live.journal.clear();
    else live.journal.load(call.journal);
  }
  const callee = calleeOn(live, call.callee) as { fn: ExportedFunction };
  live.driver.restorePausedStack(callee.fn, call.callee.args, call.stack);
}

/** Whether `raw` are values of `types`, one each. */
function fits(types: readonly ValueType[], raw: readonly unknown[]): boolean {
  return raw.length === types.length && types.every((type, i) => describeBadValue(type, raw[i]) === null);
}

function sameSignature(a: Signature, b: Signature): boolean {
  return a.result === b.result && a.params.length === b.params.length && a.params.every((p: ValueType, i) => p === b.params[i]);
}
