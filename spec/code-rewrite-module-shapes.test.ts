/**
 * Module shapes the code rewriter must handle whatever the options: sections missing (no types,
 * no functions, no code, no exports, no globals), an imported start function, passive and
 * declarative segments, `ref.func` in a global's initializer and in element expressions,
 * multi-value blocks, custom sections. For every combination of the four rewrites the output
 * must be valid, keep the custom sections that do not point into the code and drop the ones
 * that do, and behave as the plain module.
 */
import { customSections } from '../lib/base/header-walks.js';
import { RewriteError, type CodeRewriteOptions, rewriteCode } from '../lib/transform/code-rewrite.js';
import { Guest } from './support/rewrite-harness.js';
import { wat } from './support/wat.js';

/** Every combination of the four rewrites. */
const COMBINATIONS: CodeRewriteOptions[] = [];
for (let mask = 0; mask < 16; mask++) {
  COMBINATIONS.push({
    ...((mask & 1) !== 0 ? { memoryBase: 2 } : {}),
    ...((mask & 2) !== 0 ? { canonicalizeNaNs: true } : {}),
    ...((mask & 4) !== 0 ? { fuel: true, initialFuel: 10n ** 12n } : {}),
    ...((mask & 8) !== 0 ? { maxStackHeight: 100_000 } : {}),
  });
}

const SHAPES: Readonly<Record<string, string>> = {
  empty: '(module)',
  'types only': '(module (type (func)) (type (func (param i32))))',
  'an import only': '(module (import "env" "f" (func)))',
  'memory only': '(module (memory (export "mem") 1))',
  'an imported start function': '(module (import "env" "start" (func $s)) (start $s) (memory (export "mem") 1))',
  'a defined start function': `(module (memory (export "mem") 1) (global $g (mut i32) (i32.const 0))
    (func $s i32.const 0 i32.const 42 i32.store global.get $g i32.const 1 i32.add global.set $g) (start $s)
    (func (export "read") (result i32) i32.const 0 i32.load))`,
  'passive and declarative segments, ref.func everywhere': `(module
    (type $t (func (result i32)))
    (table $tab 4 funcref)
    (memory (export "mem") 1)
    (global $gf funcref (ref.func $one))
    (func $one (result i32) i32.const 1)
    (func $two (result i32) i32.const 2)
    (elem $passive funcref (ref.func $two) (ref.null func))
    (elem declare func $one)
    (elem (i32.const 0) $one)
    (data $bytes "abcd")
    (func (export "run") (result i32)
      i32.const 1 i32.const 0 i32.const 1 table.init $tab $passive
      i32.const 2 global.get $gf table.set $tab
      i32.const 3 ref.func $two table.set $tab
      i32.const 8 i32.const 0 i32.const 4 memory.init $bytes
      i32.const 0 call_indirect (type $t)
      i32.const 1 call_indirect (type $t) i32.add
      i32.const 2 call_indirect (type $t) i32.add
      i32.const 3 call_indirect (type $t) i32.add
      i32.const 8 i32.load i32.add))`,
  'multi-value blocks and functions': `(module
    (type $pair (func (param i32 i32) (result i32 i32)))
    (func $swap (type $pair) local.get 1 local.get 0)
    (func (export "run") (param i32 i32) (result i32)
      local.get 0 local.get 1
      block (type $pair) call $swap end
      loop (type $pair) call $swap end
      i32.sub))`,
};

describe('module shapes', () => {
  for (const [name, source] of Object.entries(SHAPES)) {
    test(`${name}: valid and as plain for every combination of the rewrites`, async () => {
      const bytes = await wat(source);
      const imports = { env: { f: () => {}, start: () => {} } };
      const plain = new Guest(bytes, { imports });
      const exports = Object.keys(plain.exports).filter((e) => typeof plain.exports[e] === 'function');
      for (const options of COMBINATIONS) {
        const rewritten = rewriteCode(bytes, options);
        expect({ options, valid: WebAssembly.validate(rewritten.bytes as Uint8Array<ArrayBuffer>) }).toEqual({ options, valid: true });
        const guest = new Guest(bytes, { rewrite: options, imports, fuel: options.fuel === true ? 10n ** 12n : undefined });
        for (const e of exports) expect({ options, e, outcome: guest.call(e, 5, 9) }).toEqual({ options, e, outcome: plain.call(e, 5, 9) });
        expect(Buffer.compare(guest.guestBytes(), plain.guestBytes())).toBe(0);
      }
    });
  }

  test('custom sections: kept, except those pointing into the old code (debug information, code annotations)', async () => {
    const module = await wat('(module (func (export "run")))', { names: true });
    const custom = (name: string, payload: number[]): number[] => {
      const nameBytes = [...new TextEncoder().encode(name)];
      const content = [nameBytes.length, ...nameBytes, ...payload];
      return [0, content.length, ...content];
    };
    const bytes = Uint8Array.from([
      ...module,
      ...custom('producers', [0]),
      ...custom('.debug_line', [1, 2, 3]),
      ...custom('sourceMappingURL', [1, 0x61]),
      ...custom('external_debug_info', [1, 0x61]),
      ...custom('metadata.code.branch_hint', [0]),
    ]);
    for (const options of COMBINATIONS) {
      const names = customSections(rewriteCode(bytes, options).bytes).map((s) => s.name);
      expect(names).toEqual(['name', 'producers']);
      // `names: false` (the JSPI pipeline: backtraces read the guest's own names) drops the name section only.
      const dropped = rewriteCode(bytes, { ...options, names: false }).bytes;
      expect(customSections(dropped).map((s) => s.name)).toEqual(['producers']);
      expect(WebAssembly.validate(dropped as Uint8Array<ArrayBuffer>)).toBe(true);
    }
  });

  test('what the rewriter refuses is a RewriteError naming the cause', async () => {
    const shared = await wat('(module (memory 1 2 shared))');
    expect(() => rewriteCode(shared, { memoryBase: 1 })).toThrow(/shared or 64-bit/);
    const simd = await wat('(module (func (result v128) v128.const i64x2 0 0))');
    expect(() => rewriteCode(simd, {})).toThrow(RewriteError);
    expect(() => rewriteCode(simd, {})).toThrow(/unknown instruction 0xfd/);
    const empty = await wat('(module)');
    expect(() => rewriteCode(empty, { memoryBase: 65535 })).toThrow(RangeError);
    expect(() => rewriteCode(empty, { maxStackHeight: -1 })).toThrow(RangeError);
  });
});
