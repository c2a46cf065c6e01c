/**
 * The code rewrites on random modules (`wasm-opt -ttf`, the differential fuzzer's generator):
 * every module runs plain and rewritten (`support/rewrite-differential.ts`) with the same calls
 * against the same deterministic host, which reads, writes and grows the guest's memory at every
 * import call, and the records must be equal: each call's result or trap kind, each import call
 * with its arguments and the guest's memory size and digest at that moment, the memory after
 * each call.
 *
 * - memory shift (K = 1 and 16), the stack limit (1,000,000 units: the -ttf hang limit keeps
 *   recursion shallow), all of them together with fuel: equal records;
 * - fuel: equal records, and the same consumption whether the guest starts with plenty, or with
 *   nothing and gets 1 unit or a random amount at a time;
 * - NaN canonicalization: equal records too, results and logged floats comparing any NaN as
 *   `nan`. (A NaN's bits are the one thing it changes, so a module whose NaN bits reach integer
 *   code, through a reinterpretation or memory, could legitimately differ; none of these seeds'
 *   modules does, and a seed that did would have to be looked at.)
 */
import { Generator, type GeneratedModule, planCalls, readModuleShape } from '../fuzz/differential/index.js';
import { exposeMemory } from '../fuzz/differential/rewrite.js';
import { rewriteCode } from '../lib/transform/code-rewrite.js';
import { Prng } from '../fuzz/differential/prng.js';
import { type RewriteRecord, recordRun } from './support/rewrite-differential.js';

/**
 * Seeds of each generator profile: `'default'` (the VM's default features) and `'modern'` (bulk
 * memory, multi-value and, for half of the seeds, reference types).
 */
const PROFILES: readonly (readonly ['default' | 'modern', readonly number[], number])[] = [
  ['default', Array.from({ length: 20 }, (_, i) => i + 1), 15],
  ['modern', Array.from({ length: 10 }, (_, i) => i + 2), 6],
];

interface Prepared {
  readonly seed: number;
  readonly bytes: Uint8Array;
  readonly shape: ReturnType<typeof readModuleShape>;
  readonly plan: ReturnType<typeof planCalls>;
  readonly plain: RewriteRecord;
}

async function prepare(generator: Generator, seed: number): Promise<Prepared | string> {
  let generated: GeneratedModule;
  try {
    generated = await generator.generate(seed);
  } catch (e) {
    return `seed ${seed}: not generated: ${String(e)}`;
  }
  let bytes = generated.bytes;
  let shape = readModuleShape(bytes);
  if (shape.hasStart) return `seed ${seed}: a start function`;
  if (shape.memory !== null && !shape.memory.imported && !shape.exports.some((e) => e.kind === 'memory')) {
    bytes = exposeMemory(bytes, '__memory');
    shape = readModuleShape(bytes);
  }
  try {
    // Features outside what the VM allows (the generator sometimes emits typed function references).
    rewriteCode(bytes, {});
  } catch (e) {
    return `seed ${seed}: outside the rewriter's features: ${String(e)}`;
  }
  const plan = planCalls(shape, seed);
  try {
    return { seed, bytes, shape, plan, plain: recordRun(bytes, shape, plan, seed) };
  } catch (e) {
    return `seed ${seed}: plain run failed: ${String(e)}`;
  }
}

for (const [profile, seeds, atLeast] of PROFILES) describe(`code rewrites on random modules ('${profile}' features)`, () => {
  const generator = new Generator(profile);
  const modules: Prepared[] = [];
  const skipped: string[] = [];

  beforeAll(async () => {
    for (const seed of seeds) {
      const prepared = await prepare(generator, seed);
      if (typeof prepared === 'string') skipped.push(prepared);
      else modules.push(prepared);
    }
  });

  afterAll(() => generator.dispose());

  test('enough modules run plain to be compared', () => {
    console.info(`'${profile}': ${modules.length} modules compared; left out: ${skipped.join('; ') || 'none'}`);
    // Seeds whose module has a start function (about one in ten) are left out.
    expect(skipped.filter((s) => !s.includes('a start function') && !s.includes("outside the rewriter's features"))).toEqual([]);
    expect(modules.length).toBeGreaterThanOrEqual(atLeast);
    // The modules do call their imports (which the host answers and uses to act on the memory).
    expect(modules.filter((m) => m.plain.lines.some((l) => l.startsWith('  import'))).length).toBeGreaterThan(atLeast / 2);
  });

  const equalRecords: readonly (readonly [string, Parameters<typeof recordRun>[4]])[] = [
    ['memory shift, K = 1', { rewrite: { memoryBase: 1 } }],
    ['memory shift, K = 16', { rewrite: { memoryBase: 16 } }],
    ['stack limit', { rewrite: { maxStackHeight: 1_000_000 } }],
    ['fuel, plenty', { rewrite: { fuel: true } }],
    ['memory shift + fuel + stack limit', { rewrite: { memoryBase: 3, fuel: true, maxStackHeight: 1_000_000 } }],
  ];
  for (const [name, run] of equalRecords) {
    test(`${name}: the same record as plain`, () => {
      for (const m of modules) {
        const record = recordRun(m.bytes, m.shape, m.plan, m.seed, run);
        expect({ seed: m.seed, lines: record.lines }).toEqual({ seed: m.seed, lines: m.plain.lines });
      }
    });
  }

  test('fuel: the same record and consumption starting with nothing, refilled 1 unit or a random amount at a time', () => {
    let ranOut = 0;
    for (const m of modules) {
      const reference = recordRun(m.bytes, m.shape, m.plan, m.seed, { rewrite: { fuel: true }, fuel: 10n ** 15n });
      expect(reference.outOfFuel).toBe(0);
      const prng = new Prng(m.seed, 9);
      // One unit at a time is one import call per unit: only for modules that consume little.
      const small = reference.fuelConsumed < 100_000n;
      for (const refill of [small ? () => 1n : () => BigInt(1 + prng.below(1000)), () => BigInt(1 + prng.below(100))]) {
        const record = recordRun(m.bytes, m.shape, m.plan, m.seed, { rewrite: { fuel: true }, fuel: 0n, refill });
        expect({ seed: m.seed, lines: record.lines }).toEqual({ seed: m.seed, lines: m.plain.lines });
        expect({ seed: m.seed, consumed: record.fuelConsumed }).toEqual({ seed: m.seed, consumed: reference.fuelConsumed });
        if (record.outOfFuel > 0) ranOut++;
      }
    }
    expect(ranOut).toBeGreaterThan(modules.length);
  });

  test('NaN canonicalization: the same record as plain (any NaN compares as NaN)', () => {
    for (const m of modules) {
      const record = recordRun(m.bytes, m.shape, m.plan, m.seed, { rewrite: { canonicalizeNaNs: true } });
      expect({ seed: m.seed, lines: record.lines }).toEqual({ seed: m.seed, lines: m.plain.lines });
    }
  });
});
