/**
 * The memory shift (`memoryBase`, `lib/transform/memory-shift.ts`): a guest rewritten with its
 * memory K pages up must not be able to tell. Every test runs the same calls on a plain instance
 * and a shifted one and compares, after each call, the result (bits) or the trap, `memory.size`
 * and every byte of the guest's memory; the reserved pages must stay untouched (all zero).
 *
 * The calls come from a seeded random stream over edge values: addresses and static offsets at
 * the memory's end, at the end of the 32-bit space and where `address + K * 64 KiB` wraps; every
 * load and store, `memory.size`, `memory.grow` (within and past the maximum), `memory.fill`,
 * `memory.copy`, `memory.init`. Data segments are checked at instantiation, where a segment
 * that does not fit must still fail.
 */
import { RewriteError, rewriteCode } from '../lib/transform/code-rewrite.js';
import { Prng } from '../fuzz/differential/prng.js';
import { Guest, type Outcome } from './support/rewrite-harness.js';
import { wat } from './support/wat.js';

/** Loads: opcode name, how the loaded value becomes an i64 result. */
const LOADS: readonly (readonly [string, string])[] = [
  ['i32.load', 'i64.extend_i32_u'],
  ['i64.load', ''],
  ['f32.load', 'i32.reinterpret_f32 i64.extend_i32_u'],
  ['f64.load', 'i64.reinterpret_f64'],
  ['i32.load8_s', 'i64.extend_i32_s'],
  ['i32.load8_u', 'i64.extend_i32_u'],
  ['i32.load16_s', 'i64.extend_i32_s'],
  ['i32.load16_u', 'i64.extend_i32_u'],
  ['i64.load8_s', ''],
  ['i64.load8_u', ''],
  ['i64.load16_s', ''],
  ['i64.load16_u', ''],
  ['i64.load32_s', ''],
  ['i64.load32_u', ''],
];
/** Stores: opcode name, how an i64 parameter becomes the stored value. */
const STORES: readonly (readonly [string, string])[] = [
  ['i32.store', 'i32.wrap_i64'],
  ['i64.store', ''],
  ['f32.store', 'i32.wrap_i64 f32.reinterpret_i32'],
  ['f64.store', 'f64.reinterpret_i64'],
  ['i32.store8', 'i32.wrap_i64'],
  ['i32.store16', 'i32.wrap_i64'],
  ['i64.store8', ''],
  ['i64.store16', ''],
  ['i64.store32', ''],
];
/** Static offsets: small, at a page's end, and near the end of the 32-bit space (where `offset + K * 64 KiB` passes it). */
const OFFSETS = [0, 1, 3, 65535, 65536, 0x7fff_ffff, 0xfeff_ffff, 0xffef_ffff, 0xfffe_ffff, 0xffff_0000, 0xffff_fff0, 0xffff_ffff];
/** Addresses and lengths the calls draw from. */
const ADDRESSES = [0, 1, 7, 100, 65528, 65532, 65535, 65536, 65537, 131064, 131071, 131072, 196600, 262140, 0x7fff_ffff, 0xfeff_ffff, 0xffef_ffff, 0xfff0_0000, 0xfffe_ffff, 0xffff_0000, 0xffff_fff8, 0xffff_ffff];
const LENGTHS = [0, 1, 2, 3, 8, 16, 100, 65535, 65536, 131072, 0xffff_ffff];

function guestSource(memory: string): string {
  const functions: string[] = [];
  LOADS.forEach(([op, widen], i) => {
    OFFSETS.forEach((offset, k) => {
      functions.push(`(func (export "load_${i}_${k}") (param i32) (result i64) local.get 0 ${op} offset=${offset} ${widen})`);
    });
  });
  STORES.forEach(([op, narrow], i) => {
    OFFSETS.forEach((offset, k) => {
      functions.push(`(func (export "store_${i}_${k}") (param i32 i64) local.get 0 local.get 1 ${narrow} ${op} offset=${offset})`);
    });
  });
  return `(module
    ${memory}
    (data (i32.const 0) "abcdefgh")
    (data (i32.const 65530) "\\01\\02\\03\\04\\05\\06")
    (data "0123456789")
    ${functions.join('\n')}
    (func (export "size") (result i32) memory.size)
    (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
    (func (export "fill") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.fill)
    (func (export "copy") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy)
    (func (export "init") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.init 2)
    ;; memory.size and grow inside an expression, so that their result is used as a value
    (func (export "size_plus") (param i32) (result i32) memory.size local.get 0 i32.add)
    (func (export "grow_times") (param i32) (result i32) local.get 0 memory.grow i32.const 3 i32.mul)
  )`;
}

