/**
 * `resumable-wasm/browser`: the parts of the library that need browser APIs
 * (`IndexedDbArtifactCache`). The core (`resumable-wasm`) and the Substrate layer
 * (`resumable-wasm/substrate`) run in browsers as they are; this entry adds what only a browser
 * has, as `resumable-wasm/node` does for Node.js.
 *
 * **Layer `browser/`**: imports only the public API (`../index.js`).
 *
 * @module
 */

export { IndexedDbArtifactCache } from './indexed-db-artifact-cache.js';
