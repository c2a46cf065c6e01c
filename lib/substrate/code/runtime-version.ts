/**
 * The runtime version: what a runtime says it is, and which runtime APIs it implements.
 *
 * Every Substrate runtime describes itself with a `RuntimeVersion`, SCALE-encoded as:
 *
 * | field | SCALE type | meaning |
 * |---|---|---|
 * | `spec_name` | `String` | the chain's runtime family (`westend`, `statemint`, ...) |
 * | `impl_name` | `String` | the implementation (`parity-westend`, ...) |
 * | `authoring_version` | `u32` | which block authors can author for it |
 * | `spec_version` | `u32` | bumped at every change of behaviour: the number people quote |
 * | `impl_version` | `u32` | bumped for changes that do not change behaviour |
 * | `apis` | `Vec<([u8; 8], u32)>` | each runtime API: the first 8 bytes of the BLAKE2b hash of its name, and its version |
 * | `transaction_version` | `u32` | *absent in old runtimes*: changes when transactions must be re-signed |
 * | `state_version` | `u8` | *absent in runtimes before 2022*: 0 or 1, the storage trie's layout |
 *
 * The two trailing fields were appended over the years, so a decoder must accept the three
 * lengths.
 *
 * A host can learn the version in two ways. Since 2021, runtimes embed it in two WebAssembly
 * custom sections: `runtime_version` (the struct above, its `apis` list usually empty) and
 * `runtime_apis` (the API entries, 12 bytes each, with no length prefix). Reading them costs
 * nothing. The older way is to call the runtime's `Core_version` entry point, which returns the
 * same struct: that needs a running instance. A host uses the sections when both are present,
 * and falls back to `Core_version` otherwise (some runtimes ship only `runtime_apis`, a known
 * historical accident that smoldot tolerates the same way).
 *
 * @module
 */

import { blake2b } from '@noble/hashes/blake2.js';
import { Bytes, Struct, Tuple, Vector, str, u32, u8 } from 'scale-ts';
import { customSections } from '../../base/header-walks.js';
import { RuntimeVersionError } from '../errors.js';
import { fromHex, toHex } from '../encoding/hex.js';

/** One runtime API a runtime implements. */
export interface RuntimeApi {
  /** The API's id: the first 8 bytes of the BLAKE2b hash of its name, as `0x` hex. */
  readonly id: string;
  /** The API's name, if it is one this library knows (the id is a hash: names cannot be recovered). */
  readonly name: string | null;
  /** The version of the API the runtime implements. */
  readonly version: number;
}

/** A decoded runtime version; see the module documentation for the fields. */
export interface RuntimeVersion {
  readonly specName: string;
  readonly implName: string;
  readonly authoringVersion: number;
  readonly specVersion: number;
  readonly implVersion: number;
  readonly apis: readonly RuntimeApi[];
  /** `null` when the runtime predates the field. */
  readonly transactionVersion: number | null;
  /** `null` when the runtime predates the field (which means version 0). */
  readonly stateVersion: number | null;
}

/** Where a {@link RuntimeVersion} was read from. */
export type RuntimeVersionSource = 'custom-sections' | 'Core_version';

// The three lengths the struct has had, longest first.
const BASE_FIELDS = {
  specName: str,
  implName: str,
  authoringVersion: u32,
  specVersion: u32,
  implVersion: u32,
  apis: Vector(Tuple(Bytes(8), u32)),
};
const ENCODINGS = [
  Struct({ ...BASE_FIELDS, transactionVersion: u32, stateVersion: u8 }),
  Struct({ ...BASE_FIELDS, transactionVersion: u32 }),
  Struct(BASE_FIELDS),
] as const;

/** What one of {@link ENCODINGS} decodes to. */
interface DecodedVersion {
  specName: string;
  implName: string;
  authoringVersion: number;
  specVersion: number;
  implVersion: number;
  apis: [Uint8Array, number][];
  transactionVersion?: number;
  stateVersion?: number;
}

/**
 * Decodes a SCALE-encoded runtime version (the output of `Core_version`, or the content of the
 * `runtime_version` custom section). Throws {@link RuntimeVersionError} (`InvalidEncoding`) if
 * the bytes are not exactly one runtime version, with or without the trailing fields.
 */
export function decodeRuntimeVersion(bytes: Uint8Array): RuntimeVersion {
  for (const encoding of ENCODINGS) {
    let decoded;
    try {
      // scale-ts decodes from the start of the array's underlying buffer, ignoring its
      // offset: hand it a copy that starts where the bytes start.
      decoded = encoding.dec(bytes.slice()) as DecodedVersion;
    } catch {
      continue;
    }
    // The decoder does not say how much it read. Re-encoding does: a decoding that did not use
    // exactly every byte (the wrong length of struct, or a string that was not valid UTF-8 and
    // was replaced) re-encodes to a different length.
    if ((encoding.enc as (value: unknown) => Uint8Array)(decoded).length !== bytes.length) continue;
    const stateVersion = decoded.stateVersion ?? null;
    if (stateVersion !== null && stateVersion > 1) {
      throw new RuntimeVersionError('InvalidEncoding', `the runtime version has state_version ${stateVersion}; only 0 and 1 exist`);
    }
    return {
      specName: decoded.specName,
      implName: decoded.implName,
      authoringVersion: decoded.authoringVersion,
      specVersion: decoded.specVersion,
      implVersion: decoded.implVersion,
      apis: decoded.apis.map(([id, version]) => apiEntry(id, version)),
      transactionVersion: decoded.transactionVersion ?? null,
      stateVersion,
    };
  }
  throw new RuntimeVersionError(
    'InvalidEncoding',
    `${bytes.length} bytes that are not a SCALE-encoded runtime version (spec name, impl name, three u32, the API list, then optionally transaction_version and state_version)`,
  );
}

