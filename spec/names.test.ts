/**
 * Names: exports and imports may be any UTF-8 (NUL and non-ASCII included) and are matched
 * exactly; the names the transform adds to the module are invisible to start() and globalValue().
 */
import { GlobalValueError, StartError, VirtualMachinePrototype } from '../lib/index.js';
import { wat } from './support/wat.js';

// wabt reads string literals as bytes: \\c3\\a9 is "é", \\00 is NUL.
const GUEST = `(module
  (import "env\\00" "f\\00\\c3\\a9" (func $imported (result i32)))
  (memory (export "memory") 1)
  (func (export "a\\00b") (result i32) (i32.const 1))
  (func (export "a\\00c") (result i32) (i32.const 2))
  (func (export "a") (result i32) (i32.const 3))
  (func (export "h\\c3\\a9llo w\\c3\\b6rld \\e2\\9c\\93") (result i32) (i32.const 4))
  (func (export "") (result i32) (i32.const 5))
  (func (export "asyncify_start_unwind") (result i32) (i32.const 6))
  (func (export "calls_import") (result i32) (call $imported))
  (global (export "g\\00") i32 (i32.const 7))
  (global (export "g") i32 (i32.const 8)))`;

let proto: VirtualMachinePrototype;
const symbolCalls: [string, string][] = [];
beforeAll(async () => {
  proto = await VirtualMachinePrototype.create({
    moduleBytes: await wat(GUEST),
    symbols: (module, name) => {
      symbolCalls.push([module, name]);
      return 9;
    },
  });
});

function call(name: string): unknown {
  const outcome = proto.clone().prepare().start(name, []).run(null);
  return outcome.type === 'finished' ? outcome.value?.value : outcome;
}

test('export names with NUL bytes are distinct and exact', () => {
  expect(call('a\0b')).toBe(1);
  expect(call('a\0c')).toBe(2);
  expect(call('a')).toBe(3);
  expect(proto.globalValue('g\0')).toBe(7);
  expect(proto.globalValue('g')).toBe(8);
});

test('non-ASCII and empty export names', () => {
  expect(call('héllo wörld ✓')).toBe(4);
  expect(call('')).toBe(5);
});

test('import names reach symbols exactly', () => {
  expect(symbolCalls).toEqual([['env\0', 'f\0é']]);
  expect(call('calls_import')).toEqual({ type: 'interrupted', id: 9, params: [] });
});

test("a guest's own export named like an Asyncify function is the guest's", () => {
  expect(call('asyncify_start_unwind')).toBe(6);
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

describe('regressions found by the spec suite', () => {
  test('names with code points above U+FFFF (4-byte UTF-8)', async () => {
    const symbols: string[] = [];
    const proto = await VirtualMachinePrototype.create({
      moduleBytes: await wat(`(module (import "\\f0\\9f\\98\\80" "f" (func (result i32))) (memory (export "memory") 1)
        (func (export "\\f0\\90\\80\\80") (result i32) (i32.const 11)))`),
      symbols: (module) => (symbols.push(module), 0),
    });
    expect(symbols).toEqual(['😀']);
    expect(proto.prepare().start('𐀀', []).run(null)).toEqual({ type: 'finished', value: { type: 'i32', value: 11 } });
  });

  test('a leading U+FEFF is part of a name: "\\uFEFF" and "" are different exports', async () => {
    const proto = await VirtualMachinePrototype.create({
      moduleBytes: await wat(`(module (memory (export "memory") 1)
        (func (export "") (result i32) (i32.const 1)) (func (export "\\ef\\bb\\bf") (result i32) (i32.const 2)))`),
      symbols: () => 0,
    });
    expect(proto.clone().prepare().start('', []).run(null)).toMatchObject({ value: { value: 1 } });
    expect(proto.prepare().start('\uFEFF', []).run(null)).toMatchObject({ value: { value: 2 } });
  });
});
