/**
 * Test helper: access to the shared test data in `../shared` (real runtimes, the MVP spec
 * suite). Users who clone the repository do not have it, so every test that needs it goes
 * through {@link describeWithShared}, which skips the suite with a message saying why.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository's root folder: the nearest folder above this file holding the project's
 * package.json. (This file also runs compiled, from build/spec/support.)
 */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && /"name":\s*"resumable-wasm"/.test(readFileSync(manifest, 'utf8'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no resumable-wasm package.json above ${from}`);
  }
}

/** `../shared`, next to the repository. */
export const SHARED_DIR = join(REPO_ROOT, '..', 'shared');

/** The absolute path of `relative` inside `../shared`, or `null` if it is not there. */
export function sharedPath(relative: string): string | null {
  const path = join(SHARED_DIR, relative);
  return existsSync(path) ? path : null;
}

/**
 * `describe` when `../shared/<relative>` exists; otherwise a skipped suite whose name says
 * which file is missing (`[skipped: reason]`, which the run's summary lists by reason: see
 * `spec/support/reporter.mjs`).
 */
/**
 * `describe` when `reason` is `null`; otherwise the suite skipped, its name ending in
 * `[skipped: reason]`, which the run's summary lists (`spec/support/reporter.mjs`).
 */
export function describeUnless(reason: string | null, name: string, body: () => void): void {
  if (reason === null) describe(name, body);
  else describe.skip(`${name} [skipped: ${reason}]`, body);
}

export function describeWithShared(relative: string, name: string, body: (path: string) => void): void {
  const path = sharedPath(relative);
  if (path === null) {
    describe.skip(`${name} [skipped: ../shared/${relative} not present]`, () => {
      test('needs the shared test data', () => undefined);
    });
    return;
  }
  describe(name, () => body(path));
}
