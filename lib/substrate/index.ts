/**
 * `resumable-wasm/substrate`: a host for Substrate/Polkadot runtimes on top of the resumable VM,
 * for light clients and tools.
 *
 * A Substrate runtime is a WebAssembly module that a chain stores under `:code`. A node or a
 * light client *calls* it, by entry point (`Core_version`, `Metadata_metadata`,
 * `AccountNonceApi_account_nonce`, ...), handing it SCALE-encoded input; the runtime calls back
 * into the host for everything it cannot do alone: allocate memory, hash, log, and above all
 * read the chain's state. A light client has no state on disk: each read is a network request.
 * This layer is built around that: storage reads **pause** the call until the answer has
 * arrived, while the cheap host functions (allocator, hashing, logging) are answered **inline**
 * and never pause.
 *
 * ```ts
 * import { ProofStorage, SubstrateRuntime, runtimeCall } from 'resumable-wasm/substrate';
 *
 * const runtime = await SubstrateRuntime.create({ code });   // raw or zstd, bytes or hex
 * console.log(runtime.version.specName, runtime.version.specVersion);
 *
 * // Every value the call reads is checked against the block's state root: a peer can
 * // withhold, not lie. Missing nodes are fetched while the call waits, paused.
 * const storage = new ProofStorage(header.stateRoot, [], {
 *   fetch: async (key, childTrie) => (await peer.readProof(blockHash, key, childTrie)).proof,
 * });
 * const { output } = await runtimeCall(runtime, 'Metadata_metadata', new Uint8Array(), { storage });
 * ```
 *
 * The pieces, in the order a runtime meets them:
 *
 * - **Code** (`decodeRuntimeCode`): raw wasm or zstd with Substrate's 8-byte prefix,
 *   decompressed with a hard size limit so that a decompression bomb is an error, not an
 *   out-of-memory crash.
 * - **Runtime** (`SubstrateRuntime.create`): routes every import (inline, pausing, or the
 *   caller's handler) and builds the VM prototype: on JSPI where the engine has it (backend
 *   `'auto'`, the default: no transform, ready in milliseconds), else on Asyncify (the transform
 *   runs once; an artifact or an artifact cache skips it next time); sizes the heap from
 *   `__heap_base` and the heap pages, reads the version.
 * - **Version** (`RuntimeVersion`): from the `runtime_version`/`runtime_apis` custom sections,
 *   or by calling `Core_version`.
 * - **Calls** (`runtimeCall`): input written through the heap allocator, the entry point
 *   started with `(ptr, len)`, pauses driven until it returns its `len << 32 | ptr` output, which
 *   is checked against the memory before it is read. A hostile runtime gets a
 *   {@link RuntimeCallError}; the host and the runtime stay usable.
 * - **Host functions** (one file per area of `ext_*` functions, listed in the catalogue): the
 *   storage overlay and transactions, the state seen through it and the storage root,
 *   cryptography, tries, offchain, misc.
 * - **State** (`ProofStorage`, `MapStorage`, `LayeredStorage`): providers for the state a call
 *   starts from. `ProofStorage` answers from Merkle proofs checked against a state root (a
 *   light client's way: `ProofError` when a proof falls short or lies); `createReadProof` builds
 *   such a proof from a state in memory, for the reads a call reports (`storageReads`);
 *   `LayeredStorage` stacks calls' storage diffs, to run the calls of a block one after another.
 * - **Heap** (`FreeingBumpAllocator`): Substrate's allocator, byte-for-byte, with a host-side
 *   ledger that catches a runtime scribbling over its bookkeeping.
 *
 * ## Where things are
 *
 * The folders are layers, lowest first; a file imports only its own folder and the ones below
 * (`spec/layout.test.ts` checks it):
 *
 * ```text
 * errors.ts    the layer's errors
 * encoding/    hex, SCALE, zstd, the hashers: bytes in and out
 * heap/        the runtime's heap: the allocator, its ledger, the pointer-size convention
 * state/       the chain's state: the providers a call reads, the overlay it writes, the trie's
 *              node codec, its roots, Merkle proofs (checking and building them)
 * code/        runtime code, its version, its metadata
 * call/        one call's context, and what the caller provides for it (log entries, the
 *              offchain host, the handler of the imports this layer does not serve)
 * host/        the host functions, one file per area (`ext_storage_*` in `storage.ts`, ...), the
 *              catalogue that routes each import, and `definition.ts`: what a host function is
 * runtime/     the runtime (instances, heap size, version), the loop that drives a call, and
             suspended calls (stopped at a pause, moved to another thread as bytes)
 * index.ts     this file: the public surface
 * ```
 *
 * A new host area is a file in `host/` and a line in `host/catalogue.ts`; a new kind of state
 * provider goes in `state/`.
 *
 * Everything here is built on the public API of `resumable-wasm` (the core never depends on
 * this layer), so it doubles as a worked example of an interrupt-driven host. The one other
 * thing it imports from the core is the leaf layer (`lib/base/`: the binary reader, the progress
 * reporter, page sizes), which holds no state; `spec/layout.test.ts` keeps it that way.
 *
 * **Layer `substrate/`** (this is its main file): imports only `../index.js` and `../base/`.
 *
 * @module
 */

