/**
 * Real code: `Metadata_metadata` of real Substrate runtimes through the VM, every host call an
 * interrupt, must produce exactly the output bytes and the same host calls as the same module
 * run uninstrumented in plain WebAssembly with synchronous imports.
 *
 * Today's runtimes (the chain specs in ../shared/runtimes, rustc 1.91 and later) are checked
 * here only in plain WebAssembly, against chopsticks-executor (smoldot's executor): that is what
 * shows the harness host behaves like Substrate's. Instrumenting them takes 30 to 70 s each; the
 * VM side is `describeChainSpecRuntimeCalls` in support/chain-spec-runtime-calls.ts.
 */
import { readFileSync } from 'node:fs';
import { run_task } from '@acala-network/chopsticks-executor';
import { VirtualMachinePrototype } from '../lib/index.js';
import { SHARED_CHAIN_SPECS, loadChainSpec } from './support/chain-spec.js';
import {
  type EntryPointRun,
  assetHubRuntime,
  createRuntimePrototype,
  plainRunner,
  runPlain,
  runVm,
  runtimeWasm,
} from './support/substrate-harness.js';
import { describeWithShared } from './support/shared.js';

// Instrumenting a multi-megabyte runtime takes tens of seconds on a loaded 2-core machine.
const TIMEOUT = 10 * 60 * 1000;

async function compare(wasm: Uint8Array): Promise<{ plain: EntryPointRun; vm: EntryPointRun }> {
  const plain = await runPlain(wasm, 'Metadata_metadata', new Uint8Array());
  const runtime = await createRuntimePrototype(wasm);
  const artifact = runtime.proto.toArtifact();
  const first = runVm(runtime, 'Metadata_metadata', new Uint8Array());
  // A second call on a fresh instance from the same prototype gives the same again...
  const second = runVm(first.runtime, 'Metadata_metadata', new Uint8Array());
  expect(Buffer.compare(Buffer.from(second.run.output), Buffer.from(first.run.output))).toBe(0);
  // ...and so does a prototype rebuilt from the artifact, without the transform.
  const rebuilt = await VirtualMachinePrototype.fromArtifact(artifact, {
    moduleBytes: wasm,
    symbols: (_module, name) => runtime.names.indexOf(name),
  });
  const third = runVm({ ...runtime, proto: rebuilt }, 'Metadata_metadata', new Uint8Array());
  expect(Buffer.compare(Buffer.from(third.run.output), Buffer.from(first.run.output))).toBe(0);
  return { plain, vm: first.run };
}

/** The metadata magic number "meta" after the SCALE compact length of the output's Vec<u8>. */
function expectMetadataBytes(output: Uint8Array): void {
  const prefix = [1, 2, 4][output[0]! & 3]!;
  expect(new TextDecoder().decode(output.subarray(prefix, prefix + 4))).toBe('meta');
}

/**
 * `entry` of `code` run by chopsticks-executor's `run_task` (smoldot's executor with the wasmi
 * interpreter, and Substrate's allocator), with every storage key missing: an oracle
 * independent of this repository.
 */
async function chopsticksCall(code: Uint8Array, entry: string): Promise<Uint8Array> {
  const missing = async (): Promise<undefined> => undefined;
  const response = (await run_task(
    {
      id: 0,
      wasm: `0x${Buffer.from(code).toString('hex')}`,
      calls: [[entry, ['0x']]],
      mockSignatureHost: false,
      allowUnresolvedImports: false,
      runtimeLogLevel: 0,
      storageProofSize: 0,
    },
    {
      getStorage: missing,
      getNextKey: missing,
      offchainGetStorage: missing,
      offchainTimestamp: async () => 0,
      offchainRandomSeed: async () => `0x${'00'.repeat(32)}`,
      offchainSubmitTransaction: async () => false,
    } as never,
  )) as { Call?: { result: string }; Error?: string };
  if (response.Call === undefined) throw new Error(`chopsticks-executor: ${response.Error}`);
  return Uint8Array.from(Buffer.from(response.Call.result.slice(2), 'hex'));
}

function expectSame(plain: EntryPointRun, vm: EntryPointRun): void {
  expect(vm.totalCalls).toBe(plain.totalCalls);
  expect([...vm.calls].sort()).toEqual([...plain.calls].sort());
  expect(vm.output.length).toBe(plain.output.length);
  expect(Buffer.compare(Buffer.from(vm.output), Buffer.from(plain.output))).toBe(0);
  // The output is a SCALE Vec<u8> (a compact length, then the bytes) holding metadata, which
  // starts with the magic number "meta".
  expectMetadataBytes(vm.output);
}

describeWithShared('runtimes/westend-runtime-v9300.wasm', 'westend v9300 Metadata_metadata', (path) => {
  test(
    'same output and host calls as plain V8',
    async () => {
      const { plain, vm } = await compare(runtimeWasm(readFileSync(path)));
      expectSame(plain, vm);
      // The numbers the shared runtimes' README records for this runtime and call.
      expect(vm.totalCalls).toBe(18_774);
      expect(vm.output.length).toBe(288_466);
    },
    TIMEOUT,
  );
});

describe('Rococo Asset Hub genesis runtime (from @substrate/connect-known-chains) Metadata_metadata', () => {
  test(
    'same output and host calls as plain V8',
    async () => {
      const { plain, vm } = await compare(await assetHubRuntime());
      expectSame(plain, vm);
      expect(vm.totalCalls).toBeGreaterThan(1000);
    },
    TIMEOUT,
  );
});

for (const spec of SHARED_CHAIN_SPECS) {
  describeWithShared(spec.file, `${spec.specName} ${spec.specVersion} Metadata_metadata in plain WebAssembly (the harness host)`, (path) => {
    test(
      "byte-equal with chopsticks-executor's (it needs Substrate's allocator: rustc >= 1.91 writes past some allocations)",
      async () => {
        const { code, storage } = loadChainSpec(path);
        const run = await plainRunner(runtimeWasm(code));
        const plain = run('Metadata_metadata', new Uint8Array());
        expectMetadataBytes(plain.output);
        expect(plain.calls.get('ext_allocator_free_version_1')).toBeGreaterThan(0);
        expect(Buffer.compare(Buffer.from(plain.output), Buffer.from(await chopsticksCall(code, 'Metadata_metadata')))).toBe(0);
        // With the genesis storage too (the People runtime reads a key that is in it).
        expectMetadataBytes(run('Metadata_metadata', new Uint8Array(), { storage }).output);
      },
      TIMEOUT,
    );
  });
}
