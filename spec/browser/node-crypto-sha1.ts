/**
 * What the fuzz harness uses of `node:crypto` (`createHash('sha1')`, for memory digests), for
 * the browser test page: esbuild maps `node:crypto` to this file when it bundles the page
 * (`spec/support/browser-bundle.ts`). The digest is SHA-1 by `@noble/hashes`, the same bytes as
 * Node.js's, so a browser's digests compare with Node.js's.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/** A hash in progress, as much of Node.js's `Hash` as the harness calls. */
export interface Sha1Hash {
  update(data: Uint8Array): Sha1Hash;
  digest(encoding: 'hex'): string;
}

/** Node.js's `createHash`, for `'sha1'` only. */
export function createHash(algorithm: string): Sha1Hash {
  if (algorithm !== 'sha1') throw new Error(`the browser stand-in for node:crypto has only sha1, not ${algorithm}`);
  const hash = sha1.create();
  const self: Sha1Hash = {
    update(data) {
      hash.update(data);
      return self;
    },
    digest: () => bytesToHex(hash.digest()),
  };
  return self;
}
