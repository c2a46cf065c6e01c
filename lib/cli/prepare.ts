/**
 * `resumable-wasm prepare <module-file> -o <artifact-file>`: runs the transform once and writes
 * the artifact, so that later runs (`run --artifact`, or `VirtualMachinePrototype.fromArtifact`)
 * skip it.
 *
 * An artifact is only valid for the options it was made with, including which imports are
 * answered inline. By default a module that looks like a Substrate runtime (it exports
 * `__heap_base`) is prepared exactly as `resumable-wasm run` and `SubstrateRuntime.create`
 * will load it (same heap pages); `--plain` prepares any module for a host that makes every
 * import pause (`VirtualMachinePrototype.create` with default options).
 *
 * @module
 */

import { writeFile } from 'node:fs/promises';
import type { ArtifactCache } from '../base/config.js';
import { NewError } from '../base/errors.js';
import { exportedI32Constant } from '../base/header-walks.js';
import { VirtualMachinePrototype } from '../vm/prototype.js';
import { SubstrateRuntime, decodeRuntimeCode } from '../substrate/index.js';
import { type ParsedArgs, UsageProblem, integerOption } from './args.js';
import { bytes, duration, progressPrinter } from './format.js';
import { readInputFile } from './input-file.js';

/** A cache that never has anything and keeps the one artifact it is given. */
class CapturingCache implements ArtifactCache {
  artifact: Uint8Array | null = null;
  get(): undefined {
    return undefined;
  }
  set(_key: string, artifact: Uint8Array): void {
    this.artifact = artifact;
  }
}

/** Runs the command; `out` receives stdout lines, `err` stderr lines. */
export async function prepareCommand(args: ParsedArgs, out: (line: string) => void, err: (line: string) => void): Promise<void> {
  const [file, ...extra] = args.positional;
  const output = args.values.get('o') ?? args.values.get('output');
  if (file === undefined || extra.length > 0) throw new UsageProblem('prepare needs exactly one <module-file>');
  if (output === undefined) throw new UsageProblem('prepare needs -o <artifact-file>');
  const heapPages = integerOption(args, 'heap-pages');
  const quiet = args.flags.has('quiet');
  const progress = (line: string): void => {
    if (!quiet) err(line);
  };

  const input = await readInputFile(file);
  const wasm = decodeRuntimeCode(input.code).wasm;
  const substrate = !args.flags.has('plain') && exportedI32Constant(wasm, '__heap_base') !== null;
  progress(`preparing ${file} for ${substrate ? 'the Substrate host layer' : 'a host where every import pauses'}`);
  const { listener } = progressPrinter(progress);
  const cache = new CapturingCache();
  const started = performance.now();
  if (substrate) {
    // Artifacts are Asyncify's: preparing one is running the Asyncify transform.
    await SubstrateRuntime.create({ code: wasm, ...(heapPages === undefined ? {} : { heapPages }), cache, backend: 'asyncify', onProgress: listener });
  } else {
    if (heapPages !== undefined) throw new UsageProblem('--heap-pages only applies to Substrate runtimes');
    await VirtualMachinePrototype.create({ moduleBytes: wasm, symbols: () => 0, cache, backend: 'asyncify', onProgress: listener });
  }
  if (cache.artifact === null) throw new NewError('InvalidWasm', 'the transform produced no artifact');
  await writeFile(output, cache.artifact);
  out(`${output}: ${bytes(cache.artifact.length)} artifact, prepared in ${duration(performance.now() - started)}`);
}
