/**
 * The pause loop of one runtime call: `SubstrateRuntime.call` (and `runtimeCall`) start the
 * entry point, then hand the started machine to {@link driveCall}, which runs it to its end.
 *
 * Every entry point of a Substrate runtime has the same shape: it takes `(ptr: i32, len: i32)`,
 * the place of its SCALE-encoded input in the runtime's memory, and returns an `i64`
 * pointer-size (`len << 32 | ptr`) designating its SCALE-encoded output. The loop:
 *
 * 1. runs the machine. Allocator, hashing and logging calls are answered inline, without
 *    stopping. Each storage read, and each call to a function the caller's `onHostCall` handler
 *    serves, **pauses** the call: the loop asks the provider or the handler, awaits the answer if
 *    it is a promise (the JavaScript thread is free meanwhile), writes it into the runtime's
 *    memory and resumes;
 * 2. when the entry point returns, checks that the pointer-size it returned is inside the memory
 *    and below `maxOutputSize`, and copies the output out.
 *
 * It knows nothing of instances or pools: what it is given is the machine, the runtime's
 * imports, the call's context and the function that runs one step with that context active.
 * A trap, a panic, a failing host function or a hostile return value is a
 * {@link RuntimeCallError} for this call only.
 *
 * ## Bounds
 *
 * A runtime is untrusted code. Its heap is bounded by the runtime's heap pages (the allocator
 * refuses past them, and each allocation past 32 MiB), every buffer it designates is checked to
 * lie inside its memory before it is read, and its output is read only if it is at most
 * `maxOutputSize` bytes (32 MiB by default: an honest runtime allocates its output through the
 * same allocator, whose largest block is 32 MiB).
 *
 * What is not bounded is time: a runtime that loops forever never returns to the host. A caller
 * that needs a deadline runs calls in a worker it can terminate.
 *
 * @module
 */

import type { ExecOutcome, VirtualMachine, WasmValue } from '../index.js';
import type { AllocationStats } from './allocator.js';
import type { CallContext } from './call-context.js';
import { RuntimeCallError, hostFunctionFailed } from './errors.js';
import type { HostCall, HostCallEvent, HostFunctionHandler } from './host-call.js';
import type { RuntimeImport } from './host-functions.js';
import type { LogEntry, LogLevelFilter } from './logging.js';
import { describeOutOfRange, packPointerSize, readPointerSize, unpackPointerSize } from './pointer-size.js';
import { type StorageProvider, STORAGE_FUNCTIONS, readStorageRequest, writeStorageAnswer } from './storage.js';

/** The default {@link RuntimeCallOptions.maxOutputSize}: 32 MiB, the largest block the heap allocator hands out. */
export const DEFAULT_MAX_OUTPUT_SIZE = 32 * 1024 * 1024;

/** Options of {@link runtimeCall}. */
export interface RuntimeCallOptions {
  /** Answers storage reads. Without it, a runtime that reads storage fails with `UnsupportedHostFunction`. */
  readonly storage?: StorageProvider;
  /** Answers every import that is neither built in nor a storage read (see `host-call.ts`). */
  readonly onHostCall?: HostFunctionHandler;
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
}

/** What a successful {@link runtimeCall} returns. */
export interface RuntimeCallResult {
  /** The entry point's SCALE-encoded output, copied out of the runtime's memory. */
  readonly output: Uint8Array;
  /** Host calls by import name (only imports that were called). */
  readonly hostCalls: ReadonlyMap<string, number>;
  /** All host calls, inline or not. */
  readonly totalHostCalls: number;
  /** How many times the call paused (storage reads and handler calls). */
  readonly pauses: number;
  /** The heap allocator's counters at the end of the call. */
  readonly heap: AllocationStats;
  /** Wall-clock time of the whole call, in milliseconds. */
  readonly durationMs: number;
  /** Of which waiting for asynchronous answers (promises from the storage provider or the handler). */
  readonly waitingMs: number;
}

