/**
 * What this JavaScript engine can run, checked before a command does any work: an engine that
 * can run neither backend (Node.js 20: no JSPI, no multi-memory) is told so at once, in one
 * line, rather than after reading a runtime and transforming it for a minute.
 *
 * @module
 */

import { backendUnsupportedReason, resolveBackend } from '../backends/list.js';
import { type Backend, engineSupportsJspi, engineSupportsMultiMemory } from '../base/engine.js';
import { NewError } from '../base/errors.js';

/** What the engine offers, for `inspect`. */
export interface EngineReport {
  /** JavaScript Promise Integration: the JSPI backend. */
  readonly jspi: boolean;
  /** Multi-memory: the Asyncify backend. */
  readonly multiMemory: boolean;
  /** The backend `'auto'` picks here, or `null` if there is none. */
  readonly backend: Backend | null;
}

/** The engine's capabilities. */
export function engineReport(): EngineReport {
  const auto = resolveBackend('auto');
  return {
    jspi: engineSupportsJspi(),
    multiMemory: engineSupportsMultiMemory(),
    backend: auto.unsupportedReason() === null ? auto.name : null,
  };
}

/**
 * Throws `NewError('BackendUnsupported')` unless the engine can run `needs`: `'any'` backend, or
 * `'asyncify'` itself (artifacts and the cache are Asyncify's).
 */
export function requireEngine(needs: 'any' | 'asyncify'): void {
  if (needs === 'any' && engineReport().backend !== null) return;
  const reason = backendUnsupportedReason('asyncify');
  if (reason === null) return;
  throw new NewError('BackendUnsupported', needs === 'any' ? `${reason}; it has no JSPI either` : reason);
}
