/**
 * Where the MVP spec suite lives and which scripts it has.
 *
 * The suite is shared test data next to the repository (`../shared/spec-mvp`), which users who
 * clone the repository do not have: everything here reports its absence instead of failing.
 *
 * @module
 */

import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SHARED_DIR } from '../support/shared.js';

/** The suite's folder, relative to `../shared`. */
export const SUITE_RELATIVE = 'spec-mvp';

/**
 * The suite's folder (it may not exist): `../shared/spec-mvp`, or the folder named by the
 * environment variable `SPEC_MVP_DIR` (another copy of the same wast2json conversion).
 */
export const SUITE_DIR = process.env['SPEC_MVP_DIR'] ?? join(SHARED_DIR, SUITE_RELATIVE);

/** `true` if the suite is present. */
export function suitePresent(dir: string = SUITE_DIR): boolean {
  return existsSync(dir);
}

/** The names of every script of the suite in `dir`, sorted (e.g. `i32`, `memory_grow`). */
export function listScripts(dir: string = SUITE_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

/** The path of the script `name` (with or without `.json`) in `dir`. */
export function scriptPath(name: string, dir: string = SUITE_DIR): string {
  return join(dir, name.endsWith('.json') ? name : `${name}.json`);
}
