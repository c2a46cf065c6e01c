/**
 * The guest of the snapshot and journal suites, and its host: it loops over pausing imports,
 * keeps state in its memory, in mutable globals and in its locals across pauses, has the host
 * grow its memory, and returns a digest of everything it saw; a restored, forked or replayed
 * machine that lost anything of the paused call finishes differently.
 */
import { type ExecOutcome, type VirtualMachine, WasmValue } from '../../lib/index.js';

export const SNAPSHOT_GUEST = `(module
  (import "host" "next" (func $next (param i32 i64) (result i32)))
  (import "host" "wide" (func $wide (param f64) (result i64)))
  (import "host" "grow" (func $grow))
  (memory (export "memory") 1 20)
  (global $acc (mut i32) (i32.const 7))
  (global $wideAcc (mut i64) (i64.const 0))
  (global (export "acc") (mut i32) (i32.const 0))
  (func $step (param $i i32) (param $local f64) (result i32)
    (local $x i32)
    (local.set $x (call $next (local.get $i) (i64.extend_i32_u (global.get $acc))))
    (global.set $acc (i32.add (i32.mul (global.get $acc) (i32.const 31)) (local.get $x)))
    (i32.store (i32.mul (local.get $i) (i32.const 4)) (global.get $acc))
    (global.set $wideAcc (i64.add (global.get $wideAcc) (call $wide (local.get $local))))
    (if (i32.eq (i32.rem_u (local.get $i) (i32.const 3)) (i32.const 2)) (then (call $grow)))
    (i32.add (local.get $x) (i32.wrap_i64 (global.get $wideAcc))))
  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $sum i32)
    (block $done (loop $more
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $sum (i32.add (local.get $sum)
        (call $step (local.get $i) (f64.convert_i32_u (i32.mul (local.get $i) (i32.const 3))))))
      (global.set 2 (local.get $sum))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $more)))
    (i64.add (i64.shl (i64.extend_i32_u (local.get $sum)) (i64.const 32))
      (i64.add (global.get $wideAcc) (i64.extend_i32_u (i32.add (global.get $acc) (memory.size))))))
  (func (export "idle") (result i32) (i32.const 5)))`;

export const SNAPSHOT_IDS: Record<string, number> = { next: 40, wide: 41, grow: 42 };

/** The host: deterministic answers from the params; `grow` grows the memory by a page. */
export function answer(outcome: Extract<ExecOutcome, { type: 'interrupted' }>, memory: { growMemory(n: number): void; writeMemory(o: number, d: Uint8Array): void }, salt = 0): WasmValue | null {
  switch (outcome.id) {
    case SNAPSHOT_IDS.next!: {
      const i = outcome.params[0]!.value as number;
      memory.writeMemory(1000 + i, new Uint8Array([i, salt]));
      return WasmValue.i32((i * 1_000_003 + Number(BigInt.asUintN(32, outcome.params[1]!.value as bigint) % 9973n) + salt) | 0);
    }
    case SNAPSHOT_IDS.wide!:
      return WasmValue.i64(BigInt(Math.round(outcome.params[0]!.value as number)) * 0x1_0000_0001n);
    case SNAPSHOT_IDS.grow!:
      memory.growMemory(1);
      return null;
    default:
      throw new Error(`unexpected import id ${outcome.id}`);
  }
}

/** Runs `vm` to its end answering with {@link answer}; returns the outcome and the memory. */
export async function finish(vm: VirtualMachine, first: ExecOutcome | null = null, salt = 0, counter = { steps: 0 }): Promise<{ value: string; memory: string; pages: number }> {
  let outcome = first ?? (await vm.runAsync(null));
  while (outcome.type === 'interrupted') {
    counter.steps++;
    outcome = await vm.runAsync(answer(outcome, vm, salt));
  }
  if (outcome.type !== 'finished') throw new Error(`the call ended with ${outcome.type}`);
  const pages = vm.memorySize();
  const memory = vm.readMemory(0, pages * 65536);
  let hash = 0n;
  for (let i = 0; i < memory.length; i += 8) hash = (hash * 1_000_003n + BigInt(memory[i]! + memory[i + 1]! * 256 + memory[i + 4]! * 65536)) & 0xffff_ffff_ffffn;
  return { value: String(outcome.value!.value), memory: hash.toString(16), pages };
}

