/**
 * The opt-in post-MVP features (`VmConfig.features`): the `'modern'` preset and features named
 * one by one accept exactly their proposals, run them with their exact semantics on both
 * backends (the proposals' spec suites in `spec/proposals.test.ts` prove the rest), pause
 * inside the constructs they add, and still refuse everything else. The default preset's
 * refusals are in `spec/create.test.ts`, unchanged.
 */
import { type Backend, NewError, StartError, UsageError, type VirtualMachinePrototype, type VmConfig, WasmValue } from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { runThrough } from './support/drive.js';
import { wat } from './support/wat.js';

const MEMORY = '(memory (export "memory") 1)';

/** One module per proposal, each exporting "f" (() -> i32), and the features that allow it. */
const PROPOSAL_MODULES: readonly (readonly [string, string, VmConfig['features']])[] = [
  [
    'bulk memory',
    `(module ${MEMORY} (data $d "xyz")
      (func (export "f") (result i32)
        (memory.fill (i32.const 0) (i32.const 1) (i32.const 4))
        (memory.copy (i32.const 8) (i32.const 0) (i32.const 4))
        (memory.init $d (i32.const 16) (i32.const 0) (i32.const 3))
        (i32.add (i32.load (i32.const 8)) (i32.load8_u (i32.const 18)))))`,
    ['default', 'bulk-memory'],
  ],
  [
    'multi-value',
    `(module ${MEMORY}
      (func $pair (result i32 i32) (i32.const 40) (i32.const 2))
      (func (export "f") (result i32)
        (call $pair)
        (block (param i32 i32) (result i32) (i32.add))))`,
    ['default', 'multi-value'],
  ],
  [
    'reference types',
    `(module ${MEMORY} (table $t 2 funcref) (table $u 1 externref)
      (func $seven (result i32) (i32.const 7))
      (elem declare func $seven)
      (func (export "f") (result i32)
        (table.set $t (i32.const 1) (ref.func $seven))
        (i32.add
          (call_indirect $t (result i32) (i32.const 1))
          (i32.add (ref.is_null (table.get $u (i32.const 0))) (table.size $t)))))`,
    ['default', 'bulk-memory', 'reference-types'],
  ],
];

/** What each "f" above returns. */
const RESULTS: Readonly<Record<string, number>> = {
  'bulk memory': 0x01010101 + 0x7a,
  'multi-value': 42,
  'reference types': 7 + 1 + 2,
};

/** Modules 'modern' still refuses, and the feature each is refused for. */
const STILL_REFUSED: readonly (readonly [string, string])[] = [
  ['SIMD', `(module ${MEMORY} (func (export "f") (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4))))`],
  ['threads', '(module (memory (export "memory") 1 1 shared))'],
  ['tail calls', `(module ${MEMORY} (func $g) (func (export "f") (return_call $g)))`],
  ['memory64', '(module (memory (export "memory") i64 1))'],
  ['exception handling', `(module ${MEMORY} (tag $e) (func (export "f") (throw $e)))`],
  ['extended constant expressions', `(module ${MEMORY} (global i32 (i32.add (i32.const 1) (i32.const 2))))`],
];

async function create(backend: Backend, source: string, config: Partial<VmConfig> = {}): Promise<VirtualMachinePrototype> {
  return createOn(backend, { moduleBytes: await wat(source), symbols: () => 0, ...config });
}

async function refusal(backend: Backend, source: string, config: Partial<VmConfig> = {}): Promise<NewError> {
  try {
    await create(backend, source, config);
  } catch (e) {
    if (e instanceof NewError) return e;
    throw e;
  }
  throw new Error('the module was accepted');
}

