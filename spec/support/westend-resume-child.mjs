// The other process of spec/snapshot-real-runtime.test.ts and bench/snapshot.ts: restores a
// paused call of a runtime's Metadata_metadata (every import an interrupt, as
// spec/support/substrate-harness.ts's createRuntimePrototype makes it, Asyncify) from a snapshot
// and the host's allocator state, answers every later interrupt as the harness's minimal host
// does (Substrate's allocator, logging off), and sends back the output. Run with child_process
// fork(); uses the built package (dist/, which `npm test` builds first).
import { readFileSync } from 'node:fs';
import { VirtualMachine, VirtualMachinePrototype, WasmValue, runToCompletion } from '../../dist/index.js';
import { FileArtifactCache } from '../../dist/node/index.js';
import { FreeingBumpAllocator, decodeRuntimeCode } from '../../dist/substrate/index.js';

process.once('message', async ({ codePath, cacheDir, snapshot, allocator }) => {
  try {
    const wasm = decodeRuntimeCode(readFileSync(codePath)).wasm;
    const names = [];
    const proto = await VirtualMachinePrototype.create({
      moduleBytes: wasm,
      backend: 'asyncify',
      reuseGrownMemory: false,
      cache: new FileArtifactCache(cacheDir),
      symbols: (_module, name) => names.push(name) - 1,
    });
    const heap = new FreeingBumpAllocator(proto.globalValue('__heap_base'));
    heap.importState(allocator);
    const restoreStarted = performance.now();
    const vm = await VirtualMachine.restore(proto, Uint8Array.from(snapshot));
    const restoreMs = performance.now() - restoreStarted;
    let interrupts = 0;
    const outcome = await runToCompletion(vm, ({ name, params }, memory) => {
      interrupts += 1;
      switch (name) {
        case 'ext_allocator_malloc_version_1':
          return WasmValue.i32(heap.malloc(memory, params[0].value));
        case 'ext_allocator_free_version_1':
          heap.free(memory, params[0].value);
          return null;
        case 'ext_logging_max_level_version_1':
          return WasmValue.i32(0);
        case 'ext_logging_log_version_1':
          return null;
        default:
          throw new Error(`unexpected host call ${name}`);
      }
    });
    if (outcome.type !== 'finished') throw new Error(`the call ${outcome.type}: ${outcome.trap?.message}`);
    const packed = BigInt.asUintN(64, outcome.value.value);
    const output = vm.readMemory(Number(packed & 0xffff_ffffn), Number(packed >> 32n));
    process.send({ ok: { output, interrupts, restoreMs } }, () => process.exit(0));
  } catch (e) {
    process.send({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }, () => process.exit(1));
  }
});
