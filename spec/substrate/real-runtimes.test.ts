/**
 * Real runtimes through the host layer: versions (from the custom sections and from
 * `Core_version`, which must agree) and metadata, including a runtime whose `Metadata_metadata`
 * reads storage and so pauses.
 *
 * Creating each runtime runs the Asyncify transform (10 to 40 s on a loaded 2-core machine), so
 * each runtime is created once per suite, in `beforeAll`. Today's runtimes from the chain specs
 * in ../shared/runtimes (7 to 12 MB, 30 to 70 s each to instrument) are only decoded here and
 * their versions read from the custom sections; their runtime calls are
 * `describeChainSpecRuntimeCalls` in support/chain-spec-runtime-calls.ts.
 */
import { readFileSync } from 'node:fs';
import {
  MapStorage,
  type RuntimeCallResult,
  SubstrateRuntime,
  coreVersion,
  decodeOpaqueMetadata,
  decodeRuntimeCode,
  readEmbeddedRuntimeVersion,
  runtimeCall,
} from '../../lib/substrate/index.js';
import { SHARED_CHAIN_SPECS, loadChainSpec } from '../support/chain-spec.js';
import { describeChainSpecRuntimeCalls } from '../support/chain-spec-runtime-calls.js';
import { describeWithShared } from '../support/shared.js';

const CREATE_TIMEOUT = 5 * 60 * 1000;
const CALL_TIMEOUT = 2 * 60 * 1000;

/** The Rococo Asset Hub genesis code (zstd-prefixed hex) from `@substrate/connect-known-chains`, and its genesis storage. */
async function assetHubChainSpec(): Promise<{ code: string; storage: Record<string, string> }> {
  const { chainSpec } = (await import('@substrate/connect-known-chains/rococo_v2_2_asset_hub')) as { chainSpec: string };
  const top = (JSON.parse(chainSpec) as { genesis: { raw: { top: Record<string, string> } } }).genesis.raw.top;
  return { code: top['0x3a636f6465']!, storage: top };
}

function expectMetadata(result: RuntimeCallResult): number {
  const metadata = decodeOpaqueMetadata(result.output);
  expect(new TextDecoder().decode(metadata.bytes.subarray(0, 4))).toBe('meta');
  return metadata.version;
}

describeWithShared('runtimes/westend-runtime-v9300.wasm', 'westend v9300', (path) => {
  let runtime: SubstrateRuntime;
  beforeAll(async () => {
    runtime = await SubstrateRuntime.create({ code: readFileSync(path) });
  }, CREATE_TIMEOUT);

  test('its version, read from the custom sections', () => {
    expect(runtime.code.compressed).toBe(true);
    expect(runtime.versionSource).toBe('custom-sections');
    expect(runtime.version).toMatchObject({ specName: 'westend', implName: 'parity-westend', specVersion: 9300, transactionVersion: 13, stateVersion: 0 });
    expect(runtime.version.apis.map((a) => a.name)).toContain('Metadata');
  });

  test(
    'Core_version agrees with the custom sections',
    async () => {
      expect(await coreVersion(runtime)).toEqual(runtime.version);
    },
    CALL_TIMEOUT,
  );
});

describeWithShared('runtimes/rococo-genesis.wasm', 'rococo genesis', (path) => {
  let runtime: SubstrateRuntime;
  beforeAll(async () => {
    runtime = await SubstrateRuntime.create({ code: readFileSync(path) });
  }, CREATE_TIMEOUT);

  test('has only runtime_apis, so its version comes from Core_version', () => {
    expect(runtime.code.compressed).toBe(false);
    expect(runtime.versionSource).toBe('Core_version');
    expect(runtime.version).toMatchObject({ specName: 'rococo', specVersion: 9190 });
  });

  test(
    'Metadata_metadata with empty storage returns metadata; its storage read pauses the call',
    async () => {
      const asked: string[] = [];
      const result = await runtimeCall(runtime, 'Metadata_metadata', new Uint8Array(), {
        storage: {
          // Missing values: the host answers None (a single 0x00 byte in the runtime's heap).
          get: async (key) => {
            asked.push(Buffer.from(key).toString('hex'));
            return null;
          },
        },
      });
      expect(expectMetadata(result)).toBe(14);
      expect(result.hostCalls.get('ext_storage_get_version_1')).toBeGreaterThan(0);
      expect(result.pauses).toBe(result.hostCalls.get('ext_storage_get_version_1'));
      expect(asked.length).toBe(result.pauses);
    },
    CALL_TIMEOUT,
  );
});

