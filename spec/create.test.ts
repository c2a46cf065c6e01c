/**
 * VirtualMachinePrototype.create: every refusal is a NewError of the right kind whose message
 * names the offending import, export or feature; acceptable modules are accepted. On both
 * backends (the same checks, in the same order, with the same kinds and messages); then the
 * `backend` option itself.
 */
import { jest } from '@jest/globals';
import { type Backend, NewError, type NewErrorKind, UsageError, VirtualMachinePrototype, type VmConfig, WasmValue } from '../lib/index.js';
import { writeU32 } from '../lib/base/binary-reader.js';
import { BACKENDS, createOn, withoutJspi } from './support/backends.js';
import { wat } from './support/wat.js';

const MEMORY = '(memory (export "memory") 1)';

function utf8(text: string): number[] {
  return [...new TextEncoder().encode(text)];
}

/** create() on `backend`, with the refusal helpers built on it. */
function helpers(backend: Backend) {
  async function create(source: string | Uint8Array, config: Partial<VmConfig> = {}): Promise<VirtualMachinePrototype> {
    const moduleBytes = typeof source === 'string' ? await wat(source) : source;
    return createOn(backend, { moduleBytes, symbols: () => 0, ...config });
  }

  async function refusal(source: string | Uint8Array, config: Partial<VmConfig> = {}): Promise<NewError> {
    try {
      await create(source, config);
    } catch (e) {
      if (!(e instanceof NewError)) throw e;
      return e as NewError;
    }
    throw new Error('the module was accepted');
  }

  async function expectRefused(
    source: string | Uint8Array,
    kind: NewErrorKind,
    message: RegExp,
    config: Partial<VmConfig> = {},
  ): Promise<NewError> {
    const error = await refusal(source, config);
    expect(error.kind).toBe(kind);
    expect(error.message).toMatch(message);
    return error;
  }

  return { create, refusal, expectRefused };
}

