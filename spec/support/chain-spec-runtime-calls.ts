/**
 * Runtime calls into today's runtimes (the chain specs in `../shared/runtimes`), through the
 * library's Substrate host layer, as a suite a test file can turn on:
 *
 * ```ts
 * for (const spec of SHARED_CHAIN_SPECS) describeChainSpecRuntimeCalls(spec);
 * ```
 *
 * `spec/substrate/real-runtimes.test.ts` turns it on for the JSPI backend, where creating these
 * 7 to 12 MB runtimes takes well under a second. On Asyncify the transform runs for 30 to 70 s
 * each, too long for every `npm test`: pass `create` to choose how the runtime is made (it
 * passed on Asyncify when run by hand, about 3.5 minutes for both).
 *
 * What it checks, for each runtime:
 *
 * - `Core_version` returns what the custom sections say, and that is the chain spec's
 *   `spec_name` and `spec_version` (the same APIs, though not always in the same order: Paseo's
 *   `Core_version` lists them in another order than its `runtime_apis` section);
 * - `Metadata_metadata`, with the genesis storage, returns metadata byte-equal with the harness
 *   host's run of the same module in plain WebAssembly (both with Substrate's allocator; the
 *   People runtime reads a genesis key on the way);
 * - a second `Metadata_metadata` on the same runtime gives the same bytes (each call starts from
 *   a fresh instance).
 */
import {
  MapStorage,
  type RuntimeVersion,
  SubstrateRuntime,
  coreVersion,
  decodeRuntimeCode,
  runtimeCall,
} from '../../lib/substrate/index.js';
import { type ChainSpecGenesis, type SharedChainSpec, loadChainSpec } from './chain-spec.js';
import { describeWithShared } from './shared.js';
import { type EntryPointRun, runPlain } from './substrate-harness.js';

/** Options of {@link describeChainSpecRuntimeCalls}. */
export interface ChainSpecRuntimeCallsOptions {
  /** Makes the runtime from its code. Default: `SubstrateRuntime.create({ code })`. */
  readonly create?: (code: Uint8Array) => Promise<SubstrateRuntime>;
  /** The timeout of creating the runtime and of each call, in milliseconds. Default 10 minutes. */
  readonly timeout?: number;
}

/** `version` with its APIs sorted by id, to compare two versions whatever order they list their APIs in. */
function withSortedApis(version: RuntimeVersion): RuntimeVersion {
  return { ...version, apis: [...version.apis].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}

/** Defines the suite described in the module documentation for one chain spec (skipped without ../shared). */
export function describeChainSpecRuntimeCalls(spec: SharedChainSpec, options: ChainSpecRuntimeCallsOptions = {}): void {
  const create = options.create ?? ((code: Uint8Array) => SubstrateRuntime.create({ code }));
  const timeout = options.timeout ?? 10 * 60 * 1000;
  describeWithShared(spec.file, `${spec.specName} ${spec.specVersion} runtime calls, with its genesis storage`, (path) => {
    let genesis: ChainSpecGenesis;
    let runtime: SubstrateRuntime;
    let plain: EntryPointRun;
    beforeAll(async () => {
      genesis = loadChainSpec(path);
      runtime = await create(genesis.code);
      plain = await runPlain(decodeRuntimeCode(genesis.code).wasm, 'Metadata_metadata', new Uint8Array(), { storage: genesis.storage });
    }, timeout);

    test(
      'Core_version agrees with the custom sections and the chain spec',
      async () => {
        expect(runtime.versionSource).toBe('custom-sections');
        expect(runtime.version).toMatchObject({ specName: spec.specName, specVersion: spec.specVersion });
        expect(withSortedApis(await coreVersion(runtime))).toEqual(withSortedApis(runtime.version));
      },
      timeout,
    );

    test(
      "Metadata_metadata is byte-equal with the harness host's in plain WebAssembly, twice",
      async () => {
        const storage = new MapStorage(genesis.storage);
        const first = await runtimeCall(runtime, 'Metadata_metadata', new Uint8Array(), { storage });
        expect(first.output.length).toBe(plain.output.length);
        expect(Buffer.compare(Buffer.from(first.output), Buffer.from(plain.output))).toBe(0);
        expect(first.hostCalls.get('ext_storage_get_version_1') ?? 0).toBe(plain.calls.get('ext_storage_get_version_1') ?? 0);
        const second = await runtimeCall(runtime, 'Metadata_metadata', new Uint8Array(), { storage });
        expect(Buffer.compare(Buffer.from(second.output), Buffer.from(first.output))).toBe(0);
      },
      timeout,
    );
  });
}
