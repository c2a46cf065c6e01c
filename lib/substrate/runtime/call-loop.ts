/**
 * The pause loop of one runtime call: `SubstrateRuntime.call` (and `runtimeCall`,
 * `callSuspendable`, `resumeCall`) start the entry point, then hand the started machine to
 * {@link driveSuspendableCall}, which runs it to its end or to the pause chosen to suspend it at.
 *
 * Every entry point of a Substrate runtime has the same shape: it takes `(ptr: i32, len: i32)`,
 * the place of its SCALE-encoded input in the runtime's memory, and returns an `i64`
 * pointer-size (`len << 32 | ptr`) designating its SCALE-encoded output. The loop:
 *
 * 1. runs the machine with the core's `runToCompletion`, which drives either backend the
 *    cheapest way. Inline host functions are answered without stopping. Each call to a pausing
 *    one **pauses** the call: the loop's answer runs that function's task (whatever the
 *    catalogue, `host/catalogue.ts`, gave for the import), waiting for each promise it yields
 *    (the JavaScript thread is free meanwhile), and hands back the result: synchronously when
 *    nothing had to be waited for, so that a synchronous provider costs no promise job;
 * 2. when the entry point returns, runs the call's end-of-call task (closing the storage
 *    overlay: see `host/state-access.ts`), checks that the pointer-size it returned is inside the
 *    memory and below `maxOutputSize`, and copies the output out.
 *
 * It knows nothing of instances, pools or host functions: what it is given is the machine, the
 * host function of each import and the call's context. A pause goes from the machine to the
 * loop's answer and back in one hop each way. A trap, a panic, a failing host function or a
 * hostile return value is a {@link RuntimeCallError} for this call only.
 *
 * ## Bounds
 *
 * A runtime is untrusted code. Its heap is bounded by the runtime's heap pages (the allocator
 * refuses past them, and each allocation past 32 MiB), every buffer it designates is checked to
 * lie inside its memory before it is read, and its output is read only if it is at most
 * `maxOutputSize` bytes (32 MiB by default: an honest runtime allocates its output through the
 * same allocator, whose largest block is 32 MiB).
 *
 * Time is bounded only with fuel: on a runtime created with `fuel: true`, a call given a `fuel`
 * budget pauses when it runs out (at the same instruction on every backend and engine), and
 * fails with `OutOfFuel` unless `onOutOfFuel` adds more. Without fuel, a runtime that loops
 * forever never returns to the host, and a caller that needs a deadline runs calls in a worker
 * it can terminate.
 *
 @module
 */

import { isPromiseLike } from '../../base/promise-like.js';
import { type CompletedOutcome, type Interrupt, RunError, type VirtualMachine, type WasmValue, runToCompletion } from '../../index.js';
import type { AllocationStats } from '../heap/allocator.js';
import type { CallContext, TransactionIndexOperation } from '../call/context.js';
import { RuntimeCallError, hostFunctionFailed } from '../errors.js';
import { type HostTask, type PausingHostFunction, type RawValue, type Wait, resultValue, toRuntimeCallError } from '../host/definition.js';
import type { HostCallEvent, HostFunctionHandler } from '../call/host-call-handler.js';
import type { RuntimeImport } from '../host/catalogue.js';
import type { LogEntry, LogLevelFilter } from '../call/log-entry.js';
import type { OffchainHost } from '../call/offchain-host.js';
import type { StorageDiff } from '../state/overlay.js';
import { describeOutOfRange, unpackPointerSize } from '../heap/pointer-size.js';
import type { MaybePromise, StorageProvider, StorageRead } from '../state/providers.js';

/** The default {@link RuntimeCallOptions.maxOutputSize}: 32 MiB, the largest block the heap allocator hands out. */
export const DEFAULT_MAX_OUTPUT_SIZE = 32 * 1024 * 1024;

