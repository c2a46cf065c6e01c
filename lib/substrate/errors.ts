/**
 * The errors of the Substrate host layer.
 *
 * Like the core's errors, each class extends {@link VmError} and carries a typed `kind`, so a
 * caller matches on `err instanceof RuntimeCallError && err.kind === 'Panic'` and the compiler
 * checks the spelling, while the `message` says in words what went wrong and where.
 *
 * The split follows the life of a runtime:
 *
 * - {@link RuntimeCodeError}: the code blob could not be turned into WebAssembly (bad zstd, or
 *   larger than allowed: a decompression bomb);
 * - {@link SubstrateRuntimeError}: the WebAssembly is valid but is not a runtime this layer can
 *   host (no `__heap_base`, a memory too small for the heap);
 * - {@link RuntimeVersionError}: the runtime's version could not be read;
 * - {@link RuntimeCallError}: one call into the runtime failed. The runtime itself is unharmed
 *   and can be called again.
 * - {@link ProofError}: a Merkle proof does not answer a read (`Incomplete`) or is not a proof
 *   of the state root (`Invalid`). A call served by a `ProofStorage` fails with a
 *   {@link RuntimeCallError} whose `cause` is the `ProofError`.
 *
 * Errors of the core (`NewError` for a module the VM refuses, `UsageError` for a bad argument)
 * and of the allocator (`AllocatorError`, as the `cause` of a failed host function) pass
 * through unchanged.
 *
 * @module
 */

import { VmError } from '../base/errors.js';

/** Why runtime code could not be turned into a WebAssembly module. */
export type RuntimeCodeErrorKind =
  /** The code carries the zstd prefix but what follows is not a well-formed zstd stream. */
  | 'InvalidZstd'
  /**
   * The code, or what it decompresses to (or declares it would decompress to), is larger than
   * the limit. A small input that expands past the limit is a decompression bomb: it is
   * stopped at the limit, never decompressed in full.
   */
  | 'TooLarge';

/** Thrown by `decodeRuntimeCode` (and so by `SubstrateRuntime.create`). */
export class RuntimeCodeError extends VmError<RuntimeCodeErrorKind> {
  override readonly name = 'RuntimeCodeError';
}

/** Why a valid module cannot be hosted as a Substrate runtime. */
export type SubstrateRuntimeErrorKind =
  /** The module does not export the `i32` global `__heap_base`, which says where the heap starts. */
  | 'HeapBaseNotFound'
  /** The module's memory declares a maximum below the pages the heap needs (`heapPages`). */
  | 'MemoryMaxTooLow';

/** Thrown (as a rejected promise) by `SubstrateRuntime.create`. */
export class SubstrateRuntimeError extends VmError<SubstrateRuntimeErrorKind> {
  override readonly name = 'SubstrateRuntimeError';
}

/** Why the runtime version could not be determined. */
export type RuntimeVersionErrorKind =
  /** The bytes (a custom section, or the output of `Core_version`) are not a SCALE-encoded runtime version. */
  | 'InvalidEncoding'
  /** The `runtime_apis` custom section is not a sequence of 12-byte API entries. */
  | 'InvalidApis'
  /** Calling `Core_version` failed; `cause` is the {@link RuntimeCallError}. */
  | 'CoreVersionFailed';

/** Thrown by the runtime-version readers, and by `SubstrateRuntime.create`. */
export class RuntimeVersionError extends VmError<RuntimeVersionErrorKind> {
  override readonly name = 'RuntimeVersionError';
}

