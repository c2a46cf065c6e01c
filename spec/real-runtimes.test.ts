/**
 * Real code: `Metadata_metadata` of real Substrate runtimes through the VM, every host call an
 * interrupt, must produce exactly the output bytes and the same host calls as the same module
 * run uninstrumented in plain WebAssembly with synchronous imports.
 */
import { readFileSync } from 'node:fs';
import { VirtualMachinePrototype } from '../lib/index.js';
import {
  type EntryPointRun,
  assetHubRuntime,
  createRuntimePrototype,
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

function expectSame(plain: EntryPointRun, vm: EntryPointRun): void {
  expect(vm.totalCalls).toBe(plain.totalCalls);
  expect([...vm.calls].sort()).toEqual([...plain.calls].sort());
  expect(vm.output.length).toBe(plain.output.length);
  expect(Buffer.compare(Buffer.from(vm.output), Buffer.from(plain.output))).toBe(0);
  // The output is a SCALE Vec<u8> (a compact length, then the bytes) holding metadata, which
  // starts with the magic number "meta".
  const prefix = [1, 2, 4][vm.output[0]! & 3]!;
  expect(new TextDecoder().decode(vm.output.subarray(prefix, prefix + 4))).toBe('meta');
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
