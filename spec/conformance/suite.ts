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
import type { VmConfig } from '../../lib/index.js';
import { REPO_ROOT, SHARED_DIR } from '../support/shared.js';

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

/**
 * The post-MVP proposal suites committed in `spec/proposals/` (converted with wast2json; see
 * that folder's README.md), each with the feature set it is run with: the proposal's features
 * on top of `'default'`, so that every suite also checks that the other proposals stay refused.
 */
export interface ProposalSuite {
  /** The folder's name in `spec/proposals/`, as the testsuite repository names the proposal. */
  readonly name: string;
  readonly features: NonNullable<VmConfig['features']>;
}

/** The folder holding the proposal suites. */
export const PROPOSALS_DIR = join(REPO_ROOT, 'spec', 'proposals');

/** Every proposal suite, with its features. */
export const PROPOSAL_SUITES: readonly ProposalSuite[] = [
  { name: 'bulk-memory-operations', features: ['default', 'bulk-memory'] },
  // The reference-types proposal was written on top of bulk memory and multi-value, and its
  // scripts use all three: 'modern'.
  { name: 'reference-types', features: 'modern' },
  { name: 'multi-value', features: ['default', 'multi-value'] },
  { name: 'sign-extension-ops', features: 'default' },
  { name: 'nontrapping-float-to-int-conversions', features: 'default' },
];

/** The folder of the proposal suite `name`. */
export function proposalDir(name: string): string {
  return join(PROPOSALS_DIR, name);
}
