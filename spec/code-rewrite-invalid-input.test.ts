/**
 * The code rewriter never makes an invalid module valid. The JSPI pipeline relies on it: with
 * fuel, the stack limit or canonical NaNs it validates only the guest's *skeleton*
 * (`transform/module-skeleton.ts`: every section but the code and custom ones) and then the
 * rewritten module, instead of compiling the guest's whole module a second time. So for every
 * module the engine refuses whose skeleton it accepts, the rewrite must throw or make a module
 * the engine refuses too.
 *
 * Checked on mutants (bit flips, random bytes, a code byte nudged by one, which moves an index
 * just past its range, inserted and deleted bytes, a truncated code section) of modules made to
 * sit at every edge the rewrite adds something next to: the last local before the scratch
 * locals, the last global before the counters, the last type before the added types, the last
 * function before the added ones, block types by index, `call_indirect`, `ref.func`, elements,
 * exports, a start function, data; and of random modules (`wasm-opt -ttf`). Then the same
 * through `create()` on JSPI with the three options: no module the engine refuses is accepted, and
 * none it accepts is refused as invalid. (Without the rewriter's index checks, the first finds
 * 22 and 36 mutants made valid, the last 3 invalid modules accepted.)
 */
import { Generator } from '../fuzz/differential/index.js';
import { splitSections } from '../lib/base/binary-reader.js';
import { NewError, VirtualMachinePrototype } from '../lib/index.js';
import { Prng } from '../fuzz/differential/prng.js';
import { type CodeRewriteOptions, rewriteCode } from '../lib/transform/code-rewrite.js';
import { RewriteError } from '../lib/transform/rewrite-error.js';
import { MAX_MODULE_BYTES, moduleSkeleton, skeletonValid } from '../lib/transform/module-skeleton.js';
import { wat } from './support/wat.js';

/** Modules with something at every edge the rewrite extends. */
const SOURCES: readonly string[] = [
  `(module
    (type $v (func))
    (type $ii (func (param i32) (result i32)))
    (type $ff (func (param f32 f32) (result f32)))
    (import "env" "f" (func $imp (param i32) (result i32)))
    (global $g0 (mut i32) (i32.const 0))
    (global $g1 (mut i64) (i64.const 7))
    (memory (export "memory") 1)
    (table 4 funcref)
    (elem (i32.const 0) $a $b)
    (func $a (type $ii) (local f32 f64)
      local.get 0 global.get 0 i32.add global.set 0
      global.get 1 i64.const 1 i64.add global.set 1
      local.get 1 local.get 1 f32.div local.set 1
      local.get 2 f64.sqrt local.set 2
      local.get 0 call $imp)
    (func $b (type $ff) (local i32)
      block (result f32) local.get 0 local.get 1 f32.add end
      local.get 2 i32.const 0 call_indirect (type $ii) drop)
    (func $c (export "c") (param i32) (result i32)
      (block $out (loop $l
        local.get 0 i32.eqz br_if $out
        local.get 0 i32.const 1 i32.sub local.set 0
        local.get 0 call $a drop
        br $l))
      local.get 0)
    (func $d (type $v) (local i64 i64) f32.const 1 f32.const 0 call $b drop)
    (start $d)
    (data (i32.const 8) "abc"))`,
  `(module
    (type $t0 (func (param i32) (result i32 i32)))
    (type $t1 (func (param i64 i64) (result i64)))
    (global $g (import "env" "g") i32)
    (global $h (mut f64) (f64.const 0))
    (table 2 funcref)
    (elem declare func $m)
    (func $m (export "m") (type $t0)
      local.get 0 (block (type $t0) (local.get 0) i32.add local.get 0))
    (func $n (export "n") (type $t1) (local f32)
      local.get 0 local.get 1 i64.add
      global.get $h f64.const 1 f64.div global.set $h
      ref.func $m drop
      local.get 2 f32.floor local.set 2)
    (func $o (param i32)
      local.get 0 (if (then i32.const 1 call $m drop drop) (else nop))
      (loop $l (br_table $l 0 (i32.const 1)))))`,
];