export {
  type AllocationStats,
  type AllocatorErrorKind,
  type AllocatorMemory,
  type AllocatorOptions,
  AllocatorError,
  FreeingBumpAllocator,
  HEADER_SIZE,
  MAX_POSSIBLE_ALLOCATION,
  MIN_ALLOCATION,
} from './heap/allocator.js';
export {
  MetadataError,
  ProofError,
  type ProofErrorKind,
  RuntimeCallError,
  type RuntimeCallErrorKind,
  RuntimeCodeError,
  type RuntimeCodeErrorKind,
  RuntimeVersionError,
  type RuntimeVersionErrorKind,
  SubstrateRuntimeError,
  type SubstrateRuntimeErrorKind,
} from './errors.js';
export { fromHex, toHex } from './encoding/hex.js';
export type { HostCall, HostCallEvent, HostFunctionHandler } from './call/host-call-handler.js';
export { BUILTIN_HOST_FUNCTIONS, type HostFunctionRoute, type RuntimeImport } from './host/catalogue.js';
export type { HashFunctionName } from './encoding/hashers.js';
export type { LogEntry, LogLevel, LogLevelFilter } from './call/log-entry.js';
export { type OpaqueMetadata, decodeOpaqueMetadata } from './code/metadata.js';
export { type PointerSize, packPointerSize, unpackPointerSize } from './heap/pointer-size.js';
export {
  DEFAULT_HEAP_PAGES,
  type RuntimeProgressEvent,
  SubstrateRuntime,
  type SubstrateRuntimeOptions,
  type SubstratePhase,
  coreVersion,
  runtimeCall,
} from './runtime/runtime.js';
export {
  DEFAULT_MAX_OUTPUT_SIZE,
  type RuntimeCallOptions,
  type RuntimeCallResult,
  type RuntimePause,
  type SuspendableCallOptions,
} from './runtime/call-loop.js';
export { type SuspendableCallResult, SuspendedRuntimeCall } from './runtime/suspended-call.js';
export {
  DEFAULT_MAX_CODE_SIZE,
  type DecodedRuntimeCode,
  type RuntimeCodeOptions,
  ZSTD_PREFIX,
  decodeRuntimeCode,
  isCompressedRuntimeCode,
} from './code/runtime-code.js';
export {
  type RuntimeApi,
  type RuntimeVersion,
  type RuntimeVersionSource,
  decodeRuntimeApis,
  decodeRuntimeVersion,
  encodeRuntimeVersion,
  readEmbeddedRuntimeVersion,
  runtimeApiId,
} from './code/runtime-version.js';
export {
  LayeredStorage,
  MapStorage,
  type MaybePromise,
  type StorageProvider,
  type StorageRead,
  type StorageReadKind,
  encodeOptionBytes,
} from './state/providers.js';
export { ProofStorage, type ProofStorageOptions, type ProofVerifiedEvent } from './state/proof-storage.js';
export { type ReadProof, type ReadProofOptions, createReadProof } from './state/read-proof.js';
export type { SignatureMock, TransactionIndexOperation } from './call/context.js';
export type { OffchainHost, OffchainStorageKind } from './call/offchain-host.js';
export { DEFAULT_CHILD_STORAGE_PREFIX, type StorageDiff, type TrieChanges } from './state/overlay.js';
export {
  type StateVersion,
  type TrieEntry,
  type TrieHash,
  emptyTrieRoot,
  orderedTrieRoot,
  trieRoot,
} from './state/trie-root.js';
