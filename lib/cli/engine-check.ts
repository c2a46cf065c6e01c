/**
 * What this JavaScript engine can run, checked before a command does any work: a backend the
 * engine cannot run (`--backend jspi` without JSPI) is refused at once, in one line, rather than
 * after reading a runtime and transforming it for a minute. Asyncify runs on every engine (its
 * stack in a second memory, or in the guest's one memory without multi-memory).
 *
 * @module
 */

import type { VmBackend } from '../backends/backend.js';
import { allBackends, chooseArtifactBackend, chooseBackend, resolveBackend } from '../backends/list.js';
import { type Backend, engineSupportsJspi, engineSupportsMultiMemory } from '../base/engine.js';
import { NewError } from '../base/errors.js';

/** What the engine offers, for `inspect`. */
export interface EngineReport {
  /** JavaScript Promise Integration (the JSPI backend needs it). */
  readonly jspi: boolean;
  /** Multi-memory (the Asyncify backend keeps its paused stack in a second memory with it). */
  readonly multiMemory: boolean;
  /** The backend `'auto'` picks here, or `null` if there is none. */
  readonly backend: Backend | null;
  /** Every other backend, and why the engine cannot run it (`null`: it can). */
  readonly others: readonly { readonly backend: Backend; readonly unsupported: string | null }[];
}

/** The engine's capabilities. */
export function engineReport(): EngineReport {
  const auto = resolveBackend('auto');
  const chosen = auto.unsupportedReason() === null ? auto : null;
  return {
    jspi: engineSupportsJspi(),
    multiMemory: engineSupportsMultiMemory(),
    backend: chosen?.name ?? null,
    others: allBackends()
      .filter((b) => b !== chosen)
      .map((b) => ({ backend: b.name, unsupported: b.unsupportedReason() })),
  };
}

/**
 * The backend a command runs on for `option`, refused with `NewError('BackendUnsupported')` if
 * the engine cannot run it: with `artifacts`, the backend an artifact or the cache serves.
 */
export function requireEngine(option: Backend | 'auto', artifacts = false): VmBackend {
  if (artifacts) return chooseArtifactBackend(option);
  const auto = resolveBackend(option);
  const reason = auto.unsupportedReason();
  if (option === 'auto' && reason !== null) {
    // Nothing runs here: every backend's reason.
    throw new NewError('BackendUnsupported', allBackends().map((b) => b.unsupportedReason()).join('; and '));
  }
  return chooseBackend(option);
}
