/**
 * What this JavaScript engine can do, probed rather than guessed from version numbers: a tiny
 * module validated, or a constructor looked up. Each probe is cheap and its answer cached.
 *
 * The two capabilities the backends depend on:
 * - **multi-memory**, for the Asyncify backend's paused stack in a second memory (Node.js 22+,
 *   Chrome 120+, Firefox 125+; no Safari, no WebKitGTK or WPE); without it, Asyncify keeps the
 *   stack in reserved pages below the guest's memory (`VmConfig.asyncifyStack`);
 * - **JavaScript Promise Integration** (`WebAssembly.Suspending` and `WebAssembly.promising`),
 *   for the JSPI backend (Node.js 26 by default, Chrome 137+, Firefox 153+, Safari 27+).
 *
 * Which backend needs what is each backend's own business (`backends/`); this file only probes
 * and says where a capability exists.
 *
 * @module
 */

import { NewError } from './errors.js';

/** The ways the VM can pause a guest at an import: see `docs/architecture.md`. */
export type Backend = 'asyncify' | 'jspi';

/** The names of {@link Backend}, for checking a caller's choice. */
export const BACKEND_NAMES: readonly Backend[] = ['asyncify', 'jspi'];

/**
 * Where the Asyncify backend keeps a paused call's stack (`VmConfig.asyncifyStack`): in a second
 * memory of the module's own, or in pages reserved below the guest's memory in its one memory
 * (for engines without multi-memory). See `docs/architecture.md`.
 */
export type AsyncifyStack = 'second-memory' | 'single-memory';

/** The names of {@link AsyncifyStack}, for checking a caller's choice. */
export const ASYNCIFY_STACK_NAMES: readonly AsyncifyStack[] = ['second-memory', 'single-memory'];

let multiMemory: boolean | null = null;

/** Whether the engine accepts a module with two memories. */
export function engineSupportsMultiMemory(): boolean {
  multiMemory ??= WebAssembly.validate(
    Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00),
  );
  return multiMemory;
}

/** Whether the engine has JavaScript Promise Integration. */
export function engineSupportsJspi(): boolean {
  const api = WebAssembly as unknown as { Suspending?: unknown; promising?: unknown };
  return typeof api.Suspending === 'function' && typeof api.promising === 'function';
}

/** Why a backend that needs JSPI cannot run here, or `null` if the engine has it. */
export function missingJspi(): string | null {
  return engineSupportsJspi()
    ? null
    : 'this JavaScript engine has no JavaScript Promise Integration (WebAssembly.Suspending and WebAssembly.promising), ' +
        "which backend 'jspi' needs: use Node.js 26 or later, Chrome 137+, Firefox 153+ or Safari 27+, or backend 'asyncify' (or 'auto')";
}

/**
 * Why the paused stack cannot be kept in a second memory here (`asyncifyStack: 'second-memory'`),
 * or `null` if the engine has multi-memory.
 */
export function missingMultiMemory(): string | null {
  return engineSupportsMultiMemory()
    ? null
    : "this JavaScript engine does not support multi-memory, which asyncifyStack 'second-memory' needs to keep the paused " +
        "stack in a memory of its own (Node.js 22 or later, Chrome 120+, Firefox 125+; no Safari): use asyncifyStack " +
        "'single-memory' or 'auto', which keeps it in pages the guest cannot reach";
}

/**
 * Throws `NewError('BackendUnsupported')` for an explicit `asyncifyStack: 'second-memory'` on an
 * engine without multi-memory (see {@link missingMultiMemory}); the one check of it, made by the
 * Asyncify backend before any other work and by the command line before it reads anything.
 */
export function refuseUnsupportedAsyncifyStack(option: AsyncifyStack | 'auto'): void {
  const missing = option === 'second-memory' ? missingMultiMemory() : null;
  if (missing !== null) throw new NewError('BackendUnsupported', missing);
}