/** The option sets the VM asks for, alone and together. */
const OPTIONS: readonly CodeRewriteOptions[] = [
  { fuel: true, maxStackHeight: 1 << 20, canonicalizeNaNs: true },
  { fuel: true },
  { maxStackHeight: 1000 },
  { canonicalizeNaNs: true },
];

/** A mutant of `bytes`: one of the mutation kinds of the module documentation (`kind`, 0 to 5), chosen by `prng` unless given. */
function mutate(bytes: Uint8Array, codeStart: number, codeEnd: number, prng: Prng, kind = prng.below(6)): Uint8Array {
  const at = 8 + prng.below(bytes.length - 8);
  const inCode = codeStart + prng.below(Math.max(1, codeEnd - codeStart));
  const m = bytes.slice();
  switch (kind) {
    case 0:
      m[at]! ^= 1 << prng.below(8);
      return m;
    case 1:
      m[at] = prng.below(256);
      return m;
    case 2:
      m[inCode] = (m[inCode]! + (prng.below(2) === 0 ? 1 : 255)) & 0xff;
      return m;
    case 3:
      return Uint8Array.from([...bytes.subarray(0, at), prng.below(256), ...bytes.subarray(at)]);
    case 4:
      return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1)]);
    default:
      return bytes.slice(0, inCode);
  }
}

/** Where the code section's payload lies (or the whole module, if it has none). */
function codeSpan(bytes: Uint8Array): [number, number] {
  const code = splitSections(bytes).find((s) => s.id === 10);
  return code === undefined ? [8, bytes.length] : [code.payloadStart, code.end];
}

interface Tally {
  valid: number;
  skeletonRefused: number;
  rewriteRefused: number;
  outputRefused: number;
  madeValid: string[];
}

/** Mutates `bytes` `count` times and checks each mutant against every option set. */
function check(name: string, bytes: Uint8Array, count: number, seed: number, tally: Tally): void {
  const prng = new Prng(seed);
  const [codeStart, codeEnd] = codeSpan(bytes);
  for (let i = 0; i < count; i++) {
    const mutant = mutate(bytes, codeStart, codeEnd, prng);
    if (WebAssembly.validate(mutant as Uint8Array<ArrayBuffer>)) {
      tally.valid++;
      continue;
    }
    let skeleton: Uint8Array<ArrayBuffer>;
    try {
      skeleton = moduleSkeleton(mutant);
    } catch {
      tally.skeletonRefused++;
      continue;
    }
    if (!WebAssembly.validate(skeleton)) {
      tally.skeletonRefused++;
      continue;
    }
    for (const options of OPTIONS) {
      let output: Uint8Array;
      try {
        output = rewriteCode(mutant, options).bytes;
      } catch {
        tally.rewriteRefused++;
        continue;
      }
      if (WebAssembly.validate(output as Uint8Array<ArrayBuffer>)) {
        tally.madeValid.push(`${name} mutant ${i} with ${JSON.stringify(options)}: ${Buffer.from(mutant).toString('hex')}`);
      } else {
        tally.outputRefused++;
      }
    }
  }
}

