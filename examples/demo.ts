/**
 * The demo: a real Substrate runtime, run by a light client's host on V8's JIT.
 *
 * ```sh
 * npm run demo [-- --backend asyncify|jspi|auto] [-- --no-cache] [-- runtime-file]
 * ```
 *
 * By default it takes the Rococo Asset Hub genesis runtime from `@substrate/connect-known-chains`;
 * `runtime-file` may name another one (raw wasm, zstd-compressed code, or its hex). It prints
 * which backend runs the runtime and how long each phase of its creation took, the runtime
 * version, then runs `Metadata_metadata` and reports every host call by import, the output and
 * whether it is valid metadata; then two calls that read the chain's state
 * (`AccountNonceApi_account_nonce`, `AuraApi_authorities`), each storage read *pausing* the call
 * until the genesis state answers it, as a light client's network would.
 *
 * The backend is `'auto'` by default: JSPI where the engine has it (Node.js 26: no transform,
 * the runtime is ready in a fraction of a second). On Asyncify (`--backend asyncify`, or an
 * engine without JSPI) the transform takes seconds; its artifact is kept in `.cache/artifacts`
 * (shared with the light-client example; `--no-cache` to skip it), so the next run loads it in
 * milliseconds.
 */
import { readFileSync } from 'node:fs';
import { FileArtifactCache } from '../lib/node/index.js';
import {
  MapStorage,
  type RuntimeProgressEvent,
  type StorageProvider,
  SubstrateRuntime,
  decodeOpaqueMetadata,
  fromHex,
  runtimeCall,
  toHex,
} from '../lib/substrate/index.js';
import { assetHubGenesis } from './known-chain.js';

const args = process.argv.slice(2);
const backendIndex = args.indexOf('--backend');
const backendArgument = backendIndex === -1 ? 'auto' : args[backendIndex + 1];
if (backendArgument !== 'auto' && backendArgument !== 'asyncify' && backendArgument !== 'jspi') {
  console.error(`demo: --backend must be asyncify, jspi or auto, got ${String(backendArgument)}`);
  process.exit(2);
}
const backend: 'auto' | 'asyncify' | 'jspi' = backendArgument;
const useCache = !args.includes('--no-cache');
const file = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--backend');
/** Where Asyncify artifacts are kept between runs (the light-client example shares it). */
const CACHE_DIR = '.cache/artifacts';

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
  let genesisStorage: Record<string, string> | null = null;
  if (file === undefined) {
    const genesis = await assetHubGenesis();
    console.log(`runtime: the genesis runtime of "${genesis.name}" (@substrate/connect-known-chains)`);
    code = genesis.code;
    genesisStorage = genesis.storage;
  } else {
    console.log(`runtime: ${file}`);
    code = readFileSync(file);
    if (code[0] === 0x30 && code[1] === 0x78) code = new TextDecoder().decode(code).trim(); // "0x..." hex
  }

  // 1. Create the runtime, with a line per phase. On Asyncify the transform blocks the thread
  //    for seconds, so it is announced when it starts; every phase reports its duration.
  console.log(`\ncreating the runtime (backend '${backend}'):`);
  const createStarted = performance.now();
  const durations = new Map<string, number>();
  const onProgress = (event: RuntimeProgressEvent) => {
    const label = PHASES[event.phase] ?? event.phase;
    // The transform's steps, as its thread begins them (this one stays free meanwhile).
    if (event.status === 'progress') {
      console.log(`    ${event.step}...`);
      return;
    }
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
    backend,
    onProgress,
    ...(useCache ? { cache: new FileArtifactCache(CACHE_DIR) } : {}),
  });
  const created = performance.now() - createStarted;
  console.log(`  ready in ${seconds(created)} on the ${runtime.backend} backend` + (runtime.backend === 'jspi' ? ' (no transform: the engine suspends the stack itself)' : ''));
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

  // 5. Calls that read the chain's state: each storage read pauses the call until the value
  //    arrives (here from the genesis state, after a simulated network delay).
  if (genesisStorage !== null) await stateCalls(runtime, genesisStorage);

  // 6. Where the time went. The first call also pays for V8 compiling the functions it runs (V8
  //    compiles lazily); a second call on a fresh instance shows the steady state.
  const again = await runtimeCall(runtime, 'Metadata_metadata');
  console.log('\ntime:');
  console.log(`  creating the runtime (${runtime.backend}): ${seconds(created)}`);
  for (const [phase, ms] of durations) console.log(`    ${PHASES[phase] ?? phase}: ${seconds(ms)}`);
  console.log(`  running Metadata_metadata: ${seconds(result.durationMs)} (first call), ${seconds(again.durationMs)} (second call)`);
  if (runtime.backend === 'asyncify') {
    console.log(
      useCache
        ? `\n(the transformed module is kept in ${CACHE_DIR}: the next run loads it instead of transforming)`
        : '\n(--no-cache: the transform runs again next time)',
    );
  }
}

/** Network latency simulated for each storage read. */
const LATENCY_MS = 20;

/** `System.Account` keys start with twox_128("System") ++ twox_128("Account") and end with the account id. */
const SYSTEM_ACCOUNT = '0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9';

async function stateCalls(runtime: SubstrateRuntime, genesis: Record<string, string>): Promise<void> {
  const local = new MapStorage(Object.entries(genesis));
  const storage: StorageProvider = {
    async get(key, childTrie) {
      const value = local.get(key, childTrie);
      console.log(`  paused at a storage read of ${short(toHex(key))}; fetching... ${value === null ? 'no value' : `${value.length} bytes`}, resuming`);
      await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
      return value;
    },
    async nextKey(key, childTrie) {
      await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
      return local.nextKey(key, childTrie);
    },
  };
  const accountKey = Object.keys(genesis).find((key) => key.startsWith(SYSTEM_ACCOUNT));
  if (accountKey !== undefined) {
    const account = fromHex(accountKey).slice(-32);
    console.log(`\nrunning AccountNonceApi_account_nonce(${short(toHex(account))}), storage served through pauses:`);
    const nonce = await runtimeCall(runtime, 'AccountNonceApi_account_nonce', account, { storage });
    const value = new DataView(nonce.output.buffer, nonce.output.byteOffset).getUint32(0, true);
    console.log(`  nonce ${value}: ${nonce.pauses} pause(s), ${seconds(nonce.durationMs)} of which ${seconds(nonce.waitingMs)} waiting for storage`);
  }
  console.log('\nrunning AuraApi_authorities, storage served through pauses:');
  const authorities = await runtimeCall(runtime, 'AuraApi_authorities', new Uint8Array(), { storage });
  console.log(`  ${authorities.output[0]! >> 2} authorities: ${authorities.pauses} pause(s), ${seconds(authorities.durationMs)} of which ${seconds(authorities.waitingMs)} waiting for storage`);
}

const short = (hex: string) => (hex.length > 26 ? `${hex.slice(0, 26)}...` : hex);

await main();