/** Options of {@link runtimeCall}. */
export interface RuntimeCallOptions {
  /**
   * The state the call starts from (see `state/providers.ts`). Without it, a runtime that reads a key
   * it has not written fails with `UnsupportedHostFunction`. Its writes never reach it: they
   * are returned as {@link RuntimeCallResult.storageDiff}.
   */
  readonly storage?: StorageProvider;
  /** Answers every import this layer does not serve (see `call/host-call-handler.ts`). */
  readonly onHostCall?: HostFunctionHandler;
  /** Answers the offchain worker's host functions (see `call/offchain-host.ts`). */
  readonly offchain?: OffchainHost;
  /**
   * Answer signature verifications without checking them (for dry runs and tests), like
   * chopsticks's `mockSignatureHost`: `'all'` says every signature is valid, `'magic'` accepts
   * the signature `de ad be ef cd cd ...` and checks the others. Default: check them all.
   */
  readonly mockSignatures?: 'all' | 'magic';
  /**
   * The answer to `ext_storage_proof_size_storage_proof_size_version_1` (parachain runtimes ask
   * how large the storage proof of the block being built is). Without it, a runtime that asks
   * fails with `UnsupportedHostFunction`.
   */
  readonly storageProofSize?: bigint | number;
  /**
   * Reads the SCALE-encoded `RuntimeVersion` of other runtime code, for
   * `ext_misc_runtime_version_version_1`; `null` if it cannot be read. Default: the code's
   * version custom sections, else a `Core_version` call into a new `SubstrateRuntime`.
   */
  readonly runtimeVersion?: (code: Uint8Array) => MaybePromise<Uint8Array | null>;
  /** Receives the runtime's log entries up to `maxLogLevel`. */
  readonly onLog?: (entry: LogEntry) => void;
  /** The most verbose level the runtime is asked to log. Default `'info'` with `onLog`, `'off'` without. */
  readonly maxLogLevel?: LogLevelFilter;
  /**
   * Called for every host call as it happens, inline ones included (e.g. to show progress or
   * to print each interrupt). Costs a function call per host call; exceptions are ignored.
   */
  readonly trace?: (event: HostCallEvent) => void;
  /** The largest output accepted, in bytes. Default {@link DEFAULT_MAX_OUTPUT_SIZE}. */
  readonly maxOutputSize?: number;
  /** Aborts the call while it is paused (waiting for storage or for the handler). */
  readonly signal?: AbortSignal;
  /**
   * The call's fuel budget, on a runtime created with `fuel: true` (default: unbounded, the
   * consumption still counted). A call that runs out is paused and `onOutOfFuel` asked; without
   * a refill it fails with `RuntimeCallError('OutOfFuel')`.
   */
  readonly fuel?: bigint;
  /**
   * Asked, with the fuel consumed so far, each time the call runs out of its `fuel`: the fuel to
   * add (or a promise of it) to go on, or `null`/`0n` to end the call with `OutOfFuel`.
   */
  readonly onOutOfFuel?: (fuelConsumed: bigint) => bigint | null | undefined | Promise<bigint | null | undefined>;
}

/** What a successful {@link runtimeCall} returns. */
export interface RuntimeCallResult {
  /** The entry point's SCALE-encoded output, copied out of the runtime's memory. */
  readonly output: Uint8Array;
  /**
   * What the call wrote: its storage changes (main trie and child tries, child tries' new
   * roots included) and its offchain index writes. Apply it to the state with
   * `LayeredStorage` to run the next call on top of it.
   */
  readonly storageDiff: StorageDiff;
  /** The call's `ext_transaction_index_*` requests, in order. */
  readonly transactionIndex: readonly TransactionIndexOperation[];
  /**
   * The questions the call asked its storage provider (`get`, `nextKey`), each once, in the
   * order first asked: what a Merkle proof must answer for the call to be served from it
   * (`createReadProof`). Reads the call's own writes answered are not among them.
   */
  readonly storageReads: readonly StorageRead[];
  /** Host calls by import name (only imports that were called). */
  readonly hostCalls: ReadonlyMap<string, number>;
  /** All host calls, inline or not. */
  readonly totalHostCalls: number;
  /** How many times the call paused (pausing host functions and handler calls). */
  readonly pauses: number;
  /** The heap allocator's counters at the end of the call. */
  readonly heap: AllocationStats;
  /** Wall-clock time of the whole call, in milliseconds. */
  readonly durationMs: number;
  /** The fuel the call consumed, on a runtime created with `fuel: true`; else `null`. */
  readonly fuelConsumed: bigint | null;
  /** Of which waiting for asynchronous answers (promises from the storage provider, the offchain host or the handler). */
  readonly waitingMs: number;
}

/** What {@link driveSuspendableCall} is given: a started call and what it needs to answer its pauses. */
export interface StartedCall {
  /** The entry point's name, for messages. */
  readonly entryPoint: string;
  /** The machine, started and not yet run. */
  readonly vm: VirtualMachine;
  /** The runtime's function imports; a pause's id is an index into them. */
  readonly imports: readonly RuntimeImport[];
  /** The host function serving each import (same indexes); a pause's id is always a pausing one. */
  readonly functions: readonly PausingHostFunction[];
  /** The work to do once the entry point has returned (closing the call's storage changes). */
  readonly finish: () => HostTask;
  /** The call's context (allocator, counters, log and trace settings). */
  readonly context: CallContext;
}

/**
 * A pause of a runtime call, as {@link SuspendableCallOptions.suspend} sees it: a call of an
 * import the host answers while the runtime waits (a storage read, the storage root, an
 * offchain function, the `onHostCall` handler), before the host has done anything about it.
 */
