/**
 * The state of one runtime call that the host functions work on, and the slot that says which
 * call is running.
 *
 * A call's state is its heap allocator, its storage overlay (every write, with its open
 * transactions), its signature batch, its records of indexed transactions, its counters, and
 * what the caller gave it: the storage provider, the offchain host, the `onHostCall` handler,
 * the logging and signature options. Host functions read and change it through the
 * {@link CallContext}; nothing of it outlives the call except what the call returns.
 *
 * Inline host functions are bound once, when the runtime is created, and are shared by every
 * instance and every call; yet each call has its own context. The runtime therefore owns an
 * {@link ActiveCall} slot, filled for exactly the duration of each step of a call's virtual
 * machine, and an inline function can only be entered from inside a step. On Asyncify a step is
 * synchronous, so JavaScript runs one at a time by itself. On JSPI a step spans promise jobs,
 * and another call's step could start in between and take the slot: so the steps of one
 * runtime's calls are queued, one at a time. Nothing is lost by it (a step is guest code running
 * on the one JavaScript thread), and calls still overlap where it matters: while paused,
 * waiting for their storage.
 *
 * @module
 */

import type { ExecOutcome, VirtualMachine, WasmValue } from '../../index.js';
import type { FreeingBumpAllocator } from '../heap/allocator.js';
import type { Hashers } from '../encoding/hashers.js';
import { toHex } from '../encoding/hex.js';
import type { HostCallEvent, HostFunctionHandler } from './host-call-handler.js';
import type { LogEntry } from './log-entry.js';
import type { OffchainHost } from './offchain-host.js';
import { StorageOverlay } from '../state/overlay.js';
import type { MaybePromise, StorageProvider, StorageRead, StorageReadKind } from '../state/providers.js';
import type { StateVersion } from '../state/trie-root.js';

/**
 * How signatures are checked: really (`null`), or mocked like chopsticks's `mockSignatureHost`:
 * `'all'` answers every verification "valid"; `'magic'` accepts a signature made of the bytes
 * `de ad be ef` followed by `cd` bytes only, and checks any other for real.
 */
export type SignatureMock = 'all' | 'magic' | null;

/** One `ext_transaction_index_*` call: what the runtime asked the node to index or renew. */
export type TransactionIndexOperation =
  | { readonly type: 'index'; readonly extrinsic: number; readonly size: number; readonly contentHash: Uint8Array }
  | { readonly type: 'renew'; readonly extrinsic: number; readonly contentHash: Uint8Array };

/** What a {@link CallContext} is made from. */
export interface CallContextInit {
  /** The call's heap. */
  readonly allocator: FreeingBumpAllocator;
  /** How many function imports the runtime has (the counters' size). */
  readonly importCount: number;
  readonly onLog: ((entry: LogEntry) => void) | null;
  /** The answer to `ext_logging_max_level_version_1` (0 = off .. 5 = trace). */
  readonly maxLogLevel: number;
  readonly trace: ((event: HostCallEvent) => void) | null;
  readonly hashers: Hashers;
  /** The runtime's state version (from its `RuntimeVersion`; 0 when absent). */
  readonly stateVersion: StateVersion;
  readonly storage: StorageProvider | null;
  readonly onHostCall: HostFunctionHandler | null;
  readonly offchain: OffchainHost | null;
  readonly mockSignatures: SignatureMock;
  /** The answer to `ext_storage_proof_size_storage_proof_size_version_1`, or `null` to refuse it. */
  readonly storageProofSize: bigint | null;
  /** The SCALE-encoded runtime version of other runtime code, or `null` (`ext_misc_runtime_version`). */
  readonly runtimeVersionOf: (code: Uint8Array) => MaybePromise<Uint8Array | null>;
}

