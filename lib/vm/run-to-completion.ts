/**
 * The loop every host writes: run the call, answer each interrupt, until it finishes or traps.
 *
 * ```ts
 * const outcome = await runToCompletion(vm, ({ name, params }, memory) => {
 *   if (name === 'get_value') return WasmValue.i32(42);
 *   throw new Error(`unexpected import ${name}`);
 * });
 * ```
 *
 * It works on both backends, and the host may answer synchronously or with a promise; the host
 * is only ever asked while the guest is paused (never inside the guest's import call), exactly as
 * a loop over {@link VirtualMachine.runAsync} would ask it, which is how it behaves in every
 * respect but its cost (see `driveWithCallbacks`). Each interrupt comes with the name,
 * module and signature of the import the guest called, so a host needs no table from the ids
 * `symbols` gave back to the imports they stand for.
 *
 * @module
 */

import { UsageError } from '../base/errors.js';
import { CURRENT_BUFFER, type CurrentBufferAccess, type GuestMemoryAccess } from '../base/guest-memory-access.js';
import type { Signature, WasmValue } from '../base/values.js';
import type { ExecOutcome, VirtualMachine } from './virtual-machine.js';

/**
 * Where the host is asked from: a reaction to a settled promise is a job of the engine's own
 * microtask queue. `queueMicrotask` is no cheaper in Node.js, and in browsers it is a call into
 * the embedder measured at 1.1 µs in Chromium 153 and 3.5 µs in Firefox 153 a job, against
 * 0.04 and 0.5 µs for the reaction (`docs/performance.md`, Browsers).
 */
const settled = Promise.resolve();

/** An interrupt as {@link runToCompletion} hands it to the host. */
export interface Interrupt {
  /** The id `symbols` gave the import. */
  readonly id: number;
  /** The import's module name, as the guest wrote it. */
  readonly module: string;
  /** The import's field name, as the guest wrote it. */
  readonly name: string;
  /** The import's signature: what `params` are, and what the answer must be. */
  readonly signature: Signature;
  /** The arguments the guest passed. */
  readonly params: readonly WasmValue[];
}

/**
 * Answers one interrupt: the import's result (`null` for an import without result), or a
 * promise of it. `memory` is the paused guest's memory, valid until the answer is given (after
 * that it throws `UsageError('Consumed')`).
 */
export type InterruptHandler = (interrupt: Interrupt, memory: GuestMemoryAccess) => WasmValue | null | Promise<WasmValue | null>;

/** How a call driven by {@link runToCompletion} ended. */
export type CompletedOutcome = Exclude<ExecOutcome, { readonly type: 'interrupted' }>;

/**
 * Runs `vm`'s call from its start (or from the interrupt it is paused at) to its end, answering every
 * interrupt with `host`; resolves to the `finished` or `trapped` outcome. Rejects with what
 * `host` threw or rejected with, or with the `RunError` of an answer of the wrong type; the
 * machine is then left paused at that interrupt (use `intoPrototype()` to abandon the call, or
 * answer it yourself with `runAsync`).
 */
export function runToCompletion(vm: VirtualMachine, host: InterruptHandler): Promise<CompletedOutcome> {
  let synchronous: boolean;
  try {
    synchronous = vm._synchronousSteps();
  } catch (e) {
    return Promise.reject(e);
  }
  return synchronous ? driveSynchronously(vm, host) : driveWithCallbacks(vm, host);
}

/**
 * Asyncify: every step is synchronous, so after the first (through `runAsync`, in a promise job
 * like any) the loop calls `run()` and awaits only an answer that is a promise.
 */
async function driveSynchronously(vm: VirtualMachine, host: InterruptHandler): Promise<CompletedOutcome> {
  // A machine already paused (its owner ran some steps itself) continues from that interrupt.
  let outcome: ExecOutcome = vm._currentInterrupt() ?? (await vm.runAsync(null));
  while (outcome.type === 'interrupted') {
    let answer = ask(vm, host, outcome);
    if (isPromiseLike(answer)) answer = await answer;
    outcome = vm.run(answer);
  }
  return outcome;
}

