/**
 * Saving a violating case so it can be replayed and reduced.
 *
 * The input goes to `fuzz/failures/hostile-<mix>-<seed>-<index>.wasm` (the folder is
 * git-ignored) with a `.json` next to it holding the case's description, config plan and the
 * violation; the one-line reproduction replays exactly that case from its seed and index.
 *
 * @module
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { HostileCase } from './cases.js';
import type { CaseResult } from './execute.js';
import { REPO_ROOT } from './supervisor.js';

/** Where failures are saved. */
export const FAILURES_DIR = join(REPO_ROOT, 'fuzz', 'failures');

/** The command that replays case `index` of a run. */
export function reproductionCommand(c: Pick<HostileCase, 'mix' | 'seed' | 'index'>): string {
  return `npm run fuzz:hostile -- --mix ${c.mix} --seed ${c.seed} --case ${c.index} --verbose`;
}

/** Saves the case's input and what went wrong; returns the path of the saved module. */
export function saveFailure(c: HostileCase, result: CaseResult): string {
  mkdirSync(FAILURES_DIR, { recursive: true });
  const base = join(FAILURES_DIR, `hostile-${c.mix}-${c.seed}-${c.index}`);
  writeFileSync(`${base}.wasm`, c.bytes);
  const details = {
    reproduction: reproductionCommand(c),
    class: c.cls,
    origin: c.origin,
    description: c.description,
    plan: c.plan,
    fullCreate: c.fullCreate,
    result,
  };
  writeFileSync(`${base}.json`, `${JSON.stringify(details, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v), 2)}\n`);
  return relative(REPO_ROOT, `${base}.wasm`);
}
