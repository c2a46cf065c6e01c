/**
 * Suspended runtime calls: a call stopped at one of its pauses (a storage read, say) before the
 * host answered it, held as an object ({@link SuspendedRuntimeCall}) and, on the Asyncify
 * backend, as bytes that another thread or process resumes with a runtime of the same code.
 *
 * ```ts
 * // Thread A: stop at the first storage read the caller cannot answer here.
 * const step = await runtime.callSuspendable('Metadata_metadata', new Uint8Array(), {
 *   storage, suspend: (pause) => pause.name === 'ext_storage_get_version_1',
 * });
 * if (step.type === 'suspended') worker.postMessage(step.call.snapshot());
 *
 * // Thread B (a runtime of the same code and heap pages, backend 'asyncify'):
 * const { result } = await runtime.resumeCall(bytes, { storage: storageThere });
 * ```
 *
 * The pause is taken *before* the host function ran: the resumed side serves it from scratch
 * with its own providers, so the read is answered there, and the output is the one the call
 * would have given uninterrupted with the same answers.
 *
 * ## What the bytes hold
 *
 * The core's snapshot of the paused machine (`vm.snapshot()`: memory, globals, paused stack,
 * named after the instrumented module and its options and checksummed), and beside it what this
 * layer keeps outside the instance: the call's state (`CallContext.exportState`: the heap
 * allocator's free lists, bump pointer and ledger, the storage overlay with its open
 * transactions, the counters, the storage reads so far), the entry point, the pauses so far and
 * what the state must fit (heap base, heap pages, imports). The whole is framed
 * (`RWSUBCAL`, {@link SUSPENDED_CALL_FORMAT}) and checksummed with BLAKE2b-256. What the
 * caller gave (providers, handlers, options) is not carried: the resuming side gives its own.
 *
 * A checksum catches accidents, not forgery: resume only bytes from a store you trust as much
 * as the host. Bytes that do not fit (truncated, altered, of another runtime, another heap size
 * or another format version) are refused with the core's `SnapshotError` before anything runs.
 *
 * @module
 */

import { SnapshotError, UsageError, type VirtualMachine } from '../../index.js';
import type { CallState } from '../call/context.js';
import type { Hashers } from '../encoding/hashers.js';
import type { RuntimeCallResult } from './call-loop.js';
import type { RuntimePause, SuspendableCallOptions } from './call-loop.js';

/** The format version of a suspended call's bytes. */
export const SUSPENDED_CALL_FORMAT = 1;

const MAGIC = new TextEncoder().encode('RWSUBCAL');
const CHECKSUM_SIZE = 32;

/** What a suspended call's bytes say about the call, beside the machine's snapshot. */
export interface SuspendedCallHeader {
  readonly entryPoint: string;
  /** Pauses made before the one the call is suspended at. */
  readonly pauses: number;
  readonly pause: { readonly name: string };
  /** What the runtime resuming it must have. */
  readonly runtime: { readonly heapBase: number; readonly memoryTotalPages: number; readonly imports: readonly string[] };
  /** The call's state, without the allocator's ledger (carried as bytes). */
  readonly state: Omit<CallState, 'allocator'> & { readonly allocator: Omit<CallState['allocator'], 'ledger'> };
}

/** The bytes of a suspended call: see the module documentation. */
export function encodeSuspendedCall(header: SuspendedCallHeader, ledger: Uint8Array, vmSnapshot: Uint8Array, hashers: Hashers): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
  const size = MAGIC.length + 4 + 4 + json.length + 4 + ledger.length + vmSnapshot.length + CHECKSUM_SIZE;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  out.set(MAGIC, at);
  at += MAGIC.length;
  view.setUint32(at, SUSPENDED_CALL_FORMAT, true);
  view.setUint32(at + 4, json.length, true);
  at += 8;
  out.set(json, at);
  at += json.length;
  view.setUint32(at, ledger.length, true);
  at += 4;
  out.set(ledger, at);
  at += ledger.length;
  out.set(vmSnapshot, at);
  at += vmSnapshot.length;
  out.set(hashers.blake2_256(out.subarray(0, at)), at);
  return out;
}

/**
 * The parts of a suspended call's bytes, checked for integrity (not yet against a runtime).
 * Throws {@link SnapshotError} `Corrupted` or `VersionMismatch`.
 */
