/**
 * Test helper: the raw chain specs in `../shared/runtimes`, which carry today's runtimes (2025
 * and 2026, rustc 1.91 and later) together with the genesis storage they run against.
 *
 * A raw chain spec keeps the whole genesis state under `genesis.raw`: `top` maps each storage
 * key of the main trie to its value, both as `0x` hex, and `:code` (`0x3a636f6465`) is the
 * runtime; `childrenDefault` holds the default child tries by their unprefixed key. Tests of
 * real runtimes need exactly two things from it, the code and the storage, so
 * {@link loadChainSpec} returns those, decoded once, and {@link SHARED_CHAIN_SPECS} says what
 * each file holds so that tests can check it rather than restate it.
 */
import { readFileSync } from 'node:fs';
import { toHex } from '../../lib/substrate/encoding/hex.js';

/** The storage key of the runtime code, `:code`, as a chain spec writes it. */
export const CODE_KEY = '0x3a636f6465';

/** One raw chain spec, as tests use it. */
export interface ChainSpecGenesis {
  /** The chain spec's `name` (`"Paseo"`, `"People Paseo Local"`). */
  readonly name: string;
  /** The chain spec's `id`. */
  readonly id: string;
  /** The runtime code as stored under `:code` (zstd with Substrate's prefix, for every current chain). */
  readonly code: Uint8Array;
  /**
   * The genesis storage of the main trie, `:code` included, by key in `0x`-prefixed lowercase
   * hex (the form `MapStorage` and `toHex` use, so `storage.get(toHex(key))` finds a key).
   */
  readonly storage: Map<string, Uint8Array>;
  /** The default child tries, by their key without prefix (same hex form), each a map like {@link storage}. */
  readonly children: Map<string, Map<string, Uint8Array>>;
}

/** What a chain spec file in `../shared/runtimes` holds, as documented in its README. */
export interface SharedChainSpec {
  /** The path inside `../shared`, for `describeWithShared`. */
  readonly file: string;
  /** The runtime's `spec_name`. */
  readonly specName: string;
  /** The runtime's `spec_version`. */
  readonly specVersion: number;
  /** The size of `:code` as stored, in bytes. */
  readonly codeSize: number;
  /** The size of the WebAssembly module after decompression, in bytes. */
  readonly wasmSize: number;
  /** The number of keys in the genesis storage's main trie. */
  readonly storageKeys: number;
}

/**
 * The chain specs in `../shared/runtimes`. The sizes were measured and cross-checked with
 * libzstd (`node:zlib`); the README gives the People code as 1,590,302 bytes, one more than the
 * hex it stores.
 */
export const SHARED_CHAIN_SPECS: readonly SharedChainSpec[] = [
  {
    file: 'runtimes/paseo-substitute.json',
    specName: 'paseo',
    specVersion: 2_003_001,
    codeSize: 1_984_356,
    wasmSize: 12_378_712,
    storageKeys: 203,
  },
  {
    file: 'runtimes/people-paseo-local.json',
    specName: 'people-paseo',
    specVersion: 2_000_006,
    codeSize: 1_590_301,
    wasmSize: 8_802_115,
    storageKeys: 69,
  },
];

/** The JSON shape this helper reads (everything else in a chain spec is ignored). */
interface RawChainSpecJson {
  name?: unknown;
  id?: unknown;
  genesis?: { raw?: { top?: unknown; childrenDefault?: unknown } };
}

/**
 * Reads the raw chain spec at `path` (a JSON file, as `describeWithShared` hands it) and returns
 * its runtime code and genesis storage, decoded from hex. Throws an `Error` naming the file if
 * it is not a raw chain spec (no `genesis.raw.top`, a value that is not hex) or has no `:code`.
 */
export function loadChainSpec(path: string): ChainSpecGenesis {
  const fail = (what: string): never => {
    throw new Error(`${path} is not a raw chain spec with a runtime: ${what}`);
  };
  const json = JSON.parse(readFileSync(path, 'utf8')) as RawChainSpecJson;
  const raw = json.genesis?.raw;
  if (raw === undefined || !isRecord(raw.top)) return fail('it has no genesis.raw.top');
  const storage = hexMap(raw.top, 'genesis.raw.top', fail);
  const code = storage.get(CODE_KEY) ?? fail(`genesis.raw.top has no ${CODE_KEY} (:code)`);
  const children = new Map<string, Map<string, Uint8Array>>();
  if (raw.childrenDefault !== undefined) {
    if (!isRecord(raw.childrenDefault)) return fail('genesis.raw.childrenDefault is not an object');
    for (const [key, trie] of Object.entries(raw.childrenDefault)) {
      if (!isRecord(trie)) return fail(`the child trie ${key} is not an object`);
      children.set(normaliseKey(key, fail), hexMap(trie, `the child trie ${key}`, fail));
    }
  }
  return {
    name: typeof json.name === 'string' ? json.name : fail('it has no name'),
    id: typeof json.id === 'string' ? json.id : fail('it has no id'),
    code,
    storage,
    children,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `entries` (hex to hex) as a map from normalised hex keys to bytes. */
function hexMap(entries: Record<string, unknown>, where: string, fail: (what: string) => never): Map<string, Uint8Array> {
  const map = new Map<string, Uint8Array>();
  for (const [key, value] of Object.entries(entries)) {
    if (typeof value !== 'string') fail(`the value of ${key} in ${where} is not a string`);
    map.set(normaliseKey(key, fail), decodeHex(value as string, `the value of ${key} in ${where}`, fail));
  }
  return map;
}

function normaliseKey(key: string, fail: (what: string) => never): string {
  return toHex(decodeHex(key, `the key ${key}`, fail));
}

/** Hex with a `0x` prefix, decoded by Node (the library's `fromHex` takes a second for a 4 MB spec). */
function decodeHex(hex: string, what: string, fail: (what: string) => never): Uint8Array {
  if (!/^0x[0-9a-fA-F]*$/.test(hex) || hex.length % 2 !== 0) return fail(`${what} is not 0x-prefixed hex`);
  const bytes = Buffer.from(hex.slice(2), 'hex');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
