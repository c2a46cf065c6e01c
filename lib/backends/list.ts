/**
 * The backends, listed once, and the choice `'auto'` makes among them.
 *
 * @module
 */

import type { Backend } from '../base/engine.js';
import { NewError } from '../base/errors.js';
import { ASYNCIFY } from './asyncify/asyncify.js';
import type { VmBackend } from './backend.js';
import { JSPI } from './jspi/jspi.js';

/** Every backend, by name: adding a backend is one line here (and its name in `Backend`). */
const BACKENDS: Readonly<Record<Backend, VmBackend>> = { asyncify: ASYNCIFY, jspi: JSPI };

/** What `'auto'` picks: the first of these the engine can run. JSPI first: no transform, full-speed guest code. */
const AUTO_PREFERENCE: readonly VmBackend[] = [JSPI, ASYNCIFY];

/** The backend for `option` ('auto' resolved for this engine; see {@link AUTO_PREFERENCE}). */
export function resolveBackend(option: Backend | 'auto'): VmBackend {
  if (option === 'auto') return AUTO_PREFERENCE.find((backend) => backend.unsupportedReason() === null) ?? AUTO_PREFERENCE.at(-1)!;
  return BACKENDS[option];
}

/**
 * The backend for `option`, refused with `NewError('BackendUnsupported')` if this engine cannot
 * run it: the first check of `create()`, before any other work.
 */
export function chooseBackend(option: Backend | 'auto'): VmBackend {
  const backend = resolveBackend(option);
  const reason = backend.unsupportedReason();
  if (reason !== null) throw new NewError('BackendUnsupported', reason);
  return backend;
}

/**
 * The backend an artifact is rebuilt on for `option`: with `'auto'`, the first backend that has
 * artifacts; a named backend as named (its `fromArtifact` refuses if it has none). One with
 * artifacts that this engine cannot run is refused as by {@link chooseBackend}.
 */
export function chooseArtifactBackend(option: Backend | 'auto'): VmBackend {
  const backend = option === 'auto' ? Object.values(BACKENDS).find((b) => b.artifacts)! : BACKENDS[option];
  const reason = backend.artifacts ? backend.unsupportedReason() : null;
  if (reason !== null) throw new NewError('BackendUnsupported', reason);
  return backend;
}

/** Every backend, in the order of {@link AUTO_PREFERENCE}. */
export function allBackends(): readonly VmBackend[] {
  return AUTO_PREFERENCE;
}

/** Why this engine cannot run the backend named `name`, or `null` if it can (for the command line). */
export function backendUnsupportedReason(name: Backend): string | null {
  return BACKENDS[name].unsupportedReason();
}
