/**
 * Numbers the tests measure that the documentation quotes (bundle sizes, the install's size):
 * each test that measures one writes it to `build/numbers/<source>.json` (not committed), and
 * `npm run docs:numbers` copies the latest values into `docs/numbers.json`, from which it
 * rewrites the marked regions of the README and docs (see `scripts/docs-numbers.mjs`).
 * `spec/docs-numbers.test.ts` checks that the docs say what `docs/numbers.json` holds.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './shared.js';

/** The recorded numbers: name -> value, as `docs/numbers.json` holds them. */
export type Numbers = Record<string, number | string>;

/** Writes what the test `source` measured, for `npm run docs:numbers`. */
export function recordNumbers(source: string, numbers: Numbers): void {
  const dir = join(REPO_ROOT, 'build', 'numbers');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${source}.json`), `${JSON.stringify({ measured: new Date().toISOString(), numbers }, null, 2)}\n`);
}

/** The numbers the docs quote (`docs/numbers.json`). */
export function documentedNumbers(): Record<string, { value: number | string; source: string }> {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'docs', 'numbers.json'), 'utf8')) as { numbers: Record<string, { value: number | string; source: string }> }).numbers;
}
