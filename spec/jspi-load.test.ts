/**
 * The JSPI loader's own decisions (lib/load/load-module.ts, `loadUninstrumented`): it compiles
 * the guest's bytes as they are unless their names cannot serve, and then renames them. Both
 * paths must refuse exactly what the Asyncify path refuses and run the same.
 */
import { writeU32 } from '../lib/base/binary-reader.js';
import { NewError, runToCompletion, WasmValue } from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { wat } from './support/wat.js';

describe.each(BACKENDS)('loading on %s', (backend) => {
  test('two exports of one name are invalid even when renaming would hide it (found by the spec suite on JSPI)', async () => {
    // The defined memory is not exported, so the JSPI loader renames (to give the host a way to
    // it); renamed, the two "f" exports would become e0 and e1 and compile fine.
    const bytes = await wat(`(module (memory 1) (func $f) (export "f" (func $f)) (export "f" (func $f)))`);
    await expect(createOn(backend, { moduleBytes: bytes, symbols: () => 0, requireMemory: false })).rejects.toMatchObject({
      kind: 'InvalidWasm',
      message: expect.stringMatching(/duplicate export/i),
    });
  });

  test('a module importing one name twice, with two signatures, gets both imports right', async () => {
    const bytes = await wat(`(module
      (import "env" "f" (func $a (param i32) (result i32)))
      (import "env" "f" (func $b (param i64) (result i64)))
      (memory (export "memory") 1)
      (func (export "main") (result i64)
        (i64.add (i64.extend_i32_u (call $a (i32.const 1))) (call $b (i64.const 2)))))`);
    const proto = await createOn(backend, {
      moduleBytes: bytes,
      symbols: (_module, _name, signature) => (signature.params[0] === 'i32' ? 1 : 2),
    });
    const outcome = await runToCompletion(proto.prepare().start('main', []), ({ id, params }) =>
      id === 1 ? WasmValue.i32((params[0]!.value as number) * 10) : WasmValue.i64((params[0]!.value as bigint) * 100n),
    );
    expect(outcome).toEqual({ type: 'finished', value: { type: 'i64', value: 210n } });
  });

  test('maxMemoryPages caps a defined, exported memory for the guest too', async () => {
    const bytes = await wat(`(module (memory (export "memory") 1 10)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`);
    const proto = await createOn(backend, { moduleBytes: bytes, symbols: () => 0, maxMemoryPages: 3 });
    expect(proto.memoryMaxPages()).toBe(3);
    let vm = proto.prepare().start('grow', [WasmValue.i32(3)]);
    expect(await vm.runAsync(null)).toEqual({ type: 'finished', value: { type: 'i32', value: -1 } });
    vm = vm.intoPrepare().start('grow', [WasmValue.i32(2)]);
    expect(await vm.runAsync(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 1 } });
    expect(vm.memorySize()).toBe(3);
  });

  test('a refusal is the same NewError on both backends: an import the host refuses', async () => {
    const bytes = await wat(`(module (import "env" "nope" (func)) (memory (export "memory") 1))`);
    const error = await createOn(backend, { moduleBytes: bytes, symbols: () => null }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NewError);
    expect(error).toMatchObject({ kind: 'UnresolvedFunctionImport', moduleName: 'env', functionName: 'nope' });
  });
});

