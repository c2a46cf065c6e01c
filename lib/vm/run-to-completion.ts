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
 * respect but its cost. Each interrupt comes with the name, module and signature of the import
 * the guest called, so a host needs no table from the ids `symbols` gave back to the imports
 * they stand for.
 *
 * ## How it drives the machine
 *
 * One {@link Completion} per call is the receiver of every step (`StepReceiver`): no promise and
 * no job of its own per interrupt. The machine hands it each interrupt where the step ended; the
 * only thing that differs between backends is *where* that is, and the step says so itself:
 *
 * - inside the guest's import call (JSPI's pause, before the engine suspended the stack): the
 *   interrupt is recorded and the host asked in the next job, once the stack is suspended; its
 *   answer resumes the guest directly, or once it settles if it is a promise;
 * - before the step returned, outside the guest (Asyncify): the host is asked at once, and while
 *   it answers synchronously and the steps end synchronously, the loop goes on without a job,
 *   without growing the stack.
 *
 * Measured on Asset Hub's `Metadata_metadata` (10,238 interrupts, memory reused), see
 * `docs/performance.md` against a hand-written driver of the same shape with no library.
 *
 * @module
 */

import type { ResolvedImport } from '../base/components.js';
import { RunError, UsageError } from '../base/errors.js';
import { CURRENT_VIEW, type CurrentViewAccess, type GuestMemoryAccess } from '../base/guest-memory-access.js';
import { isPromiseLike, nextJob } from '../base/promise-like.js';
import type { Signature, WasmValue } from '../base/values.js';
import type { Pull } from '../backends/call-driver.js';
import { type EndOutcome, type ExecOutcome, StepReceiver, type VirtualMachine } from './virtual-machine.js';

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

/** How a call driven by {@link runToCompletion} ended: `finished` or `trapped`. */
export type CompletedOutcome = Exclude<ExecOutcome, { readonly type: 'interrupted' } | { readonly type: 'outOfFuel' }>;

/** Options of {@link runToCompletion}. */
export interface RunToCompletionOptions {
  /**
   * For a call with fuel (`VmConfig.fuel`, the budget given to `Prepare.start`): called, while
   * the call is paused, each time it runs out, with the fuel consumed so far. Return (or resolve
   * to) the fuel to add, and the call goes on; return `null`, `undefined` or `0n` to stop there:
   * `runToCompletion` then rejects with `RunError('OutOfFuel')`, the machine paused out of fuel
   * (add fuel with `addFuel` and run it again, with `runToCompletion` or `runAsync(null)`, or
   * abandon it with `intoPrototype()`). Without it, a call that runs out stops so. Too little
   * added: it is asked again at once. A throw or a rejection rejects `runToCompletion` with it,
   * the machine paused out of fuel.
   */
  readonly onOutOfFuel?: (fuelConsumed: bigint) => bigint | null | undefined | Promise<bigint | null | undefined>;
}

/**
 * Runs `vm`'s call from its start (or from the interrupt it is paused at) to its end, answering every
 * interrupt with `host`; resolves to the `finished` or `trapped` outcome. Rejects with what
 * `host` threw or rejected with, or with the `RunError` of an answer of the wrong type; the
 * machine is then left paused at that interrupt (use `intoPrototype()` to abandon the call, or
 * answer it yourself with `runAsync`). A call with fuel that runs out and is not refilled
 * (see {@link RunToCompletionOptions.onOutOfFuel}) rejects with `RunError('OutOfFuel')`, the
 * machine paused out of fuel.
 */
export function runToCompletion(vm: VirtualMachine, host: InterruptHandler, options: RunToCompletionOptions = {}): Promise<CompletedOutcome> {
  return new Promise<CompletedOutcome>((resolve, reject) => {
    const onOutOfFuel = options?.onOutOfFuel;
    if (onOutOfFuel !== undefined && typeof onOutOfFuel !== 'function') {
      reject(new UsageError('InvalidArgument', 'runToCompletion: onOutOfFuel must be a function'));
      return;
    }
    new Completion(vm, host, onOutOfFuel ?? null, resolve, reject).begin();
  });
}


/** An answer that is not there yet: the host answered with a promise, or failed. */
const LATER: unique symbol = Symbol('later');

/** One call driven to its end: the receiver of its every step (see the module documentation). */
class Completion extends StepReceiver {
  override readonly pulls = true;
  /** Inside the machine's `_stepWith`: a step that ends outside the guest now is answered by the loop. */
  #inStep = false;
  /** The step just taken paused before it returned, outside the guest. */
  #pausedNow = false;
  /** The pause to answer is out of fuel (else an interrupt). */
  #outOfFuel = false;
  /** The interrupt to answer. */
  #imported: ResolvedImport | null = null;
  #params: WasmValue[] = [];
  /** The accessors of the memories handed to the host (see {@link InterruptMemory}). */
  readonly #memory: CallMemory;

  constructor(
    private readonly vm: VirtualMachine,
    private readonly host: InterruptHandler,
    private readonly onOutOfFuel: RunToCompletionOptions['onOutOfFuel'] | null,
    private readonly resolve: (outcome: CompletedOutcome) => void,
    private readonly rejectCall: (error: unknown) => void,
  ) {
    super();
    this.#memory = new CallMemory(vm);
  }

