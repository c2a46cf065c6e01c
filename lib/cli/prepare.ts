/**
 * `resumable-wasm prepare <module-file> -o <artifact-file>`: runs the transform once and writes
 * the artifact, so that later runs (`run --artifact`, or `VirtualMachinePrototype.fromArtifact`)
 * skip it.
 *
 * An artifact is only valid for the options it was made with, including which imports are
 * answered inline. By default a module that looks like a Substrate runtime (it exports
 * `__heap_base`) is prepared exactly as `resumable-wasm run` and `SubstrateRuntime.create`
 * will load it (same heap pages); `--plain` prepares any module for a host that makes every
 * import pause (`VirtualMachinePrototype.create` with default options). `--asyncify-stack
 * single-memory` makes an artifact for engines without multi-memory (Safari before 27,
 * WebKitGTK, WPE), which every engine runs; the default, `auto`, takes this engine's choice.
 *
 * @module
 */

import { writeFile } from 'node:fs/promises';
import type { ArtifactCache } from '../base/config.js';
import { refuseUnsupportedAsyncifyStack } from '../base/engine.js';
import { NewError } from '../base/errors.js';
import { VirtualMachinePrototype } from '../vm/prototype.js';
import { SubstrateRuntime, decodeRuntimeCode } from '../substrate/index.js';
import { type ParsedArgs, integerOption } from './args.js';
import { bytes, duration, progressPrinter } from './format.js';
import { checkWritableFile, readInputFile } from './input-file.js';
import { checkBeforeTransform } from './module-checks.js';
import { asyncifyStackOption } from './module-options.js';
import { FileProblem, UsageProblem } from './problems.js';

/** What `prepare` accepts (see its help in `usage.ts`). */
export const PREPARE_OPTIONS = { values: ['output', 'heap-pages', 'asyncify-stack'], flags: ['plain', 'quiet'], short: { o: 'output' } } as const;

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

/**
 * Runs the command; `out` receives stdout lines, `err` stderr lines. As `run` does, it checks
 * the command line, the file and the module before the transform.
 */
export async function prepareCommand(args: ParsedArgs, out: (line: string) => void, err: (line: string) => void): Promise<void> {
  const [file, ...extra] = args.positional;
  const output = args.values.get('output');
  if (file === undefined || extra.length > 0) throw new UsageProblem('prepare needs exactly one <module-file>', 'prepare');
  if (output === undefined) throw new UsageProblem('prepare needs -o <artifact-file>', 'prepare');
  const heapPages = integerOption(args, 'heap-pages', 'prepare');
  const asyncifyStack = asyncifyStackOption(args, 'prepare');
  // Refused before anything is read or printed, as create() would refuse it after.
  refuseUnsupportedAsyncifyStack(asyncifyStack);
  const quiet = args.flags.has('quiet');
  const progress = (line: string): void => {
    if (!quiet) err(line);
  };

  // The output first: a path that cannot be written fails now, not after the transform.
  await checkWritableFile(output);
  const input = await readInputFile(file);
  const wasm = decodeRuntimeCode(input.code).wasm;
  const { heapBase } = checkBeforeTransform(wasm);
  const substrate = !args.flags.has('plain') && heapBase !== null;
  if (!substrate && heapPages !== undefined) throw new UsageProblem('--heap-pages only applies to Substrate runtimes', 'prepare');
  progress(`preparing ${file} for ${substrate ? 'the Substrate host layer' : 'a host where every import pauses'}`);
  const { listener, stop } = progressPrinter(progress, { wasmSize: wasm.length });
  const cache = new CapturingCache();
  const started = performance.now();
  try {
    if (substrate) {
      // Artifacts are Asyncify's: preparing one is running the Asyncify transform.
      await SubstrateRuntime.create({ code: wasm, ...(heapPages === undefined ? {} : { heapPages }), cache, backend: 'asyncify', asyncifyStack, onProgress: listener });
    } else {
      await VirtualMachinePrototype.create({ moduleBytes: wasm, symbols: () => 0, cache, backend: 'asyncify', asyncifyStack, onProgress: listener });
    }
  } finally {
    stop();
  }
  if (cache.artifact === null) throw new NewError('InvalidWasm', 'the transform produced no artifact');
  try {
    await writeFile(output, cache.artifact);
  } catch (e) {
    throw new FileProblem(`cannot write ${output}: ${(e as Error).message}`);
  }
  out(`${output}: ${bytes(cache.artifact.length)} artifact, prepared in ${duration(performance.now() - started)}`);
}
