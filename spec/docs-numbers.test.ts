/**
 * The numbers the README and docs quote from tests and benchmarks are written by
 * `npm run docs:numbers` from `docs/numbers.json` (which records where each was measured), never
 * by hand: every marked number must be the one that file holds. The tests that measure them
 * (`spec/bundle.test.ts`, `spec/consumer.test.ts`) check that the file is close to what they
 * measure, and record their values for the next `npm run docs:numbers`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/shared.js';

test('every marked number in the README and docs is the one docs/numbers.json holds', () => {
  const check = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'docs-numbers.mjs'), '--check'], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect({ status: check.status, problems: check.stdout }).toEqual({ status: 0, problems: '' });
});

test('every number in docs/numbers.json says where it was measured', () => {
  const { numbers } = JSON.parse(readFileSync(join(REPO_ROOT, 'docs', 'numbers.json'), 'utf8')) as {
    numbers: Record<string, { value: unknown; source: string }>;
  };
  for (const [key, { value, source }] of Object.entries(numbers)) {
    expect([key, typeof value === 'number' || typeof value === 'string']).toEqual([key, true]);
    expect([key, source]).toEqual([key, expect.stringMatching(/^(spec\/[\w-]+\.test\.ts, \d{4}-\d\d-\d\d|bench\/results\/\S+\.json \(.+\))$/)]);
  }
});
