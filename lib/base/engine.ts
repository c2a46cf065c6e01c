/**
 * What this JavaScript engine can do, probed rather than guessed from version numbers: a tiny
 * module validated, or a constructor looked up. Each probe is cheap and its answer cached.
 *
 * The two capabilities the VM depends on:
 * - **multi-memory**, for the Asyncify backend: the paused stack lives in a second memory, never
 *   in the guest's (Node.js 22+, Chrome 120+, Firefox 125+, Safari 18.4+);
 * - **JavaScript Promise Integration** (`WebAssembly.Suspending` and `WebAssembly.promising`),
 *   for the JSPI backend (Node.js 26 by default, Chrome 137+, Firefox 153+, Safari 27+).
 *
 * @module
 */

/** The ways the VM can pause a guest at an import: see `docs/architecture.md`. */
export type Backend = 'asyncify' | 'jspi';

let multiMemory: boolean | null = null;

/** Whether the engine accepts a module with two memories (the Asyncify backend needs it). */
export function engineSupportsMultiMemory(): boolean {
  multiMemory ??= WebAssembly.validate(
    Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00),
  );
  return multiMemory;
}

/** Whether the engine has JavaScript Promise Integration (the JSPI backend needs it). */
export function engineSupportsJspi(): boolean {
  const api = WebAssembly as unknown as { Suspending?: unknown; promising?: unknown };
  return typeof api.Suspending === 'function' && typeof api.promising === 'function';
}

/**
 * Why this engine cannot run `backend`, or `null` if it can. The message names what is missing
 * and where it exists, for `NewError('BackendUnsupported')`.
 */
export function backendUnsupportedReason(backend: Backend): string | null {
  if (backend === 'jspi') {
    return engineSupportsJspi()
      ? null
      : "this JavaScript engine has no JavaScript Promise Integration (WebAssembly.Suspending and WebAssembly.promising), which backend 'jspi' needs: " +
          "use Node.js 26 or later, Chrome 137+, Firefox 153+ or Safari 27+, or backend 'asyncify' (or 'auto')";
  }
  return engineSupportsMultiMemory()
    ? null
    : 'this JavaScript engine does not support multi-memory, which the Asyncify backend needs to keep the paused stack ' +
        'out of the guest memory: use Node.js 22 or later, Chrome 120+, Firefox 125+ or Safari 18.4+';
}

/** The backend `'auto'` stands for on this engine: JSPI where it exists, else Asyncify. */
export function autoBackend(): Backend {
  return engineSupportsJspi() ? 'jspi' : 'asyncify';
}
