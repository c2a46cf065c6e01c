/**
 * A light client's view: runtime calls that trust nothing but a state root. Every value a call
 * reads comes from a peer with a Merkle proof, and is checked against the root before the
 * runtime sees it; the call pauses while the proof is on its way.
 *
 * ```sh
 * npm run example:light-client [-- --no-cache]
 * ```
 *
 * A light client has the runtime and a block header it has verified, not the state. Here the
 * block is the Rococo Asset Hub genesis (its state root computed once from the chain spec, as a
 * light client does for the genesis block), and the "network" is a simulated full node that
 * holds the genesis state and answers each request with a proof (`createReadProof`, what
 * `state_getReadProof` returns) after a latency. What it shows, in order:
 *
 * 1. `AccountNonceApi_account_nonce` served by a `ProofStorage` that starts empty: each read
 *    it cannot answer pauses the call, a proof is fetched, verified (every node hash-linked to the
 *    state root), and the call resumes. `AuraApi_authorities` runs at the same time on its own
 *    instance; a heartbeat timer keeps ticking: the thread is free while calls wait. Then the
 *    nonce of an account the state does not have: the proof shows its key absent.
 * 2. A lying peer: it alters one byte of a proof. The proof is refused (`ProofError`, kind
 *    `Invalid`) and the call fails with it as the cause; no wrong value reaches the runtime.
 * 3. A proof fetched up front, for all the keys a call reads (a wallet knows them): the call
 *    runs without asking again.
 *
 * The runtime runs on the `'auto'` backend: JSPI where the engine has it (no transform). On
 * Asyncify the transformed module is kept in `.cache/artifacts`, shared with the demo, so the
 * transform runs once for both (`--no-cache` to skip the cache).
 */
import { FileArtifactCache } from '../lib/node/index.js';
import {
  MapStorage,
  ProofError,
  ProofStorage,
  RuntimeCallError,
  type StorageReadKind,
  SubstrateRuntime,
  createReadProof,
  fromHex,
  runtimeCall,
  toHex,
} from '../lib/substrate/index.js';
import { assetHubGenesis } from './known-chain.js';

const LATENCY_MS = 40;

/** twox_128("System") ++ twox_128("Account"): the prefix of every account's storage key. */
const SYSTEM_ACCOUNT = '0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9';

const started = performance.now();
const at = () => `[${((performance.now() - started) / 1000).toFixed(3)} s]`;
const short = (hex: string) => (hex.length > 26 ? `${hex.slice(0, 26)}...` : hex);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const describeRead = (kind: StorageReadKind, key: Uint8Array, childTrie: Uint8Array | null) =>
  `${kind}(${short(toHex(key))})${childTrie === null ? '' : ` in child trie ${toHex(childTrie)}`}`;

/**
 * A full node, simulated: it holds the state and answers each request with the Merkle proof of
 * the read, after a latency, as a peer answers `state_getReadProof`. A `nextKey` read is proven
 * by the paths to the key and to the key after it (a real client learns that key first, with
 * `state_getKeysPaged`, then asks the proof of both).
 */
class Peer {
  constructor(
    readonly name: string,
    readonly state: MapStorage,
    readonly stateVersion: 0 | 1,
    /** Alters the answers (a lying peer). */
    readonly tamper: (nodes: Uint8Array[]) => Uint8Array[] = (nodes) => nodes,
  ) {}

  async readProof(key: Uint8Array, childTrie: Uint8Array | null, kind: StorageReadKind): Promise<Uint8Array[]> {
    await sleep(LATENCY_MS);
    const { nodes } = await createReadProof(this.state, [{ kind, key, childTrie }], { stateVersion: this.stateVersion });
    return this.tamper([...nodes]);
  }
}

/** A ProofStorage against `stateRoot` that fetches what it lacks from `peer`, telling each step. */
function trustlessStorage(stateRoot: Uint8Array, peer: Peer, label: string): ProofStorage {
  return new ProofStorage(stateRoot, [], {
    fetch: async (key, childTrie, kind) => {
      console.log(`${at()} ${label}: paused: ${describeRead(kind, key, childTrie)} is not covered by the nodes held`);
      const nodes = await peer.readProof(key, childTrie, kind);
      const bytes = nodes.reduce((sum, node) => sum + node.length, 0);
      console.log(`${at()} ${label}:   proof from ${peer.name}: ${nodes.length} nodes, ${bytes} bytes`);
      return nodes;
    },
    onVerified: (event) =>
      console.log(`${at()} ${label}:   verified against the state root (${event.added} new nodes, each named by a trusted node); resuming`),
  });
}

