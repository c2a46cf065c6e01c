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
 * It drives the machine through {@link VirtualMachine.runAsync}, so it works on both backends,
 * and the host may answer synchronously or with a promise. Each interrupt comes with the name,
 * module and signature of the import the guest called, so a host needs no table from the ids
 * `symbols` gave back to the imports they stand for.
 *
 * @module
 */

import { UsageError } from '../base/errors.js';
import type { GuestMemoryAccess } from '../base/guest-memory-access.js';
import type { Signature, WasmValue } from '../base/values.js';
import type { ExecOutcome, VirtualMachine } from './virtual-machine.js';

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
export async function runToCompletion(vm: VirtualMachine, host: InterruptHandler): Promise<CompletedOutcome> {
  // A machine already paused (its owner ran some steps itself) continues from that interrupt.
  let outcome: ExecOutcome = vm._currentInterrupt() ?? (await vm.runAsync(null));
  while (outcome.type === 'interrupted') {
    const imported = vm._pausedImport()!;
    const interrupt = { id: outcome.id, module: imported.module, name: imported.name, signature: imported.signature, params: outcome.params };
    const view = memoryView(vm);
    let answer: WasmValue | null;
    try {
      answer = await host(interrupt, view.memory);
    } finally {
      view.revoke();
    }
    outcome = await vm.runAsync(answer);
  }
  return outcome;
}

/**
 * The memory the host is handed with one interrupt: the machine's memory only (the host must not
 * be able to run or discard the call it is answering), valid until the interrupt is answered.
 */
function memoryView(vm: VirtualMachine): { memory: GuestMemoryAccess; revoke: () => void } {
  let valid = true;
  const check = (): VirtualMachine => {
    if (!valid) throw new UsageError('Consumed', 'this memory was handed over with an interrupt that has been answered since');
    return vm;
  };
  return {
    memory: {
      memorySize: () => check().memorySize(),
      readMemory: (offset, size) => check().readMemory(offset, size),
      writeMemory: (offset, data) => check().writeMemory(offset, data),
      growMemory: (pages) => check().growMemory(pages),
    },
    revoke: () => (valid = false),
  };
}
