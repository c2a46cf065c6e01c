import { VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { wat } from './support/wat.js';

test('a guest pauses at an import and resumes with the host value', async () => {
  const moduleBytes = await wat(`(module
    (import "env" "get" (func $get (result i32)))
    (memory (export "memory") 1)
    (func (export "main") (result i32) (i32.add (call $get) (i32.const 1))))`);
  const proto = await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 5 });
  const vm = proto.prepare().start('main', []);
  expect(vm.run(null)).toEqual({ type: 'interrupted', id: 5, params: [] });
  expect(vm.run(WasmValue.i32(41))).toEqual({ type: 'finished', value: { type: 'i32', value: 42 } });
});
