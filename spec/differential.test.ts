/**
 * Differential testing of the VM against plain V8 (see `fuzz/differential/`): random modules
 * from `wasm-opt -ttf` for a fixed set of seeds must behave identically on both sides, plus
 * hand-written modules for the corners `-ttf` does not reach, and checks that the harness itself
 * notices differences and classifies stack exhaustion separately.
 */
import {
  Generator,
  type ModuleReport,
  checkModule,
  compareRecords,
  describeVerdict,
  planCalls,
  readModuleShape,
  reproductionCommand,
  runPlain,
  runVm,
  stopMoveWorker,
} from '../fuzz/differential/index.js';
import { formatValue } from '../fuzz/differential/observation.js';
import { wat } from './support/wat.js';

/**
 * Seeds from 1..60 whose modules are quick to generate and together cover every generator
 * choice: each initial content, `--fuzz-passes` (with and without the i64 legalization that
 * brings `env` imports), a memory rewritten into an import, the 1-page unwind buffer, and one
 * module the VM refuses (seed 21, a start function).
 */
const SEEDS = [1, 2, 5, 6, 9, 12, 15, 17, 21, 22, 23, 25, 29, 31, 32, 34, 35, 39, 43, 44, 46, 47, 49, 52, 60];

/**
 * Seeds of the `'modern'` profile (`--features modern --start-functions`): bulk memory and
 * multi-value on every one; reference types on 6 (both backends), 7 and 10 (JSPI only:
 * references in frames that may pause, which Binaryen's Asyncify cannot save); a start function
 * (22, run through the state machine as plain V8 runs it at instantiation); and one module
 * refused for an instruction of typed function references that Binaryen's generator emitted
 * outside the features it was given (1).
 */
const MODERN_SEEDS = [1, 6, 7, 10, 11, 22, 26, 27];

/**
 * Seeds run with Asyncify's stack in the single memory (`asyncifyStack: 'single-memory'`): eight
 * of {@link SEEDS}, then three of
 * {@link MODERN_SEEDS} (bulk memory, whose addresses the memory shift moves). `npm run fuzz --
 * --asyncify-stack single-memory` runs as many as asked.
 */
const SINGLE_MEMORY_SEEDS = [1, 2, 5, 6, 9, 12, 15, 17, 6, 11, 22];

/**
 * Reports that are not a plain match, as readable lines; for generated modules (`generated`)
 * with the command that replays the seed.
 */
function problems(reports: readonly ModuleReport[], generated = false, options: Parameters<typeof reproductionCommand>[1] = {}): string[] {
  return reports.flatMap((r) => {
    if (r.status === 'unusable') return [`seed ${r.seed}: unusable: ${r.reason}`];
    if (r.status === 'compared' && r.verdict.type !== 'match') {
      const replay = generated ? ` [${reproductionCommand(r.seed, options)}]` : '';
      return [`seed ${r.seed}: ${describeVerdict(r.verdict)}${replay}`];
    }
    return [];
  });
}