describe.each(BACKENDS)('an invalid module with fuel, the stack limit and canonical NaNs on %s', (backend) => {
  // On JSPI the guest's whole module is not compiled: its skeleton is validated, then the rewrite,
  // which keeps an invalid module invalid (spec/code-rewrite-invalid-input.test.ts). The refusal
  // must be the engine's, of the guest's own bytes, as without the options.
  const BOUNDS = { fuel: true, maxStackHeight: 100_000, canonicalizeNaNs: true } as const;
  test.each([
    // The global index the fuel counter gets in the rewrite: refused by the rewriter, then by the engine.
    ['an index the rewrite would bring into range', '(global (mut i32) (i32.const 0)) (func (export "f") global.get 1 drop)', /invalid global index/i],
    // A type error in the code: the rewrite keeps it, the engine refuses the rewritten module.
    ['a type error in the code', '(func (export "f") (result i32) f32.const 1)', /type/i],
    // An export of a function that does not exist: the skeleton is refused.
    ['an export of no function', '(func) (export "f" (func 3))', /index|function/i],
  ] as const)('%s is InvalidWasm with the engine explanation of the guest', async (_name, fields, reason) => {
    const bytes = await wat(`(module (memory (export "memory") 1) ${fields})`);
    const error = await createOn(backend, { moduleBytes: bytes, symbols: () => 0, ...BOUNDS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NewError);
    expect(error).toMatchObject({ kind: 'InvalidWasm', message: expect.stringMatching(/^not a valid WebAssembly module: /) });
    expect((error as NewError).message).toMatch(reason);
  });
});

describe.each(BACKENDS)('invalid modules whose renamed or rewritten form would be valid, on %s', (backend) => {
  // Found by review: the renaming rebuilds the import, export and memory sections, the rewrite
  // shortens indices and drops sections. On JSPI the guest's skeleton is validated instead of its
  // whole module (transform/module-skeleton.ts): each must still be refused as the engine refuses it.
  const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
  test.each([
    // Exports "f", which the fuel counter's export would collide with (so the module is renamed), and a byte after the export section's entries.
    ['a byte after the exports', '0061736d01000000010401600000030201000503010001070f02066d656d6f7279020001660000000a040102000b', true],
    // env.a imported twice (renamed), and a byte after the import section's entries.
    ['a byte after the imports', '0061736d0100000001040160000002120203656e760161000003656e760161000000030201000503010001071002066d656d6f727902000372756e00020a040102000b', false],
  ] as const)('%s', async (_name, module, bounds) => {
    const bytes = hex(module);
    expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(false);
    const options = bounds ? { fuel: true, maxStackHeight: 100_000, canonicalizeNaNs: true } : {};
    await expect(createOn(backend, { moduleBytes: bytes, symbols: () => 0, ...options })).rejects.toMatchObject({
      kind: 'InvalidWasm',
      message: expect.stringMatching(/^not a valid WebAssembly module: .*(shorter|longer) than expected/),
    });
  });

  test('a memory maximum past 65,536 pages, which maxMemoryPages would lower', async () => {
    const bytes = hex('0061736d01000000010401600000030201000506010101f0a204071002066d656d6f727902000372756e00000a040102000b');
    expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(false);
    await expect(createOn(backend, { moduleBytes: bytes, symbols: () => 0, maxMemoryPages: 100 })).rejects.toMatchObject({
      kind: 'InvalidWasm',
      message: expect.stringMatching(/^not a valid WebAssembly module: /),
    });
  });

  test('a body larger than engines compile, which the rewrite would shorten (call indices written in five bytes)', async () => {
    // Two functions of type () -> (); the second calls the first 1,275,722 times, each index padded to five bytes.
    const calls = 1_275_722;
    const body = new Uint8Array(1 + 6 * calls + 1);
    for (let i = 0; i < calls; i++) body.set([0x10, 0x80, 0x80, 0x80, 0x80, 0x00], 1 + 6 * i);
    body[body.length - 1] = 0x0b;
    const leb = (n: number): number[] => {
      const out: number[] = [];
      writeU32(out, n);
      return out;
    };
    const head = [...hex('0061736d01000000010401600000030302000005030100010710020372756e0001066d656d6f72790200')];
    // The code section: two bodies, the first `end` alone, the second the calls.
    const payloadStart = [2, 0x02, 0x00, 0x0b, ...leb(body.length)];
    const sectionStart = [10, ...leb(payloadStart.length + body.length), ...payloadStart];
    const module = new Uint8Array(head.length + sectionStart.length + body.length);
    module.set(head);
    module.set(sectionStart, head.length);
    module.set(body, head.length + sectionStart.length);
    expect(() => new WebAssembly.Module(module as Uint8Array<ArrayBuffer>)).toThrow(/maximum function size/);
    await expect(createOn(backend, { moduleBytes: module, symbols: () => 0, fuel: true })).rejects.toMatchObject({
      kind: 'InvalidWasm',
      message: expect.stringMatching(/^not a valid WebAssembly module: .*maximum function size/),
    });
  });
});