async function main(): Promise<void> {
  const genesis = await assetHubGenesis();
  console.log(`${at()} creating the ${genesis.name} genesis runtime...`);
  const runtime = await SubstrateRuntime.create({
    code: genesis.code,
    backend: 'auto',
    ...(process.argv.includes('--no-cache') ? {} : { cache: new FileArtifactCache('.cache/artifacts') }),
  });
  const stateVersion = runtime.version.stateVersion === 1 ? 1 : 0;
  console.log(`${at()} ready on the ${runtime.backend} backend: ${runtime.version.specName} ${runtime.version.specVersion}, state version ${stateVersion}`);

  // The full node's state, and the one thing the light client trusts: the state root.
  const fullNodeState = new MapStorage(Object.entries(genesis.storage));
  const { stateRoot } = await createReadProof(fullNodeState, [], { stateVersion });
  console.log(`${at()} trusted state root ${toHex(stateRoot)} (the genesis header's)\n`);
  const honest = new Peer('peer A', fullNodeState, stateVersion);

  // An account that exists at genesis: System.Account keys end with the account id.
  const accountKey = Object.keys(genesis.storage).find((key) => key.startsWith(SYSTEM_ACCOUNT))!;
  const account = fromHex(accountKey).slice(-32);

  // 1. Two calls at once, each from proofs fetched as it needs them.
  let heartbeats = 0;
  const heartbeat = setInterval(() => (heartbeats += 1), 10);
  try {
    const nonceStorage = trustlessStorage(stateRoot, honest, 'nonce');
    const [nonce, authorities] = await Promise.all([
      runtimeCall(runtime, 'AccountNonceApi_account_nonce', account, { storage: nonceStorage }),
      runtimeCall(runtime, 'AuraApi_authorities', new Uint8Array(), { storage: trustlessStorage(stateRoot, honest, 'authorities') }),
    ]);
    const value = new DataView(nonce.output.buffer, nonce.output.byteOffset).getUint32(0, true);
    console.log(`\nAccountNonceApi_account_nonce(${short(toHex(account))}): ${value}`);
    console.log(`  ${nonce.pauses} pauses, ${nonce.durationMs.toFixed(0)} ms of which ${nonce.waitingMs.toFixed(0)} ms waiting for proofs; ${nonceStorage.size} nodes held`);
    const count = authorities.output[0]! >> 2; // Vec<[u8; 32]>: compact count, then the keys
    console.log(`AuraApi_authorities: ${count} authorities`);
    for (let i = 0; i < count; i++) console.log(`  ${toHex(authorities.output.subarray(1 + 32 * i, 33 + 32 * i))}`);
    console.log(`the heartbeat timer ticked ${heartbeats} times during the calls: the thread was free while they waited\n`);

    // An account that does not exist: the proof shows its key absent. The nodes held for the
    // first account may prove it already (the paths share their top); if not, more are fetched.
    const nobody = new Uint8Array(32).fill(0x42);
    const unknown = await runtimeCall(runtime, 'AccountNonceApi_account_nonce', nobody, { storage: nonceStorage });
    console.log(
      `AccountNonceApi_account_nonce(${short(toHex(nobody))}), an account the state does not have: ${toHex(unknown.output)}; ` +
        `its absence proven by the ${nonceStorage.size} nodes held\n`,
    );
  } finally {
    clearInterval(heartbeat);
  }

  // 2. A peer that lies: one byte of its proof altered.
  const liar = new Peer('peer B', fullNodeState, stateVersion, (nodes) => {
    const last = nodes[nodes.length - 1]!.slice();
    last[last.length - 1]! ^= 1;
    console.log(`${at()} lying:   (peer B flips a bit in the last byte of one node)`);
    return [...nodes.slice(0, -1), last];
  });
  try {
    await runtimeCall(runtime, 'AccountNonceApi_account_nonce', account, { storage: trustlessStorage(stateRoot, liar, 'lying') });
    console.log('the lying peer was believed: this must not happen');
    process.exitCode = 1;
  } catch (e) {
    if (!(e instanceof RuntimeCallError) || !(e.cause instanceof ProofError)) throw e;
    console.log(`${at()} lying:   refused: ProofError ${e.cause.kind}: ${e.cause.message}`);
    console.log(`${at()} lying: the call failed (RuntimeCallError ${e.kind}, cause ProofError ${e.cause.kind}); no value reached the runtime\n`);
  }

  // 3. A proof of every key the call reads, fetched before the call.
  const reads = (await runtimeCall(runtime, 'AccountNonceApi_account_nonce', account, { storage: fullNodeState })).storageReads;
  console.log(`${at()} up front: asking peer A for a proof of the ${reads.length} read${reads.length === 1 ? '' : 's'} of AccountNonceApi_account_nonce`);
  await sleep(LATENCY_MS);
  const proof = await createReadProof(fullNodeState, reads, { stateVersion });
  const upFront = new ProofStorage(stateRoot, proof.nodes); // verified here, before any call
  console.log(`${at()} up front:   ${proof.nodes.length} nodes verified against the state root`);
  const again = await runtimeCall(runtime, 'AccountNonceApi_account_nonce', account, { storage: upFront });
  console.log(`${at()} up front: AccountNonceApi_account_nonce answered ${toHex(again.output)} without asking again (${again.waitingMs.toFixed(0)} ms waiting)`);
}

await main();
