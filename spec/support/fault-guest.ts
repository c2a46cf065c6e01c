/**
 * The guest of the guest-fault and API-misuse suites: one function per fault kind, reachable
 * before any pause, after a resume, deep in a resumed stack and after many interrupts.
 */
import { VirtualMachinePrototype, type VmConfig } from '../../lib/index.js';
import { wat } from './wat.js';

/**
 * `fault(kind, v)` executes fault number `kind` with operand `v`; with `v = 0` every kind but 17
 * faults, and 17 returns `v`. The operand comes from the host's answer in `deep` and `many`, so
 * the fault happens right after a resume.
 */
export const FAULT_GUEST = `(module
  (import "env" "get" (func $get (result i32)))
  (import "env" "tick" (func $tick (param i32)))
  (type $unary (func (param i32) (result i32)))
  (memory (export "memory") 1 2)
  (table 3 funcref)
  (elem (i32.const 0) $id $nullary)
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (func $id (param i32) (result i32) (local.get 0))
  (func $nullary (result i32) (i32.const 1))
  (func $forever (param i32) (result i32) (i32.add (i32.const 1) (call $forever (local.get 0))))
  (func $fault (param $kind i32) (param $v i32) (result i32)
    (block $k17 (block $k16 (block $k15 (block $k14 (block $k13 (block $k12 (block $k11 (block $k10 (block $k9
    (block $k8 (block $k7 (block $k6 (block $k5 (block $k4 (block $k3 (block $k2 (block $k1 (block $k0
      (br_table $k0 $k1 $k2 $k3 $k4 $k5 $k6 $k7 $k8 $k9 $k10 $k11 $k12 $k13 $k14 $k15 $k16 $k17 (local.get $kind)))
      (unreachable))
      (return (i32.load (i32.add (local.get $v) (i32.const 65536)))))
      (i32.store (i32.add (local.get $v) (i32.const 65535)) (i32.const 1)) (return (i32.const 0)))
      (return (i32.div_s (i32.const 1) (local.get $v))))
      (return (i32.div_u (i32.const 1) (local.get $v))))
      (return (i32.rem_s (i32.const 1) (local.get $v))))
      (return (i32.wrap_i64 (i64.rem_u (i64.const 1) (i64.extend_i32_u (local.get $v))))))
      (return (i32.wrap_i64 (i64.div_s (i64.const 1) (i64.extend_i32_s (local.get $v))))))
      (return (i32.div_s (i32.const 0x80000000) (i32.sub (local.get $v) (i32.const 1)))))
      (return (i32.wrap_i64 (i64.div_s (i64.const 0x8000000000000000) (i64.sub (i64.extend_i32_s (local.get $v)) (i64.const 1))))))
      (return (i32.trunc_f32_s (f32.div (f32.convert_i32_s (local.get $v)) (f32.const 0)))))
      (return (i32.trunc_f64_u (f64.add (f64.const 4294967296) (f64.convert_i32_s (local.get $v))))))
      (return (i32.wrap_i64 (i64.trunc_f64_s (f64.div (f64.const 1) (f64.convert_i32_s (local.get $v)))))))
      (return (call_indirect (type $unary) (i32.const 0) (i32.add (local.get $v) (i32.const 3)))))
      (return (call_indirect (type $unary) (i32.const 0) (i32.add (local.get $v) (i32.const 2)))))
      (return (call_indirect (type $unary) (i32.const 0) (i32.add (local.get $v) (i32.const 1)))))
      (return (call $forever (local.get $v))))
    (local.get $v))
  (func $count (global.set $calls (i32.add (global.get $calls) (i32.const 1))))
  (func (export "now") (param $kind i32) (param $v i32) (result i32)
    (call $count) (call $fault (local.get $kind) (local.get $v)))
  (func $deep (export "deep") (param $n i32) (param $kind i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $count) (call $fault (local.get $kind) (call $get)))
      (else (i32.add (local.get $n) (call $deep (i32.sub (local.get $n) (i32.const 1)) (local.get $kind))))))
  (func (export "many") (param $count i32) (param $kind i32) (result i32)
    (local $i i32)
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      (call $tick (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (call $count)
    (call $fault (local.get $kind) (call $get)))
  (func $climb (export "climb") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $get))
      (else (call $tick (local.get $n)) (i32.add (local.get $n) (call $climb (i32.sub (local.get $n) (i32.const 1)))))))
  (func (export "sum") (param $n i32) (result i32) (call $deep (local.get $n) (i32.const 17)))
  (func (export "calls_value") (result i32) (global.get $calls)))`;

export const GET = 0;
export const TICK = 1;

/** A prototype of {@link FAULT_GUEST}, with `get` and `tick` as pausing imports. */
export async function faultGuest(config: Partial<VmConfig> = {}): Promise<VirtualMachinePrototype> {
  return VirtualMachinePrototype.create({
    moduleBytes: await wat(FAULT_GUEST),
    symbols: (_module, name) => (name === 'get' ? GET : TICK),
    ...config,
  });
}
