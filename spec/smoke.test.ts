import { VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { wat } from './support/wat.js';

const GUEST = `(module
    (import "env" "get" (func $get (result i32)))
    (memory (export "memory") 1)
    (func (export "main") (result i32) (i32.add (call $get) (i32.const 1))))`;

test('a guest pauses at an import and resumes with the host value (the default backend, synchronous run)', async () => {
  const proto = await VirtualMachinePrototype.create({ moduleBytes: await wat(GUEST), symbols: () => 5 });
  expect(proto.backend).toBe('asyncify');
  const vm = proto.prepare().start('main', []);
  expect(vm.run(null)).toEqual({ type: 'interrupted', id: 5, params: [] });
  expect(vm.run(WasmValue.i32(41))).toEqual({ type: 'finished', value: { type: 'i32', value: 42 } });
});

test.each(BACKENDS)('on %s, a guest pauses at an import and resumes with the host value (runAsync)', async (backend) => {
  const proto = await createOn(backend, { moduleBytes: await wat(GUEST), symbols: () => 5 });
  expect(proto.backend).toBe(backend);
  const vm = proto.prepare().start('main', []);
  expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 5, params: [] });
  expect(await vm.runAsync(WasmValue.i32(41))).toEqual({ type: 'finished', value: { type: 'i32', value: 42 } });
});
