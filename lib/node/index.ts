/**
 * `resumable-wasm/node`: the parts of the library that need Node.js APIs. Kept out of the main
 * entry point so that browser bundles never pull in `node:fs`.
 *
 * **Layer `node/`**: imports only the public API (`../index.js`).
 *
 * @module
 */

export { FileArtifactCache } from './file-artifact-cache.js';