describe.each(BACKENDS)('%s', (backend) => {
  const { create, refusal, expectRefused } = helpers(backend);

  describe('malformed input', () => {
    test('garbage bytes', async () => {
      await expectRefused(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 'InvalidWasm', /not a valid WebAssembly module/);
    });

    test('an empty array', async () => {
      await expectRefused(new Uint8Array(0), 'InvalidWasm', /not a valid WebAssembly module/);
    });

    test('a truncated module', async () => {
      const bytes = await wat(`(module ${MEMORY} (func (export "f") (result i32) (i32.const 42)))`);
      await expectRefused(bytes.subarray(0, bytes.length - 3), 'InvalidWasm', /not a valid WebAssembly module/);
    });

    test('the text format', async () => {
      const text = new TextEncoder().encode('(module (memory (export "memory") 1))');
      await expectRefused(text, 'InvalidWasm', /text format/);
    });

    test('a config without bytes or symbols is a usage error', async () => {
      const bad = createOn(backend, { moduleBytes: 'nope', symbols: () => 0 } as unknown as VmConfig);
      await expect(bad).rejects.toBeInstanceOf(UsageError);
      await expect(bad).rejects.toMatchObject({ kind: 'InvalidArgument', message: /moduleBytes/ });
      const noSymbols = createOn(backend, { moduleBytes: new Uint8Array() } as unknown as VmConfig);
      await expect(noSymbols).rejects.toMatchObject({ kind: 'InvalidArgument', message: /symbols/ });
    });
  });

  describe('module rules', () => {
    test('a start function', async () => {
      await expectRefused(`(module ${MEMORY} (func $s) (start $s))`, 'StartFunctionNotSupported', /start function/);
    });

    test('a table import names the import', async () => {
      await expectRefused(
        `(module (import "env" "tbl" (table 1 funcref)) ${MEMORY})`,
        'ImportTypeNotSupported',
        /table.*"env"\."tbl"/,
      );
    });

    test('a global import names the import', async () => {
      await expectRefused(`(module (import "env" "g" (global i32)) ${MEMORY})`, 'ImportTypeNotSupported', /global.*"env"\."g"/);
    });

    test('no memory', async () => {
      await expectRefused('(module (func (export "f")))', 'NoMemory', /no memory/);
      await expect(create('(module (func (export "f")))', { requireMemory: false })).resolves.toBeInstanceOf(
        VirtualMachinePrototype,
      );
    });

    test('a memory that is neither imported as env.memory nor exported as memory', async () => {
      await expectRefused('(module (memory (export "mem") 1))', 'NoMemory', /does not export it as "memory"/);
      await expect(create('(module (memory (export "mem") 1))', { requireMemory: false })).resolves.toBeInstanceOf(
        VirtualMachinePrototype,
      );
    });

    test('an imported memory not named env.memory', async () => {
      await expectRefused('(module (import "env" "mem" (memory 1)))', 'MemoryNotNamedMemory', /"env"\."mem"/);
      await expectRefused('(module (import "other" "memory" (memory 1)))', 'MemoryNotNamedMemory', /"other"\."memory"/);
    });

    test('an export named memory that is not a memory', async () => {
      await expectRefused('(module (func (export "memory")))', 'MemoryIsntMemory', /function named "memory"/);
      await expectRefused('(module (global (export "memory") i32 (i32.const 0)))', 'MemoryIsntMemory', /global/);
    });

    test('two memories', async () => {
      // wabt refuses to write two memories without multi-memory, so this one is spelled in binary:
      // an import of env.memory and a memory section defining a second one.
      const importAndDefine = Uint8Array.from([
        ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
        ...[0x02, 0x0f, 0x01, 0x03, ...utf8('env'), 0x06, ...utf8('memory'), 0x02, 0x00, 0x01],
        ...[0x05, 0x03, 0x01, 0x00, 0x01],
      ]);
      await expectRefused(importAndDefine, 'TwoMemories', /2 memories/);
      await expectRefused(
        '(module (import "env" "memory" (memory 1)) (export "memory" (memory 0)))',
        'TwoMemories',
        /both imports a memory and exports one/,
      );
    });

    test('an imported env.memory or an exported memory is accepted', async () => {
      await expect(create('(module (import "env" "memory" (memory 1)))')).resolves.toBeInstanceOf(VirtualMachinePrototype);
      await expect(create(`(module ${MEMORY})`)).resolves.toBeInstanceOf(VirtualMachinePrototype);
    });
  });

  describe('function imports', () => {
    const source = `(module (import "env" "get\\00x" (func (param i64) (result i32))) ${MEMORY})`;

    test('symbols receives the names and the signature, and its id is used', async () => {
      const calls: unknown[] = [];
      await create(source, {
        symbols: (...args) => {
          calls.push(args);
          return 3;
        },
      });
      expect(calls).toEqual([['env', 'get\0x', { params: ['i64'], result: 'i32' }]]);
    });

    test.each([
      ['null', () => null, /refused/],
      ['undefined', () => undefined, /refused/],
      ['a negative id', () => -1, /returned -1/],
      ['a fractional id', () => 1.5, /returned 1.5/],
      ['a string', () => '1' as unknown as number, /returned "1"/],
      [
        'a throw',
        () => {
          throw new Error('no such host function');
        },
        /threw: no such host function/,
      ],
    ])('symbols returning %s refuses the import', async (_what, symbols, message) => {
      const error = await expectRefused(source, 'UnresolvedFunctionImport', message, { symbols });
      expect(error.moduleName).toBe('env');
      expect(error.functionName).toBe('get\0x');
      expect(error.message).toContain('"env"."get\0x"');
    });

    test('f32/f64 in an import signature need floats', async () => {
      const floaty = `(module (import "env" "f" (func (param f32) (result f64))) ${MEMORY})`;
      await expectRefused(floaty, 'UnresolvedFunctionImport', /uses f32.*floats: true/);
      const symbols = jest.fn(() => 0);
      await create(floaty, { floats: true, symbols });
      expect(symbols).toHaveBeenCalledWith('env', 'f', { params: ['f32'], result: 'f64' });
    });
  });

  describe('post-MVP features outside the feature set', () => {
    const cases: [string, string, RegExp][] = [
      ['threads (shared memory)', '(module (memory (export "memory") 1 1 shared))', /threads in the memory section/],
      [
        'threads (atomics)',
        `(module ${MEMORY} (func (export "f") (result i32) (i32.atomic.load (i32.const 0))))`,
        /threads in function 0 \(exported as "f"\)/,
      ],
      ['reference types (externref)', `(module ${MEMORY} (func (export "f") (param externref)))`, /reference types/],
      [
        'reference types (table.size)',
        `(module ${MEMORY} (table 1 funcref) (func (export "f") (result i32) (table.size 0)))`,
        /reference types in function 0/,
      ],
      [
        'bulk memory (memory.copy)',
        `(module ${MEMORY} (func (export "f") (memory.copy (i32.const 0) (i32.const 0) (i32.const 0))))`,
        /bulk memory in function 0/,
      ],
      ['bulk memory (passive data)', `(module ${MEMORY} (data "abc"))`, /bulk memory/],
      ['multi-value', `(module ${MEMORY} (func (export "f") (result i32 i32) (i32.const 1) (i32.const 2)))`, /multi-value/],
      [
        'multi-value (an unused multi-result type)',
        `(module ${MEMORY} (type (func (result i32 i64))))`,
        /multi-value in the type section \(type 0 has 2 results\)/,
      ],
      [
        'multi-value (a block with a type index)',
        `(module ${MEMORY} (type $t (func (param i32) (result i32)))
          (func (export "f") (result i32) (i32.const 1) (block (type $t) (param i32) (result i32))))`,
        /multi-value in function 0/,
      ],
      ['memory64', '(module (memory (export "memory") i64 1))', /memory64/],
      ['tail calls', `(module ${MEMORY} (func $g) (func (export "f") (return_call $g)))`, /tail calls in function 1/],
      ['SIMD (a v128 parameter)', `(module ${MEMORY} (func (export "f") (param v128)))`, /SIMD in the type section/],
      [
        'SIMD (an instruction)',
        `(module ${MEMORY} (func (export "f") (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4))))`,
        /SIMD in function 0/,
      ],
    ];

    test.each(cases)('%s', async (_name, source, where) => {
      const error = await expectRefused(source, 'InvalidWasm', where);
      expect(error.message).toMatch(/outside the 'default' feature set/);
    });

    const postMvp: [string, string, RegExp][] = [
      [
        'sign-extension operators',
        `(module ${MEMORY} (func (export "f") (result i32) (i32.extend8_s (i32.const 255))))`,
        /sign-extension operators in function 0/,
      ],
      [
        'non-trapping float-to-int conversions',
        `(module ${MEMORY} (func (export "f") (result i32) (i32.trunc_sat_f32_s (f32.const 1.5))))`,
        /non-trapping float-to-int conversions in function 0/,
      ],
      [
        'exported mutable globals',
        `(module ${MEMORY} (global (export "g") (mut i32) (i32.const 0)))`,
        /exported mutable globals in the export "g"/,
      ],
    ];

    test.each(postMvp)("%s: accepted by 'default', refused by 'mvp'", async (_name, source, where) => {
      await expect(create(source)).resolves.toBeInstanceOf(VirtualMachinePrototype);
      const error = await expectRefused(source, 'InvalidWasm', where, { features: 'mvp' });
      expect(error.message).toMatch(/outside the 'mvp' feature set/);
    });
  });

  describe('instantiation', () => {
    test('a data segment past the end of memory', async () => {
      await expectRefused(`(module ${MEMORY} (data (i32.const 65535) "ab"))`, 'Instantiation', /instantiation failed/);
    });

    test('an engine that cannot allocate the memory', async () => {
      const source = '(module (import "env" "memory" (memory 2)))';
      const bytes = await wat(source);
      const spy = jest.spyOn(WebAssembly, 'Memory').mockImplementation(() => {
        throw new RangeError('WebAssembly.Memory(): could not allocate memory');
      });
      try {
        await expectRefused(bytes, 'CouldntAllocateMemory', /could not allocate the guest's memory of 2 pages/);
      } finally {
        spy.mockRestore();
      }
    });
  });

  test('the caller may reuse its byte array while create() is running', async () => {
    const bytes = await wat(`(module ${MEMORY} (func (export "f") (result i32) (i32.const 42)))`);
    const pending = createOn(backend, { moduleBytes: bytes, symbols: () => 0 });
    bytes.fill(0);
    const proto = await pending;
    const outcome = await proto.prepare().start('f', []).runAsync(null);
    expect(outcome).toEqual({ type: 'finished', value: { type: 'i32', value: 42 } });
  });

  describe('regressions found by the spec suite', () => {
    test('an imported table and a defined one are two tables (reference types), not an import refusal', async () => {
      await expectRefused(
        `(module (import "env" "t" (table 1 funcref)) (table 1 funcref) ${MEMORY})`,
        'InvalidWasm',
        /reference types in the table section \(more than one table\)/,
      );
    });

    test('a memory offset encoded in 6 LEB128 bytes (accepted by engines with memory64) is malformed here', async () => {
      // (func (drop (i32.load offset=2 (i32.const 0)))) with the offset written as 82 80 80 80 80 00.
      const bytes = Uint8Array.from([
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x05,
        0x03, 0x01, 0x00, 0x01, 0x07, 0x0a, 0x01, 0x06, ...utf8('memory'), 0x02, 0x00, 0x0a, 0x0f, 0x01, 0x0d, 0x00, 0x41, 0x00,
        0x28, 0x02, 0x82, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1a, 0x0b,
      ]);
      expect(WebAssembly.validate(bytes)).toBe(true);
      const error = await refusal(bytes);
      expect(error.kind).toBe('InvalidWasm');
      expect(error.message).toMatch(/malformed for the 'default' feature set: LEB128 longer than 5 bytes/);
    });
  });
});

/**
 * A module whose function "g" nests `depth` blocks around a call of the import env.f. Written in
 * binary: wabt's own parser cannot read a thousand nested blocks.
 */
const nested = (depth: number): Uint8Array => {
  const body = [0x00, ...Array<number[]>(depth).fill([0x02, 0x40]).flat(), 0x10, 0x00, ...Array<number>(depth).fill(0x0b), 0x0b];
  const section = (id: number, payload: number[]): number[] => {
    const size: number[] = [];
    writeU32(size, payload.length);
    return [id, ...size, ...payload];
  };
  const bodySize: number[] = [];
  writeU32(bodySize, body.length);
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [0x01, 0x60, 0x00, 0x00]),
    ...section(2, [0x01, 0x03, ...utf8('env'), 0x01, ...utf8('f'), 0x00, 0x00]),
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x00, 0x01]),
    ...section(7, [0x02, 0x06, ...utf8('memory'), 0x02, 0x00, 0x01, ...utf8('g'), 0x00, 0x01]),
    ...section(10, [0x01, ...bodySize, ...body]),
  ]);
};