describe('the code rewrite never makes an invalid module valid', () => {
  // Each index one past the guest's own, where the rewrite adds one of its own: the engine refuses
  // the guest's module, accepts its skeleton, and the rewrite must refuse it.
  test.each([
    ['a local (canonical NaNs add a scratch f32 local)', { canonicalizeNaNs: true }, '(func (param f32) (result f32) local.get 0 local.get 1 f32.add)'],
    ['a global (fuel adds its counter)', { fuel: true }, '(global (mut i64) (i64.const 0)) (func global.get 1 drop)'],
    ['a type in call_indirect (fuel adds a type)', { fuel: true }, '(type (func)) (table 1 funcref) (func i64.const 0 i32.const 0 call_indirect (type 1))'],
    ['a function in call (fuel adds $out_of_fuel)', { fuel: true }, '(type (func)) (func i64.const 1 call 1)'],
    ['a function in ref.func (fuel adds $out_of_fuel)', { fuel: true }, '(type (func)) (func ref.func 1 drop)'],
    ['a label (the stack limit wraps the body in a block)', { maxStackHeight: 1000 }, '(func (block br 2))'],
    ['a label in br_if', { maxStackHeight: 1000 }, '(func i32.const 0 br_if 1)'],
    ['a label in br_table', { maxStackHeight: 1000 }, '(func (block i32.const 0 br_table 0 1 2))'],
  ] as const)('%s', async (_, options, fields) => {
    const bytes = (await wat(`(module ${fields})`)) as Uint8Array<ArrayBuffer>;
    expect(WebAssembly.validate(bytes)).toBe(false);
    expect(WebAssembly.validate(moduleSkeleton(bytes))).toBe(true);
    expect(() => rewriteCode(bytes, options)).toThrow(RewriteError);
  });

  test('a type in a block type (fuel adds a type)', async () => {
    // (wabt refuses to write a block type past the types: the index is patched in the binary.)
    const valid = await wat('(module (type (func)) (type (func (param i64))) (func i64.const 0 (block (type 1) drop)))');
    const [start, end] = codeSpan(valid);
    const at = valid.subarray(start, end).indexOf(0x02) + start;
    expect(valid[at + 1]).toBe(1);
    const bytes = valid.slice();
    bytes[at + 1] = 2;
    expect(WebAssembly.validate(bytes)).toBe(false);
    expect(WebAssembly.validate(moduleSkeleton(bytes))).toBe(true);
    expect(() => rewriteCode(bytes, { fuel: true })).toThrow(RewriteError);
  });

  test('a module larger than engines compile is never judged by its skeleton (which would hide its size)', async () => {
    const small = await wat('(module (func))');
    expect(skeletonValid(small)).toBe(true);
    // Untouched zero pages: no memory is used.
    const huge = new Uint8Array(MAX_MODULE_BYTES + 1);
    huge.set(small);
    expect(skeletonValid(huge)).toBe(false);
  });

  test('bodies must fill the code section exactly', async () => {
    const bytes = await wat('(module (func nop))');
    const [start, end] = codeSpan(bytes);
    // One byte more in the section (its size is one byte here), after the last body.
    const longer = Uint8Array.from([...bytes.subarray(0, start - 1), bytes[start - 1]! + 1, ...bytes.subarray(start, end), 0x00, ...bytes.subarray(end)]);
    expect(WebAssembly.validate(longer)).toBe(false);
    expect(WebAssembly.validate(moduleSkeleton(longer))).toBe(true);
    expect(() => rewriteCode(longer, { fuel: true })).toThrow('bytes after its last body');
    // A body one byte longer than the section holds.
    const body = start + 1;
    const overlong = bytes.slice();
    overlong[body] = overlong[body]! + 1;
    expect(() => rewriteCode(overlong, { fuel: true })).toThrow('ends past the code section');
  });

  test('mutants of modules with something at every edge the rewrite extends', async () => {
    const tally: Tally = { valid: 0, skeletonRefused: 0, rewriteRefused: 0, outputRefused: 0, madeValid: [] };
    for (const [k, source] of SOURCES.entries()) {
      const bytes = await wat(source);
      expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(true);
      check(`source ${k}`, bytes, 6000, 1000 + k, tally);
    }
    console.info(`hand-made modules' mutants: ${JSON.stringify({ ...tally, madeValid: tally.madeValid.length })}`);
    expect(tally.madeValid.slice(0, 5)).toEqual([]);
    // Each way out was taken often: the check would have seen a rewrite making mutants valid.
    expect(tally.rewriteRefused).toBeGreaterThan(1000);
    expect(tally.outputRefused).toBeGreaterThan(1000);
  });

  test('mutants of random modules (wasm-opt -ttf)', async () => {
    const tally: Tally = { valid: 0, skeletonRefused: 0, rewriteRefused: 0, outputRefused: 0, madeValid: [] };
    let modules = 0;
    for (const profile of ['default', 'modern'] as const) {
      const generator = new Generator(profile);
      for (let seed = 1; seed <= 6; seed++) {
        const bytes = (await generator.generate(seed)).bytes;
        try {
          rewriteCode(bytes, OPTIONS[0]!);
        } catch {
          continue; // outside the rewriter's features
        }
        modules++;
        check(`${profile} seed ${seed}`, bytes, 500, seed, tally);
      }
    }
    console.info(`random modules' mutants (${modules} modules): ${JSON.stringify({ ...tally, madeValid: tally.madeValid.length })}`);
    expect(modules).toBeGreaterThanOrEqual(8);
    expect(tally.madeValid.slice(0, 5)).toEqual([]);
    expect(tally.outputRefused).toBeGreaterThan(500);
  });
});