/** The per-call state seen by host functions; see the module documentation. */
export class CallContext {
  /** Host calls so far, by import slot (the import's position among the runtime's function imports). */
  readonly counts: Uint32Array;
  /** The call's heap: the input, everything the runtime mallocs, everything the host hands back. */
  readonly allocator: FreeingBumpAllocator;
  /** Where log entries go, or `null` to drop them. */
  readonly onLog: ((entry: LogEntry) => void) | null;
  /** The answer to `ext_logging_max_level_version_1` (0 = off .. 5 = trace). */
  readonly maxLogLevel: number;
  /** Called for every host call, or `null`. */
  readonly trace: ((event: HostCallEvent) => void) | null;
  readonly hashers: Hashers;
  readonly stateVersion: StateVersion;
  readonly storage: StorageProvider | null;
  readonly onHostCall: HostFunctionHandler | null;
  readonly offchain: OffchainHost | null;
  readonly mockSignatures: SignatureMock;
  readonly storageProofSize: bigint | null;
  readonly runtimeVersionOf: (code: Uint8Array) => MaybePromise<Uint8Array | null>;
  /** The call's writes and its open storage transactions. */
  readonly overlay = new StorageOverlay();
  /** Between `ext_crypto_start_batch_verify` and `finish`: whether every signature so far was valid; else `null`. */
  batchVerification: boolean | null = null;
  /** The `ext_transaction_index_*` calls, in order. */
  readonly transactionIndex: TransactionIndexOperation[] = [];
  /** The questions asked of the storage provider, each once, in the order first asked. */
  readonly storageReads: StorageRead[] = [];
  readonly #storageReadsSeen = new Set<string>();

  constructor(init: CallContextInit) {
    this.counts = new Uint32Array(init.importCount);
    this.allocator = init.allocator;
    this.onLog = init.onLog;
    this.maxLogLevel = init.maxLogLevel;
    this.trace = init.trace;
    this.hashers = init.hashers;
    this.stateVersion = init.stateVersion;
    this.storage = init.storage;
    this.onHostCall = init.onHostCall;
    this.offchain = init.offchain;
    this.mockSignatures = init.mockSignatures;
    this.storageProofSize = init.storageProofSize;
    this.runtimeVersionOf = init.runtimeVersionOf;
  }

  /** Notes a question about to be asked of the storage provider (see {@link storageReads}). */
  recordStorageRead(kind: StorageReadKind, key: Uint8Array, childTrie: Uint8Array | null): void {
    const id = `${kind} ${childTrie === null ? '-' : toHex(childTrie)} ${toHex(key)}`;
    if (this.#storageReadsSeen.has(id)) return;
    this.#storageReadsSeen.add(id);
    this.storageReads.push({ kind, key, childTrie });
  }

  /** Counts a host call of the import in `slot` and reports it to the tracer, if there is one. */
  record(slot: number, event: () => HostCallEvent): void {
    this.counts[slot]! += 1;
    if (this.trace === null) return;
    try {
      this.trace(event());
    } catch {
      // Tracing is a side channel: a failing observer must not fail the runtime's call.
    }
  }
}

/** Which call's context the inline host functions see; owned by the runtime (see the module doc). */
export class ActiveCall {
  #current: CallContext | null = null;
  /** Settles when the JSPI step in progress ends; `null` when none is. */
  #stepping: Promise<void> | null = null;

  /** The context of the call whose step is running; throws outside any step. */
  get current(): CallContext {
    if (this.#current === null) throw new Error('a host function was called outside a runtime call');
    return this.#current;
  }

  /**
   * Runs one step of `vm` with `context` active: synchronously on Asyncify, queued behind any
   * other step of this runtime on JSPI (see the module documentation).
   */
  step(vm: VirtualMachine, value: WasmValue | null, context: CallContext, synchronous: boolean): ExecOutcome | Promise<ExecOutcome> {
    if (!synchronous) return this.#stepAsync(vm, value, context);
    const previous = this.#current;
    this.#current = context;
    try {
      return vm.run(value);
    } finally {
      this.#current = previous;
    }
  }

  async #stepAsync(vm: VirtualMachine, value: WasmValue | null, context: CallContext): Promise<ExecOutcome> {
    while (this.#stepping !== null) await this.#stepping;
    let done!: () => void;
    this.#stepping = new Promise<void>((resolve) => (done = resolve));
    this.#current = context;
    try {
      return await vm.runAsync(value);
    } finally {
      this.#current = null;
      this.#stepping = null;
      done();
    }
  }
}
