/**
 * A small but non-trivial guest for tests that need the Asyncify transform to take a while
 * (hundreds of milliseconds, not seconds): `functions` functions that each compute a little,
 * branch, and call the pausing import and the function before them, so every one of them is
 * instrumented.
 */
import { wat } from './wat.js';

export async function busyGuest(functions: number): Promise<Uint8Array> {
  const parts = ['(module', '(import "env" "ask" (func $ask (param i32) (result i32)))', '(memory (export "memory") 1)'];
  for (let i = 0; i < functions; i++) {
    const previous = i === 0 ? '(local.get $x)' : `(call $f${i - 1} (i32.add (local.get $x) (i32.const 1)))`;
    parts.push(`(func $f${i} (param $x i32) (result i32) (local $y i32)
      (local.set $y (i32.mul (local.get $x) (i32.const ${i + 3})))
      (if (i32.gt_u (local.get $y) (i32.const ${1000 + i}))
        (then (local.set $y (call $ask (local.get $y))))
        (else (local.set $y (i32.xor (local.get $y) (i32.const ${i})))))
      (i32.add (local.get $y) ${i % 7 === 0 ? '(i32.const 0)' : previous}))`);
  }
  parts.push(`(func (export "main") (param i32) (result i32) (call $f${functions - 1} (local.get 0))))`);
  return wat(parts.join('\n'));
}