  /** The call is over for the host, with `error`. */
  private reject(error: unknown): void {
    this.#memory.end();
    this.rejectCall(error);
  }

  /** Answers the interrupt the machine is paused at, or starts the call (its first step in a job, as `runAsync`). */
  begin(): void {
    let paused;
    try {
      paused = this.vm._pausedAt();
      if (paused === null) {
        this.vm._stepWith(null, this, true);
        return;
      }
    } catch (e) {
      this.reject(e);
      return;
    }
    this.#outOfFuel = false;
    this.#imported = paused.imported;
    this.#params = paused.params;
    this.#answerNow();
  }

  interrupted(imported: ResolvedImport, params: WasmValue[], inGuest: boolean): Pull | undefined {
    this.#outOfFuel = false;
    this.#imported = imported;
    this.#params = params;
    if (inGuest) return this.#pull;
    if (this.#inStep) this.#pausedNow = true;
    else nextJob(this.#answerNow);
    return undefined;
  }

  outOfFuel(inGuest: boolean): Pull | undefined {
    this.#outOfFuel = true;
    if (inGuest) return this.#pull;
    if (this.#inStep) this.#pausedNow = true;
    else nextJob(this.#answerNow);
    return undefined;
  }

  ended(outcome: EndOutcome): void {
    this.#memory.end();
    this.resolve(outcome);
  }

  failed(error: unknown): void {
    this.reject(error);
  }

  /** Asks the host for the answer to the interrupt, and resumes with it once it is there. */
  readonly #answerNow = (): void => {
    const answer = this.#ask();
    if (answer !== LATER) this.#resume(answer as WasmValue | null);
  };

  /**
   * The answer to a pause handed over inside the guest's import call (JSPI), pulled by the
   * driver in the next job: the host asked, its answer checked and handed to the driver, which
   * resumes the guest. A failure leaves the machine paused at the interrupt (`defer`).
   */
  readonly #pull: Pull = (defer) => {
    const answer = this.#ask(defer);
    if (answer === LATER) return defer();
    if (answer instanceof Promise) return answer;
    return this.#accept(answer, defer);
  };

  /** The answer checked by the machine, in the engine's representation; on a refusal, the call paused (`defer`). */
  #accept(answer: WasmValue | null, defer: () => Promise<unknown>): unknown {
    try {
      return this.vm._accept(answer, this);
    } catch (e) {
      this.reject(e);
      return defer();
    }
  }

  /** Resumes with `answer`, and goes on for as long as steps end and answers come synchronously. */
  #resume(answer: WasmValue | null): void {
    for (;;) {
      this.#pausedNow = false;
      this.#inStep = true;
      try {
        this.vm._stepWith(answer, this, false);
      } catch (e) {
        // Refused before the guest ran (a wrong answer): the machine is still paused.
        this.#inStep = false;
        this.reject(e);
        return;
      }
      this.#inStep = false;
      if (!this.#pausedNow) return;
      const next = this.#ask();
      if (next === LATER) return;
      answer = next as WasmValue | null;
    }
  }

  /**
   * Asks the host for the answer to the interrupt, the machine's memory valid until the answer
   * is given (a promise's settlement included). A promise resumes the call when it settles.
   */
  #ask(defer?: () => Promise<unknown>): WasmValue | null | typeof LATER | Promise<unknown> {
    if (this.#outOfFuel) return this.#askForFuel(defer);
    const imported = this.#imported!;
    const memory = this.#memory.open();
    let answer: WasmValue | null | Promise<WasmValue | null>;
    try {
      answer = this.host(
        { id: imported.id, module: imported.module, name: imported.name, signature: imported.signature, params: this.#params },
        memory,
      );
    } catch (e) {
      this.#memory.close(memory);
      this.reject(e);
      return LATER;
    }
    if (!isPromiseLike(answer)) {
      this.#memory.close(memory);
      return answer;
    }
    if (defer !== undefined) {
      // Pulled: the driver waits for this promise, which brings the value to resume with.
      return Promise.resolve(answer as PromiseLike<WasmValue | null>).then(
        (value) => {
          this.#memory.close(memory);
          return this.#accept(value, defer);
        },
        (error: unknown) => {
          this.#memory.close(memory);
          this.reject(error);
          return defer();
        },
      );
    }
    Promise.resolve(answer as PromiseLike<WasmValue | null>).then(
      (value) => {
        this.#memory.close(memory);
        this.#resume(value);
      },
      (error: unknown) => {
        this.#memory.close(memory);
        this.reject(error);
      },
    );
    return LATER;
  }

  /**
   * {@link #ask} for a pause out of fuel: `onOutOfFuel` says how much to add (the value to
   * resume with is then `null`: the fuel import returns nothing), or the call stops there.
   */
  #askForFuel(defer?: () => Promise<unknown>): null | typeof LATER | Promise<unknown> {
    const handler = this.onOutOfFuel;
    if (handler === null || handler === undefined) return this.#stopOutOfFuel();
    let answer: ReturnType<NonNullable<RunToCompletionOptions['onOutOfFuel']>>;
    try {
      answer = handler(this.vm.fuelConsumed);
    } catch (e) {
      this.reject(e);
      return LATER;
    }
    if (!isPromiseLike(answer)) return this.#refuel(answer);
    const settled = Promise.resolve(answer);
    if (defer !== undefined) {
      return settled.then(
        (amount) => (this.#refuel(amount) === LATER ? defer() : this.#accept(null, defer)),
        (error: unknown) => {
          this.reject(error);
          return defer();
        },
      );
    }
    settled.then(
      (amount) => {
        if (this.#refuel(amount) !== LATER) this.#resume(null);
      },
      (error: unknown) => this.reject(error),
    );
    return LATER;
  }

  /** Adds `amount` and returns `null` (resume), or stops the run (`LATER`) for none or a refused amount. */
  #refuel(amount: bigint | null | undefined): null | typeof LATER {
    if (amount === null || amount === undefined || amount === 0n) return this.#stopOutOfFuel();
    try {
      this.vm.addFuel(amount);
    } catch (e) {
      this.reject(e);
      return LATER;
    }
    return null;
  }

  /** The run ends with the call paused out of fuel. */
  #stopOutOfFuel(): typeof LATER {
    let consumed = '';
    try {
      consumed = ` after consuming ${this.vm.fuelConsumed} units`;
    } catch {
      // Only a message.
    }
    this.reject(
      new RunError(
        'OutOfFuel',
        `the call ran out of fuel${consumed} and was not refilled; it is paused: addFuel() and run it again, or intoPrototype()`,
      ),
    );
    return LATER;
  }
}

/**
 * The memory the host is handed with one interrupt: the machine's memory only (the host must not
 * be able to run or discard the call it is answering), valid until the interrupt is answered.
 * Its four accessors are own properties, so that a host may take them apart
 * (`const { readMemory } = memory`); they are made once per call ({@link CallMemory}), not per
 * interrupt: an accessor called on its memory object checks that object's interrupt, an
 * accessor taken apart checks that the call is paused at an interrupt being answered.
 */
class InterruptMemory implements GuestMemoryAccess, CurrentViewAccess {
  readonly memorySize: () => number;
  readonly readMemory: (offset: number, size: number) => Uint8Array;
  readonly writeMemory: (offset: number, data: Uint8Array) => void;
  readonly growMemory: (pages: number) => void;
  readonly #call: CallMemory;
  #answered = false;
  constructor(call: CallMemory) {
    this.#call = call;
    this.memorySize = call.memorySize;
    this.readMemory = call.readMemory;
    this.writeMemory = call.writeMemory;
    this.growMemory = call.growMemory;
  }
  /** The library's own host code (its allocator) reads the memory in place, as on the machine. */
  [CURRENT_VIEW](): DataView<ArrayBuffer> | null {
    return this.#call.machineFor(this)[CURRENT_VIEW]();
  }
  /** Whether its interrupt has been answered: the object then no longer reaches the memory. */
  static answered(memory: InterruptMemory): boolean {
    return memory.#answered;
  }
  /** Marks its interrupt answered. */
  static answer(memory: InterruptMemory): void {
    memory.#answered = true;
  }
}

/** The accessors of one call's interrupt memories, and what they may reach: see {@link InterruptMemory}. */
class CallMemory {
  #vm: VirtualMachine | null;
  /** An interrupt of the call is being answered. */
  answering = false;
  readonly memorySize: () => number;
  readonly readMemory: (offset: number, size: number) => Uint8Array;
  readonly writeMemory: (offset: number, data: Uint8Array) => void;
  readonly growMemory: (pages: number) => void;

