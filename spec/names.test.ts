/**
 * Names: exports and imports may be any UTF-8 (NUL and non-ASCII included) and are matched
 * exactly; the names the transform adds to the module are invisible to start() and globalValue().
 *
 * On both backends. The JSPI backend hands the engine the guest's own names when they can serve
 * and renames the module as Asyncify does when they cannot (`needsRenaming` in
 * `lib/load/load-module.ts`): each guest here also runs in variants that force the renaming (an
 * import of the same name twice, a memory that is not exported), and the last test checks which
 * path each kind of module takes.
 */
import { GlobalValueError, StartError, type VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { resolveConfig } from '../lib/base/config.js';
import { ProgressReporter } from '../lib/base/progress.js';
import { loadJspi } from '../lib/backends/jspi/load.js';
import { BACKENDS, createOn } from './support/backends.js';
import { wat } from './support/wat.js';

const IMPORT = '(import "env\\00" "f\\00\\c3\\a9" (func $imported (result i32)))';
const MEMORY = '(memory (export "memory") 1)';

// wabt reads string literals as bytes: \\c3\\a9 is "é", \\00 is NUL.
const GUEST = `(module
  ${IMPORT}
  ${MEMORY}
  (func (export "a\\00b") (result i32) (i32.const 1))
  (func (export "a\\00c") (result i32) (i32.const 2))
  (func (export "a") (result i32) (i32.const 3))
  (func (export "h\\c3\\a9llo w\\c3\\b6rld \\e2\\9c\\93") (result i32) (i32.const 4))
  (func (export "") (result i32) (i32.const 5))
  (func (export "asyncify_start_unwind") (result i32) (i32.const 6))
  (func (export "calls_import") (result i32) (call $imported))
  (global (export "g\\00") i32 (i32.const 7))
  (global (export "g") i32 (i32.const 8)))`;

/** The guest, and variants of it that make the JSPI backend rename the module. */
const VARIANTS = [
  { variant: 'as written', source: GUEST, requireMemory: true, importsTwice: false },
  {
    variant: 'importing the same name twice',
    source: GUEST.replace(IMPORT, `${IMPORT} (import "env\\00" "f\\00\\c3\\a9" (func $again (result i32)))`).replace(
      /\)$/,
      ' (func (export "calls_again") (result i32) (call $again)))',
    ),
    requireMemory: true,
    importsTwice: true,
  },
  { variant: 'with its memory not exported', source: GUEST.replace(MEMORY, '(memory 1)'), requireMemory: false, importsTwice: false },
];

