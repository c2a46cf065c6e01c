/**
 * Trustless calls on real chains: the genesis states of the People chain of Paseo and of the
 * Paseo relay chain (`../shared/runtimes`), proven and served by `ProofStorage`, checked against
 * an independent implementation (smoldot's trie code, compiled to wasm in chopsticks-executor)
 * and against the same calls served by `MapStorage`, on both backends.
 *
 * - **Roots and entries**: the state root `createReadProof` computes is smoldot's
 *   `calculate_state_root` of the genesis; smoldot's `create_proof` of the whole genesis (state
 *   version 0) has our root, and `ProofStorage` lists every genesis entry from it; smoldot's
 *   `decode_proof` of each of our proofs lists what `ProofStorage` lists.
 * - **Calls**: `Core_version`, `Metadata_metadata`, `AccountNonceApi_account_nonce` (the
 *   richest genesis account) and `TransactionPaymentApi_query_info` (a signed transfer): run on
 *   `MapStorage`, their `storageReads` proven with `createReadProof`, run again on a
 *   `ProofStorage` of that proof, and on a `ProofStorage` that starts empty and fetches every
 *   node it needs (asynchronously, the call paused meanwhile): outputs and storage diffs equal
 *   byte for byte.
 * - **Adversarial** (a proof of the `account_nonce` and `query_info` calls): entries cut away at random
 *   with everything below them (each call equal or failing `Incomplete`), entries removed alone
 *   (the proof refused as `Invalid` when entries are left hanging from nothing, else each call
 *   equal or `Incomplete`), a bit flipped in a random entry (`Invalid`), the proof of another
 *   block's state against this root and this proof against that block's root (`Invalid`).
 *   Never a different answer.
 *
 * On Asyncify the runtimes are transformed once per machine (an artifact cache in the temporary
 * folder); each suite skips with one line when `../shared` is absent.
 */
import { create_proof, calculate_state_root, decode_proof } from '@acala-network/chopsticks-executor';
import {
  LayeredStorage,
  MapStorage,
  ProofError,
  ProofStorage,
  type ReadProof,
  RuntimeCallError,
  type RuntimeCallResult,
  type StorageProvider,
  type SubstrateRuntime,
  createReadProof,
  fromHex,
  runtimeCall,
  toHex,
  trieRoot,
} from '../../lib/substrate/index.js';
import { AccountId } from '@polkadot-api/substrate-bindings';
import { prng } from '../support/allocator-prng.js';
import { BACKENDS } from '../support/backends.js';
import { type FlatState, concat, encodeCall, fundedAccount, magicSignedExtrinsic, metadataTools, u32le } from '../support/chopsticks.js';
import { type Genesis, genesisRuntime, genesisStorage, readGenesis } from '../support/genesis-chains.js';
import { committedEntries, flipped } from '../support/proof-fixtures.js';
import { describeWithShared } from '../support/shared.js';

const CREATE_TIMEOUT = 15 * 60 * 1000;
const CALL_TIMEOUT = 5 * 60 * 1000;
/** Trials of each kind of damage, per chain and backend. */
const TRIALS = 12;

/** What the file compared, printed at the end. */
const tally = {
  calls: 0,
  proofs: 0,
  entriesDecoded: 0,
  cut: { equal: 0, incomplete: 0 },
  removed: { invalid: 0, equal: 0, incomplete: 0 },
  flipped: { invalid: 0 },
  otherRoot: { invalid: 0 },
};

afterAll(() => {
  console.log(`proof differential: ${JSON.stringify(tally)}`);
});

/** A call to run: its entry point and input. */
interface Call {
  readonly entryPoint: string;
  readonly input: Uint8Array;
}

/** The outcome of a call through `storage`: its bytes, or the kind of the ProofError that failed it. */
async function outcome(runtime: SubstrateRuntime, call: Call, storage: StorageProvider): Promise<{ output: string; diff: string } | { error: string }> {
  try {
    const result = await runtimeCall(runtime, call.entryPoint, call.input, { storage, storageProofSize: 0 });
    return { output: toHex(result.output), diff: diffOf(result) };
  } catch (e) {
    if (e instanceof RuntimeCallError && e.cause instanceof ProofError) return { error: e.cause.kind };
    throw e;
  }
}

/** A storage diff as a comparable string. */
function diffOf(result: RuntimeCallResult): string {
  return JSON.stringify([...result.storageDiff.main].map(([key, value]) => [key, value === null ? null : toHex(value)]));
}

