/**
 * The demo: a real Substrate runtime, run by a light client's host on V8's JIT.
 *
 * ```sh
 * npx tsc -p tsconfig.scripts.json && node build/examples/demo.js [--cache] [runtime-file]
 * ```
 *
 * By default it takes the Rococo Asset Hub genesis runtime from `@substrate/connect-known-chains`;
 * `runtime-file` may name another one (raw wasm, zstd-compressed code, or its hex). It prints
 * the runtime version, then runs `Metadata_metadata` and reports every host call by import,
 * the output and whether it is valid metadata, and where the time went: transforming (Binaryen's
 * Asyncify, the seconds-long step, shown with progress lines), compiling, and running. With
 * `--cache` the transformed module is kept in `.cache/artifacts`, and the next run skips the
 * transform.
 */
import { readFileSync } from 'node:fs';
import { FileArtifactCache } from '../lib/node/index.js';
import {
  type RuntimeProgressEvent,
  SubstrateRuntime,
  decodeOpaqueMetadata,
  runtimeCall,
} from '../lib/substrate/index.js';
import { assetHubGenesis } from './known-chain.js';

const args = process.argv.slice(2);
const useCache = args.includes('--cache');
const file = args.find((a) => !a.startsWith('--'));

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const count = (n: number) => n.toLocaleString('en-US');

const PHASES: Record<string, string> = {
  'decode-code': 'decompressing the code',
  'cache-lookup': 'looking in the artifact cache',
  validate: 'validating the module',
  inspect: 'reading imports and exports',
  transform: 'transforming with Asyncify (the long step)',
  'load-artifact': 'loading the cached artifact',
  compile: 'compiling (V8)',
  instantiate: 'instantiating',
  'cache-store': 'storing the artifact',
  'runtime-version': 'calling Core_version',
};

async function main(): Promise<void> {
  let code: Uint8Array | string;
  if (file === undefined) {
    const genesis = await assetHubGenesis();
    console.log(`runtime: the genesis runtime of "${genesis.name}" (@substrate/connect-known-chains)`);
    code = genesis.code;
  } else {
    console.log(`runtime: ${file}`);
    code = readFileSync(file);
    if (code[0] === 0x30 && code[1] === 0x78) code = new TextDecoder().decode(code).trim(); // "0x..." hex
  }

  // 1. Create the runtime, with a line per phase. The transform blocks the thread for seconds,
  //    so it is announced when it starts; every phase reports its duration when it ends.
  console.log('\ncreating the runtime:');
  const durations = new Map<string, number>();
  const onProgress = (event: RuntimeProgressEvent) => {
    const label = PHASES[event.phase] ?? event.phase;
    if (event.status === 'start') {
      if (event.phase === 'transform') console.log(`  ${label}...`);
      return;
    }
    durations.set(event.phase, event.durationMs ?? 0);
    const hit = event.cacheHit === undefined ? '' : event.cacheHit ? ' (hit)' : ' (miss)';
    console.log(`  ${label}: ${seconds(event.durationMs ?? 0)}${hit}`);
  };
  const runtime = await SubstrateRuntime.create({
    code,
    onProgress,
    ...(useCache ? { cache: new FileArtifactCache('.cache/artifacts') } : {}),
  });
  const { compressed, codeSize, wasmSize } = runtime.code;
  console.log(
    `  code: ${count(codeSize)} bytes${compressed ? ` of zstd-compressed code, ${count(wasmSize)} bytes of wasm` : ' of wasm'}; ` +
      `__heap_base ${count(runtime.heapBase)}, heap up to ${count(runtime.memoryTotalPages)} pages`,
  );

  // 2. The version.
  const v = runtime.version;
  console.log(`\nruntime version (from ${runtime.versionSource}):`);
  console.log(`  spec ${v.specName} ${v.specVersion}, impl ${v.implName} ${v.implVersion}, authoring ${v.authoringVersion}`);
  console.log(`  transaction version ${v.transactionVersion ?? 'n/a'}, state version ${v.stateVersion ?? 'n/a'}`);
  console.log(`  ${v.apis.length} runtime APIs: ${v.apis.map((a) => `${a.name ?? a.id} v${a.version}`).join(', ')}`);

  // 3. Metadata_metadata, watched host call by host call: the first few in full, then a line
  //    every 2,500. Allocator, hashing and logging are answered inline (no pause); a storage read
  //    would pause the call and go to the storage provider (this runtime's metadata needs none).
  console.log('\nrunning Metadata_metadata:');
  let seen = 0;
  const result = await runtimeCall(runtime, 'Metadata_metadata', new Uint8Array(), {
    storage: { get: () => null },
    trace: (event) => {
      seen += 1;
      if (seen <= 5) {
        const params = event.params.map((p) => (typeof p === 'bigint' ? `0x${BigInt.asUintN(64, p).toString(16)}` : String(p)));
        console.log(`  host call ${seen}: ${event.name}(${params.join(', ')}) [${event.route}]`);
      } else if (seen % 2500 === 0) {
        console.log(`  ... ${count(seen)} host calls`);
      }
    },
  });
  console.log(`  finished after ${count(result.totalHostCalls)} host calls, ${count(result.pauses)} of which paused the call`);
  console.log('\nhost calls by import:');
  for (const [name, n] of [...result.hostCalls].sort((a, b) => b[1] - a[1])) console.log(`  ${name.padEnd(34)} ${count(n).padStart(7)}`);

  // 4. The output: a SCALE Vec<u8> holding metadata, which starts with "meta" and its version.
  console.log(`\noutput: ${count(result.output.length)} bytes`);
  try {
    const metadata = decodeOpaqueMetadata(result.output);
    console.log(`  valid metadata: compact length prefix, then "meta", version ${metadata.version} (${count(metadata.bytes.length)} bytes)`);
  } catch (e) {
    console.log(`  NOT valid metadata: ${(e as Error).message}`);
    process.exitCode = 1;
  }
  console.log(`  heap: ${count(result.heap.bytesAllocatedPeak)} bytes at the peak, ${count(result.heap.allocations)} allocations`);

  // 5. Where the time went. The first call also pays for V8 compiling the functions it runs (V8
  //    compiles lazily); a second call on a fresh instance shows the steady state.
  const again = await runtimeCall(runtime, 'Metadata_metadata');
  const transform = durations.get('transform') ?? durations.get('load-artifact') ?? 0;
  console.log('\ntime:');
  console.log(`  ${durations.has('transform') ? 'transforming' : 'loading the cached artifact'}: ${seconds(transform)}`);
  console.log(`  compiling: ${seconds(durations.get('compile') ?? 0)}, instantiating: ${seconds(durations.get('instantiate') ?? 0)}`);
  console.log(`  running Metadata_metadata: ${seconds(result.durationMs)} (first call), ${seconds(again.durationMs)} (second call)`);
  if (!useCache) console.log('\n(run with --cache to keep the transformed module: the next run skips the transform)');
}

await main();
