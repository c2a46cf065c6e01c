/**
 * An artifact cache in a folder of the file system (Node.js).
 *
 * Each artifact is a file named after its key. Writes go to a temporary file that is then
 * renamed over the final name, so a reader never sees a half-written artifact and two processes
 * sharing the folder never corrupt each other's entries (the last writer wins; both wrote the same
 * bytes). A damaged file is still caught by the artifact's own checksum.
 *
 * @module
 */

import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactCache } from '../index.js';

/** An {@link ArtifactCache} storing one file per artifact in `directory` (created if missing). */
export class FileArtifactCache implements ArtifactCache {
  constructor(readonly directory: string) {}

  /** The path of the file holding the artifact stored under `key`. */
  pathOf(key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new TypeError(`not an artifact cache key: ${JSON.stringify(key)}`);
    return join(this.directory, `${key}.rwasm`);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.pathOf(key)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async set(key: string, artifact: Uint8Array): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const final = this.pathOf(key);
    const temporary = `${final}.${process.pid}.${Date.now()}.tmp`;
    try {
      await writeFile(temporary, artifact);
      await rename(temporary, final);
    } catch (e) {
      await rm(temporary, { force: true });
      throw e;
    }
  }
}
