/**
 * The source of the browser's transform Worker: `browser-worker.ts` bundled with Binaryen into
 * one self-contained module script (about 15 MB), as a string.
 *
 * This file is a stand-in: the build (`npm run build`, `scripts/build-browser-worker.mjs`)
 * overwrites its compiled form, `dist/transform/browser-worker-source.js`, with the real
 * source. `transform-thread.ts` imports it lazily, and only in a browser, so bundlers put it in
 * a chunk of its own that a page downloads only when it runs a transform; a page on JSPI or on
 * artifacts never does. A string, not a file next to the bundle, so that no bundler needs to be
 * told about a worker file: every bundler handles a dynamic import of a module.
 *
 * @module
 */

/** The worker's source; empty in this stand-in (the library was not built). */
export const WORKER_SOURCE: string = '';
