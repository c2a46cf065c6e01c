/**
 * Differential test of the whole host interface against chopsticks-executor (smoldot's
 * `executor::host` compiled to wasm), on the genesis of two real chains (`../shared/runtimes/`):
 * the People chain of Paseo (a parachain, 2026) and the Paseo relay chain (2025).
 *
 * Every call is run by both implementations on the same state, and their outputs and storage
 * diffs must be equal byte for byte:
 *
 * - `Metadata_metadata_at_version(15)`, whose output encodes every input below;
 * - `GenesisBuilder_get_preset(None)` and `GenesisBuilder_build_state` with it, on an empty
 *   state: a call made of storage writes;
 * - `DryRunApi_dry_run_call` of `Balances.transfer_keep_alive` from an account funded at
 *   genesis (overlay, transactions, events);
 * - `TransactionPaymentApi_query_info` of that transfer, signed;
 * - building block 1 on genesis (relay chain): `Core_initialize_block` with a BABE pre-digest,
 *   `BlockBuilder_inherent_extrinsics` (timestamp and `paras_inherent`), each
 *   `BlockBuilder_apply_extrinsic` and a signed transfer (magic signature, mocked on both
 *   sides), `BlockBuilder_finalize_block`. Its header must equal chopsticks's except the
 *   state root: chopsticks computes roots from the block's changes alone (its executor answers
 *   smoldot's trie questions with "no key"), so the state root is checked instead against
 *   smoldot's `calculate_state_root` of the whole state after the block. The genesis state root
 *   is checked the same way.
 *
 * Creating the runtimes runs the Asyncify transform (minutes on a loaded machine); an artifact
 * cache in the temporary folder makes later runs fast. chopsticks-executor takes seconds per
 * call (an interpreter). This file is therefore slow by design and kept apart.
 */
import { calculate_state_root } from '@acala-network/chopsticks-executor';
import { AccountId } from '@polkadot-api/substrate-bindings';
import { RuntimeCallError, type SubstrateRuntime, fromHex, runtimeCall, toHex, trieRoot } from '../../lib/substrate/index.js';
import {
  type BothResults,
  type FlatState,
  type MetadataTools,
  applyDiff,
  blake2_256,
  chopsticksCall,
  compact as compactLength,
  concat,
  encodeCall,
  encodeHeader,
  encodeInherentData,
  flatStorage,
  fundedAccount,
  magicSignedExtrinsic,
  metadataTools,
  preRuntimeDigest,
  runBoth,
  splitExtrinsics,
  takeChopsticksLogs,
  u32le,
  u64le,
} from '../support/chopsticks.js';
import { type Genesis, genesisRuntime, readGenesis } from '../support/genesis-chains.js';
import { describeWithShared } from '../support/shared.js';

const CREATE_TIMEOUT = 15 * 60 * 1000;
const CALL_TIMEOUT = 5 * 60 * 1000;

/** What the differential test compared, for the summary printed at the end. */
const tally = { calls: 0, outputBytes: 0, diffEntries: 0 };

/** Runs `entryPoint` in both and checks that outputs and diffs are equal; returns both results. */
async function compare(
  chain: { runtime: SubstrateRuntime; wasmHex: string },
  entryPoint: string,
  input: Uint8Array,
  state: FlatState,
  options: { mockSignatures?: boolean; maskStateRoot?: boolean } = {},
): Promise<BothResults> {
  const both = await runBoth(chain.runtime, chain.wasmHex, entryPoint, input, state, options);
  const ours = toHex(both.ours.output);
  if (options.maskStateRoot === true) {
    expect(maskHeaderStateRoot(ours)).toBe(maskHeaderStateRoot(both.theirs.output));
  } else {
    expect(ours).toBe(both.theirs.output);
  }
  expect(both.ourDiff).toEqual(both.theirs.diff);
  tally.calls += 1;
  tally.outputBytes += both.ours.output.length;
  tally.diffEntries += both.ourDiff.length;
  return both;
}

/** Where a header's state root starts: after the parent hash and the compact block number. */
function stateRootOffset(header: Uint8Array): number {
  const mode = header[32]! & 3;
  return 32 + (mode === 0 ? 1 : mode === 1 ? 2 : mode === 2 ? 4 : 1 + (header[32]! >> 2) + 4);
}