/**
 * The SCALE encoding of a runtime version, with the trailing fields it has (a
 * `transactionVersion` of `null` drops both trailing fields, as older runtimes encode it): what
 * `Core_version` returns, and what `ext_misc_runtime_version` hands a runtime.
 */
export function encodeRuntimeVersion(version: RuntimeVersion): Uint8Array {
  const value = {
    specName: version.specName,
    implName: version.implName,
    authoringVersion: version.authoringVersion,
    specVersion: version.specVersion,
    implVersion: version.implVersion,
    apis: version.apis.map((api) => [fromHex(api.id), api.version] as [Uint8Array, number]),
    transactionVersion: version.transactionVersion ?? 0,
    stateVersion: version.stateVersion ?? 0,
  };
  const encoding = version.transactionVersion === null ? ENCODINGS[2] : version.stateVersion === null ? ENCODINGS[1] : ENCODINGS[0];
  return (encoding.enc as (value: unknown) => Uint8Array)(value);
}

/**
 * Decodes the content of a `runtime_apis` custom section: API entries of 12 bytes each (an
 * 8-byte id and a little-endian `u32` version), with no length prefix. Throws
 * {@link RuntimeVersionError} (`InvalidApis`) if the length is not a multiple of 12.
 */
export function decodeRuntimeApis(bytes: Uint8Array): RuntimeApi[] {
  if (bytes.length % 12 !== 0) {
    throw new RuntimeVersionError('InvalidApis', `the runtime_apis section is ${bytes.length} bytes, not a multiple of 12`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const apis: RuntimeApi[] = [];
  for (let offset = 0; offset < bytes.length; offset += 12) {
    apis.push(apiEntry(bytes.subarray(offset, offset + 8), view.getUint32(offset + 8, true)));
  }
  return apis;
}

/**
 * The version embedded in a module's `runtime_version` and `runtime_apis` custom sections, or
 * `null` unless both are present (the caller then asks `Core_version`). The API list comes from
 * `runtime_apis`. If a section appears twice, the first one counts. Throws
 * {@link RuntimeVersionError} if a section is present but malformed.
 */
export function readEmbeddedRuntimeVersion(wasm: Uint8Array): RuntimeVersion | null {
  let versionSection: Uint8Array | null = null;
  let apisSection: Uint8Array | null = null;
  for (const section of customSections(wasm)) {
    if (section.name === 'runtime_version') versionSection ??= section.data;
    else if (section.name === 'runtime_apis') apisSection ??= section.data;
  }
  if (versionSection === null || apisSection === null) return null;
  return { ...decodeRuntimeVersion(versionSection), apis: decodeRuntimeApis(apisSection) };
}

/** The 8-byte id of the runtime API named `name`, as `0x` hex. */
export function runtimeApiId(name: string): string {
  return toHex(blake2b(new TextEncoder().encode(name), { dkLen: 8 }));
}

/**
 * Names of runtime APIs found in Polkadot-SDK runtimes, so that a version can be shown with
 * names rather than hashes. Incomplete by nature: an unknown API keeps `name: null`.
 */
const KNOWN_API_NAMES = [
  'AccountNonceApi',
  'AssetConversionApi',
  'AssetsApi',
  'AuraApi',
  'AuraUnincludedSegmentApi',
  'AuthorityDiscoveryApi',
  'BabeApi',
  'BeefyApi',
  'BeefyMmrApi',
  'Benchmark',
  'BlockBuilder',
  'CollectCollationInfo',
  'ContractsApi',
  'Core',
  'DryRunApi',
  'FungiblesApi',
  'GenesisBuilder',
  'GetCoreSelectorApi',
  'GetParachainInfo',
  'GrandpaApi',
  'LocationToAccountApi',
  'Metadata',
  'MmrApi',
  'NftsApi',
  'NominationPoolsApi',
  'OffchainWorkerApi',
  'ParachainHost',
  'RelayParentOffsetApi',
  'ReviveApi',
  'SessionKeys',
  'StakingApi',
  'TaggedTransactionQueue',
  'TransactionPaymentApi',
  'TransactionPaymentCallApi',
  'TrustedQueryApi',
  'TryRuntime',
  'ValidateStatement',
  'XcmPaymentApi',
];

let knownApis: Map<string, string> | null = null;

function apiEntry(id: Uint8Array, version: number): RuntimeApi {
  knownApis ??= new Map(KNOWN_API_NAMES.map((name) => [runtimeApiId(name), name]));
  const hex = toHex(id);
  return { id: hex, name: knownApis.get(hex) ?? null, version };
}
