/**
 * A light client's view: runtime calls that pause while storage is fetched.
 *
 * ```sh
 * npm run example:light-client [-- --no-cache]
 * ```
 *
 * A light client has the runtime but not the state: each storage value the runtime reads must be
 * fetched from a peer (with a proof) and waited for. Here the "network" is the Rococo Asset Hub
 * genesis storage in a `Map`, answered after a simulated latency. Each read pauses the runtime
 * call; the JavaScript thread stays free meanwhile (a heartbeat timer keeps ticking, and a second
 * call runs concurrently on its own instance); when the value arrives the call resumes exactly
 * where it stopped.
 *
 * The calls: `AuraApi_authorities` (who may author blocks) and `AccountNonceApi_account_nonce`
 * for an account found in the genesis state.
 *
 * The runtime runs on the `'auto'` backend: JSPI where the engine has it (no transform). On
 * Asyncify the transformed module is kept in `.cache/artifacts`, shared with the demo, so the
 * transform runs once for both (`--no-cache` to skip the cache).
 */
import { FileArtifactCache } from '../lib/node/index.js';
import { MapStorage, type StorageProvider, SubstrateRuntime, fromHex, runtimeCall, toHex } from '../lib/substrate/index.js';
import { assetHubGenesis } from './known-chain.js';

const LATENCY_MS = 40;

/** twox_128("System") ++ twox_128("Account"): the prefix of every account's storage key. */
const SYSTEM_ACCOUNT = '0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9';

const started = performance.now();
const at = () => `[${((performance.now() - started) / 1000).toFixed(3)} s]`;
const short = (hex: string) => (hex.length > 26 ? `${hex.slice(0, 26)}...` : hex);

/** The genesis storage, served like a remote peer would: asynchronously, after a delay. */
function remoteStorage(entries: Record<string, string>, label: string): StorageProvider {
  const local = new MapStorage(Object.entries(entries));
  return {
    async get(key, childTrie) {
      const hex = toHex(key);
      console.log(`${at()} ${label}: paused at a storage read of ${short(hex)}, fetching...`);
      await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
      const value = local.get(key, childTrie);
      console.log(`${at()} ${label}: ${value === null ? 'no value' : `${value.length} bytes`} arrived, resuming`);
      return value;
    },
    async nextKey(key, childTrie) {
      await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
      return local.nextKey(key, childTrie);
    },
  };
}

async function main(): Promise<void> {
  const genesis = await assetHubGenesis();
  console.log(`${at()} creating the ${genesis.name} genesis runtime...`);
  const runtime = await SubstrateRuntime.create({
    code: genesis.code,
    backend: 'auto',
    ...(process.argv.includes('--no-cache') ? {} : { cache: new FileArtifactCache('.cache/artifacts') }),
  });
  console.log(`${at()} ready on the ${runtime.backend} backend: ${runtime.version.specName} ${runtime.version.specVersion}\n`);

  // An account that exists at genesis: System.Account keys end with the account id.
  const accountKey = Object.keys(genesis.storage).find((key) => key.startsWith(SYSTEM_ACCOUNT))!;
  const account = fromHex(accountKey).slice(-32);

  let heartbeats = 0;
  const heartbeat = setInterval(() => (heartbeats += 1), 10);
  try {
    const [authorities, nonce] = await Promise.all([
      runtimeCall(runtime, 'AuraApi_authorities', new Uint8Array(), { storage: remoteStorage(genesis.storage, 'authorities') }),
      runtimeCall(runtime, 'AccountNonceApi_account_nonce', account, { storage: remoteStorage(genesis.storage, 'nonce') }),
    ]);

    const count = authorities.output[0]! >> 2; // Vec<[u8; 32]>: compact count, then the keys
    console.log(`\nAuraApi_authorities: ${count} authorities`);
    for (let i = 0; i < count; i++) console.log(`  ${toHex(authorities.output.subarray(1 + 32 * i, 33 + 32 * i))}`);
    console.log(`  ${authorities.pauses} pauses, ${authorities.durationMs.toFixed(0)} ms of which ${authorities.waitingMs.toFixed(0)} ms waiting for storage`);

    const value = new DataView(nonce.output.buffer, nonce.output.byteOffset).getUint32(0, true);
    console.log(`AccountNonceApi_account_nonce(${short(toHex(account))}): ${value}`);
    console.log(`  ${nonce.pauses} pauses, ${nonce.durationMs.toFixed(0)} ms of which ${nonce.waitingMs.toFixed(0)} ms waiting for storage`);
    console.log(`\nthe heartbeat timer ticked ${heartbeats} times during the calls: the thread was free while they waited`);
  } finally {
    clearInterval(heartbeat);
  }
}

await main();