describe('Rococo Asset Hub genesis runtime (from @substrate/connect-known-chains)', () => {
  let runtime: SubstrateRuntime;
  let storage: Record<string, string>;
  beforeAll(async () => {
    const spec = await assetHubChainSpec();
    storage = spec.storage;
    runtime = await SubstrateRuntime.create({ code: spec.code });
  }, CREATE_TIMEOUT);

  test('its version', () => {
    expect(runtime.code.compressed).toBe(true);
    expect(runtime.versionSource).toBe('custom-sections');
    expect(runtime.version).toMatchObject({ specName: 'statemine', specVersion: 900 });
  });

  test(
    'Metadata_metadata: valid metadata, allocator and logging only, no pause',
    async () => {
      const result = await runtimeCall(runtime, 'Metadata_metadata');
      expect(expectMetadata(result)).toBe(14);
      expect(result.pauses).toBe(0);
      expect([...result.hostCalls.keys()].sort()).toEqual([
        'ext_allocator_free_version_1',
        'ext_allocator_malloc_version_1',
        'ext_logging_max_level_version_1',
      ]);
      // A second call runs on a fresh instance and gives the same bytes.
      const again = await runtimeCall(runtime, 'Metadata_metadata');
      expect(Buffer.compare(again.output, result.output)).toBe(0);
    },
    CALL_TIMEOUT,
  );

  test(
    'AuraApi_authorities reads the genesis storage, pausing at each read',
    async () => {
      const result = await runtimeCall(runtime, 'AuraApi_authorities', new Uint8Array(), { storage: new MapStorage(Object.entries(storage)) });
      expect(result.pauses).toBeGreaterThan(0);
      // Vec<AuraId>: a compact count, then 32-byte public keys.
      const count = result.output[0]! >> 2;
      expect(count).toBeGreaterThan(0);
      expect(result.output.length).toBe(1 + 32 * count);
    },
    CALL_TIMEOUT,
  );
});

for (const spec of SHARED_CHAIN_SPECS) {
  describeWithShared(spec.file, `${spec.specName} ${spec.specVersion}, from its chain spec`, (path) => {
    test('its code decodes, and its version is in the custom sections', () => {
      const genesis = loadChainSpec(path);
      expect(genesis.storage.size).toBe(spec.storageKeys);
      const decoded = decodeRuntimeCode(genesis.code);
      expect(decoded).toMatchObject({ compressed: true, codeSize: spec.codeSize });
      expect(decoded.wasm.length).toBe(spec.wasmSize);
      const version = readEmbeddedRuntimeVersion(decoded.wasm);
      expect(version).toMatchObject({ specName: spec.specName, specVersion: spec.specVersion });
      expect(version!.apis.map((a) => a.name)).toEqual(expect.arrayContaining(['Core', 'Metadata']));
    });
  });
}

// Today's runtimes (2025 Paseo relay, 2026 People) through the Substrate layer, on JSPI (see
// spec/support/chain-spec-runtime-calls.ts for why not on Asyncify in every run).
for (const spec of SHARED_CHAIN_SPECS) {
  describeChainSpecRuntimeCalls(spec, { create: (code) => SubstrateRuntime.create({ code, backend: 'jspi' }) });
}
