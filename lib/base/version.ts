/**
 * The library's version, recorded in every artifact: an artifact made by another version is
 * refused, since the instrumented module and the facts stored with it are only meaningful to
 * the code that produced them. Kept equal to package.json's `version` by a test.
 *
 * @module
 */

/** This library's version. */
export const LIBRARY_VERSION = '0.1.0';