describe.each(BACKENDS)('%s', (backend) => {
  describe.each(PROPOSAL_MODULES)('%s', (name, source, features) => {
    test("refused by 'default', with the option that allows it named", async () => {
      const error = await refusal(backend, source);
      expect(error.kind).toBe('InvalidWasm');
      expect(error.message).toContain(`uses ${name}`);
      expect(error.message).toContain("outside the 'default' feature set (allow it with features: 'modern' or ['default', ");
    });

    test.each([['modern'], ['its features named one by one']])('accepted and run exactly with %s', async (how) => {
      const proto = await create(backend, source, { features: how === 'modern' ? 'modern' : features });
      const outcome = await runThrough(proto.prepare().start('f', []));
      expect(outcome).toEqual({ type: 'finished', value: WasmValue.i32(RESULTS[name]!) });
    });
  });

  test('features named one by one allow only themselves', async () => {
    const [, multiValue] = PROPOSAL_MODULES[1]!;
    const error = await refusal(backend, multiValue, { features: ['default', 'bulk-memory'] });
    expect(error.message).toMatch(/uses multi-value in function 0: a function type with several results|uses multi-value in the type section/);
    expect(error.message).toContain("outside the 'default+bulk-memory' feature set");
    expect(error.message).toContain("['default', 'bulk-memory', 'multi-value']");
  });

  test.each(STILL_REFUSED)("'modern' still refuses %s", async (feature, source) => {
    const error = await refusal(backend, source, { features: 'modern' });
    expect(error.kind).toBe('InvalidWasm');
    expect(error.message).toContain(`uses ${feature}`);
    expect(error.message).toContain("outside the 'modern' feature set");
    expect(error.message).not.toContain('allow it with');
  });

  describe('the boundary: what the host can call and provide', () => {
    test('an export with several results cannot be called: SignatureNotSupported', async () => {
      const proto = await create(backend, `(module ${MEMORY} (func (export "two") (result i32 i64) (i32.const 1) (i64.const 2)))`, {
        features: 'modern',
      });
      let error: unknown;
      try {
        proto.prepare().start('two', []);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(StartError);
      expect(error).toMatchObject({ kind: 'SignatureNotSupported', message: expect.stringMatching(/has 2 results \(i32, i64\)/) });
    });

    test('an export with a reference-typed parameter cannot be called: SignatureNotSupported', async () => {
      const proto = await create(backend, `(module ${MEMORY} (func (export "g") (param externref)))`, { features: 'modern' });
      expect(() => proto.prepare().start('g', [])).toThrow(expect.objectContaining({ kind: 'SignatureNotSupported' }));
    });

    test.each([
      ['several results', '(func (result i32 i32))', /has 2 results/],
      ['an externref parameter', '(func (param externref))', /uses the type externref/],
      ['a funcref result', '(func (result funcref))', /uses the type funcref/],
    ])('an import with %s cannot be provided: UnresolvedFunctionImport', async (_what, type, message) => {
      const error = await refusal(backend, `(module (import "env" "h" ${type}) ${MEMORY})`, { features: 'modern' });
      expect(error.kind).toBe('UnresolvedFunctionImport');
      expect(error.message).toMatch(message);
    });
  });

  describe('pauses inside the new constructs', () => {
    test('inside a multi-value block with parameters, and inside a function with several results', async () => {
      const proto = await create(
        backend,
        `(module (import "env" "ask" (func $ask (param i32) (result i32))) ${MEMORY}
          (func $pair (param i32) (result i32 i64)
            (call $ask (local.get 0))
            (i64.const 1000))
          (func (export "f") (param i32) (result i64) (local $x i64) (local $y i32)
            (call $pair (local.get 0))
            (block (param i32 i64) (result i64)
              ;; Pauses with the block's two parameters on the operand stack.
              (local.set $y (call $ask (i32.const 5)))
              (local.set $x)
              (drop)
              (i64.add (local.get $x) (i64.extend_i32_u (local.get $y))))))`,
        { features: 'modern', symbols: () => 9 },
      );
      const vm = proto.prepare().start('f', [WasmValue.i32(3)]);
      expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 9, params: [WasmValue.i32(3)] });
      expect(await vm.runAsync(WasmValue.i32(20))).toEqual({ type: 'interrupted', id: 9, params: [WasmValue.i32(5)] });
      // The pair's first result (20) is dropped by the block, which adds 1000 and the second answer.
      expect(await vm.runAsync(WasmValue.i32(300))).toEqual({ type: 'finished', value: WasmValue.i64(1300n) });
    });

    test('between bulk memory operations and table operations, with the memory never touched by the pause', async () => {
      const proto = await create(
        backend,
        `(module (import "env" "ask" (func $ask (result i32))) (memory (export "memory") 1 1)
          (table $t 4 funcref) (func $k (result i32) (i32.const 11)) (elem declare func $k)
          (func (export "f") (result i32)
            (memory.fill (i32.const 0) (i32.const 0xee) (i32.const 65536))
            (table.fill $t (i32.const 0) (ref.func $k) (i32.const 4))
            (memory.copy (i32.const 100) (i32.const 0) (call $ask))
            (i32.add (call_indirect $t (result i32) (i32.const 3)) (i32.load8_u (i32.const 65535)))))`,
        { features: 'modern' },
      );
      const vm = proto.prepare().start('f', []);
      expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
      // While paused, every byte is the guest's: the pause put nothing in its memory.
      expect(vm.readMemory(0, 65536).every((b) => b === 0xee)).toBe(true);
      expect(await vm.runAsync(WasmValue.i32(16))).toEqual({ type: 'finished', value: WasmValue.i32(11 + 0xee) });
    });
  });

  test('a reference held across a pause: JSPI keeps it; Asyncify refuses the module, saying why and what to do', async () => {
    const source = `(module (import "env" "ask" (func $ask (result i32))) ${MEMORY}
      (table $t 1 externref)
      (func (export "f") (result i32) (local $r externref)
        (local.set $r (table.get $t (i32.const 0)))
        (drop (call $ask))
        (table.set $t (i32.const 0) (local.get $r))
        (ref.is_null (table.get $t (i32.const 0)))))`;
    if (backend === 'asyncify') {
      const error = await refusal(backend, source, { features: 'modern' });
      expect(error.kind).toBe('InvalidWasm');
      expect(error.message).toMatch(/cannot save a reference in the frame of a function that may pause \(binaryen#3739\)/);
      expect(error.message).toContain("Use backend 'jspi'");
      return;
    }
    const proto = await create(backend, source, { features: 'modern' });
    const vm = proto.prepare().start('f', []);
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
    expect(await vm.runAsync(WasmValue.i32(0))).toEqual({ type: 'finished', value: WasmValue.i32(1) });
  });

  test('table.init of a segment that follows a declarative one targets that segment (Binaryen renumbers them)', async () => {
    // Binaryen 132 leaves declarative segments out of its numbering: without the rewrite in
    // transform/rename.ts, table.init $second would copy from $third on Asyncify.
    const proto = await create(
      backend,
      `(module ${MEMORY} (table $t 1 funcref)
        (elem $declared declare func $one)
        (elem $second func $two)
        (elem $third func $three)
        (func $one (result i32) (i32.const 1)) (func $two (result i32) (i32.const 2)) (func $three (result i32) (i32.const 3))
        (func (export "f") (result i32)
          (table.init $t $second (i32.const 0) (i32.const 0) (i32.const 1))
          (drop (ref.func $one))
          (call_indirect $t (result i32) (i32.const 0)))
        (func (export "declared") (table.init $t $declared (i32.const 0) (i32.const 0) (i32.const 1))))`,
      { features: 'modern' },
    );
    const vm = proto.prepare().start('f', []);
    expect(await vm.runAsync(null)).toEqual({ type: 'finished', value: WasmValue.i32(2) });
    // A declarative segment is dropped at instantiation: copying from it traps.
    const again = vm.intoPrepare().start('declared', []);
    expect(await again.runAsync(null)).toMatchObject({ type: 'trapped', trap: { kind: 'UndefinedElement' } });
  });
});

describe('the features option', () => {
  test.each([['simd'], [['default', 'simd']], [42], ['Modern']])('%j is refused with UsageError InvalidArgument', async (features) => {
    const config = { moduleBytes: await wat('(module)'), symbols: () => 0, features } as unknown as VmConfig;
    await expect(createOn('asyncify', config)).rejects.toThrow(UsageError);
    await expect(createOn('asyncify', config)).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });

  test('an empty list is the MVP', async () => {
    const source = `(module ${MEMORY} (func (export "f") (result i32) (i32.extend8_s (i32.const 255))))`;
    const error = await refusal('asyncify', source, { features: [] });
    expect(error.message).toContain("outside the 'mvp' feature set");
  });
});