/**
 * JSPI: a step ends in a promise job of the engine's, and the loop is written as callbacks on
 * it rather than as an `async` function awaiting `runAsync`, which costs a promise and a job of
 * its own per interrupt. Per interrupt: the step's outcome is recorded where the guest paused
 * (inside its import call, before the engine suspends the stack, so nothing else may run
 * there); the host is asked in the next job, once the stack is suspended; its answer resumes
 * the guest directly, or once it settles if it is a promise. Measured on Asset Hub's
 * `Metadata_metadata` (10,238 interrupts, memory reused, run alone): 3.9–4.1 ms a call, against
 * 4.2–4.6 ms for a loop over `runAsync` and 2.6–2.7 ms for the least a hand-written driver of
 * this shape does (see `docs/performance.md`).
 */
function driveWithCallbacks(vm: VirtualMachine, host: InterruptHandler): Promise<CompletedOutcome> {
  return new Promise<CompletedOutcome>((resolve, reject) => {
    let current: Extract<ExecOutcome, { readonly type: 'interrupted' }> | null = null;
    const resume = (answer: WasmValue | null): void => {
      try {
        vm._stepWith(answer, onOutcome, reject);
      } catch (e) {
        // Refused before the guest ran (a wrong answer): the machine is still paused.
        reject(e);
      }
    };
    const answerCurrent = (): void => {
      let answer: WasmValue | null | Promise<WasmValue | null>;
      try {
        answer = ask(vm, host, current!);
      } catch (e) {
        reject(e);
        return;
      }
      if (isPromiseLike(answer)) answer.then(resume, reject);
      else resume(answer);
    };
    const onOutcome = (outcome: ExecOutcome): void => {
      if (outcome.type === 'interrupted') {
        current = outcome;
        void settled.then(answerCurrent);
      } else {
        resolve(outcome);
      }
    };
    // A machine already paused (its owner ran some steps itself) continues from that interrupt.
    const paused = vm._currentInterrupt();
    if (paused === null) {
      resume(null);
    } else {
      current = paused as Extract<ExecOutcome, { readonly type: 'interrupted' }>;
      answerCurrent();
    }
  });
}

/**
 * Asks `host` for the answer to `interrupt`, the machine's memory valid until the answer is
 * given (a promise's settlement included).
 */
function ask(
  vm: VirtualMachine,
  host: InterruptHandler,
  interrupt: Extract<ExecOutcome, { readonly type: 'interrupted' }>,
): WasmValue | null | Promise<WasmValue | null> {
  const imported = vm._pausedImport()!;
  const view = new InterruptMemory(vm);
  let answer: WasmValue | null | Promise<WasmValue | null>;
  try {
    answer = host({ id: interrupt.id, module: imported.module, name: imported.name, signature: imported.signature, params: interrupt.params }, view);
  } catch (e) {
    view.revoke();
    throw e;
  }
  if (!isPromiseLike(answer)) {
    view.revoke();
    return answer;
  }
  return Promise.resolve(answer).finally(() => view.revoke());
}

function isPromiseLike(value: unknown): value is PromiseLike<WasmValue | null> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * The memory the host is handed with one interrupt: the machine's memory only (the host must not
 * be able to run or discard the call it is answering), valid until the interrupt is answered.
 * Its four accessors are own properties, so that a host may take them apart
 * (`const { readMemory } = memory`).
 */
class InterruptMemory implements GuestMemoryAccess, CurrentBufferAccess {
  #vm: VirtualMachine | null;
  constructor(vm: VirtualMachine) {
    this.#vm = vm;
  }
  readonly memorySize = (): number => this.#check().memorySize();
  readonly readMemory = (offset: number, size: number): Uint8Array => this.#check().readMemory(offset, size);
  readonly writeMemory = (offset: number, data: Uint8Array): void => this.#check().writeMemory(offset, data);
  readonly growMemory = (pages: number): void => this.#check().growMemory(pages);
  /** The library's own host code (its allocator) reads the buffer in place, as on the machine. */
  [CURRENT_BUFFER](): ArrayBuffer {
    return this.#check()[CURRENT_BUFFER]();
  }
  /** Ends the validity: the interrupt has been answered. */
  revoke(): void {
    this.#vm = null;
  }
  #check(): VirtualMachine {
    if (this.#vm === null) throw new UsageError('Consumed', 'this memory was handed over with an interrupt that has been answered since');
    return this.#vm;
  }
}
