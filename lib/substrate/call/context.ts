/**
 * The state of one runtime call that the host functions work on.
 *
 * A call's state is its heap allocator, its storage overlay (every write, with its open
 * transactions), its signature batch, its records of indexed transactions, its counters, and
 * what the caller gave it: the storage provider, the offchain host, the `onHostCall` handler,
 * the logging and signature options. Host functions read and change it through the
 * {@link CallContext}; nothing of it outlives the call except what the call returns.
 *
 * Inline host functions are bound once, when the runtime is created, and are shared by every
 * instance and every call; yet each call has its own context. Each call runs on an instance of
 * its own, so the context travels with the instance: the runtime puts it in the instance's
 * host-data slot when it starts the call, and an inline function finds it in the memory it is
 * handed ({@link contextOf}). Calls of one runtime may therefore overlap freely, on both
 * backends, each paused at its own storage read.
 *
 * @module
 */

import { type GuestMemoryAccess, hostDataOf } from '../../base/guest-memory-access.js';
import type { AllocatorState, FreeingBumpAllocator } from '../heap/allocator.js';
import type { Hashers } from '../encoding/hashers.js';
import { fromHex, toHex } from '../encoding/hex.js';
import type { HostCallEvent, HostFunctionHandler } from './host-call-handler.js';
import type { LogEntry } from './log-entry.js';
import type { OffchainHost } from './offchain-host.js';
import { type OverlayState, StorageOverlay } from '../state/overlay.js';
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

/** A call's state as data (see {@link CallContext.exportState}). */
export interface CallState {
  readonly counts: readonly number[];
  readonly overlay: OverlayState;
  readonly batchVerification: boolean | null;
  /** `[extrinsic, size, contentHash]` (index) or `[extrinsic, contentHash]` (renew). */
  readonly transactionIndex: readonly (readonly unknown[])[];
  /** `[kind, key, childTrie or null]`. */
  readonly storageReads: readonly (readonly unknown[])[];
  readonly allocator: AllocatorState;
}

/** What the caller chose for a call, as the host functions read it (see {@link CallContext}). */
export interface CallSettings {
  /** The call's heap: the input, everything the runtime mallocs, everything the host hands back. */
  readonly allocator: FreeingBumpAllocator;
  /** How many function imports the runtime has (the counters' size). */
  readonly importCount: number;
  /** Where log entries go, or `null` to drop them. */
  readonly onLog: ((entry: LogEntry) => void) | null;
  /** The answer to `ext_logging_max_level_version_1` (0 = off .. 5 = trace). */
  readonly maxLogLevel: number;
  /** Called for every host call, or `null`. */
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

/** The per-call state seen by host functions: the caller's {@link CallSettings}, and what the call changes. */
export interface CallContext extends CallSettings {}

/** The per-call state seen by host functions; see the module documentation. */
export class CallContext {
  /**
   * Host calls so far, by import slot (the import's position among the runtime's function
   * imports). A plain array: a typed array here was a buffer outside the JavaScript heap made and
   * freed by every call, and freeing those is work for the engine's helper threads (about 1 µs a
   * buffer, measured in a pool's workers).
   */
  readonly counts: number[];
  /** The call's writes and its open storage transactions (replaced only by {@link importState}). */
  overlay = new StorageOverlay();
  /** Between `ext_crypto_start_batch_verify` and `finish`: whether every signature so far was valid; else `null`. */
  batchVerification: boolean | null = null;
  /** The `ext_transaction_index_*` calls, in order. */
  readonly transactionIndex: TransactionIndexOperation[] = [];
  /** The questions asked of the storage provider, each once, in the order first asked. */
  readonly storageReads: StorageRead[] = [];
  readonly #storageReadsSeen = new Set<string>();

  constructor(settings: CallSettings) {
    Object.assign(this, settings);
    this.counts = new Array<number>(settings.importCount).fill(0);
  }

  /**
   * The call's state as data (everything but what the caller gave: see {@link CallSettings}),
   * for a suspended call (`runtime/suspended-call.ts`); `null` if the allocator is poisoned.
   * Bytes are in `0x` hex, except the allocator's ledger.
   */
  exportState(): CallState | null {
    const allocator = this.allocator.exportState();
    if (allocator === null) return null;
    return {
      counts: [...this.counts],
      overlay: this.overlay.exportState(),
      batchVerification: this.batchVerification,
      transactionIndex: this.transactionIndex.map((op) =>
        op.type === 'index' ? [op.extrinsic, op.size, toHex(op.contentHash)] : [op.extrinsic, toHex(op.contentHash)],
      ),
      storageReads: this.storageReads.map((read) => [read.kind, toHex(read.key), read.childTrie === null ? null : toHex(read.childTrie)]),
      allocator,
    };
  }

  /**
   * Puts back a state from {@link exportState} into this fresh context (same import count, an
   * allocator with the same heap base); throws a `RangeError` (or a hex decoder's error) on data
   * it cannot have made.
   */
  importState(state: CallState): void {
    const bad = (what: string): never => {
      throw new RangeError(`bad call state: ${what}`);
    };
    const isTally = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
    const isCount = (n: unknown): n is number => isTally(n) && n <= 0xffff_ffff;
    if (!Array.isArray(state.counts) || state.counts.length !== this.counts.length || !state.counts.every(isTally)) bad('counts');
    if (state.batchVerification !== null && typeof state.batchVerification !== 'boolean') bad('batch verification');
    if (!Array.isArray(state.transactionIndex) || !Array.isArray(state.storageReads)) bad('shape');
    const transactionIndex = state.transactionIndex.map((op): TransactionIndexOperation => {
      if (Array.isArray(op) && op.length === 3 && isCount(op[0]) && isCount(op[1]) && typeof op[2] === 'string') {
        return { type: 'index', extrinsic: op[0], size: op[1], contentHash: fromHex(op[2]) };
      }
      if (Array.isArray(op) && op.length === 2 && isCount(op[0]) && typeof op[1] === 'string') return { type: 'renew', extrinsic: op[0], contentHash: fromHex(op[1]) };
      return bad('transaction index');
    });
    const reads = state.storageReads.map((read) => {
      if (!Array.isArray(read) || read.length !== 3 || (read[0] !== 'get' && read[0] !== 'nextKey') || typeof read[1] !== 'string') bad('storage read');
      if (read[2] !== null && typeof read[2] !== 'string') bad('storage read');
      return [read[0] as StorageReadKind, fromHex(read[1] as string), read[2] === null ? null : fromHex(read[2] as string)] as const;
    });
    const overlay = StorageOverlay.importState(state.overlay);
    this.allocator.importState(state.allocator);
    for (let slot = 0; slot < this.counts.length; slot++) this.counts[slot] = state.counts[slot]!;
    this.overlay = overlay;
    this.batchVerification = state.batchVerification;
    this.transactionIndex.length = 0;
    this.transactionIndex.push(...transactionIndex);
    this.storageReads.length = 0;
    this.#storageReadsSeen.clear();
    for (const [kind, key, child] of reads) this.recordStorageRead(kind, key, child);
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

/**
 * The context of the call running on the instance whose memory an inline host function was
 * handed (see the module documentation); throws outside any call.
 */
export function contextOf(memory: GuestMemoryAccess): CallContext {
  const context = hostDataOf(memory);
  if (!(context instanceof CallContext)) throw new Error('a host function was called outside a runtime call');
  return context;
}
