/**
 * Loading the formats of snapshots and journals (`snapshot-codecs.ts`) and the checksum they
 * carry, once, asynchronously; afterwards {@link codecs} hands them out synchronously, which
 * `vm.snapshot()` and `vm.journal()` need. A prototype that may snapshot (a backend whose paused
 * stack is data) or journal (`VmConfig.journal`) loads them before it is handed out; `restore`
 * and `replay` await them themselves.
 *
 * @module
 */

import { loadChecksum } from '../base/digest.js';

type Codecs = typeof import('./snapshot-codecs.js');

let loaded: Codecs | null = null;
let loading: Promise<void> | null = null;

/** Loads the codecs and the checksum (once per realm); later calls return at once. */
export function loadCodecs(): Promise<void> {
  loading ??= Promise.all([import('./snapshot-codecs.js'), loadChecksum()]).then(([module]) => {
    loaded = module;
  });
  return loading;
}

/** The codecs; {@link loadCodecs} must have completed. */
export function codecs(): Codecs {
  if (loaded === null) throw new Error('internal error: snapshot codecs used before loadCodecs()');
  return loaded;
}
