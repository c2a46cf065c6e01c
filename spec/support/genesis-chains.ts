/**
 * Test support for the real chains in `../shared/runtimes/`: their raw chain specs
 * (`people-paseo-local.json`, `paseo-substitute.json`) give a runtime and its genesis storage.
 *
 * The runtime code is decompressed here with a plain `fzstd.decompress` (the Paseo relay
 * runtime's zstd frame declares a 128 MiB window that the library's bounded decoder refuses
 * today), and runtimes are created with an artifact cache in the system's temporary folder, so
 * that the Asyncify transform (tens of seconds for these runtimes) runs once per machine.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress } from 'fzstd';
import type { Backend } from '../../lib/index.js';
import { FileArtifactCache } from '../../lib/node/index.js';
import { MapStorage, SubstrateRuntime, fromHex } from '../../lib/substrate/index.js';

/** A chain's genesis: its raw runtime code and its storage. */
export interface Genesis {
  /** The runtime, raw wasm. */
  readonly wasm: Uint8Array;
  /** The genesis storage, `0x` hex keys to `0x` hex values (main trie). */
  readonly top: Readonly<Record<string, string>>;
  /** The child tries' storage, by the child trie's key in hex (without prefix). */
  readonly children: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Reads a raw chain spec. */
export function readGenesis(path: string): Genesis {
  const spec = JSON.parse(readFileSync(path, 'utf8')) as {
    genesis: { raw: { top: Record<string, string>; childrenDefault?: Record<string, Record<string, string>> } };
  };
  const top = spec.genesis.raw.top;
  const code = fromHex(top['0x3a636f6465']!);
  const prefixed = [0x52, 0xbc, 0x53, 0x76, 0x46, 0xdb, 0x8e, 0x05].every((byte, i) => code[i] === byte);
  return { wasm: prefixed ? decompress(code.subarray(8)) : code, top, children: spec.genesis.raw.childrenDefault ?? {} };
}

/** The genesis storage as a provider. */
export function genesisStorage(genesis: Genesis): MapStorage {
  const prefix = '0x' + Buffer.from(':child_storage:default:').toString('hex');
  return new MapStorage(
    Object.entries(genesis.top),
    Object.entries(genesis.children).map(([child, entries]) => [child.startsWith(prefix) ? '0x' + child.slice(prefix.length) : child, Object.entries(entries)]),
  );
}

/** Where the artifacts of the real runtimes are kept between test runs. */
export const ARTIFACT_DIR = join(tmpdir(), 'resumable-wasm-artifacts');

/**
 * The chain's runtime, through the artifact cache, on `backend` (default `'auto'`: JSPI here,
 * which needs no artifact; on Asyncify the transform runs once per machine).
 */
export function genesisRuntime(genesis: Genesis, backend?: Backend): Promise<SubstrateRuntime> {
  return SubstrateRuntime.create({ code: genesis.wasm, cache: new FileArtifactCache(ARTIFACT_DIR), ...(backend === undefined ? {} : { backend }) });
}
