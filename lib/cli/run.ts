/**
 * `resumable-wasm run <runtime-file> <entry-point> [hex-input]`: one call into a Substrate
 * runtime, with the host layer of `resumable-wasm/substrate`.
 *
 * Storage reads are answered from a chain spec's genesis storage (when the runtime file is a
 * chain spec, or with `--storage`), otherwise every key is absent. Host functions the layer does
 * not serve fail the call with an error naming them. Progress lines go to stderr, so that
 * stdout holds only the result (human-readable, or JSON with `--json`).
 *
 * @module
 */

import { writeFile } from 'node:fs/promises';
import { ArtifactError } from '../base/errors.js';
import { FileArtifactCache } from '../node/index.js';
import {
  type LogEntry,
  type LogLevelFilter,
  MapStorage,
  type RuntimeCallResult,
  SubstrateRuntime,
  decodeOpaqueMetadata,
  decodeRuntimeCode,
  fromHex,
  runtimeCall,
  toHex,
} from '../substrate/index.js';
import { type ParsedArgs, integerOption } from './args.js';
import { bytes, columns, count, duration, hexPreview, progressPrinter } from './format.js';
import { describeVersion } from './inspect.js';
import { checkWritableFile, readBinaryFile, readInputFile, readStorageFile } from './input-file.js';
import { backendOption } from './module-options.js';
import { chooseArtifactBackend, resolveBackend } from '../backends/list.js';
import { readModuleFacts } from '../load/module-facts.js';
import { exportNamesOf, failureExportNames } from './format.js';
import { checkRuntimeBeforeTransform } from './module-checks.js';
import { type DecodedOutput, decodeOutput } from './output-summary.js';
import { FileProblem, UsageProblem } from './problems.js';

const LOG_LEVELS: readonly LogLevelFilter[] = ['off', 'error', 'warn', 'info', 'debug', 'trace'];

/** What `run` accepts (see its help in `usage.ts`). */
export const RUN_OPTIONS = {
  values: ['storage', 'heap-pages', 'cache', 'artifact', 'log', 'out', 'backend'],
  flags: ['json', 'quiet', 'hex'],
} as const;

/**
 * Runs the command; `out` receives stdout lines, `err` stderr lines. Everything that can be
 * checked in milliseconds (the command line, the files, the module: valid, accepted by the VM,
 * a Substrate runtime) is checked before the first progress line and the transform.
 */
export async function runCommand(args: ParsedArgs, out: (line: string) => void, err: (line: string) => void): Promise<void> {
  const [file, entryPoint, hexInput, ...extra] = args.positional;
  if (file === undefined || entryPoint === undefined) throw new UsageProblem('run needs <runtime-file> and <entry-point>', 'run');
  if (extra.length > 0) throw new UsageProblem(`unexpected arguments: ${extra.join(' ')}`, 'run');
  const input = hexInput === undefined ? new Uint8Array() : parseHexInput(hexInput);
  const heapPages = integerOption(args, 'heap-pages', 'run');
  const logLevel = (args.values.get('log') ?? 'off') as LogLevelFilter;
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageProblem(`--log must be one of ${LOG_LEVELS.join(', ')}`, 'run');
  const json = args.flags.has('json');
  const quiet = args.flags.has('quiet');
  const hex = args.flags.has('hex');
  const progress = (line: string) => {
    if (!quiet) err(line);
  };
  const cacheDir = args.values.get('cache');
  const artifactFile = args.values.get('artifact');
  if (cacheDir !== undefined && artifactFile !== undefined) throw new UsageProblem('use --cache or --artifact, not both', 'run');
  const asked = backendOption(args, 'run');
  // Artifacts and the cache hold instrumented modules of the backend that has artifacts. An
  // artifact is asked for by name, so it picks that backend; the cache only serves it, and
  // never picks the backend.
  const chosen = artifactFile !== undefined ? chooseArtifactBackend(asked) : resolveBackend(asked);
  if (artifactFile !== undefined && !chosen.artifacts) throw new UsageProblem(`--artifact holds an Asyncify artifact: it cannot run with --backend ${asked}`, 'run');
  if (cacheDir !== undefined && asked !== 'auto' && !chosen.artifacts) throw new UsageProblem(`--cache keeps Asyncify artifacts: it has no use with --backend ${asked}`, 'run');
  const backend = chosen.name;
  const outFile = args.values.get('out');
  if (outFile !== undefined) await checkWritableFile(outFile);

  const runtimeFile = await readInputFile(file);
  const storageFile = args.values.get('storage');
  const storageEntries = storageFile !== undefined ? await readStorageFile(storageFile) : runtimeFile.genesisStorage;
  const storage = new MapStorage(storageEntries ?? []);
  const { wasm } = decodeRuntimeCode(runtimeFile.code);
  checkRuntimeBeforeTransform(wasm);
  const artifact = artifactFile === undefined ? undefined : await readBinaryFile(artifactFile);

  progress(`creating the runtime from ${file}${artifactFile === undefined ? '' : ` and the artifact ${artifactFile}`}, backend ${backend}`);
  if (cacheDir !== undefined && !chosen.artifacts) {
    progress(`  (--cache is not used: ${chosen.label} has no transform to skip; --backend asyncify uses the cache)`);
  }
  const { listener, durations, stop } = progressPrinter(progress, { wasmSize: wasm.length });
  const createStarted = performance.now();
  let runtime: SubstrateRuntime;
  try {
    runtime = await SubstrateRuntime.create({
      code: runtimeFile.code,
      ...(heapPages === undefined ? {} : { heapPages }),
      ...(cacheDir === undefined || !chosen.artifacts ? {} : { cache: new FileArtifactCache(cacheDir) }),
      ...(artifact === undefined ? {} : { artifact }),
      backend,
      onProgress: listener,
    });
  } catch (e) {
    // Name the files: the library's message speaks of "the artifact" and "these moduleBytes".
    if (!(e instanceof ArtifactError)) throw e;
    throw new ArtifactError(e.kind, `${artifactFile} cannot be used for ${file}${heapPages === undefined ? '' : ` with --heap-pages ${heapPages}`}: ${e.message}`, e);
  } finally {
    stop();
  }
  const createMs = performance.now() - createStarted;

  progress(`calling ${entryPoint} with ${bytes(input.length)} of input`);
  const logs: LogEntry[] = [];
  let result: RuntimeCallResult;
  try {
    result = await runtimeCall(runtime, entryPoint, input, {
      storage,
      maxLogLevel: logLevel,
      onLog: (entry) => {
        logs.push(entry);
        if (!json) progress(`  [${entry.level}] ${entry.target}: ${entry.message}`);
      },
    });
  } catch (e) {
    // A trap's backtrace names frames by their exports where the name section is stripped.
    if (typeof e === 'object' && e !== null) failureExportNames.set(e, exportNamesOf(readModuleFacts(wasm)));
    throw e;
  }
  progress(`  done in ${duration(result.durationMs)}`);

  if (outFile !== undefined) {
    try {
      await writeFile(outFile, result.output);
    } catch (e) {
      throw new FileProblem(`cannot write ${outFile}: ${(e as Error).message}`);
    }
  }
  let metadataVersion: number | null = null;
  try {
    metadataVersion = decodeOpaqueMetadata(result.output).version;
  } catch {
    // Not metadata: nothing to say about it.
  }
  const decoded = decodeOutput(entryPoint, result.output);

  if (json) {
    out(
      JSON.stringify(
        {
          runtime: {
            backend: runtime.backend,
            version: runtime.version,
            versionSource: runtime.versionSource,
            heapBase: runtime.heapBase,
            heapPages: runtime.heapPages,
            code: runtime.code,
          },
          entryPoint,
          input: toHex(input),
          output: toHex(result.output),
          outputSize: result.output.length,
          metadataVersion,
          decoded: decoded.kind === 'runtime-version' ? { runtimeVersion: decoded.version } : decoded.kind === 'metadata' ? { metadata: decoded.metadata } : null,
          hostCalls: Object.fromEntries(result.hostCalls),
          totalHostCalls: result.totalHostCalls,
          pauses: result.pauses,
          heap: result.heap,
          logs,
          timings: { createMs, phasesMs: Object.fromEntries(durations), callMs: result.durationMs },
        },
        null,
        2,
      ),
    );
    return;
  }
  printRunResult(runtime, entryPoint, result, { createMs, durations, decoded, hex, outFile }, out);
}

