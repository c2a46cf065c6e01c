/**
 * Test support for the differential test against chopsticks-executor (smoldot's host compiled to
 * wasm, an independent implementation of the Substrate host interface): the same call run by
 * both, on the same state, with their outputs and storage diffs side by side; and the SCALE
 * pieces the test builds its inputs from (headers, digests, inherent data, extrinsics), encoded
 * from the runtime's own metadata.
 *
 * chopsticks-executor 1.2.1's `run_task` takes a list of calls and callbacks for the state; it
 * returns the output of the last call and the storage diff of all of them. The test runs one
 * call per task, so each diff is one call's. Its `mockSignatureHost` is a boolean: `true`
 * accepts the magic signature `de ad be ef cd ...` (this layer's `mockSignatures: 'magic'`).
 */
import { run_task } from '@acala-network/chopsticks-executor';
import { getDynamicBuilder, getLookupFn } from '@polkadot-api/metadata-builders';
import { decAnyMetadata, unifyMetadata } from '@polkadot-api/substrate-bindings';
import { blake2b } from '@noble/hashes/blake2.js';
import { type RuntimeCallResult, MapStorage, type StorageDiff, type SubstrateRuntime, fromHex, runtimeCall, toHex } from '../../lib/substrate/index.js';

/** The state as flat `0x` hex keys and values (child trie entries would carry their `:child_storage:default:` prefix). */
export type FlatState = Map<string, string>;

/**
 * What chopsticks-executor wrote to the console, by call, since the last
 * {@link takeChopsticksLogs}: its own logging (a runtime's panic message, its task's INFO lines)
 * goes to `console.*` whatever `runtimeLogLevel` says. Captured, so that a test asserts the
 * messages it expects (a panic) instead of the run printing them as if something failed.
 */
let chopsticksLogs: string[] = [];

/** The lines chopsticks-executor logged since the last call of this function. */
export function takeChopsticksLogs(): string[] {
  const logs = chopsticksLogs;
  chopsticksLogs = [];
  return logs;
}

/** Runs `action` with `console.log/info/warn/error/debug` writing to {@link chopsticksLogs}. */
async function capturingConsole<T>(action: () => Promise<T>): Promise<T> {
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods) console[m] = (...args: unknown[]) => void chopsticksLogs.push(`${m}: ${args.map(String).join(' ').trim()}`);
  try {
    return await action();
  } finally {
    methods.forEach((m, i) => (console[m] = saved[i]!));
  }
}

/** What chopsticks-executor answered for one call. */
export interface ChopsticksCall {
  readonly output: string;
  /** The storage diff, sorted by key. */
  readonly diff: [string, string | null][];
}

/** Runs `entryPoint(input)` in chopsticks-executor on `state`; rejects with chopsticks's error text. */
export async function chopsticksCall(
  wasmHex: string,
  entryPoint: string,
  input: Uint8Array,
  state: FlatState,
  mockSignatures: boolean,
  children: readonly Uint8Array[] = [],
): Promise<ChopsticksCall> {
  const keys = [...state.keys()].sort();
  const childPrefixes = children.map((child) => toHex(new TextEncoder().encode(':child_storage:default:')) + toHex(child).slice(2));
  // smoldot wants a child trie's next key without the child trie's prefix (chopsticks strips it too)
  const strip = (key: string) => {
    const prefix = childPrefixes.find((p) => key.startsWith(p) && key.length > p.length);
    return prefix === undefined ? key : '0x' + key.slice(prefix.length);
  };
  const task = {
    id: 1,
    wasm: wasmHex,
    calls: [[entryPoint, [toHex(input)]]],
    mockSignatureHost: mockSignatures,
    allowUnresolvedImports: false,
    runtimeLogLevel: 0,
    storageProofSize: 0,
  };
  const callbacks = {
    getStorage: async (key: string) => state.get(key),
    // smoldot asks for the key after `key` that starts with `prefix` (empty: any)
    getNextKey: async (prefix: string, key: string) => {
      const next = keys.find((k) => k > key && k.startsWith(prefix));
      return next === undefined ? undefined : strip(next);
    },
    offchainGetStorage: async () => undefined,
    offchainTimestamp: async () => 0,
    offchainRandomSeed: async () => '0x' + '00'.repeat(32),
    offchainSubmitTransaction: async () => false,
  };
  const response = (await capturingConsole(() => run_task(task, callbacks as never))) as {
    Call?: { result: string; storageDiff: [string, string | null][] };
    Error?: string;
  };
  if (response.Call === undefined) throw new Error(`chopsticks: ${response.Error}`);
  // a deletion comes back as `undefined`
  const diff = response.Call.storageDiff.map(([key, value]): [string, string | null] => [key, value ?? null]);
  return { output: response.Call.result, diff: diff.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) };
}

