/**
 * Both backends, for suites that must hold on each: `describe.each(BACKENDS)('...', (backend) => ...)`
 * and `create(backend, config)`. Every behaviour of the state machine is specified once and run
 * on Asyncify and on JSPI, driven through `runAsync` (which both have).
 */
import { type Backend, VirtualMachinePrototype, type VmConfig } from '../../lib/index.js';

/** The backends every semantic suite runs on. */
export const BACKENDS: readonly Backend[] = ['asyncify', 'jspi'];

/** `VirtualMachinePrototype.create(config)` on `backend`. */
export function createOn(backend: Backend, config: VmConfig): Promise<VirtualMachinePrototype> {
  return VirtualMachinePrototype.create({ ...config, backend });
}