/** A header's hex with its state root zeroed. */
function maskHeaderStateRoot(hex: string): string {
  const bytes = fromHex(hex);
  bytes.fill(0, stateRootOffset(bytes), stateRootOffset(bytes) + 32);
  return toHex(bytes);
}

/** A header's state root, as hex. */
function headerStateRoot(header: Uint8Array): string {
  return toHex(header.subarray(stateRootOffset(header), stateRootOffset(header) + 32));
}

/** The state root smoldot computes for a whole state. */
async function smoldotRoot(state: FlatState, version: number): Promise<string> {
  return (await calculate_state_root([...state], version)) as string;
}

/** Our root of a whole flat state (main trie). */
function ourRoot(state: FlatState, version: 0 | 1): string {
  return toHex(trieRoot([...state].map(([key, value]) => ({ key: fromHex(key), value: fromHex(value) })), version));
}

afterAll(() => {
  console.log(
    `chopsticks differential: ${tally.calls} calls compared, ${tally.outputBytes} output bytes and ${tally.diffEntries} storage diff entries equal`,
  );
});

/** A chain under test: set by `beforeAll`, and the metadata by the first test. */
interface ChainContext {
  chain: { runtime: SubstrateRuntime; wasmHex: string; genesis: Genesis } | null;
  tools: MetadataTools | null;
}

/** The tests every chain gets. */
function commonTests(context: ChainContext) {
  const genesisState = (): FlatState => new Map(Object.entries(context.chain!.genesis.top));
  const stateVersion = (): 0 | 1 => (context.chain!.runtime.version.stateVersion === 1 ? 1 : 0);

  test('the genesis state root agrees with smoldot’s', async () => {
    const state = genesisState();
    expect(ourRoot(state, stateVersion())).toBe(await smoldotRoot(state, stateVersion()));
  }, CALL_TIMEOUT);

  test('Metadata_metadata_at_version(15)', async () => {
    const { ours } = await compare(context.chain!, 'Metadata_metadata_at_version', Uint8Array.from(u32le(15)), genesisState());
    context.tools = metadataTools(ours.output);
  }, CALL_TIMEOUT);

  test('GenesisBuilder_build_state with the default preset, on an empty state', async () => {
    const empty: FlatState = new Map();
    const preset = await compare(context.chain!, 'GenesisBuilder_get_preset', Uint8Array.of(0), empty);
    expect(preset.ours.output[0]).toBe(1); // Some(json)
    const built = await compare(context.chain!, 'GenesisBuilder_build_state', preset.ours.output.subarray(1), empty);
    expect(toHex(built.ours.output)).toBe('0x00'); // Ok(())
    expect(built.ourDiff.length).toBeGreaterThan(10);
  }, CALL_TIMEOUT);

  test('DryRunApi_dry_run_call of a balance transfer from an account funded at genesis', async () => {
    const tools = context.tools!;
    const state = genesisState();
    const from = AccountId(42).dec(fundedAccount(state));
    const to = AccountId(42).dec(new Uint8Array(32).fill(0x11));
    const api = tools.builder.buildRuntimeCall('DryRunApi', 'dry_run_call');
    const origin = { type: 'system', value: { type: 'Signed', value: from } };
    const call = { type: 'Balances', value: { type: 'transfer_keep_alive', value: { dest: { type: 'Id', value: to }, value: 10n ** 10n } } };
    const args = api.args.inner.length === 3 ? [origin, call, 4] : [origin, call];
    const { ours } = await compare(context.chain!, 'DryRunApi_dry_run_call', api.args.enc(args), state);
    const result = api.value.dec(ours.output) as { success: boolean; value: { execution_result: { success: boolean } } };
    expect(result.success).toBe(true);
    expect(result.value.execution_result.success).toBe(true);
  }, CALL_TIMEOUT);

  test('TransactionPaymentApi_query_info of a signed transfer', async () => {
    const tools = context.tools!;
    const state = genesisState();
    const call = encodeCall(tools, 'Balances', 'transfer_keep_alive', { dest: { type: 'Id', value: AccountId(42).dec(new Uint8Array(32).fill(0x22)) }, value: 10n ** 10n });
    const extrinsic = magicSignedExtrinsic(tools, fundedAccount(state), call);
    const input = concat(extrinsic, u32le(extrinsic.length));
    const { ours } = await compare(context.chain!, 'TransactionPaymentApi_query_info', input, state);
    const info = tools.builder.buildRuntimeCall('TransactionPaymentApi', 'query_info').value.dec(ours.output) as { partial_fee: bigint };
    expect(info.partial_fee).toBeGreaterThan(0n);
  }, CALL_TIMEOUT);
}