export function decodeSuspendedCall(bytes: Uint8Array, hashers: Hashers): { header: SuspendedCallHeader; ledger: Uint8Array; vmSnapshot: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) throw new UsageError('InvalidArgument', 'resumeCall: the suspended call must be a Uint8Array');
  const corrupted = (why: string): never => {
    throw new SnapshotError('Corrupted', `not a suspended runtime call of this library: ${why}`);
  };
  if (bytes.length < MAGIC.length + 12 + CHECKSUM_SIZE) corrupted('too short');
  if (MAGIC.some((b, i) => bytes[i] !== b)) corrupted('wrong magic');
  const body = bytes.subarray(0, bytes.length - CHECKSUM_SIZE);
  const sum = hashers.blake2_256(body);
  if (sum.some((b, i) => bytes[body.length + i] !== b)) corrupted('the checksum does not match (truncated or altered)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = MAGIC.length;
  const version = view.getUint32(at, true);
  if (version !== SUSPENDED_CALL_FORMAT) {
    throw new SnapshotError('VersionMismatch', `a suspended call of format ${version}; this library reads format ${SUSPENDED_CALL_FORMAT}`);
  }
  const jsonLength = view.getUint32(at + 4, true);
  at += 8;
  if (at + jsonLength + 4 > body.length) corrupted('the header overruns');
  let header: SuspendedCallHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(at, at + jsonLength)), (_, v: unknown) =>
      typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
    ) as SuspendedCallHeader;
  } catch (e) {
    return corrupted(`the header is not JSON (${(e as Error).message})`);
  }
  at += jsonLength;
  const ledgerLength = view.getUint32(at, true);
  at += 4;
  if (at + ledgerLength > body.length) corrupted('the ledger overruns');
  const ledger = bytes.slice(at, at + ledgerLength);
  at += ledgerLength;
  const vmSnapshot = bytes.slice(at, body.length);
  if (typeof header !== 'object' || header === null || typeof header.entryPoint !== 'string' || !Number.isSafeInteger(header.pauses) || header.pauses < 0) {
    corrupted('a malformed header');
  }
  return { header, ledger, vmSnapshot };
}

/** What a {@link SuspendedRuntimeCall} needs of the runtime that made it. */
export interface SuspendedCallOwner {
  /** The bytes of the call (see the module documentation). */
  encode(call: SuspendedRuntimeCall, vm: VirtualMachine): Uint8Array;
  /** Goes on with the call in this thread. */
  resume(call: SuspendedRuntimeCall, vm: VirtualMachine, options: SuspendableCallOptions): Promise<SuspendableCallResult>;
  /** Gives the call's instance back. */
  discard(vm: VirtualMachine): Promise<void>;
}

/**
 * A runtime call suspended at a pause, before the host answered it (from
 * `SubstrateRuntime.callSuspendable` or `resumeCall`): resume it here ({@link resume}), or take
 * its bytes ({@link snapshot}, Asyncify only) to resume it elsewhere with `resumeCall`; either
 * way once. {@link discard} it otherwise, so that its instance is reused.
 */
export class SuspendedRuntimeCall {
  #vm: VirtualMachine | null;

  /** @internal Made by the runtime. */
  constructor(
    /** The entry point called. */
    readonly entryPoint: string,
    /** The pause the call is suspended at. */
    readonly pause: RuntimePause,
    /** @internal The call's state as data, taken when it was suspended. */
    readonly _state: CallState,
    vm: VirtualMachine,
    private readonly owner: SuspendedCallOwner,
  ) {
    this.#vm = vm;
  }

  /**
   * The call as bytes, for `resumeCall` in another thread or process (see the module
   * documentation). The call itself may still be resumed here, or discarded. Only on the
   * Asyncify backend (on JSPI the core's `UsageError` `UnsupportedOnBackend`).
   */
  snapshot(): Uint8Array {
    return this.owner.encode(this, this.#live('snapshot'));
  }

  /**
   * Goes on with the call in this thread, the pause served with `options`' providers, as
   * `resumeCall` would elsewhere. Once only (`UsageError` `Consumed` after that).
   */
  resume(options: SuspendableCallOptions = {}): Promise<SuspendableCallResult> {
    const vm = this.#live('resume');
    this.#vm = null;
    return this.owner.resume(this, vm, options);
  }

  /** Abandons the call, its instance going back to the runtime. Does nothing if already resumed or discarded. */
  async discard(): Promise<void> {
    const vm = this.#vm;
    this.#vm = null;
    if (vm !== null) await this.owner.discard(vm);
  }

  #live(what: string): VirtualMachine {
    if (this.#vm === null) throw new UsageError('Consumed', `SuspendedRuntimeCall.${what}(): the call was already resumed or discarded`);
    return this.#vm;
  }
}

/** How `callSuspendable` and `resumeCall` end: the call's result, or the call suspended again. */
export type SuspendableCallResult =
  | { readonly type: 'finished'; readonly result: RuntimeCallResult }
  | { readonly type: 'suspended'; readonly call: SuspendedRuntimeCall };