describe('create() on JSPI with fuel, the stack limit and canonical NaNs accepts no module the engine refuses', () => {
  // The pipeline-level form of the property above: where the guest's whole module is no longer
  // compiled, an invalid one must still be refused, as InvalidWasm.
  test('mutants of a module with something at every edge the rewrite extends', async () => {
    // Without its start function: a module with one is validated whole (the renaming that takes
    // the start section out would hide a malformed one), which would leave the skeleton untested.
    const bytes = await wat(SOURCES[0]!.replace('(start $d)', ''));
    const [codeStart, codeEnd] = codeSpan(bytes);
    const prng = new Prng(77);
    const tally = { accepted: 0, refusedInvalid: 0, refusedOtherwise: 0, invalidAccepted: [] as string[], validRefusedAsInvalid: [] as string[] };
    // Every code byte nudged by one either way (the mutation that moves an index just past its
    // range, wherever an index is), then random mutants.
    const nudged = Array.from({ length: 2 * (codeEnd - codeStart) }, (_, k) => {
      const m = bytes.slice();
      const at = codeStart + (k >> 1);
      m[at] = (m[at]! + (k % 2 === 0 ? 1 : 255)) & 0xff;
      return m;
    });
    const mutants = [...nudged, ...Array.from({ length: 1000 }, () => mutate(bytes, codeStart, codeEnd, prng))];
    for (const [i, mutant] of mutants.entries()) {
      const valid = WebAssembly.validate(mutant as Uint8Array<ArrayBuffer>);
      const created = await VirtualMachinePrototype.create({
        moduleBytes: mutant,
        symbols: () => 0,
        backend: 'jspi',
        fuel: true,
        maxStackHeight: 100_000,
        canonicalizeNaNs: true,
      }).catch((e: unknown) => e);
      if (created instanceof VirtualMachinePrototype) {
        tally.accepted++;
        if (!valid) tally.invalidAccepted.push(`mutant ${i}: ${Buffer.from(mutant).toString('hex')}`);
      } else if (created instanceof NewError && created.kind === 'InvalidWasm') {
        tally.refusedInvalid++;
        if (valid && /^not a valid WebAssembly module/.test(created.message)) tally.validRefusedAsInvalid.push(`mutant ${i}: ${created.message}`);
      } else {
        expect(created).toBeInstanceOf(NewError);
        tally.refusedOtherwise++;
      }
    }
    console.info(`create() on mutants: ${JSON.stringify({ ...tally, invalidAccepted: tally.invalidAccepted.length, validRefusedAsInvalid: tally.validRefusedAsInvalid.length })}`);
    expect(tally.invalidAccepted.slice(0, 5)).toEqual([]);
    expect(tally.validRefusedAsInvalid.slice(0, 5)).toEqual([]);
    expect(tally.accepted).toBeGreaterThan(50);
    expect(tally.refusedInvalid).toBeGreaterThan(500);
  });
});
