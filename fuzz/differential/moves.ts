/**
 * Moving a paused call, at random interrupts, while the VM side runs: the check then shows that
 * a call carried as data (a snapshot, a fork, a journal) goes on exactly as the uninterrupted
 * call would, since its every outcome and memory digest is compared with plain V8's as usual.
 *
 * At an interrupt chosen by the seed (one in four, at most eight per call), before the host
 * answers it, the machine is replaced by one of:
 *
 * - **restore**: `vm.snapshot()` restored into a fresh prototype of the same module
 *   (Asyncify);
 * - **worker**: the snapshot sent to a `worker_threads` Worker, which rebuilds the prototype from
 *   the module's artifact with the built package (`dist/`), restores it and snapshots the
 *   restored machine again; the bytes it sends back must equal the ones sent (a snapshot is a
 *   function of the paused call), and are restored here (Asyncify);
 * - **replay**: `vm.journal()` replayed on a fresh prototype (both backends; the prototypes are
 *   created with `journal: true`);
 * - **fork**: the machine goes on as it is, and a fork taken now (`fork()` on Asyncify,
 *   `forkAsync()`, by replay, on JSPI) is run afterwards with the very answers, writes and
 *   growths the host gave the original from here on: it must end the same way, with the same
 *   memory, whatever the original did meanwhile (the two are independent).
 *
 * Any failure of a move, or a fork that ends otherwise, is a contract violation of the module.
 *
 * @module
 */

import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { type ExecOutcome, VirtualMachine, type VirtualMachinePrototype, type WasmValue } from '../../lib/index.js';
import { REPO_ROOT } from './generator.js';
import type { MemoryPort } from './host.js';
import { describeError, digestBytes } from './observation.js';
import { Prng } from './prng.js';

/** The kinds of move; see the module documentation. */
export type MoveKind = 'restore' | 'worker' | 'replay' | 'fork';

/** How many moves of each kind a module's VM side made (and forks checked). */
export type MoveCounts = Record<MoveKind, number>;

/** What the worker needs to rebuild the prototype: the artifact and the options of `create`. */
export interface WorkerPrototype {
  readonly artifact: Uint8Array;
  readonly moduleBytes: Uint8Array;
  readonly options: Record<string, unknown>;
  /** `symbols`' answers, by `module\0name`. */
  readonly ids: Record<string, number>;
}

/** One host action at an interrupt, recorded for a fork. */
type Action = { readonly write: [number, Uint8Array] } | { readonly grow: number };

/** What a fork must reproduce: at each later interrupt, the host's actions and its answer. */
interface PendingFork {
  readonly fork: VirtualMachine;
  readonly steps: { actions: Action[]; answer: WasmValue | null }[];
}

/** Moves the paused calls of one module's VM side; see the module documentation. */
export class Mover {
  readonly counts: MoveCounts = { restore: 0, worker: 0, replay: 0, fork: 0 };
  readonly #prng: Prng;
  readonly #kinds: readonly MoveKind[];
  #movesThisCall = 0;
  #forks: PendingFork[] = [];

  constructor(
    seed: number,
    private readonly template: VirtualMachinePrototype,
    private readonly asyncify: boolean,
    private readonly worker: WorkerPrototype | null,
    private readonly violations: string[],
  ) {
    this.#prng = new Prng(seed, 11);
    this.#kinds = asyncify ? (worker === null ? ['restore', 'replay', 'fork'] : ['restore', 'worker', 'replay', 'fork']) : ['replay', 'fork'];
  }

  /** A call begins. */
  beginCall(): void {
    this.#movesThisCall = 0;
    this.#forks = [];
  }

