// The consumer's checks, shared by its test files for each test runner (node --test, Mocha).
// Plain JavaScript, as a user's project would have: resumable-wasm from its node_modules.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { VirtualMachinePrototype, WasmValue } from 'resumable-wasm';

const moduleBytes = readFileSync(new URL('./guest.wasm', import.meta.url));

/** A call that pauses at its import, answered, on `backend`: Asyncify runs the transform's thread. */
export async function pauseAndResume(backend) {
  const proto = await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0, backend });
  assert.equal(proto.backend, backend);
  const vm = proto.prepare().start('main', [WasmValue.i32(21)]);
  const paused = await vm.runAsync(null);
  assert.equal(paused.type, 'interrupted');
  const done = await vm.runAsync(WasmValue.i32(paused.params[0].value * 2));
  assert.deepEqual(done, { type: 'finished', value: WasmValue.i32(42) });
}

export const BACKENDS = ['asyncify', 'jspi'];
