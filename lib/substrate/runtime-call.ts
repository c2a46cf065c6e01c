/**
 * One call into a runtime: `runtimeCall(runtime, 'Metadata_metadata', input, options)`.
 *
 * Every entry point of a Substrate runtime has the same shape: it takes `(ptr: i32, len: i32)`,
 * the place of its SCALE-encoded input in the runtime's memory, and returns an `i64`
 * pointer-size (`len << 32 | ptr`) designating its SCALE-encoded output. A call therefore goes:
 *
 * 1. take a fresh instance, create the call's heap allocator, allocate the input in the heap and
 *    write it there;
 * 2. start the entry point with `(ptr, len)` and run it. Allocator, hashing and logging calls
 *    are answered inline, without stopping. Each storage read, and each call to a function the
 *    caller's `onHostCall` handler serves, **pauses** the call: `runtimeCall` asks the provider
 *    or the handler, awaits the answer if it is a promise (the JavaScript thread is free
 *    meanwhile), writes it into the runtime's memory and resumes;
 * 3. when the entry point returns, check that the pointer-size it returned is inside the memory
 *    and below `maxOutputSize`, and copy the output out.
 *
 * Whatever happens, the instance is discarded afterwards and the runtime stays usable: a trap,
 * a panic, a failing host function or a hostile return value is a {@link RuntimeCallError}
 * for this call only.
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

import { StartError, UsageError } from '../errors.js';
import type { VirtualMachine } from '../virtual-machine.js';
import { WasmValue } from '../values.js';
import { type AllocationStats, AllocatorError, FreeingBumpAllocator } from './allocator.js';
import type { CallContext } from './call-context.js';
import { RuntimeCallError, RuntimeVersionError, hostFunctionFailed } from './errors.js';
import type { HostCall, HostCallEvent, HostFunctionHandler } from './host-call.js';
import { type LogEntry, type LogLevelFilter, levelFilterNumber } from './logging.js';
import { describeOutOfRange, packPointerSize, readPointerSize, unpackPointerSize } from './pointer-size.js';
import type { RuntimeImport, SubstrateRuntime } from './runtime.js';
import { type RuntimeVersion, decodeRuntimeVersion } from './runtime-version.js';
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

/**
 * Calls the entry point `entryPoint` of `runtime` with the SCALE-encoded `input`; see the module
 * documentation. Rejects with {@link RuntimeCallError}, or `UsageError` for bad arguments.
 */
export async function runtimeCall(
  runtime: SubstrateRuntime,
  entryPoint: string,
  input: Uint8Array = new Uint8Array(),
  options: RuntimeCallOptions = {},
): Promise<RuntimeCallResult> {
  if (typeof entryPoint !== 'string') throw new UsageError('InvalidArgument', 'runtimeCall: the entry point must be a string');
  if (!(input instanceof Uint8Array)) throw new UsageError('InvalidArgument', 'runtimeCall: the input must be a Uint8Array');
  const maxOutputSize = options.maxOutputSize ?? DEFAULT_MAX_OUTPUT_SIZE;
  if (!Number.isSafeInteger(maxOutputSize) || maxOutputSize < 0) {
    throw new UsageError('InvalidArgument', `runtimeCall: maxOutputSize must be a non-negative integer, got ${String(maxOutputSize)}`);
  }
  const signal = options.signal;
  throwIfAborted(signal, entryPoint);
  const started = performance.now();

  const context: CallContext = {
    allocator: new FreeingBumpAllocator(runtime.heapBase, { maxMemoryPages: runtime.memoryTotalPages }),
    counts: new Uint32Array(runtime.imports.length),
    onLog: options.onLog ?? null,
    maxLogLevel: levelFilterNumber(options.maxLogLevel ?? (options.onLog === undefined ? 'off' : 'info')),
    trace: options.trace ?? null,
  };

  const vm = startCall(runtime, context.allocator, entryPoint, input);
  let pauses = 0;
  let waitingMs = 0;
  try {
    let outcome = runtime._run(vm, null, context);
    while (outcome.type === 'interrupted') {
      throwIfAborted(signal, entryPoint);
      const imported = runtime.imports[outcome.id]!;
      context.counts[outcome.id]! += 1;
      pauses += 1;
      if (context.trace !== null) {
        const event = { name: imported.name, route: imported.route, params: outcome.params.map((p) => p.value) };
        try {
          context.trace(event);
        } catch {
          // Tracing is a side channel.
        }
      }
      const pending =
        imported.route === 'storage'
          ? askStorage(imported, vm, outcome.params, options.storage, context)
          : askHandler(imported, vm, outcome.params, options.onHostCall, context);
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
        outcome = runtime._run(vm, answer, context);
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
      const name = runtime.imports[slot]!.name;
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
  } finally {
    // A fresh instance for the next call, whatever state this one ended in. If even that fails
    // (the engine cannot allocate a memory), the next call clones one itself; the error that
    // ended this call is the one to report.
    try {
      runtime._returnInstance(vm.intoPrototype());
    } catch {
      // See above.
    }
  }
}

/**
 * Calls `Core_version` and decodes its output. `SubstrateRuntime.create` uses it for runtimes
 * without the version custom sections; it is also how to check those sections against the
 * code. Rejects with {@link RuntimeVersionError}: `CoreVersionFailed` (with the
 * {@link RuntimeCallError} as `cause`) or `InvalidEncoding`.
 */
export async function coreVersion(runtime: SubstrateRuntime, options: RuntimeCallOptions = {}): Promise<RuntimeVersion> {
  let output: Uint8Array;
  try {
    ({ output } = await runtimeCall(runtime, 'Core_version', new Uint8Array(), options));
  } catch (e) {
    if (!(e instanceof RuntimeCallError)) throw e;
    throw new RuntimeVersionError('CoreVersionFailed', `calling Core_version failed: ${e.message}`, e);
  }
  return decodeRuntimeVersion(output);
}

/** Steps 1 and 2 of the module documentation, up to the started (not yet run) call. */
function startCall(runtime: SubstrateRuntime, allocator: FreeingBumpAllocator, entryPoint: string, input: Uint8Array): VirtualMachine {
  const prepare = runtime._takeInstance().prepare();
  let pointer: number;
  try {
    pointer = allocator.malloc(prepare, input.length);
    prepare.writeMemory(pointer, input);
  } catch (e) {
    runtime._returnInstance(prepare.intoPrototype());
    if (!(e instanceof AllocatorError)) throw e;
    throw new RuntimeCallError('InputTooLarge', `the ${input.length}-byte input does not fit in the runtime's heap: ${e.message}`, {
      cause: e,
    });
  }
  try {
    return prepare.start(entryPoint, [WasmValue.i32(pointer), WasmValue.i32(input.length)]);
  } catch (e) {
    if (!(e instanceof StartError)) throw e;
    // The failed start's instance holds the input: let it go (the next call clones a fresh one).
    if (e.kind === 'FunctionNotFound') {
      throw new RuntimeCallError('EntryPointNotFound', `the runtime has no entry point named ${JSON.stringify(entryPoint)}`, {
        cause: e,
      });
    }
    throw new RuntimeCallError(
      'InvalidEntryPoint',
      `${JSON.stringify(entryPoint)} is not an entry point (a function (i32, i32) -> i64): ${e.message}`,
      { cause: e },
    );
  }
}

/** Step 3: the output the finished call designates, after checking it. */
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

function throwIfAborted(signal: AbortSignal | undefined, entryPoint: string): void {
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
