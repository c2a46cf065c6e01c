/**
 * The Asyncify backend: Binaryen's Asyncify transform makes the guest able to unwind its own
 * stack into a buffer at a pausing import and rewind it on resume (see `driver.ts`), so every
 * step is synchronous and a paused call is plain data, kept out of the guest's reach in a memory
 * of its own or in pages reserved below the guest's (`stack-placement.ts`), so it runs on every
 * engine. The transform takes seconds for a multi-megabyte module; artifacts and the artifact
 * cache skip it (see `load.ts`).
 *
 * @module
 */

import { artifactOf } from '../../artifact/loader.js';
import type { VmBackend } from '../backend.js';
import { AsyncifyDriver } from './driver.js';
import { loadAsyncify, loadAsyncifyArtifact } from './load.js';

/** The Asyncify backend; see the module documentation. */
export const ASYNCIFY: VmBackend = {
  name: 'asyncify',
  label: 'Asyncify',
  // Every engine: without multi-memory the paused stack is kept in the guest's one memory
  // (`stack-placement.ts`); an explicit 'second-memory' there is refused by the loading.
  unsupportedReason: () => null,
  synchronousSteps: true,
  holdsEngineStacks: false,
  artifacts: true,
  create: loadAsyncify,
  fromArtifact: loadAsyncifyArtifact,
  artifactOf,
  newDriver: (components) => new AsyncifyDriver(components.reservedPages),
};