describe.each(BACKENDS)('%s', (backend) => {
  describe.each(VARIANTS)('the guest $variant', ({ source, requireMemory, importsTwice }) => {
    let proto: VirtualMachinePrototype;
    const symbolCalls: [string, string][] = [];
    beforeAll(async () => {
      proto = await createOn(backend, {
        moduleBytes: await wat(source),
        // 9 for the first import, 10 for the second one of the same name (if any).
        symbols: (module, name) => {
          symbolCalls.push([module, name]);
          return 8 + symbolCalls.length;
        },
        requireMemory,
      });
    });

    async function call(name: string): Promise<unknown> {
      const outcome = await proto.clone().prepare().start(name, []).runAsync(null);
      return outcome.type === 'finished' ? outcome.value?.value : outcome;
    }

    test('export names with NUL bytes are distinct and exact', async () => {
      expect(await call('a\0b')).toBe(1);
      expect(await call('a\0c')).toBe(2);
      expect(await call('a')).toBe(3);
      expect(proto.globalValue('g\0')).toBe(7);
      expect(proto.globalValue('g')).toBe(8);
    });

    test('non-ASCII and empty export names', async () => {
      expect(await call('héllo wörld ✓')).toBe(4);
      expect(await call('')).toBe(5);
    });

    test('import names reach symbols exactly', async () => {
      expect(symbolCalls).toEqual(importsTwice ? [['env\0', 'f\0é'], ['env\0', 'f\0é']] : [['env\0', 'f\0é']]);
      expect(await call('calls_import')).toEqual({ type: 'interrupted', id: 9, params: [] });
      // Two imports of the same name are two imports, each with the id symbols gave it.
      if (importsTwice) expect(await call('calls_again')).toEqual({ type: 'interrupted', id: 10, params: [] });
    });

    test('the memory is reachable whatever its export name', () => {
      const prepare = proto.clone().prepare();
      expect(prepare.memorySize()).toBe(1);
      prepare.writeMemory(65535, Uint8Array.of(1));
      expect(prepare.readMemory(65535, 1)).toEqual(Uint8Array.of(1));
    });

    test("a guest's own export named like an Asyncify function is the guest's", async () => {
      expect(await call('asyncify_start_unwind')).toBe(6);
    });

    test.each(['asyncify_stop_unwind', 'asyncify_start_rewind', 'asyncify_stop_rewind', 'asyncify_get_state', 'u', 'm', 'e0', 'e1'])(
      'the name %s added by the transform is invisible',
      (name) => {
        let error: unknown;
        try {
          proto.clone().prepare().start(name, []);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(StartError);
        expect(error).toMatchObject({ kind: 'FunctionNotFound' });
        expect(() => proto.globalValue(name)).toThrow(GlobalValueError);
      },
    );

    test('globals the transform adds are invisible', () => {
      for (const name of ['__asyncify_state', '__asyncify_data']) {
        expect(() => proto.globalValue(name)).toThrow(expect.objectContaining({ kind: 'NotFound' }));
      }
    });
  });

  describe.each([
    ['exported', MEMORY, true],
    ['not exported', '(memory 1)', false],
  ] as const)('regressions found by the spec suite, with the memory %s', (_how, memory, requireMemory) => {
    test('names with code points above U+FFFF (4-byte UTF-8)', async () => {
      const symbols: string[] = [];
      const proto = await createOn(backend, {
        moduleBytes: await wat(`(module (import "\\f0\\9f\\98\\80" "f" (func (result i32))) ${memory}
          (func (export "\\f0\\90\\80\\80") (result i32) (i32.const 11)))`),
        symbols: (module) => (symbols.push(module), 0),
        requireMemory,
      });
      expect(symbols).toEqual(['😀']);
      expect(await proto.prepare().start('𐀀', []).runAsync(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 11 } });
    });

    test('a leading U+FEFF is part of a name: "\\uFEFF" and "" are different exports', async () => {
      const proto = await createOn(backend, {
        moduleBytes: await wat(`(module ${memory}
          (func (export "") (result i32) (i32.const 1)) (func (export "\\ef\\bb\\bf") (result i32) (i32.const 2)))`),
        symbols: () => 0,
        requireMemory,
      });
      expect(await proto.clone().prepare().start('', []).runAsync(null)).toMatchObject({ value: { value: 1 } });
      expect(await proto.prepare().start('\uFEFF', []).runAsync(null)).toMatchObject({ value: { value: 2 } });
    });
  });

  describe.each([
    ['not exported', '(memory 1 3)'],
    ['exported under another name', '(memory (export "mem") 1 3)'],
  ])('requireMemory: false, a defined memory %s', (_how, memory) => {
    // The guest keeps a counter at 8 and returns it plus what the host answers.
    const source = `(module (import "env" "ask" (func $ask (result i32))) ${memory} (data (i32.const 16) "abc")
      (func (export "main") (result i32)
        (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (i32.const 1)))
        (i32.add (call $ask) (i32.load (i32.const 8))))
      (func (export "size") (result i32) (memory.size)))`;

    test('is the memory the host reads, writes and grows, before and during a call', async () => {
      const proto = await createOn(backend, { moduleBytes: await wat(source), symbols: () => 4, requireMemory: false });
      expect(proto.memoryMaxPages()).toBe(3);
      const prepare = proto.prepare();
      expect(new TextDecoder().decode(prepare.readMemory(16, 3))).toBe('abc');
      prepare.writeMemory(8, Uint8Array.of(41));
      const vm = prepare.start('main', []);
      expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 4, params: [] });
      // The guest's store is visible while it is paused, and so is the host's growth to it.
      expect(vm.readMemory(8, 4)).toEqual(Uint8Array.of(42, 0, 0, 0));
      vm.writeMemory(8, Uint8Array.of(100));
      vm.growMemory(2);
      expect(await vm.runAsync(WasmValue.i32(1000))).toEqual({ type: 'finished', value: { type: 'i32', value: 1100 } });
      const next = vm.intoPrepare();
      expect(next.memorySize()).toBe(3);
      expect(() => next.growMemory(1)).toThrow(/maximum is 3/);
      expect(await next.start('size', []).runAsync(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 3 } });
    });
  });

  // A regression test for JSPI, which keeps the guest's own names: the import object was once
  // built from ordinary objects, so a module named "__proto__" wrote its import onto
  // Object.prototype and "constructor" onto the Object function (Asyncify renames every module).
  test('import module names never write into the objects of the realm', async () => {
    try {
      const proto = await createOn(backend, {
        moduleBytes: await wat(`(module (import "__proto__" "f" (func $f (result i32))) (import "constructor" "g" (func $g (result i32)))
          ${MEMORY} (func (export "main") (result i32) (i32.add (call $f) (call $g))))`),
        symbols: (_module, name) => (name === 'f' ? 1 : 2),
      });
      const vm = proto.prepare().start('main', []);
      expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 1, params: [] });
      expect(await vm.runAsync(WasmValue.i32(20))).toEqual({ type: 'interrupted', id: 2, params: [] });
      expect(await vm.runAsync(WasmValue.i32(3))).toEqual({ type: 'finished', value: { type: 'i32', value: 23 } });
      expect(Object.hasOwn(Object.prototype, 'f')).toBe(false);
      expect(Object.hasOwn(Object, 'g')).toBe(false);
    } finally {
      delete (Object.prototype as Record<string, unknown>)['f'];
      delete (Object as unknown as Record<string, unknown>)['g'];
    }
  });

  // The same bug as above: for an import "constructor"."name", the assignment to the read-only
  // `Object.name` throws a TypeError in strict code, and create() rejects with it (not even a
  // NewError) for a valid module that Asyncify runs.
  test('a module importing "constructor"."name" is created and runs', async () => {
    const proto = await createOn(backend, {
      moduleBytes: await wat(`(module (import "constructor" "name" (func $f (result i32))) ${MEMORY}
        (func (export "main") (result i32) (call $f)))`),
      symbols: () => 5,
    });
    const vm = proto.prepare().start('main', []);
    expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 5, params: [] });
    expect(await vm.runAsync(WasmValue.i32(6))).toEqual({ type: 'finished', value: { type: 'i32', value: 6 } });
  });
});

