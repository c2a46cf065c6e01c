/**
 * Hand-written small modules: the seeds of the "small module" case classes.
 *
 * A real runtime that survives mutation costs 10–30 s of Binaryen time, so the "accepted, then
 * run" branch of the harness cannot be exercised often with runtimes. These modules transform
 * in milliseconds, so their unmutated and mutated forms reach that branch thousands of times.
 *
 * Each one is small but touches something the Asyncify transform or the VM's state machine has
 * to get right: calls to imports in the middle of expressions and control flow, every value
 * type crossing the boundary, locals live across a pause, recursion, `call_indirect` to an
 * import, memory growth around a pause, traps of every kind, globals, an imported memory, no
 * memory at all, a start function, re-exported imports.
 *
 * Every loop either calls an import in its body or runs a small constant number of times, so
 * that a mutant that breaks a loop condition still ends (by trap or by the host's interrupt
 * budget) rather than spinning in guest code, which no host can interrupt.
 *
 * With every parameter zero (how the harness starts exports) each export still does something:
 * pauses, traps, or computes.
 *
 * @module
 */

import { wat } from '../../spec/support/wat.js';

/** One seed module. */
export interface SmallModule {
  /** A short name, used in case descriptions. */
  readonly name: string;
  /** The module's binary encoding. */
  readonly bytes: Uint8Array;
}

