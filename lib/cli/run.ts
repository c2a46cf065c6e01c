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

import { readFile, writeFile } from 'node:fs/promises';
import type { ArtifactCache } from '../base/config.js';
import { FileArtifactCache } from '../node/index.js';
import {
  type LogEntry,
  type LogLevelFilter,
  MapStorage,
  type RuntimeCallResult,
  SubstrateRuntime,
  decodeOpaqueMetadata,
  fromHex,
  runtimeCall,
  toHex,
} from '../substrate/index.js';
import { type ParsedArgs, UsageProblem, integerOption } from './args.js';
import { bytes, columns, count, duration, hexPreview, progressPrinter } from './format.js';
import { describeVersion } from './inspect.js';
import { readInputFile, readStorageFile } from './input-file.js';

const LOG_LEVELS: readonly LogLevelFilter[] = ['off', 'error', 'warn', 'info', 'debug', 'trace'];

/** Runs the command; `out` receives stdout lines, `err` stderr lines. */
export async function runCommand(args: ParsedArgs, out: (line: string) => void, err: (line: string) => void): Promise<void> {
  const [file, entryPoint, hexInput, ...extra] = args.positional;
  if (file === undefined || entryPoint === undefined) throw new UsageProblem('run needs <runtime-file> and <entry-point>');
  if (extra.length > 0) throw new UsageProblem(`unexpected arguments: ${extra.join(' ')}`);
  const input = hexInput === undefined ? new Uint8Array() : parseHexInput(hexInput);
  const heapPages = integerOption(args, 'heap-pages');
  const logLevel = (args.values.get('log') ?? 'off') as LogLevelFilter;
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageProblem(`--log must be one of ${LOG_LEVELS.join(', ')}`);
  const json = args.flags.has('json');
  const quiet = args.flags.has('quiet');
  const progress = (line: string) => {
    if (!quiet) err(line);
  };

  const runtimeFile = await readInputFile(file);
  const storageFile = args.values.get('storage');
  const storageEntries = storageFile !== undefined ? await readStorageFile(storageFile) : runtimeFile.genesisStorage;
  const storage = new MapStorage(storageEntries ?? []);
  const cacheDir = args.values.get('cache');
  const artifactFile = args.values.get('artifact');
  if (cacheDir !== undefined && artifactFile !== undefined) throw new UsageProblem('use --cache or --artifact, not both');
  const cache =
    cacheDir !== undefined
      ? new FileArtifactCache(cacheDir)
      : artifactFile !== undefined
        ? await oneArtifact(artifactFile)
        : undefined;

  progress(`creating the runtime from ${file}`);
  const { listener, durations } = progressPrinter(progress);
  const createStarted = performance.now();
  const runtime = await SubstrateRuntime.create({
    code: runtimeFile.code,
    ...(heapPages === undefined ? {} : { heapPages }),
    ...(cache === undefined ? {} : { cache }),
    // Artifacts and the cache hold Asyncify-instrumented modules: asking for them asks for
    // Asyncify. Otherwise JSPI where the engine has it (no transform at all).
    backend: cache === undefined ? 'auto' : 'asyncify',
    onProgress: listener,
  });
  if (artifactFile !== undefined && durations.has('transform')) {
    // The core treats an artifact that does not match as a cache miss and transforms instead.
    progress(`  note: ${artifactFile} is not an artifact of this runtime with these options; it was transformed instead`);
  }
  const createMs = performance.now() - createStarted;

  progress(`calling ${entryPoint} with ${bytes(input.length)} of input`);
  const logs: LogEntry[] = [];
  const result = await runtimeCall(runtime, entryPoint, input, {
    storage,
    maxLogLevel: logLevel,
    onLog: (entry) => {
      logs.push(entry);
      if (!json) progress(`  [${entry.level}] ${entry.target}: ${entry.message}`);
    },
  });
  progress(`  done in ${duration(result.durationMs)}`);

  const outFile = args.values.get('out');
  if (outFile !== undefined) await writeFile(outFile, result.output);
  let metadataVersion: number | null = null;
  try {
    metadataVersion = decodeOpaqueMetadata(result.output).version;
  } catch {
    // Not metadata: nothing to say about it.
  }

  if (json) {
    out(
      JSON.stringify(
        {
          runtime: {
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
  printRunResult(runtime, entryPoint, result, { createMs, durations, metadataVersion, outFile }, out);
}

function printRunResult(
  runtime: SubstrateRuntime,
  entryPoint: string,
  result: RuntimeCallResult,
  extra: { createMs: number; durations: Map<string, number>; metadataVersion: number | null; outFile: string | undefined },
  out: (line: string) => void,
): void {
  out(`runtime: ${describeVersion(runtime.version)}, version from ${runtime.versionSource}`);
  out(`${entryPoint}: ${bytes(result.output.length)} of output${extra.outFile === undefined ? '' : ` (written to ${extra.outFile})`}`);
  out(`  ${hexPreview(result.output)}`);
  if (extra.metadataVersion !== null) out(`  valid metadata, version ${extra.metadataVersion}`);
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

/** A read-only cache holding one artifact file, offered for whatever key is asked. */
async function oneArtifact(path: string): Promise<ArtifactCache> {
  let artifact: Uint8Array;
  try {
    artifact = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new UsageProblem(`cannot read ${path}: ${(e as Error).message}`);
  }
  return { get: () => artifact, set: () => undefined };
}

function parseHexInput(hex: string): Uint8Array {
  try {
    return fromHex(hex);
  } catch {
    throw new UsageProblem(`the input must be hexadecimal bytes (e.g. 0x0102), got ${JSON.stringify(hex)}`);
  }
}
