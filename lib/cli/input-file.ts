/**
 * What the CLI accepts as a module or runtime file, and what it finds in it:
 *
 * - a `.wasm` binary, raw or zstd-compressed with Substrate's prefix;
 * - the same as `0x` hex in a text file (how runtimes appear in RPC answers);
 * - a chain spec (JSON with `genesis.raw.top`): the code is the value of `:code` (`0x3a636f6465`)
 *   and the rest of the genesis storage is available to answer the runtime's storage reads.
 *
 * @module
 */

import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fromHex } from '../substrate/index.js';
import { FileProblem, InputProblem } from './problems.js';

/** The storage key `:code`, under which a chain keeps its runtime. */
const CODE_KEY = '0x3a636f6465';

/** What was read from an input file. */
export interface InputFile {
  /** The code (or module) bytes, hex already decoded (still zstd-compressed if it was). */
  readonly code: Uint8Array;
  /** For a chain spec: its genesis storage (main trie), as hex key/value pairs. */
  readonly genesisStorage: readonly (readonly [string, string])[] | null;
  /** How the file was understood, for the output. */
  readonly format: 'binary' | 'hex' | 'chain-spec';
}

/**
 * Reads `path` and works out what it holds. Throws {@link FileProblem} for a file that cannot
 * be read, {@link InputProblem} for JSON that is not a chain spec with `:code` or hex that is
 * not hex. Anything else is returned as binary: whether it is WebAssembly is for the library's
 * checks to say.
 */
export async function readInputFile(path: string): Promise<InputFile> {
  const data = await readBinaryFile(path);
  const head = new TextDecoder().decode(data.subarray(0, 64)).trimStart();
  if (head.startsWith('{')) {
    const storage = genesisStorageOf(path, new TextDecoder().decode(data));
    const code = storage.find(([key]) => key.toLowerCase() === CODE_KEY)?.[1];
    if (code === undefined) throw new InputProblem(`${path} is a chain spec without :code in its genesis storage`);
    return { code: hexBytes(path, code, 'the :code entry'), genesisStorage: storage, format: 'chain-spec' };
  }
  if (head.startsWith('0x')) return { code: hexBytes(path, new TextDecoder().decode(data).trim(), 'the file'), genesisStorage: null, format: 'hex' };
  return { code: data, genesisStorage: null, format: 'binary' };
}

/** The bytes of `path`; throws {@link FileProblem} if it cannot be read. */
export async function readBinaryFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new FileProblem(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * Throws {@link FileProblem} unless `path` can be written: its folder exists and is writable,
 * and it is not a folder itself (nor a file that cannot be written). For outputs, checked before
 * the work whose result they receive (`prepare`'s transform: seconds to minutes).
 */
export async function checkWritableFile(path: string): Promise<void> {
  const cannot = (why: string): FileProblem => new FileProblem(`cannot write ${path}: ${why}`);
  let existing;
  try {
    existing = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw cannot((e as Error).message);
  }
  if (existing?.isDirectory() === true) throw cannot('it is a folder');
  try {
    await access(existing === undefined ? dirname(resolve(path)) : path, constants.W_OK);
  } catch (e) {
    throw cannot((e as Error).message);
  }
}

function hexBytes(path: string, hex: string, what: string): Uint8Array {
  try {
    return fromHex(hex);
  } catch {
    throw new InputProblem(`${path}: ${what} starts with 0x but is not hexadecimal bytes (an odd number of digits, or a character that is not one)`);
  }
}

/**
 * Storage entries from a JSON file: a chain spec's `genesis.raw.top`, or a plain object of hex
 * keys to hex values.
 */
export async function readStorageFile(path: string): Promise<readonly (readonly [string, string])[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new FileProblem(`cannot read ${path}: ${(e as Error).message}`);
  }
  return genesisStorageOf(path, text);
}

function genesisStorageOf(path: string, text: string): [string, string][] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputProblem(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  const top = (json as { genesis?: { raw?: { top?: unknown } } })?.genesis?.raw?.top ?? json;
  if (typeof top !== 'object' || top === null || Array.isArray(top)) {
    throw new InputProblem(`${path} holds neither a chain spec with genesis.raw.top nor an object of hex keys to hex values`);
  }
  const entries = Object.entries(top as Record<string, unknown>);
  for (const [key, value] of entries) {
    if (typeof value !== 'string' || !key.startsWith('0x') || !value.startsWith('0x')) {
      throw new InputProblem(`${path}: the storage entry ${JSON.stringify(key)} is not a pair of 0x-hex strings`);
    }
  }
  return entries as [string, string][];
}