describe('differential fuzzing against plain V8', () => {
  test('start functions (-ttf gives about one module in ten) run and pause as plain V8 runs them at instantiation', async () => {
    const generator = new Generator();
    const reports: ModuleReport[] = [];
    try {
      // 21: a start function that returns; 58: one that traps (the instance is then unusable on both sides).
      for (const seed of [21, 58]) reports.push(await checkModule((await generator.generate(seed)).bytes, seed, { startFunctions: true }));
    } finally {
      generator.dispose();
    }
    expect(problems(reports, true)).toEqual([]);
    expect(reports.map((r) => r.status === 'compared' && r.startFunction)).toEqual(['returned', 'trapped Unreachable']);
  });

  test(`${SEEDS.length} generated modules behave identically`, async () => {
    const generator = new Generator();
    const reports: ModuleReport[] = [];
    try {
      // Two generations in flight (each is a wasm-opt child process), checks one at a time.
      const modules = SEEDS.map(() => null as Promise<Awaited<ReturnType<Generator['generate']>>> | null);
      const start = (i: number): void => {
        if (i < SEEDS.length) modules[i] = generator.generate(SEEDS[i]!);
      };
      start(0);
      start(1);
      for (let i = 0; i < SEEDS.length; i++) {
        const module = await modules[i]!;
        start(i + 2);
        reports.push(await checkModule(module.bytes, module.seed));
      }
    } finally {
      generator.dispose();
    }
    expect(problems(reports, true)).toEqual([]);
    // Not vacuous: most modules are accepted, and they exercise many interrupts.
    const compared = reports.filter((r) => r.status === 'compared');
    expect(compared.length).toBeGreaterThanOrEqual(SEEDS.length * 0.75);
    expect(compared.reduce((sum, r) => sum + r.interrupts, 0)).toBeGreaterThan(1000);
    expect(compared.reduce((sum, r) => sum + r.callsCompared, 0)).toBeGreaterThan(300);
  });

  test(`${MODERN_SEEDS.length} generated modules with bulk memory, multi-value and reference types behave identically`, async () => {
    const generator = new Generator('modern');
    const reports: ModuleReport[] = [];
    try {
      for (const seed of MODERN_SEEDS) {
        const module = await generator.generate(seed);
        reports.push(await checkModule(module.bytes, seed, { features: 'modern', startFunctions: true }));
      }
    } finally {
      generator.dispose();
    }
    expect(problems(reports, true)).toEqual([]);
    const compared = reports.filter((r) => r.status === 'compared');
    // Not vacuous: both backends compared on most, JSPI alone where Asyncify cannot save references.
    expect(compared.filter((r) => r.backends === 'both').map((r) => r.seed)).toEqual([6, 11, 22, 26, 27]);
    expect(compared.filter((r) => r.backends === 'jspi').map((r) => r.seed)).toEqual([7, 10]);
    expect(compared.filter((r) => r.startFunction !== null).map((r) => [r.seed, r.startFunction])).toEqual([[22, 'returned']]);
    expect(compared.reduce((sum, r) => sum + r.interrupts, 0)).toBeGreaterThan(300);
    expect(reports.filter((r) => r.status === 'refused').map((r) => r.status === 'refused' && r.kind)).toEqual(['InvalidWasm (feature)']);
  });

  test(`with Asyncify's stack in the single memory: ${SINGLE_MEMORY_SEEDS.length} generated modules behave identically`, async () => {
    const reports: ModuleReport[] = [];
    for (const [profile, seeds] of [['default', SINGLE_MEMORY_SEEDS.slice(0, 8)], ['modern', SINGLE_MEMORY_SEEDS.slice(8)]] as const) {
      const generator = new Generator(profile);
      try {
        for (const seed of seeds) {
          const module = await generator.generate(seed);
          reports.push(await checkModule(module.bytes, seed, { asyncifyStack: 'single-memory', features: profile, startFunctions: profile === 'modern' }));
        }
      } finally {
        generator.dispose();
      }
    }
    expect(problems(reports, true)).toEqual([]);
    const compared = reports.flatMap((r) => (r.status === 'compared' && r.backends === 'both' ? [r] : []));
    expect(compared.length).toBeGreaterThanOrEqual(8);
    expect(compared.reduce((sum, r) => sum + r.interrupts, 0)).toBeGreaterThan(300);
  });

  test('paused calls moved at random interrupts (snapshot and restore, through a Worker, fork, journal replay) go on as plain V8', async () => {
    // The Worker move restores with the built package (dist/), as `npm test` builds it first.
    const generator = new Generator();
    const reports: ModuleReport[] = [];
    try {
      for (const seed of [1, 2, 5, 6]) reports.push(await checkModule((await generator.generate(seed)).bytes, seed, { moves: true }));
    } finally {
      generator.dispose();
      await stopMoveWorker();
    }
    expect(problems(reports, true, { moves: true })).toEqual([]);
    expect(reports.every((r) => r.status === 'compared' && r.verdict.type === 'match')).toBe(true);
    // Not vacuous: every kind of move happened, replays and forks on both backends.
    const total = (backend: 'asyncify' | 'jspi', kind: 'restore' | 'worker' | 'replay' | 'fork'): number =>
      reports.reduce((sum, r) => sum + (r.status === 'compared' ? (r.moves?.[backend]?.[kind] ?? 0) : 0), 0);
    for (const kind of ['restore', 'worker', 'replay', 'fork'] as const) expect(total('asyncify', kind)).toBeGreaterThan(0);
    for (const kind of ['replay', 'fork'] as const) expect(total('jspi', kind)).toBeGreaterThan(0);
    expect(total('jspi', 'restore') + total('jspi', 'worker')).toBe(0);
  });

  describe('hand-written modules for what -ttf does not generate', () => {
    const cases: Record<string, string> = {
      'exports that are imports (no wasm frame under the pause)': `(module
        (import "fuzzing-support" "log-i32" (func $log (param i32)))
        (import "fuzzing-support" "sleep" (func $sleep (param i32 i32) (result i32)))
        (import "fuzzing-support" "log-i64" (func $log64 (param i64)))
        (memory (export "memory") 1)
        (export "log" (func $log))
        (export "sleep" (func $sleep))
        (export "log64" (func $log64)))`,
      'an import called through call_indirect': `(module
        (import "fuzzing-support" "sleep" (func $sleep (param i32 i32) (result i32)))
        (type $t (func (param i32 i32) (result i32)))
        (table 2 funcref) (elem (i32.const 0) $sleep $add)
        (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
        (memory 1)
        (func (export "a") (param i32) (result i32)
          (call_indirect (type $t) (i32.const 5) (i32.const 7) (i32.and (local.get 0) (i32.const 1)))))`,
      'no memory at all': `(module
        (import "fuzzing-support" "log-i32" (func $log (param i32)))
        (func (export "a") (param i32) (result i32) (call $log (local.get 0)) (i32.mul (local.get 0) (i32.const 3))))`,
      'a memory of 0 pages that the guest grows': `(module
        (import "fuzzing-support" "log-i32" (func $log (param i32)))
        (memory 0 3)
        (func (export "g") (result i32) (call $log (memory.size)) (memory.grow (i32.const 1)))
        (func (export "s") (result i32)
          (i32.store (i32.const 100) (i32.const 7)) (call $log (i32.load (i32.const 100))) (memory.size)))`,
      'export names with NUL bytes and asyncify names': `(module
        (import "fuzzing-support" "log-i32" (func $log (param i32)))
        (memory (export "memory") 1)
        (func (export "f\\00a") (result i32) (call $log (i32.const 1)) (i32.const 1))
        (func (export "f\\00b") (result i32) (call $log (i32.const 2)) (i32.const 2))
        (func (export "asyncify_start_unwind") (result i32) (call $log (i32.const 3)) (i32.const 3))
        (func (export "asyncify_get_state") (result i32) (i32.const 4)))`,
      'exported globals of every type, changed around a pause': `(module
        (import "fuzzing-support" "log-i32" (func $log (param i32)))
        (memory (export "memory") 1)
        (global $g (export "g") (mut i32) (i32.const -5))
        (global $h (export "h") (mut i64) (i64.const -5))
        (global $k (export "k") f64 (f64.const 1.5))
        (func (export "inc") (result i32)
          (global.set $g (i32.add (global.get $g) (i32.const 1)))
          (call $log (global.get $g))
          (global.set $g (i32.add (global.get $g) (i32.const 1)))
          (global.get $g)))`,
      'NaN payloads in locals saved across a pause': `(module
        (import "fuzzing-support" "log-f32" (func $logf (param f32)))
        (import "fuzzing-support" "log-i32" (func $log (param i32)))
        (memory (export "memory") 1)
        (func (export "n") (result i32) (local $x f32) (local $y f64)
          (local.set $x (f32.reinterpret_i32 (i32.const 0x7fa00001)))
          (local.set $y (f64.reinterpret_i64 (i64.const 0xfff4000000000001)))
          (call $log (i32.const 0))
          (f32.store (i32.const 0) (local.get $x))
          (f64.store (i32.const 8) (local.get $y))
          (call $logf (local.get $x))
          (i32.reinterpret_f32 (local.get $x))))`,
    };
    for (const [name, source] of Object.entries(cases)) {
      test(name, async () => {
        const bytes = await wat(source);
        const reports = [];
        for (const seed of [1, 2, 3]) reports.push(await checkModule(bytes, seed));
        expect(problems(reports)).toEqual([]);
        expect(reports.every((r) => r.status === 'compared')).toBe(true);
      });
    }
  });

  test('a call that exhausts only the VM stack is a stack-depth difference, not a divergence', async () => {
    const bytes = await wat(`(module
      (import "fuzzing-support" "log-i32" (func $log (param i32)))
      (memory (export "memory") 1)
      (func $rec (param $n i32) (result i32)
        (if (result i32) (i32.eqz (local.get $n))
          (then (call $log (i32.const 0)) (i32.const 0))
          (else (i32.add (call $rec (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))))
      (func (export "shallow") (result i32) (call $rec (i32.const 10)))
      (func (export "deep") (result i32) (call $rec (i32.const 3000))))`);
    // A 64 KiB unwind buffer cannot hold 3000 paused frames, while plain V8 runs them easily.
    const report = await checkModule(bytes, 1, { unwindBufferPages: 1 });
    expect(report.status).toBe('compared');
    if (report.status !== 'compared') return;
    expect(report.verdict).toMatchObject({ type: 'stack-depth', exportName: 'deep' });
    // With the default buffer the same module matches.
    const roomy = await checkModule(bytes, 1, { unwindBufferPages: 64 });
    expect(roomy.status === 'compared' && roomy.verdict.type).toBe('match');
  });

  test('the harness notices when the two sides are not answered alike', async () => {
    // Sanity check of the harness: the same module, but only the plain side's host writes to
    // memory at interrupts. The comparison must report it.
    const bytes = await wat(`(module
      (import "fuzzing-support" "log-i32" (func $log (param i32)))
      (memory (export "memory") 1)
      (func (export "loop") (result i32) (local $i i32)
        (loop $again
          (call $log (i32.load (i32.and (i32.mul (local.get $i) (i32.const 4)) (i32.const 0xfff))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $again (i32.lt_u (local.get $i) (i32.const 200))))
        (local.get $i)))`);
    const shape = readModuleShape(bytes);
    const plan = planCalls(shape, 1);
    const plain = runPlain(bytes, shape, plan, { seed: 1, actions: true, exportCount: 1 });
    const vm = await runVm(bytes, shape, plan, { seed: 1, actions: false, exportCount: 1 });
    if (plain.type !== 'ran' || vm.type !== 'ran') throw new Error('both sides should run');
    expect(compareRecords(plain.record, vm.record).verdict.type).toBe('divergence');
    expect(compareRecords(plain.record, plain.record).verdict.type).toBe('match');
  });

  test('floats are compared by bit pattern, NaNs only as NaN', () => {
    expect(formatValue('f64', 0)).not.toBe(formatValue('f64', -0));
    expect(formatValue('f32', Math.fround(0.1))).toBe('f32:0x3dcccccd');
    const quiet = new Float64Array(new BigUint64Array([0x7ff8000000000000n]).buffer)[0];
    const payload = new Float64Array(new BigUint64Array([0xfff4000000000001n]).buffer)[0];
    expect(formatValue('f64', payload)).toBe(formatValue('f64', quiet));
    expect(formatValue('i64', -1n)).toBe('i64:-1');
  });
});