// The nesting bound exists for the Asyncify transform, whose time grows with the square of the
// nesting (MAX_NESTING in lib/load/load-module.ts).
test('on asyncify, a module nested deeper than the transform can afford is refused at once', async () => {
  const { create, expectRefused } = helpers('asyncify');
  await expectRefused(nested(1001), 'InvalidWasm', /nests blocks 1001 levels deep, more than the 1000 the VM accepts/);
  // "At once": refused by the scan, before the transform would start (bounded by work, not time).
  const phases: string[] = [];
  await expect(
    VirtualMachinePrototype.create({ moduleBytes: nested(1001), symbols: () => 0, onProgress: (e) => void phases.push(e.phase) }),
  ).rejects.toMatchObject({ kind: 'InvalidWasm' });
  expect(phases).not.toContain('transform');
  await expect(create(nested(1000))).resolves.toBeInstanceOf(VirtualMachinePrototype);
});

// JSPI has no transform: the engine's own validation is the only bound, and deep nesting runs.
test('on jspi, deep nesting is accepted and runs', async () => {
  const { create } = helpers('jspi');
  for (const depth of [1001, 20_000]) {
    const vm = (await create(nested(depth))).prepare().start('g', []);
    expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 0, params: [] });
    expect(await vm.runAsync(null)).toEqual({ type: 'finished', value: null });
  }
});

