/**
 * The Asyncify backend: Binaryen's Asyncify transform makes the guest able to unwind its own
 * stack into a buffer at a pausing import and rewind it on resume (see `driver.ts`), so every
 * step is synchronous and a paused call is plain data, kept out of the guest's reach in a memory
 * of its own or in pages reserved below the guest's (`stack-placement.ts`), so it runs on every
 * engine. The transform takes seconds for a multi-megabyte module; artifacts and the artifact
 * cache skip it (see `load.ts`).
 *
 * Its loading (the transform's thread, artifacts, the cache and their hashes) is imported when
 * first used, so that it is a chunk of its own for a bundler: a page that runs on JSPI never
 * downloads it.
 *
 * @module
 */

import { withPrivateBytes } from '../../base/config.js';
import type { VmBackend } from '../backend.js';
import { AsyncifyDriver } from './driver.js';

type Loading = typeof import('./load.js');
let loading: Loading | null = null;

/** The loading module, imported once. */
async function load(): Promise<Loading> {
  loading ??= await import('./load.js');
  return loading;
}

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
  snapshots: true,
  // The bytes are copied before the first await (the loading module's import), so that the
  // caller may reuse its arrays while create() or fromArtifact() runs.
  create: (config, progress, tuning, instantiate) => {
    const own = withPrivateBytes(config);
    return load().then((loading) => loading.loadAsyncify(own, progress, tuning, instantiate));
  },
  fromArtifact: (artifact, config, progress) => {
    const own = { artifact: artifact.slice(), config: withPrivateBytes(config) };
    return load().then((loading) => loading.loadAsyncifyArtifact(own.artifact, own.config, progress));
  },
  // Its components were made by the loading module: it is loaded.
  artifactOf: (components) => loading!.artifactOf(components),
  newDriver: (components) => new AsyncifyDriver(components.reservedPages),
};
