/**
 * A known-good module, created and run after suspicious cases to check that the process is
 * still healthy.
 *
 * A failure that does not show in the case that caused it — Binaryen left aborted or with a
 * pass argument still set, a process-wide setting changed, a leaked Asyncify state — shows in
 * the next module instead. Running this canary after every case that reached the transform
 * without producing a working prototype (and periodically) pins such a failure on the case
 * that caused it.
 *
 * @module
 */

import { VirtualMachinePrototype, WasmValue } from '../../lib/index.js';
import { describeThrown } from './judge.js';
import { wat } from '../../spec/support/wat.js';

const SOURCE = `(module
  (import "env" "get" (func $get (result i32)))
  (memory (export "memory") 1)
  (func (export "plus_one") (result i32) (i32.add (call $get) (i32.const 1))))`;

let bytes: Uint8Array | null = null;

/** `null` if the canary works; otherwise what went wrong. */
export async function canaryProblem(): Promise<string | null> {
  try {
    bytes ??= await wat(SOURCE);
    const proto = await VirtualMachinePrototype.create({ moduleBytes: bytes, symbols: () => 7 });
    const vm = proto.prepare().start('plus_one', []);
    const first = vm.run(null);
    if (first.type !== 'interrupted' || first.id !== 7) return `the canary's first run gave ${first.type}`;
    const second = vm.run(WasmValue.i32(41));
    if (second.type !== 'finished' || second.value?.value !== 42) return `the canary finished with ${JSON.stringify(second)}`;
    return null;
  } catch (error) {
    return `the canary threw ${describeThrown(error)}`;
  }
}