/** Creates a chain's runtime for a suite. */
function setUp(path: string, context: ChainContext) {
  beforeAll(async () => {
    const genesis = readGenesis(path);
    context.chain = { runtime: await genesisRuntime(genesis), wasmHex: toHex(genesis.wasm), genesis };
  }, CREATE_TIMEOUT);
}

describeWithShared('runtimes/people-paseo-local.json', 'People (Paseo) genesis, against chopsticks-executor', (path) => {
  const context: ChainContext = { chain: null, tools: null };
  setUp(path, context);
  commonTests(context);

  // A parachain block needs the `set_validation_data` inherent (inherent data `sysi1337`):
  // the relay chain's validation data with a Merkle proof of the relay chain's state (its
  // host configuration, the para's message queues and channels, the relay slot, ...), as
  // chopsticks's inherent providers build it. This test does not build that proof, so it runs
  // the block up to `finalize_block`, which both implementations must refuse the same way.
  test('block 1 without the relay chain’s validation data: Aura digest, timestamp, a signed transfer; finalize fails alike', async () => {
    const chain = context.chain!;
    const tools = context.tools!;
    const version = chain.runtime.version.stateVersion === 1 ? 1 : 0;
    let state: FlatState = new Map(Object.entries(chain.genesis.top));
    const step = async (entryPoint: string, input: Uint8Array, options: { mockSignatures?: boolean } = {}) => {
      const both = await compare(chain, entryPoint, input, state, options);
      state = applyDiff(state, both.ourDiff);
      return both;
    };
    const genesisHash = blake2_256(
      encodeHeader({ parentHash: new Uint8Array(32), number: 0, stateRoot: fromHex(ourRoot(state, version)), extrinsicsRoot: trieRoot([], version), digest: [] }),
    );
    const slotDuration = new DataView((await step('AuraApi_slot_duration', new Uint8Array())).ours.output.buffer).getBigUint64(0, true);
    const slot = 900_000_000n;
    await step(
      'Core_initialize_block',
      encodeHeader({ parentHash: genesisHash, number: 1, stateRoot: new Uint8Array(32), extrinsicsRoot: new Uint8Array(32), digest: [preRuntimeDigest('aura', Uint8Array.from(u64le(slot)))] }),
    );
    const setTimestamp = encodeCall(tools, 'Timestamp', 'set', { now: slot * slotDuration });
    const bare = concat([0x04], setTimestamp);
    expect(toHex((await step('BlockBuilder_apply_extrinsic', concat(compactLength(bare.length), bare))).ours.output)).toBe('0x0000');
    const transfer = magicSignedExtrinsic(
      tools,
      fundedAccount(state),
      encodeCall(tools, 'Balances', 'transfer_keep_alive', { dest: { type: 'Id', value: AccountId(42).dec(new Uint8Array(32).fill(0x44)) }, value: 10n ** 11n }),
    );
    expect(toHex((await step('BlockBuilder_apply_extrinsic', transfer, { mockSignatures: true })).ours.output)).toBe('0x0000');

    // Current runtimes log the panic message, then trap: collect the log to see the message.
    const logs: string[] = [];
    const ours = await runtimeCall(chain.runtime, 'BlockBuilder_finalize_block', new Uint8Array(), {
      storage: flatStorage(state),
      storageProofSize: 0,
      onLog: (entry) => logs.push(entry.message),
      maxLogLevel: 'error',
    }).catch((e: unknown) => e);
    expect(ours).toBeInstanceOf(RuntimeCallError);
    expect((ours as RuntimeCallError).kind).toBe('Trap');
    expect(logs.join('\n')).toMatch(/Missing required set_validation_data inherent/);
    takeChopsticksLogs();
    const theirs = await chopsticksCall(chain.wasmHex, 'BlockBuilder_finalize_block', new Uint8Array(), state, false).catch((e: unknown) => e);
    expect(String(theirs)).toMatch(/unreachable/i);
    // chopsticks logged the same panic (captured: see takeChopsticksLogs).
    expect(takeChopsticksLogs().join('\n')).toMatch(/panicked at .*\n?.*Missing required set_validation_data inherent/);
    expect((ours as RuntimeCallError).message).toMatch(/unreachable/i);
    tally.calls += 1;
  }, 4 * CALL_TIMEOUT);
});