function printRunResult(
  runtime: SubstrateRuntime,
  entryPoint: string,
  result: RuntimeCallResult,
  extra: { createMs: number; durations: Map<string, number>; decoded: DecodedOutput; hex: boolean; outFile: string | undefined },
  out: (line: string) => void,
): void {
  out(`runtime: ${describeVersion(runtime.version)}, version from ${runtime.versionSource}`);
  out(`${entryPoint}: ${bytes(result.output.length)} of output${extra.outFile === undefined ? '' : ` (written to ${extra.outFile})`}`);
  printOutput(result.output, extra.decoded, extra.hex, out);
  out(`host calls: ${count(result.totalHostCalls)}, of which ${count(result.pauses)} paused the call`);
  const sorted = [...result.hostCalls].sort((a, b) => b[1] - a[1]);
  for (const line of columns(sorted.map(([name, n]) => [name, count(n)]))) out(line);
  out(
    `heap: ${bytes(result.heap.bytesAllocatedPeak)} at the peak, ${count(result.heap.allocations)} allocations, ` +
      `${count(result.heap.frees)} frees`,
  );
  const phases = ['transform', 'load-artifact', 'compile']
    .filter((p) => extra.durations.has(p))
    .map((p) => `${p} ${duration(extra.durations.get(p)!)}`)
    .join(', ');
  out(`time: creating the runtime ${duration(extra.createMs)}${phases === '' ? '' : ` (${phases})`}, the call ${duration(result.durationMs)}`);
}

/**
 * The output: decoded when the layer knows its entry point, else as hex (all of it with
 * `--hex`, which also replaces the decoding).
 */
function printOutput(output: Uint8Array, decoded: DecodedOutput, hex: boolean, out: (line: string) => void): void {
  if (hex) {
    out(`  ${toHex(output)}`);
    return;
  }
  switch (decoded.kind) {
    case 'runtime-version':
      for (const line of JSON.stringify(decoded.version, null, 2).split('\n')) out(`  ${line}`);
      return;
    case 'metadata': {
      const { version, size, pallets } = decoded.metadata;
      out(`  metadata version ${version}, ${bytes(size)}${pallets === null ? '' : `, ${count(pallets)} pallet${pallets === 1 ? '' : 's'}`} (--hex for the bytes)`);
      return;
    }
    case 'bytes': {
      const cut = output.length > 32 ? ` (--hex for all ${bytes(output.length)})` : '';
      out(`  ${hexPreview(output)}${cut}${decoded.note === null ? '' : `; ${decoded.note}`}`);
      return;
    }
  }
}

function parseHexInput(hex: string): Uint8Array {
  try {
    return fromHex(hex);
  } catch {
    throw new UsageProblem(`the input must be hexadecimal bytes (e.g. 0x0102), got ${JSON.stringify(hex)}`, 'run');
  }
}
