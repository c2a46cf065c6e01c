/**
 * Real code: `Metadata_metadata` of real Substrate runtimes through the VM, every host call an
 * interrupt, must produce exactly the output bytes and the same host calls as the same module
 * run uninstrumented in plain WebAssembly with synchronous imports — on both backends, driven
 * through `runAsync()` (and on Asyncify through `run()` too).
 *
 * One prototype per backend and runtime: the Asyncify transform of a multi-megabyte runtime
 * takes tens of seconds (JSPI creation takes milliseconds), and each further call runs on a
 * fresh instance of it.
 *
 * Today's runtimes (the chain specs in ../shared/runtimes, rustc 1.91 and later) are checked in
 * plain WebAssembly against chopsticks-executor (smoldot's executor): that is what shows the
 * harness host behaves like Substrate's. Through the VM they are checked by the Substrate layer's
 * suites (spec/substrate/real-runtimes.test.ts, chopsticks-differential.test.ts).
 */
import { readFileSync } from 'node:fs';
import { run_task } from '@acala-network/chopsticks-executor';
import { VirtualMachinePrototype } from '../lib/index.js';
import { SINGLE_MEMORY, VARIANTS, type Variant, backendOf, variantConfig } from './support/backends.js';
import { SHARED_CHAIN_SPECS, loadChainSpec } from './support/chain-spec.js';
import {
  type EntryPointRun,
  type RuntimePrototype,
  assetHubRuntime,
  createRuntimePrototype,
  minimalJspiRunner,
  plainRunner,
  runPlain,
  runVm,
  runVmAsync,
  runtimeWasm,
} from './support/substrate-harness.js';
import { describeWithShared } from './support/shared.js';

// Instrumenting a multi-megabyte runtime takes tens of seconds on a loaded 2-core machine.
const TIMEOUT = 10 * 60 * 1000;

function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(Buffer.compare(Buffer.from(actual), Buffer.from(expected))).toBe(0);
}

/**
 * Runs `Metadata_metadata` three times on `backend`: through `runAsync()`; again on a fresh
 * instance from the same prototype (through `run()` on Asyncify, `runAsync()` on JSPI); and on a
 * third prototype that did not run the transform again (on Asyncify rebuilt from the artifact;
 * on JSPI, which has no artifacts, a `clone()` taken before the first call). All three must agree;
 * returns the first.
 */
async function runThrice(wasm: Uint8Array, variant: Variant): Promise<EntryPointRun> {
  const backend = backendOf(variant);
  const runtime = await createRuntimePrototype(wasm, variantConfig(variant));
  expect(runtime.proto.backend).toBe(backend);
  if (variant === SINGLE_MEMORY) expect(runtime.proto.asyncifyStack).toBe('single-memory');
  let third: RuntimePrototype;
  if (backend === 'asyncify') {
    const artifact = runtime.proto.toArtifact();
    // With asyncifyStack 'auto' (the default) an artifact of either placement the engine runs is taken as it is.
    const rebuilt = await VirtualMachinePrototype.fromArtifact(artifact, {
      moduleBytes: wasm,
      symbols: (_module, name) => runtime.names.indexOf(name),
    });
    expect(rebuilt.asyncifyStack).toBe(runtime.proto.asyncifyStack);
    third = { ...runtime, proto: rebuilt };
  } else {
    third = { ...runtime, proto: runtime.proto.clone() };
  }
  const first = await runVmAsync(runtime, 'Metadata_metadata', new Uint8Array());
  // A second call on a fresh instance from the same prototype gives the same again...
  const second = backend === 'asyncify' ? runVm(first.runtime, 'Metadata_metadata', new Uint8Array()) : await runVmAsync(first.runtime, 'Metadata_metadata', new Uint8Array());
  expectSameBytes(second.run.output, first.run.output);
  expect(second.run.totalCalls).toBe(first.run.totalCalls);
  // ...and so does a prototype that did not run the transform again.
  const rebuiltRun = await runVmAsync(third, 'Metadata_metadata', new Uint8Array());
  expectSameBytes(rebuiltRun.run.output, first.run.output);
  expect(rebuiltRun.run.totalCalls).toBe(first.run.totalCalls);
  return first.run;
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
  expectSameBytes(vm.output, plain.output);
  // The output is a SCALE Vec<u8> (a compact length, then the bytes) holding metadata, which
  // starts with the magic number "meta".
  expectMetadataBytes(vm.output);
}

describeWithShared('runtimes/westend-runtime-v9300.wasm', 'westend v9300 Metadata_metadata', (path) => {
  let wasm: Uint8Array;
  let plain: EntryPointRun;
  beforeAll(async () => {
    wasm = runtimeWasm(readFileSync(path));
    plain = await runPlain(wasm, 'Metadata_metadata', new Uint8Array());
  }, TIMEOUT);

  test.each(VARIANTS)(
    '%s: same output and host calls as plain V8',
    async (variant) => {
      const vm = await runThrice(wasm, variant);
      expectSame(plain, vm);
      // The numbers the shared runtimes' README records for this runtime and call.
      expect(vm.totalCalls).toBe(18_774);
      expect(vm.output.length).toBe(288_466);
    },
    TIMEOUT,
  );
});

describe('Rococo Asset Hub genesis runtime (from @substrate/connect-known-chains) Metadata_metadata', () => {
  let wasm: Uint8Array;
  let plain: EntryPointRun;
  beforeAll(async () => {
    wasm = await assetHubRuntime();
    plain = await runPlain(wasm, 'Metadata_metadata', new Uint8Array());
  }, TIMEOUT);

  test.each(VARIANTS)(
    '%s: same output and host calls as plain V8',
    async (variant) => {
      const vm = await runThrice(wasm, variant);
      expectSame(plain, vm);
      expect(vm.totalCalls).toBeGreaterThan(1000);
    },
    TIMEOUT,
  );

  // The benchmark's floor for JSPI (bench/metadata.ts): it must compute what plain V8 computes,
  // on a fresh instance and on one whose memory is put back between calls.
  test.each([
    ['loop', false],
    ['loop', true],
    ['callback', false],
    ['callback', true],
  ] as const)(
    'the minimal hand-written JSPI driver (no library), %s style, reuseInstance %s: same output and host calls as plain V8, twice',
    async (style, reuseInstance) => {
      const run = await minimalJspiRunner(wasm, { reuseInstance, style });
      for (let i = 0; i < 2; i++) expectSame(plain, await run('Metadata_metadata', new Uint8Array()));
    },
    TIMEOUT,
  );

  test('plain V8 with the memory put back between calls: the same output every call', async () => {
    const run = await plainRunner(wasm, { reuseInstance: true });
    for (let i = 0; i < 2; i++) expectSame(plain, run('Metadata_metadata', new Uint8Array()));
  });
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