  constructor(vm: VirtualMachine) {
    this.#vm = vm;
    const call = this;
    this.memorySize = function (this: unknown) {
      return call.machineFor(this).memorySize();
    };
    this.readMemory = function (this: unknown, offset: number, size: number) {
      return call.machineFor(this).readMemory(offset, size);
    };
    this.writeMemory = function (this: unknown, offset: number, data: Uint8Array) {
      call.machineFor(this).writeMemory(offset, data);
    };
    this.growMemory = function (this: unknown, pages: number) {
      call.machineFor(this).growMemory(pages);
    };
  }

  /** A memory for the interrupt about to be answered. */
  open(): InterruptMemory {
    this.answering = true;
    return new InterruptMemory(this);
  }

  /** The interrupt `memory` was handed with has been answered. */
  close(memory: InterruptMemory): void {
    InterruptMemory.answer(memory);
    this.answering = false;
  }

  /** The call is over for the host: no accessor reaches the memory any more. */
  end(): void {
    this.#vm = null;
    this.answering = false;
  }

  /** The machine, for an accessor called on `self`; throws `Consumed` where it may not reach it. */
  machineFor(self: unknown): VirtualMachine {
    const vm = this.#vm;
    const valid = self instanceof InterruptMemory ? !InterruptMemory.answered(self) : this.answering;
    if (vm === null || !valid) {
      throw new UsageError('Consumed', 'this memory was handed over with an interrupt that has been answered since');
    }
    return vm;
  }
}