/** What {@link driveCall} is given: a started call and what it needs to answer its pauses. */
export interface StartedCall {
  /** The entry point's name, for messages. */
  readonly entryPoint: string;
  /** The machine, started and not yet run. */
  readonly vm: VirtualMachine;
  /** The runtime's function imports; a pause's id is an index into them. */
  readonly imports: readonly RuntimeImport[];
  /** The call's context (allocator, counters, log and trace settings). */
  readonly context: CallContext;
  /**
   * Runs one step of `vm` with the call's context active for the inline host functions: the
   * outcome itself on Asyncify, a promise of it on JSPI.
   */
  readonly step: (value: WasmValue | null) => ExecOutcome | Promise<ExecOutcome>;
}

/**
 * Runs a started call to its end, answering each pause (see the module documentation), and
 * returns its checked output. Rejects with {@link RuntimeCallError}. `started` is the
 * `performance.now()` at which the call began, for {@link RuntimeCallResult.durationMs}.
 */
export async function driveCall(call: StartedCall, options: RuntimeCallOptions, started: number): Promise<RuntimeCallResult> {
  const { entryPoint, vm, imports, context } = call;
  const signal = options.signal;
  const maxOutputSize = options.maxOutputSize ?? DEFAULT_MAX_OUTPUT_SIZE;
  let pauses = 0;
  let waitingMs = 0;
  // On Asyncify a step returns its outcome directly: awaiting it would cost a promise job per pause.
  const first = call.step(null);
  let outcome = first instanceof Promise ? await first : first;
  while (outcome.type === 'interrupted') {
    throwIfAborted(signal, entryPoint);
    const imported = imports[outcome.id]!;
    const params = outcome.params;
    pauses += 1;
    context.record(outcome.id, () => ({ name: imported.name, route: imported.route, params: params.map((p) => p.value) }));
    const pending =
      imported.route === 'storage'
        ? askStorage(imported, vm, params, options.storage, context)
        : askHandler(imported, vm, params, options.onHostCall, context);
    let answer: WasmValue | null;
    if (pending.waitFor === undefined) {
      answer = pending.complete(undefined);
    } else {
      const waitStarted = performance.now();
      let settled: unknown;
      try {
        settled = await abortable(pending.waitFor, signal, entryPoint);
      } catch (e) {
        if (e instanceof RuntimeCallError && e.kind === 'Aborted') throw e;
        throw hostFunctionFailed(imported.name, `${pending.who} rejected`, e);
      } finally {
        waitingMs += performance.now() - waitStarted;
      }
      answer = pending.complete(settled);
    }
    try {
      const next = call.step(answer);
      outcome = next instanceof Promise ? await next : next;
    } catch (e) {
      // Only a value of the wrong type gets here (RunError): the handler's fault.
      throw hostFunctionFailed(imported.name, `${pending.who} answered with an unusable value`, e);
    }
  }

  if (outcome.type === 'trapped') {
    const { trap } = outcome;
    if (trap.kind === 'HostFunction' && trap.cause instanceof RuntimeCallError) throw trap.cause;
    throw new RuntimeCallError('Trap', `${entryPoint} trapped: ${trap.message}`, { cause: trap });
  }
  const output = readOutput(vm, entryPoint, outcome.value, maxOutputSize);
  const hostCalls = new Map<string, number>();
  let totalHostCalls = 0;
  context.counts.forEach((count, slot) => {
    if (count === 0) return;
    const name = imports[slot]!.name;
    hostCalls.set(name, (hostCalls.get(name) ?? 0) + count);
    totalHostCalls += count;
  });
  return {
    output,
    hostCalls,
    totalHostCalls,
    pauses,
    heap: context.allocator.stats(),
    durationMs: performance.now() - started,
    waitingMs,
  };
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

/**
 * A paused call's question, asked: either answered already (`waitFor` undefined) or waiting for
 * a promise. `complete` turns what was answered into the value to resume with, writing into the
 * runtime's memory if needed; it runs only while the call is still paused, never after an abort.
 */
interface Pending {
  readonly waitFor: PromiseLike<unknown> | undefined;
  readonly complete: (answer: unknown) => WasmValue | null;
  /** Who answers, for error messages. */
  readonly who: string;
}

function askStorage(
  imported: RuntimeImport,
  vm: VirtualMachine,
  params: readonly WasmValue[],
  storage: StorageProvider | undefined,
  context: CallContext,
): Pending {
  const name = imported.name;
  let request;
  try {
    request = readStorageRequest(name, vm, params);
  } catch (e) {
    throw hostFunctionFailed(name, 'bad arguments', e);
  }
  const question = STORAGE_FUNCTIONS.get(name)!.question;
  if (storage === undefined) {
    throw new RuntimeCallError('UnsupportedHostFunction', `the runtime reads storage (${name}) but the call has no storage provider`, {
      function: name,
    });
  }
  if (question === 'nextKey' && typeof storage.nextKey !== 'function') {
    throw new RuntimeCallError('UnsupportedHostFunction', `the runtime calls ${name} but the storage provider has no nextKey method`, {
      function: name,
    });
  }
  const who = 'the storage provider';
  let answer: unknown;
  try {
    answer = question === 'nextKey' ? storage.nextKey!(request.key, request.childTrie) : storage.get(request.key, request.childTrie);
  } catch (e) {
    throw hostFunctionFailed(name, `${who} threw`, e);
  }
  const complete = (value: unknown): WasmValue => {
    if (value !== null && value !== undefined && !(value instanceof Uint8Array)) {
      throw hostFunctionFailed(name, `${who} answered ${describe(value)}; expected a Uint8Array, null or undefined`);
    }
    try {
      return writeStorageAnswer(request, value ?? null, vm, context.allocator);
    } catch (e) {
      throw hostFunctionFailed(name, 'the answer could not be handed to the runtime', e);
    }
  };
  return isThenable(answer) ? { waitFor: answer, complete, who } : { waitFor: undefined, complete: () => complete(answer), who };
}

function askHandler(
  imported: RuntimeImport,
  vm: VirtualMachine,
  params: readonly WasmValue[],
  handler: HostFunctionHandler | undefined,
  context: CallContext,
): Pending {
  const name = imported.name;
  const unsupported = (): RuntimeCallError =>
    new RuntimeCallError(
      'UnsupportedHostFunction',
      `the runtime called "${imported.module}"."${name}", which this host does not serve` +
        (handler === undefined ? ' (no onHostCall handler was given)' : ' (the onHostCall handler declined it)'),
      { function: name },
    );
  if (handler === undefined) throw unsupported();
  const call: HostCall = {
    module: imported.module,
    name,
    signature: imported.signature,
    params,
    // The memory only: the handler must not be able to run or discard the paused call.
    memory: {
      memorySize: () => vm.memorySize(),
      readMemory: (offset, size) => vm.readMemory(offset, size),
      writeMemory: (offset, data) => vm.writeMemory(offset, data),
      growMemory: (pages) => vm.growMemory(pages),
    },
    readBuffer: (index) => {
      const param = params[index];
      if (param?.type !== 'i64') throw new RangeError(`argument ${index} of ${name} is not a pointer-size`);
      return readPointerSize(vm, param.value, `argument ${index} of ${name}`);
    },
    allocate: (data) => {
      const pointer = context.allocator.malloc(vm, data.length);
      vm.writeMemory(pointer, data);
      return pointer;
    },
    allocatePointerSize: (data) => packPointerSize(call.allocate(data), data.length),
  };
  const who = 'the onHostCall handler';
  let answer: unknown;
  try {
    answer = handler(call);
  } catch (e) {
    if (e instanceof RuntimeCallError) throw e;
    throw hostFunctionFailed(name, `${who} threw`, e);
  }
  const complete = (value: unknown): WasmValue | null => {
    if (value === undefined) throw unsupported();
    return value as WasmValue | null;
  };
  return isThenable(answer) ? { waitFor: answer, complete, who } : { waitFor: undefined, complete: () => complete(answer), who };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value === 'object' ? Object.prototype.toString.call(value) : typeof value;
}

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