/** This layer's storage diff in chopsticks's shape: child tries' keys prefixed, sorted by key. */
export function flatDiff(diff: StorageDiff): [string, string | null][] {
  const out: [string, string | null][] = [...diff.main].map(([key, value]) => [key, value === null ? null : toHex(value)]);
  const prefix = toHex(new TextEncoder().encode(':child_storage:default:'));
  for (const [child, changes] of diff.children) {
    for (const [key, value] of changes) out.push([prefix + child.slice(2) + key.slice(2), value === null ? null : toHex(value)]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `state` with `diff` applied. */
export function applyDiff(state: FlatState, diff: readonly [string, string | null][]): FlatState {
  const next = new Map(state);
  for (const [key, value] of diff) {
    if (value === null) next.delete(key);
    else next.set(key, value);
  }
  return next;
}

/**
 * The flat state as a provider for this layer. The entries of the child tries named in
 * `children` (keys `:child_storage:default:` + child + key) go to those child tries; the child
 * tries' roots (the key without a suffix) stay in the main trie.
 */
export function flatStorage(state: FlatState, children: readonly Uint8Array[] = []): MapStorage {
  const prefixes = children.map((child) => [toHex(child), toHex(new TextEncoder().encode(':child_storage:default:')) + toHex(child).slice(2)] as const);
  const top: [string, string][] = [];
  const childEntries = new Map<string, [string, string][]>(prefixes.map(([child]) => [child, []]));
  for (const [key, value] of state) {
    const owner = prefixes.find(([, prefix]) => key.startsWith(prefix) && key.length > prefix.length);
    if (owner === undefined) top.push([key, value]);
    else childEntries.get(owner[0])!.push(['0x' + key.slice(owner[1].length), value]);
  }
  return new MapStorage(top, [...childEntries]);
}

/** One call run by both, with what each answered. */
export interface BothResults {
  readonly ours: RuntimeCallResult;
  readonly theirs: ChopsticksCall;
  /** Our diff in chopsticks's shape. */
  readonly ourDiff: [string, string | null][];
}

/** Runs a call in this layer and in chopsticks-executor, on the same state. */
export async function runBoth(
  runtime: SubstrateRuntime,
  wasmHex: string,
  entryPoint: string,
  input: Uint8Array,
  state: FlatState,
  options: { readonly mockSignatures?: boolean; readonly children?: readonly Uint8Array[] } = {},
): Promise<BothResults> {
  const ours = await runtimeCall(runtime, entryPoint, input, {
    storage: flatStorage(state, options.children),
    storageProofSize: 0,
    ...(options.mockSignatures === true ? { mockSignatures: 'magic' as const } : {}),
  });
  const theirs = await chopsticksCall(wasmHex, entryPoint, input, state, options.mockSignatures === true, options.children);
  return { ours, theirs, ourDiff: flatDiff(ours.storageDiff) };
}

// ---- SCALE pieces ---------------------------------------------------------------------------

export const concat = (...parts: (Uint8Array | readonly number[])[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
export const u32le = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
export const u64le = (n: bigint) => Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
export const blake2_256 = (data: Uint8Array) => blake2b(data, { dkLen: 32 });

/** SCALE compact encoding of a non-negative integer below 2^30. */
export function compact(n: number): number[] {
  if (n < 64) return [n << 2];
  if (n < 1 << 14) return [((n << 2) | 1) & 0xff, n >> 6];
  const v = (n << 2) | 2;
  return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
}

/** `Vec<u8>`: compact length, then the bytes. */
export const vecBytes = (data: Uint8Array) => concat(compact(data.length), data);

/** A block header (`number` below 2^30). */
export function encodeHeader(header: { parentHash: Uint8Array; number: number; stateRoot: Uint8Array; extrinsicsRoot: Uint8Array; digest: Uint8Array[] }): Uint8Array {
  return concat(header.parentHash, compact(header.number), header.stateRoot, header.extrinsicsRoot, compact(header.digest.length), ...header.digest);
}

/** A `DigestItem::PreRuntime(engine, data)`. */
export const preRuntimeDigest = (engine: string, data: Uint8Array) => concat([6], new TextEncoder().encode(engine), vecBytes(data));

/** `InherentData`: a map from 8-byte identifiers to encoded values, in identifier order. */
export function encodeInherentData(entries: [string, Uint8Array][]): Uint8Array {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : 1));
  return concat(compact(sorted.length), ...sorted.map(([id, value]) => concat(new TextEncoder().encode(id), vecBytes(value))));
}

/** Splits a SCALE `Vec<Vec<u8>>`-shaped list of extrinsics (each with its own length prefix) into the encoded extrinsics. */
export function splitExtrinsics(bytes: Uint8Array): Uint8Array[] {
  let offset = 0;
  const readCompact = (): number => {
    const mode = bytes[offset]! & 3;
    if (mode === 0) return bytes[offset++]! >> 2;
    if (mode === 1) return ((bytes[offset++]! | (bytes[offset++]! << 8)) >>> 2);
    const v = (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 2;
    offset += 4;
    return v;
  };
  const count = readCompact();
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const start = offset;
    const length = readCompact();
    out.push(bytes.slice(start, offset + length));
    offset += length;
  }
  return out;
}

/** What the test needs from a runtime's metadata. */
export interface MetadataTools {
  readonly builder: ReturnType<typeof getDynamicBuilder>;
  readonly lookup: ReturnType<typeof getLookupFn>;
  /** The signed extensions of version-4 extrinsics, in order: their type ids. */
  readonly extensionTypes: readonly number[];
  readonly extensionNames: readonly string[];
}

/** Decodes the output of `Metadata_metadata_at_version` (an `Option<OpaqueMetadata>`). */
export function metadataTools(output: Uint8Array): MetadataTools {
  if (output[0] !== 1) throw new Error('the runtime has no metadata of that version');
  const opaque = output.subarray(1);
  const lengthBytes = (opaque[0]! & 3) === 0 ? 1 : (opaque[0]! & 3) === 1 ? 2 : 4;
  const metadata = unifyMetadata(decAnyMetadata(opaque.subarray(lengthBytes)));
  const lookup = getLookupFn(metadata);
  const extensions = metadata.extrinsic.extensionsByVersion[0] ?? Object.values(metadata.extrinsic.extensions);
  return { builder: getDynamicBuilder(lookup), lookup, extensionTypes: extensions.map((e) => e.type), extensionNames: extensions.map((e) => e.identifier) };
}

/** An encoded call `pallet.name(args)`, args in polkadot-api's representation. */
export function encodeCall(tools: MetadataTools, pallet: string, name: string, args: unknown): Uint8Array {
  const { codec, location } = tools.builder.buildCall(pallet, name);
  return concat(location, codec.enc(args));
}

/** The encoding of the "zero" value of a type: 0, empty, `None`, the first enum variant (an immortal era, no tip, no metadata hash). */
export function zeroValue(tools: MetadataTools, typeId: number): Uint8Array {
  const sizes: Record<string, number> = { bool: 1, char: 4, u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8, u128: 16, i128: 16, u256: 32, i256: 32 };
  const encode = (entry: ReturnType<MetadataTools['lookup']>): number[] => {
    switch (entry.type) {
      case 'primitive':
        return entry.value === 'str' ? [0] : new Array<number>(sizes[entry.value]!).fill(0);
      case 'compact':
      case 'sequence':
      case 'option':
      case 'bitSequence':
        return [0];
      case 'void':
        return [];
      case 'AccountId32':
        return new Array<number>(32).fill(0);
      case 'AccountId20':
        return new Array<number>(20).fill(0);
      case 'tuple':
        return entry.value.flatMap(encode);
      case 'struct':
        return Object.values(entry.value).flatMap(encode);
      case 'array':
        return Array.from({ length: entry.len }, () => encode(entry.value)).flat();
      case 'result':
        return [0, ...encode(entry.value.ok)];
      case 'enum': {
        const variant = Object.values(entry.value).sort((a, b) => a.idx - b.idx)[0]!;
        const inner = variant.type === 'lookupEntry' ? encode(variant.value) : variant.type === 'void' ? [] : encode({ ...variant, id: -1 } as never);
        return [variant.idx, ...inner];
      }
    }
  };
  return Uint8Array.from(encode(tools.lookup(typeId)));
}

/**
 * A signed (version 4) extrinsic of `call` from `signer`, signed with the magic signature
 * (`MultiSignature::Sr25519`) and every signed extension at its zero value (immortal, nonce 0,
 * no tip): valid for a runtime whose signature checks are mocked.
 */
export function magicSignedExtrinsic(tools: MetadataTools, signer: Uint8Array, call: Uint8Array, nonce = 0): Uint8Array {
  const magic = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, ...new Array<number>(60).fill(0xcd)]);
  const extra = tools.extensionTypes.map((type, i) =>
    tools.extensionNames[i] === 'CheckNonce' ? Uint8Array.from(compact(nonce)) : zeroValue(tools, type),
  );
  const body = concat([0x84], [0], signer, [1], magic, ...extra, call);
  return concat(compact(body.length), body);
}

/** The richest account in `state` under `System.Account` (by free balance), as 32 bytes. */
export function fundedAccount(state: FlatState): Uint8Array {
  const prefix = '0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9';
  // AccountInfo: nonce, consumers, providers, sufficients (u32 each), then the free balance (u128)
  const free = (value: string) => fromHex(value).subarray(16, 32).reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  const accounts = [...state].filter(([key]) => key.startsWith(prefix)).sort(([, a], [, b]) => (free(b) > free(a) ? 1 : free(b) < free(a) ? -1 : 0));
  return fromHex(accounts[0]![0]).slice(-32); // a copy: scale-ts decoders ignore a view's offset
}
