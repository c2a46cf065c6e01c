/**
 * The ways the VM runs a guest, for suites that must hold on each:
 * `describe.each(BACKENDS)('...', (backend) => ...)` and `create(backend, config)`. Every
 * behaviour of the state machine is specified once and run on Asyncify and on JSPI, driven
 * through `runAsync` (which both have).
 *
 * The suites where the guest's memory or a paused stack matters also run on a third
 * configuration, {@link SINGLE_MEMORY}: Asyncify with its paused stack in pages reserved below
 * the guest's memory (`asyncifyStack: 'single-memory'`), as on engines without multi-memory
 * (every Safari before 27, WebKitGTK, WPE). They iterate {@link VARIANTS} and create with
 * {@link createOn}, which accepts a backend or a variant; {@link backendOf} tells a variant's
 * backend where a suite branches on it.
 */
import { type Backend, VirtualMachinePrototype, type VmConfig } from '../../lib/index.js';

/** The backends every semantic suite runs on. */
export const BACKENDS: readonly Backend[] = ['asyncify', 'jspi'];

/** Asyncify with its paused stack in the guest's one memory (`asyncifyStack: 'single-memory'`). */
export const SINGLE_MEMORY = 'asyncify (single memory)';

/** A configuration a suite runs on: a backend (Asyncify with the engine's placement), or {@link SINGLE_MEMORY}. */
export type Variant = Backend | typeof SINGLE_MEMORY;

/** The backends, and Asyncify without multi-memory: what the suites about memory and paused stacks run on. */
export const VARIANTS: readonly Variant[] = ['asyncify', SINGLE_MEMORY, 'jspi'];

/** The backend of `variant`. */
export function backendOf(variant: Variant): Backend {
  return variant === SINGLE_MEMORY ? 'asyncify' : variant;
}

/** The config fields that select `variant`. */
export function variantConfig(variant: Variant): { backend: Backend; asyncifyStack?: 'single-memory' } {
  return variant === SINGLE_MEMORY ? { backend: 'asyncify', asyncifyStack: 'single-memory' } : { backend: variant };
}

/** `VirtualMachinePrototype.create(config)` on `variant`. */
export function createOn(variant: Variant, config: VmConfig): Promise<VirtualMachinePrototype> {
  return VirtualMachinePrototype.create({ ...config, ...variantConfig(variant) });
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