describe('the backend option', () => {
  const GUEST = `(module (import "env" "get" (func $get (result i32))) ${MEMORY}
    (func (export "main") (result i32) (i32.add (call $get) (i32.const 1))))`;

  async function config(extra: Partial<VmConfig> = {}): Promise<VmConfig> {
    return { moduleBytes: await wat(GUEST), symbols: () => 3, ...extra };
  }

  async function expectRuns(proto: VirtualMachinePrototype): Promise<void> {
    const vm = proto.prepare().start('main', []);
    expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 3, params: [] });
    expect(await vm.runAsync(WasmValue.i32(41))).toEqual({ type: 'finished', value: { type: 'i32', value: 42 } });
  }

  test('the default is asyncify', async () => {
    const proto = await VirtualMachinePrototype.create(await config());
    expect(proto.backend).toBe('asyncify');
    await expectRuns(proto);
  });

  test.each(BACKENDS)("'%s' is what prototype.backend reports", async (backend) => {
    const proto = await VirtualMachinePrototype.create(await config({ backend }));
    expect(proto.backend).toBe(backend);
    await expectRuns(proto);
  });

  test("'auto' picks jspi on this engine, which has JSPI", async () => {
    expect(typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending).toBe('function');
    expect(typeof (WebAssembly as unknown as { promising?: unknown }).promising).toBe('function');
    const proto = await VirtualMachinePrototype.create(await config({ backend: 'auto' }));
    expect(proto.backend).toBe('jspi');
    expect(proto.clone().backend).toBe('jspi');
    await expectRuns(proto);
  });

  test.each<[string, unknown]>([
    ['a capitalised name', 'JSPI'],
    ['another capitalised name', 'Asyncify'],
    ['an unknown name', 'wasm'],
    ['an empty string', ''],
    ['a number', 1],
    ['a boolean', true],
    ['an object', { backend: 'jspi' }],
    ['an array', ['jspi']],
  ])('%s is a usage error, before anything else', async (_what, backend) => {
    const symbols = jest.fn(() => 0);
    const onProgress = jest.fn();
    const pending = VirtualMachinePrototype.create({ ...(await config()), symbols, onProgress, backend } as unknown as VmConfig);
    await expect(pending).rejects.toBeInstanceOf(UsageError);
    await expect(pending).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: expect.stringMatching(/`backend` must be 'asyncify', 'jspi' or 'auto'/),
    });
    expect(symbols).not.toHaveBeenCalled();
    expect(onProgress).not.toHaveBeenCalled();
  });

  describe.each(['Suspending', 'promising'] as const)('on an engine without WebAssembly.%s', (missing) => {
    async function expectUnsupported(moduleBytes: Uint8Array): Promise<void> {
      const symbols = jest.fn(() => 0);
      const inlineImports = jest.fn(() => null);
      const onProgress = jest.fn();
      // The engine is not asked to validate or compile anything either.
      const validate = jest.spyOn(WebAssembly, 'validate');
      const compile = jest.spyOn(WebAssembly, 'compile');
      let error: unknown;
      try {
        error = await withoutJspi(missing, () =>
          VirtualMachinePrototype.create({ moduleBytes, symbols, inlineImports, onProgress, backend: 'jspi' }).then(
            () => null,
            (e: unknown) => e,
          ),
        );
        expect(validate).not.toHaveBeenCalled();
        expect(compile).not.toHaveBeenCalled();
      } finally {
        validate.mockRestore();
        compile.mockRestore();
      }
      expect(error).toBeInstanceOf(NewError);
      expect(error).toMatchObject({ kind: 'BackendUnsupported' });
      const message = (error as NewError).message;
      // What is missing, what needs it, and the way out.
      expect(message).toMatch(/no JavaScript Promise Integration \(WebAssembly\.Suspending and WebAssembly\.promising\), which backend 'jspi' needs/);
      expect(message).toMatch(/backend 'asyncify' \(or 'auto'\)/);
      // Refused before any other work: nothing was asked of the config's callbacks.
      expect(symbols).not.toHaveBeenCalled();
      expect(inlineImports).not.toHaveBeenCalled();
      expect(onProgress).not.toHaveBeenCalled();
    }

    test("'jspi' is NewError BackendUnsupported, naming what is missing", async () => {
      await expectUnsupported(await wat(GUEST));
    });

    test("'jspi' is refused before the module is even looked at", async () => {
      await expectUnsupported(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
      await expectUnsupported(new TextEncoder().encode('(module)'));
      await expectUnsupported(await wat('(module (import "env" "t" (table 1 funcref)))'));
    });

    test("'auto' picks asyncify", async () => {
      const proto = await withoutJspi(missing, async () => VirtualMachinePrototype.create(await config({ backend: 'auto' })));
      expect(proto.backend).toBe('asyncify');
      await expectRuns(proto);
    });
  });

  test('the engine is as it was after the tests that took JSPI away', () => {
    expect(typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending).toBe('function');
    expect(typeof (WebAssembly as unknown as { promising?: unknown }).promising).toBe('function');
  });
});
