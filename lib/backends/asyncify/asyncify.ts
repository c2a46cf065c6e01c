/**
 * The Asyncify backend: Binaryen's Asyncify transform makes the guest able to unwind its own
 * stack into a buffer at a pausing import and rewind it on resume (see `driver.ts`), so every
 * step is synchronous and a paused call is plain data. The transform takes seconds for a
 * multi-megabyte module; artifacts and the artifact cache skip it (see `load.ts`).
 *
 * @module
 */

import { artifactOf } from '../../artifact/loader.js';
import { missingMultiMemory } from '../../base/engine.js';
import type { VmBackend } from '../backend.js';
import { AsyncifyDriver } from './driver.js';
import { loadAsyncify, loadAsyncifyArtifact } from './load.js';

/** The Asyncify backend; see the module documentation. */
export const ASYNCIFY: VmBackend = {
  name: 'asyncify',
  label: 'Asyncify',
  unsupportedReason: missingMultiMemory,
  synchronousSteps: true,
  holdsEngineStacks: false,
  artifacts: true,
  snapshots: true,
  create: loadAsyncify,
  fromArtifact: loadAsyncifyArtifact,
  artifactOf,
  newDriver: () => new AsyncifyDriver(),
};