/** Checks smoldot's decoding of `proof` against ProofStorage's. */
async function expectSameDecoding(proof: ReadProof): Promise<void> {
  const theirs = (await decode_proof(toHex(proof.stateRoot), proof.nodes.map(toHex))) as [string, string][];
  const ours = new ProofStorage(proof.stateRoot, proof.nodes).entries().map(({ key, value }) => [toHex(key), toHex(value)]);
  expect(ours).toEqual(theirs);
  tally.entriesDecoded += ours.length;
}

function chainSuite(file: string, title: string) {
  describeWithShared(file, title, (path) => {
    let genesis: Genesis;
    let state: MapStorage;
    let top: [string, string][];
    beforeAll(() => {
      genesis = readGenesis(path);
      state = genesisStorage(genesis);
      top = Object.entries(genesis.top).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    });

    test('smoldot’s create_proof of the genesis has our root; ProofStorage lists every entry from it', async () => {
      const [root, nodes] = (await create_proof([], top)) as [string, string[]];
      expect(root).toBe(toHex(trieRoot(top.map(([key, value]) => ({ key: fromHex(key), value: fromHex(value) })), 0)));
      const proven = new ProofStorage(root, nodes);
      expect(proven.entries().map(({ key, value }) => [toHex(key), toHex(value)])).toEqual(top);
      tally.entriesDecoded += top.length;
    }, CALL_TIMEOUT);

    describe.each(BACKENDS)('%s', (backend) => {
      let runtime: SubstrateRuntime;
      let version: 0 | 1;
      let calls: Call[];
      beforeAll(async () => {
        runtime = await genesisRuntime(genesis, backend);
        expect(runtime.backend).toBe(backend);
        version = runtime.version.stateVersion === 1 ? 1 : 0;
        const account = fundedAccount(new Map(top) as FlatState);
        const metadata = await runtimeCall(runtime, 'Metadata_metadata_at_version', Uint8Array.from(u32le(15)), { storage: state });
        const tools = metadataTools(metadata.output);
        const transfer = encodeCall(tools, 'Balances', 'transfer_keep_alive', { dest: { type: 'Id', value: AccountId(42).dec(new Uint8Array(32).fill(0x22)) }, value: 10n ** 10n });
        const extrinsic = magicSignedExtrinsic(tools, account, transfer);
        calls = [
          { entryPoint: 'Core_version', input: new Uint8Array() },
          { entryPoint: 'Metadata_metadata', input: new Uint8Array() },
          { entryPoint: 'AccountNonceApi_account_nonce', input: account },
          { entryPoint: 'TransactionPaymentApi_query_info', input: concat(extrinsic, u32le(extrinsic.length)) },
        ];
      }, CREATE_TIMEOUT);

      test('the state root is smoldot’s calculate_state_root of the genesis', async () => {
        const { stateRoot } = await createReadProof(state, [], { stateVersion: version });
        expect(toHex(stateRoot)).toBe(await calculate_state_root(top, version));
      }, CALL_TIMEOUT);

      test('each call, served from the proof of its reads (given whole, or fetched node by node), is byte-equal with MapStorage’s', async () => {
        const stateRoot = (await createReadProof(state, [], { stateVersion: version })).stateRoot;
        for (const call of calls) {
          const full = await runtimeCall(runtime, call.entryPoint, call.input, { storage: state, storageProofSize: 0 });
          const proof = await createReadProof(state, full.storageReads, { stateVersion: version });
          expect(toHex(proof.stateRoot)).toBe(toHex(stateRoot));
          await expectSameDecoding(proof);
          const expected = { output: toHex(full.output), diff: diffOf(full) };
          expect(await outcome(runtime, call, new ProofStorage(proof.stateRoot, proof.nodes))).toEqual(expected);

          let fetches = 0;
          const lazy = new ProofStorage(stateRoot, [], {
            fetch: async (key, childTrie, kind) => {
              fetches++;
              await new Promise((resolve) => setImmediate(resolve));
              return (await createReadProof(state, [{ key, childTrie, kind }], { stateVersion: version })).nodes;
            },
          });
          expect(await outcome(runtime, call, lazy)).toEqual(expected);
          if (full.storageReads.length > 0) expect(fetches).toBeGreaterThan(0);
          tally.calls += 3;
          tally.proofs += 1;
        }
      }, CALL_TIMEOUT);

      describe('damaged proofs of AccountNonceApi_account_nonce and TransactionPaymentApi_query_info', () => {
        let targets: Call[];
        let proof: ReadProof;
        let expected: { output: string; diff: string }[];
        beforeAll(async () => {
          targets = calls.slice(2);
          const results = [];
          for (const call of targets) results.push(await runtimeCall(runtime, call.entryPoint, call.input, { storage: state, storageProofSize: 0 }));
          expected = results.map((full) => ({ output: toHex(full.output), diff: diffOf(full) }));
          proof = await createReadProof(state, results.flatMap((full) => full.storageReads), { stateVersion: version });
          expect(proof.nodes.length).toBeGreaterThan(3);
        }, CALL_TIMEOUT);

        /** Runs the target calls on `storage`: each byte-equal or failing Incomplete; counts which in `counts`. */
        const expectEqualOrIncomplete = async (storage: ProofStorage, counts: { equal: number; incomplete: number }) => {
          for (const [i, call] of targets.entries()) {
            const got = await outcome(runtime, call, storage);
            if ('error' in got) {
              expect(got.error).toBe('Incomplete');
              counts.incomplete++;
            } else {
              expect(got).toEqual(expected[i]);
              counts.equal++;
            }
          }
        };

        test(`${TRIALS} proofs with entries cut away: each call byte-equal or failing Incomplete`, async () => {
          const random = prng(file.length * 7 + backend.length * 1000 + version);
          for (let trial = 0; trial < TRIALS; trial++) {
            const removed = new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => Math.floor(random() * proof.nodes.length)));
            await expectEqualOrIncomplete(new ProofStorage(proof.stateRoot, committedEntries(proof.stateRoot, proof.nodes, removed)), tally.cut);
          }
        }, CALL_TIMEOUT);

        test(`${TRIALS} proofs with one entry removed alone: Invalid when entries hang from nothing, else byte-equal or Incomplete`, async () => {
          const random = prng(file.length * 7 + backend.length * 2000 + version);
          for (let trial = 0; trial < TRIALS; trial++) {
            const index = Math.floor(random() * proof.nodes.length);
            const remaining = proof.nodes.filter((_, i) => i !== index);
            const hanging = remaining.length - committedEntries(proof.stateRoot, remaining, new Set()).length;
            let storage: ProofStorage;
            try {
              storage = new ProofStorage(proof.stateRoot, remaining);
            } catch (e) {
              expect(e).toMatchObject({ name: 'ProofError', kind: 'Invalid' });
              expect(hanging).toBeGreaterThan(0);
              tally.removed.invalid++;
              continue;
            }
            expect(hanging).toBe(0);
            await expectEqualOrIncomplete(storage, tally.removed);
          }
        }, CALL_TIMEOUT);

        test(`${TRIALS} proofs with a bit flipped: Invalid`, () => {
          const random = prng(file.length * 7 + backend.length * 3000 + version);
          for (let trial = 0; trial < TRIALS; trial++) {
            const index = Math.floor(random() * proof.nodes.length);
            const node = proof.nodes[index]!;
            const damaged = proof.nodes.map((entry, i) => (i === index ? flipped(node, Math.floor(random() * node.length), Math.floor(random() * 8)) : entry));
            expect(() => new ProofStorage(proof.stateRoot, damaged)).toThrow(expect.objectContaining({ name: 'ProofError', kind: 'Invalid' }));
            tally.flipped.invalid++;
          }
        });

        test('the proof of another block’s state, or this proof against another block’s root: Invalid', async () => {
          // Another block's state: the genesis with System.Number = 1.
          const systemNumber = '0x26aa394eea5630e07c48ae0c9558cef702a5c1b19ab7a04f536c519aca4983ac';
          const next = new LayeredStorage(state, { main: new Map([[systemNumber, Uint8Array.of(1, 0, 0, 0)]]), children: new Map(), offchainIndex: new Map() });
          const reads = (await runtimeCall(runtime, targets[1]!.entryPoint, targets[1]!.input, { storage: next, storageProofSize: 0 })).storageReads;
          const other = await createReadProof(next, reads, { stateVersion: version });
          expect(toHex(other.stateRoot)).not.toBe(toHex(proof.stateRoot));
          expect(() => new ProofStorage(proof.stateRoot, other.nodes)).toThrow(expect.objectContaining({ kind: 'Invalid' }));
          expect(() => new ProofStorage(other.stateRoot, proof.nodes)).toThrow(expect.objectContaining({ kind: 'Invalid' }));
          tally.otherRoot.invalid += 2;
        }, CALL_TIMEOUT);
      });
    });
  });
}

chainSuite('runtimes/people-paseo-local.json', 'People (Paseo) genesis: trustless calls against smoldot and MapStorage');
chainSuite('runtimes/paseo-substitute.json', 'Paseo relay genesis: trustless calls against smoldot and MapStorage');
