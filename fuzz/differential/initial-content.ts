/**
 * Initial content for `wasm-opt -ttf --initial-fuzz`: hand-written functions the generator
 * keeps, exports and calls from the code it makes up.
 *
 * `-ttf` never emits `memory.grow` or `memory.size` by itself, and the hang limit it adds caps
 * recursion, so on its own it would never show whether the VM keeps `memory.size` and growth
 * exactly as an uninstrumented run (the unwind buffer must never live in, or grow, the guest's
 * memory). These functions add that: growth by the guest, reading the size, a store right at
 * the end of the memory, and a recursion that calls an import at its deepest point (so that a
 * pause unwinds as many frames as the hang limit allows). `-ttf`'s imports return few values
 * (`sleep` its argument, `call-export-catch` 0 or 1), so these functions also import getters of
 * every type (see `host.ts`): the VM must resume the guest with exactly the value it was given.
 *
 * @module
 */

import wabtInit from 'wabt';

/** Which initial content a module is generated from. */
export type InitialContent = 'none' | 'memory-ops' | 'memory-ops-exported';

const MEMORY_OPS = (exportMemory: boolean): string => `(module
  (import "fuzzing-support" "log-i32" (func $log (param i32)))
  (import "fuzzing-support" "get-i32" (func $get_i32 (result i32)))
  (import "fuzzing-support" "get-i64" (func $get_i64 (result i64)))
  (import "fuzzing-support" "get-f32" (func $get_f32 (result f32)))
  (import "fuzzing-support" "get-f64" (func $get_f64 (result f64)))
  (memory ${exportMemory ? '(export "memory") ' : ''}1 24)
  ;; Grows by 0..3 pages and returns the old size (-1 past the maximum).
  (func $grow (export "grow") (param $pages i32) (result i32)
    (memory.grow (i32.and (local.get $pages) (i32.const 3))))
  (func $size (export "size") (result i32)
    (memory.size))
  ;; Stores at the last word of the memory, wherever that is now, and logs the size.
  (func $touch_end (export "touch_end") (param $value i32)
    (i32.store
      (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 4))
      (local.get $value))
    (call $log (memory.size)))
  ;; Recurses $depth times (at most 1000), then logs at the bottom and on the way back.
  (func $deep (export "deep") (param $depth i32) (result i32)
    (if (result i32) (i32.eqz (local.get $depth))
      (then (call $log (i32.const -1)) (memory.size))
      (else
        (i32.add
          (call $deep (i32.rem_u (i32.sub (local.get $depth) (i32.const 1)) (i32.const 1000)))
          (i32.const 1)))))
  ;; Asks the host for a value of each type, stores them in the first page, returns a mix.
  (func $ask (export "ask") (param $at i32) (result i64)
    (local $p i32)
    (local.set $p (i32.and (local.get $at) (i32.const 0xffe0)))
    (i32.store (local.get $p) (call $get_i32))
    (i64.store offset=8 (local.get $p) (call $get_i64))
    (f32.store offset=16 (local.get $p) (call $get_f32))
    (f64.store offset=24 (local.get $p) (call $get_f64))
    (i64.xor
      (i64.load offset=8 (local.get $p))
      (i64.extend_i32_u (i32.xor (i32.load (local.get $p)) (i32.load offset=16 (local.get $p))))))
  ;; The same through locals that live across the pauses.
  (func $ask_locals (export "ask_locals") (result f64)
    (local $a i32) (local $b i64) (local $c f32) (local $d f64)
    (local.set $a (call $get_i32))
    (local.set $b (call $get_i64))
    (local.set $c (call $get_f32))
    (local.set $d (call $get_f64))
    (call $log (i32.reinterpret_f32 (local.get $c)))
    (call $log (i32.wrap_i64 (i64.reinterpret_f64 (local.get $d))))
    (f64.add
      (f64.add (f64.convert_i32_s (local.get $a)) (f64.convert_i64_s (local.get $b)))
      (f64.add (f64.promote_f32 (local.get $c)) (local.get $d))))
)`;

let wabt: Awaited<ReturnType<typeof wabtInit>> | null = null;
const cache = new Map<InitialContent, Uint8Array>();

/** The binary of the initial content `kind` (`null` for `none`). */
export async function initialContentBytes(kind: InitialContent): Promise<Uint8Array | null> {
  if (kind === 'none') return null;
  const cached = cache.get(kind);
  if (cached !== undefined) return cached;
  wabt ??= await wabtInit();
  const module = wabt.parseWat(`${kind}.wat`, MEMORY_OPS(kind === 'memory-ops-exported'), {});
  try {
    module.resolveNames();
    module.validate();
    const bytes = new Uint8Array(module.toBinary({}).buffer);
    cache.set(kind, bytes);
    return bytes;
  } finally {
    module.destroy();
  }
}