/** Why a runtime call failed. */
export type RuntimeCallErrorKind =
  /** The runtime exports no function with the entry point's name. */
  | 'EntryPointNotFound'
  /** The export is not a function of type `(i32, i32) -> i64`, the type of every entry point. */
  | 'InvalidEntryPoint'
  /** The input does not fit in the runtime's heap (the allocator refused it). */
  | 'InputTooLarge'
  /** The runtime faulted (`unreachable`, out-of-bounds access, ...); `cause` is the core's `Trap`. */
  | 'Trap'
  /** The runtime panicked and reported it through `ext_panic_handler_abort_on_panic_version_1`. */
  | 'Panic'
  /**
   * A host function could not be served: its arguments point outside the memory, the allocator
   * refused (`cause` is the `AllocatorError`), an argument is malformed (a bad SCALE encoding,
   * a state version other than 0 or 1, a commit without a transaction), or a provider (storage,
   * offchain host, runtime version reader) or the `onHostCall`
   * handler threw, rejected or answered with a value of the wrong shape. `function` names it.
   */
  | 'HostFunctionFailed'
  /**
   * The runtime called an import that nothing serves: not one of the built-in host functions and
   * no `onHostCall` handler, or a built-in one that needs what the call was not given (a
   * `storage` provider, or its `nextKey`; an `offchain` host, or the method asked;
   * `storageProofSize`). `function` names it.
   */
  | 'UnsupportedHostFunction'
  /** The pointer and length the entry point returned do not lie inside the memory. */
  | 'InvalidOutput'
  /** The length the entry point returned is above the call's `maxOutputSize`. */
  | 'OutputTooLarge'
  /** The call's `signal` was aborted while the call was paused. */
  | 'Aborted'
  /** The entry point returned with storage transactions still open (`ext_storage_start_transaction` without its commit or rollback). */
  | 'UnclosedTransaction'
  /**
   * The call ran out of its fuel budget (`RuntimeCallOptions.fuel`, on a runtime created with
   * `fuel: true`) and its `onOutOfFuel` added none (or there was none). `fuelConsumed` says what
   * it had consumed.
   */
  | 'OutOfFuel';

/**
 * Thrown (as a rejected promise) by `runtimeCall`. The runtime that was called is unharmed: the
 * failed call's instance is discarded and the next call gets a fresh one.
 */
export class RuntimeCallError extends VmError<RuntimeCallErrorKind> {
  override readonly name = 'RuntimeCallError';
  /** For the host-function kinds (and `Panic`): the name of the import concerned. */
  declare readonly function?: string;
  /** For `OutOfFuel`: the fuel the call had consumed. */
  declare readonly fuelConsumed?: bigint;

  constructor(kind: RuntimeCallErrorKind, message: string, details?: { function?: string; cause?: unknown; fuelConsumed?: bigint }) {
    super(kind, message, details?.cause);
    if (details?.function !== undefined) this.function = details.function;
    if (details?.fuelConsumed !== undefined) this.fuelConsumed = details.fuelConsumed;
  }
}

/**
 * A `HostFunctionFailed` error for the host function `name`, saying `why` and keeping the
 * original error (an `AllocatorError`, a `RangeError` for an argument out of range, whatever a
 * provider threw) as `cause`.
 */
export function hostFunctionFailed(name: string, why: string, cause?: unknown): RuntimeCallError {
  const detail = cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : String(cause)}`;
  return new RuntimeCallError('HostFunctionFailed', `${name} failed: ${why}${detail}`, { function: name, cause });
}

/** Thrown by `decodeOpaqueMetadata` for an output that is not SCALE-wrapped metadata. */
export class MetadataError extends VmError<'InvalidMetadata'> {
  override readonly name = 'MetadataError';
  constructor(message: string, cause?: unknown) {
    super('InvalidMetadata', message, cause);
  }
}

/** Why a Merkle proof could not answer a read. */
export type ProofErrorKind =
  /**
   * The proof does not reach the key: a node (or a value stored as its hash) on the way to it
   * is not in the proof. Nothing is wrong with what the proof holds; more nodes are needed.
   */
  | 'Incomplete'
  /**
   * The proof is not a proof of the state root: an entry that the state root does not commit
   * to (a node that does not hash to what references it, a node of another block), a
   * malformed node, or a node that no trie has.
   */
  | 'Invalid';

/**
 * Thrown by `ProofStorage` (and so the `cause` of the `RuntimeCallError` of a call it serves):
 * a read the proof does not cover, or a proof that is not a proof of the state root. A read is
 * never answered with a guess.
 */
export class ProofError extends VmError<ProofErrorKind> {
  override readonly name = 'ProofError';
  /** The key being read, when the error concerns one read. */
  declare readonly key?: Uint8Array;
  /** The child trie of that read (its key without prefix), or `null` for the main trie. */
  declare readonly childTrie?: Uint8Array | null;

  constructor(kind: ProofErrorKind, message: string, details?: { key?: Uint8Array; childTrie?: Uint8Array | null; cause?: unknown }) {
    super(kind, message, details?.cause);
    if (details?.key !== undefined) {
      this.key = details.key;
      this.childTrie = details.childTrie ?? null;
    }
  }
}
