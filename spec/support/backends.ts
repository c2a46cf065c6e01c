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

/**
 * Runs `body` with `WebAssembly[property]` deleted, as on an engine without JavaScript Promise
 * Integration, and puts it back afterwards whatever happens.
 */
export async function withoutJspi<T>(property: 'Suspending' | 'promising', body: () => Promise<T>): Promise<T> {
  const descriptor = Object.getOwnPropertyDescriptor(WebAssembly, property);
  if (descriptor === undefined) throw new Error(`this engine has no WebAssembly.${property} to take away`);
  delete (WebAssembly as unknown as Record<string, unknown>)[property];
  try {
    return await body();
  } finally {
    Object.defineProperty(WebAssembly, property, descriptor);
  }
}