export interface RuntimePause {
  /** The import's name, e.g. `ext_storage_get_version_1`. */
  readonly name: string;
  /** Its arguments as the runtime passed them (`i32` as a number, `i64` as a bigint). */
  readonly params: readonly (number | bigint)[];
  /** How many pauses the call made before this one (0 for its first). */
  readonly index: number;
}

/** Options of `SubstrateRuntime.callSuspendable` and `resumeCall`. */
export interface SuspendableCallOptions extends RuntimeCallOptions {
  /**
   * Asked at each pause, before the host answers it: `true` suspends the call there (see
   * `SuspendedRuntimeCall`). Default: never. A resumed call is not asked again about the pause
   * it was suspended at. Exceptions fail the call.
   */
  readonly suspend?: (pause: RuntimePause) => boolean;
}

/** How {@link driveSuspendableCall} ended: the call's result, or suspended at `pause`. */
export type DrivenCall =
  | { readonly type: 'finished'; readonly result: RuntimeCallResult }
  | { readonly type: 'suspended'; readonly pause: RuntimePause };

/** Thrown out of the interrupt handler to suspend the call. */
const SUSPEND = Symbol('suspend');

/**
 * Runs a started call to its end, answering each pause (see the module documentation), and
 * returns its checked output; or stops at a pause `options.suspend` chooses, leaving the machine
 * paused there before anything answered it. Rejects with {@link RuntimeCallError}. `started` is
 * the `performance.now()` at which the call began, for {@link RuntimeCallResult.durationMs}.
 * `resumed`: the machine was suspended (paused) at an interrupt after `resumed.pauses` pauses; it
 * is not asked again about that one.
 */
export async function driveSuspendableCall(
  call: StartedCall,
  options: SuspendableCallOptions,
  started: number,
  resumed: { readonly pauses: number } | null,
): Promise<DrivenCall> {
  const { entryPoint, vm, imports, functions, context } = call;
  const signal = options.signal;
  const maxOutputSize = options.maxOutputSize ?? DEFAULT_MAX_OUTPUT_SIZE;
  const clock = { waitingMs: 0 };
  const suspend = options.suspend ?? null;
  let pauses = resumed?.pauses ?? 0;
  let askSuspend = resumed === null;
  let suspendedAt: RuntimePause | null = null;
  const answer = (interrupt: Interrupt): WasmValue | null | Promise<WasmValue | null> => {
    throwIfAborted(signal, entryPoint);
    const slot = interrupt.id;
    const imported = imports[slot]!;
    const params = interrupt.params.map((p) => p.value);
    if (suspend !== null && askSuspend) {
      const pause: RuntimePause = { name: imported.name, params, index: pauses };
      let chosen: boolean;
      try {
        chosen = suspend(pause) === true;
      } catch (e) {
        throw hostFunctionFailed(imported.name, 'the suspend callback threw', e);
      }
      if (chosen) {
        suspendedAt = pause;
        throw SUSPEND;
      }
    }
    askSuspend = true;
    pauses += 1;
    context.record(slot, () => ({ name: imported.name, route: imported.route, params }));
    const raw = runTask(imported.name, () => functions[slot]!.run(context, vm, params), signal, entryPoint, clock);
    if (!isPromiseLike(raw)) return answerOf(imported, raw);
    return (raw as Promise<RawValue | undefined>).then((value) => answerOf(imported, value));
  };
  let outcome: CompletedOutcome;
  try {
    outcome = await runToCompletion(vm, answer, options.onOutOfFuel === undefined ? {} : { onOutOfFuel: options.onOutOfFuel });
  } catch (e) {
    if (e === SUSPEND && suspendedAt !== null) return { type: 'suspended', pause: suspendedAt };
    if (e instanceof RunError && e.kind === 'OutOfFuel') {
      const fuelConsumed = vm.fuelConsumed;
      const budget = options.fuel === undefined ? 'no budget' : `a budget of ${options.fuel}`;
      throw new RuntimeCallError('OutOfFuel', `${entryPoint} ran out of fuel after consuming ${fuelConsumed} units (${budget})`, {
        cause: e,
        fuelConsumed,
      });
    }
    throw e;
  }

  if (outcome.type === 'trapped') {
    const { trap } = outcome;
    if (trap.kind === 'HostFunction' && trap.cause instanceof RuntimeCallError) throw trap.cause;
    throw new RuntimeCallError('Trap', `${entryPoint} trapped: ${trap.message}`, { cause: trap });
  }
  const finished = outcome;
  await runTask(`the end of ${entryPoint}`, call.finish, signal, entryPoint, clock);
  const output = readOutput(vm, entryPoint, finished.value, maxOutputSize);
  const hostCalls = new Map<string, number>();
  let totalHostCalls = 0;
  context.counts.forEach((count, slot) => {
    if (count === 0) return;
    const name = imports[slot]!.name;
    hostCalls.set(name, (hostCalls.get(name) ?? 0) + count);
    totalHostCalls += count;
  });
  const result: RuntimeCallResult = {
    output,
    storageDiff: context.overlay.diff(),
    transactionIndex: [...context.transactionIndex],
    storageReads: [...context.storageReads],
    hostCalls,
    totalHostCalls,
    pauses,
    heap: context.allocator.stats(),
    durationMs: performance.now() - started,
    fuelConsumed: vm._fuelConsumedOrNull(),
    waitingMs: clock.waitingMs,
  };
  return { type: 'finished', result };
}

