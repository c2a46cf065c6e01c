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
import { UsageError } from '../base/errors.js';
import { CURRENT_BUFFER, type CurrentBufferAccess, type GuestMemoryAccess } from '../base/guest-memory-access.js';
import { isPromiseLike } from '../base/promise-like.js';
import type { Signature, WasmValue } from '../base/values.js';
import type { EndOutcome, ExecOutcome, StepReceiver, VirtualMachine } from './virtual-machine.js';

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
  return new Promise<CompletedOutcome>((resolve, reject) => new Completion(vm, host, resolve, reject).begin());
}

/** `queueMicrotask`, looked up once (near the end of the stack a global lookup may fail). */
const enqueue = queueMicrotask;

/** An answer that is not there yet: the host answered with a promise, or failed. */
const LATER: unique symbol = Symbol('later');

/** One call driven to its end: the receiver of its every step (see the module documentation). */
class Completion implements StepReceiver {
  /** Inside the machine's `_stepWith`: a step that ends outside the guest now is answered by the loop. */
  #inStep = false;
  /** The step just taken paused before it returned, outside the guest. */
  #pausedNow = false;
  /** The interrupt to answer. */
  #imported: ResolvedImport | null = null;
  #params: WasmValue[] = [];

  constructor(
    private readonly vm: VirtualMachine,
    private readonly host: InterruptHandler,
    private readonly resolve: (outcome: CompletedOutcome) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

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
    this.#imported = paused.imported;
    this.#params = paused.params;
    this.#answerNow();
  }

  interrupted(imported: ResolvedImport, params: WasmValue[], inGuest: boolean): void {
    this.#imported = imported;
    this.#params = params;
    if (this.#inStep && !inGuest) this.#pausedNow = true;
    else enqueue(this.#answerNow);
  }

  ended(outcome: EndOutcome): void {
    this.resolve(outcome);
  }

  failed(error: unknown): void {
    this.reject(error);
  }

  /** Asks the host for the answer to the interrupt, and resumes with it once it is there. */
  readonly #answerNow = (): void => {
    const answer = this.#ask();
    if (answer !== LATER) this.#resume(answer);
  };

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
      answer = next;
    }
  }

  /**
   * Asks the host for the answer to the interrupt, the machine's memory valid until the answer
   * is given (a promise's settlement included). A promise resumes the call when it settles.
   */
  #ask(): WasmValue | null | typeof LATER {
    const imported = this.#imported!;
    const memory = new InterruptMemory(this.vm);
    let answer: WasmValue | null | Promise<WasmValue | null>;
    try {
      answer = this.host(
        { id: imported.id, module: imported.module, name: imported.name, signature: imported.signature, params: this.#params },
        memory,
      );
    } catch (e) {
      memory.revoke();
      this.reject(e);
      return LATER;
    }
    if (!isPromiseLike(answer)) {
      memory.revoke();
      return answer;
    }
    Promise.resolve(answer as PromiseLike<WasmValue | null>).then(
      (value) => {
        memory.revoke();
        this.#resume(value);
      },
      (error: unknown) => {
        memory.revoke();
        this.reject(error);
      },
    );
    return LATER;
  }
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