  /**
   * At an interrupt (`outcome`), before it is answered: the machine to go on with (`vm`, or the
   * one it was moved to). `vm` is abandoned when it is replaced.
   */
  async atInterrupt(vm: VirtualMachine): Promise<VirtualMachine> {
    if (this.#movesThisCall >= 8 || !this.#prng.oneIn(4)) return vm;
    this.#movesThisCall++;
    const kind = this.#kinds[this.#prng.below(this.#kinds.length)]!;
    try {
      switch (kind) {
        case 'restore': {
          const moved = await VirtualMachine.restore(this.template.clone(), vm.snapshot());
          vm.intoPrototype();
          this.counts.restore++;
          return moved;
        }
        case 'worker': {
          const sent = vm.snapshot();
          const back = await throughWorker(this.worker!, sent);
          if (back.length !== sent.length || back.some((b, i) => b !== sent[i])) {
            this.violations.push('a snapshot restored in a Worker and taken again there differs from the one sent');
          }
          const moved = await VirtualMachine.restore(this.template.clone(), back);
          vm.intoPrototype();
          this.counts.worker++;
          return moved;
        }
        case 'replay': {
          const moved = await VirtualMachine.replay(this.template.clone(), vm.journal());
          vm.intoPrototype();
          this.counts.replay++;
          return moved;
        }
        case 'fork': {
          const fork = this.asyncify ? vm.fork() : await vm.forkAsync();
          this.#forks.push({ fork, steps: [] });
          return vm;
        }
      }
    } catch (e) {
      this.violations.push(`moving a paused call (${kind}) failed: ${describeError(e)}`);
      return vm;
    }
  }

  /** The port the host answers through: records its writes and growths for the forks taken so far. */
  port(base: MemoryPort): MemoryPort {
    if (this.#forks.length === 0) return base;
    const record = (action: Action): void => {
      for (const pending of this.#forks) pending.steps.at(-1)?.actions.push(action);
    };
    return {
      pages: () => base.pages(),
      readAll: () => base.readAll(),
      write: (offset, data) => {
        record({ write: [offset, data.slice()] });
        base.write(offset, data);
      },
      grow: (pages) => {
        const grown = base.grow(pages);
        if (grown) record({ grow: pages });
        return grown;
      },
    };
  }

  /** An interrupt is about to be answered (before the host acts). */
  beforeAnswer(): void {
    for (const pending of this.#forks) pending.steps.push({ actions: [], answer: null });
  }

  /** The host's answer to the interrupt. */
  answered(answer: WasmValue | null): void {
    for (const pending of this.#forks) pending.steps.at(-1)!.answer = answer;
  }

  /**
   * The call ended with `outcome` and memory `digest`: each fork is run with the recorded
   * actions and must end the same way.
   */
  async endCall(outcome: string, digest: string): Promise<void> {
    for (const { fork, steps } of this.#forks) {
      try {
        let result: ExecOutcome | null = null;
        for (const step of steps) {
          for (const action of step.actions) {
            if ('write' in action) fork.writeMemory(action.write[0], action.write[1]);
            else fork.growMemory(action.grow);
          }
          result = await fork.runAsync(step.answer);
          if (result.type !== 'interrupted') break;
        }
        const forkOutcome = result === null ? 'none' : result.type === 'trapped' ? `trapped ${result.trap.kind}` : result.type === 'finished' ? `finished ${String(result.value?.value)}` : 'interrupted';
        const forkDigest = digestBytes(fork.readMemory(0, fork.memorySize() * 65536));
        if (forkOutcome !== outcome || forkDigest !== digest) {
          this.violations.push(`a fork answered as the original ended ${forkOutcome} (memory ${forkDigest}), the original ${outcome} (memory ${digest})`);
        }
        this.counts.fork++;
      } catch (e) {
        this.violations.push(`running a fork failed: ${describeError(e)}`);
      } finally {
        try {
          fork.intoPrototype();
        } catch {
          // Dropped either way.
        }
      }
    }
    this.#forks = [];
  }
}

let worker: Worker | null = null;
let nextRequest = 0;
const pending = new Map<number, { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }>();

/** Stops the restore worker, if it was started (a test runner then exits without waiting for it). */
export async function stopMoveWorker(): Promise<void> {
  const running = worker;
  worker = null;
  if (running !== null) await running.terminate();
}

/** Sends `snapshot` through the restore worker (started once, never keeping the process alive). */
function throughWorker(prototype: WorkerPrototype, snapshot: Uint8Array): Promise<Uint8Array> {
  if (worker === null) {
    worker = new Worker(join(REPO_ROOT, 'fuzz', 'differential', 'restore-worker.mjs'), { execArgv: [] });
    worker.unref();
    worker.on('message', (message: { id: number; bytes?: Uint8Array; error?: string }) => {
      const request = pending.get(message.id);
      pending.delete(message.id);
      if (message.bytes !== undefined) request?.resolve(message.bytes);
      else request?.reject(new Error(`the restore worker failed: ${message.error}`));
    });
    worker.on('error', (error) => {
      for (const request of pending.values()) request.reject(error);
      pending.clear();
      worker = null;
    });
  }
  const id = nextRequest++;
  return new Promise<Uint8Array>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker!.postMessage({ id, prototype, snapshot });
  });
}
