/**
 * The key under which an artifact cache stores a module's artifact (see `cache.ts`).
 *
 * @module
 */

import { sha256 } from '@noble/hashes/sha2.js';
import type { ArtifactOptions } from '../base/components.js';
import { toHex } from '../base/digest.js';
import { LIBRARY_VERSION } from '../base/version.js';

/**
 * The cache key of a module (by its SHA-256) built with `options`: 64 lowercase hexadecimal
 * characters, safe as a file name.
 */
export function artifactCacheKey(moduleSha256: string, options: ArtifactOptions): string {
  const identity = JSON.stringify({ library: LIBRARY_VERSION, module: moduleSha256, options });
  return toHex(sha256(new TextEncoder().encode(identity)));
}