/** One random call, as a name and arguments. */
function randomCall(prng: Prng): [string, ...unknown[]] {
  const address = (): number => (prng.oneIn(4) ? prng.u32() : prng.pick(ADDRESSES)) | 0;
  const length = (): number => (prng.oneIn(5) ? prng.below(300) : prng.pick(LENGTHS)) | 0;
  switch (prng.below(12)) {
    case 0:
    case 1:
    case 2:
      return [`load_${prng.below(LOADS.length)}_${prng.below(OFFSETS.length)}`, address()];
    case 3:
    case 4:
    case 5:
      return [`store_${prng.below(STORES.length)}_${prng.below(OFFSETS.length)}`, address(), prng.i64()];
    case 6:
      return ['size'];
    case 7:
      return [prng.oneIn(2) ? 'grow' : 'grow_times', prng.pick([0, 0, 1, 1, 2, 3, -1, 65535, 0x8000_0000 | 0])];
    case 8:
      return ['fill', address(), prng.u32() | 0, length()];
    case 9:
      return ['copy', address(), address(), length()];
    case 10:
      return ['init', address(), prng.pick([0, 1, 5, 9, 10, 11, -1]), prng.pick([0, 1, 2, 5, 10, 11])];
    default:
      return ['size_plus', prng.u32() | 0];
  }
}

/** Runs `count` random calls on both instances, comparing after each; returns how many trapped. */
function compareRandomCalls(plain: Guest, shifted: Guest, seed: number, count: number): number {
  const prng = new Prng(seed);
  let traps = 0;
  for (let i = 0; i < count; i++) {
    const [name, ...args] = randomCall(prng);
    const expected: Outcome = plain.call(name, ...args);
    const actual: Outcome = shifted.call(name, ...args);
    if (expected.type === 'trapped') traps++;
    const where = `call ${i}: ${name}(${args.join(', ')})`;
    expect({ where, outcome: actual }).toEqual({ where, outcome: expected });
    expect({ where, pages: shifted.pages() }).toEqual({ where, pages: plain.pages() });
    // Buffer.compare is a memcmp: cheap enough after every call.
    if (Buffer.compare(shifted.guestBytes(), plain.guestBytes()) !== 0) throw new Error(`${where}: the guest's memory differs`);
  }
  return traps;
}

describe('memory shift: the guest cannot tell', () => {
  for (const pages of [1, 16]) {
    for (const imported of [false, true]) {
      const memory = imported ? '(import "env" "memory" (memory 1 4))' : '(memory (export "mem") 1 4)';
      test(`K = ${pages}, ${imported ? 'imported' : 'defined'} memory: loads, stores, size, grow and bulk operations, 4,000 random calls`, async () => {
        const bytes = await wat(guestSource(memory));
        const plain = new Guest(bytes);
        const shifted = new Guest(bytes, { rewrite: { memoryBase: pages } });
        expect(shifted.rewritten!.memory).toEqual({
          pages,
          bytes: pages * 65536,
          imported,
          guestLimits: { initial: 1, maximum: 4 },
          limits: { initial: 1 + pages, maximum: 4 + pages },
        });
        expect(Buffer.compare(shifted.guestBytes(), plain.guestBytes())).toBe(0);
        const traps = compareRandomCalls(plain, shifted, 1000 + pages + (imported ? 1 : 0), 4000);
        // The stream reaches both sides of every bound: many calls trap, many do not.
        expect(traps).toBeGreaterThan(400);
        expect(traps).toBeLessThan(3600);
        expect(plain.pages()).toBe(4); // grown to the maximum on the way
        expect(shifted.reservedBytes().every((b) => b === 0)).toBe(true);
      });
    }
  }

  test('K = 32768 (the reserved bytes, 2 GiB, do not fit in an i32.const as a positive number): the same calls agree', async () => {
    const bytes = await wat(guestSource('(memory (export "mem") 1 4)'));
    const plain = new Guest(bytes);
    let shifted: Guest;
    try {
      shifted = new Guest(bytes, { rewrite: { memoryBase: 32768 } });
    } catch (e) {
      // A 2 GiB memory may be refused by a constrained engine: say so rather than pass silently.
      throw new Error(`could not instantiate the shifted guest with 2 GiB reserved: ${String(e)}`);
    }
    compareRandomCalls(plain, shifted, 7, 1500);
    // Spot checks of the reserved pages (reading all 2 GiB would take long).
    const reserved = shifted.reservedBytes();
    for (const at of [0, 1, 65535, 0x7fff_0000, 0x7fff_ffff]) expect(reserved[at]).toBe(0);
  });

  test('the comparison can fail: a shifted guest seen without its shift is told apart', async () => {
    const bytes = await wat(guestSource('(memory (export "mem") 1 4)'));
    const seenWrongly = new Guest(bytes, { rewrite: { memoryBase: 1 } });
    (seenWrongly as { base: number }).base = 0;
    expect(() => compareRandomCalls(new Guest(bytes), seenWrongly, 3, 50)).toThrow();
  });
});