/**
 * The answer to the paused import `imported` from its function's raw result; a result of the
 * wrong type (from the `onHostCall` handler) is refused before the runtime sees it.
 */
function answerOf(imported: RuntimeImport, raw: RawValue | undefined): WasmValue | null {
  try {
    return resultValue(imported.signature.result, raw);
  } catch (e) {
    throw hostFunctionFailed(imported.name, 'the host answered with an unusable value', e);
  }
}

/**
 * Runs a host function's task to its end: each {@link Wait} it yields is awaited (abortably)
 * and its value sent back in. Returns the result itself when the task never waited, else a
 * promise of it. Whatever goes wrong becomes a {@link RuntimeCallError} naming `name`.
 */
function runTask(
  name: string,
  start: () => HostTask,
  signal: AbortSignal | undefined,
  entryPoint: string,
  clock: { waitingMs: number },
): RawValue | undefined | Promise<RawValue | undefined> {
  let task: HostTask;
  let step: IteratorResult<Wait, RawValue | undefined>;
  try {
    task = start();
    step = task.next();
  } catch (e) {
    throw toRuntimeCallError(name, e);
  }
  if (step.done) return step.value;
  return waitFor(name, task, step.value, signal, entryPoint, clock);
}

/** The rest of {@link runTask} once its task waits for a promise: `wait` first. */
async function waitFor(
  name: string,
  task: HostTask,
  wait: Wait,
  signal: AbortSignal | undefined,
  entryPoint: string,
  clock: { waitingMs: number },
): Promise<RawValue | undefined> {
  for (;;) {
    const waitStarted = performance.now();
    let settled: unknown;
    try {
      settled = await abortable(wait.promise, signal, entryPoint);
    } catch (e) {
      if (e instanceof RuntimeCallError && e.kind === 'Aborted') throw e;
      throw hostFunctionFailed(name, `${wait.who} rejected`, e);
    } finally {
      clock.waitingMs += performance.now() - waitStarted;
    }
    let step: IteratorResult<Wait, RawValue | undefined>;
    try {
      step = task.next(settled);
    } catch (e) {
      throw toRuntimeCallError(name, e);
    }
    if (step.done) return step.value;
    wait = step.value;
  }
}

/** Step 2: the output the finished call designates, after checking it. */
function readOutput(vm: VirtualMachine, entryPoint: string, value: WasmValue | null, maxOutputSize: number): Uint8Array {
  if (value?.type !== 'i64') {
    throw new RuntimeCallError(
      'InvalidEntryPoint',
      `${entryPoint} returned ${value === null ? 'nothing' : `an ${value.type}`}, not an i64 pointer-size`,
    );
  }
  const range = unpackPointerSize(value.value);
  if (range.length > maxOutputSize) {
    throw new RuntimeCallError(
      'OutputTooLarge',
      `${entryPoint} returned an output of ${range.length} bytes, more than maxOutputSize (${maxOutputSize} bytes)`,
    );
  }
  const problem = describeOutOfRange(vm, range);
  if (problem !== null) throw new RuntimeCallError('InvalidOutput', `${entryPoint} returned an output that is out of range: ${problem}`);
  return vm.readMemory(range.pointer, range.length);
}

/** Throws `Aborted` if `signal` has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, entryPoint: string): void {
  if (signal?.aborted === true) {
    throw new RuntimeCallError('Aborted', `the call to ${entryPoint} was aborted`, { cause: signal.reason });
  }
}

/** `promise`, or an `Aborted` error as soon as `signal` aborts. */
function abortable<T>(promise: PromiseLike<T>, signal: AbortSignal | undefined, entryPoint: string): Promise<T> {
  if (signal === undefined) return Promise.resolve(promise);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new RuntimeCallError('Aborted', `the call to ${entryPoint} was aborted`, { cause: signal.reason }));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(promise).then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

