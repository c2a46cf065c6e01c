/**
 * Every refusal at once: a module that breaks several rules is refused with one `NewError`
 * whose `refusals` lists them all, in the order of the checks (features, module rules, import
 * signatures; the host's callbacks are only asked about a module that breaks none of those),
 * each with its kind, where it is and the option that allows it; `kind` is the first one's.
 * Messages name the instruction and the function, not a section. On both backends.
 */
import { jest } from '@jest/globals';
import { type Backend, NewError, type VmConfig } from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { wat } from './support/wat.js';

async function refusal(backend: Backend, source: string, config: Partial<VmConfig> = {}): Promise<NewError> {
  try {
    await createOn(backend, { moduleBytes: await wat(source), symbols: () => 0, ...config });
  } catch (e) {
    if (e instanceof NewError) return e;
    throw e;
  }
  throw new Error('the module was accepted');
}

/**
 * What an Emscripten build looks like to the default profile (the QuickJS): bulk memory
 * in two functions, a start function, the memory imported as "a"."a", an f64 import; plus a
 * table import and a SIMD instruction, which no option allows.
 */
const MANY = `(module
  (import "a" "a" (memory 1))
  (import "a" "b" (func $now (result f64)))
  (import "a" "t" (table 1 funcref))
  (func $init (memory.fill (i32.const 0) (i32.const 0) (i32.const 8)))
  (func $copy (export "copy")
    (memory.copy (i32.const 0) (i32.const 8) (i32.const 8))
    (memory.copy (i32.const 8) (i32.const 0) (i32.const 8)))
  (func $copy2 (memory.copy (i32.const 16) (i32.const 0) (i32.const 8)))
  (func $lanes (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4)))
  (start $init))`;

describe.each(BACKENDS)('%s', (backend) => {
  test('a module breaking several rules is refused once, with every rule listed', async () => {
    const symbols = jest.fn(() => 0);
    const error = await refusal(backend, MANY, { symbols });
    expect(error.kind).toBe('InvalidWasm');
    expect(error.refusals.map((r) => r.kind)).toEqual([
      'InvalidWasm',
      'InvalidWasm',
      'InvalidWasm',
      'StartFunctionNotSupported',
      'MemoryNotNamedMemory',
      'ImportTypeNotSupported',
      'UnresolvedFunctionImport',
    ]);
    const [fill, copy, simd, start, memory, table, floats] = error.refusals;
    // Grouped by instruction, with the first function and the counts.
    expect(fill).toMatchObject({ where: 'function 1', allowedBy: "features: 'modern' or ['default', 'bulk-memory']" });
    expect(fill!.message).toMatch(/^the module uses bulk memory in function 1: memory\.fill, which is outside the 'default' feature set/);
    expect(copy).toMatchObject({ where: 'function 2 (exported as "copy")' });
    expect(copy!.message).toContain('bulk memory in function 2 (exported as "copy"): memory.copy (3 uses in 2 functions)');
    expect(simd).toMatchObject({ where: 'function 4', allowedBy: null });
    expect(simd!.message).toContain('SIMD in function 4');
    expect(start).toMatchObject({ where: 'the start section (function 1)', allowedBy: 'startFunction: true' });
    expect(memory).toMatchObject({ where: 'the import "a"."a"', allowedBy: 'anyMemoryImport: true' });
    expect(table).toMatchObject({ where: 'the import "a"."t"', allowedBy: null });
    expect(floats).toMatchObject({ where: 'the import "a"."b"', allowedBy: 'floats: true', moduleName: 'a', functionName: 'b' });
    // The message lists them all, each with its kind.
    expect(error.message).toMatch(/^the module is refused for 7 reasons:\n {2}- InvalidWasm: the module uses bulk memory/);
    for (const r of error.refusals) expect(error.message).toContain(`- ${r.kind}: ${r.message}`);
    // The host's callback is not asked about the imports of a module refused anyway.
    expect(symbols).not.toHaveBeenCalled();
  });

  test('with the options that allow them, only the rules no option allows remain', async () => {
    const error = await refusal(backend, MANY, { features: 'modern', floats: true, startFunction: true, anyMemoryImport: true });
    expect(error.refusals.map((r) => r.kind)).toEqual(['InvalidWasm', 'ImportTypeNotSupported']);
    expect(error.message).toContain("SIMD in function 4: a SIMD instruction (0xfd 12), which is outside the 'modern' feature set");
  });

  test('every unresolved import is listed, and each callback is asked once per import', async () => {
    const source = `(module
      (import "env" "one" (func))
      (import "env" "two" (func (param i32)))
      (import "env" "three" (func (result i64)))
      (memory (export "memory") 1))`;
    const symbols = jest.fn((_module: string, name: string) => (name === 'two' ? 5 : null));
    const error = await refusal(backend, source, { symbols });
    expect(symbols).toHaveBeenCalledTimes(3);
    expect(error.kind).toBe('UnresolvedFunctionImport');
    expect(error.moduleName).toBe('env');
    expect(error.functionName).toBe('one');
    expect(error.refusals.map((r) => r.functionName)).toEqual(['one', 'three']);
    expect(error.message).toMatch(/refused for 2 reasons/);
  });

  test('identical refusals are written once in the message, with their count, and all kept in refusals', async () => {
    const source = `(module
      (import "" "" (table 1 funcref))
      (import "" "" (table 1 funcref))
      (memory (export "memory") 1))`;
    const error = await refusal(backend, source, { features: 'modern' });
    expect(error.refusals.map((r) => r.kind)).toEqual(['ImportTypeNotSupported', 'ImportTypeNotSupported']);
    expect(error.refusals[0]).toEqual(error.refusals[1]);
    const line = `  - ImportTypeNotSupported: ${error.refusals[0]!.message}`;
    expect(error.message).toBe(`the module is refused for 2 reasons:\n${line} (2 times)`);
  });

  test('a single refusal keeps its own message, and is listed alone', async () => {
    const error = await refusal(backend, '(module (import "env" "mem" (memory 1)))');
    expect(error.kind).toBe('MemoryNotNamedMemory');
    expect(error.message).toBe(
      'the module imports its memory as "env"."mem"; it must be "env"."memory" (allow any name with anyMemoryImport: true)',
    );
    expect(error.refusals).toEqual([
      { kind: 'MemoryNotNamedMemory', message: error.message, where: 'the import "env"."mem"', allowedBy: 'anyMemoryImport: true' },
    ]);
  });

  test('in module order, without the data count section beside the instructions it serves', async () => {
    const error = await refusal(
      backend,
      `(module (memory (export "memory") 1) (data $d "ab")
        (func (export "f") (memory.init $d (i32.const 0) (i32.const 0) (i32.const 2)) (data.drop $d)))`,
    );
    expect(error.refusals.map((r) => r.message.replace(/, which.*/, ''))).toEqual([
      'the module uses bulk memory in function 0 (exported as "f"): memory.init',
      'the module uses bulk memory in function 0 (exported as "f"): data.drop',
      'the module uses bulk memory in data segment 0 (passive): a passive data segment',
    ]);
  });

  test('errors of other origins carry themselves as their only refusal', async () => {
    const error = await refusal(backend, '(module (memory (export "memory") 1) (data (i32.const 65535) "ab"))');
    expect(error.kind).toBe('Instantiation');
    expect(error.refusals).toHaveLength(1);
    expect(error.refusals[0]).toMatchObject({ kind: 'Instantiation', message: error.message });
  });
});