describe('memory shift: data segments', () => {
  /** Segments that fit and segments that do not, at the memory's end and at the end of the 32-bit space. */
  const SEGMENTS: readonly (readonly [offset: number, data: string])[] = [
    [65530, 'abcdef'],
    [65531, 'abcdef'],
    [65536, ''],
    [65537, ''],
    [65535, 'a'],
    [65536, 'a'],
    [0x7fff_ffff, 'a'],
    [0xffef_ffff, ''],
    [0xfff0_0000, ''],
    [0xffff_0000, 'ab'],
    [0xffff_ffff, ''],
    [0xffff_ffff, 'a'],
  ];
  for (const pages of [1, 16]) {
    test(`K = ${pages}: each segment is placed, or refused, as in the plain guest`, async () => {
      let refused = 0;
      for (const [offset, data] of SEGMENTS) {
        const bytes = await wat(`(module (memory (export "mem") 1) (data (i32.const ${offset | 0}) "${data}"))`);
        const outcome = (make: () => Guest): { ok: true; bytes: Uint8Array } | { ok: false; error: string } => {
          try {
            return { ok: true, bytes: make().guestBytes() };
          } catch (e) {
            // Newer engines add the offset and the memory size in real bytes, which the shift moves:
            // the guest cannot see this message; what matters is that both fail the same way.
            return { ok: false, error: `${(e as Error).constructor.name}: ${(e as Error).message.replace(/ \(offset .*\)$/, '')}` };
          }
        };
        const plain = outcome(() => new Guest(bytes));
        const shifted = outcome(() => new Guest(bytes, { rewrite: { memoryBase: pages } }));
        expect({ offset, data, shifted }).toEqual({ offset, data, shifted: plain });
        if (!plain.ok) refused++;
      }
      expect(refused).toBe(9);
    });
  }
});

describe('memory shift: limits', () => {
  test('the real memory has K more pages, its maximum capped at 65535 pages and set when the guest declares none', async () => {
    const cases: readonly (readonly [declaration: string, pages: number, initial: number, maximum: number])[] = [
      ['(memory 2 10)', 3, 5, 13],
      ['(memory 0)', 3, 3, 65535],
      ['(memory 1 65536)', 1, 2, 65535],
      ['(memory 1 65534)', 1, 2, 65535],
      ['(memory 1 65533)', 1, 2, 65534],
    ];
    for (const [declaration, pages, initial, maximum] of cases) {
      const rewritten = rewriteCode(await wat(`(module ${declaration})`), { memoryBase: pages });
      expect({ declaration, limits: rewritten.memory!.limits }).toEqual({ declaration, limits: { initial, maximum } });
      expect(WebAssembly.validate(rewritten.bytes as Uint8Array<ArrayBuffer>)).toBe(true);
    }
  });

  test('a guest whose initial memory does not fit below 65535 pages with the shift is refused', async () => {
    const bytes = await wat('(module (memory 65000))');
    expect(() => rewriteCode(bytes, { memoryBase: 535 })).not.toThrow();
    expect(() => rewriteCode(bytes, { memoryBase: 536 })).toThrow(RewriteError);
  });

  test('a data segment at a global is refused: the shift cannot move it', async () => {
    const bytes = await wat('(module (import "g" "base" (global i32)) (memory 1) (data (global.get 0) "x"))');
    expect(() => rewriteCode(bytes, { memoryBase: 1 })).toThrow(/not an i32.const/);
  });

  test('a module without memory is left as it is', async () => {
    const bytes = await wat('(module (func (export "f") (result i32) i32.const 1))');
    const rewritten = rewriteCode(bytes, { memoryBase: 4 });
    expect(rewritten.memory).toBeNull();
    expect(new Guest(bytes, { rewrite: { memoryBase: 4 } }).call('f')).toEqual({ type: 'returned', value: 'n:1' });
  });
});
