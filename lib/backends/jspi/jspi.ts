/**
 * The JSPI backend: the engine suspends the guest's stack at a pausing import and resumes it in
 * a promise job (JavaScript Promise Integration, see `driver.ts`). No transform: creation takes
 * milliseconds and guest code runs at the JIT's full speed; every resume is asynchronous, and
 * there is nothing to keep in an artifact.
 *
 * @module
 */

import { missingJspi } from '../../base/engine.js';
import { UsageError } from '../../base/errors.js';
import type { VmBackend } from '../backend.js';
import { JspiDriver } from './driver.js';
import { loadJspi } from './load.js';

/** The JSPI backend; see the module documentation. */
export const JSPI: VmBackend = {
  name: 'jspi',
  label: 'JSPI',
  unsupportedReason: missingJspi,
  synchronousSteps: false,
  holdsEngineStacks: true,
  artifacts: false,
  snapshots: false,
  create: async (config, progress, tuning, instantiate) => (tuning.fromCacheOnly === true ? null : instantiate(await loadJspi(config, progress))),
  fromArtifact: () => {
    throw new UsageError(
      'UnsupportedOnBackend',
      "fromArtifact: an artifact holds an Asyncify-instrumented module, and the config asks for backend 'jspi'; " +
        "use backend 'asyncify' or 'auto', or create(), which needs no artifact on JSPI",
    );
  },
  artifactOf: () => {
    throw new UsageError(
      'UnsupportedOnBackend',
      'toArtifact: this prototype runs on the JSPI backend, which has no transform to save (create() is already fast there)',
    );
  },
  newDriver: () => new JspiDriver(),
};
