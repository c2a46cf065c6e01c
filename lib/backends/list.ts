/**
 * The backends, listed once, and the choice `'auto'` makes among them.
 *
 * @module
 */

import type { ResolvedConfig } from '../base/config.js';
import type { Backend } from '../base/engine.js';
import { NewError } from '../base/errors.js';
import { ASYNCIFY } from './asyncify/asyncify.js';
import type { VmBackend } from './backend.js';
import { JSPI } from './jspi/jspi.js';
import { type PauseCosts, measurePauseCosts } from './pause-probe.js';

/** Every backend, by name: adding a backend is one line here (and its name in `Backend`). */
const BACKENDS: Readonly<Record<Backend, VmBackend>> = { asyncify: ASYNCIFY, jspi: JSPI };

/** What `'auto'` picks: the first of these the engine can run. JSPI first: no transform, full-speed guest code. */
const AUTO_PREFERENCE: readonly VmBackend[] = [JSPI, ASYNCIFY];

/**
 * How many times an Asyncify pause a JSPI pause must cost (as `pause-probe.ts` measures them) for
 * `'auto'` to prefer Asyncify where an artifact is at hand. Measured: about 0.2–1 on V8 (JSPI the
 * cheaper, or level), 5–20 on SpiderMonkey; 3 keeps a wide margin from both.
 */
export const SLOW_JSPI_RATIO = 3;

/**
 * What `create()` does for a config, once the backend is chosen: make the prototype on
 * `backend`; or, with `fromCacheOnly`, on `backend` only from an artifact already in the cache,
 * else on `fallback`, filling the cache for `backend` meanwhile (see {@link planCreate}).
 */
export type CreatePlan =
  | { readonly backend: VmBackend; readonly fromCacheOnly?: false }
  | { readonly backend: VmBackend; readonly fromCacheOnly: true; readonly fallback: VmBackend };

/**
 * The plan of `create()` for `config`, `'auto'` resolved. `'auto'` is JSPI where the engine has
 * it, else Asyncify, with one exception: where the engine has both, a JSPI pause costs it
 * {@link SLOW_JSPI_RATIO} times an Asyncify pause or more (Firefox: `docs/performance.md`,
 * *Browsers*), and the config has a `cache` that can spare the transform, Asyncify is used when
 * the cache holds the module's artifact; when it does not, JSPI serves this `create()` (no
 * transform: ready at once) while the artifact is made for the next one. So `'auto'` is the
 * faster backend once both are ready, and never makes a first start wait for a transform. The
 * pause costs are measured only then (once per process or page: a few milliseconds), and only
 * then is the plan a promise.
 */
export function planCreate(config: ResolvedConfig): CreatePlan | Promise<CreatePlan> {
  if (config.backend !== 'auto') return { backend: chooseBackend(config.backend) };
  const runnable = AUTO_PREFERENCE.filter((backend) => backend.unsupportedReason() === null);
  if (runnable.length <= 1 || config.cache === null) return { backend: chooseBackend('auto') };
  return measurePauseCosts().then(autoPlan);
}

/** {@link planCreate}'s choice where the engine has both backends and a cache is given, from the measured costs. */
export function autoPlan(costs: PauseCosts): CreatePlan {
  if (costs.jspiNs < SLOW_JSPI_RATIO * costs.asyncifyNs) return { backend: JSPI };
  return { backend: ASYNCIFY, fromCacheOnly: true, fallback: JSPI };
}

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