describeWithShared('runtimes/paseo-substitute.json', 'Paseo relay genesis, against chopsticks-executor', (path) => {
  const context: ChainContext = { chain: null, tools: null };
  setUp(path, context);
  commonTests(context);

  test('building block 1: initialize, inherents, a signed transfer, finalize', async () => {
    const chain = context.chain!;
    const tools = context.tools!;
    const version = chain.runtime.version.stateVersion === 1 ? 1 : 0;
    let state: FlatState = new Map(Object.entries(chain.genesis.top));
    const genesisHeader = encodeHeader({
      parentHash: new Uint8Array(32),
      number: 0,
      stateRoot: fromHex(ourRoot(state, version)),
      extrinsicsRoot: trieRoot([], version),
      digest: [],
    });
    const genesisHash = blake2_256(genesisHeader);

    // BABE: a secondary-plain pre-digest for authority 0 at `slot`; the timestamp must fall in that slot.
    const slotDuration = tools.builder.buildConstant('Babe', 'ExpectedBlockTime').dec(constantValue(tools, 'Babe', 'ExpectedBlockTime')) as bigint;
    const slot = 300_000_000n;
    const preDigest = concat([2], u32le(0), u64le(slot));
    const header = encodeHeader({ parentHash: genesisHash, number: 1, stateRoot: new Uint8Array(32), extrinsicsRoot: new Uint8Array(32), digest: [preRuntimeDigest('BABE', preDigest)] });

    const step = async (entryPoint: string, input: Uint8Array, options: { mockSignatures?: boolean; maskStateRoot?: boolean } = {}) => {
      const both = await compare(chain, entryPoint, input, state, options);
      state = applyDiff(state, both.ourDiff);
      return both;
    };

    await step('Core_initialize_block', header);
    const inherentData = encodeInherentData([
      ['timstap0', Uint8Array.from(u64le(slot * slotDuration))],
      // ParachainsInherentData: no bitfields, no backed candidates, no disputes, the parent header
      ['parachn0', concat([0], [0], [0], genesisHeader)],
    ]);
    const inherents = splitExtrinsics((await step('BlockBuilder_inherent_extrinsics', inherentData)).ours.output);
    expect(inherents.length).toBeGreaterThanOrEqual(2);
    for (const inherent of inherents) {
      const { ours } = await step('BlockBuilder_apply_extrinsic', inherent);
      expect(toHex(ours.output)).toBe('0x0000'); // Ok(Ok(()))
    }
    const transfer = magicSignedExtrinsic(
      tools,
      fundedAccount(state),
      encodeCall(tools, 'Balances', 'transfer_keep_alive', { dest: { type: 'Id', value: AccountId(42).dec(new Uint8Array(32).fill(0x33)) }, value: 10n ** 11n }),
    );
    const applied = await step('BlockBuilder_apply_extrinsic', transfer, { mockSignatures: true });
    expect(toHex(applied.ours.output)).toBe('0x0000');

    const finalized = await step('BlockBuilder_finalize_block', new Uint8Array(), { maskStateRoot: true });
    // The header's state root is the root of the whole state after the block, as smoldot computes it.
    const stateRoot = headerStateRoot(finalized.ours.output);
    expect(stateRoot).toBe(await smoldotRoot(state, version));
    expect(stateRoot).toBe(ourRoot(state, version));
  }, 4 * CALL_TIMEOUT);
});

/** A pallet constant's value bytes, from the metadata. */
function constantValue(tools: MetadataTools, pallet: string, name: string): string {
  const entry = tools.lookup.metadata.pallets.find((p) => p.name === pallet)!.constants.find((c) => c.name === name)!;
  return entry.value;
}

