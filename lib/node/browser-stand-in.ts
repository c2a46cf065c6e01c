/**
 * What `resumable-wasm/node` resolves to in a browser bundle (the `browser` condition of the
 * package's `exports`): the same names, without Node.js. Code written for both environments,
 * which picks `FileArtifactCache` under Node.js and `IndexedDbArtifactCache`
 * (`resumable-wasm/browser`) in a browser, then bundles for the browser with no setting; only
 * constructing a `FileArtifactCache` there fails, with a {@link UsageError} saying what to use.
 *
 * **Layer `node/`**: imports only the public API (`../index.js`).
 *
 * @module
 */

import { type ArtifactCache, UsageError } from '../index.js';

/** In a browser: refuses to be constructed (there is no file system); see the module documentation. */
export class FileArtifactCache implements ArtifactCache {
  constructor(readonly directory: string) {
    throw new UsageError(
      'UnsupportedEnvironment',
      `FileArtifactCache(${JSON.stringify(directory)}) needs Node.js's file system; in a browser use IndexedDbArtifactCache from resumable-wasm/browser`,
    );
  }

  pathOf(key: string): string {
    return key;
  }

  get(): undefined {
    return undefined;
  }

  set(): void {}
}