/** The sources, by name. */
export const SMALL_SOURCES: Readonly<Record<string, string>> = {
  // Imports of every result type, called inside expressions; locals of every type live across them.
  'types': `(module
    (import "env" "i32" (func $i32 (param i32) (result i32)))
    (import "env" "i64" (func $i64 (param i64 i32) (result i64)))
    (import "env" "void" (func $void))
    (import "env" "f64" (func $f64 (param f64) (result f64)))
    (memory (export "memory") 1 2)
    (func (export "mix") (param $a i32) (param $b i64) (result i64)
      (local $x i32) (local $y i64) (local $z f32) (local $w f64)
      (local.set $x (i32.add (local.get $a) (i32.const 7)))
      (local.set $y (i64.mul (local.get $b) (i64.const 3)))
      (local.set $z (f32.const 1.5))
      (local.set $w (f64.const -2.25))
      (call $void)
      (i64.add
        (i64.add (local.get $y) (i64.extend_i32_s (call $i32 (local.get $x))))
        (i64.add (call $i64 (local.get $y) (local.get $x))
                 (i64.trunc_f64_s (f64.add (f64.promote_f32 (local.get $z)) (local.get $w))))))
    (func (export "floaty") (param f64) (result f64) (call $f64 (local.get 0)))
    (func (export "sx") (param i32) (result i32) (i32.extend8_s (i32.add (local.get 0) (i32.const 200))))
    (func (export "sat") (param f32) (result i32) (i32.trunc_sat_f32_s (local.get 0))))`,

  // A loop that pauses on every iteration and stops when the host answers non-zero: with the
  // harness's zero answers it runs until the host's interrupt budget abandons it.
  'poll': `(module
    (import "env" "ready" (func $ready (param i32) (result i32)))
    (memory (export "memory") 1)
    (global $polls (export "polls") (mut i32) (i32.const 0))
    (func (export "wait") (result i32)
      (local $n i32)
      (block $done
        (loop $again
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (global.set $polls (local.get $n))
          (br_if $done (call $ready (local.get $n)))
          (br $again)))
      (local.get $n))
    (func (export "ten") (result i32)
      (local $i i32) (local $sum i32)
      (loop $again
        (local.set $sum (i32.add (local.get $sum) (call $ready (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $i) (i32.const 10))))
      (local.get $sum)))`,

  // Recursion with a pause at the bottom, and a pause in every frame on the way back up.
  'recursion': `(module
    (import "env" "leaf" (func $leaf (result i32)))
    (import "env" "visit" (func $visit (param i32)))
    (memory (export "memory") 1)
    (func $rec (param $n i32) (result i32)
      (if (result i32) (i32.eqz (local.get $n))
        (then (call $leaf))
        (else (i32.add (local.get $n) (call $rec (i32.sub (local.get $n) (i32.const 1)))))))
    (func $walk (param $n i32)
      (if (i32.gt_u (local.get $n) (i32.const 0))
        (then (call $walk (i32.sub (local.get $n) (i32.const 1))) (call $visit (local.get $n)))))
    (func (export "deep") (result i32) (call $rec (i32.const 300)))
    (func (export "rec") (param i32) (result i32) (call $rec (i32.and (local.get 0) (i32.const 1023))))
    (func (export "walk") (call $walk (i32.const 20)))
    (func $forever (export "forever") (param i32) (result i32) (i32.add (i32.const 1) (call $forever (local.get 0)))))`,

  // call_indirect through a table holding an import, a local function and an empty slot.
  'table': `(module
    (import "env" "host" (func $host (param i32) (result i32)))
    (type $unary (func (param i32) (result i32)))
    (type $nullary (func (result i32)))
    (memory (export "memory") 1)
    (table 4 funcref)
    (elem (i32.const 0) $host $double $three)
    (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func $three (result i32) (i32.const 3))
    (func (export "dispatch") (param $slot i32) (param $x i32) (result i32)
      (call_indirect (type $unary) (local.get $x) (local.get $slot)))
    (func (export "both") (result i32)
      (i32.add (call_indirect (type $unary) (i32.const 5) (i32.const 0))
               (call_indirect (type $unary) (i32.const 5) (i32.const 1))))
    (func (export "empty") (result i32) (call_indirect (type $unary) (i32.const 1) (i32.const 3)))
    (func (export "past") (result i32) (call_indirect (type $unary) (i32.const 1) (i32.const 9)))
    (func (export "mismatch") (result i32) (call_indirect (type $unary) (i32.const 1) (i32.const 2))))`,

  // Memory: data segments, loads and stores around a pause, growth by the guest.
  'memory': `(module
    (import "env" "sync" (func $sync (param i32 i32) (result i32)))
    (memory (export "memory") 1 4)
    (data (i32.const 16) "hostile\\00input")
    (func (export "checksum") (result i32)
      (local $i i32) (local $sum i32)
      (loop $again
        (local.set $sum (i32.add (local.get $sum) (i32.load8_u offset=16 (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $i) (i32.const 13))))
      (i32.store (i32.const 64) (local.get $sum))
      (i32.add (local.get $sum) (call $sync (i32.const 64) (i32.const 4))))
    (func (export "grow") (result i32)
      (drop (memory.grow (i32.const 1)))
      (i32.store (i32.const 70000) (i32.const 42))
      (drop (call $sync (i32.const 70000) (memory.size)))
      (i32.add (memory.size) (i32.load (i32.const 70000))))
    (func (export "oob") (param i32) (result i32) (i32.load (i32.add (local.get 0) (i32.const 0xfffffff0))))
    (func (export "store_oob") (i32.store (i32.const 65534) (call $sync (i32.const 0) (i32.const 0)))))`,

  // Every MVP trap, some right after a pause.
  'traps': `(module
    (import "env" "get" (func $get (result i32)))
    (memory (export "memory") 1)
    (func (export "unreachable") (drop (call $get)) (unreachable))
    (func (export "div0") (result i32) (i32.div_s (i32.const 1) (call $get)))
    (func (export "rem0") (result i64) (i64.rem_u (i64.const 1) (i64.extend_i32_u (call $get))))
    (func (export "overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.sub (call $get) (i32.const 1))))
    (func (export "convert") (result i32) (i32.trunc_f64_u (f64.div (f64.convert_i32_s (call $get)) (f64.const 0))))
    (func (export "load") (result i32) (i32.load (i32.sub (call $get) (i32.const 4)))))`,

  // Globals of every type, exported mutable and immutable; a counter kept across calls.
  'globals': `(module
    (import "env" "tick" (func $tick (param i32) (result i32)))
    (memory (export "memory") 1)
    (global $count (export "count") (mut i32) (i32.const 0))
    (global (export "base") i32 (i32.const 1024))
    (global (export "wide") i64 (i64.const -1))
    (global (export "real") f64 (f64.const 0.5))
    (func (export "bump") (result i32)
      (global.set $count (i32.add (global.get $count) (call $tick (global.get $count))))
      (global.get $count)))`,

  // Structured control flow with pauses inside block, if, br_table and select operands.
  'control': `(module
    (import "env" "pick" (func $pick (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "flow") (param $x i32) (result i32)
      (local $acc i32)
      (block $b3 (block $b2 (block $b1 (block $b0
        (br_table $b0 $b1 $b2 $b3 (call $pick (local.get $x))))
        (local.set $acc (i32.const 10)) (br $b3))
        (local.set $acc (call $pick (i32.const 20))) (br $b3))
        (local.set $acc (i32.const 30)))
      (if (result i32) (call $pick (local.get $acc))
        (then (select (call $pick (i32.const 1)) (local.get $acc) (call $pick (i32.const 2))))
        (else (i32.add (local.get $acc) (call $pick (i32.const 3)))))))`,

  // An imported memory with a maximum; the host may grow it while the guest is paused.
  'imported-memory': `(module
    (import "env" "memory" (memory 1 3))
    (import "env" "wait" (func $wait))
    (func (export "size_after_pause") (result i32) (call $wait) (memory.size))
    (func (export "touch") (result i32) (i32.store (i32.const 8) (i32.const 5)) (call $wait) (i32.load (i32.const 8))))`,

  // An exported import, and an export named like the transform's additions.
  'reexport': `(module
    (import "env" "direct" (func $direct (param i32) (result i32)))
    (memory (export "memory") 1)
    (export "direct" (func $direct))
    (func (export "asyncify_start_unwind") (result i32) (call $direct (i32.const 1))))`,

  // No memory at all: accepted only with requireMemory: false.
  'no-memory': `(module
    (import "env" "f" (func $f (result i32)))
    (func (export "g") (result i32) (i32.mul (call $f) (i32.const 3))))`,

  // A start function: always refused; its mutants may lose it.
  'start': `(module
    (memory (export "memory") 1)
    (global $g (mut i32) (i32.const 0))
    (func $init (global.set $g (i32.const 1)))
    (start $init)
    (func (export "get") (result i32) (global.get $g)))`,

  // Many locals of every type live across a pause: large Asyncify frames.
  'locals': `(module
    (import "env" "p" (func $p (param i64) (result i64)))
    (memory (export "memory") 1)
    (func $frame (param $d i32) (result i64)
      (local $a i64) (local $b i64) (local $c i64) (local $e i64) (local $f f64) (local $g f64) (local $h i32) (local $k i32)
      (local.set $a (i64.extend_i32_u (local.get $d)))
      (local.set $b (i64.add (local.get $a) (i64.const 1)))
      (local.set $c (i64.mul (local.get $b) (i64.const 3)))
      (local.set $e (i64.xor (local.get $c) (i64.const 0x5555)))
      (local.set $f (f64.convert_i64_s (local.get $e)))
      (local.set $g (f64.sqrt (local.get $f)))
      (local.set $h (i32.wrap_i64 (local.get $c)))
      (local.set $k (i32.add (local.get $h) (local.get $d)))
      (i64.add
        (if (result i64) (i32.lt_u (local.get $d) (i32.const 40))
          (then (call $frame (i32.add (local.get $d) (i32.const 1))))
          (else (call $p (local.get $e))))
        (i64.add (i64.add (local.get $a) (local.get $b)) (i64.add (local.get $c)
          (i64.add (i64.trunc_f64_s (local.get $g)) (i64.extend_i32_s (local.get $k)))))))
    (func (export "frames") (result i64) (call $frame (i32.const 0))))`,
};

/** Compiles every source of {@link SMALL_SOURCES}. */
export async function loadSmallCorpus(): Promise<SmallModule[]> {
  const modules: SmallModule[] = [];
  for (const [name, source] of Object.entries(SMALL_SOURCES)) {
    modules.push({ name, bytes: await wat(source) });
  }
  return modules;
}