// Which path the tests above take on JSPI: the guest's own names, or the renamed module. (An
// internal check: the public behaviour is the same either way, which is the point.)
test.each([
  ['an ordinary module', false, GUEST, {}],
  ['a module importing the same name twice', true, VARIANTS[1]!.source, {}],
  ['a defined memory not exported', true, VARIANTS[2]!.source, { requireMemory: false }],
  ['a defined memory exported under another name', true, '(module (memory (export "mem") 1))', { requireMemory: false }],
  ['a defined memory whose maximum maxMemoryPages lowers', true, '(module (memory (export "memory") 1 30))', { maxMemoryPages: 10 }],
  ['a defined memory whose maximum maxMemoryPages does not lower', false, '(module (memory (export "memory") 1 3))', { maxMemoryPages: 10 }],
  ['a defined memory without maximum under maxMemoryPages', true, '(module (memory (export "memory") 1))', { maxMemoryPages: 10 }],
  ['an imported memory under maxMemoryPages', false, '(module (import "env" "memory" (memory 1)))', { maxMemoryPages: 10 }],
  ['no memory', false, '(module (func (export "f")))', { requireMemory: false }],
] as const)('on jspi, %s is renamed: %s', async (_name, renamed, source, options) => {
  const config = resolveConfig({ moduleBytes: await wat(source), symbols: () => 0, backend: 'jspi', ...options });
  expect((await loadJspi(config, new ProgressReporter(null))).renamed).toBe(renamed);
});
